package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/inference"
	"github.com/dure-platform/dure/internal/testlog"
)

// Test tokens. They are long enough that finding one in a log cannot be a
// coincidence.
const (
	tokSuwonClient    = "tok-suwon-client-5b1f0c7e"
	tokSeongnamAdmin  = "tok-seongnam-admin-0a9d33c1"
	tokYonginViewer   = "tok-yongin-viewer-77e2b410"
	tokExpired        = "tok-expired-c3f1a9d2"
	tokStoreDown      = "tok-store-down-e8b02f6a"
	testReplicaSecret = "replica-admin-secret"
)

// fakeAuth is an Authenticator over a fixed token table.
type fakeAuth map[string]Principal

func (a fakeAuth) Authenticate(_ context.Context, token string) (Principal, error) {
	switch token {
	case tokExpired:
		return Principal{}, fmt.Errorf("token expired: %w", ErrUnauthenticated)
	case tokStoreDown:
		return Principal{}, errors.New("token store unavailable")
	}
	p, ok := a[token]
	if !ok {
		return Principal{}, fmt.Errorf("unknown token: %w", ErrUnauthenticated)
	}
	return p, nil
}

func testAuth() fakeAuth {
	return fakeAuth{
		tokSuwonClient:   {Tenant: "suwon", Role: RoleTenantClient, TokenID: "tid-suwon-1"},
		tokSeongnamAdmin: {Tenant: "seongnam", Role: RoleTenantAdmin, TokenID: "tid-seongnam-1"},
		tokYonginViewer:  {Tenant: "yongin", Role: "viewer", TokenID: "tid-yongin-1"},
	}
}

// trivialClassifier always answers the same department.
type trivialClassifier struct{}

func (trivialClassifier) Classify(string, string) (string, float64) { return "도로과", 0.87 }

type trivialLoader struct{}

func (trivialLoader) LoadModel(context.Context, int) (inference.Classifier, error) {
	return trivialClassifier{}, nil
}

// testReplica is a real inference replica behind a loopback server.
type testReplica struct {
	*inference.Replica
	srv  *httptest.Server
	hits atomic.Int64 // classify requests received
}

// startReplica starts a replica with the given model version loaded;
// version 0 leaves it without a model, so it answers 503.
func startReplica(t testing.TB, name string, version int) *testReplica {
	t.Helper()
	r, err := inference.NewReplica(name, trivialLoader{}, testReplicaSecret, nil, nil)
	require.NoError(t, err)
	if version > 0 {
		require.NoError(t, r.LoadVersion(context.Background(), version))
	}
	tr := &testReplica{Replica: r}
	h := r.Handler()
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/v1/classify" {
			tr.hits.Add(1)
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

// deadURL returns the URL of a server that has been closed: connections to
// it are refused.
func deadURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

type testGateway struct {
	*Gateway
	srv  *httptest.Server
	reg  *prometheus.Registry
	logs *testlog.Buffer
}

func startGateway(t testing.TB, replicaURLs []string, opts Options) *testGateway {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := New(testAuth(), replicaURLs, opts, reg, logger)
	require.NoError(t, err)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		srv.Close()
		g.CloseIdleConnections()
	})
	return &testGateway{Gateway: g, srv: srv, reg: reg, logs: logs}
}

const complaint = `{"title":"보도블록 파손","body":"수원시 영통구 인도의 보도블록이 깨져 있습니다"}`

// classify posts body to the gateway with the given Authorization header
// ("" for none) and returns the status and body.
func (tg *testGateway) classify(t testing.TB, auth string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, tg.srv.URL+"/v1/classify", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := tg.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, data
}

func hostOf(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Host
}

// unsizedReader hides a body's length so the request is sent chunked.
type unsizedReader struct{ io.Reader }

// metricValue returns the value of the metric with the given name whose
// labels include want: a counter value, or a histogram's sample count.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, want) {
				continue
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Histogram != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}

// labels builds a label map from name, value pairs.
func labels(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func bearer(token string) string { return "Bearer " + token }
