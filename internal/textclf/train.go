package textclf

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Errors returned by Train for unusable input; test with errors.Is.
var (
	ErrNoExamples   = errors.New("textclf: no training examples")
	ErrEmptyLabel   = errors.New("textclf: example has an empty label")
	ErrFewClasses   = errors.New("textclf: need at least two classes")
	ErrNoVocabulary = errors.New("textclf: no feature occurs in min_df examples")
)

// Progress reports the end of one training epoch. Epochs is the configured
// maximum; training stops early once every class has converged, so the last
// report may have Epoch < Epochs.
type Progress struct {
	Epoch  int `json:"epoch"`
	Epochs int `json:"epochs"`
	// Loss is the mean squared hinge loss over examples and classes seen
	// during the epoch; it falls as training converges.
	Loss float64 `json:"loss"`
}

// biasFeature is the constant feature that carries each class's bias. As in
// LIBLINEAR the bias is regularised like any other weight.
const biasFeature = 1.0

// Train fits a model to examples. progress, if not nil, is called after every
// epoch from the calling goroutine. Train checks ctx between epochs (and
// between the preparation stages); when cancelled it returns an error
// wrapping ctx.Err(). Labels are compared after trimming spaces. On the
// pilot data (~2,300 complaints) training takes about a second on 2 cores.
func Train(ctx context.Context, examples []Example, opts Options, progress func(Progress)) (*Model, error) {
	return train(ctx, examples, opts, CheckpointConfig{}, progress)
}

func train(ctx context.Context, examples []Example, opts Options, cp CheckpointConfig, progress func(Progress)) (*Model, error) {
	opts, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	labels, y, err := encodeLabels(examples)
	if err != nil {
		return nil, err
	}
	provenance := opts
	provenance.Workers = 0
	m := &Model{labels: labels, cfg: opts.features(), temperature: opts.Temperature, opts: provenance}
	if err := cancelled(ctx); err != nil {
		return nil, err
	}
	if err := m.fitVocabulary(examples, opts); err != nil {
		return nil, err
	}
	if err := cancelled(ctx); err != nil {
		return nil, err
	}
	x := m.vectorizeAll(examples, opts.Workers)
	if err := m.fitWeights(ctx, x, y, opts, cp, progress); err != nil {
		return nil, err
	}
	return m, nil
}

// cancelled wraps ctx's error, if any, so that callers can still match
// context.Canceled or context.DeadlineExceeded with errors.Is.
func cancelled(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("textclf: training stopped: %w", err)
	}
	return nil
}

// encodeLabels returns the sorted distinct labels and each example's index
// into them. Labels are trimmed, matching ReadJSONL.
func encodeLabels(examples []Example) ([]string, []int, error) {
	if len(examples) == 0 {
		return nil, nil, ErrNoExamples
	}
	seen := map[string]bool{}
	for i, ex := range examples {
		l := strings.TrimSpace(ex.Label)
		if l == "" {
			return nil, nil, fmt.Errorf("example %d: %w", i, ErrEmptyLabel)
		}
		seen[l] = true
	}
	if len(seen) < 2 {
		return nil, nil, fmt.Errorf("%w, got %d", ErrFewClasses, len(seen))
	}
	labels := make([]string, 0, len(seen))
	for l := range seen {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	y := make([]int, len(examples))
	for i, ex := range examples {
		y[i], _ = slices.BinarySearch(labels, strings.TrimSpace(ex.Label))
	}
	return labels, y, nil
}

// parallel runs fn(worker, i) for i in [0,n) on up to workers goroutines,
// in contiguous chunks. Each index is written by exactly one call, so results
// do not depend on scheduling.
func parallel(n, workers int, fn func(worker, i int)) {
	workers = max(1, min(workers, n))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				fn(w, i)
			}
		})
	}
	wg.Wait()
}

// fitVocabulary keeps the feature buckets that occur in at least MinDF
// training complaints and computes their smoothed IDF, ln((1+n)/(1+df))+1.
func (m *Model) fitVocabulary(examples []Example, opts Options) error {
	workers := max(1, min(opts.Workers, len(examples)))
	counters := make([]*dfCounter, workers)
	for w := range counters {
		counters[w] = newDFCounter(m.cfg)
	}
	parallel(len(examples), workers, func(w, i int) {
		counters[w].add(i, examples[i])
	})
	df := counters[0].df
	for _, other := range counters[1:] {
		for b, c := range other.df {
			df[b] += c
		}
	}
	minDF := int32(max(opts.MinDF, 1))
	n := float64(len(examples))
	var idf []float32
	for b, c := range df {
		if c >= minDF {
			m.vocab = append(m.vocab, uint32(b))
			idf = append(idf, float32(math.Log((1+n)/(1+float64(c)))+1))
		}
	}
	if len(m.vocab) == 0 {
		return ErrNoVocabulary
	}
	m.table = make([]float32, len(m.vocab)*m.stride())
	for col, v := range idf {
		m.table[col*m.stride()] = v
	}
	m.buildIndex()
	return nil
}

// dfCounter counts, per bucket, the documents it occurs in.
type dfCounter struct {
	ext *extractor
	df  []int32
	// seen[b] is 1 + the index of the last document that counted b, so
	// that a bucket counts once per document without sorting or clearing.
	seen []int32
}

func newDFCounter(cfg featureConfig) *dfCounter {
	return &dfCounter{
		ext:  newExtractor(cfg),
		df:   make([]int32, cfg.buckets()),
		seen: make([]int32, cfg.buckets()),
	}
}

func (d *dfCounter) add(doc int, ex Example) {
	d.count(doc, d.ext.buckets(saltShared, ex.Title, ex.Body))
	if d.ext.cfg.TitleWeight > 0 {
		d.count(doc, d.ext.buckets(saltTitle, ex.Title))
	}
}

func (d *dfCounter) count(doc int, buckets []uint32) {
	stamp := int32(doc + 1)
	for _, b := range buckets {
		if d.seen[b] != stamp {
			d.seen[b] = stamp
			d.df[b]++
		}
	}
}

// csr is a sparse row-major matrix of training vectors.
type csr struct {
	rowPtr []int
	cols   []int32
	vals   []float32
}

func (x *csr) row(i int) ([]int32, []float32) {
	lo, hi := x.rowPtr[i], x.rowPtr[i+1]
	return x.cols[lo:hi], x.vals[lo:hi]
}

func (x *csr) rows() int { return len(x.rowPtr) - 1 }

// vectorizeAll turns every example into its TF-IDF vector.
func (m *Model) vectorizeAll(examples []Example, workers int) *csr {
	vecs := make([]sparseVec, len(examples))
	workers = max(1, min(workers, len(examples)))
	scratch := make([]*vecScratch, workers)
	for w := range scratch {
		scratch[w] = m.newScratch()
	}
	parallel(len(examples), workers, func(w, i int) {
		s := scratch[w]
		m.vectorize(s, examples[i].Title, examples[i].Body)
		vecs[i] = sparseVec{cols: slices.Clone(s.vec.cols), vals: slices.Clone(s.vec.vals)}
	})
	nnz := 0
	for _, v := range vecs {
		nnz += len(v.cols)
	}
	x := &csr{
		rowPtr: make([]int, 1, len(vecs)+1),
		cols:   make([]int32, 0, nnz),
		vals:   make([]float32, 0, nnz),
	}
	for i, v := range vecs {
		x.cols = append(x.cols, v.cols...)
		x.vals = append(x.vals, v.vals...)
		x.rowPtr = append(x.rowPtr, len(x.cols))
		vecs[i] = sparseVec{} // release memory early
	}
	return x
}

// classWeights returns the per-class multiplier of C.
func classWeights(y []int, k int, scheme string) []float64 {
	w := make([]float64, k)
	if scheme == ClassWeightNone {
		for c := range w {
			w[c] = 1
		}
		return w
	}
	counts := make([]int, k)
	for _, c := range y {
		counts[c]++
	}
	for c := range w {
		w[c] = float64(len(y)) / (float64(k) * float64(counts[c]))
	}
	return w
}

// fitWeights trains one binary SVM per class, one epoch at a time across all
// classes so that progress and cancellation see whole epochs.
func (m *Model) fitWeights(ctx context.Context, x *csr, y []int, opts Options, cp CheckpointConfig, progress func(Progress)) error {
	k := len(m.labels)
	cw := classWeights(y, k, opts.ClassWeight)
	upper := make([]float64, len(y))
	for i, c := range y {
		upper[i] = opts.C * cw[c]
	}
	solvers := make([]*dcdSolver, k)
	for c := range solvers {
		solvers[c] = newDCDSolver(x, len(m.vocab), y, c, upper, opts.Seed)
	}
	var fp uint64
	if cp.Save != nil || cp.Resume != nil {
		fp = m.fingerprint(y, len(y))
	}
	first, done := 1, false
	if cp.Resume != nil {
		if err := cp.Resume.restore(fp, solvers); err != nil {
			return err
		}
		first = cp.Resume.Epoch + 1
		done = allConverged(solvers)
	}
	// saved and savedAt track the last checkpoint so that a cancelled run
	// saves its final state only when it differs from the last one.
	saved, savedAt := first-1, time.Now()
	save := func(ctx context.Context, epoch int, loss float64) error {
		c, err := snapshot(epoch, loss, fp, solvers)
		if err != nil {
			return err
		}
		if err := cp.Save(ctx, c); err != nil {
			return fmt.Errorf("textclf: saving checkpoint at epoch %d: %w", epoch, err)
		}
		saved, savedAt = epoch, time.Now()
		return nil
	}
	var loss float64
	for epoch := first; epoch <= opts.Epochs && !done; epoch++ {
		if err := cancelled(ctx); err != nil {
			if cp.Save != nil && epoch-1 > saved {
				// The solvers hold whole epochs; keep them so that a
				// resumed run repeats none. The save must outlive ctx.
				if serr := save(context.WithoutCancel(ctx), epoch-1, loss); serr != nil {
					return errors.Join(err, serr)
				}
			}
			return err
		}
		parallel(k, opts.Workers, func(_, c int) {
			solvers[c].epoch(opts.Tolerance)
		})
		loss = 0
		for _, s := range solvers {
			loss += s.loss
		}
		loss /= float64(k)
		done = allConverged(solvers)
		if progress != nil {
			progress(Progress{Epoch: epoch, Epochs: opts.Epochs, Loss: loss})
		}
		if !done && epoch < opts.Epochs && cp.due(epoch, saved, savedAt) {
			if err := save(ctx, epoch, loss); err != nil {
				return err
			}
		}
	}
	m.collectWeights(solvers)
	return nil
}

func allConverged(solvers []*dcdSolver) bool {
	for _, s := range solvers {
		if !s.converged {
			return false
		}
	}
	return true
}

// collectWeights copies the per-class weight vectors into the model table.
func (m *Model) collectWeights(solvers []*dcdSolver) {
	m.bias = make([]float32, len(solvers))
	for c, s := range solvers {
		for col := range m.vocab {
			m.weightsOf(int32(col))[c] = float32(s.w[col])
		}
		m.bias[c] = float32(s.w[len(m.vocab)] * biasFeature)
	}
}

// dcdSolver is dual coordinate descent for one L2-regularised, L2-loss
// (squared hinge) binary SVM, after Hsieh et al. (2008) and LIBLINEAR's
// solve_l2r_l1l2_svc, including its shrinking heuristic. The squared hinge
// makes the dual unbounded above and strongly convex, so a handful of passes
// suffices; shrinking then skips the many "rest" examples that sit far on
// the right side of the margin, which is most of them in one-vs-rest.
type dcdSolver struct {
	x     *csr
	sign  []float64 // +1 for the class, −1 for the rest
	diag  []float64 // 1/(2·C_i): the squared-hinge term of the dual Hessian
	qd    []float64 // diagonal of the dual Hessian
	alpha []float64
	w     []float64 // primal weights; the last entry is the bias
	rng   *rand.Rand
	pcg   *rand.PCG // rng's source, kept to checkpoint its state

	// active[:nActive] are the examples not shrunk away; pgMax is the
	// previous pass's largest projected gradient, the shrinking bound.
	active  []int
	nActive int
	pgMax   float64

	loss      float64
	converged bool
}

func newDCDSolver(x *csr, dim int, y []int, class int, upper []float64, seed int64) *dcdSolver {
	n := x.rows()
	s := &dcdSolver{
		x:      x,
		sign:   make([]float64, n),
		diag:   make([]float64, n),
		qd:     make([]float64, n),
		alpha:  make([]float64, n),
		w:      make([]float64, dim+1),
		active: make([]int, n),
		// Each class gets its own stream so that classes can run in any
		// order, on any number of workers, with the same result.
		pcg:     pcgFor(seed, class),
		nActive: n,
		pgMax:   math.Inf(1),
	}
	s.rng = rand.New(s.pcg)
	for i := range n {
		s.sign[i] = -1
		if y[i] == class {
			s.sign[i] = 1
		}
		s.diag[i] = 1 / (2 * upper[i])
		_, vals := x.row(i)
		sq := biasFeature * biasFeature
		for _, v := range vals {
			sq += float64(v) * float64(v)
		}
		s.qd[i] = sq + s.diag[i]
		s.active[i] = i
	}
	return s
}

// epoch makes one pass over the active examples in random order.
func (s *dcdSolver) epoch(tol float64) {
	if s.converged {
		return
	}
	bias := len(s.w) - 1
	act := s.active[:s.nActive]
	s.rng.Shuffle(len(act), func(a, b int) { act[a], act[b] = act[b], act[a] })
	pgMax, pgMin := math.Inf(-1), math.Inf(1)
	var loss float64
	for k := 0; k < s.nActive; k++ {
		i := s.active[k]
		cols, vals := s.x.row(i)
		margin := s.w[bias] * biasFeature
		for j, col := range cols {
			margin += s.w[col] * float64(vals[j])
		}
		yi := s.sign[i]
		g := yi*margin - 1 + s.diag[i]*s.alpha[i]
		pg := g
		if s.alpha[i] == 0 {
			if g > s.pgMax {
				// Far outside the margin and not a support vector:
				// unlikely to become one, so stop visiting it.
				s.nActive--
				s.active[k], s.active[s.nActive] = s.active[s.nActive], s.active[k]
				k--
				continue
			}
			pg = min(g, 0)
		}
		if h := 1 - yi*margin; h > 0 {
			loss += h * h
		}
		pgMax, pgMin = max(pgMax, pg), min(pgMin, pg)
		if math.Abs(pg) < 1e-12 {
			continue
		}
		old := s.alpha[i]
		s.alpha[i] = max(old-g/s.qd[i], 0)
		d := (s.alpha[i] - old) * yi
		for j, col := range cols {
			s.w[col] += d * float64(vals[j])
		}
		s.w[bias] += d * biasFeature
	}
	// Shrunk examples have margins beyond 1, hence no hinge loss.
	s.loss = loss / float64(len(s.active))
	s.updateBounds(pgMax, pgMin, tol)
}

// updateBounds applies LIBLINEAR's stopping rule: converge when the
// projected gradients agree within tol on the full set; if that happens on a
// shrunk set, un-shrink and verify with one more full pass.
func (s *dcdSolver) updateBounds(pgMax, pgMin, tol float64) {
	if pgMax-pgMin <= tol {
		if s.nActive == len(s.active) {
			s.converged = true
			return
		}
		s.nActive = len(s.active)
		s.pgMax = math.Inf(1)
		return
	}
	s.pgMax = pgMax
	if s.pgMax <= 0 {
		s.pgMax = math.Inf(1)
	}
}
