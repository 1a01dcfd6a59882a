package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchParallelism multiplies GOMAXPROCS into the number of client
// goroutines, so that the servers see many concurrent requests.
const benchParallelism = 8

// servingResult is one sub-benchmark's final measurement.
type servingResult struct {
	reqPerSec float64
	p50, p99  time.Duration
}

// BenchmarkServing measures classify requests over loopback against a bare
// Go HTTP handler answering a fixed JSON body, and against the gateway in
// front of two real inference replicas with a trivial classifier. Both
// report req/s and p50/p99 latency; the gateway run also reports its ratios
// to the bare run.
func BenchmarkServing(b *testing.B) {
	var bare servingResult

	b.Run("bare", func(b *testing.B) {
		answer := []byte(`{"department":"도로과","score":0.87,"model_version":1,"replica":"inference-1","tenant":"suwon"}`)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(answer)
		}))
		defer srv.Close()
		bare = runServing(b, srv.URL+"/v1/classify", "")
	})

	b.Run("gateway+2replicas", func(b *testing.B) {
		r1 := startReplica(b, "inference-1", 1)
		r2 := startReplica(b, "inference-2", 1)
		tg := startGateway(b, []string{r1.srv.URL, r2.srv.URL}, Options{})
		gw := runServing(b, tg.srv.URL+"/v1/classify", bearer(tokSuwonClient))
		// Ratios to the bare run, when it ran in this process (it does
		// unless -bench filters it out).
		if bare.reqPerSec > 0 && gw.reqPerSec > 0 {
			b.ReportMetric(gw.reqPerSec/bare.reqPerSec, "req/s-ratio")
			b.ReportMetric(float64(gw.p50)/float64(bare.p50), "p50-ratio")
			b.ReportMetric(float64(gw.p99)/float64(bare.p99), "p99-ratio")
		}
	})
}

// runServing sends b.N classify requests from parallel clients and reports
// throughput and latency percentiles.
func runServing(b *testing.B, target, auth string) servingResult {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		DisableCompression:  true,
	}}
	defer client.CloseIdleConnections()
	body := []byte(complaint)

	var (
		mu  sync.Mutex
		all = make([]time.Duration, 0, b.N)
	)
	b.SetParallelism(benchParallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		defer func() {
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
		for pb.Next() {
			start := time.Now()
			req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			lat = append(lat, time.Since(start))
		}
	})
	b.StopTimer()

	if len(all) == 0 {
		return servingResult{}
	}
	slices.Sort(all)
	res := servingResult{
		reqPerSec: float64(b.N) / b.Elapsed().Seconds(),
		p50:       all[len(all)*50/100],
		p99:       all[len(all)*99/100],
	}
	b.ReportMetric(res.reqPerSec, "req/s")
	b.ReportMetric(float64(res.p50.Microseconds()), "p50-us")
	b.ReportMetric(float64(res.p99.Microseconds()), "p99-us")
	return res
}
