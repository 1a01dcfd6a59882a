package gpupool

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSchedule runs the default trace (a simulated week of the three
// pilot cities on eight GPUs) under the policy and under FIFO, and logs the
// comparison table of docs/gpupool.md. The reported metrics are the policy's.
func BenchmarkSchedule(b *testing.B) {
	var rep TraceReport
	for b.Loop() {
		var err error
		if rep, err = RunTrace(DefaultTrace()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(rep.Policy.UtilizationOfIdeal, "util/ideal")
	b.ReportMetric(rep.Policy.Jain, "jain")
	b.ReportMetric(float64(rep.Policy.QuotaViolations), "violations")
	b.ReportMetric(rep.Policy.WaitMeanS, "wait-mean-s")
	b.ReportMetric(rep.Policy.WaitP99S, "wait-p99-s")
	b.Logf("default trace (%d jobs):\n%s", rep.Policy.Jobs, rep.Table())
}

// BenchmarkDecision measures one Submit and one Release, each with a full
// scheduling pass, on a busy pool with a long queue: the work the GPUPool
// workflow does per signal.
func BenchmarkDecision(b *testing.B) {
	for _, queued := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("queue=%d", queued), func(b *testing.B) {
			p, err := New(DefaultTrace().PoolConfig())
			if err != nil {
				b.Fatal(err)
			}
			now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
			tenants := []string{"suwon", "seongnam", "yongin"}
			for i := range 8 + queued {
				r := Request{ID: fmt.Sprintf("w%d", i), Tenant: tenants[i%3], Kind: KindWhole, GPUs: 1 + i%2}
				if i%3 == 2 {
					r = Request{ID: r.ID, Tenant: r.Tenant, Kind: KindSlice, Slices: 1, Profile: traceProfile}
				}
				if _, err := p.Submit(now, r); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				i++
				id := fmt.Sprintf("b%d", i)
				if _, err := p.Submit(now, Request{ID: id, Tenant: tenants[i%3], Kind: KindWhole, GPUs: 1}); err != nil {
					b.Fatal(err)
				}
				if _, err := p.Cancel(now, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
