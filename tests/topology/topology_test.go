// Package topology proves dure's production shape on real engines: every role
// as its own OS process of the real binary (a Temporal server on PostgreSQL,
// the control-plane and quality-gate workers, two GPU host agents, the gateway
// and two inference replicas), sharing one metadata database on PostgreSQL and
// one Ceph RGW, driven only through the CLI and the gateway.
package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dure-platform/dure/activities/cephadmin"
	"github.com/dure-platform/dure/activities/hypervisor"
	"github.com/dure-platform/dure/activities/quality"
	"github.com/dure-platform/dure/internal/apiclient"
	"github.com/dure-platform/dure/internal/codec"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/demo"
	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/metadb/metadbtest"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/internal/secretbox"
	"github.com/dure-platform/dure/internal/service"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/tests/testkit"
	"github.com/dure-platform/dure/workflows"
)

// pilot is one city of the test, with a name of its own so that runs on a
// shared Ceph cluster never meet.
type pilot struct {
	id, display, sample string
}

func TestProductionTopology(t *testing.T) {
	began := time.Now()
	pg, ok := metadbtest.PostgresConfig(t)
	if !ok {
		return
	}
	ceph := cephadmin.RequireCluster(t)
	libvirtURI := requireLibvirt(t)
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	c := newCluster(t, bin, pg, ceph, libvirtURI)
	phases := newPhases(t)
	c.startAll(ctx)
	phases.done("start 8 processes (Temporal on PostgreSQL, platform storage on Ceph)")

	suffix := randomHex(t, 2)
	pilots := []pilot{
		{"suwon-" + suffix, "수원시", "suwon.jsonl"},
		{"seongnam-" + suffix, "성남시", "seongnam.jsonl"},
		{"yongin-" + suffix, "용인시", "yongin.jsonl"},
	}
	gate := c.ownerS3(ctx, service.OwnerQualityGate)
	t.Cleanup(func() { removeTenants(t, ceph, gate, pilots) })

	// Onboarding, through the CLI, as a platform operator starts it.
	for _, p := range pilots {
		var res workflows.TenantOnboardingResult
		c.cliJSON(ctx, &res, "onboard", "--tenant", p.id, "--display-name", p.display, "--vgpu-quota", "4")
		require.Equal(t, objstore.TenantBucket(p.id), res.Bucket)
		assert.NotZero(t, res.VLAN)
		assert.False(t, res.Network.Skipped, "the tenant's network is made on the hypervisor")
		assert.NotEmpty(t, res.Network.Name)
	}
	phases.done("onboard 3 tenants on Ceph and libvirt")

	// Upload through the gateway with the uploader's token, ingest, and
	// decide as the operator, through the gateway.
	operator := c.TokenFile("platform", string(tenancy.RoleOperator))
	read, approved, rejected := 0, 0, 0
	ingestions := map[string]string{}
	for _, p := range pilots {
		var up apiclient.Upload
		c.cliJSON(ctx, &up, "upload", "--tenant", p.id, "--file", filepath.Join("..", "..", "data", "complaints", p.sample),
			"--token-file", c.TokenFile(p.id, string(tenancy.RoleTenantUploader)))
		var ing struct {
			WorkflowID string                   `json:"workflow_id"`
			State      workflows.IngestionState `json:"state"`
		}
		c.cliJSON(ctx, &ing, "ingest", "--tenant", p.id, "--object", up.Key, "--wait")
		require.Equal(t, workflows.StageAwaitingApproval, ing.State.Stage)
		ingestions[p.id] = ing.WorkflowID
		c.cli(ctx, "decide", "--tenant", p.id, "--workflow", ing.WorkflowID, "--approve", "--token-file", operator)
		s := ing.State.Screen
		assert.Equal(t, s.RecordsRead, s.RecordsAccepted+s.RecordsRejected, "%s: read = accepted + rejected", p.id)
		read, approved, rejected = read+s.RecordsRead, approved+s.RecordsAccepted, rejected+s.RecordsRejected
	}
	assert.Equal(t, 2906, read, "every sample line is read")
	assert.Equal(t, read, approved+rejected)
	tc := c.temporalClient(ctx)
	datasets := map[string]workflows.Dataset{}
	for _, p := range pilots {
		var res workflows.DataIngestionResult
		require.NoError(t, tc.GetWorkflow(ctx, ingestions[p.id], "").Get(ctx, &res))
		require.Equal(t, workflows.DecisionApproved, res.Decision)
		assert.Equal(t, "token:", res.Operator[:len("token:")], "the decision names the operator's token")
		require.NotNil(t, res.Dataset)
		datasets[p.id] = *res.Dataset
	}
	phases.done("upload, ingest and approve 3 batches")

	// Train on this run's datasets by name: the shared ai-training bucket
	// may hold other runs' too.
	train := []string{"train"}
	for _, p := range pilots {
		train = append(train, "--dataset", datasets[p.id].DatasetID)
	}
	var trained workflows.TrainingResult
	c.cliJSON(ctx, &trained, train...)
	require.Equal(t, 1, trained.Version)
	assert.Len(t, trained.Datasets, 3)
	assert.Contains(t, []string{procGPUA, procGPUB}, trained.GPUHost, "trained on a leased GPU of a registered host")
	var promoted workflows.ModelPromotionResult
	c.cliJSON(ctx, &promoted, "promote", "--version", "1")
	assert.ElementsMatch(t, []string{procInference1, procInference2}, promoted.Replicas)
	for _, p := range pilots {
		c.assertClassifies(ctx, p, 1)
	}
	phases.done("train on a leased GPU, promote to both replicas, classify")

	// What the single-process skeleton test asserts, on the real engines.
	store, reg := c.inspect(ctx)
	c.assertTenantsAndIsolation(ctx, store, pilots)
	c.assertGatewayRefusals(ctx, pilots)
	c.assertLineage(ctx, pilots)
	c.assertHistoriesClean(ctx, pilots)
	c.assertCodecAnswersOperatorsOnly(ctx, pilots[0])
	_, err := client.DialContext(ctx, client.Options{HostPort: c.common["DURE_TEMPORAL_ADDRESS"]})
	assert.Error(t, err, "the frontend refuses a client without a certificate")
	var verified struct {
		OK             bool  `json:"ok"`
		Entries        int64 `json:"entries"`
		AnchorsChecked int   `json:"anchors_checked"`
	}
	c.cliJSON(ctx, &verified, "audit", "verify")
	assert.True(t, verified.OK)
	assert.Greater(t, verified.Entries, int64(10), "grants, decisions and refusals of every service are in one chain")
	assert.GreaterOrEqual(t, verified.AnchorsChecked, 1, "the control plane anchored the head at start")
	phases.done("skeleton assertions")

	// Each city's raw upload lives in its own pool and no other; approved
	// data and models in the platform's hot pools.
	cluster := c.cephCluster()
	for _, p := range pilots {
		assertPools(ctx, t, cluster, objstore.TenantBucket(p.id), "uploads/"+p.sample, "tenant-"+p.id+"-pool")
		assertPools(ctx, t, cluster, objstore.BucketAITraining, datasets[p.id].DataKey, "ai-training-pool")
	}
	v, err := reg.Get(ctx, 1)
	require.NoError(t, err)
	assertPools(ctx, t, cluster, objstore.BucketModelRegistry, v.ArtifactKey, "model-registry-pool")
	phases.done("objects located in their RADOS pools")

	// Every dure process dies at once and comes back: no manual step.
	tc.Close()
	c.killAll()
	c.startAll(ctx)
	tc = c.temporalClient(ctx)
	defer tc.Close()
	for _, p := range pilots {
		c.assertClassifies(ctx, p, 1) // with the tokens issued before, on the champion loaded at start
		var toks []apiclient.Token
		c.cliJSON(ctx, &toks, "tokens", "list", "--tenant", p.id, "--token-file", c.TokenFile(p.id, string(tenancy.RoleTenantAdmin)))
		assert.Len(t, toks, 3, "%s keeps its tokens", p.id)
		admin := &apiclient.Client{BaseURL: c.GatewayURL(), Token: readToken(t, c.TokenFile(p.id, string(tenancy.RoleTenantAdmin)))}
		var ds []map[string]any
		require.NoError(t, admin.Do(ctx, http.MethodGet, "/v1/tenants/"+p.id+"/datasets", nil, &ds))
		assert.Len(t, ds, 1, "%s keeps its dataset", p.id)
	}
	var models []map[string]any
	c.cliJSON(ctx, &models, "models", "--token-file", operator)
	assert.Len(t, models, 1, "the registry keeps its version")
	phases.done("kill every process, restart, serve again")

	// A tenant admin rotates the city's RGW key through the gateway; the
	// control plane does it on Ceph.
	c.assertS3KeyRotation(ctx, pilots[0])
	phases.done("rotate a tenant's RGW key")

	// A GPU host dies mid-training: the pool notices, the training leases a
	// GPU on the other host and resumes from the checkpoint in S3.
	// The same training asked again is the same intent: it answers the
	// version it registered and trains nothing. The run that loses its host
	// is another intent (another seed).
	var again workflows.TrainingResult
	c.cliJSON(ctx, &again, train...)
	assert.Equal(t, trained.Version, again.Version, "one intent trains once")
	c.assertTrainingSurvivesItsHost(ctx, tc, append(train, "--seed", "7"))
	phases.done("lose a GPU host mid-training")

	// Every role did its whole part with its own certificate: the
	// authorizer refused none of their calls.
	temporalLog, err := os.ReadFile(filepath.Join(c.dir, "logs", procTemporal+".log"))
	require.NoError(t, err)
	assert.NotContains(t, string(temporalLog), "temporal call refused", "a role was refused a call it needs")
	t.Logf("topology test wall time: %s", time.Since(began).Round(time.Second))
}

// assertClassifies classifies a complaint with the tenant's client token.
func (c *cluster) assertClassifies(ctx context.Context, p pilot, version int) {
	c.t.Helper()
	var got apiclient.Classification
	c.cliJSON(ctx, &got, "classify", "--title", demo.SampleComplaint["title"], "--body", demo.SampleComplaint["body"],
		"--token-file", c.TokenFile(p.id, string(tenancy.RoleTenantClient)))
	assert.Contains(c.t, testkit.KnownDepartments(), got.Department)
	assert.Equal(c.t, version, got.ModelVersion)
}

func (c *cluster) assertS3KeyRotation(ctx context.Context, p pilot) {
	c.t.Helper()
	admin := c.TokenFile(p.id, string(tenancy.RoleTenantAdmin))
	var old, fresh apiclient.S3Key
	c.cliJSON(ctx, &old, "s3-keys", "show", "--tenant", p.id, "--token-file", admin)
	c.cliJSON(ctx, &fresh, "s3-keys", "rotate", "--tenant", p.id, "--token-file", admin)
	require.NotEqual(c.t, old.AccessKey, fresh.AccessKey)
	reach := func(k apiclient.S3Key) error {
		s3, err := objstore.Client(objstore.Endpoint{Address: k.Endpoint, Region: k.Region}, k.AccessKey, k.SecretKey)
		require.NoError(c.t, err)
		_, err = s3.StatObject(ctx, k.Bucket, "uploads/"+p.sample, minio.StatObjectOptions{})
		return err
	}
	assert.Error(c.t, reach(old), "RGW refuses the rotated-out key")
	assert.NoError(c.t, reach(fresh), "the new key reaches the city's bucket")
}

// inspect opens the metadata database as a service would, to check what the
// services recorded.
func (c *cluster) inspect(ctx context.Context) (*tenancy.Store, *registry.Registry) {
	c.t.Helper()
	key, err := secretbox.LoadKey(c.common["DURE_STATE_KEY_FILE"])
	require.NoError(c.t, err)
	box, err := secretbox.New(key)
	require.NoError(c.t, err)
	db, err := metadb.Open(ctx, c.pg)
	require.NoError(c.t, err)
	c.t.Cleanup(func() { _ = db.Close() })
	return tenancy.NewStore(db, box), registry.New(nil, db)
}

func (c *cluster) assertTenantsAndIsolation(ctx context.Context, store *tenancy.Store, pilots []pilot) {
	c.t.Helper()
	for _, owner := range pilots {
		tn, err := store.Tenant(ctx, owner.id)
		require.NoError(c.t, err)
		assert.Equal(c.t, owner.display, tn.DisplayName)
		cred, err := store.S3CredentialFor(ctx, owner.id)
		require.NoError(c.t, err)
		s3, err := objstore.Client(objstore.Endpoint{Address: c.common["DURE_S3_ENDPOINT"]}, cred.AccessKey, cred.SecretKey)
		require.NoError(c.t, err)
		for _, other := range pilots {
			if other.id == owner.id {
				continue
			}
			_, err := s3.StatObject(ctx, objstore.TenantBucket(other.id), "uploads/"+other.sample, minio.StatObjectOptions{})
			assert.True(c.t, objstore.IsAccessDenied(err), "%s reads %s's upload: %v", owner.id, other.id, err)
		}
	}
}

func (c *cluster) assertGatewayRefusals(ctx context.Context, pilots []pilot) {
	c.t.Helper()
	for _, tc := range []struct {
		name, token, tenant string
		want                int
	}{
		{"no token", "", pilots[0].id, http.StatusUnauthorized},
		{"forged token", "dure_abcdefgh_forged", pilots[0].id, http.StatusUnauthorized},
		{"another tenant's admin", readToken(c.t, c.TokenFile(pilots[1].id, string(tenancy.RoleTenantAdmin))), pilots[0].id, http.StatusForbidden},
	} {
		api := &apiclient.Client{BaseURL: c.GatewayURL(), Token: tc.token}
		err := api.Do(ctx, http.MethodGet, "/v1/tenants/"+tc.tenant+"/uploads", nil, nil)
		var status *apiclient.StatusError
		require.True(c.t, errors.As(err, &status), "%s: %v", tc.name, err)
		assert.Equal(c.t, tc.want, status.Code, tc.name)
	}
}

func (c *cluster) assertLineage(ctx context.Context, pilots []pilot) {
	c.t.Helper()
	var models []struct {
		Version int      `json:"version"`
		Tenants []string `json:"tenants"`
	}
	c.cliJSON(ctx, &models, "models", "--token-file", c.TokenFile("platform", string(tenancy.RoleOperator)))
	require.Len(c.t, models, 1)
	want := make([]string, 0, len(pilots))
	for _, p := range pilots {
		want = append(want, p.id)
	}
	assert.ElementsMatch(c.t, want, models[0].Tenants, "the version names the tenants it learnt from")
}

func (c *cluster) assertHistoriesClean(ctx context.Context, pilots []pilot) {
	c.t.Helper()
	needles := testkit.SampleNeedles(c.t, filepath.Join("..", ".."), 200)
	for _, p := range pilots {
		for _, role := range []string{string(tenancy.RoleTenantClient), string(tenancy.RoleTenantAdmin)} {
			tok := readToken(c.t, c.TokenFile(p.id, role))
			needles = append(needles, tok[strings.LastIndex(tok, "_")+1:])
		}
	}
	op := c.certs["operator"]
	tlsCfg, err := service.ClientTLS(config.TLSFiles{CAFile: op.CAFile, CertFile: op.CertFile, KeyFile: op.KeyFile})
	require.NoError(c.t, err)
	raw, err := client.Dial(client.Options{HostPort: c.common["DURE_TEMPORAL_ADDRESS"], Namespace: c.common["DURE_NAMESPACE"],
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg}})
	require.NoError(c.t, err)
	defer raw.Close()
	testkit.AssertHistoriesClean(ctx, c.t, raw, c.common["DURE_NAMESPACE"], needles, 8)
}

// assertTrainingSurvivesItsHost starts a training, kills the GPU host agent
// running it once a checkpoint is in S3, and checks that the run finishes on
// the other host from that checkpoint.
func (c *cluster) assertTrainingSurvivesItsHost(ctx context.Context, tc client.Client, train []string) {
	c.t.Helper()
	type outcome struct {
		res workflows.TrainingResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		raw, err := c.cliErr(ctx, train...)
		if o.err = err; err == nil {
			o.err = json.Unmarshal(bytes.TrimSpace(raw), &o.res)
		}
		done <- o
	}()
	host, candidate := c.waitForLeasedTraining(ctx, tc)
	testkit.WaitForCheckpoint(ctx, c.t, c.ownerS3(ctx, service.OwnerPlatform), candidate)
	lost := time.Now()
	c.kill(host)
	c.t.Logf("killed GPU host %s mid-training (candidate %s)", host, candidate)
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		c.t.Fatal("training did not finish after its host was lost")
	}
	require.NoError(c.t, o.err)
	c.t.Logf("training finished %s after its host was lost", time.Since(lost).Round(time.Second))
	assert.Equal(c.t, 2, o.res.Version)
	assert.NotEqual(c.t, host, o.res.GPUHost, "the retry ran on the other host")
	assert.GreaterOrEqual(c.t, o.res.ResumedFromEpoch, 10, "the retry resumed from a checkpoint")
	c.start(ctx, host) // the host comes back and registers again
}

// waitForLeasedTraining waits until the pool has leased a GPU to a Training
// run and returns the host and the run (the candidate id).
func (c *cluster) waitForLeasedTraining(ctx context.Context, tc client.Client) (host, runID string) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := tc.QueryWorkflow(ctx, workflows.GPUPoolWorkflowID, "", workflows.QueryGPUAllocation)
		if err == nil {
			var alloc workflows.GPUAllocation
			require.NoError(c.t, resp.Get(&alloc))
			for _, g := range alloc.GPUs {
				for _, l := range g.Leases {
					if l.Tenant != workflows.DefaultGPUTenant {
						continue
					}
					desc, err := tc.DescribeWorkflowExecution(ctx, holderOf(l.Lease), "")
					if err == nil {
						return g.Host, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			c.t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.t.Fatal("no training took a GPU lease")
	return "", ""
}

// holderOf recovers the holder workflow's id from a training lease's id,
// which is "<workflow id>-<unix nanos>".
func holderOf(lease string) string {
	return lease[:max(0, strings.LastIndex(lease, "-"))]
}

// assertCodecAnswersOperatorsOnly posts a payload of the deployment's key to
// the control plane's codec endpoint: it decodes for an operator's token and
// for no one else, and never decodes plaintext.
func (c *cluster) assertCodecAnswersOperatorsOnly(ctx context.Context, p pilot) {
	c.t.Helper()
	key, err := secretbox.LoadKey(c.common["DURE_CODEC_KEY_FILE"])
	require.NoError(c.t, err)
	cc, err := codec.New(key)
	require.NoError(c.t, err)
	payload, err := cc.DataConverter().ToPayloads("object-key")
	require.NoError(c.t, err)
	encrypted, err := protojson.Marshal(payload)
	require.NoError(c.t, err)
	plain, err := converter.GetDefaultDataConverter().ToPayloads("in clear")
	require.NoError(c.t, err)
	plaintext, err := protojson.Marshal(plain)
	require.NoError(c.t, err)
	decode := func(credential string, body []byte) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost,
			fmt.Sprintf("http://127.0.0.1:%d/codec/decode", c.opsPorts[procControlPlane]), bytes.NewReader(body))
		require.NoError(c.t, err)
		req.Header.Set("Content-Type", "application/json")
		if credential != "" {
			req.Header.Set("Authorization", "Bearer "+credential)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(c.t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	operator := readToken(c.t, c.TokenFile("platform", string(tenancy.RoleOperator)))
	assert.Equal(c.t, http.StatusUnauthorized, decode("", encrypted), "codec without a credential")
	assert.Equal(c.t, http.StatusUnauthorized, decode(readToken(c.t, c.TokenFile(p.id, string(tenancy.RoleTenantAdmin))), encrypted), "codec for a tenant admin")
	assert.Equal(c.t, http.StatusOK, decode(operator, encrypted), "codec for an operator")
	assert.Equal(c.t, http.StatusBadRequest, decode(operator, plaintext), "codec decodes no plaintext")
}

// ownerS3 is an S3 client of one of the platform's identities.
func (c *cluster) ownerS3(ctx context.Context, owner string) *minio.Client {
	c.t.Helper()
	store, _ := c.inspect(ctx)
	cred, err := store.S3CredentialFor(ctx, owner)
	require.NoError(c.t, err)
	s3, err := objstore.Client(objstore.Endpoint{Address: c.common["DURE_S3_ENDPOINT"]}, cred.AccessKey, cred.SecretKey)
	require.NoError(c.t, err)
	return s3
}

// temporalClient dials the frontend with the deployment's payload key.
func (c *cluster) temporalClient(ctx context.Context) client.Client {
	c.t.Helper()
	key, err := secretbox.LoadKey(c.common["DURE_CODEC_KEY_FILE"])
	require.NoError(c.t, err)
	cc, err := codec.New(key)
	require.NoError(c.t, err)
	op := c.certs["operator"]
	cfg := config.Config{TemporalAddress: c.common["DURE_TEMPORAL_ADDRESS"], Namespace: c.common["DURE_NAMESPACE"],
		TemporalTLS: config.TLSFiles{CAFile: op.CAFile, CertFile: op.CertFile, KeyFile: op.KeyFile}}
	tc, err := service.DialTemporal(ctx, cfg, cc, testkit.Logger(c.t))
	require.NoError(c.t, err)
	return tc
}

func (c *cluster) cephCluster() *cephadmin.Cluster {
	c.t.Helper()
	_, cluster, err := c.ceph.Open(testkit.Logger(c.t))
	require.NoError(c.t, err)
	return cluster
}

func assertPools(ctx context.Context, t *testing.T, cluster *cephadmin.Cluster, bucket, key, pool string) {
	t.Helper()
	pools, err := cluster.PoolsHoldingObject(ctx, bucket, key)
	require.NoError(t, err, "%s/%s", bucket, key)
	assert.Equal(t, []string{pool}, pools, "%s/%s is in %s and no other pool", bucket, key, pool)
}

// removeTenants deletes what the test made on the shared Ceph cluster: the
// tenants' users, buckets and pools, and their datasets.
func removeTenants(t *testing.T, ceph cephadmin.Env, gate *minio.Client, pilots []pilot) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, p := range pilots {
		for obj := range gate.ListObjects(ctx, objstore.BucketAITraining, minio.ListObjectsOptions{Prefix: quality.DatasetPrefix + p.id + "/", Recursive: true}) {
			if obj.Err == nil {
				_ = gate.RemoveObject(ctx, objstore.BucketAITraining, obj.Key, minio.RemoveObjectOptions{})
			}
		}
	}
	logger := testkit.Logger(t)
	admin, cluster, err := ceph.Open(logger)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	ts := cephadmin.NewTenantStorage(admin, cluster, cephadmin.TenantStorageConfig{Logger: logger})
	for _, p := range pilots {
		if _, err := ts.RemoveTenant(ctx, p.id); err != nil {
			t.Logf("cleanup of %s: %v", p.id, err)
		}
	}
}

// requireLibvirt returns the test driver's URI when libvirtd answers; it
// skips (fails under CI=true) otherwise.
func requireLibvirt(t *testing.T) string {
	t.Helper()
	const uri = "test:///default"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := hypervisor.Dial(ctx, hypervisor.Config{URI: uri, Logger: testkit.Logger(t)})
	if err == nil {
		_ = conn.Close()
		return uri
	}
	msg := fmt.Sprintf("LIBVIRTD NOT RUNNING: the topology test is SKIPPED (%v); start it with infra/libvirt/up.sh", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, msg)
	t.Skip(msg)
	return ""
}

// phases logs how long each part of the test took.
type phases struct {
	t    *testing.T
	last time.Time
}

func newPhases(t *testing.T) *phases { return &phases{t: t, last: time.Now()} }

func (p *phases) done(what string) {
	p.t.Logf("%-70s %6.1fs", what, time.Since(p.last).Seconds())
	p.last = time.Now()
}

func readToken(t *testing.T, path string) string {
	t.Helper()
	tok, err := apiclient.TokenFromFile(path)
	require.NoError(t, err)
	return tok
}
