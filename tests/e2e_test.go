// Package tests drives the platform end to end: the embedded Temporal server and
// S3 server, real workers, replicas and gateway, all in this test process.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/demo"
	"github.com/dure-platform/dure/internal/devstack"
	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/tests/testkit"
	"github.com/dure-platform/dure/workflows"
)

// The embedded S3 server allows one instance per process, so every test in this
// package shares one stack, started by TestMain.
var (
	stack *devstack.Stack
	// operator is the Temporal client of the operator "demo", whose
	// certificate the local CA issued: the demo and the tests decide
	// batches with it.
	operator client.Client
	summary  demo.Summary
	// runner is the demo TestMain ran.
	runner *demo.Runner
	repo   string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repo = filepath.Dir(wd)
	dir, err := os.MkdirTemp("", "dure-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	cfg := config.Default()
	cfg.DataDir = dir
	cfg.SampleDataDir = filepath.Join(repo, "data", "complaints")
	cfg.TemporalPort, cfg.S3Port, cfg.GatewayPort, cfg.OpsPort = 0, 0, 0, 0
	if cfg.UIPort, err = devstack.FreePort("127.0.0.1"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg.InferencePorts = []int{0, 0}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	stack, err = devstack.Start(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start stack:", err)
		return 1
	}
	defer stack.Close()

	operator, err = stack.DialOperator(ctx, "demo")
	if err != nil {
		fmt.Fprintln(os.Stderr, "operator client:", err)
		return 1
	}
	defer operator.Close()
	runner = &demo.Runner{
		Temporal: stack.Client, Operator: operator, Store: stack.Store, S3: stack.S3Endpoint, GatewayURL: stack.GatewayURL,
		SampleDir: cfg.SampleDataDir, TokenDir: stack.TokenDir, Logger: logger, PollInterval: 50 * time.Millisecond,
	}
	summary, err = runner.Run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo flow:", err)
		return 1
	}
	return m.Run()
}

func TestDemoSummary(t *testing.T) {
	assert.Equal(t, 3, summary.Tenants)
	assert.Equal(t, 2906, summary.RecordsRead, "every sample line is read")
	assert.Equal(t, summary.RecordsRead, summary.RecordsApproved+summary.RecordsRejected, "read = approved + rejected")
	assert.Equal(t, 1, summary.ModelVersion)
	assert.Greater(t, summary.HoldoutMacroF1, 0.3)
	assert.Contains(t, testkit.KnownDepartments(), summary.Classified.Department)
}

// dure dev --demo started again after a crash once trained a second model
// for the same data while the first run's training finished too. Each
// workflow's ID names its intent: the demo run again attaches to or takes
// what the first one did, and registers nothing new.
func TestDemoStartedAgainTrainsNothingNew(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	versions, err := stack.Registry.List(ctx)
	require.NoError(t, err)
	again, err := runner.Run(ctx)
	require.NoError(t, err)
	assert.Equal(t, summary.ModelVersion, again.ModelVersion, "the first run's model")
	assert.Equal(t, summary.RecordsApproved, again.RecordsApproved)
	after, err := stack.Registry.List(ctx)
	require.NoError(t, err)
	assert.Len(t, after, len(versions), "no version registered")
}

func TestThreeTenantsExist(t *testing.T) {
	for _, pilot := range demo.PilotTenants {
		tn, err := stack.Store.Tenant(context.Background(), pilot.ID)
		require.NoError(t, err)
		assert.Equal(t, pilot.DisplayName, tn.DisplayName)
		assert.Equal(t, objstore.TenantBucket(tn.ID), tn.Bucket)
		assert.NotEmpty(t, tn.S3AccessKey)
		assert.Equal(t, pilot.VGPUQuota, must(stack.Store.GPUQuotas(context.Background()))[pilot.ID])
	}
	assert.Equal(t, []int{20, 21, 22}, []int{must(stack.Store.VLAN(context.Background(), "suwon")), must(stack.Store.VLAN(context.Background(), "seongnam")), must(stack.Store.VLAN(context.Background(), "yongin"))},
		"the pilot tenants get VLANs 20, 21, 22 of the network plan")

	// Onboarding registered each quota with the running GPU pool.
	resp, err := stack.Client.QueryWorkflow(context.Background(), workflows.GPUPoolWorkflowID, "", workflows.QueryGPUAllocation)
	require.NoError(t, err)
	var alloc map[string]any
	require.NoError(t, resp.Get(&alloc))
	raw, err := json.Marshal(alloc)
	require.NoError(t, err)
	for _, pilot := range demo.PilotTenants {
		assert.Contains(t, string(raw), `"`+pilot.ID+`"`, "the pool knows %s", pilot.ID)
	}
}

func TestModelVersionRegistered(t *testing.T) {
	v, err := stack.Registry.Get(context.Background(), summary.ModelVersion)
	require.NoError(t, err)
	assert.Equal(t, []string{"seongnam", "suwon", "yongin"}, v.Tenants)
	assert.Len(t, v.Datasets, 3)
	champion, err := stack.Registry.Alias(context.Background(), "champion")
	require.NoError(t, err)
	assert.Equal(t, summary.ModelVersion, champion)
}

// Tenant B's credentials must never reach tenant A's bucket.
func TestCrossTenantStorageDenied(t *testing.T) {
	ctx := context.Background()
	for _, pair := range [][2]string{{"suwon", "seongnam"}, {"seongnam", "yongin"}, {"yongin", "suwon"}} {
		owner, intruder := pair[0], pair[1]
		t.Run(intruder+"->"+owner, func(t *testing.T) {
			cred, err := stack.Store.S3CredentialFor(context.Background(), intruder)
			require.NoError(t, err)
			c, err := stack.S3Client(cred)
			require.NoError(t, err)
			bucket := objstore.TenantBucket(owner)
			key := "uploads/" + owner + ".jsonl"

			_, err = c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
			assertDenied(t, err, "stat")
			obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
			if err == nil {
				_, err = io.ReadAll(obj)
			}
			assertDenied(t, err, "get")
			_, err = c.PutObject(ctx, bucket, "intruder.txt", strings.NewReader("x"), 1, minio.PutObjectOptions{})
			assertDenied(t, err, "put")
			for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{}) {
				err = o.Err
				break
			}
			assertDenied(t, err, "list")

			// The owner itself can read its upload: the denial is about identity.
			ownCred, err := stack.Store.S3CredentialFor(context.Background(), owner)
			require.NoError(t, err)
			own, err := stack.S3Client(ownCred)
			require.NoError(t, err)
			_, err = own.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
			assert.NoError(t, err)
		})
	}
}

func assertDenied(t *testing.T, err error, verb string) {
	t.Helper()
	require.Error(t, err, verb)
	assert.True(t, objstore.IsAccessDenied(err), "%s: want AccessDenied, got %v", verb, err)
}

func TestGatewayAuthentication(t *testing.T) {
	token, err := demo.ReadToken(stack.TokenDir, "suwon")
	require.NoError(t, err)
	uploaderToken, _, err := stack.Store.IssueToken(context.Background(), "suwon", tenancy.RoleTenantUploader)
	require.NoError(t, err)
	revoked, revokedTok, err := stack.Store.IssueToken(context.Background(), "yongin", tenancy.RoleTenantClient)
	require.NoError(t, err)
	require.NoError(t, stack.Store.RevokeToken(context.Background(), revokedTok.ID))

	tests := []struct {
		name   string
		header string
		want   []int
	}{
		{"valid token", "Bearer " + token, []int{http.StatusOK}},
		{"no token", "", []int{http.StatusUnauthorized}},
		{"wrong token", "Bearer dure_nosuch_secret", []int{http.StatusUnauthorized, http.StatusForbidden}},
		{"tampered token", "Bearer " + token[:len(token)-2] + "zz", []int{http.StatusUnauthorized, http.StatusForbidden}},
		{"revoked token", "Bearer " + revoked, []int{http.StatusUnauthorized}},
		{"role without classify", "Bearer " + uploaderToken, []int{http.StatusForbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := classify(t, tt.header)
			assert.Contains(t, tt.want, code, string(body))
			if code == http.StatusOK {
				var ans struct {
					Department string  `json:"department"`
					Score      float64 `json:"score"`
					Tenant     string  `json:"tenant"`
				}
				require.NoError(t, json.Unmarshal(body, &ans))
				assert.Contains(t, testkit.KnownDepartments(), ans.Department)
				assert.Equal(t, "suwon", ans.Tenant)
			}
		})
	}
}

func classify(t *testing.T, authHeader string) (int, []byte) {
	t.Helper()
	body, err := json.Marshal(demo.SampleComplaint)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, stack.GatewayURL+"/v1/classify", bytes.NewReader(body))
	require.NoError(t, err)
	if authHeader != "" {
		req.Header.Set("Authorization", authHeader)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// No complaint text, and no token, may appear in clear in any workflow history.
func TestWorkflowHistoriesHoldNoComplaintText(t *testing.T) {
	needles := testkit.SampleNeedles(t, repo, 200)
	for _, tenant := range []string{"suwon", "seongnam", "yongin"} {
		tok, err := demo.ReadToken(stack.TokenDir, tenant)
		require.NoError(t, err)
		needles = append(needles, tok[strings.LastIndex(tok, "_")+1:])
	}
	// onboarding x3, ingestion x3, training, promotion
	testkit.AssertHistoriesClean(context.Background(), t, stack.Client, stack.Config.Namespace, needles, 8)
}

// The Web UI is served, and the codec endpoint it uses decrypts what history holds.
func TestUIAndCodecEndpoint(t *testing.T) {
	resp, err := http.Get(stack.TemporalUIURL() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	ctx := context.Background()
	iter := stack.Client.GetWorkflowHistory(ctx, workflows.TenantOnboardingID("suwon"), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, iter.HasNext())
	first, err := iter.Next()
	require.NoError(t, err)
	input := first.GetWorkflowExecutionStartedEventAttributes().GetInput()
	require.NotNil(t, input)
	body, err := protojson.Marshal(input)
	require.NoError(t, err)
	assert.NotContains(t, string(body), "수원시")

	req, err := http.NewRequest(http.MethodPost, stack.OpsURL+"/codec/decode", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", stack.TemporalUIURL())
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, stack.TemporalUIURL(), resp.Header.Get("Access-Control-Allow-Origin"))
	var decoded commonpb.Payloads
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, protojson.Unmarshal(raw, &decoded))
	require.Len(t, decoded.Payloads, 1)
	assert.Contains(t, string(decoded.Payloads[0].Data), "수원시")
}

// The ops endpoint exports the gateway's, the replicas' and the GPUs' metrics;
// without a driver the dev stack reports a simulated host of eight GPUs.
func TestMetricsEndpoint(t *testing.T) {
	resp, err := http.Get(stack.OpsURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := string(raw)
	for _, name := range []string{"dure_gateway_requests_total", "dure_inference_model_version", "dure_gpu_utilization_ratio", "dure_gpu_memory_total_bytes"} {
		assert.Contains(t, body, name)
	}
	assert.Equal(t, 8, strings.Count(body, "dure_gpu_memory_total_bytes{"), "one series per GPU")
}

// A lease granted by the GPU pool shows in the GPU metrics with its tenant.
func TestLeaseHolderInGPUMetrics(t *testing.T) {
	ctx := context.Background()
	h, err := stack.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.GPUPoolWorkflowID, UpdateName: workflows.UpdateGPURequest, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.GPURequest{ID: "metrics-probe", Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1}},
	})
	require.NoError(t, err)
	var status workflows.GPULeaseStatus
	require.NoError(t, h.Get(ctx, &status))
	require.Equal(t, workflows.GPULeaseGranted, status.State)
	defer func() {
		require.NoError(t, stack.Client.SignalWorkflow(ctx, workflows.GPUPoolWorkflowID, "", workflows.SignalGPURelease, "metrics-probe"))
	}()

	resp, err := http.Get(stack.OpsURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var line string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "dure_gpu_lease_info{") && strings.Contains(l, `lease="metrics-probe"`) {
			line = l
		}
	}
	require.NotEmpty(t, line, "the lease is exported")
	assert.Contains(t, line, `tenant="suwon"`)
}

// must returns v, and panics (failing the test) on err; it lets a lookup
// that cannot fail in a healthy stack stay inside an assertion.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
