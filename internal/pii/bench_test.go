package pii

import (
	"regexp"
	"testing"
)

func sampleBytes(bodies []string) int64 {
	var n int64
	for _, b := range bodies {
		n += int64(len(b))
	}
	return n
}

// BenchmarkMask measures the full detect-and-mask pass over all sample
// bodies; MB/s is bytes of input per second on one core.
func BenchmarkMask(b *testing.B) {
	bodies := sampleBodies(b)
	d := NewDetector()
	b.SetBytes(sampleBytes(bodies))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, body := range bodies {
			d.MaskText(body, TagPolicy{})
		}
	}
}

// BenchmarkDetect measures detection alone.
func BenchmarkDetect(b *testing.B) {
	bodies := sampleBodies(b)
	d := NewDetector()
	b.SetBytes(sampleBytes(bodies))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, body := range bodies {
			d.Detect(body)
		}
	}
}

// baselinePattern is what a straightforward regular-expression masker
// would run: phone, e-mail and RRN only, in one alternation so the regexp
// engine makes a single pass. It finds a subset of what Detector finds and
// validates nothing, so it is a generous baseline.
var baselinePattern = regexp.MustCompile(
	`\d{6}-?[1-8]\d{6}` +
		`|(?:\+82[-. ]?|0)(?:1[016-9]|2|[3-6][1-5]|70)[-. ]?\d{3,4}[-. ]?\d{4}` +
		`|1[568]\d{2}-\d{4}` +
		`|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// BenchmarkMaskRegexpBaseline is the regexp pass to compare BenchmarkMask
// against; report the ratio of their MB/s.
func BenchmarkMaskRegexpBaseline(b *testing.B) {
	bodies := sampleBodies(b)
	b.SetBytes(sampleBytes(bodies))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, body := range bodies {
			baselinePattern.ReplaceAllString(body, "[개인정보]")
		}
	}
}
