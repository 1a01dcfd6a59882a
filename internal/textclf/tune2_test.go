package textclf

import (
	"context"
	"os"
	"testing"
)

func TestPerClass(t *testing.T) {
	if os.Getenv("PERCLASS") == "" {
		t.Skip()
	}
	all := loadAll(t)
	train, test := StratifiedSplit(all, 0.2, 42)
	opts := DefaultOptions()
	opts.TitleWeight, opts.WordNGrams, opts.MinDF = 0.15, 1, 3
	m, _ := Train(context.Background(), train, opts, nil)
	met := Evaluate(m, test)
	for _, l := range m.Labels() {
		c := met.PerClass[l]
		t.Logf("%-16s p=%.2f r=%.2f f1=%.2f n=%d", l, c.Precision, c.Recall, c.F1, c.Support)
	}
	t.Logf("macro %.4f acc %.4f", met.MacroF1, met.Accuracy)
}
