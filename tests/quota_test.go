package tests

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/workflows"
)

// A write over the tenant's quota fails with S3's QuotaExceeded, as on Ceph RGW,
// and leaves nothing partial behind.
func TestStorageQuotaExceeded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const quota = 64 << 10
	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-onboard-osan", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeTenantOnboarding, workflows.TenantOnboardingInput{TenantID: "osan", DisplayName: "오산시", StorageQuotaBytes: quota})
	require.NoError(t, err)
	var res workflows.TenantOnboardingResult
	require.NoError(t, run.Get(ctx, &res))

	cred, err := stack.Store.S3CredentialFor(context.Background(), "osan")
	require.NoError(t, err)
	c, err := stack.S3Client(cred)
	require.NoError(t, err)
	bucket := objstore.TenantBucket("osan")
	put := func(key string, size int) error {
		_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(make([]byte, size)), int64(size), minio.PutObjectOptions{})
		return err
	}

	require.NoError(t, put("a.jsonl", 40<<10))
	require.NoError(t, put("a.jsonl", 50<<10), "an overwrite counts only the new size")
	err = put("b.jsonl", 20<<10)
	require.Error(t, err)
	assert.Equal(t, "QuotaExceeded", minio.ToErrorResponse(err).Code)
	_, err = c.StatObject(ctx, bucket, "b.jsonl", minio.StatObjectOptions{})
	assert.True(t, objstore.IsNotFound(err), "nothing partial remains: %v", err)
	require.NoError(t, put("c.jsonl", 14<<10), "what fits still fits")
}

// Offboarding revokes the tenant's tokens first and removes what onboarding
// created; nothing of the tenant is left to use.
func TestOffboardingRemovesEverything(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-onboard-anseong", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeTenantOnboarding, workflows.TenantOnboardingInput{TenantID: "anseong", DisplayName: "안성시", VGPUQuota: 1})
	require.NoError(t, err)
	var on workflows.TenantOnboardingResult
	require.NoError(t, run.Get(ctx, &on))
	assert.GreaterOrEqual(t, on.VLAN, 200, "tenants after the pilot get VLANs from the range")
	assert.True(t, on.Network.Skipped, "the embedded stack runs without a hypervisor")
	token, err := os.ReadFile(on.Tokens[0].TokenFile)
	require.NoError(t, err)
	cred, err := stack.Store.S3CredentialFor(context.Background(), "anseong")
	require.NoError(t, err)

	run, err = stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-offboard-anseong", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeTenantOffboarding, workflows.TenantOffboardingInput{TenantID: "anseong"})
	require.NoError(t, err)
	var off workflows.TenantOffboardingResult
	require.NoError(t, run.Get(ctx, &off))
	assert.Equal(t, len(workflows.TenantRoles), off.TokensRevoked)

	_, err = stack.Store.Authenticate(context.Background(), strings.TrimSpace(string(token)))
	assert.Error(t, err, "the tenant's tokens no longer work")
	_, err = stack.Store.Tenant(context.Background(), "anseong")
	assert.Error(t, err)
	assert.Zero(t, must(stack.Store.VLAN(context.Background(), "anseong")))
	assert.NotContains(t, must(stack.Store.GPUQuotas(context.Background())), "anseong")
	c, err := stack.S3Client(cred)
	require.NoError(t, err)
	_, err = c.ListBuckets(ctx)
	assert.Error(t, err, "the tenant's S3 keys are refused")
	platform, err := stack.S3Client(stack.Platform)
	require.NoError(t, err)
	exists, err := platform.BucketExists(ctx, objstore.TenantBucket("anseong"))
	require.NoError(t, err)
	assert.False(t, exists)

	events, err := stack.Audit.Query(context.Background(), "anseong")
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	assert.Contains(t, actions, "grant")
	assert.Contains(t, actions, "revoke")
	assert.Contains(t, actions, "tenant-removed")
}
