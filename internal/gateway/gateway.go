// Package gateway is the platform's API gateway for complaint
// classification: it authenticates each tenant by bearer token and forwards
// classify requests to the inference replicas, failing over between them so
// that one dead replica causes no failed client request.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrUnauthenticated is returned, possibly wrapped, by an Authenticator for
// an unknown, malformed, expired or revoked token.
var ErrUnauthenticated = errors.New("gateway: unauthenticated")

// Roles allowed to classify by default.
const (
	RoleTenantClient = "tenant-client"
	RoleTenantAdmin  = "tenant-admin"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultRequestTimeout      = 5 * time.Second
	DefaultMaxBodyBytes        = 256 << 10
	DefaultEjectDuration       = 2 * time.Second
	DefaultMaxIdleConnsPerHost = 256
)

// maxUpstreamBodyBytes bounds what the gateway buffers from a replica; a
// classify answer is a few hundred bytes.
const maxUpstreamBodyBytes = 1 << 20

// Principal is the authenticated caller.
type Principal struct {
	Tenant  string
	Role    string
	TokenID string // an identifier of the token, safe to log; never the token
}

// Authenticator resolves a bearer token to a Principal. It returns an error
// wrapping ErrUnauthenticated when the token is not valid; any other error
// means authentication could not be decided (for example, its store is
// down). Errors must not contain the token: the gateway logs them.
type Authenticator interface {
	Authenticate(ctx context.Context, bearerToken string) (Principal, error)
}

// Options tune a Gateway. The zero value is usable.
type Options struct {
	// RequestTimeout bounds a whole classify request, all attempts
	// included. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// AttemptTimeout bounds one attempt on one replica, so that a hung
	// replica leaves time to try the others. Default RequestTimeout divided
	// by the number of replicas.
	AttemptTimeout time.Duration
	// MaxBodyBytes bounds a classify request body. Default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// AllowedRoles may classify. Default tenant-client and tenant-admin.
	AllowedRoles []string
	// EjectDuration is how long a replica that failed is tried only after
	// the others, so that a dead replica does not cost every other request
	// a failed attempt. Default DefaultEjectDuration.
	EjectDuration time.Duration
	// MaxIdleConnsPerHost is the keep-alive pool size per replica for the
	// default transport; the net/http default of 2 would make most
	// concurrent requests open a new connection. Default
	// DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int
	// Transport replaces the default transport to the replicas, for
	// example to add TLS client certificates.
	Transport http.RoundTripper
	// ReplicaToken is the bearer token the replicas take classify requests
	// with, so that only the gateway, which authenticates tenants, reaches
	// them.
	ReplicaToken string
}

// Gateway is the API gateway. Its methods are safe for concurrent use.
type Gateway struct {
	auth     Authenticator
	replicas []*replica
	next     atomic.Uint64 // round-robin cursor
	client   *http.Client
	opts     Options
	allowed  map[string]bool
	logger   *slog.Logger
	metrics  *gatewayMetrics
	handler  http.Handler
}

// replica is one upstream inference replica.
type replica struct {
	label       string // host:port, for metrics and logs
	classifyURL string
	// ejectedUntil is a UnixNano time before which the replica is tried
	// last; 0 when healthy.
	ejectedUntil atomic.Int64
}

// New returns a gateway forwarding to the replicas at replicaURLs (base
// URLs such as "http://inference-1:8080"). reg may be nil to skip metric
// registration; logger may be nil to discard logs.
func New(auth Authenticator, replicaURLs []string, opts Options, reg prometheus.Registerer, logger *slog.Logger) (*Gateway, error) {
	if auth == nil {
		return nil, errors.New("gateway: authenticator is nil")
	}
	if len(replicaURLs) == 0 {
		return nil, errors.New("gateway: no replica URLs")
	}
	replicas := make([]*replica, 0, len(replicaURLs))
	for _, raw := range replicaURLs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("gateway: replica URL %q: %w", raw, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("gateway: replica URL %q: want http(s)://host[:port][/path]", raw)
		}
		replicas = append(replicas, &replica{
			label:       u.Host,
			classifyURL: u.JoinPath("v1", "classify").String(),
		})
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	opts = withDefaults(opts, len(replicas))
	allowed := make(map[string]bool, len(opts.AllowedRoles))
	for _, role := range opts.AllowedRoles {
		allowed[role] = true
	}
	m, err := newGatewayMetrics(reg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		auth:     auth,
		replicas: replicas,
		// No Client.Timeout: deadlines come from the request context, which
		// also covers reading the body.
		client:  &http.Client{Transport: opts.Transport},
		opts:    opts,
		allowed: allowed,
		logger:  logger,
		metrics: m,
	}
	g.handler = g.routes()
	return g, nil
}

func withDefaults(o Options, replicas int) Options {
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = o.RequestTimeout / time.Duration(replicas)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if len(o.AllowedRoles) == 0 {
		o.AllowedRoles = []string{RoleTenantClient, RoleTenantAdmin}
	}
	if o.EjectDuration <= 0 {
		o.EjectDuration = DefaultEjectDuration
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if o.Transport == nil {
		o.Transport = newTransport(o.MaxIdleConnsPerHost, replicas)
	}
	return o
}

// newTransport returns a transport for many concurrent requests to a few
// in-cluster hosts.
func newTransport(maxIdlePerHost, hosts int) *http.Transport {
	dialer := &net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		// Replicas are internal; an HTTP(S)_PROXY from the environment must
		// not capture this traffic.
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        maxIdlePerHost * hosts,
		MaxIdleConnsPerHost: maxIdlePerHost,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 2 * time.Second,
		// Answers are small; compressing them costs more CPU than it saves.
		DisableCompression: true,
	}
}

// Handler returns the gateway's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.handler }

// CloseIdleConnections closes idle keep-alive connections to the replicas.
func (g *Gateway) CloseIdleConnections() { g.client.CloseIdleConnections() }

func (g *Gateway) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/classify", g.serveClassify)
	mux.HandleFunc("GET /healthz", g.serveHealthz)
	return mux
}

func (g *Gateway) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	start := time.Now()
	code := writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	g.metrics.observe("healthz", "", code, time.Since(start))
}

func (g *Gateway) serveClassify(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	tenant, code := g.classify(w, r)
	g.metrics.observe("classify", tenant, code, time.Since(start))
}

// statusClientClosed records requests whose client went away before an
// answer was written (the nginx convention).
const statusClientClosed = 499

// classify serves POST /v1/classify and returns the tenant ("" when
// unknown) and the status code written, for metrics.
func (g *Gateway) classify(w http.ResponseWriter, r *http.Request) (string, int) {
	p, code := g.authenticate(w, r)
	if code != 0 {
		return p.Tenant, code
	}

	// Authenticate before reading the body, so unauthenticated clients
	// cannot make the gateway buffer anything.
	body, code := readBody(w, r, g.opts.MaxBodyBytes)
	if code != 0 {
		msg := "invalid request body"
		if code == http.StatusRequestEntityTooLarge {
			msg = "request body too large"
		}
		return p.Tenant, writeError(w, code, msg)
	}
	// Malformed JSON is refused here rather than costing a replica round
	// trip.
	if !json.Valid(body) {
		return p.Tenant, writeError(w, http.StatusBadRequest, "invalid JSON body")
	}
	// JSON decoding would replace invalid UTF-8 silently, and the model
	// would classify text the client never sent.
	if !utf8.Valid(body) {
		return p.Tenant, writeError(w, http.StatusBadRequest, "body is not valid UTF-8")
	}

	ctx, cancel := context.WithTimeout(r.Context(), g.opts.RequestTimeout)
	defer cancel()
	up, err := g.forward(ctx, body)
	if err != nil {
		if r.Context().Err() != nil {
			return p.Tenant, statusClientClosed
		}
		return p.Tenant, writeError(w, upstreamErrorStatus(err), "no inference replica available")
	}
	if up.status != http.StatusOK {
		// Client errors (400, 413) from the replica are the client's to see.
		if !json.Valid(up.body) {
			return p.Tenant, writeError(w, up.status, http.StatusText(up.status))
		}
		return p.Tenant, writeRaw(w, up.status, up.body)
	}
	// The tenant is set by the gateway, overriding anything the replica
	// may have said, so a client can trust it.
	tenantJSON, _ := json.Marshal(p.Tenant)
	up.answer["tenant"] = tenantJSON
	return p.Tenant, writeJSON(w, http.StatusOK, up.answer)
}

// authenticate resolves the request's principal and checks its role. When
// the request may not proceed it writes the answer and returns its status
// code; otherwise code is 0.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request) (p Principal, code int) {
	header := r.Header.Get("Authorization")
	if header == "" {
		g.authFailed(r, "missing", Principal{}, nil)
		w.Header().Set("WWW-Authenticate", `Bearer realm="dure"`)
		return p, writeError(w, http.StatusUnauthorized, "missing bearer token")
	}
	token, ok := bearerToken(header)
	if !ok {
		g.authFailed(r, "malformed", Principal{}, nil)
		w.Header().Set("WWW-Authenticate", `Bearer realm="dure", error="invalid_request"`)
		return p, writeError(w, http.StatusUnauthorized, "malformed authorization header")
	}
	p, err := g.auth.Authenticate(r.Context(), token)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		// The error is not logged: an Authenticator may describe the
		// token in it.
		g.authFailed(r, "invalid", Principal{}, nil)
		w.Header().Set("WWW-Authenticate", `Bearer realm="dure", error="invalid_token"`)
		return Principal{}, writeError(w, http.StatusUnauthorized, "invalid bearer token")
	case err != nil:
		// The token could not be checked; the client may retry.
		g.authFailed(r, "error", Principal{}, err)
		return Principal{}, writeError(w, http.StatusServiceUnavailable, "authentication unavailable")
	case p.Tenant == "":
		g.authFailed(r, "no_tenant", p, nil)
		return p, writeError(w, http.StatusForbidden, "token has no tenant")
	case !g.allowed[p.Role]:
		g.authFailed(r, "role_not_allowed", p, nil)
		w.Header().Set("WWW-Authenticate", `Bearer realm="dure", error="insufficient_scope"`)
		return p, writeError(w, http.StatusForbidden, "role not allowed")
	}
	return p, 0
}

// authFailed counts and logs an authentication failure. It never sees the
// token.
func (g *Gateway) authFailed(r *http.Request, reason string, p Principal, err error) {
	g.metrics.authFailures.WithLabelValues(reason).Inc()
	attrs := []slog.Attr{
		slog.String("reason", reason),
		slog.String("remote", r.RemoteAddr),
	}
	if p.Tenant != "" {
		attrs = append(attrs, slog.String("tenant", p.Tenant))
	}
	if p.Role != "" {
		attrs = append(attrs, slog.String("role", p.Role))
	}
	if p.TokenID != "" {
		attrs = append(attrs, slog.String("token_id", p.TokenID))
	}
	level := slog.LevelWarn
	if err != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.Any("error", err))
	}
	g.logger.LogAttrs(r.Context(), level, "authentication failed", attrs...)
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header value. The scheme is case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && !strings.ContainsAny(tok, " \t")
}

// readBody reads the whole request body up to limit bytes. On failure it
// returns the status code to answer with.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int) {
	// A declared length over the limit is refused before reading anything.
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	return buf.Bytes(), 0
}

// upstreamAnswer is a non-5xx answer from a replica.
type upstreamAnswer struct {
	status int
	body   []byte                     // raw body, for non-200 answers
	answer map[string]json.RawMessage // decoded body, for 200 answers
}

// errAllReplicasNotReady means every replica answered 503: none has a model
// loaded.
var errAllReplicasNotReady = errors.New("gateway: no replica has a model loaded")

// errAllReplicasFailed means every replica attempt failed.
var errAllReplicasFailed = errors.New("gateway: all replicas failed")

func upstreamErrorStatus(err error) int {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, errAllReplicasNotReady):
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadGateway
	}
}

// forward sends the classify body to the replicas in turn until one gives
// a non-5xx answer. Classification has no side effects, so repeating the
// request on another replica is safe.
func (g *Gateway) forward(ctx context.Context, body []byte) (upstreamAnswer, error) {
	var orderBuf [8]int
	notReady := 0
	order := g.order(orderBuf[:0])
	for _, i := range order {
		rep := g.replicas[i]
		ans, reason, err := g.attempt(ctx, rep, body)
		if reason == "" {
			rep.markHealthy()
			return ans, nil
		}
		if reason == "canceled" {
			// The client left; the replica is not to blame.
			break
		}
		g.metrics.upstreamFailures.WithLabelValues(rep.label, reason).Inc()
		if rep.eject(g.opts.EjectDuration) {
			// Logged once per ejection, not per request, so a dead replica
			// does not flood the log.
			g.logger.LogAttrs(ctx, slog.LevelWarn, "replica failed; trying others first",
				slog.String("replica", rep.label), slog.String("reason", reason),
				slog.Duration("eject_for", g.opts.EjectDuration), slog.Any("error", err))
		}
		if reason == "not_ready" {
			notReady++
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return upstreamAnswer{}, fmt.Errorf("gateway: forward: %w", err)
	}
	if notReady == len(order) {
		return upstreamAnswer{}, errAllReplicasNotReady
	}
	return upstreamAnswer{}, errAllReplicasFailed
}

// attempt sends one request to one replica. reason is "" on success, else
// a metric label for the failure.
func (g *Gateway) attempt(parent context.Context, rep *replica, body []byte) (ans upstreamAnswer, reason string, err error) {
	ctx, cancel := context.WithTimeout(parent, g.opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rep.classifyURL, bytes.NewReader(body))
	if err != nil {
		return ans, "request", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if g.opts.ReplicaToken != "" {
		req.Header.Set("Authorization", "Bearer "+g.opts.ReplicaToken)
	}

	resp, err := g.client.Do(req)
	if err != nil {
		return ans, transportFailure(parent, ctx), err
	}
	// Reading the body to the end lets the connection be reused.
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBodyBytes+1))
	resp.Body.Close()
	switch {
	case err != nil:
		return ans, transportFailure(parent, ctx), err
	case len(data) > maxUpstreamBodyBytes:
		return ans, "bad_response", errors.New("answer too large")
	case resp.StatusCode == http.StatusServiceUnavailable:
		return ans, "not_ready", errors.New(resp.Status)
	case resp.StatusCode >= 500:
		return ans, "status_5xx", errors.New(resp.Status)
	case resp.StatusCode != http.StatusOK:
		return upstreamAnswer{status: resp.StatusCode, body: data}, "", nil
	}
	var answer map[string]json.RawMessage
	if err := json.Unmarshal(data, &answer); err != nil || answer == nil {
		return ans, "bad_response", fmt.Errorf("decode answer: %w", err)
	}
	return upstreamAnswer{status: http.StatusOK, answer: answer}, "", nil
}

// transportFailure names a failed round trip for metrics: "canceled" when
// the client went away (not the replica's fault), "timeout" when a deadline
// expired, else "connect".
func transportFailure(parent, attempt context.Context) string {
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		return "canceled"
	case attempt.Err() != nil:
		return "timeout"
	default:
		return "connect"
	}
}
