package gateway

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type gatewayMetrics struct {
	requests         *prometheus.CounterVec   // route, tenant, code
	latency          *prometheus.HistogramVec // route
	upstreamFailures *prometheus.CounterVec   // replica, reason
	authFailures     *prometheus.CounterVec   // reason
}

func newGatewayMetrics(reg prometheus.Registerer) (*gatewayMetrics, error) {
	m := &gatewayMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dure", Subsystem: "gateway", Name: "requests_total",
			Help: "Requests served by the API gateway, by route, tenant and status code.",
		}, []string{"route", "tenant", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "dure", Subsystem: "gateway", Name: "request_duration_seconds",
			Help: "Latency of requests served by the API gateway, replica time included.",
			// From sub-millisecond answers up to the request timeout.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		upstreamFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dure", Subsystem: "gateway", Name: "upstream_failures_total",
			Help: "Failed attempts on an inference replica, by replica and reason; each was retried on another replica if one was left.",
		}, []string{"replica", "reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "dure", Subsystem: "gateway", Name: "auth_failures_total",
			Help: "Requests refused by authentication or authorization, by reason.",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.upstreamFailures, m.authFailures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway: register metrics: %w", err)
		}
	}
	return m, nil
}

// observe records one served request. tenant is "" when the caller was not
// authenticated; the label is then "none". Tenants come from the
// Authenticator, never from the request, so the label set stays bounded.
func (m *gatewayMetrics) observe(route, tenant string, code int, d time.Duration) {
	if tenant == "" {
		tenant = "none"
	}
	m.requests.WithLabelValues(route, tenant, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
