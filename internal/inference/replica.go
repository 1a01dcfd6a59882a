// Package inference serves one replica of the shared complaint classifier
// over HTTP.
//
// A Replica holds at most one model at a time. Promotion of a new model
// version calls LoadVersion (directly or through PUT /admin/model), which
// loads the new model first and only then swaps it in atomically, so
// requests never observe a half-loaded model and requests already in flight
// finish on the model they started with.
package inference

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxBodyBytes bounds a classify request body. Complaints are short
// texts; the bound keeps one client from making the replica buffer
// arbitrarily large bodies.
const DefaultMaxBodyBytes = 256 << 10

// adminMaxBodyBytes bounds PUT /admin/model, whose body is one small number.
const adminMaxBodyBytes = 4 << 10

// Classifier assigns a complaint to a department.
// Implementations must be safe for concurrent use.
type Classifier interface {
	Classify(title, body string) (department string, score float64)
}

// ModelLoader produces the Classifier for a model version.
type ModelLoader interface {
	LoadModel(ctx context.Context, version int) (Classifier, error)
}

// Option configures a Replica.
type Option func(*Replica)

// WithClientToken makes classify answer only callers bearing token: the
// gateway, which authenticates tenants. Without it anyone who reaches the
// replica's port could classify.
func WithClientToken(token string) Option {
	return func(r *Replica) {
		if token != "" {
			sum := sha256.Sum256([]byte(token))
			r.clientHash = &sum
		}
	}
}

// WithMaxBodyBytes sets the classify body limit; n <= 0 keeps the default.
func WithMaxBodyBytes(n int64) Option {
	return func(r *Replica) {
		if n > 0 {
			r.maxBodyBytes = n
		}
	}
}

// model pairs a classifier with its version so that both are swapped in one
// atomic store: a response can never report one version's department with
// another version's number.
type model struct {
	clf     Classifier
	version int
}

// Replica is one inference replica. Its methods are safe for concurrent use.
type Replica struct {
	name      string
	loader    ModelLoader
	adminHash [sha256.Size]byte
	// clientHash, when set, is the hash of the only bearer token classify
	// accepts.
	clientHash   *[sha256.Size]byte
	maxBodyBytes int64
	logger       *slog.Logger
	metrics      *replicaMetrics
	handler      http.Handler

	current atomic.Pointer[model]

	// loadMu serialises LoadVersion so that two concurrent promotions cannot
	// interleave and leave a slower, older load active after a newer one.
	loadMu sync.Mutex
}

// NewReplica returns a replica with no model loaded; it answers 503 on
// classify and /readyz until LoadVersion succeeds.
//
// adminToken guards the /admin routes and must not be empty. reg may be nil
// to skip metric registration; logger may be nil to discard logs.
func NewReplica(name string, loader ModelLoader, adminToken string, reg prometheus.Registerer, logger *slog.Logger, opts ...Option) (*Replica, error) {
	if name == "" {
		return nil, errors.New("inference: replica name is empty")
	}
	if loader == nil {
		return nil, errors.New("inference: model loader is nil")
	}
	if adminToken == "" {
		// An empty token would make "Authorization: Bearer " an admin
		// credential.
		return nil, errors.New("inference: admin token is empty")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newReplicaMetrics(name, reg)
	if err != nil {
		return nil, err
	}
	r := &Replica{
		name: name,
		// Comparing fixed-size digests keeps the comparison constant-time
		// with respect to the token's length too.
		adminHash:    sha256.Sum256([]byte(adminToken)),
		loader:       loader,
		maxBodyBytes: DefaultMaxBodyBytes,
		logger:       logger.With(slog.String("replica", name)),
		metrics:      m,
	}
	for _, opt := range opts {
		opt(r)
	}
	r.handler = r.routes()
	return r, nil
}

// Handler returns the replica's HTTP handler.
func (r *Replica) Handler() http.Handler { return r.handler }

// Name returns the replica name reported in classify answers.
func (r *Replica) Name() string { return r.name }

// Version returns the loaded model version, or 0 when none is loaded.
func (r *Replica) Version() int {
	if m := r.current.Load(); m != nil {
		return m.version
	}
	return 0
}

// LoadVersion loads a model version and then makes it the active model.
// On error the previously active model, if any, stays active.
func (r *Replica) LoadVersion(ctx context.Context, version int) error {
	if version < 1 {
		return fmt.Errorf("inference: invalid model version %d", version)
	}
	r.loadMu.Lock()
	defer r.loadMu.Unlock()

	start := time.Now()
	clf, err := r.loader.LoadModel(ctx, version)
	if err == nil && clf == nil {
		err = errors.New("loader returned no classifier")
	}
	if err != nil {
		r.metrics.loads.WithLabelValues("error").Inc()
		return fmt.Errorf("inference: load model version %d: %w", version, err)
	}
	prev := r.current.Swap(&model{clf: clf, version: version})
	r.metrics.version.Set(float64(version))
	r.metrics.loads.WithLabelValues("ok").Inc()

	prevVersion := 0
	if prev != nil {
		prevVersion = prev.version
	}
	r.logger.LogAttrs(ctx, slog.LevelInfo, "model loaded",
		slog.Int("version", version),
		slog.Int("previous_version", prevVersion),
		slog.Duration("load_time", time.Since(start)))
	return nil
}

func (r *Replica) routes() http.Handler {
	mux := http.NewServeMux()
	classify := http.HandlerFunc(r.serveClassify)
	if r.clientHash != nil {
		classify = r.requireToken(r.clientHash, "dure-inference", r.serveClassify)
	}
	mux.Handle("POST /v1/classify", r.instrument("classify", classify))
	mux.Handle("PUT /admin/model", r.instrument("admin_model", r.requireToken(&r.adminHash, "dure-inference-admin", r.servePutModel)))
	mux.Handle("GET /admin/model", r.instrument("admin_model", r.requireToken(&r.adminHash, "dure-inference-admin", r.serveGetModel)))
	mux.Handle("GET /healthz", r.instrument("healthz", serveHealthz))
	mux.Handle("GET /readyz", r.instrument("readyz", r.serveReadyz))
	return mux
}

type classifyRequest struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type classifyResponse struct {
	Department   string  `json:"department"`
	Score        float64 `json:"score"`
	ModelVersion int     `json:"model_version"`
	Replica      string  `json:"replica"`
}

func (r *Replica) serveClassify(w http.ResponseWriter, req *http.Request) {
	// Take the model once: the whole request uses this snapshot even if a
	// promotion swaps the model meanwhile.
	m := r.current.Load()
	if m == nil {
		writeError(w, http.StatusServiceUnavailable, "no model loaded")
		return
	}
	var in classifyRequest
	if code, msg := decodeJSON(w, req, r.maxBodyBytes, &in); code != 0 {
		writeError(w, code, msg)
		return
	}
	if strings.TrimSpace(in.Title) == "" && strings.TrimSpace(in.Body) == "" {
		writeError(w, http.StatusBadRequest, "title and body are empty")
		return
	}
	dept, score := m.clf.Classify(in.Title, in.Body)
	writeJSON(w, http.StatusOK, classifyResponse{
		Department:   dept,
		Score:        score,
		ModelVersion: m.version,
		Replica:      r.name,
	})
}

type versionBody struct {
	Version *int `json:"version"`
}

type versionResponse struct {
	Version int `json:"version"`
}

func (r *Replica) servePutModel(w http.ResponseWriter, req *http.Request) {
	var in versionBody
	if code, msg := decodeJSON(w, req, adminMaxBodyBytes, &in); code != 0 {
		writeError(w, code, msg)
		return
	}
	if in.Version == nil || *in.Version < 1 {
		writeError(w, http.StatusBadRequest, "version must be a positive integer")
		return
	}
	if err := r.LoadVersion(req.Context(), *in.Version); err != nil {
		r.logger.LogAttrs(req.Context(), slog.LevelError, "model load failed",
			slog.Int("version", *in.Version), slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, "model load failed")
		return
	}
	writeJSON(w, http.StatusOK, versionResponse{Version: *in.Version})
}

func (r *Replica) serveGetModel(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, versionResponse{Version: r.Version()})
}

func serveHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (r *Replica) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	// Not ready without a model, so that a load balancer probing /readyz
	// keeps traffic away until the first promotion has happened.
	if r.current.Load() == nil {
		writeError(w, http.StatusServiceUnavailable, "no model loaded")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// requireToken admits requests bearing the token whose hash is want.
func (r *Replica) requireToken(want *[sha256.Size]byte, realm string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		tok, ok := bearerToken(req.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			// The token itself is never logged.
			r.logger.LogAttrs(req.Context(), slog.LevelWarn, "authentication failed",
				slog.String("realm", realm), slog.String("remote", req.RemoteAddr), slog.Bool("token_present", ok))
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		next(w, req)
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header value. The scheme is case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
