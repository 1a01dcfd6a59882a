package textclf

import (
	"math"
	"slices"
	"sync"
)

// Model is a trained classifier. It is immutable after Train or Load, and
// Predict may be called from many goroutines at once.
type Model struct {
	labels      []string
	cfg         featureConfig
	temperature float64
	opts        Options // as trained, for provenance; Workers is cleared

	// vocab is the sorted list of feature buckets kept after MinDF; column
	// i of the model belongs to vocab[i].
	vocab []uint32
	// table holds one row of K+1 float32 per column: the IDF, then the K
	// class weights. Keeping them side by side means a feature costs one
	// cache miss at predict time, not two; the model is far larger than
	// the CPU caches, so misses dominate prediction time.
	table []float32
	bias  []float32
	// index maps a bucket to its column, or −1. A dense array
	// (4 bytes × 2^HashBits) is much faster than a map on the hot path.
	index []int32

	// scratch recycles per-call buffers so that Predict does not allocate
	// its working memory for every complaint.
	scratch sync.Pool
}

// Prediction is a predicted department and the model's confidence in it.
type Prediction struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Options returns the options the model was trained with (with defaults
// filled in). Workers is zero: it does not affect the model, and clearing it
// keeps saved models byte-identical across machines.
func (m *Model) Options() Options { return m.opts }

// Labels returns the class labels in the model's internal (sorted) order.
func (m *Model) Labels() []string {
	return slices.Clone(m.labels)
}

// Predict returns the most likely department for a complaint. Score is the
// softmax confidence of that department, in [0,1].
func (m *Model) Predict(title, body string) Prediction {
	probs := m.probabilities(title, body)
	best := 0
	for k, p := range probs {
		if p > probs[best] {
			best = k
		}
	}
	return Prediction{Label: m.labels[best], Score: probs[best]}
}

// TopK returns up to k departments ordered by decreasing confidence, for
// callers that show alternatives to a human router.
func (m *Model) TopK(title, body string, k int) []Prediction {
	probs := m.probabilities(title, body)
	out := make([]Prediction, len(probs))
	for i, p := range probs {
		out[i] = Prediction{Label: m.labels[i], Score: p}
	}
	slices.SortStableFunc(out, func(a, b Prediction) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out[:max(0, min(k, len(out)))]
}

// probabilities returns softmax(temperature × margin) over the classes.
func (m *Model) probabilities(title, body string) []float64 {
	s, _ := m.scratch.Get().(*vecScratch)
	if s == nil {
		s = m.newScratch()
	}
	m.vectorize(s, title, body)
	margins := m.margins(s.vec)
	m.scratch.Put(s)
	return softmax(margins, m.temperature)
}

// margins returns the linear score of every class for a feature vector.
func (m *Model) margins(v sparseVec) []float64 {
	k := len(m.labels)
	out := make([]float64, k)
	for c := range out {
		out[c] = float64(m.bias[c])
	}
	for i, col := range v.cols {
		x := float64(v.vals[i])
		w := m.weightsOf(col)
		for c := range out {
			out[c] += x * float64(w[c])
		}
	}
	return out
}

func softmax(z []float64, temperature float64) []float64 {
	maxZ := math.Inf(-1)
	for _, v := range z {
		maxZ = max(maxZ, v)
	}
	var sum float64
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = math.Exp(temperature * (v - maxZ))
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// stride is the length of one table row.
func (m *Model) stride() int { return len(m.labels) + 1 }

func (m *Model) idfOf(col int32) float32 { return m.table[int(col)*m.stride()] }

func (m *Model) weightsOf(col int32) []float32 {
	at := int(col)*m.stride() + 1
	return m.table[at : at+len(m.labels)]
}

// sparseVec is a feature vector: parallel column indices and values.
type sparseVec struct {
	cols []int32
	vals []float32
}

// vecScratch is the working memory for turning one complaint into a vector.
// It is not safe for concurrent use.
type vecScratch struct {
	ext *extractor
	// counts[col] is the term frequency of col in the current block;
	// touched lists the non-zero entries so that resetting is cheap.
	// Counting into a dense array is linear time, unlike sorting the
	// ~5,000 feature occurrences of an average complaint.
	counts  []float32
	touched []int32
	vec     sparseVec
}

func (m *Model) newScratch() *vecScratch {
	return &vecScratch{
		ext:     newExtractor(m.cfg),
		counts:  make([]float32, len(m.vocab)),
		touched: make([]int32, 0, 4096),
	}
}

// vectorize builds the TF-IDF vector of a complaint into s.vec.
//
// The vector has two blocks: "shared" features from title and body together,
// and title-only features. Each block is L2-normalised on its own before the
// title block is scaled by TitleWeight, so that a 25,000-character body
// cannot dilute a ten-word title; the whole vector is then L2-normalised.
func (m *Model) vectorize(s *vecScratch, title, body string) {
	s.vec.cols, s.vec.vals = s.vec.cols[:0], s.vec.vals[:0]
	m.appendBlock(s, s.ext.buckets(saltShared, title, body), 1)
	if m.cfg.TitleWeight > 0 {
		m.appendBlock(s, s.ext.buckets(saltTitle, title), float32(m.cfg.TitleWeight))
	}
	normalize(s.vec.vals)
}

// appendBlock appends the sublinear TF-IDF values, (1+ln tf)·idf, of the
// in-vocabulary buckets, L2-normalised and multiplied by scale.
func (m *Model) appendBlock(s *vecScratch, buckets []uint32, scale float32) {
	s.touched = s.touched[:0]
	for _, b := range buckets {
		col := m.index[b]
		if col < 0 {
			continue
		}
		if s.counts[col] == 0 {
			s.touched = append(s.touched, col)
		}
		s.counts[col]++
	}
	start := len(s.vec.vals)
	for _, col := range s.touched {
		tf := s.counts[col]
		s.counts[col] = 0
		s.vec.cols = append(s.vec.cols, col)
		s.vec.vals = append(s.vec.vals, (1+float32(math.Log(float64(tf))))*m.idfOf(col))
	}
	block := s.vec.vals[start:]
	normalize(block)
	for i := range block {
		block[i] *= scale
	}
}

func normalize(vals []float32) {
	var ss float64
	for _, x := range vals {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range vals {
		vals[i] *= inv
	}
}

// buildIndex (re)creates the bucket → column index from the vocabulary.
func (m *Model) buildIndex() {
	m.index = make([]int32, m.cfg.buckets())
	for i := range m.index {
		m.index[i] = -1
	}
	for i, b := range m.vocab {
		m.index[b] = int32(i)
	}
}
