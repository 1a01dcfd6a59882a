package tests

import (
	"bytes"
	"context"
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
		"TenantOnboarding", workflows.TenantOnboardingInput{TenantID: "osan", DisplayName: "오산시", StorageQuotaBytes: quota})
	require.NoError(t, err)
	var res workflows.TenantOnboardingResult
	require.NoError(t, run.Get(ctx, &res))

	cred, err := stack.Store.S3CredentialFor("osan")
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
