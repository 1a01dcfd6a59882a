package textclf

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrainRejectsBadInput(t *testing.T) {
	oneClass := []Example{{"a", "b", "x"}, {"c", "d", "x"}}
	tests := []struct {
		name     string
		examples []Example
		opts     func(*Options)
		wantIs   error
		wantText string
	}{
		{name: "nil examples", examples: nil, wantIs: ErrNoExamples},
		{name: "one class", examples: oneClass, wantIs: ErrFewClasses, wantText: "got 1"},
		{name: "empty label", examples: []Example{{"a", "b", "x"}, {"c", "d", " "}}, wantIs: ErrEmptyLabel, wantText: "example 1"},
		{name: "no surviving features", examples: []Example{{"가", "", "x"}, {"나", "", "y"}},
			opts: func(o *Options) { o.MinDF = 5 }, wantIs: ErrNoVocabulary},
		{name: "bad class weight", examples: toyExamples(), opts: func(o *Options) { o.ClassWeight = "auto" }, wantText: "class_weight"},
		{name: "bad n-gram range", examples: toyExamples(), opts: func(o *Options) { o.CharMinN, o.CharMaxN = 4, 2 }, wantText: "char n-gram range"},
		{name: "negative C", examples: toyExamples(), opts: func(o *Options) { o.C = -1 }, wantText: "must not be negative"},
		{name: "hash bits", examples: toyExamples(), opts: func(o *Options) { o.HashBits = 40 }, wantText: "hash_bits"},
		{name: "no features", examples: toyExamples(), opts: func(o *Options) { o.CharMaxN, o.WordNGrams = -1, -1 }, wantText: "both character and word features are off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := toyOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			m, err := Train(context.Background(), tt.examples, opts, nil)
			require.Error(t, err)
			assert.True(t, m == nil, "no model on error")
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}
			assert.Contains(t, err.Error(), tt.wantText)
		})
	}
}

func TestTrainZeroOptionsUseDefaults(t *testing.T) {
	m, err := Train(context.Background(), toyExamples(), Options{MinDF: 1}, nil)
	require.NoError(t, err)
	want, err := DefaultOptions().resolve()
	require.NoError(t, err)
	// Seed 0 is a valid seed, so it is kept rather than defaulted.
	want.Seed, want.MinDF, want.Workers = 0, 1, 0
	assert.Equal(t, want, m.Options())
}

func TestTrainProgressAndCancellation(t *testing.T) {
	t.Run("progress reports every epoch", func(t *testing.T) {
		var got []Progress
		opts := toyOptions()
		opts.Epochs, opts.Tolerance = 5, 1e-12 // never converge early
		_, err := Train(context.Background(), toyExamples(), opts, func(p Progress) { got = append(got, p) })
		require.NoError(t, err)
		require.Len(t, got, 5)
		for i, p := range got {
			assert.Equal(t, i+1, p.Epoch)
			assert.Equal(t, 5, p.Epochs)
			assert.GreaterOrEqual(t, p.Loss, 0.0)
		}
		assert.Less(t, got[4].Loss, got[0].Loss, "loss falls")
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Train(ctx, toyExamples(), toyOptions(), nil)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("cancelled between epochs", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		opts := toyOptions()
		opts.Epochs, opts.Tolerance = 50, 1e-12
		epochs := 0
		m, err := Train(ctx, toyExamples(), opts, func(p Progress) {
			epochs = p.Epoch
			if p.Epoch == 2 {
				cancel()
			}
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.True(t, m == nil, "no model on error")
		assert.Equal(t, 2, epochs, "no epoch runs after cancellation")
	})
}

func TestTrainDeterministic(t *testing.T) {
	_, data := StratifiedSplit(loadSample(t), 0.15, 3) // ~440 complaints: fast
	opts := DefaultOptions()
	opts.Seed = 11
	train := func(workers int) []byte {
		o := opts
		o.Workers = workers
		m, err := Train(context.Background(), data, o, nil)
		require.NoError(t, err)
		return modelBytes(t, m)
	}
	first := train(1)
	assert.Equal(t, first, train(1), "same seed, same bytes")
	assert.Equal(t, first, train(4), "parallelism does not change the model")

	opts.Seed = 12
	assert.NotEqual(t, first, train(2), "the seed is used")
}

func TestPredict(t *testing.T) {
	m := trainToy(t, toyOptions())
	assert.Equal(t, []string{"교통", "반려동물", "육아"}, m.Labels())

	tests := []struct{ title, body, want string }{
		{"버스 배차 간격", "버스가 너무 안 옵니다", "교통"},
		{"보육 시설", "어린이집이 부족합니다", "육아"},
		{"길고양이", "고양이 학대를 막아 주세요", "반려동물"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			p := m.Predict(tt.title, tt.body)
			assert.Equal(t, tt.want, p.Label)
			assert.Greater(t, p.Score, 1.0/3, "winner beats uniform")
			assert.LessOrEqual(t, p.Score, 1.0)

			top := m.TopK(tt.title, tt.body, 5)
			require.Len(t, top, 3)
			assert.Equal(t, p, top[0])
			var sum float64
			for i, tp := range top {
				sum += tp.Score
				if i > 0 {
					assert.LessOrEqual(t, tp.Score, top[i-1].Score)
				}
			}
			assert.InDelta(t, 1, sum, 1e-9)
		})
	}

	t.Run("empty and unknown text", func(t *testing.T) {
		for _, in := range [][2]string{{"", ""}, {"***", "!!!"}, {"xyzzy", "qwerty"}} {
			p := m.Predict(in[0], in[1])
			assert.Contains(t, m.Labels(), p.Label)
			assert.InDelta(t, 0.5, p.Score, 0.5)
		}
	})
	t.Run("labels are a copy", func(t *testing.T) {
		m.Labels()[0] = "changed"
		assert.Equal(t, "교통", m.Labels()[0])
	})
}

func TestPredictConcurrent(t *testing.T) {
	m := trainToy(t, toyOptions())
	inputs := toyExamples()
	want := make([]Prediction, len(inputs))
	for i, ex := range inputs {
		want[i] = m.Predict(ex.Title, ex.Body)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for r := range 200 {
				i := (g + r) % len(inputs)
				if got := m.Predict(inputs[i].Title, inputs[i].Body); got != want[i] {
					errs <- fmt.Errorf("goroutine %d: input %d: got %+v, want %+v", g, i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClassWeights(t *testing.T) {
	y := []int{0, 0, 0, 1}
	assert.Equal(t, []float64{4.0 / 6, 2}, classWeights(y, 2, ClassWeightBalanced))
	assert.Equal(t, []float64{1, 1}, classWeights(y, 2, ClassWeightNone))
	assert.True(t, errors.Is(fmt.Errorf("wrap: %w", ErrFewClasses), ErrFewClasses))
}
