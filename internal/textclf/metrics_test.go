package textclf

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScore(t *testing.T) {
	// Confusion (truth → predicted):
	//   a: a a a b   (support 4)
	//   b: b b a     (support 3)
	//   c: b         (support 1, never predicted)
	truth := []string{"a", "a", "a", "a", "b", "b", "b", "c"}
	pred := []string{"a", "a", "a", "b", "b", "b", "a", "b"}
	got := Score(truth, pred)

	assert.Equal(t, 8, got.N)
	assert.InDelta(t, 5.0/8, got.Accuracy, 1e-12)
	// a: P=3/4 R=3/4 F1=3/4; b: P=2/4 R=2/3 F1=4/7; c: 0.
	want := map[string]ClassMetrics{
		"a": {Precision: 0.75, Recall: 0.75, F1: 0.75, Support: 4},
		"b": {Precision: 0.5, Recall: 2.0 / 3, F1: 4.0 / 7, Support: 3},
		"c": {Precision: 0, Recall: 0, F1: 0, Support: 1},
	}
	for l, w := range want {
		g := got.PerClass[l]
		assert.InDelta(t, w.Precision, g.Precision, 1e-12, l)
		assert.InDelta(t, w.Recall, g.Recall, 1e-12, l)
		assert.InDelta(t, w.F1, g.F1, 1e-12, l)
		assert.Equal(t, w.Support, g.Support, l)
	}
	assert.InDelta(t, (0.75+4.0/7)/3, got.MacroF1, 1e-12)
	assert.Equal(t, map[string]map[string]int{
		"a": {"a": 3, "b": 1},
		"b": {"a": 1, "b": 2},
		"c": {"b": 1},
	}, got.Confusion)
}

func TestScoreEdgeCases(t *testing.T) {
	tests := []struct {
		name        string
		truth, pred []string
		wantAcc     float64
		wantMacro   float64
		wantClasses int
	}{
		{"empty", nil, nil, 0, 0, 0},
		{"perfect", []string{"x", "y"}, []string{"x", "y"}, 1, 1, 2},
		// A label that is only ever predicted still counts in the macro
		// average, as in scikit-learn.
		{"predicted-only label", []string{"x", "x"}, []string{"x", "z"}, 0.5, (2.0 / 3) / 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(tt.truth, tt.pred)
			assert.InDelta(t, tt.wantAcc, got.Accuracy, 1e-12)
			assert.InDelta(t, tt.wantMacro, got.MacroF1, 1e-12)
			assert.Len(t, got.PerClass, tt.wantClasses)
		})
	}
}

func TestEvaluateUsesModel(t *testing.T) {
	m := trainToy(t, toyOptions())
	got := Evaluate(m, toyExamples())
	assert.Equal(t, 12, got.N)
	assert.InDelta(t, 1, got.Accuracy, 1e-12, "a separable training set is learnt")
}
