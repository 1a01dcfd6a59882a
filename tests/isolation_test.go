package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// cell is one access attempt of the isolation matrix.
type cell struct {
	route, caller, target string
	denied                bool
	detail                string
}

// TestIsolationMatrix tries every route a tenant could use against every other
// tenant's resources and the platform's, prints the table, and fails on any
// cell that is not denied. Owners' own access is checked too, so a route that
// denies everyone cannot pass for isolation.
func TestIsolationMatrix(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tenants := []string{"suwon", "seongnam", "yongin"}
	admin := map[string]string{}
	for _, tn := range tenants {
		tok, _, err := stack.Store.IssueToken(context.Background(), tn, tenancy.RoleTenantAdmin)
		require.NoError(t, err)
		admin[tn] = tok
	}

	var denials, controls []cell
	for _, owner := range tenants {
		for _, intruder := range tenants {
			if owner == intruder {
				continue
			}
			denials = append(denials, s3Cells(ctx, t, intruder, owner)...)
			denials = append(denials, gatewayCells(t, admin[intruder], intruder, owner)...)
		}
		// Controls: the owner reaches its own resources.
		for _, c := range append(s3ReadCells(ctx, t, owner, owner), gatewayCells(t, admin[owner], owner, owner)...) {
			c.denied = !c.denied
			controls = append(controls, c)
		}
	}
	for _, tn := range tenants {
		denials = append(denials, platformBucketCells(ctx, t, tn)...)
	}
	denials = append(denials, tokenCells(t)...)

	printMatrix(t, denials, controls)
	for _, c := range denials {
		assert.True(t, c.denied, "NOT DENIED: %s by %s on %s (%s)", c.route, c.caller, c.target, c.detail)
	}
	for _, c := range controls {
		assert.True(t, c.denied, "owner refused its own resource: %s by %s (%s)", c.route, c.caller, c.detail)
	}
}

func s3Client(t *testing.T, tenant string) *minio.Client {
	t.Helper()
	cred, err := stack.Store.S3CredentialFor(context.Background(), tenant)
	require.NoError(t, err)
	c, err := stack.S3Client(cred)
	require.NoError(t, err)
	return c
}

func s3Denied(err error) (bool, string) {
	if err == nil {
		return false, "allowed"
	}
	return objstore.IsAccessDenied(err), minio.ToErrorResponse(err).Code
}

// s3ReadCells are the read verbs, used both as denials and as owner controls.
func s3ReadCells(ctx context.Context, t *testing.T, caller, owner string) []cell {
	c := s3Client(t, caller)
	bucket, key := objstore.TenantBucket(owner), "uploads/"+owner+".jsonl"
	var cells []cell
	add := func(route string, err error) {
		d, why := s3Denied(err)
		cells = append(cells, cell{route: route, caller: caller, target: owner, denied: d, detail: why})
	}
	_, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	add("s3 stat", err)
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err == nil {
		_, err = io.Copy(io.Discard, obj)
		obj.Close()
	}
	add("s3 get", err)
	err = nil
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		err = o.Err
		break
	}
	add("s3 list", err)
	_, err = c.GetBucketPolicy(ctx, bucket)
	add("s3 get-policy", err)
	return cells
}

func s3Cells(ctx context.Context, t *testing.T, caller, owner string) []cell {
	cells := s3ReadCells(ctx, t, caller, owner)
	c := s3Client(t, caller)
	bucket := objstore.TenantBucket(owner)
	add := func(route string, err error) {
		d, why := s3Denied(err)
		cells = append(cells, cell{route: route, caller: caller, target: owner, denied: d, detail: why})
	}
	_, err := c.PutObject(ctx, bucket, "uploads/planted.jsonl", strings.NewReader("{}"), 2, minio.PutObjectOptions{})
	add("s3 put", err)
	add("s3 delete", c.RemoveObject(ctx, bucket, "uploads/"+owner+".jsonl", minio.RemoveObjectOptions{}))
	add("s3 put-policy", c.SetBucketPolicy(ctx, bucket, `{"Version":"2012-10-17","Statement":[]}`))
	add("s3 delete-bucket", c.RemoveBucket(ctx, bucket))
	return cells
}

func platformBucketCells(ctx context.Context, t *testing.T, tenant string) []cell {
	c := s3Client(t, tenant)
	var cells []cell
	for _, bucket := range []string{objstore.BucketStaging, objstore.BucketQuarantine, objstore.BucketAITraining, objstore.BucketModelRegistry, objstore.BucketCheckpoints} {
		var err error
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			err = o.Err
			break
		}
		d, why := s3Denied(err)
		cells = append(cells, cell{route: "s3 list", caller: tenant, target: bucket, denied: d, detail: why})
		_, err = c.PutObject(ctx, bucket, "planted", strings.NewReader("x"), 1, minio.PutObjectOptions{})
		d, why = s3Denied(err)
		cells = append(cells, cell{route: "s3 put", caller: tenant, target: bucket, denied: d, detail: why})
	}
	return cells
}

func gatewayCells(t *testing.T, token, caller, owner string) []cell {
	ingestion := workflows.DataIngestionID(owner, "uploads/"+owner+".jsonl")
	routes := []struct {
		name, method, path string
		body               []byte
	}{
		{"api uploads list", http.MethodGet, "/v1/tenants/" + owner + "/uploads", nil},
		{"api upload put", http.MethodPut, "/v1/tenants/" + owner + "/uploads/isolation-probe.jsonl", []byte("{}\n")},
		{"api datasets", http.MethodGet, "/v1/tenants/" + owner + "/datasets", nil},
		{"api workflow status", http.MethodGet, "/v1/tenants/" + owner + "/workflows/" + ingestion, nil},
		{"api models", http.MethodGet, "/v1/tenants/" + owner + "/models", nil},
		{"api audit", http.MethodGet, "/v1/tenants/" + owner + "/audit", nil},
		{"api s3 credentials", http.MethodGet, "/v1/tenants/" + owner + "/s3-credentials", nil},
	}
	var cells []cell
	for _, r := range routes {
		code := call(t, r.method, r.path, token, r.body)
		cells = append(cells, cell{route: r.name, caller: caller, target: owner,
			denied: code == http.StatusForbidden || code == http.StatusUnauthorized || code == http.StatusNotFound, detail: fmt.Sprint(code)})
	}
	if caller != owner {
		// Through its own path, a tenant still cannot see another's workflow.
		code := call(t, http.MethodGet, "/v1/tenants/"+caller+"/workflows/"+ingestion, token, nil)
		cells = append(cells, cell{route: "api workflow via own path", caller: caller, target: owner,
			denied: code == http.StatusNotFound || code == http.StatusForbidden, detail: fmt.Sprint(code)})
	}
	return cells
}

// tokenCells: expired, revoked, malformed and absent tokens, and tenant tokens
// on platform-wide routes.
func tokenCells(t *testing.T) []cell {
	expired, _, err := stack.Store.IssueTokenTTL(context.Background(), "suwon", tenancy.RoleTenantAdmin, time.Nanosecond)
	require.NoError(t, err)
	revoked, tok, err := stack.Store.IssueToken(context.Background(), "suwon", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	require.NoError(t, stack.Store.RevokeToken(context.Background(), tok.ID))
	admin, _, err := stack.Store.IssueToken(context.Background(), "suwon", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	client, _, err := stack.Store.IssueToken(context.Background(), "suwon", tenancy.RoleTenantClient)
	require.NoError(t, err)

	cases := []struct {
		name, token, path string
	}{
		{"expired token", expired, "/v1/tenants/suwon/uploads"},
		{"revoked token", revoked, "/v1/tenants/suwon/uploads"},
		{"no token", "", "/v1/tenants/suwon/uploads"},
		{"malformed token", "dure_x", "/v1/tenants/suwon/uploads"},
		{"client role on uploads", client, "/v1/tenants/suwon/uploads"},
		{"tenant admin on platform models", admin, "/v1/models"},
		{"tenant admin on a model version", admin, "/v1/models/1"},
	}
	var cells []cell
	for _, c := range cases {
		code := call(t, http.MethodGet, c.path, c.token, nil)
		cells = append(cells, cell{route: c.name, caller: "suwon", target: c.path,
			denied: code == http.StatusUnauthorized || code == http.StatusForbidden, detail: fmt.Sprint(code)})
	}
	code := call(t, http.MethodPost, "/v1/classify", expired, []byte(`{"title":"t","body":"b"}`))
	cells = append(cells, cell{route: "expired token on classify", caller: "suwon", target: "/v1/classify",
		denied: code == http.StatusUnauthorized, detail: fmt.Sprint(code)})
	return cells
}

func call(t *testing.T, method, path, token string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(method, stack.GatewayURL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func printMatrix(t *testing.T, denials, controls []cell) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-28s %-9s %-16s %-8s %s\n", "route", "caller", "target", "result", "detail")
	rows := append([]cell(nil), denials...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].route < rows[j].route })
	for _, c := range rows {
		result := "denied"
		if !c.denied {
			result = "ALLOWED"
		}
		fmt.Fprintf(&b, "%-28s %-9s %-16s %-8s %s\n", c.route, c.caller, c.target, result, c.detail)
	}
	denied := 0
	for _, c := range denials {
		if c.denied {
			denied++
		}
	}
	ownerOK := 0
	for _, c := range controls {
		if c.denied {
			ownerOK++
		}
	}
	fmt.Fprintf(&b, "cross-tenant and platform cells: %d, denied: %d, allowed: %d\n", len(denials), denied, len(denials)-denied)
	fmt.Fprintf(&b, "owner controls: %d, allowed as expected: %d\n", len(controls), ownerOK)
	t.Log(b.String())
}
