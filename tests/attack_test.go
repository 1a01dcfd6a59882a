package tests

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dure-platform/dure/internal/apiclient"
	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/demo"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/pki"
	"github.com/dure-platform/dure/internal/service"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/tenantapi"
	"github.com/dure-platform/dure/tests/testkit"
	"github.com/dure-platform/dure/workflows"
)

// The attacks in this file were tried on a running dure by an outsider; each
// test replays one and fails if it works again.

// An unauthenticated request naming a 600,000-character tenant once wrote a
// 1.2 MB audit line that broke every later read of the log and the next start.
func TestAttackHugeTenantIDLeavesTheAuditLogAlone(t *testing.T) {
	ctx := context.Background()
	before := auditLen(t, "")
	huge := strings.Repeat("a", 600_000)
	assert.Contains(t, []int{http.StatusNotFound, http.StatusRequestHeaderFieldsTooLarge},
		call(t, http.MethodGet, "/v1/tenants/"+huge+"/uploads", "", nil), "refused before anything is done")
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, "/v1/tenants/"+strings.Repeat("a", 20_000)+"/uploads", "", nil))
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodGet, "/v1/tenants/"+strings.Repeat("가", 40)+"/audit", "", nil))
	assert.Equal(t, before, auditLen(t, ""), "a path that names no tenant writes nothing")

	// Whatever a caller sends, an entry stays small and the log stays readable.
	events, err := stack.Audit.Query(ctx, "")
	require.NoError(t, err)
	for _, e := range events {
		assert.Less(t, len(e.Detail)+len(e.Subject)+len(e.Actor)+len(e.Tenant), 4096, "entry %d", e.Seq)
	}
	require.NoError(t, stack.Audit.Verify(ctx))
}

// Requests without a valid token once wrote one entry each into the trail of
// the tenant they named: anyone could fill a city's audit trail.
func TestAttackAnonymousRefusalsDoNotFloodATenantsTrail(t *testing.T) {
	const tenant = "seongnam"
	before := anonymousEntries(t, tenant)
	for i := range 50 {
		token := ""
		if i%2 == 1 {
			token = "dure_forged_token"
		}
		assert.Equal(t, http.StatusUnauthorized, call(t, http.MethodGet, "/v1/tenants/"+tenant+"/uploads", token, nil))
	}
	assert.LessOrEqual(t, anonymousEntries(t, tenant)-before, 1, "50 refusals without a valid token make at most one entry a minute")

	// A caller with a valid token is still audited on every refusal.
	other, _, err := stack.Store.IssueToken(context.Background(), "yongin", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	denied := deniedEntries(t, tenant)
	for range 3 {
		assert.Equal(t, http.StatusForbidden, call(t, http.MethodGet, "/v1/tenants/"+tenant+"/uploads", other, nil))
	}
	assert.Equal(t, denied+3, deniedEntries(t, tenant))
}

// Twenty concurrent rotations of one token once left seven live tokens, and a
// rotation racing a revocation revived the revoked token.
func TestAttackConcurrentRotationsLeaveOneLiveToken(t *testing.T) {
	ctx := context.Background()
	admin, _, err := stack.Store.IssueToken(ctx, "yongin", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	_, target, err := stack.Store.IssueToken(ctx, "yongin", tenancy.RoleTenantUploader)
	require.NoError(t, err)
	before := liveTokens(t, "yongin")

	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			if i == 10 {
				codes[i] = call(t, http.MethodDelete, "/v1/tenants/yongin/tokens/"+target.ID, admin, nil)
				return
			}
			codes[i] = call(t, http.MethodPost, "/v1/tenants/yongin/tokens/"+target.ID+"/rotate", admin, nil)
		})
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == http.StatusOK {
			ok++
		}
	}
	live := liveTokens(t, "yongin")
	tok, err := stack.Store.Token(ctx, target.ID)
	require.NoError(t, err)
	assert.NotNil(t, tok.RevokedAt, "the target ends revoked")
	// The revocation and at most one rotation succeed; a rotation that won
	// before the revocation leaves one successor.
	assert.LessOrEqual(t, ok, 2, "codes %v", codes)
	assert.LessOrEqual(t, live-before+1, 1, "at most one live successor, never the revived original")
}

func auditLen(t *testing.T, tenant string) int {
	t.Helper()
	events, err := stack.Audit.Query(context.Background(), tenant)
	require.NoError(t, err)
	return len(events)
}

func anonymousEntries(t *testing.T, tenant string) int {
	t.Helper()
	n := 0
	for _, e := range auditEvents(t, tenant) {
		if e.Action == audit.ActionDenied && e.Actor == "anonymous" {
			n++
		}
	}
	return n
}

func deniedEntries(t *testing.T, tenant string) int {
	t.Helper()
	n := 0
	for _, e := range auditEvents(t, tenant) {
		if e.Action == audit.ActionDenied {
			n++
		}
	}
	return n
}

func auditEvents(t *testing.T, tenant string) []audit.Event {
	t.Helper()
	events, err := stack.Audit.Query(context.Background(), tenant)
	require.NoError(t, err)
	return events
}

func liveTokens(t *testing.T, tenant string) int {
	t.Helper()
	toks, err := stack.Store.Tokens(context.Background(), tenant)
	require.NoError(t, err)
	n := 0
	for _, tk := range toks {
		if tk.Live(time.Now()) {
			n++
		}
	}
	return n
}

// The data dir once held S3 objects and the Temporal database readable by
// every user of the host.
func TestAttackDataFilesArePrivate(t *testing.T) {
	var open []string
	err := filepath.WalkDir(stack.Config.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Type()&fs.ModeSymlink == 0 && info.Mode().Perm()&0o077 != 0 {
			open = append(open, fmt.Sprintf("%s %s", info.Mode().Perm(), path))
		}
		return nil
	})
	require.NoError(t, err)
	assert.Empty(t, open, "files and folders others may read")
}

// Answers that were 500 for a client's mistake.
func TestAttackClientMistakesGet4xx(t *testing.T) {
	ctx := context.Background()
	uploader, _, err := stack.Store.IssueToken(ctx, "suwon", tenancy.RoleTenantUploader)
	require.NoError(t, err)
	client, _, err := stack.Store.IssueToken(ctx, "suwon", tenancy.RoleTenantClient)
	require.NoError(t, err)
	operator, _, err := stack.Store.IssueToken(ctx, "", tenancy.RoleOperator)
	require.NoError(t, err)

	for _, name := range []string{"a%00b.jsonl", strings.Repeat("n", 1025) + ".jsonl", "%ff%fe.jsonl", "line%0abreak.jsonl"} {
		assert.Equal(t, http.StatusBadRequest, call(t, http.MethodPut, "/v1/tenants/suwon/uploads/"+name, uploader, []byte("{}")), "upload name %.20q", name)
	}
	assert.Equal(t, http.StatusBadRequest, call(t, http.MethodPost, "/v1/classify", client, []byte("{\"title\":\"\xff\xfe\",\"body\":\"x\"}")),
		"invalid UTF-8 in a classify body")

	// A decision on an ingestion that has finished.
	done := workflows.DataIngestionID("suwon", "uploads/suwon.jsonl")
	assert.Equal(t, http.StatusConflict, call(t, http.MethodPost, "/v1/tenants/suwon/workflows/"+done+"/decision", operator, []byte(`{"approve":true}`)))
}

// Rejected records once sat in the shared quarantine bucket with their
// personal data in clear.
func TestAttackQuarantineHoldsNoPersonalDataInClear(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const phone, email, rrn = "010-2345-6789", "hong.gildong@example.com", "900101-1234568"
	body := strings.Join([]string{
		`{"id":"q-1","received_at":"2024-06-01","title":"가로등 고장","body":"가로등이 꺼져 있습니다. 연락처 ` + phone + `","department":"없는 부서"}`,
		`{"id":"q-2","received_at":"2024-06-02","title":"민원 회신 요청","body":"회신은 ` + email + ` 로, 주민번호 ` + rrn + `","department":""}`,
		`{"id":"q-3","received_at":"2024-06-03","title":"보도블록 파손","body":"보도블록이 깨져 위험합니다.","department":"안전/환경"}`,
	}, "\n")
	run := uploadAndIngest(ctx, t, "yongin", "uploads/attack-quarantine.jsonl", body, "test-attack-quarantine")
	st := waitForScreened(ctx, t, run)
	require.NotNil(t, st.Screen)
	require.Equal(t, 2, st.Screen.RecordsRejected)
	require.NotEmpty(t, st.Screen.QuarantineKey)

	platform, err := stack.S3Client(stack.Platform)
	require.NoError(t, err)
	obj, err := platform.GetObject(ctx, objstore.BucketQuarantine, st.Screen.QuarantineKey, minio.GetObjectOptions{})
	require.NoError(t, err)
	raw, err := io.ReadAll(obj)
	require.NoError(t, err)
	require.Contains(t, string(raw), "가로등", "the rejected record is kept for the tenant to fix")
	for _, secret := range []string{phone, email, rrn} {
		assert.NotContains(t, string(raw), secret)
	}
	require.NoError(t, stack.Client.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
}

func waitForScreened(ctx context.Context, t *testing.T, run client.WorkflowRun) workflows.IngestionState {
	t.Helper()
	st, err := demo.AwaitScreened(ctx, stack.Client, run.GetID(), run.GetRunID(), 50*time.Millisecond, nil)
	require.NoError(t, err)
	return st
}

// A 100 MB upload once went into a 40 MB quota through the gateway, in
// multipart parts each under the quota, and a full quota answered 500.
func TestAttackMultipartUploadCannotPassTheQuota(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const quota = 40 << 20
	onboard(ctx, t, "test-onboard-hanam", workflows.TenantOnboardingInput{TenantID: "hanam", DisplayName: "하남시", StorageQuotaBytes: quota})
	uploader, _, err := stack.Store.IssueToken(ctx, "hanam", tenancy.RoleTenantUploader)
	require.NoError(t, err)

	big := make([]byte, 100<<20)
	assert.Equal(t, http.StatusInsufficientStorage, call(t, http.MethodPut, "/v1/tenants/hanam/uploads/big.jsonl", uploader, big))
	big = nil

	// Straight to S3 with the tenant's own keys, part by part.
	c := s3Client(t, "hanam")
	_, err = c.PutObject(ctx, objstore.TenantBucket("hanam"), "direct.jsonl", bytes.NewReader(make([]byte, 60<<20)), 60<<20,
		minio.PutObjectOptions{PartSize: 8 << 20})
	assert.Equal(t, "QuotaExceeded", minio.ToErrorResponse(err).Code, "%v", err)

	var stored int64
	for obj := range c.ListObjects(ctx, objstore.TenantBucket("hanam"), minio.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, obj.Err)
		stored += obj.Size
	}
	assert.LessOrEqual(t, stored, int64(quota), "nothing past the quota was stored")
	for up := range c.ListIncompleteUploads(ctx, objstore.TenantBucket("hanam"), "", true) {
		require.NoError(t, up.Err)
		t.Errorf("an interrupted multipart upload was left behind: %s", up.Key)
	}
	assert.Equal(t, http.StatusOK, call(t, http.MethodPut, "/v1/tenants/hanam/uploads/small.jsonl", uploader, make([]byte, 1<<20)),
		"what fits still fits")
}

// Tenants had no supported way to get their own S3 keys: only by reading the
// platform's files, which held the platform's secrets too. The tenant admin
// now fetches and rotates them through the gateway, and only that role.
func TestTenantAdminFetchesAndRotatesItsS3Key(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, adminTok, err := stack.Store.IssueToken(ctx, "seongnam", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	uploader, _, err := stack.Store.IssueToken(ctx, "seongnam", tenancy.RoleTenantUploader)
	require.NoError(t, err)
	otherAdmin, _, err := stack.Store.IssueToken(ctx, "yongin", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	platformAdmin, _, err := stack.Store.IssueToken(ctx, "", tenancy.RolePlatformAdmin)
	require.NoError(t, err)
	for name, tok := range map[string]string{"uploader": uploader, "another tenant's admin": otherAdmin, "platform admin": platformAdmin} {
		assert.Equal(t, http.StatusForbidden, call(t, http.MethodGet, "/v1/tenants/seongnam/s3-credentials", tok, nil), name)
		assert.Equal(t, http.StatusForbidden, call(t, http.MethodPost, "/v1/tenants/seongnam/s3-credentials/rotate", tok, nil), name)
	}

	api := &apiclient.Client{BaseURL: stack.GatewayURL, Token: admin}
	var key tenantapi.S3Key
	require.NoError(t, api.Do(ctx, http.MethodGet, "/v1/tenants/seongnam/s3-credentials", nil, &key))
	own, err := objstore.Client(objstore.Endpoint{Address: key.Endpoint, Region: key.Region}, key.AccessKey, key.SecretKey)
	require.NoError(t, err)
	_, err = own.StatObject(ctx, key.Bucket, "uploads/seongnam.jsonl", minio.StatObjectOptions{})
	require.NoError(t, err, "the fetched key reaches the tenant's bucket")

	var rotated tenantapi.S3Key
	require.NoError(t, api.Do(ctx, http.MethodPost, "/v1/tenants/seongnam/s3-credentials/rotate", nil, &rotated))
	assert.NotEqual(t, key.AccessKey, rotated.AccessKey)
	_, err = own.StatObject(ctx, key.Bucket, "uploads/seongnam.jsonl", minio.StatObjectOptions{})
	assert.Error(t, err, "the old key is refused")
	fresh, err := objstore.Client(objstore.Endpoint{Address: rotated.Endpoint, Region: rotated.Region}, rotated.AccessKey, rotated.SecretKey)
	require.NoError(t, err)
	_, err = fresh.StatObject(ctx, rotated.Bucket, "uploads/seongnam.jsonl", minio.StatObjectOptions{})
	require.NoError(t, err, "the new key reaches the bucket")
	body := "{}\n"
	_, err = fresh.PutObject(ctx, rotated.Bucket, "uploads/after-rotation.jsonl", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	require.NoError(t, err, "and writes to it")

	var read, rotations int
	for _, e := range auditEvents(t, "seongnam") {
		if e.Actor == "token:"+adminTok.ID && e.Action == audit.ActionS3KeyRead {
			read++
		}
		if e.Actor == "token:"+adminTok.ID && e.Action == audit.ActionS3KeyRotate {
			rotations++
		}
	}
	assert.Equal(t, 1, read, "every read of the secret is audited")
	assert.Equal(t, 1, rotations)
}

// A replica once classified for anyone who reached its port, tenant token or
// not; it answers only the gateway now.
func TestAttackReplicaRefusesCallersOtherThanTheGateway(t *testing.T) {
	ctx := context.Background()
	client, _, err := stack.Store.IssueToken(ctx, "suwon", tenancy.RoleTenantClient)
	require.NoError(t, err)
	body := []byte(`{"title":"가로등","body":"가로등이 꺼져 있습니다"}`)
	for name, url := range stack.ReplicaURLs {
		for _, token := range []string{"", client, "dure_forged_x"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/classify", bytes.NewReader(body))
			require.NoError(t, err)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s with token %.10q", name, token)
		}
	}
	assert.Equal(t, http.StatusOK, call(t, http.MethodPost, "/v1/classify", client, body), "through the gateway it works")
}

// A tenant's S3 identity once created unquota'd buckets, and squatted
// tenant-<future> so that the later onboarding failed.
func TestAttackTenantsCannotCreateBuckets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s3Client(t, "suwon")
	for _, name := range []string{objstore.TenantBucket("gwacheon"), "suwon-side-bucket"} {
		err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{})
		assert.True(t, objstore.IsAccessDenied(err), "%s: %v", name, err)
	}
	// A name taken by someone else is refused at onboarding, clearly.
	platform, err := stack.S3Client(stack.Platform)
	require.NoError(t, err)
	require.NoError(t, platform.MakeBucket(ctx, objstore.TenantBucket("gwacheon"), minio.MakeBucketOptions{}))
	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-onboard-gwacheon", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeTenantOnboarding, workflows.TenantOnboardingInput{TenantID: "gwacheon", DisplayName: "과천시"})
	require.NoError(t, err)
	err = run.Get(ctx, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "belongs to another identity")
	_, err = stack.Store.Tenant(ctx, "gwacheon")
	assert.ErrorIs(t, err, tenancy.ErrNotFound, "the failed onboarding left no tenant")
	require.NoError(t, platform.RemoveBucket(ctx, objstore.TenantBucket("gwacheon")))
}

// Anyone who reached the Temporal frontend could start workflows and send
// approvals. The frontend now speaks mutual TLS: without a certificate of
// the platform's CA nothing gets through.
func TestAttackTemporalRefusesClientsWithoutACertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := stack.TemporalAddress()
	tlsOf := func(withCert bool, caFile string) *tls.Config {
		pem, err := os.ReadFile(caFile)
		require.NoError(t, err)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(pem))
		cfg := &tls.Config{RootCAs: pool}
		if withCert {
			cert, err := tls.LoadX509KeyPair(stack.Config.TemporalTLS.CertFile, stack.Config.TemporalTLS.KeyFile)
			require.NoError(t, err)
			cfg.Certificates = []tls.Certificate{cert}
		}
		return cfg
	}
	other, err := pki.OpenAuthority(t.TempDir())
	require.NoError(t, err)
	for name, opts := range map[string]client.ConnectionOptions{
		"plaintext":                 {},
		"TLS without a certificate": {TLS: tlsOf(false, stack.Config.TemporalTLS.CAFile)},
	} {
		_, err := client.DialContext(ctx, client.Options{HostPort: addr, ConnectionOptions: opts})
		assert.Error(t, err, name)
	}
	stranger, err := other.Issue("operator")
	require.NoError(t, err)
	cfg := tlsOf(false, stack.Config.TemporalTLS.CAFile)
	cert, err := tls.LoadX509KeyPair(stranger.CertFile, stranger.KeyFile)
	require.NoError(t, err)
	cfg.Certificates = []tls.Certificate{cert}
	_, err = client.DialContext(ctx, client.Options{HostPort: addr, ConnectionOptions: client.ConnectionOptions{TLS: cfg}})
	assert.Error(t, err, "a certificate of another CA")

	c, err := client.DialContext(ctx, client.Options{HostPort: addr, ConnectionOptions: client.ConnectionOptions{TLS: tlsOf(true, stack.Config.TemporalTLS.CAFile)}})
	require.NoError(t, err, "a certificate of the platform's CA")
	c.Close()
}

// Anyone who reached the frontend could start onboarding or approve a batch.
// Each certificate's role now decides what its holder may call: a worker's
// certificate approves nothing and onboards no one.
func TestAttackRolesCallOnlyWhatTheyDo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, err := pki.OpenAuthority(filepath.Join(stack.Config.DataDir, "pki"))
	require.NoError(t, err)
	dial := func(role string) client.Client {
		b, err := ca.Issue(role)
		require.NoError(t, err)
		cfg, err := service.ClientTLS(config.TLSFiles{CAFile: b.CAFile, CertFile: b.CertFile, KeyFile: b.KeyFile})
		require.NoError(t, err)
		c, err := client.DialContext(ctx, client.Options{HostPort: stack.TemporalAddress(), Namespace: stack.Config.Namespace,
			ConnectionOptions: client.ConnectionOptions{TLS: cfg}, DataConverter: stack.Codec.DataConverter()})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		return c
	}
	denied := func(err error) bool {
		var pd *serviceerror.PermissionDenied
		return errors.As(err, &pd)
	}
	onboard := func(c client.Client) error {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "attack-onboarding", TaskQueue: workflows.TaskQueueControlPlane},
			workflows.TypeTenantOnboarding, workflows.TenantOnboardingInput{TenantID: "attacker", DisplayName: "x"})
		return err
	}
	approve := func(c client.Client) error {
		return c.SignalWorkflow(ctx, "attack-no-such-batch", "", workflows.SignalApprove, workflows.Decision{Operator: "invented"})
	}
	for _, role := range []string{"gpu-host", "quality-gate", "control-plane", "gateway", "someone"} {
		c := dial(role)
		assert.True(t, denied(onboard(c)), "%s starts onboarding", role)
		assert.True(t, denied(approve(c)), "%s signals an approval", role)
	}
	// An operator may: the signal finds no such batch, which it is told.
	err = approve(dial("operator"))
	var notFound *serviceerror.NotFound
	assert.True(t, errors.As(err, &notFound), "an operator's approval reaches the server: %v", err)
}

// An operator's approval once named whoever the signal's JSON said, and the
// dataset and the audit log recorded the invented name. The decision is now
// the certificate's: the frontend writes the authenticated sender into the
// signal's header, and the workflow records it whatever the payload claims.
func TestAttackDecisionIsRecordedAsItsAuthenticatedSender(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := `{"id":"p-1","received_at":"2024-07-01","title":"가로등","body":"골목 가로등이 꺼져 있습니다.","department":"안전/환경"}` + "\n"
	run := ingestAwaitingApproval(ctx, t, "yongin", "uploads/principal-batch.jsonl", body, "test-principal-batch")

	require.NoError(t, operator.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.SignalApprove,
		workflows.Decision{Approve: true, Operator: "mallory", Sender: "operator:boss", Reason: "looks fine"}))
	var res workflows.DataIngestionResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, workflows.DecisionApproved, res.Decision)
	assert.Equal(t, "operator:demo", res.Operator, "the certificate's operator, not the names in the payload")

	approvals := 0
	for _, e := range auditEvents(t, "yongin") {
		if e.Subject == "workflow:"+run.GetID() && e.Action == audit.ActionApprove {
			approvals++
			assert.Equal(t, "operator:demo", e.Actor)
		}
	}
	assert.Equal(t, 1, approvals, "one approval in the tenant's trail")

	// History names the sender of the signal too, for whoever reads it in the UI.
	it := stack.Client.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	signals := 0
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if e.GetWorkflowExecutionSignaledEventAttributes() != nil {
			signals++
			assert.Equal(t, "operator:demo", e.GetPrincipal().GetName())
		}
	}
	assert.Equal(t, 1, signals)
}

// A decision from a caller that no one authenticated as an operator is
// refused by the workflow too, should one get past the authorizer: the
// dev process's own certificate may call anything, but decides nothing.
func TestAttackDecisionFromANonOperatorIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := `{"id":"n-1","received_at":"2024-07-02","title":"도로 파손","body":"도로에 구멍이 나서 위험합니다.","department":"안전/환경"}` + "\n"
	run := ingestAwaitingApproval(ctx, t, "yongin", "uploads/non-operator-batch.jsonl", body, "test-non-operator-batch")

	h, err := stack.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: workflows.UpdateDecide, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.Decision{Approve: true, Operator: "kim", Sender: "operator:kim"}},
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "may not decide")
	assert.Equal(t, workflows.StageAwaitingApproval, waitForScreened(ctx, t, run).Stage)
	require.NoError(t, stack.Client.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
}

// A client that started a multipart upload and vanished left its parts
// behind for good: they counted against the tenant's quota, and nothing
// removed them. The control plane now aborts uploads older than
// multipart-max-age, and the space comes back.
func TestAttackAbandonedMultipartUploadIsAbortedAndFreesTheQuota(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const quota = 10 << 20
	onboard(ctx, t, "test-onboard-guri", workflows.TenantOnboardingInput{TenantID: "guri", DisplayName: "구리시", StorageQuotaBytes: quota})
	bucket := objstore.TenantBucket("guri")
	c := s3Client(t, "guri")
	core := minio.Core{Client: c}

	id, err := core.NewMultipartUpload(ctx, bucket, "interrupted.jsonl", minio.PutObjectOptions{})
	require.NoError(t, err)
	part := bytes.Repeat([]byte("x"), 6<<20)
	_, err = core.PutObjectPart(ctx, bucket, "interrupted.jsonl", id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{})
	require.NoError(t, err)
	// The client goes away here, without completing or aborting.
	_, err = c.PutObject(ctx, bucket, "next.jsonl", bytes.NewReader(part), int64(len(part)), minio.PutObjectOptions{})
	assert.Equal(t, "QuotaExceeded", minio.ToErrorResponse(err).Code, "the abandoned parts hold their space: %v", err)

	sweeper := service.AbandonedUploads{Store: stack.Store, S3: stack.S3Endpoint, MaxAge: stack.Config.MultipartMaxAge, Logger: testkit.Logger(t)}
	aborted, err := sweeper.Sweep(ctx, time.Now())
	require.NoError(t, err)
	assert.Zero(t, aborted, "an upload younger than multipart-max-age is left alone")
	aborted, err = sweeper.Sweep(ctx, time.Now().Add(stack.Config.MultipartMaxAge+time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, aborted)
	for up := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		require.NoError(t, up.Err)
		t.Errorf("the abandoned upload is still there: %s", up.Key)
	}
	_, err = c.PutObject(ctx, bucket, "next.jsonl", bytes.NewReader(part), int64(len(part)), minio.PutObjectOptions{})
	assert.NoError(t, err, "the space is free again")
}

// Operators approve from the Web UI, as the brief's users do. dure dev's UI
// has no login: it reaches the frontend with its own certificate (web-ui)
// and acts as the operator operator:web-ui, whom the decision names.
func TestOperatorApprovesFromTheWebUI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := `{"id":"w-1","received_at":"2024-07-03","title":"쓰레기 수거","body":"골목 쓰레기가 수거되지 않았습니다.","department":"안전/환경"}` + "\n"
	run := ingestAwaitingApproval(ctx, t, "suwon", "uploads/web-ui-batch.jsonl", body, "test-web-ui-batch")

	// What the browser does: take the UI's CSRF cookie, encode the input
	// through the codec endpoint (here the codec itself), send the signal.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(stack.TemporalUIURL() + "/api/v1/settings")
	require.NoError(t, err)
	resp.Body.Close()
	u, err := url.Parse(stack.TemporalUIURL())
	require.NoError(t, err)
	var csrf string
	for _, c := range jar.Cookies(u) {
		if c.Name == "_csrf" {
			csrf = c.Value
		}
	}
	require.NotEmpty(t, csrf, "the UI hands out its CSRF cookie")
	input, err := stack.Codec.DataConverter().ToPayloads(workflows.Decision{Approve: true, Operator: "someone-else", Reason: "checked in the UI"})
	require.NoError(t, err)
	signal, err := protojson.Marshal(&workflowservice.SignalWorkflowExecutionRequest{Input: input})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/namespaces/%s/workflows/%s/signal/%s",
		stack.TemporalUIURL(), stack.Config.Namespace, run.GetID(), workflows.SignalApprove), bytes.NewReader(signal))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err = browser.Do(req)
	require.NoError(t, err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", answer)

	var res workflows.DataIngestionResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, workflows.DecisionApproved, res.Decision)
	assert.Equal(t, "operator:web-ui", res.Operator)
}
