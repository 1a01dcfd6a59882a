package cephadmin_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/dure-platform/dure/activities/cephadmin"
	"github.com/dure-platform/dure/activities/storage"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/tenancy/tenancytest"
	"github.com/dure-platform/dure/workflows"
)

// The onboarding saga's storage activities, run on Ceph through the
// provisioner: the tenant gets pool, placement, user and a bucket it owns, the
// quality gate may read it, another tenant may not, and removal leaves nothing.
func TestStorageActivitiesOnCeph(t *testing.T) {
	env := cephadmin.RequireCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	admin, cluster, err := env.Open(logger)
	require.NoError(t, err)
	store := tenancytest.NewStore(t)
	gate, _, err := admin.EnsureUser(ctx, cephadmin.UserSpec{UID: "dure-quality-gate", DisplayName: "dure quality gate"})
	require.NoError(t, err)
	u, err := url.Parse(env.RGWEndpoint)
	require.NoError(t, err)
	endpoint := objstore.Endpoint{Address: u.Host, Region: "us-east-1"}

	acts := &storage.Activities{
		Provisioner: storage.CephProvisioner{Tenants: cephadmin.NewTenantStorage(admin, cluster, cephadmin.TenantStorageConfig{Logger: logger}), Store: store, Keys: admin},
		Credentials: store, Endpoint: endpoint,
		QualityGate: storage.RGWPrincipal("dure-quality-gate"),
		Principal:   func(tenantID string, _ tenancy.S3Credential) string { return storage.RGWPrincipal(tenantID) },
	}
	var suite testsuite.WorkflowTestSuite
	run := func(fn, in any, out any) error {
		aenv := suite.NewTestActivityEnvironment()
		aenv.RegisterActivity(acts)
		val, err := aenv.ExecuteActivity(fn, in)
		if err == nil && out != nil {
			err = val.Get(out)
		}
		return err
	}
	tenants := []string{"ceph-osan", "ceph-anseong"}
	for _, id := range tenants {
		var ident workflows.StorageIdentity
		require.NoError(t, run(acts.EnsureStorageIdentity, workflows.TenantStorageInput{TenantID: id, QuotaBytes: 8 << 20}, &ident))
		var bucket workflows.TenantBucket
		require.NoError(t, run(acts.EnsureTenantBucket, workflows.TenantBucketInput{TenantID: id, QuotaBytes: 8 << 20}, &bucket))
		assert.Equal(t, objstore.TenantBucket(id), bucket.Bucket)
		t.Cleanup(func() {
			assert.NoError(t, run(acts.DeleteStorageIdentity, id, nil), "removal of %s", id)
			_, err := admin.UserInfo(context.Background(), id)
			assert.ErrorIs(t, err, cephadmin.ErrNoSuchUser, "nothing of %s is left", id)
		})
	}

	client := func(cred tenancy.S3Credential) *minio.Client {
		c, err := objstore.Client(endpoint, cred.AccessKey, cred.SecretKey)
		require.NoError(t, err)
		return c
	}
	owner, err := store.S3CredentialFor(ctx, tenants[0])
	require.NoError(t, err)
	intruder, err := store.S3CredentialFor(ctx, tenants[1])
	require.NoError(t, err)
	bucket, key, body := objstore.TenantBucket(tenants[0]), "uploads/a.jsonl", "{\"id\":\"1\"}\n"

	_, err = client(owner).PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	require.NoError(t, err, "the owner writes its bucket")
	_, err = client(tenancy.S3Credential{AccessKey: gate.AccessKey, SecretKey: gate.SecretKey}).StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	assert.NoError(t, err, "the quality gate reads the tenant's bucket")
	_, err = client(intruder).StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	assert.True(t, objstore.IsAccessDenied(err), "another tenant is denied: %v", err)
	_, err = client(tenancy.S3Credential{AccessKey: gate.AccessKey, SecretKey: gate.SecretKey}).PutObject(ctx, bucket, "x", strings.NewReader("x"), 1, minio.PutObjectOptions{})
	assert.True(t, objstore.IsAccessDenied(err), "the quality gate only reads: %v", err)
	err = client(owner).MakeBucket(ctx, objstore.TenantBucket("ceph-squat"), minio.MakeBucketOptions{})
	assert.Error(t, err, "a tenant makes no bucket beyond its own")
}
