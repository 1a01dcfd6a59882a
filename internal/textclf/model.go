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

	// vocab is the sorted list of feature buckets kept after MinDF; idf[i]
	// and the K weights weights[i*K:(i+1)*K] belong to vocab[i]. Storing
	// weights feature-major puts one feature's class weights on one cache
	// line at predict time.
	vocab   []uint32
	idf     []float32
	weights []float32
	bias    []float32
	// index maps a bucket to its position in vocab, or −1. A dense array
	// (4 bytes × 2^HashBits) is far faster than a map on the hot path.
	index []int32

	// scratch recycles per-call buffers so that Predict does not allocate
	// a fresh 4,000-entry hash list for every complaint.
	scratch sync.Pool
}

// Prediction is a predicted department and the model's confidence in it.
type Prediction struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

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

// modelScratch is the per-call working memory of Predict.
type modelScratch struct {
	ext   *extractor
	terms termBufs
	vec   sparseVec
}

func (m *Model) getScratch() *modelScratch {
	if s, ok := m.scratch.Get().(*modelScratch); ok {
		return s
	}
	return &modelScratch{ext: newExtractor(m.cfg)}
}

// probabilities returns softmax(temperature × margin) over the classes.
func (m *Model) probabilities(title, body string) []float64 {
	s := m.getScratch()
	defer m.scratch.Put(s)
	s.terms.extract(s.ext, title, body)
	m.vectorize(&s.vec, &s.terms)
	margins := m.margins(s.vec)
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
		w := m.weights[int(col)*k : int(col)*k+k]
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

// sparseVec is a feature vector: parallel column indices and values.
type sparseVec struct {
	cols []int32
	vals []float32
}

func (m *Model) lookup(bucket uint32) (int32, float32, bool) {
	col := m.index[bucket]
	if col < 0 {
		return 0, 0, false
	}
	return col, m.idf[col], true
}

// termBufs holds the distinct terms of a complaint's two feature blocks.
type termBufs struct {
	shared, title []termCount
}

// extract fills b with the terms of a complaint.
func (b *termBufs) extract(e *extractor, title, body string) {
	b.shared = e.fieldTerms(b.shared, saltShared, title, body)
	b.title = b.title[:0]
	if e.cfg.TitleWeight > 0 {
		b.title = e.fieldTerms(b.title, saltTitle, title)
	}
}

// vectorize builds the TF-IDF vector of a complaint's terms into v.
//
// The vector has two blocks: "shared" features from title and body together,
// and title-only features. Each block is L2-normalised on its own before the
// title block is scaled by TitleWeight, so that a 25,000-character body
// cannot dilute a ten-word title; the whole vector is then L2-normalised.
func (m *Model) vectorize(v *sparseVec, b *termBufs) {
	v.cols, v.vals = v.cols[:0], v.vals[:0]
	m.appendBlock(v, b.shared, 1)
	if m.cfg.TitleWeight > 0 {
		m.appendBlock(v, b.title, float32(m.cfg.TitleWeight))
	}
	normalize(v.vals)
}

// appendBlock appends the sublinear TF-IDF values of the terms found in the
// vocabulary, L2-normalised and multiplied by scale.
func (m *Model) appendBlock(v *sparseVec, terms []termCount, scale float32) {
	start := len(v.vals)
	for _, t := range terms {
		col, idf, ok := m.lookup(t.bucket)
		if !ok {
			continue
		}
		v.cols = append(v.cols, col)
		v.vals = append(v.vals, (1+float32(math.Log(float64(t.count))))*idf)
	}
	block := v.vals[start:]
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
