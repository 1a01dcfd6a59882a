package textclf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Binary model format, little-endian:
//
//	magic    [8]byte  "DURETXTC"
//	version  uint32   formatVersion
//	hdrLen   uint32   length of the JSON header
//	header   []byte   JSON modelHeader
//	vocab    [V]uint32  sorted feature buckets
//	idf      [V]float32
//	weights  [V*K]float32  feature-major
//	bias     [K]float32
//	crc      uint32   CRC-32C of every preceding byte
//
// The JSON header keeps the schema self-describing and easy to extend;
// the arrays are raw so that a 20 MB model loads in milliseconds.
const (
	magic         = "DURETXTC"
	formatVersion = 1
	// maxModelBytes guards Load against allocating without bound on a
	// corrupt or hostile length.
	maxModelBytes = 1 << 30
	maxHeaderLen  = 1 << 20
)

// ErrBadModel is wrapped by every Load error caused by the input itself
// (wrong file, truncated, corrupt, unsupported version).
var ErrBadModel = errors.New("textclf: invalid model")

// File names inside a model directory.
const (
	ModelFile = "model.bin"
	MetaFile  = "meta.json"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// modelHeader is the JSON part of the binary format.
type modelHeader struct {
	Labels      []string      `json:"labels"`
	Features    featureConfig `json:"features"`
	Temperature float64       `json:"temperature"`
	VocabSize   int           `json:"vocab_size"`
	// Options records how the model was trained, for provenance only.
	Options Options `json:"options"`
}

// Save writes the model in the versioned binary format.
func (m *Model) Save(w io.Writer) error {
	hdr, err := json.Marshal(modelHeader{
		Labels:      m.labels,
		Features:    m.cfg,
		Temperature: m.temperature,
		VocabSize:   len(m.vocab),
		Options:     m.opts,
	})
	if err != nil {
		return fmt.Errorf("textclf: encoding model header: %w", err)
	}
	crc := crc32.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 256<<10)
	bw.WriteString(magic)
	writeU32(bw, formatVersion)
	writeU32(bw, uint32(len(hdr)))
	bw.Write(hdr)
	for _, b := range m.vocab {
		writeU32(bw, b)
	}
	for col := range m.vocab {
		writeFloat(bw, m.idfOf(int32(col)))
	}
	for col := range m.vocab {
		for _, f := range m.weightsOf(int32(col)) {
			writeFloat(bw, f)
		}
	}
	for _, f := range m.bias {
		writeFloat(bw, f)
	}
	// Flush before reading the checksum: it must cover every byte so far.
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("textclf: writing model: %w", err)
	}
	if err := binary.Write(w, binary.LittleEndian, crc.Sum32()); err != nil {
		return fmt.Errorf("textclf: writing model: %w", err)
	}
	return nil
}

// writeU32 ignores errors: bufio.Writer remembers the first one and
// Flush reports it.
func writeU32(w *bufio.Writer, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	w.Write(b[:])
}

func writeFloat(w *bufio.Writer, f float32) { writeU32(w, math.Float32bits(f)) }

// Load reads a model written by Save. Errors caused by the input wrap
// ErrBadModel.
func Load(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("textclf: reading model: %w", err)
	}
	m, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	return m, nil
}

func decode(data []byte) (*Model, error) {
	if len(data) > maxModelBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxModelBytes)
	}
	const fixed = len(magic) + 4 + 4
	if len(data) < fixed+4 || string(data[:len(magic)]) != magic {
		return nil, errors.New("not a textclf model (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(data[len(magic):]); v != formatVersion {
		return nil, fmt.Errorf("unsupported format version %d (want %d)", v, formatVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, errors.New("checksum mismatch (truncated or corrupt)")
	}
	hdrLen := int(binary.LittleEndian.Uint32(data[len(magic)+4:]))
	if hdrLen > maxHeaderLen || fixed+hdrLen > len(body) {
		return nil, fmt.Errorf("header length %d out of range", hdrLen)
	}
	var hdr modelHeader
	dec := json.NewDecoder(bytes.NewReader(body[fixed : fixed+hdrLen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hdr); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if err := hdr.validate(); err != nil {
		return nil, err
	}
	return hdr.decodeArrays(body[fixed+hdrLen:])
}

func (h *modelHeader) validate() error {
	if len(h.Labels) < 2 {
		return fmt.Errorf("%d labels, need at least 2", len(h.Labels))
	}
	if !slices.IsSorted(h.Labels) || len(slices.Compact(slices.Clone(h.Labels))) != len(h.Labels) {
		return errors.New("labels are not sorted and distinct")
	}
	f := h.Features
	if f.HashBits < minHashBits || f.HashBits > maxHashBits {
		return fmt.Errorf("hash_bits %d out of range", f.HashBits)
	}
	if f.CharMinN < 1 || f.CharMaxN < 0 || f.CharMaxN > 8 || f.WordNGrams < 0 || f.WordNGrams > 2 ||
		f.TitleWeight < 0 || f.MaxRunes < 0 || math.IsNaN(f.TitleWeight) {
		return errors.New("invalid feature configuration")
	}
	if h.VocabSize < 1 || h.VocabSize > f.buckets() {
		return fmt.Errorf("vocabulary size %d out of range", h.VocabSize)
	}
	if h.Temperature < 0 || math.IsNaN(h.Temperature) || math.IsInf(h.Temperature, 0) {
		return fmt.Errorf("invalid temperature %v", h.Temperature)
	}
	return nil
}

// decodeArrays parses the raw arrays that follow the header; their total
// size must match the header exactly.
func (h *modelHeader) decodeArrays(b []byte) (*Model, error) {
	v, k := h.VocabSize, len(h.Labels)
	if want := 4 * (v + v + v*k + k); len(b) != want {
		return nil, fmt.Errorf("array section is %d bytes, want %d", len(b), want)
	}
	m := &Model{
		labels:      h.Labels,
		cfg:         h.Features,
		temperature: h.Temperature,
		opts:        h.Options,
		vocab:       make([]uint32, v),
	}
	for i := range m.vocab {
		m.vocab[i] = binary.LittleEndian.Uint32(b[4*i:])
		if m.vocab[i] >= uint32(m.cfg.buckets()) || (i > 0 && m.vocab[i] <= m.vocab[i-1]) {
			return nil, errors.New("vocabulary is not sorted or out of range")
		}
	}
	b = b[4*v:]
	idf, b, err := readFloats(b, v)
	if err != nil {
		return nil, err
	}
	weights, b, err := readFloats(b, v*k)
	if err != nil {
		return nil, err
	}
	if m.bias, _, err = readFloats(b, k); err != nil {
		return nil, err
	}
	m.table = make([]float32, v*m.stride())
	for col := range v {
		row := m.table[col*m.stride():]
		row[0] = idf[col]
		copy(row[1:1+k], weights[col*k:])
	}
	m.buildIndex()
	return m, nil
}

// readFloats decodes n float32s, rejecting NaN and ±Inf, which would
// silently turn every prediction into the first label.
func readFloats(b []byte, n int) ([]float32, []byte, error) {
	out := make([]float32, n)
	for i := range out {
		f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, nil, errors.New("non-finite value in model arrays")
		}
		out[i] = f
	}
	return out, b[4*n:], nil
}

// SaveDir writes the model to dir/model.bin and meta to dir/meta.json,
// creating dir if needed. Each file is written to a temporary name and
// renamed, so a reader never sees a half-written model. meta is caller
// data (tenant, data version, metrics…); SaveDir adds "labels" and
// "format_version" unless meta already sets them.
func SaveDir(dir string, m *Model, meta map[string]any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("textclf: creating model dir: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ModelFile), m.Save); err != nil {
		return err
	}
	full := map[string]any{"labels": m.Labels(), "format_version": formatVersion}
	for k, v := range meta {
		full[k] = v
	}
	return writeFileAtomic(filepath.Join(dir, MetaFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(full)
	})
}

// LoadDir loads dir/model.bin written by SaveDir.
func LoadDir(dir string) (*Model, error) {
	f, err := os.Open(filepath.Join(dir, ModelFile))
	if err != nil {
		return nil, fmt.Errorf("textclf: opening model: %w", err)
	}
	defer f.Close()
	return Load(f)
}

// ReadMeta returns the contents of dir/meta.json written by SaveDir.
func ReadMeta(dir string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return nil, fmt.Errorf("textclf: reading meta: %w", err)
	}
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("textclf: parsing %s: %w", MetaFile, err)
	}
	return meta, nil
}

func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("textclf: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("textclf: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("textclf: syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("textclf: closing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("textclf: %w", err)
	}
	return nil
}
