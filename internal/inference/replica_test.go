package inference

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/testlog"
)

const testAdminToken = "admin-secret-token"

// versionClassifier answers with a department derived from its version, so
// tests can check that department and model_version come from the same
// model.
type versionClassifier int

func (c versionClassifier) Classify(title, body string) (string, float64) {
	return fmt.Sprintf("dept-v%d", int(c)), 0.87
}

type loaderFunc func(ctx context.Context, version int) (Classifier, error)

func (f loaderFunc) LoadModel(ctx context.Context, version int) (Classifier, error) {
	return f(ctx, version)
}

var errNoSuchVersion = errors.New("no such version")

// versionLoader loads any version below 90 as a versionClassifier.
func versionLoader() ModelLoader {
	return loaderFunc(func(_ context.Context, version int) (Classifier, error) {
		if version >= 90 {
			return nil, errNoSuchVersion
		}
		return versionClassifier(version), nil
	})
}

type testReplica struct {
	*Replica
	reg  *prometheus.Registry
	logs *testlog.Buffer
}

func newTestReplica(t *testing.T, loader ModelLoader, opts ...Option) testReplica {
	t.Helper()
	if loader == nil {
		loader = versionLoader()
	}
	reg := prometheus.NewRegistry()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := NewReplica("inference-1", loader, testAdminToken, reg, logger, opts...)
	require.NoError(t, err)
	return testReplica{Replica: r, reg: reg, logs: logs}
}

// unsizedReader hides the length of a body so the request is sent as if
// chunked (ContentLength -1).
type unsizedReader struct{ io.Reader }

func do(h http.Handler, method, target, auth string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(b, &v), "body: %s", b)
	return v
}

func TestClassify(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name      string
		loaded    bool
		method    string
		body      io.Reader
		wantCode  int
		wantError string
	}{
		{name: "ok", loaded: true, body: strings.NewReader(`{"title":"도로 파손","body":"인도 보도블록이 깨졌습니다"}`), wantCode: http.StatusOK},
		{name: "title only", loaded: true, body: strings.NewReader(`{"title":"가로등 고장"}`), wantCode: http.StatusOK},
		{name: "no model loaded", loaded: false, body: strings.NewReader(`{"title":"a","body":"b"}`), wantCode: http.StatusServiceUnavailable, wantError: "no model loaded"},
		{name: "malformed JSON", loaded: true, body: strings.NewReader(`{"title":`), wantCode: http.StatusBadRequest, wantError: "invalid JSON body"},
		{name: "not an object", loaded: true, body: strings.NewReader(`["a"]`), wantCode: http.StatusBadRequest, wantError: "invalid JSON body"},
		{name: "trailing data", loaded: true, body: strings.NewReader(`{"title":"a"} {"title":"b"}`), wantCode: http.StatusBadRequest, wantError: "invalid JSON body"},
		{name: "empty text", loaded: true, body: strings.NewReader(`{"title":"  ","body":"\n"}`), wantCode: http.StatusBadRequest, wantError: "title and body are empty"},
		{name: "empty body", loaded: true, body: strings.NewReader(``), wantCode: http.StatusBadRequest, wantError: "invalid JSON body"},
		{name: "over limit, declared length", loaded: true, body: strings.NewReader(`{"body":"` + strings.Repeat("가", limit) + `"}`), wantCode: http.StatusRequestEntityTooLarge, wantError: "request body too large"},
		{name: "over limit, unsized", loaded: true, body: unsizedReader{strings.NewReader(`{"body":"` + strings.Repeat("가", limit) + `"}`)}, wantCode: http.StatusRequestEntityTooLarge, wantError: "request body too large"},
		{name: "wrong method", loaded: true, method: http.MethodGet, body: http.NoBody, wantCode: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestReplica(t, nil, WithMaxBodyBytes(limit))
			if tt.loaded {
				require.NoError(t, r.LoadVersion(t.Context(), 1))
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			rec := do(r.Handler(), method, "/v1/classify", "", tt.body)
			require.Equal(t, tt.wantCode, rec.Code, "body: %s", rec.Body)
			if tt.wantCode == http.StatusMethodNotAllowed {
				return
			}
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			if tt.wantError != "" {
				assert.Equal(t, tt.wantError, decode[errorBody](t, rec.Body.Bytes()).Error)
				return
			}
			got := decode[classifyResponse](t, rec.Body.Bytes())
			assert.Equal(t, classifyResponse{Department: "dept-v1", Score: 0.87, ModelVersion: 1, Replica: "inference-1"}, got)
		})
	}
}

func TestAdminModel(t *testing.T) {
	const bearer = "Bearer " + testAdminToken
	tests := []struct {
		name        string
		method      string
		auth        string
		body        string
		wantCode    int
		wantVersion int // in the answer, for 200s
		wantLoaded  int // Replica.Version() afterwards; the replica starts at 1
	}{
		{name: "put without token", method: http.MethodPut, body: `{"version":2}`, wantCode: http.StatusUnauthorized, wantLoaded: 1},
		{name: "put with wrong token", method: http.MethodPut, auth: "Bearer nope", body: `{"version":2}`, wantCode: http.StatusUnauthorized, wantLoaded: 1},
		{name: "put with token prefix", method: http.MethodPut, auth: bearer[:len(bearer)-1], body: `{"version":2}`, wantCode: http.StatusUnauthorized, wantLoaded: 1},
		{name: "put with basic scheme", method: http.MethodPut, auth: "Basic " + testAdminToken, body: `{"version":2}`, wantCode: http.StatusUnauthorized, wantLoaded: 1},
		{name: "put with empty bearer", method: http.MethodPut, auth: "Bearer ", body: `{"version":2}`, wantCode: http.StatusUnauthorized, wantLoaded: 1},
		{name: "put ok", method: http.MethodPut, auth: bearer, body: `{"version":2}`, wantCode: http.StatusOK, wantVersion: 2, wantLoaded: 2},
		{name: "put ok, lower-case scheme", method: http.MethodPut, auth: "bearer " + testAdminToken, body: `{"version":3}`, wantCode: http.StatusOK, wantVersion: 3, wantLoaded: 3},
		{name: "put same version reloads", method: http.MethodPut, auth: bearer, body: `{"version":1}`, wantCode: http.StatusOK, wantVersion: 1, wantLoaded: 1},
		{name: "put version zero", method: http.MethodPut, auth: bearer, body: `{"version":0}`, wantCode: http.StatusBadRequest, wantLoaded: 1},
		{name: "put version missing", method: http.MethodPut, auth: bearer, body: `{}`, wantCode: http.StatusBadRequest, wantLoaded: 1},
		{name: "put version not a number", method: http.MethodPut, auth: bearer, body: `{"version":"2"}`, wantCode: http.StatusBadRequest, wantLoaded: 1},
		{name: "put load fails, old model stays", method: http.MethodPut, auth: bearer, body: `{"version":95}`, wantCode: http.StatusInternalServerError, wantLoaded: 1},
		{name: "get without token", method: http.MethodGet, wantCode: http.StatusUnauthorized, wantLoaded: 1},
		{name: "get ok", method: http.MethodGet, auth: bearer, wantCode: http.StatusOK, wantVersion: 1, wantLoaded: 1},
		{name: "delete not allowed", method: http.MethodDelete, auth: bearer, wantCode: http.StatusMethodNotAllowed, wantLoaded: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestReplica(t, nil)
			require.NoError(t, r.LoadVersion(t.Context(), 1))
			rec := do(r.Handler(), tt.method, "/admin/model", tt.auth, strings.NewReader(tt.body))
			require.Equal(t, tt.wantCode, rec.Code, "body: %s", rec.Body)
			assert.Equal(t, tt.wantLoaded, r.Version())
			switch tt.wantCode {
			case http.StatusOK:
				assert.Equal(t, versionResponse{Version: tt.wantVersion}, decode[versionResponse](t, rec.Body.Bytes()))
			case http.StatusUnauthorized:
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
				assert.Equal(t, "unauthorized", decode[errorBody](t, rec.Body.Bytes()).Error)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	r := newTestReplica(t, nil)
	h := r.Handler()

	assert.Equal(t, http.StatusOK, do(h, http.MethodGet, "/healthz", "", nil).Code)
	assert.Equal(t, http.StatusServiceUnavailable, do(h, http.MethodGet, "/readyz", "", nil).Code)
	assert.Equal(t, 0, r.Version())

	require.NoError(t, r.LoadVersion(t.Context(), 4))
	assert.Equal(t, http.StatusOK, do(h, http.MethodGet, "/healthz", "", nil).Code)
	assert.Equal(t, http.StatusOK, do(h, http.MethodGet, "/readyz", "", nil).Code)
	assert.Equal(t, 4, r.Version())
}

func TestLoadVersionErrors(t *testing.T) {
	r := newTestReplica(t, nil)
	require.NoError(t, r.LoadVersion(t.Context(), 2))

	require.Error(t, r.LoadVersion(t.Context(), 0))
	require.Error(t, r.LoadVersion(t.Context(), -1))

	err := r.LoadVersion(t.Context(), 95)
	require.ErrorIs(t, err, errNoSuchVersion)
	assert.Equal(t, 2, r.Version(), "a failed load must keep the previous model")

	nilLoader := newTestReplica(t, loaderFunc(func(context.Context, int) (Classifier, error) { return nil, nil }))
	require.Error(t, nilLoader.LoadVersion(t.Context(), 1))
	assert.Equal(t, 0, nilLoader.Version())
}

func TestNewReplicaValidation(t *testing.T) {
	tests := []struct {
		name   string
		rname  string
		loader ModelLoader
		token  string
	}{
		{name: "empty name", loader: versionLoader(), token: "t"},
		{name: "nil loader", rname: "inference-1", token: "t"},
		{name: "empty admin token", rname: "inference-1", loader: versionLoader()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReplica(tt.rname, tt.loader, tt.token, nil, nil)
			require.Error(t, err)
		})
	}

	t.Run("two replicas share a registry", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		_, err := NewReplica("inference-1", versionLoader(), "t", reg, nil)
		require.NoError(t, err)
		_, err = NewReplica("inference-2", versionLoader(), "t", reg, nil)
		require.NoError(t, err)
		_, err = NewReplica("inference-1", versionLoader(), "t", reg, nil)
		_, dup := errors.AsType[prometheus.AlreadyRegisteredError](err)
		require.True(t, dup, "want AlreadyRegisteredError, got %v", err)
	})
}

// TestHotSwap runs concurrent classify requests while the model is
// promoted from version 1 to 2: no request may fail, each must report
// version 1 or 2 with that version's department, and each client must never
// go back from 2 to 1.
func TestHotSwap(t *testing.T) {
	r := newTestReplica(t, nil)
	require.NoError(t, r.LoadVersion(t.Context(), 1))
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)

	const clients = 8
	var (
		served   atomic.Int64
		sawNew   atomic.Int64 // clients that have seen version 2
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	for range clients {
		wg.Go(func() {
			last, extra := 0, 0
			for ctx.Err() == nil && extra < 20 {
				resp, err := srv.Client().Post(srv.URL+"/v1/classify", "application/json",
					strings.NewReader(`{"title":"불법 주정차","body":"아파트 앞"}`))
				if err != nil {
					failures.Add(1)
					t.Errorf("request: %v", err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
					t.Errorf("status %d: %s", resp.StatusCode, body)
					return
				}
				var got classifyResponse
				if err := json.Unmarshal(body, &got); err != nil {
					t.Errorf("decode: %v", err)
					return
				}
				served.Add(1)
				if got.ModelVersion != 1 && got.ModelVersion != 2 {
					t.Errorf("model_version %d, want 1 or 2", got.ModelVersion)
				}
				if want := fmt.Sprintf("dept-v%d", got.ModelVersion); got.Department != want {
					t.Errorf("department %q with model_version %d", got.Department, got.ModelVersion)
				}
				if got.ModelVersion < last {
					t.Errorf("model_version went back from %d to %d", last, got.ModelVersion)
				}
				if got.ModelVersion == 2 {
					if last != 2 {
						sawNew.Add(1)
					}
					extra++
				}
				last = got.ModelVersion
			}
		})
	}

	// Swap while requests are flowing.
	for served.Load() < 200 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, r.LoadVersion(ctx, 2))
	wg.Wait()

	require.NoError(t, ctx.Err(), "clients did not all observe the new version in time")
	assert.Zero(t, failures.Load())
	assert.EqualValues(t, clients, sawNew.Load())
	t.Logf("%d requests served across the swap", served.Load())
}

// gatedClassifier blocks in Classify until released, to hold a request in
// flight across a swap.
type gatedClassifier struct {
	entered chan struct{}
	release chan struct{}
}

func (c gatedClassifier) Classify(string, string) (string, float64) {
	close(c.entered)
	<-c.release
	return "dept-v1", 0.5
}

func TestInFlightRequestFinishesOnOldModel(t *testing.T) {
	gate := gatedClassifier{entered: make(chan struct{}), release: make(chan struct{})}
	r := newTestReplica(t, loaderFunc(func(_ context.Context, v int) (Classifier, error) {
		if v == 1 {
			return gate, nil
		}
		return versionClassifier(v), nil
	}))
	require.NoError(t, r.LoadVersion(t.Context(), 1))

	done := make(chan *httptest.ResponseRecorder)
	go func() {
		done <- do(r.Handler(), http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"x"}`))
	}()
	<-gate.entered

	// The swap must not wait for the in-flight request.
	require.NoError(t, r.LoadVersion(t.Context(), 2))
	assert.Equal(t, 2, r.Version())
	close(gate.release)

	old := decode[classifyResponse](t, (<-done).Body.Bytes())
	assert.Equal(t, 1, old.ModelVersion)
	assert.Equal(t, "dept-v1", old.Department)

	rec := do(r.Handler(), http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"x"}`))
	assert.Equal(t, 2, decode[classifyResponse](t, rec.Body.Bytes()).ModelVersion)
}

func TestMetrics(t *testing.T) {
	r := newTestReplica(t, nil)
	h := r.Handler()
	do(h, http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"x"}`)) // 503
	require.NoError(t, r.LoadVersion(t.Context(), 3))
	do(h, http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"x"}`))
	do(h, http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"x"}`))
	do(h, http.MethodPut, "/admin/model", "Bearer wrong", strings.NewReader(`{"version":4}`))

	base := map[string]string{"replica": "inference-1"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	assert.Equal(t, 1.0, metricValue(t, r.reg, "dure_inference_requests_total", with("route", "classify", "code", "503")))
	assert.Equal(t, 2.0, metricValue(t, r.reg, "dure_inference_requests_total", with("route", "classify", "code", "200")))
	assert.Equal(t, 1.0, metricValue(t, r.reg, "dure_inference_requests_total", with("route", "admin_model", "code", "401")))
	assert.Equal(t, 3.0, metricValue(t, r.reg, "dure_inference_request_duration_seconds", with("route", "classify")))
	assert.Equal(t, 3.0, metricValue(t, r.reg, "dure_inference_model_version", base))
	assert.Equal(t, 1.0, metricValue(t, r.reg, "dure_inference_model_loads_total", with("result", "ok")))
}

// TestLogsOmitSecrets checks that neither complaint text nor tokens reach
// the log, on success and failure paths alike.
func TestLogsOmitSecrets(t *testing.T) {
	const (
		title = "개인정보-제목-7781"
		body  = "주민번호-본문-1234"
	)
	r := newTestReplica(t, nil, WithMaxBodyBytes(512))
	h := r.Handler()
	do(h, http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"`+title+`","body":"`+body+`"}`))
	do(h, http.MethodPut, "/admin/model", "Bearer guessed-"+testAdminToken, strings.NewReader(`{"version":1}`))
	do(h, http.MethodPut, "/admin/model", "Bearer "+testAdminToken, strings.NewReader(`{"version":1}`))
	do(h, http.MethodPut, "/admin/model", "Bearer "+testAdminToken, strings.NewReader(`{"version":95}`))
	do(h, http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"`+title+`","body":"`+body+`"}`))
	do(h, http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"`+title+`","body":"`+strings.Repeat(body, 100)+`"}`))
	do(h, http.MethodPost, "/v1/classify", "", strings.NewReader(`{"title":"`+title+`"`))

	logs := r.logs.String()
	require.NotEmpty(t, logs)
	for _, secret := range []string{title, body, testAdminToken} {
		assert.NotContains(t, logs, secret)
	}
}

// metricValue returns the value of the metric with the given name whose
// labels include want: a counter or gauge value, or a histogram's sample
// count.
func metricValue(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
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
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
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
