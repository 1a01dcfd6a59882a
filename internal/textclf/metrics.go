package textclf

import "slices"

// ClassMetrics are the one-vs-rest scores of one label.
type ClassMetrics struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Metrics summarise a model's predictions on labelled examples.
type Metrics struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	// MacroF1 is the unweighted mean F1 over every label that occurs as
	// truth or prediction (scikit-learn's average="macro"), so each
	// department counts the same however rare it is.
	MacroF1  float64                 `json:"macro_f1"`
	PerClass map[string]ClassMetrics `json:"per_class"`
	// Confusion[truth][predicted] counts examples.
	Confusion map[string]map[string]int `json:"confusion"`
}

// Evaluate predicts every example and scores the predictions.
func Evaluate(m *Model, examples []Example) Metrics {
	truth := make([]string, len(examples))
	pred := make([]string, len(examples))
	for i, ex := range examples {
		truth[i] = ex.Label
		pred[i] = m.Predict(ex.Title, ex.Body).Label
	}
	return Score(truth, pred)
}

// Score computes Metrics from parallel slices of true and predicted labels.
// It is separate from Evaluate so that metrics can be checked, and reused,
// without a model.
func Score(truth, pred []string) Metrics {
	met := Metrics{
		N:         min(len(truth), len(pred)),
		PerClass:  map[string]ClassMetrics{},
		Confusion: map[string]map[string]int{},
	}
	tp, predicted, support := map[string]int{}, map[string]int{}, map[string]int{}
	correct := 0
	for i := range met.N {
		t, p := truth[i], pred[i]
		if met.Confusion[t] == nil {
			met.Confusion[t] = map[string]int{}
		}
		met.Confusion[t][p]++
		support[t]++
		predicted[p]++
		if t == p {
			tp[t]++
			correct++
		}
	}
	if met.N == 0 {
		return met
	}
	met.Accuracy = float64(correct) / float64(met.N)
	labels := unionKeys(support, predicted)
	for _, l := range labels {
		cm := ClassMetrics{
			Precision: ratio(tp[l], predicted[l]),
			Recall:    ratio(tp[l], support[l]),
			Support:   support[l],
		}
		if s := cm.Precision + cm.Recall; s > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / s
		}
		met.PerClass[l] = cm
		met.MacroF1 += cm.F1
	}
	met.MacroF1 /= float64(len(labels))
	return met
}

// ratio is a/b, or 0 when b is 0 (scikit-learn's zero_division=0).
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func unionKeys(a, b map[string]int) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
