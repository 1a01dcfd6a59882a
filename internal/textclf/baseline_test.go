package textclf

import (
	"math"
	"slices"
	"strings"
)

// tokenCountBaseline is the yardstick the benchmarks compare against: a
// multinomial naive Bayes over whitespace tokens with add-one smoothing,
// i.e. "plain token counts" with no n-grams, IDF, weighting or margin.
type tokenCountBaseline struct {
	labels  []string
	logPrio []float64
	counts  []map[string]float64
	totals  []float64
	vocab   int
}

func trainTokenCountBaseline(examples []Example) *tokenCountBaseline {
	idx := map[string]int{}
	b := &tokenCountBaseline{}
	for _, ex := range examples {
		if _, ok := idx[ex.Label]; !ok {
			idx[ex.Label] = len(b.labels)
			b.labels = append(b.labels, ex.Label)
			b.counts = append(b.counts, map[string]float64{})
			b.totals = append(b.totals, 0)
			b.logPrio = append(b.logPrio, 0)
		}
	}
	vocab := map[string]bool{}
	for _, ex := range examples {
		c := idx[ex.Label]
		b.logPrio[c]++
		for _, tok := range strings.Fields(ex.Title + " " + ex.Body) {
			b.counts[c][tok]++
			b.totals[c]++
			vocab[tok] = true
		}
	}
	for c := range b.logPrio {
		b.logPrio[c] = math.Log(b.logPrio[c] / float64(len(examples)))
	}
	b.vocab = len(vocab)
	return b
}

func (b *tokenCountBaseline) predict(title, body string) string {
	scores := slices.Clone(b.logPrio)
	for _, tok := range strings.Fields(title + " " + body) {
		for c := range scores {
			scores[c] += math.Log((b.counts[c][tok] + 1) / (b.totals[c] + float64(b.vocab)))
		}
	}
	best := 0
	for c, s := range scores {
		if s > scores[best] {
			best = c
		}
	}
	return b.labels[best]
}

// majorityLabel is the most frequent label: the floor any classifier must
// clear.
func majorityLabel(examples []Example) string {
	counts := countLabels(examples)
	best := ""
	for l, n := range counts {
		if n > counts[best] || (n == counts[best] && l < best) {
			best = l
		}
	}
	return best
}

// scoreBaseline evaluates predict on examples.
func scoreBaseline(examples []Example, predict func(title, body string) string) Metrics {
	truth := make([]string, len(examples))
	pred := make([]string, len(examples))
	for i, ex := range examples {
		truth[i], pred[i] = ex.Label, predict(ex.Title, ex.Body)
	}
	return Score(truth, pred)
}
