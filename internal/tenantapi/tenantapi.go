// Package tenantapi serves the gateway's tenant-scoped routes: uploads,
// datasets, workflow status, models and the audit trail. Every request is
// authorised against the caller's role and tenant; a tenant's token never
// reaches another tenant's resources, and every refusal is audited.
package tenantapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/tenancy"
)

// Authenticator resolves a bearer token.
type Authenticator interface {
	Authenticate(ctx context.Context, plaintext string) (tenancy.Token, error)
}

// Tokens manages a tenant's tokens.
type Tokens interface {
	Token(ctx context.Context, id string) (tenancy.Token, error)
	Tokens(ctx context.Context, tenant string) ([]tenancy.Token, error)
	RotateToken(ctx context.Context, id string) (string, tenancy.Token, error)
	RevokeToken(ctx context.Context, id string) error
}

// Upload is one object in a tenant's raw bucket.
type Upload struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

// Dataset is a published dataset's manifest, without any record.
type Dataset = map[string]any

// Model is a registered model version's metadata.
type Model = map[string]any

// WorkflowStatus is what a tenant may see of a workflow.
type WorkflowStatus struct {
	WorkflowID string `json:"workflow_id"`
	Type       string `json:"type"`
	Status     string `json:"status"`
	Tenant     string `json:"tenant"`
}

// Backend does the work behind the routes.
type Backend interface {
	ListUploads(ctx context.Context, tenant string) ([]Upload, error)
	PutUpload(ctx context.Context, tenant, name string, body io.Reader, size int64) (Upload, error)
	ListDatasets(ctx context.Context, tenant string) ([]Dataset, error)
	// WorkflowStatus returns a workflow and the tenant it belongs to ("" for
	// platform workflows).
	WorkflowStatus(ctx context.Context, workflowID string) (WorkflowStatus, error)
	ListModels(ctx context.Context, tenant string) ([]Model, error)
	GetModel(ctx context.Context, version int) (Model, error)
	// Decide sends an operator's decision on an ingested batch; the workflow's
	// validator may refuse it (ErrRefused).
	Decide(ctx context.Context, workflowID string, d Decision) (string, error)
	// S3Key returns the tenant's S3 key pair; RotateS3Key replaces it and
	// returns the new one.
	S3Key(ctx context.Context, tenant string) (S3Key, error)
	RotateS3Key(ctx context.Context, tenant string) (S3Key, error)
}

// S3Key is what a tenant needs to reach its bucket with its own S3 client.
type S3Key struct {
	Endpoint  string `json:"endpoint"`
	Region    string `json:"region"`
	Bucket    string `json:"bucket"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// Decision is an operator's verdict on a batch.
type Decision struct {
	Approve  bool   `json:"approve"`
	Reason   string `json:"reason,omitempty"`
	Operator string `json:"-"`
}

// ErrRefused wraps a decision the workflow refused.
var ErrRefused = errors.New("refused")

// ErrQuotaExceeded is returned when an upload does not fit the tenant's quota.
var ErrQuotaExceeded = errors.New("storage quota exceeded")

// ErrFinished is returned for a decision on a workflow that has ended.
var ErrFinished = errors.New("workflow finished")

// ErrNotFound is returned by a Backend for unknown resources.
var ErrNotFound = errors.New("not found")

// API is the tenant-scoped HTTP API.
type API struct {
	auth      Authenticator
	tokens    Tokens
	backend   Backend
	audit     *audit.Log
	logger    *slog.Logger
	maxUpload int64
	// anonymous lets one refusal without a valid token per tenant and
	// minute into the audit log, so nobody without a token can fill a
	// tenant's trail.
	anonymous *refusalLimiter
}

// Store is what the API needs of the tenant store.
type Store interface {
	Authenticator
	Tokens
}

// New returns the API; maxUpload bounds one upload's size in bytes.
func New(store Store, backend Backend, log *audit.Log, logger *slog.Logger, maxUpload int64) *API {
	return &API{auth: store, tokens: store, backend: backend, audit: log, logger: logger, maxUpload: maxUpload,
		anonymous: newRefusalLimiter(time.Minute, time.Now)}
}

// Handler routes the API.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/tenants/{tenant}/uploads", a.scoped(tenancy.PermReadUploads, a.listUploads))
	mux.HandleFunc("PUT /v1/tenants/{tenant}/uploads/{name}", a.scoped(tenancy.PermUpload, a.putUpload))
	mux.HandleFunc("GET /v1/tenants/{tenant}/datasets", a.scoped(tenancy.PermReadDatasets, a.listDatasets))
	mux.HandleFunc("GET /v1/tenants/{tenant}/workflows/{id}", a.scoped(tenancy.PermReadWorkflows, a.workflowStatus))
	mux.HandleFunc("GET /v1/tenants/{tenant}/models", a.scoped(tenancy.PermReadModels, a.listTenantModels))
	mux.HandleFunc("POST /v1/tenants/{tenant}/workflows/{id}/decision", a.scoped(tenancy.PermApproveData, a.decide))
	mux.HandleFunc("GET /v1/tenants/{tenant}/audit", a.scoped(tenancy.PermReadAuditTrail, a.auditTrail))
	mux.HandleFunc("GET /v1/tenants/{tenant}/tokens", a.scoped(tenancy.PermManageTokens, a.listTokens))
	mux.HandleFunc("POST /v1/tenants/{tenant}/tokens/{id}/rotate", a.scoped(tenancy.PermManageTokens, a.rotateToken))
	mux.HandleFunc("DELETE /v1/tenants/{tenant}/tokens/{id}", a.scoped(tenancy.PermManageTokens, a.revokeToken))
	mux.HandleFunc("GET /v1/tenants/{tenant}/s3-credentials", a.scoped(tenancy.PermManageS3Keys, a.s3Key))
	mux.HandleFunc("POST /v1/tenants/{tenant}/s3-credentials/rotate", a.scoped(tenancy.PermManageS3Keys, a.rotateS3Key))
	mux.HandleFunc("GET /v1/models", a.platform(tenancy.PermReadModels, a.listModels))
	mux.HandleFunc("GET /v1/models/{version}", a.platform(tenancy.PermReadModels, a.getModel))
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request, tok tenancy.Token, tenant string)

// scoped authorises a route on the tenant named in its path. A path that
// cannot name a tenant is answered before anything else, and never reaches
// the audit log: it names no one's resource.
func (a *API) scoped(perm tenancy.Permission, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant := r.PathValue("tenant")
		if tenancy.ValidateTenantID(tenant) != nil {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		a.authorize(w, r, perm, tenant, h)
	}
}

// platform authorises a platform-wide route.
func (a *API) platform(perm tenancy.Permission, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.authorize(w, r, perm, "", h)
	}
}

func (a *API) authorize(w http.ResponseWriter, r *http.Request, perm tenancy.Permission, tenant string, h handler) {
	scheme, plaintext, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || plaintext == "" {
		a.deny(r, tenancy.Token{}, tenant, perm, "missing token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="dure"`)
		writeError(w, http.StatusUnauthorized, "missing bearer token")
		return
	}
	tok, err := a.auth.Authenticate(r.Context(), strings.TrimSpace(plaintext))
	if err != nil && !errors.Is(err, tenancy.ErrUnauthenticated) {
		a.answer(w, nil, err)
		return
	}
	if err != nil {
		a.deny(r, tenancy.Token{}, tenant, perm, "invalid token")
		w.Header().Set("WWW-Authenticate", `Bearer realm="dure", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid bearer token")
		return
	}
	if err := tenancy.Authorize(tok, perm, tenant); err != nil {
		a.deny(r, tok, tenant, perm, "forbidden")
		writeError(w, http.StatusForbidden, "not allowed")
		return
	}
	h(w, r, tok, tenant)
}

// deny audits a refused request under the tenant whose resource was asked
// for. Refusals of callers without a valid token are audited at most once a
// minute per tenant, with a count of the others.
func (a *API) deny(r *http.Request, tok tenancy.Token, tenant string, perm tenancy.Permission, why string) {
	actor := "anonymous"
	if tok.ID != "" {
		actor = "token:" + tok.ID
	}
	a.logger.Warn("request refused", "tenant", tenant, "actor", actor, "permission", perm, "reason", why)
	detail := fmt.Sprintf("%s %s (%s): %s", r.Method, r.URL.Path, perm, why)
	if tok.ID == "" {
		suppressed, ok := a.anonymous.admit(tenant)
		if !ok {
			return
		}
		if suppressed > 0 {
			detail += fmt.Sprintf("; %d more refusals without a valid token in the minute before", suppressed)
		}
	}
	a.record(r.Context(), audit.Event{Action: audit.ActionDenied, Tenant: tenant, Actor: actor, Detail: detail})
}

func (a *API) listUploads(w http.ResponseWriter, r *http.Request, _ tenancy.Token, tenant string) {
	uploads, err := a.backend.ListUploads(r.Context(), tenant)
	a.answer(w, uploads, err)
}

func (a *API) putUpload(w http.ResponseWriter, r *http.Request, tok tenancy.Token, tenant string) {
	name := r.PathValue("name")
	if !plainFileName(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("upload name must be a plain file name of at most %d bytes of UTF-8 text", maxUploadName))
		return
	}
	if r.ContentLength < 0 {
		writeError(w, http.StatusLengthRequired, "Content-Length is required")
		return
	}
	if r.ContentLength > a.maxUpload {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("uploads are limited to %d bytes", a.maxUpload))
		return
	}
	// A large upload may take a while; the server's read timeout is for
	// small requests.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTimeout))
	up, err := a.backend.PutUpload(r.Context(), tenant, name, http.MaxBytesReader(w, r.Body, a.maxUpload), r.ContentLength)
	if err == nil {
		a.logger.Info("upload stored", "tenant", tenant, "key", up.Key, "bytes", up.Size, "token_id", tok.ID)
	}
	a.answer(w, up, err)
}

// Upload limits: names as object keys allow them, and the time a 1 GiB
// upload may take at 1 MB/s.
const (
	maxUploadName     = 1024
	uploadReadTimeout = 20 * time.Minute
)

// plainFileName accepts a name that stays one object under uploads/: no
// path, no leading dot, no control characters, valid UTF-8.
func plainFileName(name string) bool {
	if name == "" || len(name) > maxUploadName || name != path.Base(name) || strings.HasPrefix(name, ".") || !utf8.ValidString(name) {
		return false
	}
	return !strings.ContainsFunc(name, unicode.IsControl)
}

func (a *API) listDatasets(w http.ResponseWriter, r *http.Request, _ tenancy.Token, tenant string) {
	ds, err := a.backend.ListDatasets(r.Context(), tenant)
	a.answer(w, ds, err)
}

func (a *API) workflowStatus(w http.ResponseWriter, r *http.Request, tok tenancy.Token, tenant string) {
	st, err := a.backend.WorkflowStatus(r.Context(), r.PathValue("id"))
	if err == nil && st.Tenant != tenant {
		// Another tenant's (or a platform) workflow is answered as absent, so
		// its existence is not disclosed either.
		a.deny(r, tok, tenant, tenancy.PermReadWorkflows, "workflow of another tenant")
		err = ErrNotFound
	}
	a.answer(w, st, err)
}

// decide forwards an operator's decision; the operator is named by token id,
// so the decision in workflow history and the audit log says who decided.
func (a *API) decide(w http.ResponseWriter, r *http.Request, tok tenancy.Token, tenant string) {
	var d Decision
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&d); err != nil {
		writeError(w, http.StatusBadRequest, "want {\"approve\":bool,\"reason\":\"...\"}")
		return
	}
	id := r.PathValue("id")
	st, err := a.backend.WorkflowStatus(r.Context(), id)
	if err == nil && st.Tenant != tenant {
		err = ErrNotFound
	}
	if err != nil {
		a.answer(w, nil, err)
		return
	}
	d.Operator = "token:" + tok.ID
	verdict, err := a.backend.Decide(r.Context(), id, d)
	if errors.Is(err, ErrRefused) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	a.answer(w, map[string]string{"workflow_id": id, "decision": verdict}, err)
}

func (a *API) listTenantModels(w http.ResponseWriter, r *http.Request, _ tenancy.Token, tenant string) {
	models, err := a.backend.ListModels(r.Context(), tenant)
	a.answer(w, models, err)
}

func (a *API) listModels(w http.ResponseWriter, r *http.Request, _ tenancy.Token, _ string) {
	models, err := a.backend.ListModels(r.Context(), "")
	a.answer(w, models, err)
}

func (a *API) getModel(w http.ResponseWriter, r *http.Request, _ tenancy.Token, _ string) {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		writeError(w, http.StatusBadRequest, "version must be a positive integer")
		return
	}
	m, err := a.backend.GetModel(r.Context(), v)
	a.answer(w, m, err)
}

// TokenView is a token as the API shows it: never its hash.
type TokenView struct {
	ID        string     `json:"id"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Token is the plaintext, present only in the answer to a rotation.
	Token string `json:"token,omitempty"`
}

func view(t tenancy.Token) TokenView {
	return TokenView{ID: t.ID, Role: string(t.Role), CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt}
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, _ tenancy.Token, tenant string) {
	toks, err := a.tokens.Tokens(r.Context(), tenant)
	out := make([]TokenView, 0, len(toks))
	for _, t := range toks {
		out = append(out, view(t))
	}
	a.answer(w, out, err)
}

// ownToken finds a token of the tenant; another tenant's token is answered as
// absent.
func (a *API) ownToken(ctx context.Context, tenant, id string) (tenancy.Token, bool) {
	t, err := a.tokens.Token(ctx, id)
	if err != nil || t.Tenant != tenant {
		return tenancy.Token{}, false
	}
	return t, true
}

func (a *API) rotateToken(w http.ResponseWriter, r *http.Request, caller tenancy.Token, tenant string) {
	old, ok := a.ownToken(r.Context(), tenant, r.PathValue("id"))
	if !ok || old.RevokedAt != nil {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	plaintext, tok, err := a.tokens.RotateToken(r.Context(), old.ID)
	if err != nil {
		a.answer(w, nil, err)
		return
	}
	a.record(r.Context(), audit.Event{Action: audit.ActionGrant, Tenant: tenant, Actor: "token:" + caller.ID, Subject: "token:" + tok.ID,
		Detail: "rotation of token:" + old.ID + ", role " + string(tok.Role)})
	a.record(r.Context(), audit.Event{Action: audit.ActionRevoke, Tenant: tenant, Actor: "token:" + caller.ID, Subject: "token:" + old.ID, Detail: "rotated"})
	v := view(tok)
	v.Token = plaintext
	writeJSON(w, http.StatusOK, v)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, caller tenancy.Token, tenant string) {
	old, ok := a.ownToken(r.Context(), tenant, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	if err := a.tokens.RevokeToken(r.Context(), old.ID); err != nil {
		a.answer(w, nil, err)
		return
	}
	a.record(r.Context(), audit.Event{Action: audit.ActionRevoke, Tenant: tenant, Actor: "token:" + caller.ID, Subject: "token:" + old.ID})
	writeJSON(w, http.StatusOK, map[string]string{"revoked": old.ID})
}

// s3Key hands the tenant admin its S3 key pair; every read is audited.
func (a *API) s3Key(w http.ResponseWriter, r *http.Request, caller tenancy.Token, tenant string) {
	key, err := a.backend.S3Key(r.Context(), tenant)
	if err == nil {
		a.record(r.Context(), audit.Event{Action: audit.ActionS3KeyRead, Tenant: tenant, Actor: "token:" + caller.ID, Subject: "s3:" + key.AccessKey})
	}
	a.answer(w, key, err)
}

// rotateS3Key replaces the tenant's key pair and hands over the new one.
func (a *API) rotateS3Key(w http.ResponseWriter, r *http.Request, caller tenancy.Token, tenant string) {
	key, err := a.backend.RotateS3Key(r.Context(), tenant)
	if err == nil {
		a.record(r.Context(), audit.Event{Action: audit.ActionS3KeyRotate, Tenant: tenant, Actor: "token:" + caller.ID, Subject: "s3:" + key.AccessKey})
	}
	a.answer(w, key, err)
}

func (a *API) record(ctx context.Context, e audit.Event) {
	if err := a.audit.Append(ctx, e); err != nil {
		a.logger.Error("audit append failed", "err", err)
	}
}

func (a *API) auditTrail(w http.ResponseWriter, r *http.Request, _ tenancy.Token, tenant string) {
	events, err := a.audit.Query(r.Context(), tenant)
	a.answer(w, events, err)
}

func (a *API) answer(w http.ResponseWriter, v any, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not found")
	case errors.Is(err, tenancy.ErrRevoked):
		writeError(w, http.StatusConflict, "token already revoked")
	case errors.Is(err, ErrQuotaExceeded):
		writeError(w, http.StatusInsufficientStorage, err.Error())
	case errors.Is(err, ErrFinished):
		writeError(w, http.StatusConflict, "the workflow has finished: it takes no more decisions")
	case err != nil:
		a.logger.Error("tenant api", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
