package quality

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/dure-platform/dure/internal/dedup"
	"github.com/dure-platform/dure/internal/pii"
	"github.com/dure-platform/dure/internal/synth"
	"github.com/dure-platform/dure/internal/validate"
	"github.com/dure-platform/dure/workflows"
)

// memory tracks a run's peak heap (sampled) and peak RSS (the kernel's
// VmHWM, reset at the start so that each run reports its own).
type memory struct {
	peakHeap uint64
	ms       runtime.MemStats
}

func startMemory(tb testing.TB) *memory {
	// Hand what an earlier run freed back to the kernel, then reset
	// VmHWM to the RSS left (writing 5 to clear_refs does that).
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Logf("peak RSS is the process's, not this run's: %v", err)
	}
	return &memory{}
}

func (m *memory) sample() {
	runtime.ReadMemStats(&m.ms)
	m.peakHeap = max(m.peakHeap, m.ms.HeapInuse)
}

// run is one pass over a generated upload.
type run struct {
	records, accepted int
	bytes             int64
	elapsed           time.Duration
	peakHeap, peakRSS uint64
}

func (r run) mbPerSecond() float64 { return float64(r.bytes) / 1e6 / r.elapsed.Seconds() }

// inMemory is the pipeline with the duplicate search held in maps, as a
// gate without a memory budget would: read, validate, mask, fingerprint,
// look up and remember each record, encode it. It is the baseline that
// screening is compared with; its memory grows with the records.
func inMemory(tb testing.TB, a *Activities, shape synth.Shape) run {
	src := synth.NewUpload(tb, shape)
	mem := startMemory(tb)
	start := time.Now()
	rr, err := validate.NewRecordReader(src, validate.FormatJSONL, 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	c := validate.NewChecker(a.Rules)
	enc := json.NewEncoder(io.Discard)
	ids := map[string]struct{}{}
	texts := map[[16]byte]struct{}{}
	bands := map[[2]uint64][]int32{} // (band, hash of its rows) → records
	var sigs []dedup.Signature
	var r run
	for {
		raw, _, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		r.records++
		if r.records%1000 == 0 {
			mem.sample()
		}
		rec, rej := c.Check(raw)
		if rej != nil {
			continue
		}
		rec.Title, _ = a.Detector.MaskText(rec.Title, pii.TagPolicy{})
		rec.Body, _ = a.Detector.MaskText(rec.Body, pii.TagPolicy{})
		fp := dedup.Of(rec.Title, rec.Body)
		if _, dup := ids[rec.ID]; dup {
			continue
		}
		if _, dup := texts[fp.Key]; dup {
			continue
		}
		if fp.Near && nearInMemory(&fp.Sig, bands, sigs) {
			continue
		}
		ids[rec.ID], texts[fp.Key] = struct{}{}, struct{}{}
		if fp.Near {
			for band := range len(fp.Sig) / 4 {
				k := [2]uint64{uint64(band), rowsHash(fp.Sig[band*4 : band*4+4])}
				bands[k] = append(bands[k], int32(len(sigs)))
			}
			sigs = append(sigs, fp.Sig)
		}
		r.accepted++
		if err := enc.Encode(rec); err != nil {
			tb.Fatal(err)
		}
	}
	r.elapsed, r.bytes = time.Since(start), src.Done
	r.peakHeap, r.peakRSS = mem.peakHeap, vmHWM()
	return r
}

func rowsHash(rows []uint32) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, v := range rows {
		h = (h ^ uint64(v)) * 0x100000001b3
	}
	return h
}

func nearInMemory(sig *dedup.Signature, bands map[[2]uint64][]int32, sigs []dedup.Signature) bool {
	for band := range len(sig) / 4 {
		for _, i := range bands[[2]uint64{uint64(band), rowsHash(sig[band*4 : band*4+4])}] {
			if dedup.Similarity(dedup.Agreement(sig, &sigs[i])) >= 90 {
				return true
			}
		}
	}
	return false
}

// screenGenerated runs the gate's screening (both passes and the batch's
// index) over a generated upload, with files in the work dir as
// ScreenUpload has them; only S3 is left out.
func screenGenerated(tb testing.TB, a *Activities, shape synth.Shape) run {
	src := synth.NewUpload(tb, shape)
	mem := startMemory(tb)
	start := time.Now()
	var files [3]*os.File
	for i := range files {
		f, err := os.CreateTemp(a.WorkDir, "dure-bench-*.jsonl")
		if err != nil {
			tb.Fatal(err)
		}
		defer removeTemp(f)
		files[i] = f
	}
	pending, staged, rejects := files[0], files[1], files[2]
	res := workflows.ScreenResult{RejectedByReason: map[string]int{}, PIIMasked: map[string]int{}}
	var records int
	beat := func(p Progress) {
		if p.RecordsDone-records >= 1000 || p.Stage != StageReading {
			records = p.RecordsDone
			mem.sample()
		}
	}
	size := shape.Bytes
	if size <= 0 {
		size = int64(shape.Records) * 100
	}
	sc, err := a.newScreening(context.Background(), beat, pii.TagPolicy{}, &approvedIndex{}, size, &res)
	if err != nil {
		tb.Fatal(err)
	}
	defer sc.dups.Close()
	if err := sc.read(src, validate.FormatJSONL, pending, rejects); err != nil {
		tb.Fatal(err)
	}
	if err := sc.keepUnique(pending, staged); err != nil {
		tb.Fatal(err)
	}
	if err := pending.Truncate(0); err != nil {
		tb.Fatal(err)
	}
	if err := sc.dups.WriteSegment(pending); err != nil {
		tb.Fatal(err)
	}
	mem.sample()
	return run{records: res.RecordsRead, accepted: res.RecordsAccepted, bytes: src.Done, elapsed: time.Since(start),
		peakHeap: mem.peakHeap, peakRSS: vmHWM()}
}

// BenchmarkScreen screens generated uploads of unique records, 1 GB of
// sample-like ones and 5 million short ones, and reports throughput and
// peak memory beside the same work with the duplicate search in memory,
// run next in the same process.
func BenchmarkScreen(b *testing.B) {
	rules := validate.DefaultRules()
	for _, tt := range []struct {
		name  string
		shape synth.Shape
	}{
		{"1GB", synth.Shape{Bytes: 1 << 30, Departments: rules.Departments}},
		{"5M-records", synth.Shape{Records: 5_000_000, Departments: rules.Departments, BodyWords: 6}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			a := &Activities{Detector: pii.NewDetector(), Rules: rules, WorkDir: b.TempDir()}
			for b.Loop() {
				// Screening first: the baseline's heap, once freed, may
				// leave the process a higher RSS to start from.
				got := screenGenerated(b, a, tt.shape)
				base := inMemory(b, a, tt.shape)
				if got.records != base.records {
					b.Fatalf("the runs read %d and %d records", base.records, got.records)
				}
				b.Logf("%d records (%d MB), %d accepted: %.1f MB/s, peak heap %d MiB, peak RSS %d MiB; with the search in memory %.1f MB/s, peak RSS %d MiB",
					got.records, got.bytes/1e6, got.accepted, got.mbPerSecond(), got.peakHeap>>20, got.peakRSS>>20, base.mbPerSecond(), base.peakRSS>>20)
				b.ReportMetric(got.mbPerSecond(), "MB/s")
				b.ReportMetric(got.mbPerSecond()/base.mbPerSecond(), "throughput-ratio")
				b.ReportMetric(float64(got.peakRSS)/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(float64(got.peakRSS)/float64(base.peakRSS), "RSS-ratio")
				b.ReportMetric(float64(got.peakHeap)/(1<<20), "peak-heap-MiB")
			}
		})
	}
}

// TestScreenMemoryBounded checks that screening's memory does not grow
// with the upload: four times the records cost little more heap, under a
// small budget that makes the index spill.
func TestScreenMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("screens 80 MiB")
	}
	rules := validate.DefaultRules()
	a := &Activities{Detector: pii.NewDetector(), Rules: rules, WorkDir: t.TempDir(), MemoryBudget: 4 << 20}
	small := screenGenerated(t, a, synth.Shape{Bytes: 16 << 20, Departments: rules.Departments, BodyWords: 6})
	large := screenGenerated(t, a, synth.Shape{Bytes: 64 << 20, Departments: rules.Departments, BodyWords: 6})
	for _, r := range []run{small, large} {
		t.Logf("%d MiB: %d records (%d accepted), %.1f MB/s, peak heap %.1f MiB",
			r.bytes>>20, r.records, r.accepted, r.mbPerSecond(), float64(r.peakHeap)/(1<<20))
	}
	if small.accepted < small.records*9/10 {
		t.Errorf("generated records should mostly pass, %d of %d did", small.accepted, small.records)
	}
	if large.peakHeap > small.peakHeap+small.peakHeap/2+8<<20 {
		t.Errorf("peak heap grew with the upload: %d MiB for 16 MiB, %d MiB for 64 MiB", small.peakHeap>>20, large.peakHeap>>20)
	}
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
