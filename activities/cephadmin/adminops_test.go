package cephadmin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

const (
	testAccessKey = "ADMINACCESSKEY000001"
	testSecretKey = "adminSecretKeyThatMustNeverBeLogged0001"
	tenantSecret  = "tenantSecretKeyThatMustNeverBeLogged01"
)

// verifySigV4 checks r's AWS Signature Version 4 the way a server does,
// independently of the signer under test, for a request with an empty body.
func verifySigV4(r *http.Request, accessKey, secretKey string) error {
	return verifySigV4Body(r, nil, accessKey, secretKey)
}

// verifySigV4Body is verifySigV4 for a request whose body was body: the
// signed payload hash must be the body's.
func verifySigV4Body(r *http.Request, body []byte, accessKey, secretKey string) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("authorization %q is not SigV4", auth)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != accessKey || scope[2] != "us-east-1" || scope[3] != "s3" || scope[4] != "aws4_request" {
		return fmt.Errorf("credential scope %q", fields["Credential"])
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || time.Since(t).Abs() > 5*time.Minute || t.Format("20060102") != scope[1] {
		return fmt.Errorf("x-amz-date %q vs scope day %q", amzDate, scope[1])
	}
	bodySum := sha256.Sum256(body)
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload != hex.EncodeToString(bodySum[:]) {
		return fmt.Errorf("payload hash %q, want the hash of the body (%d bytes)", payload, len(body))
	}

	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var query []string
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	for _, k := range keys {
		vs := slices.Clone(q[k])
		sort.Strings(vs)
		for _, v := range vs {
			query = append(query, enc(k)+"="+enc(v))
		}
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, must := range []string{"host", "x-amz-date", "x-amz-content-sha256"} {
		if !slices.Contains(signed, must) {
			return fmt.Errorf("signed headers %v lack %s", signed, must)
		}
	}
	var headers strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(query, "&"),
		headers.String(), fields["SignedHeaders"], payload}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+secretKey), scope[1]), scope[2]), scope[3]), scope[4])
	if want := hex.EncodeToString(mac(key, toSign)); fields["Signature"] != want {
		return fmt.Errorf("signature %s, want %s", fields["Signature"], want)
	}
	return nil
}

type reply struct {
	status int
	body   string
}

type seenRequest struct {
	Method string
	Path   string
	Query  url.Values
}

// fakeRGW is an Admin Ops server that checks every signature and answers
// from a script, in order.
type fakeRGW struct {
	t       *testing.T
	mu      sync.Mutex
	replies []reply
	seen    []seenRequest
}

func (f *fakeRGW) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := verifySigV4(r, testAccessKey, testSecretKey); err != nil {
		f.t.Errorf("%s %s: bad signature: %v", r.Method, r.URL, err)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"Code":"SignatureDoesNotMatch"}`)
		return
	}
	f.seen = append(f.seen, seenRequest{r.Method, r.URL.Path, r.URL.Query()})
	if len(f.replies) == 0 {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	rep := f.replies[0]
	f.replies = f.replies[1:]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Request-Id", "tx-test")
	w.WriteHeader(rep.status)
	fmt.Fprint(w, rep.body)
}

func newFakeRGW(t *testing.T, replies ...reply) (*fakeRGW, *AdminOps, *bytes.Buffer) {
	t.Helper()
	f := &fakeRGW{t: t, replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	a, err := NewAdminOps(AdminOpsConfig{
		Endpoint:  srv.URL,
		AccessKey: testAccessKey,
		SecretKey: testSecretKey,
		Logger:    slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, a, &logs
}

func userJSON(uid, placement string, tags []string, withKey bool) string {
	u := map[string]any{
		"user_id": uid, "display_name": uid, "max_buckets": 10, "suspended": 0,
		"keys": []any{}, "caps": []any{}, "default_placement": placement, "placement_tags": tags,
		"user_quota":   map[string]any{"enabled": false, "max_size": -1, "max_objects": -1},
		"bucket_quota": map[string]any{"enabled": false, "max_size": -1, "max_objects": -1},
	}
	if tags == nil {
		u["placement_tags"] = []string{}
	}
	if withKey {
		u["keys"] = []any{map[string]string{"user": uid, "access_key": "AK" + uid, "secret_key": tenantSecret}}
	}
	b, _ := json.Marshal(u)
	return string(b)
}

func q(kv ...string) url.Values {
	v := url.Values{"format": {"json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestAdminOpsRequests(t *testing.T) {
	spec := UserSpec{UID: "suwon", DisplayName: "Suwon", DefaultPlacement: "tenant-suwon", PlacementTags: []string{"tenant-suwon"}, MaxBuckets: 10}
	notFound := reply{404, `{"Code":"NoSuchUser","RequestId":"tx1","HostId":"h"}`}
	tests := []struct {
		name       string
		call       func(ctx context.Context, a *AdminOps) (any, error)
		replies    []reply
		want       []seenRequest
		wantResult any
		wantErr    error
	}{
		{
			name: "user info",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				u, err := a.UserInfo(ctx, "suwon")
				return u.DefaultPlacement, err
			},
			replies:    []reply{{200, userJSON("suwon", "tenant-suwon", nil, true)}},
			want:       []seenRequest{{"GET", "/admin/user", q("uid", "suwon")}},
			wantResult: "tenant-suwon",
		},
		{
			name: "ensure user creates a missing user with placement and a generated key",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				c, created, err := a.EnsureUser(ctx, spec)
				return join(c.AccessKey, c.SecretKey == tenantSecret, created), err
			},
			replies: []reply{notFound, {200, userJSON("suwon", "tenant-suwon", []string{"tenant-suwon"}, true)}},
			want: []seenRequest{
				{"GET", "/admin/user", q("uid", "suwon")},
				{"PUT", "/admin/user", q("uid", "suwon", "display-name", "Suwon", "key-type", "s3", "generate-key", "true",
					"max-buckets", "10", "default-placement", "tenant-suwon", "placement-tags", "tenant-suwon")},
			},
			wantResult: "AKsuwon true true",
		},
		{
			name: "ensure user returns an existing user's key without changing it",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				c, created, err := a.EnsureUser(ctx, UserSpec{UID: "suwon", DefaultPlacement: "tenant-suwon", PlacementTags: []string{"tenant-suwon"}, MaxBuckets: 10})
				return join(c.AccessKey, created), err
			},
			replies:    []reply{{200, userJSON("suwon", "tenant-suwon", []string{"tenant-suwon"}, true)}},
			want:       []seenRequest{{"GET", "/admin/user", q("uid", "suwon")}},
			wantResult: "AKsuwon false",
		},
		{
			name: "ensure user converges an existing user's placement",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				c, created, err := a.EnsureUser(ctx, spec)
				return join(c.AccessKey, created), err
			},
			replies: []reply{
				{200, userJSON("suwon", "default-placement", nil, true)},
				{200, userJSON("suwon", "tenant-suwon", []string{"tenant-suwon"}, true)},
			},
			want: []seenRequest{
				{"GET", "/admin/user", q("uid", "suwon")},
				{"POST", "/admin/user", q("uid", "suwon", "display-name", "Suwon", "default-placement", "tenant-suwon", "placement-tags", "tenant-suwon")},
			},
			wantResult: "AKsuwon false",
		},
		{
			name: "ensure user reports a modify that ignored the placement",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				_, _, err := a.EnsureUser(ctx, spec)
				return nil, err
			},
			replies: []reply{
				{200, userJSON("suwon", "", nil, true)},
				{200, userJSON("suwon", "", nil, true)},
			},
			want: []seenRequest{
				{"GET", "/admin/user", q("uid", "suwon")},
				{"POST", "/admin/user", q("uid", "suwon", "display-name", "Suwon", "default-placement", "tenant-suwon", "placement-tags", "tenant-suwon")},
			},
			wantErr: ErrPlacementNotApplied,
		},
		{
			name: "ensure user loses a creation race and reads the winner",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				spec := spec
				spec.DisplayName = ""
				c, created, err := a.EnsureUser(ctx, spec)
				return join(c.AccessKey, created), err
			},
			replies: []reply{
				notFound,
				{409, `{"Code":"UserAlreadyExists"}`},
				{200, userJSON("suwon", "tenant-suwon", []string{"tenant-suwon"}, true)},
			},
			want: []seenRequest{
				{"GET", "/admin/user", q("uid", "suwon")},
				{"PUT", "/admin/user", q("uid", "suwon", "display-name", "suwon", "key-type", "s3", "generate-key", "true",
					"max-buckets", "10", "default-placement", "tenant-suwon", "placement-tags", "tenant-suwon")},
				{"GET", "/admin/user", q("uid", "suwon")},
			},
			wantResult: "AKsuwon false",
		},
		{
			name: "ensure user gives a keyless user a key",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				c, created, err := a.EnsureUser(ctx, UserSpec{UID: "suwon"})
				return join(c.AccessKey, created), err
			},
			replies: []reply{
				{200, userJSON("suwon", "", nil, false)},
				{200, `[{"user":"suwon","access_key":"NEWKEY","secret_key":"` + tenantSecret + `"}]`},
			},
			want: []seenRequest{
				{"GET", "/admin/user", q("uid", "suwon")},
				{"PUT", "/admin/user", q("key", "", "uid", "suwon", "key-type", "s3", "generate-key", "true")},
			},
			wantResult: "NEWKEY false",
		},
		{
			name:    "delete user with purge",
			call:    func(ctx context.Context, a *AdminOps) (any, error) { return nil, a.DeleteUser(ctx, "suwon", true) },
			replies: []reply{{200, ""}},
			want:    []seenRequest{{"DELETE", "/admin/user", q("uid", "suwon", "purge-data", "true")}},
		},
		{
			name:    "delete of a missing user succeeds",
			call:    func(ctx context.Context, a *AdminOps) (any, error) { return nil, a.DeleteUser(ctx, "suwon", false) },
			replies: []reply{notFound},
			want:    []seenRequest{{"DELETE", "/admin/user", q("uid", "suwon", "purge-data", "false")}},
		},
		{
			name: "user quota",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				return nil, a.SetUserQuota(ctx, "suwon", Quota{Enabled: true, MaxSizeBytes: 4 << 20, MaxObjects: -1})
			},
			replies: []reply{{200, ""}},
			want: []seenRequest{{"PUT", "/admin/user", q("quota", "", "uid", "suwon", "quota-type", "user",
				"max-size", "4194304", "max-objects", "-1", "enabled", "true")}},
		},
		{
			name: "bucket quota",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				return nil, a.SetBucketQuota(ctx, "suwon", Quota{Enabled: false, MaxSizeBytes: 1, MaxObjects: 2})
			},
			replies: []reply{{200, ""}},
			want: []seenRequest{{"PUT", "/admin/user", q("quota", "", "uid", "suwon", "quota-type", "bucket",
				"max-size", "1", "max-objects", "2", "enabled", "false")}},
		},
		{
			name: "bucket stats",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				s, err := a.BucketStats(ctx, "tenant-suwon")
				return join(s.Owner, s.PlacementRule, s.SizeBytes(), s.NumObjects()), err
			},
			replies:    []reply{{200, `{"bucket":"tenant-suwon","owner":"suwon","placement_rule":"tenant-suwon","usage":{"rgw.main":{"size":42,"size_actual":4096,"num_objects":2}}}`}},
			want:       []seenRequest{{"GET", "/admin/bucket", q("stats", "true", "bucket", "tenant-suwon")}},
			wantResult: "suwon tenant-suwon 42 2",
		},
		{
			name: "user buckets",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				b, err := a.UserBuckets(ctx, "suwon")
				return strings.Join(b, ","), err
			},
			replies:    []reply{{200, `["tenant-suwon","other"]`}},
			want:       []seenRequest{{"GET", "/admin/bucket", q("uid", "suwon")}},
			wantResult: "tenant-suwon,other",
		},
		{
			name: "invalid uid is refused before any request",
			call: func(ctx context.Context, a *AdminOps) (any, error) {
				_, _, err := a.EnsureUser(ctx, UserSpec{UID: "a b"})
				return nil, err
			},
			wantErr: ErrInvalidArgument,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, a, logs := newFakeRGW(t, tt.replies...)
			got, err := tt.call(t.Context(), a)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantResult != nil && got != tt.wantResult {
				t.Errorf("result = %v, want %v", got, tt.wantResult)
			}
			if len(f.seen) != len(tt.want) {
				t.Fatalf("requests = %+v, want %+v", f.seen, tt.want)
			}
			for i := range tt.want {
				if f.seen[i].Method != tt.want[i].Method || f.seen[i].Path != tt.want[i].Path || !equalValues(f.seen[i].Query, tt.want[i].Query) {
					t.Errorf("request %d = %+v, want %+v", i, f.seen[i], tt.want[i])
				}
			}
			if len(f.replies) != 0 {
				t.Errorf("%d scripted replies unused", len(f.replies))
			}
			for _, secret := range []string{testSecretKey, tenantSecret} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("a secret key reached the log: %s", logs.String())
				}
			}
		})
	}
}

func join(vs ...any) string { return strings.TrimSpace(fmt.Sprintln(vs...)) }

func equalValues(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestAdminOpsErrors(t *testing.T) {
	tests := []struct {
		status   int
		body     string
		want     error
		wantCode string
	}{
		{404, `{"Code":"NoSuchUser"}`, ErrNoSuchUser, "NoSuchUser"},
		{404, `{"Code":"NoSuchBucket"}`, ErrNoSuchBucket, "NoSuchBucket"},
		{409, `{"Code":"UserAlreadyExists"}`, ErrUserExists, "UserAlreadyExists"},
		{409, `{"Code":"KeyExists"}`, ErrConflict, "KeyExists"},
		{403, `{"Code":"AccessDenied"}`, ErrAccessDenied, "AccessDenied"},
		{403, `{"Code":"InvalidAccessKeyId"}`, ErrAuthentication, "InvalidAccessKeyId"},
		{403, `{"Code":"SignatureDoesNotMatch"}`, ErrAuthentication, "SignatureDoesNotMatch"},
		{403, ``, ErrAccessDenied, ""},
		{400, `{"Code":"InvalidArgument"}`, ErrInvalidArgument, "InvalidArgument"},
		{400, `{"Code":"InvalidCap"}`, ErrInvalidArgument, "InvalidCap"},
		{500, `{"Code":"UnknownError"}`, ErrUnavailable, "UnknownError"},
		{503, `not json`, ErrUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(join(tt.status, tt.wantCode), func(t *testing.T) {
			_, a, _ := newFakeRGW(t, reply{tt.status, tt.body})
			_, err := a.BucketStats(t.Context(), "b")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Code != tt.wantCode {
				t.Fatalf("err = %#v, want status %d code %q", err, tt.status, tt.wantCode)
			}
			if !strings.Contains(err.Error(), "bucket stats b") {
				t.Errorf("message %q does not say what failed", err)
			}
		})
	}
}

func TestAdminOpsUnavailable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		endpoint := srv.URL
		srv.Close()
		a, err := NewAdminOps(AdminOpsConfig{Endpoint: endpoint, AccessKey: testAccessKey, SecretKey: testSecretKey})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.UserInfo(t.Context(), "suwon"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		a, err := NewAdminOps(AdminOpsConfig{Endpoint: srv.URL, AccessKey: testAccessKey, SecretKey: testSecretKey,
			HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = a.UserInfo(t.Context(), "suwon")
		if !errors.Is(err, ErrUnavailable) || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %v, want ErrUnavailable soon", err, time.Since(start))
		}
	})
}

func TestNewAdminOpsValidates(t *testing.T) {
	for _, cfg := range []AdminOpsConfig{
		{Endpoint: "127.0.0.1:7480", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "ftp://host", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "http://host"},
	} {
		if _, err := NewAdminOps(cfg); err == nil {
			t.Errorf("NewAdminOps(%+v) accepted", cfg.Endpoint)
		}
	}
}

func TestCredentialRedaction(t *testing.T) {
	c := Credential{AccessKey: "AK1", SecretKey: tenantSecret}
	p := Provisioned{TenantID: "suwon", Credential: c}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "cred", c, "provisioned", p, "key", UserKey{User: "u", Credential: c})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "cred", c, "provisioned", p)
	out := fmt.Sprintf("%v %+v %#v %v %+v %s", c, c, c, p, p, logs.String())
	if strings.Contains(out, tenantSecret) {
		t.Fatalf("secret printed: %s", out)
	}
	if !strings.Contains(out, "AK1") {
		t.Fatalf("access key missing from %s", out)
	}
}

// TestVerifySigV4 keeps the test verifier honest: it must reject what a real
// server rejects.
func TestVerifySigV4(t *testing.T) {
	sign := func(secret string) *http.Request {
		req := httptest.NewRequest(http.MethodPut, "http://rgw.test:7480/admin/user?uid=suwon&quota=&format=json", nil)
		req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		return signer.SignV4(*req, testAccessKey, secret, "", "us-east-1")
	}
	if err := verifySigV4(sign(testSecretKey), testAccessKey, testSecretKey); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	if err := verifySigV4(sign("wrong"), testAccessKey, testSecretKey); err == nil {
		t.Error("wrong secret accepted")
	}
	tampered := sign(testSecretKey)
	tampered.URL.RawQuery = "uid=seongnam&quota=&format=json"
	if err := verifySigV4(tampered, testAccessKey, testSecretKey); err == nil {
		t.Error("tampered query accepted")
	}
}
