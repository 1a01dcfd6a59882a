package tests

import (
	"context"
	"regexp"
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

// With the pseudonym policy, one phone number maps to one token within a
// tenant and to different tokens across tenants; the number itself is gone.
func TestPseudonymPolicyIsPerTenant(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const phone = "010-9876-5432"
	batch := strings.Join([]string{
		`{"id":"p-1","received_at":"2024-07-01","title":"소음 민원","body":"밤마다 공사 소음이 심합니다. 연락처 ` + phone + `","department":"안전/환경"}`,
		`{"id":"p-2","received_at":"2024-07-02","title":"소음 재민원","body":"지난번 민원 후에도 소음이 계속됩니다. 다시 ` + phone + ` 로 연락 주세요.","department":"안전/환경"}`,
	}, "\n")
	tokenPattern := regexp.MustCompile(`\[전화번호:[0-9a-f]+\]`)
	tokens := map[string][]string{}
	for _, tenant := range []string{"hwaseong", "pyeongtaek"} {
		run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-onboard-" + tenant, TaskQueue: workflows.TaskQueueControlPlane},
			workflows.TypeTenantOnboarding, workflows.TenantOnboardingInput{TenantID: tenant, PIIPolicy: "pseudonym"})
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		_, err = s3Client(t, tenant).PutObject(ctx, objstore.TenantBucket(tenant), "uploads/noise.jsonl", strings.NewReader(batch), int64(len(batch)), minio.PutObjectOptions{})
		require.NoError(t, err)

		run, err = stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-pseudonym-" + tenant, TaskQueue: workflows.TaskQueueControlPlane},
			workflows.TypeDataIngestion, workflows.DataIngestionInput{TenantID: tenant, ObjectKey: "uploads/noise.jsonl", RejectBelowScore: 1, ApprovalTimeoutSeconds: 1})
		require.NoError(t, err)
		var res workflows.DataIngestionResult
		require.NoError(t, run.Get(ctx, &res))
		gate, err := stack.S3Client(stack.QualityGate)
		require.NoError(t, err)
		staged := readObject(ctx, t, gate, objstore.BucketStaging, res.Screen.StagedKey)
		assert.NotContains(t, staged, phone)
		tokens[tenant] = tokenPattern.FindAllString(staged, -1)
		require.Len(t, tokens[tenant], 2, staged)
		assert.Equal(t, tokens[tenant][0], tokens[tenant][1], "same number, same token within a tenant")
	}
	assert.NotEqual(t, tokens["hwaseong"][0], tokens["pyeongtaek"][0], "different tenants, different tokens")
}
