package textclf

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func loadAll(t testing.TB) []Example {
	var all []Example
	for _, f := range []string{"suwon", "seongnam", "yongin"} {
		fh, err := os.Open(filepath.Join("../../data/complaints", f+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		ex, err := ReadJSONL(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ex...)
	}
	return all
}

func TestTune(t *testing.T) {
	spec := os.Getenv("TUNE")
	if spec == "" {
		t.Skip()
	}
	all := loadAll(t)
	var variants []map[string]any
	if err := json.Unmarshal([]byte(spec), &variants); err != nil {
		t.Fatal(err)
	}
	seeds := []int64{42}
	if os.Getenv("SEEDS") != "" {
		seeds = []int64{42, 1, 2, 3, 4}
	}
	for _, v := range variants {
		opts := DefaultOptions()
		b, _ := json.Marshal(v)
		json.Unmarshal(b, &opts)
		var f1, acc float64
		var dur time.Duration
		var ep int
		for _, seed := range seeds {
			train, test := StratifiedSplit(all, 0.2, seed)
			start := time.Now()
			m, err := Train(context.Background(), train, opts, func(p Progress) { ep = p.Epoch })
			if err != nil {
				t.Fatal(err)
			}
			dur += time.Since(start)
			met := Evaluate(m, test)
			f1 += met.MacroF1
			acc += met.Accuracy
			if len(seeds) == 1 {
				t.Logf("vocab=%d", len(m.vocab))
			}
		}
		n := float64(len(seeds))
		_ = n
		t.Logf("%s: macroF1=%.4f acc=%.4f train=%v epochs=%d", b, f1/n, acc/n, dur/time.Duration(len(seeds)), ep)
	}
}
