package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type answer struct {
	Department   string  `json:"department"`
	Score        float64 `json:"score"`
	ModelVersion int     `json:"model_version"`
	Replica      string  `json:"replica"`
	Tenant       string  `json:"tenant"`
	Error        string  `json:"error"`
}

func decodeAnswer(t testing.TB, b []byte) answer {
	t.Helper()
	var a answer
	require.NoError(t, json.Unmarshal(b, &a), "body: %s", b)
	return a
}

func TestClassifyAuth(t *testing.T) {
	rep := startReplica(t, "inference-1", 1)
	tg := startGateway(t, []string{rep.srv.URL}, Options{})

	tests := []struct {
		name       string
		auth       string
		wantCode   int
		wantTenant string
		wantReason string // auth_failures_total reason
		wantChalg  string // substring of WWW-Authenticate
	}{
		{name: "no token", wantCode: http.StatusUnauthorized, wantReason: "missing", wantChalg: `Bearer realm="dure"`},
		{name: "unknown token", auth: bearer("tok-not-issued"), wantCode: http.StatusUnauthorized, wantReason: "invalid", wantChalg: "invalid_token"},
		{name: "expired token", auth: bearer(tokExpired), wantCode: http.StatusUnauthorized, wantReason: "invalid", wantChalg: "invalid_token"},
		{name: "basic scheme", auth: "Basic " + tokSuwonClient, wantCode: http.StatusUnauthorized, wantReason: "malformed", wantChalg: "invalid_request"},
		{name: "bearer without token", auth: "Bearer ", wantCode: http.StatusUnauthorized, wantReason: "malformed", wantChalg: "invalid_request"},
		{name: "token with spaces", auth: "Bearer a b", wantCode: http.StatusUnauthorized, wantReason: "malformed", wantChalg: "invalid_request"},
		{name: "role not allowed", auth: bearer(tokYonginViewer), wantCode: http.StatusForbidden, wantReason: "role_not_allowed", wantChalg: "insufficient_scope"},
		{name: "token store down", auth: bearer(tokStoreDown), wantCode: http.StatusServiceUnavailable, wantReason: "error"},
		{name: "tenant client", auth: bearer(tokSuwonClient), wantCode: http.StatusOK, wantTenant: "suwon"},
		{name: "tenant admin", auth: bearer(tokSeongnamAdmin), wantCode: http.StatusOK, wantTenant: "seongnam"},
		{name: "lower-case scheme", auth: "bearer " + tokSuwonClient, wantCode: http.StatusOK, wantTenant: "suwon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := rep.hits.Load()
			var failuresBefore float64
			if tt.wantReason != "" {
				failuresBefore = metricValue(t, tg.reg, "dure_gateway_auth_failures_total", labels("reason", tt.wantReason))
			}

			code, hdr, body := tg.classify(t, tt.auth, strings.NewReader(complaint))
			require.Equal(t, tt.wantCode, code, "body: %s", body)
			assert.Equal(t, "application/json", hdr.Get("Content-Type"))
			a := decodeAnswer(t, body)
			if tt.wantCode != http.StatusOK {
				assert.NotEmpty(t, a.Error)
				assert.Equal(t, before, rep.hits.Load(), "a refused request must not reach a replica")
				assert.Equal(t, failuresBefore+1, metricValue(t, tg.reg, "dure_gateway_auth_failures_total", labels("reason", tt.wantReason)))
				if tt.wantChalg != "" {
					assert.Contains(t, hdr.Get("WWW-Authenticate"), tt.wantChalg)
				}
				return
			}
			assert.Equal(t, tt.wantTenant, a.Tenant)
			assert.Equal(t, "도로과", a.Department)
		})
	}
}

func TestClassifyAnswer(t *testing.T) {
	rep := startReplica(t, "inference-1", 7)
	tg := startGateway(t, []string{rep.srv.URL}, Options{})

	code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
	require.Equal(t, http.StatusOK, code, "body: %s", body)

	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, map[string]any{
		"department":    "도로과",
		"score":         0.87,
		"model_version": 7.0,
		"replica":       "inference-1",
		"tenant":        "suwon",
	}, got)
}

func TestClassifyTenantCannotBeSpoofed(t *testing.T) {
	// A replica (or anything impersonating one) that names a tenant must
	// not override the authenticated one.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"department":"d","score":1,"model_version":1,"replica":"x","tenant":"yongin"}`)
	}))
	t.Cleanup(up.Close)
	tg := startGateway(t, []string{up.URL}, Options{})

	code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "suwon", decodeAnswer(t, body).Tenant)
}

func TestClassifyBadRequests(t *testing.T) {
	const limit = 1024
	big := `{"title":"t","body":"` + strings.Repeat("가", limit) + `"}`
	tests := []struct {
		name      string
		body      io.Reader
		wantCode  int
		wantError string
		reachesUp bool
	}{
		{name: "over limit, declared length", body: strings.NewReader(big), wantCode: http.StatusRequestEntityTooLarge, wantError: "request body too large"},
		{name: "over limit, chunked", body: unsizedReader{strings.NewReader(big)}, wantCode: http.StatusRequestEntityTooLarge, wantError: "request body too large"},
		{name: "invalid JSON", body: strings.NewReader(`{"title":`), wantCode: http.StatusBadRequest, wantError: "invalid JSON body"},
		{name: "empty body", body: http.NoBody, wantCode: http.StatusBadRequest, wantError: "invalid JSON body"},
		// Valid JSON that the replica refuses: its 400 is passed through.
		{name: "empty text", body: strings.NewReader(`{"title":"","body":" "}`), wantCode: http.StatusBadRequest, wantError: "title and body are empty", reachesUp: true},
		{name: "just under limit", body: strings.NewReader(`{"title":"` + strings.Repeat("a", limit-20) + `"}`), wantCode: http.StatusOK, reachesUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := startReplica(t, "inference-1", 1)
			tg := startGateway(t, []string{rep.srv.URL}, Options{MaxBodyBytes: limit})

			code, _, body := tg.classify(t, bearer(tokSuwonClient), tt.body)
			require.Equal(t, tt.wantCode, code, "body: %s", body)
			assert.Equal(t, tt.wantError, decodeAnswer(t, body).Error)
			assert.Equal(t, tt.reachesUp, rep.hits.Load() > 0)
			if tt.reachesUp {
				return
			}
			assert.Equal(t, 1.0, metricValue(t, tg.reg, "dure_gateway_requests_total",
				labels("route", "classify", "tenant", "suwon", "code", fmt.Sprint(tt.wantCode))))
		})
	}
}

// endlessBody counts its reads: a body whose declared length is over
// the limit must be refused without being read.
type endlessBody struct {
	reads atomic.Int64
}

func (b *endlessBody) Read(p []byte) (int, error) {
	b.reads.Add(1)
	return len(p), nil
}

func TestOversizeBodyIsNotRead(t *testing.T) {
	g, err := New(testAuth(), []string{"http://127.0.0.1:1"}, Options{MaxBodyBytes: 1024}, nil, nil)
	require.NoError(t, err)

	body := &endlessBody{}
	req := httptest.NewRequest(http.MethodPost, "/v1/classify", body)
	req.ContentLength = 1 << 30
	req.Header.Set("Authorization", bearer(tokSuwonClient))
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, req)

	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Zero(t, body.reads.Load())
}

// TestFailover sends concurrent requests through two replicas of which one
// is dead or not ready: no client request may fail.
func TestFailover(t *testing.T) {
	const requests = 200
	deadURL := func(t *testing.T) string { return deadURL(t) }
	tests := []struct {
		name        string
		bad         func(t *testing.T) string // URL of the failing replica
		badFirst    bool
		wantReason  string
		wantLogText string
	}{
		{name: "dead first", bad: deadURL, badFirst: true, wantReason: "connect"},
		{name: "dead second", bad: deadURL, wantReason: "connect"},
		{name: "not ready", bad: func(t *testing.T) string { return startReplica(t, "inference-2", 0).srv.URL }, badFirst: true, wantReason: "not_ready"},
		{name: "5xx", bad: func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "boom", http.StatusInternalServerError)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}, wantReason: "status_5xx"},
		{name: "garbage answer", bad: func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "<html>not json</html>")
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}, wantReason: "bad_response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := startReplica(t, "inference-1", 1)
			bad := tt.bad(t)
			urls := []string{good.srv.URL, bad}
			if tt.badFirst {
				urls = []string{bad, good.srv.URL}
			}
			tg := startGateway(t, urls, Options{})

			var failed atomic.Int64
			var wg sync.WaitGroup
			jobs := make(chan struct{}, requests)
			for range requests {
				jobs <- struct{}{}
			}
			close(jobs)
			for range 16 {
				wg.Go(func() {
					for range jobs {
						code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
						if code != http.StatusOK || decodeAnswer(t, body).Replica != "inference-1" {
							failed.Add(1)
							t.Errorf("status %d: %s", code, body)
						}
					}
				})
			}
			wg.Wait()

			assert.Zero(t, failed.Load())
			assert.EqualValues(t, requests, good.hits.Load())
			fails := metricValue(t, tg.reg, "dure_gateway_upstream_failures_total",
				labels("replica", hostOf(t, bad), "reason", tt.wantReason))
			assert.GreaterOrEqual(t, fails, 1.0)
			// Ejection keeps the failing replica out of the way: with the
			// default 2s ejection, only requests that raced the first
			// failure try it.
			assert.Less(t, fails, float64(requests)/4, "failing replica should be ejected")
			assert.Equal(t, float64(requests), metricValue(t, tg.reg, "dure_gateway_requests_total",
				labels("route", "classify", "tenant", "suwon", "code", "200")))
		})
	}
}

func TestAllReplicasFailing(t *testing.T) {
	deadURL := func(t *testing.T) string { return deadURL(t) }
	notReady := func(t *testing.T) string { return startReplica(t, "r", 0).srv.URL }
	tests := []struct {
		name     string
		replicas []func(t *testing.T) string
		wantCode int
	}{
		{name: "all dead", replicas: []func(*testing.T) string{deadURL, deadURL}, wantCode: http.StatusBadGateway},
		{name: "none ready", replicas: []func(*testing.T) string{notReady, notReady}, wantCode: http.StatusServiceUnavailable},
		{name: "one dead, one not ready", replicas: []func(*testing.T) string{deadURL, notReady}, wantCode: http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var urls []string
			for _, f := range tt.replicas {
				urls = append(urls, f(t))
			}
			tg := startGateway(t, urls, Options{})
			// Twice: the second request meets ejected replicas, which must
			// still be tried.
			for range 2 {
				code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
				require.Equal(t, tt.wantCode, code, "body: %s", body)
				assert.Equal(t, "no inference replica available", decodeAnswer(t, body).Error)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	a := startReplica(t, "inference-1", 1)
	b := startReplica(t, "inference-2", 1)
	tg := startGateway(t, []string{a.srv.URL, b.srv.URL}, Options{})

	seen := map[string]int{}
	for range 100 {
		code, _, body := tg.classify(t, bearer(tokSeongnamAdmin), strings.NewReader(complaint))
		require.Equal(t, http.StatusOK, code)
		seen[decodeAnswer(t, body).Replica]++
	}
	assert.Equal(t, map[string]int{"inference-1": 50, "inference-2": 50}, seen)
}

// TestEjectedReplicaComesBack checks that a replica that was not ready
// receives traffic again once it has a model and its ejection has ended.
func TestEjectedReplicaComesBack(t *testing.T) {
	a := startReplica(t, "inference-1", 1)
	b := startReplica(t, "inference-2", 0)
	tg := startGateway(t, []string{a.srv.URL, b.srv.URL}, Options{EjectDuration: 50 * time.Millisecond})

	for range 10 {
		code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "inference-1", decodeAnswer(t, body).Replica)
	}
	require.NoError(t, b.LoadVersion(t.Context(), 1))
	time.Sleep(60 * time.Millisecond)

	seen := map[string]int{}
	for range 10 {
		code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
		require.Equal(t, http.StatusOK, code)
		seen[decodeAnswer(t, body).Replica]++
	}
	assert.Equal(t, map[string]int{"inference-1": 5, "inference-2": 5}, seen)
}

// TestPromotionThroughGateway promotes version 1 to 2 on both replicas,
// one after the other, while clients keep classifying: every request
// succeeds and reports version 1 or 2.
func TestPromotionThroughGateway(t *testing.T) {
	a := startReplica(t, "inference-1", 1)
	b := startReplica(t, "inference-2", 1)
	tg := startGateway(t, []string{a.srv.URL, b.srv.URL}, Options{})

	ctx, cancel := context.WithCancel(t.Context())
	var (
		wg       sync.WaitGroup
		served   atomic.Int64
		versions sync.Map
	)
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
				if code != http.StatusOK {
					t.Errorf("status %d: %s", code, body)
					return
				}
				v := decodeAnswer(t, body).ModelVersion
				if v != 1 && v != 2 {
					t.Errorf("model_version %d", v)
				}
				versions.Store(v, true)
				served.Add(1)
			}
		})
	}
	waitServed := func(n int64) {
		for served.Load() < n && !t.Failed() {
			time.Sleep(time.Millisecond)
		}
	}
	waitServed(100)
	require.NoError(t, a.LoadVersion(t.Context(), 2))
	waitServed(200)
	require.NoError(t, b.LoadVersion(t.Context(), 2))
	waitServed(300)
	cancel()
	wg.Wait()

	_, saw1 := versions.Load(1)
	_, saw2 := versions.Load(2)
	assert.True(t, saw1 && saw2, "want answers from both versions")
}

func TestTimeouts(t *testing.T) {
	slow := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the gateway hanging
			// up, which ends r.Context().
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	fast := func(t *testing.T) string { return startReplica(t, "inference-1", 1).srv.URL }

	tests := []struct {
		name     string
		replicas []func(*testing.T) string
		wantCode int
	}{
		// The default attempt timeout (half the request timeout with two
		// replicas) leaves time to fail over from a hung replica.
		{name: "one hung replica", replicas: []func(*testing.T) string{slow, fast}, wantCode: http.StatusOK},
		{name: "all hung", replicas: []func(*testing.T) string{slow, slow}, wantCode: http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var urls []string
			for _, f := range tt.replicas {
				urls = append(urls, f(t))
			}
			tg := startGateway(t, urls, Options{RequestTimeout: 200 * time.Millisecond})
			start := time.Now()
			code, _, body := tg.classify(t, bearer(tokSuwonClient), strings.NewReader(complaint))
			assert.Equal(t, tt.wantCode, code, "body: %s", body)
			assert.Less(t, time.Since(start), 2*time.Second)
			assert.GreaterOrEqual(t, metricValue(t, tg.reg, "dure_gateway_upstream_failures_total",
				labels("reason", "timeout")), 1.0)
		})
	}
}

func TestHealthz(t *testing.T) {
	tg := startGateway(t, []string{deadURL(t)}, Options{})
	resp, err := tg.srv.Client().Get(tg.srv.URL + "/healthz")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1.0, metricValue(t, tg.reg, "dure_gateway_requests_total",
		labels("route", "healthz", "tenant", "none", "code", "200")))
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		auth    Authenticator
		urls    []string
		wantErr bool
	}{
		{name: "ok", auth: testAuth(), urls: []string{"http://inference-1:8080", "https://inference-2:8443/base/"}},
		{name: "nil authenticator", urls: []string{"http://inference-1:8080"}, wantErr: true},
		{name: "no replicas", auth: testAuth(), wantErr: true},
		{name: "no scheme", auth: testAuth(), urls: []string{"inference-1:8080"}, wantErr: true},
		{name: "unsupported scheme", auth: testAuth(), urls: []string{"ftp://inference-1"}, wantErr: true},
		{name: "no host", auth: testAuth(), urls: []string{"http://"}, wantErr: true},
		{name: "query", auth: testAuth(), urls: []string{"http://inference-1/?a=b"}, wantErr: true},
		{name: "credentials", auth: testAuth(), urls: []string{"http://u:p@inference-1/"}, wantErr: true},
		{name: "unparsable", auth: testAuth(), urls: []string{"http://[::1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.auth, tt.urls, Options{}, nil, nil)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "http://inference-1:8080/v1/classify", g.replicas[0].classifyURL)
			assert.Equal(t, "https://inference-2:8443/base/v1/classify", g.replicas[1].classifyURL)
			assert.Equal(t, DefaultRequestTimeout/2, g.opts.AttemptTimeout)
		})
	}
}

// TestLogsOmitSecrets drives success and failure paths and checks that no
// token and no complaint text reaches the log, while auth failures are
// logged with the tenant when it is known.
func TestLogsOmitSecrets(t *testing.T) {
	rep := startReplica(t, "inference-1", 1)
	tg := startGateway(t, []string{deadURL(t), rep.srv.URL}, Options{MaxBodyBytes: 2048})

	tokens := []string{tokSuwonClient, tokSeongnamAdmin, tokYonginViewer, tokExpired, tokStoreDown, "tok-not-issued-91c2"}
	for _, tok := range tokens {
		tg.classify(t, bearer(tok), strings.NewReader(complaint))
		tg.classify(t, "Basic "+tok, strings.NewReader(complaint))
		tg.classify(t, bearer(tok), strings.NewReader(`{"title":"보도블록 파손","body":"`+strings.Repeat("영통구", 1000)+`"}`))
		tg.classify(t, bearer(tok), strings.NewReader(`{"title":"보도블록 파손"`))
	}
	tg.classify(t, "", strings.NewReader(complaint))

	logs := tg.logs.String()
	for _, secret := range append(tokens, "보도블록", "영통구") {
		assert.NotContains(t, logs, secret)
	}

	var forbidden map[string]any
	for line := range strings.Lines(logs) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["reason"] == "role_not_allowed" {
			forbidden = rec
		}
	}
	require.NotNil(t, forbidden, "logs: %s", logs)
	assert.Equal(t, "yongin", forbidden["tenant"])
	assert.Equal(t, "tid-yongin-1", forbidden["token_id"])
	assert.Contains(t, logs, `"replica failed; trying others first"`)
}
