package textclf

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Quality bar on the pilot data: the reference TF-IDF character n-gram +
// linear SVM reaches macro-F1 ≈ 0.51 and accuracy ≈ 0.58 on a stratified 20%
// holdout. The holdout is only ~580 complaints with departments as small as
// five, so macro-F1 moves by ±0.03 between splits; the seed is fixed so the
// test is reproducible.
const (
	qualitySeed    = 42
	qualityHoldout = 0.2
	minMacroF1     = 0.51
	minAccuracy    = 0.55
)

func TestQualityOnSampleData(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the full sample data")
	}
	train, test := StratifiedSplit(loadSample(t), qualityHoldout, qualitySeed)

	start := time.Now()
	m, err := Train(context.Background(), train, DefaultOptions(), nil)
	elapsed := time.Since(start)
	require.NoError(t, err)

	met := Evaluate(m, test)
	t.Logf("textclf: macro-F1 %.4f, accuracy %.4f on %d held-out complaints (train %d in %v, vocab %d)",
		met.MacroF1, met.Accuracy, met.N, len(train), elapsed.Round(time.Millisecond), len(m.vocab))

	nb := trainTokenCountBaseline(train)
	nbMet := scoreBaseline(test, nb.predict)
	major := majorityLabel(train)
	majMet := scoreBaseline(test, func(string, string) string { return major })
	t.Logf("baselines: token-count NB macro-F1 %.4f accuracy %.4f; majority (%s) macro-F1 %.4f accuracy %.4f",
		nbMet.MacroF1, nbMet.Accuracy, major, majMet.MacroF1, majMet.Accuracy)
	for _, l := range m.Labels() {
		c := met.PerClass[l]
		t.Logf("  %-12s P %.2f R %.2f F1 %.2f (n=%d)", l, c.Precision, c.Recall, c.F1, c.Support)
	}

	assert.Greater(t, met.MacroF1, minMacroF1, "macro-F1")
	assert.Greater(t, met.Accuracy, minAccuracy, "accuracy")
	assert.Greater(t, met.MacroF1, nbMet.MacroF1, "beats the token-count baseline")

	// The confidence should be informative: higher on correct predictions.
	var right, wrong []float64
	for _, ex := range test {
		p := m.Predict(ex.Title, ex.Body)
		require.GreaterOrEqual(t, p.Score, 0.0)
		require.LessOrEqual(t, p.Score, 1.0)
		if p.Label == ex.Label {
			right = append(right, p.Score)
		} else {
			wrong = append(wrong, p.Score)
		}
	}
	t.Logf("mean confidence: %.3f when right, %.3f when wrong", mean(right), mean(wrong))
	assert.Greater(t, mean(right), mean(wrong))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
