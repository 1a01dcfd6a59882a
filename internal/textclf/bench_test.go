package textclf

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// The benchmarks train on the stratified 80% of the sample data and predict
// the other 20%, like TestQualityOnSampleData. Each textclf benchmark has a
// token-count naive Bayes twin (BenchmarkBaseline…) so results can be quoted
// as ratios that do not depend on the machine.

func benchSplit(b *testing.B) (train, test []Example) {
	return StratifiedSplit(loadSample(b), qualityHoldout, qualitySeed)
}

func BenchmarkTrain(b *testing.B) {
	train, test := benchSplit(b)
	var m *Model
	for b.Loop() {
		var err error
		if m, err = Train(context.Background(), train, DefaultOptions(), nil); err != nil {
			b.Fatal(err)
		}
	}
	met := Evaluate(m, test)
	b.ReportMetric(met.MacroF1, "macroF1")
	b.ReportMetric(met.Accuracy, "accuracy")
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(buf.Len())/(1<<20), "modelMiB")
}

func BenchmarkBaselineTrain(b *testing.B) {
	train, test := benchSplit(b)
	var nb *tokenCountBaseline
	for b.Loop() {
		nb = trainTokenCountBaseline(train)
	}
	met := scoreBaseline(test, nb.predict)
	b.ReportMetric(met.MacroF1, "macroF1")
	b.ReportMetric(met.Accuracy, "accuracy")
}

// BenchmarkPredict times Predict. "one" is one complaint per op (cycling
// through the holdout); "holdout" predicts the whole holdout per op and
// reports ns/complaint, which stays stable even with -benchtime 3x.
func BenchmarkPredict(b *testing.B) {
	train, test := benchSplit(b)
	m, err := Train(context.Background(), train, DefaultOptions(), nil)
	if err != nil {
		b.Fatal(err)
	}
	benchPredict(b, test, func(title, body string) string { return m.Predict(title, body).Label })
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				ex := test[i%len(test)]
				m.Predict(ex.Title, ex.Body)
			}
		})
	})
}

func BenchmarkBaselinePredict(b *testing.B) {
	train, test := benchSplit(b)
	nb := trainTokenCountBaseline(train)
	benchPredict(b, test, nb.predict)
}

func benchPredict(b *testing.B, test []Example, predict func(title, body string) string) {
	for _, ex := range test { // warm caches and scratch pools
		predict(ex.Title, ex.Body)
	}
	b.Run("one", func(b *testing.B) {
		i := 0
		for b.Loop() {
			ex := test[i%len(test)]
			predict(ex.Title, ex.Body)
			i++
		}
	})
	b.Run("holdout", func(b *testing.B) {
		start := time.Now()
		n := 0
		for b.Loop() {
			for _, ex := range test {
				predict(ex.Title, ex.Body)
			}
			n += len(test)
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "ns/complaint")
	})
}
