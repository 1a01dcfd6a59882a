package quality

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/dure-platform/dure/internal/pii"
	"github.com/dure-platform/dure/internal/validate"
)

// repeatReader yields limit bytes of the sample complaints, over and over,
// each copy of a line under a new id; it holds one line at a time. Copies
// are duplicates to the Checker (rejected early), so the masking cost is
// that of the first pass; internal/validate's BenchmarkStream1GB generates
// unique records instead.
type repeatReader struct {
	lines       [][]byte
	limit, done int64
	n           int
	pending     []byte
	buf         []byte
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.done >= r.limit {
		return 0, io.EOF
	}
	if len(r.pending) == 0 {
		l := r.lines[r.n%len(r.lines)]
		// Every sample line starts {"id": "<tenant>-NNNNN"; give it a new id.
		i := bytes.IndexByte(l[8:], '"') + 8
		b := append(r.buf[:0], `{"id": "r`...)
		b = strconv.AppendInt(b, int64(r.n), 10)
		b = append(b, '-')
		b = append(b, l[i:]...)
		b = append(b, '\n')
		r.buf, r.pending = b, b
		r.n++
	}
	n := copy(p, r.pending)
	n = int(min(int64(n), r.limit-r.done))
	r.pending = r.pending[n:]
	r.done += int64(n)
	return n, nil
}

// BenchmarkScreen1GB streams 1 GB through the gate's pipeline (RecordReader,
// Checker, PII masking, JSON encoding of the staged record) and reports
// throughput, peak heap and peak RSS.
func BenchmarkScreen1GB(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "data", "complaints", "*.jsonl"))
	if len(files) == 0 {
		b.Fatal("sample complaints not found in data/complaints: the checkout is incomplete")
	}
	var lines [][]byte
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		for l := range bytes.Lines(data) {
			lines = append(lines, bytes.TrimSpace(l))
		}
	}
	const size = 1 << 30
	det := pii.NewDetector()
	b.SetBytes(size)
	var peakHeap uint64
	for b.Loop() {
		src := &repeatReader{lines: lines, limit: size}
		rr, err := validate.NewRecordReader(src, validate.FormatJSONL, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		c := validate.NewChecker(validate.DefaultRules())
		enc := json.NewEncoder(io.Discard)
		var ms runtime.MemStats
		records, accepted := 0, 0
		start := time.Now()
		for {
			raw, _, err := rr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			records++
			if rec, rej := c.Check(raw); rej == nil {
				accepted++
				rec.Title, _ = det.MaskText(rec.Title, pii.TagPolicy{})
				rec.Body, _ = det.MaskText(rec.Body, pii.TagPolicy{})
				if err := enc.Encode(rec); err != nil {
					b.Fatal(err)
				}
			}
			if records%1000 == 0 {
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
		}
		b.Logf("%d records, %d accepted, %.0f MB/s", records, accepted, float64(src.done)/1e6/time.Since(start).Seconds())
	}
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(vmHWM())/(1<<20), "peak-RSS-MiB")
}

// vmHWM is the process's peak resident set size in bytes, from /proc.
func vmHWM() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range bytes.Lines(data) {
		if rest, ok := bytes.CutPrefix(l, []byte("VmHWM:")); ok {
			kb, _ := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			return kb << 10
		}
	}
	return 0
}
