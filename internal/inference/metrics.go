package inference

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type replicaMetrics struct {
	requests *prometheus.CounterVec   // route, code
	latency  *prometheus.HistogramVec // route
	version  prometheus.Gauge
	loads    *prometheus.CounterVec // result
}

func newReplicaMetrics(name string, reg prometheus.Registerer) (*replicaMetrics, error) {
	// The replica name is a constant label so that several replicas can
	// share one registry (tests, or an all-in-one dev process).
	cl := prometheus.Labels{"replica": name}
	m := &replicaMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dure", Subsystem: "inference", Name: "requests_total",
			Help:        "HTTP requests served by the inference replica, by route and status code.",
			ConstLabels: cl,
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "dure", Subsystem: "inference", Name: "request_duration_seconds",
			Help:        "Latency of HTTP requests served by the inference replica.",
			ConstLabels: cl,
			// From sub-millisecond classifications up to multi-second
			// stalls; the default buckets start too coarse at 5ms.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "dure", Subsystem: "inference", Name: "model_version",
			Help:        "Version of the model currently loaded; 0 when none is loaded.",
			ConstLabels: cl,
		}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dure", Subsystem: "inference", Name: "model_loads_total",
			Help:        "Model load attempts, by result.",
			ConstLabels: cl,
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.version, m.loads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("inference: register metrics for replica %q: %w", name, err)
		}
	}
	return m, nil
}
