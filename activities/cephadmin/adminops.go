// Package cephadmin administers Ceph for the platform's tenants: RGW users and
// quotas through the RGW Admin Ops API (HTTP, SigV4-signed), and pools and RGW
// placement targets through the ceph and radosgw-admin command-line tools.
// TenantStorage composes both into the per-tenant steps of onboarding.
//
// There is no cgo here on purpose: go-ceph (librados bindings) is not available
// to the project, and the Admin Ops API plus the CLIs cover everything needed.
package cephadmin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

const (
	defaultRegion      = "us-east-1"
	defaultHTTPTimeout = 30 * time.Second
	// maxResponseBytes bounds what is read from RGW: user and bucket documents
	// are a few KiB.
	maxResponseBytes = 8 << 20
)

// Credential is an S3 key pair. String and LogValue hide the secret so that a
// credential printed or logged by mistake does not leak it.
type Credential struct {
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

func (c Credential) String() string {
	return "Credential{AccessKey:" + c.AccessKey + ", SecretKey:<redacted>}"
}
func (c Credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key", c.AccessKey), slog.String("secret_key", "<redacted>"))
}

// UserKey is one S3 key of an RGW user (the user field names the subuser, if any).
type UserKey struct {
	User string `json:"user"`
	Credential
}

func (k UserKey) String() string {
	return "UserKey{User:" + k.User + ", " + k.Credential.String() + "}"
}
func (k UserKey) GoString() string { return k.String() }

// Quota is an RGW user or bucket quota. A negative limit means no limit.
type Quota struct {
	Enabled      bool  `json:"enabled"`
	MaxSizeBytes int64 `json:"max_size"`
	MaxObjects   int64 `json:"max_objects"`
}

// Cap is an Admin Ops capability such as users=*.
type Cap struct {
	Type string `json:"type"`
	Perm string `json:"perm"`
}

// User is an RGW user as the Admin Ops API returns it.
type User struct {
	UID              string    `json:"user_id"`
	DisplayName      string    `json:"display_name"`
	Suspended        int       `json:"suspended"`
	MaxBuckets       int       `json:"max_buckets"`
	Keys             []UserKey `json:"keys"`
	Caps             []Cap     `json:"caps"`
	DefaultPlacement string    `json:"default_placement"`
	PlacementTags    []string  `json:"placement_tags"`
	BucketQuota      Quota     `json:"bucket_quota"`
	UserQuota        Quota     `json:"user_quota"`
}

// s3Key returns the user's own S3 key (not a subuser's).
func (u User) s3Key() (Credential, bool) {
	for _, k := range u.Keys {
		if k.User == u.UID && k.AccessKey != "" && k.SecretKey != "" {
			return k.Credential, true
		}
	}
	return Credential{}, false
}

// UserSpec is the desired state of an RGW user.
type UserSpec struct {
	UID         string
	DisplayName string // defaults to UID
	// DefaultPlacement is the placement target new buckets get; "" keeps the
	// zonegroup's default.
	DefaultPlacement string
	// PlacementTags are the tags of the placement targets the user may use. A
	// tagged target refuses users without its tag, which is what keeps one tenant
	// from creating buckets in another tenant's pool.
	PlacementTags []string
	// MaxBuckets limits the buckets the user may own; 0 keeps RGW's default (1000).
	MaxBuckets int
}

// UsageStats is the usage of one RGW category (rgw.main holds object data).
type UsageStats struct {
	SizeBytes       int64 `json:"size"`
	SizeActualBytes int64 `json:"size_actual"`
	NumObjects      int64 `json:"num_objects"`
}

// BucketStats is the answer of GET /admin/bucket?stats.
type BucketStats struct {
	Bucket        string                `json:"bucket"`
	ID            string                `json:"id"`
	Owner         string                `json:"owner"`
	PlacementRule string                `json:"placement_rule"`
	Usage         map[string]UsageStats `json:"usage"`
	BucketQuota   Quota                 `json:"bucket_quota"`
}

// SizeBytes is the total size of the bucket's objects.
func (b BucketStats) SizeBytes() int64 { return b.Usage["rgw.main"].SizeBytes }

// NumObjects is the number of objects in the bucket.
func (b BucketStats) NumObjects() int64 { return b.Usage["rgw.main"].NumObjects }

// AdminOpsConfig configures an AdminOps client.
type AdminOpsConfig struct {
	// Endpoint is the RGW base URL, e.g. http://127.0.0.1:7480.
	Endpoint string
	// AccessKey and SecretKey belong to an RGW user with admin caps
	// (users=*;buckets=*;metadata=*;usage=*;zone=*).
	AccessKey string
	SecretKey string
	// Region is the SigV4 signing region; RGW accepts us-east-1 (the default).
	Region string
	// HTTPClient defaults to a client with a 30 s timeout. Provide one with a
	// timeout: a stuck RGW must not block an activity forever.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// AdminOps is a client of the RGW Admin Ops API (/admin/...). It is safe for
// concurrent use.
type AdminOps struct {
	base      *url.URL
	accessKey string
	secretKey string
	region    string
	client    *http.Client
	log       *slog.Logger
}

// NewAdminOps returns an Admin Ops client for cfg.
func NewAdminOps(cfg AdminOpsConfig) (*AdminOps, error) {
	base, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("rgw admin: endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("rgw admin: access key and secret key are required")
	}
	a := &AdminOps{
		base:      base,
		accessKey: cfg.AccessKey,
		secretKey: cfg.SecretKey,
		region:    cfg.Region,
		client:    cfg.HTTPClient,
		log:       cfg.Logger,
	}
	if a.region == "" {
		a.region = defaultRegion
	}
	if a.client == nil {
		a.client = newHTTPClient(defaultHTTPTimeout)
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			// The admin endpoint is inside the platform's network; a proxy from the
			// environment would only misroute it.
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       60 * time.Second,
		},
	}
}

// UserInfo returns the user uid, including its keys. The result holds secrets:
// do not log it.
func (a *AdminOps) UserInfo(ctx context.Context, uid string) (User, error) {
	var u User
	err := a.do(ctx, "user info "+uid, http.MethodGet, "/admin/user", url.Values{"uid": {uid}}, &u)
	return u, err
}

// EnsureUser makes the user exist as spec says. A new user gets a generated S3
// key; an existing user keeps its key, which is returned, and gets its display
// name, max buckets and placement converged to spec. created reports whether
// this call created the user, so a failed saga removes only what it made.
func (a *AdminOps) EnsureUser(ctx context.Context, spec UserSpec) (cred Credential, created bool, err error) {
	if err := validateUID(spec.UID); err != nil {
		return Credential{}, false, err
	}
	u, err := a.UserInfo(ctx, spec.UID)
	switch {
	case errors.Is(err, ErrNoSuchUser):
		u, err = a.createUser(ctx, spec)
		switch {
		case err == nil:
			created = true
		case errors.Is(err, ErrUserExists):
			// Another worker created it between our read and write.
			if u, err = a.UserInfo(ctx, spec.UID); err != nil {
				return Credential{}, false, err
			}
		default:
			return Credential{}, false, err
		}
	case err != nil:
		return Credential{}, false, err
	}
	if !created {
		if u, err = a.convergeUser(ctx, spec, u); err != nil {
			return Credential{}, false, err
		}
	}
	cred, ok := u.s3Key()
	if !ok {
		if cred, err = a.createKey(ctx, spec.UID); err != nil {
			return Credential{}, created, err
		}
	}
	a.log.InfoContext(ctx, "rgw user ready", "uid", spec.UID, "created", created, "access_key", cred.AccessKey)
	return cred, created, nil
}

func (a *AdminOps) createUser(ctx context.Context, spec UserSpec) (User, error) {
	q := url.Values{
		"uid":          {spec.UID},
		"display-name": {cmp.Or(spec.DisplayName, spec.UID)},
		// RGW generates the key, so no secret ever travels in a URL.
		"key-type":     {"s3"},
		"generate-key": {"true"},
	}
	if spec.MaxBuckets != 0 {
		q.Set("max-buckets", strconv.Itoa(spec.MaxBuckets))
	}
	if spec.DefaultPlacement != "" {
		q.Set("default-placement", spec.DefaultPlacement)
	}
	if len(spec.PlacementTags) > 0 {
		q.Set("placement-tags", strings.Join(spec.PlacementTags, ","))
	}
	var u User
	err := a.do(ctx, "create user "+spec.UID, http.MethodPut, "/admin/user", q, &u)
	return u, err
}

// convergeUser modifies an existing user where it differs from spec.
func (a *AdminOps) convergeUser(ctx context.Context, spec UserSpec, u User) (User, error) {
	q := url.Values{}
	if spec.DisplayName != "" && spec.DisplayName != u.DisplayName {
		q.Set("display-name", spec.DisplayName)
	}
	if spec.MaxBuckets != 0 && spec.MaxBuckets != u.MaxBuckets {
		q.Set("max-buckets", strconv.Itoa(spec.MaxBuckets))
	}
	if spec.DefaultPlacement != "" && spec.DefaultPlacement != u.DefaultPlacement {
		q.Set("default-placement", spec.DefaultPlacement)
	}
	if len(spec.PlacementTags) > 0 && !sameSet(spec.PlacementTags, u.PlacementTags) {
		q.Set("placement-tags", strings.Join(spec.PlacementTags, ","))
	}
	if len(q) == 0 {
		return u, nil
	}
	q.Set("uid", spec.UID)
	var out User
	if err := a.do(ctx, "modify user "+spec.UID, http.MethodPost, "/admin/user", q, &out); err != nil {
		return User{}, err
	}
	if !userMatches(spec, out) {
		return out, fmt.Errorf("rgw admin: modify user %s: %w", spec.UID, ErrPlacementNotApplied)
	}
	return out, nil
}

func userMatches(spec UserSpec, u User) bool {
	if spec.DefaultPlacement != "" && spec.DefaultPlacement != u.DefaultPlacement {
		return false
	}
	return len(spec.PlacementTags) == 0 || sameSet(spec.PlacementTags, u.PlacementTags)
}

func (a *AdminOps) createKey(ctx context.Context, uid string) (Credential, error) {
	q := url.Values{"key": {""}, "uid": {uid}, "key-type": {"s3"}, "generate-key": {"true"}}
	var keys []UserKey
	if err := a.do(ctx, "create key for "+uid, http.MethodPut, "/admin/user", q, &keys); err != nil {
		return Credential{}, err
	}
	for _, k := range keys {
		if k.User == uid {
			return k.Credential, nil
		}
	}
	return Credential{}, fmt.Errorf("rgw admin: create key for %s: no key in the answer", uid)
}

// DeleteUser removes the user; with purgeData its buckets and objects go too
// (RGW refuses to remove a user who still owns buckets otherwise). Removing a
// user that does not exist is not an error, so compensation can be retried.
func (a *AdminOps) DeleteUser(ctx context.Context, uid string, purgeData bool) error {
	if err := validateUID(uid); err != nil {
		return err
	}
	q := url.Values{"uid": {uid}, "purge-data": {strconv.FormatBool(purgeData)}}
	err := a.do(ctx, "delete user "+uid, http.MethodDelete, "/admin/user", q, nil)
	if errors.Is(err, ErrNoSuchUser) {
		return nil
	}
	if err == nil {
		a.log.InfoContext(ctx, "rgw user deleted", "uid", uid, "purge_data", purgeData)
	}
	return err
}

// SetUserQuota sets the quota over all of the user's buckets together.
func (a *AdminOps) SetUserQuota(ctx context.Context, uid string, q Quota) error {
	return a.setQuota(ctx, uid, "user", q)
}

// SetBucketQuota sets the quota each of the user's buckets gets.
func (a *AdminOps) SetBucketQuota(ctx context.Context, uid string, q Quota) error {
	return a.setQuota(ctx, uid, "bucket", q)
}

func (a *AdminOps) setQuota(ctx context.Context, uid, scope string, q Quota) error {
	if err := validateUID(uid); err != nil {
		return err
	}
	// With an empty body RGW reads the quota from the query string.
	v := url.Values{
		"quota":       {""},
		"uid":         {uid},
		"quota-type":  {scope},
		"max-size":    {strconv.FormatInt(q.MaxSizeBytes, 10)},
		"max-objects": {strconv.FormatInt(q.MaxObjects, 10)},
		"enabled":     {strconv.FormatBool(q.Enabled)},
	}
	if err := a.do(ctx, "set "+scope+" quota of "+uid, http.MethodPut, "/admin/user", v, nil); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "rgw quota set", "uid", uid, "scope", scope,
		"enabled", q.Enabled, "max_size_bytes", q.MaxSizeBytes, "max_objects", q.MaxObjects)
	return nil
}

// BucketStats returns the owner, placement and usage of a bucket.
func (a *AdminOps) BucketStats(ctx context.Context, bucket string) (BucketStats, error) {
	var s BucketStats
	err := a.do(ctx, "bucket stats "+bucket, http.MethodGet, "/admin/bucket",
		url.Values{"stats": {"true"}, "bucket": {bucket}}, &s)
	return s, err
}

// UserBuckets lists the names of the buckets uid owns.
func (a *AdminOps) UserBuckets(ctx context.Context, uid string) ([]string, error) {
	var names []string
	err := a.do(ctx, "list buckets of "+uid, http.MethodGet, "/admin/bucket", url.Values{"uid": {uid}}, &names)
	return names, err
}

// emptySHA256 is the SHA-256 of an empty body. RGW checks the payload hash the
// signature covers, so it is sent explicitly (the signer would otherwise sign
// UNSIGNED-PAYLOAD without sending the header, which RGW rejects).
var emptySHA256 = hex.EncodeToString(sha256.New().Sum(nil))

// do sends one signed request. out, when not nil, receives the JSON answer.
func (a *AdminOps) do(ctx context.Context, op, method, path string, query url.Values, out any) error {
	u := *a.base
	u.Path = strings.TrimRight(a.base.Path, "/") + path
	query.Set("format", "json")
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), http.NoBody)
	if err != nil {
		return fmt.Errorf("rgw admin: %s: %w", op, err)
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	req = signer.SignV4(*req, a.accessKey, a.secretKey, "", a.region)

	start := time.Now()
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("rgw admin: %s: %w: %w", op, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	// Only the operation, status and timing are logged: answers hold secret keys.
	a.log.DebugContext(ctx, "rgw admin call", "op", op, "method", method, "path", path,
		"status", resp.StatusCode, "duration", time.Since(start))
	if err != nil {
		return fmt.Errorf("rgw admin: %s: read answer: %w: %w", op, ErrUnavailable, err)
	}
	if resp.StatusCode >= 300 {
		return apiError(op, resp, body)
	}
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("rgw admin: %s: decode answer (HTTP %d): %w", op, resp.StatusCode, err)
	}
	return nil
}

func apiError(op string, resp *http.Response, body []byte) error {
	e := &APIError{Op: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amz-Request-Id")}
	var doc struct {
		Code      string `json:"Code"`
		RequestID string `json:"RequestId"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.Code = doc.Code
		if doc.RequestID != "" {
			e.RequestID = doc.RequestID
		}
	}
	return e
}

func validateUID(uid string) error {
	if uid == "" || strings.ContainsAny(uid, " \t\r\n:/") {
		return fmt.Errorf("rgw admin: uid %q: %w", uid, ErrInvalidArgument)
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// RotateKey gives the user a new S3 key and then removes the old one, whose
// requests fail from then on. The user keeps every other key it has.
func (a *AdminOps) RotateKey(ctx context.Context, uid, oldAccessKey string) (Credential, error) {
	before, err := a.UserInfo(ctx, uid)
	if err != nil {
		return Credential{}, err
	}
	had := map[string]bool{}
	for _, k := range before.Keys {
		had[k.AccessKey] = true
	}
	q := url.Values{"key": {""}, "uid": {uid}, "key-type": {"s3"}, "generate-key": {"true"}}
	var keys []UserKey
	if err := a.do(ctx, "create key for "+uid, http.MethodPut, "/admin/user", q, &keys); err != nil {
		return Credential{}, err
	}
	var fresh Credential
	for _, k := range keys {
		// The answer lists every key of the user: the new one is the one
		// the user did not have before.
		if k.User == uid && !had[k.AccessKey] {
			fresh = k.Credential
		}
	}
	if fresh.AccessKey == "" {
		return Credential{}, fmt.Errorf("rgw admin: rotate key of %s: no new key in the answer", uid)
	}
	if oldAccessKey != "" {
		q = url.Values{"key": {""}, "uid": {uid}, "key-type": {"s3"}, "access-key": {oldAccessKey}}
		if err := a.do(ctx, "remove old key of "+uid, http.MethodDelete, "/admin/user", q, nil); err != nil {
			return fresh, fmt.Errorf("rgw admin: the new key of %s works, but the old one was not removed: %w", uid, err)
		}
	}
	a.log.InfoContext(ctx, "rgw key rotated", "uid", uid)
	return fresh, nil
}

// DisableBucketCreation takes bucket creation away from the user (RGW's
// max-buckets of -1): a tenant keeps the bucket it has and can make no
// other, so it cannot squat a name the platform will give a later tenant.
func (a *AdminOps) DisableBucketCreation(ctx context.Context, uid string) error {
	if err := validateUID(uid); err != nil {
		return err
	}
	q := url.Values{"uid": {uid}, "max-buckets": {"-1"}}
	var out User
	if err := a.do(ctx, "disable bucket creation of "+uid, http.MethodPost, "/admin/user", q, &out); err != nil {
		return err
	}
	if out.MaxBuckets >= 0 {
		return fmt.Errorf("rgw admin: disable bucket creation of %s: max_buckets is %d after the change", uid, out.MaxBuckets)
	}
	return nil
}
