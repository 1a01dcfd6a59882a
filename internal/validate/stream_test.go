package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// genReader produces limit bytes of JSON lines on the fly, never holding
// more than one record: each record's title and body are random words of
// the sample complaints, as long as a sample record, so records are unique
// (not all duplicates) yet look like real uploads to every check.
type genReader struct {
	limit, done int64
	words       []string
	lengths     [][2]int // title and body word counts of the samples
	depts       []string
	rng         *rand.Rand
	n           int
	buf         []byte
	pending     []byte
}

func newGenReader(tb testing.TB, limit int64) *genReader {
	tb.Helper()
	files := sampleFiles(tb)
	g := &genReader{limit: limit, rng: rand.New(rand.NewPCG(1, 2)), depts: DefaultRules().Departments}
	seen := map[string]bool{}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for l := range bytes.Lines(data) {
			var r Record
			if err := json.Unmarshal(l, &r); err != nil {
				tb.Fatal(err)
			}
			tw, bw := strings.Fields(r.Title), strings.Fields(r.Body)
			g.lengths = append(g.lengths, [2]int{max(1, len(tw)), max(2, len(bw))})
			for _, w := range append(tw, bw...) {
				if !seen[w] && strings.IndexFunc(w, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
					seen[w] = true
					g.words = append(g.words, w)
				}
			}
		}
	}
	return g
}

func (g *genReader) appendWords(b []byte, n int) []byte {
	var s strings.Builder
	for i := range n {
		if i > 0 {
			s.WriteByte(' ')
		}
		s.WriteString(g.words[g.rng.IntN(len(g.words))])
	}
	return strconv.AppendQuote(b, s.String())
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.done >= g.limit {
		return 0, io.EOF
	}
	if len(g.pending) == 0 {
		ln := g.lengths[g.n%len(g.lengths)]
		b := append(g.buf[:0], `{"id":"gen-`...)
		b = strconv.AppendInt(b, int64(g.n), 10)
		b = append(b, `","received_at":"2019-04-30","title":`...)
		b = g.appendWords(b, ln[0])
		b = append(b, `,"body":`...)
		b = g.appendWords(b, ln[1])
		b = append(b, `,"department":`...)
		b = strconv.AppendQuote(b, g.depts[g.n%len(g.depts)])
		b = append(b, "}\n"...)
		g.buf, g.pending = b, b
		g.n++
	}
	n := copy(p, g.pending)
	if rest := g.limit - g.done; int64(n) > rest {
		n = int(rest)
	}
	g.pending = g.pending[n:]
	g.done += int64(n)
	return n, nil
}

// streamResult is what one pass measured.
type streamResult struct {
	bytes, records, accepted int64
	rejected                 map[Reason]int
	elapsed                  time.Duration
	peakHeapInuse            uint64
}

// streamThrough reads an upload of size bytes through RecordReader and a
// Checker, as the quality gate does, sampling the heap as it goes.
func streamThrough(tb testing.TB, size int64) streamResult {
	tb.Helper()
	src := newGenReader(tb, size)
	runtime.GC()
	res := streamResult{rejected: map[Reason]int{}}
	var ms runtime.MemStats
	sample := func() {
		runtime.ReadMemStats(&ms)
		res.peakHeapInuse = max(res.peakHeapInuse, ms.HeapInuse)
	}
	start := time.Now()
	rr, err := NewRecordReader(src, FormatJSONL, 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	c := NewChecker(DefaultRules())
	for {
		raw, _, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		res.records++
		if _, rej := c.Check(raw); rej != nil {
			res.rejected[rej.Reason]++
		} else {
			res.accepted++
		}
		if res.records%1000 == 0 {
			sample()
		}
	}
	sample()
	res.elapsed = time.Since(start)
	res.bytes = src.done
	return res
}

// peakRSS reads the process's peak resident set size (VmHWM), in bytes.
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestStreamMemoryBounded checks that the peak heap of streaming an upload
// does not grow with its size beyond the per-record duplicate state: four
// times the input may cost little more memory.
func TestStreamMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 80 MiB")
	}
	small := streamThrough(t, 16<<20)
	large := streamThrough(t, 64<<20)
	for _, r := range []streamResult{small, large} {
		t.Logf("%d MiB: %d records (%d accepted, rejected %v), %.0f MB/s, peak HeapInuse %.1f MiB",
			r.bytes>>20, r.records, r.accepted, r.rejected, float64(r.bytes)/1e6/r.elapsed.Seconds(), float64(r.peakHeapInuse)/(1<<20))
	}
	if small.accepted < small.records*9/10 {
		t.Errorf("generated records should mostly pass, %d of %d did", small.accepted, small.records)
	}
	if large.peakHeapInuse > 2*small.peakHeapInuse+8<<20 {
		t.Errorf("peak heap grew with input: %d MiB for 16 MiB, %d MiB for 64 MiB",
			small.peakHeapInuse>>20, large.peakHeapInuse>>20)
	}
	if large.peakHeapInuse > 64<<20 {
		t.Errorf("peak heap %d MiB for a 64 MiB upload", large.peakHeapInuse>>20)
	}
}

// BenchmarkStream1GB streams a generated 1 GB upload through RecordReader
// and a Checker per iteration and reports throughput, peak heap and peak RSS.
func BenchmarkStream1GB(b *testing.B) {
	const size = 1 << 30
	b.SetBytes(size)
	var peakHeap uint64
	for b.Loop() {
		r := streamThrough(b, size)
		peakHeap = max(peakHeap, r.peakHeapInuse)
		b.Logf("%d records, %d accepted, rejected %v", r.records, r.accepted, r.rejected)
	}
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
}
