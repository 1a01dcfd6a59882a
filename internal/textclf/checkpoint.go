package textclf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// Binary checkpoint format, little-endian, framed like the model format:
//
//	magic    [8]byte  "DURECKPT"
//	version  uint32   checkpointVersion
//	hdrLen   uint32   length of the JSON header
//	header   []byte   JSON checkpointHeader
//	per class, K times:
//	  rngLen  uint32, rng [rngLen]byte   the PCG state (MarshalBinary)
//	  nActive uint32
//	  flags   uint32   bit 0: converged
//	  pgMax   float64
//	  loss    float64
//	  alpha   [N]float64
//	  w       [D+1]float64
//	  active  [N]uint32
//	crc      uint32   CRC-32C of every preceding byte
//
// Weights and duals are kept as float64 bit patterns so that a resumed run
// continues from exactly the state it stopped in and ends in a model
// byte-identical to an uninterrupted run.
const (
	checkpointMagic   = "DURECKPT"
	checkpointVersion = 1
	maxCheckpointSize = 4 << 30
)

// ErrBadCheckpoint is wrapped by ReadCheckpoint errors caused by the input
// (wrong file, truncated, corrupt, unsupported version).
var ErrBadCheckpoint = errors.New("textclf: invalid checkpoint")

// ErrCheckpointMismatch is returned by TrainCheckpointed when the checkpoint
// to resume from was taken on other data or with other options.
var ErrCheckpointMismatch = errors.New("textclf: checkpoint does not match this training run")

// Checkpoint is the solver state after a whole number of epochs. Together
// with the same examples and options it is enough to finish training.
type Checkpoint struct {
	// Epoch is the number of epochs completed.
	Epoch int
	// Loss is the mean loss of the last completed epoch.
	Loss float64

	fingerprint uint64
	examples    int
	dim         int
	solvers     []solverState
}

type solverState struct {
	rng       []byte
	nActive   int
	converged bool
	pgMax     float64
	loss      float64
	alpha     []float64
	w         []float64
	active    []int
}

type checkpointHeader struct {
	Epoch       int     `json:"epoch"`
	Loss        float64 `json:"loss"`
	Fingerprint uint64  `json:"fingerprint"`
	Classes     int     `json:"classes"`
	Examples    int     `json:"examples"`
	Dim         int     `json:"dim"`
}

// CheckpointConfig asks TrainCheckpointed to save its state and, optionally,
// to start from an earlier one.
type CheckpointConfig struct {
	// Save receives a checkpoint after every Every epochs and whenever
	// Interval has passed since the last one (either may be zero), and
	// once more if ctx is cancelled between epochs, so a stopped run loses
	// no finished epoch. It runs on the training goroutine; the
	// checkpoint must not be retained after Save returns unless it is
	// encoded first. An error from Save stops training.
	Save     func(context.Context, *Checkpoint) error
	Every    int
	Interval time.Duration
	// Resume, if not nil, continues from this checkpoint instead of
	// starting at epoch zero.
	Resume *Checkpoint
}

func (c CheckpointConfig) due(epoch, last int, lastAt time.Time) bool {
	if c.Save == nil {
		return false
	}
	return (c.Every > 0 && epoch-last >= c.Every) || (c.Interval > 0 && time.Since(lastAt) >= c.Interval)
}

// TrainCheckpointed is Train with checkpointing. The result does not depend on
// whether or where training was interrupted: resuming from any checkpoint
// with the same examples and options yields a byte-identical model.
func TrainCheckpointed(ctx context.Context, examples []Example, opts Options, cp CheckpointConfig, progress func(Progress)) (*Model, error) {
	return train(ctx, examples, opts, cp, progress)
}

// fingerprint identifies the training problem: the options that shape the
// solution, the labels, the vocabulary and every example's class. It
// guards against resuming on different data.
func (m *Model) fingerprint(y []int, n int) uint64 {
	h := fnv.New64a()
	opts := m.opts
	// Epochs only bounds the loop; a run may be resumed with a larger budget.
	opts.Epochs = 0
	b, _ := json.Marshal(struct {
		Options Options
		Labels  []string
		N       int
	}{opts, m.labels, n})
	h.Write(b)
	var buf [4]byte
	for _, v := range m.vocab {
		binary.LittleEndian.PutUint32(buf[:], v)
		h.Write(buf[:])
	}
	for _, c := range y {
		binary.LittleEndian.PutUint32(buf[:], uint32(c))
		h.Write(buf[:])
	}
	return h.Sum64()
}

// snapshot copies the solvers' state.
func snapshot(epoch int, loss float64, fp uint64, solvers []*dcdSolver) (*Checkpoint, error) {
	c := &Checkpoint{Epoch: epoch, Loss: loss, fingerprint: fp, solvers: make([]solverState, len(solvers))}
	for i, s := range solvers {
		rng, err := s.pcg.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("textclf: checkpoint rng: %w", err)
		}
		c.examples, c.dim = len(s.alpha), len(s.w)-1
		c.solvers[i] = solverState{
			rng: rng, nActive: s.nActive, converged: s.converged, pgMax: s.pgMax, loss: s.loss,
			alpha: append([]float64(nil), s.alpha...), w: append([]float64(nil), s.w...),
			active: append([]int(nil), s.active...),
		}
	}
	return c, nil
}

// restore loads a checkpoint into freshly built solvers.
func (c *Checkpoint) restore(fp uint64, solvers []*dcdSolver) error {
	if c.fingerprint != fp || len(c.solvers) != len(solvers) {
		return ErrCheckpointMismatch
	}
	for i, s := range solvers {
		st := c.solvers[i]
		if len(st.alpha) != len(s.alpha) || len(st.w) != len(s.w) || len(st.active) != len(s.active) {
			return ErrCheckpointMismatch
		}
		if err := s.pcg.UnmarshalBinary(st.rng); err != nil {
			return fmt.Errorf("%w: rng: %w", ErrBadCheckpoint, err)
		}
		copy(s.alpha, st.alpha)
		copy(s.w, st.w)
		copy(s.active, st.active)
		s.nActive, s.converged, s.pgMax, s.loss = st.nActive, st.converged, st.pgMax, st.loss
	}
	return nil
}

// WriteTo encodes the checkpoint in its versioned, checksummed format.
func (c *Checkpoint) WriteTo(w io.Writer) (int64, error) {
	hdr, err := json.Marshal(checkpointHeader{
		Epoch: c.Epoch, Loss: c.Loss, Fingerprint: c.fingerprint,
		Classes: len(c.solvers), Examples: c.examples, Dim: c.dim,
	})
	if err != nil {
		return 0, fmt.Errorf("textclf: encoding checkpoint header: %w", err)
	}
	cw := &countingWriter{w: w}
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(cw, crc), 256<<10)
	bw.WriteString(checkpointMagic)
	writeU32(bw, checkpointVersion)
	writeU32(bw, uint32(len(hdr)))
	bw.Write(hdr)
	for _, s := range c.solvers {
		writeU32(bw, uint32(len(s.rng)))
		bw.Write(s.rng)
		writeU32(bw, uint32(s.nActive))
		var flags uint32
		if s.converged {
			flags = 1
		}
		writeU32(bw, flags)
		writeF64(bw, s.pgMax)
		writeF64(bw, s.loss)
		for _, f := range s.alpha {
			writeF64(bw, f)
		}
		for _, f := range s.w {
			writeF64(bw, f)
		}
		for _, i := range s.active {
			writeU32(bw, uint32(i))
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("textclf: writing checkpoint: %w", err)
	}
	if err := binary.Write(cw, binary.LittleEndian, crc.Sum32()); err != nil {
		return cw.n, fmt.Errorf("textclf: writing checkpoint: %w", err)
	}
	return cw.n, nil
}

func writeF64(w *bufio.Writer, f float64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
	w.Write(b[:])
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadCheckpoint decodes a checkpoint written by WriteTo. Errors caused by
// the input wrap ErrBadCheckpoint.
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxCheckpointSize+1))
	if err != nil {
		return nil, fmt.Errorf("textclf: reading checkpoint: %w", err)
	}
	c, err := decodeCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	return c, nil
}

func decodeCheckpoint(data []byte) (*Checkpoint, error) {
	if len(data) > maxCheckpointSize {
		return nil, fmt.Errorf("larger than %d bytes", maxCheckpointSize)
	}
	const fixed = len(checkpointMagic) + 4 + 4
	if len(data) < fixed+4 || string(data[:len(checkpointMagic)]) != checkpointMagic {
		return nil, errors.New("not a textclf checkpoint (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(data[len(checkpointMagic):]); v != checkpointVersion {
		return nil, fmt.Errorf("unsupported checkpoint version %d (want %d)", v, checkpointVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, errors.New("checksum mismatch (truncated or corrupt)")
	}
	hdrLen := int(binary.LittleEndian.Uint32(data[len(checkpointMagic)+4:]))
	if hdrLen > maxHeaderLen || fixed+hdrLen > len(body) {
		return nil, fmt.Errorf("header length %d out of range", hdrLen)
	}
	var hdr checkpointHeader
	dec := json.NewDecoder(bytes.NewReader(body[fixed : fixed+hdrLen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hdr); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	// The bounds keep the size arithmetic below from overflowing.
	if hdr.Epoch < 0 || hdr.Classes < 2 || hdr.Classes > 1<<16 ||
		hdr.Examples < 1 || hdr.Examples > maxCheckpointSize/8 || hdr.Dim < 1 || hdr.Dim > maxCheckpointSize/8 {
		return nil, errors.New("header values out of range")
	}
	n, d := hdr.Examples, hdr.Dim
	perClass := 4 + 4 + 4 + 8 + 8 + 8*n + 8*(d+1) + 4*n
	b := body[fixed+hdrLen:]
	if len(b) < hdr.Classes*perClass || len(b) > hdr.Classes*(perClass+1024) {
		return nil, fmt.Errorf("state section is %d bytes, want about %d", len(b), hdr.Classes*perClass)
	}
	c := &Checkpoint{Epoch: hdr.Epoch, Loss: hdr.Loss, fingerprint: hdr.Fingerprint, examples: n, dim: d,
		solvers: make([]solverState, hdr.Classes)}
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(b); b = b[4:]; return v }
	f64 := func() float64 { v := math.Float64frombits(binary.LittleEndian.Uint64(b)); b = b[8:]; return v }
	for i := range c.solvers {
		if len(b) < perClass {
			return nil, errors.New("state section truncated")
		}
		rngLen := int(u32())
		if rngLen > 1024 || len(b) < rngLen+perClass-4 {
			return nil, errors.New("rng state length out of range")
		}
		s := solverState{rng: append([]byte(nil), b[:rngLen]...)}
		b = b[rngLen:]
		s.nActive = int(u32())
		s.converged = u32()&1 != 0
		s.pgMax, s.loss = f64(), f64()
		if s.nActive > n {
			return nil, errors.New("active count out of range")
		}
		s.alpha = make([]float64, n)
		for j := range s.alpha {
			s.alpha[j] = f64()
		}
		s.w = make([]float64, d+1)
		for j := range s.w {
			s.w[j] = f64()
		}
		s.active = make([]int, n)
		for j := range s.active {
			s.active[j] = int(u32())
			if s.active[j] >= n {
				return nil, errors.New("active index out of range")
			}
		}
		c.solvers[i] = s
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(b))
	}
	return c, nil
}

// pcgFor returns the class's random source; see newDCDSolver.
func pcgFor(seed int64, class int) *rand.PCG {
	return rand.NewPCG(uint64(seed), uint64(class)+1)
}
