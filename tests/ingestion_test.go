package tests

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"golang.org/x/text/encoding/korean"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// A batch with bad records: each goes to quarantine with its reason, the counts
// reconcile, personal data is masked in staging, and an operator's rejection
// needs a reason.
func TestIngestionQuarantinesAndNeedsAReasonToReject(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lines := []string{
		`{"id":"q-1","received_at":"2024-03-02","title":"버스 배차 간격","body":"출근 시간 버스 배차 간격이 너무 깁니다. 연락처 010-2345-6789 로 답변 주세요.","department":"교통/건축/국토"}`,
		`{"id":"q-2","received_at":"2024-03-03","title":"놀이터 보수","body":"아파트 놀이터 그네가 부서져 아이들이 다칠 위험이 있습니다.","department":"안전/환경"}`,
		`{"id":"q-3","received_at":"2024-03-04","title":"보육료 문의","body":"어린이집 보육료 지원 기준을 알려 주세요. 메일 parent@example.com","department":"육아/교육"}`,
		`{"id":"q-4","received_at":"2024-03-04","title":"잘린 줄"`,
		`{"id":"q-5","received_at":"2024-03-05","title":"제목만"}`,
		`{"id":"q-6","received_at":"2024-03-05","title":"없는 부서","body":"이 민원의 부서는 목록에 없습니다.","department":"우주항공"}`,
		`{"id":"q-7","received_at":"2024-13-45","title":"날짜 오류","body":"접수일이 잘못된 민원입니다.","department":"행정"}`,
		`{"id":"q-2","received_at":"2024-03-03","title":"놀이터 보수","body":"아파트 놀이터 그네가 부서져 아이들이 다칠 위험이 있습니다.","department":"안전/환경"}`,
	}
	cred, err := stack.Store.S3CredentialFor(context.Background(), "seongnam")
	require.NoError(t, err)
	c, err := stack.S3Client(cred)
	require.NoError(t, err)
	key := "uploads/mixed-quality.jsonl"
	body := strings.Join(lines, "\n") + "\n"
	_, err = c.PutObject(ctx, objstore.TenantBucket("seongnam"), key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	require.NoError(t, err)

	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-mixed-quality", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeDataIngestion, workflows.DataIngestionInput{TenantID: "seongnam", ObjectKey: key, RejectBelowScore: 1})
	require.NoError(t, err)
	waitForStage(ctx, t, run, workflows.StageAwaitingApproval)

	refused, err := operator.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: workflows.UpdateDecide,
		Args: []any{workflows.Decision{Approve: false}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = refused.Get(ctx, nil)
	}
	require.Error(t, err, "a rejection without a reason is refused by the validator")
	assert.Contains(t, err.Error(), "reason")

	handle, err := operator.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: workflows.UpdateDecide,
		Args: []any{workflows.Decision{Approve: false, Reason: "too many invalid records"}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var verdict string
	require.NoError(t, handle.Get(ctx, &verdict))
	assert.Equal(t, workflows.DecisionRejected, verdict)

	var res workflows.DataIngestionResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, workflows.DecisionRejected, res.Decision)
	assert.Equal(t, "too many invalid records", res.Reason)
	assert.Equal(t, "operator:demo", res.Operator, "the operator whose certificate sent the update")
	assert.Nil(t, res.Dataset, "a rejected batch is not published")
	s := res.Screen
	assert.Equal(t, len(lines), s.RecordsRead)
	assert.Equal(t, s.RecordsRead, s.RecordsAccepted+s.RecordsRejected)
	assert.Equal(t, 3, s.RecordsAccepted)
	assert.Equal(t, map[string]int{"BAD_JSON": 1, "MISSING_FIELD": 1, "UNKNOWN_DEPARTMENT": 1, "BAD_DATE": 1, "DUPLICATE": 1}, s.RejectedByReason)
	assert.Equal(t, 1, s.PIIMasked["PHONE"])
	assert.Equal(t, 1, s.PIIMasked["EMAIL"])
	assert.InDelta(t, 3.0/8, s.Quality.Validity, 1e-9)
	assert.Equal(t, "utf-8", s.Encoding)

	gate, err := stack.S3Client(stack.QualityGate)
	require.NoError(t, err)
	staged := readObject(ctx, t, gate, objstore.BucketStaging, s.StagedKey)
	assert.NotContains(t, staged, "010-2345-6789")
	assert.NotContains(t, staged, "parent@example.com")
	assert.Contains(t, staged, "[전화번호]")
	quarantine := readObject(ctx, t, gate, objstore.BucketQuarantine, s.QuarantineKey)
	assert.Equal(t, 5, strings.Count(quarantine, "\n"))
	for reason := range s.RejectedByReason {
		assert.Contains(t, quarantine, `"reason":"`+reason+`"`)
	}

	// The tenant itself cannot read what the quality gate staged.
	_, err = c.StatObject(ctx, objstore.BucketStaging, s.StagedKey, minio.StatObjectOptions{})
	assertDenied(t, err, "tenant reading staging")
}

// Onboarding a tenant again yields the same tenant: same identity, same bucket,
// no new token, nothing duplicated.
func TestOnboardingTwiceIsIdempotent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before, err := stack.Store.S3CredentialFor(context.Background(), "suwon")
	require.NoError(t, err)
	credsBefore, tokensBefore, tenantsBefore := len(must(stack.Store.S3Credentials(context.Background()))), len(must(stack.Store.Tokens(context.Background(), "suwon"))), len(must(stack.Store.Tenants(context.Background())))

	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-onboard-again", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeTenantOnboarding, workflows.TenantOnboardingInput{TenantID: "suwon", DisplayName: "수원시"})
	require.NoError(t, err)
	var res workflows.TenantOnboardingResult
	require.NoError(t, run.Get(ctx, &res))

	assert.Equal(t, before.AccessKey, res.S3AccessKey)
	assert.Equal(t, credsBefore, len(must(stack.Store.S3Credentials(context.Background()))))
	assert.Equal(t, tokensBefore, len(must(stack.Store.Tokens(context.Background(), "suwon"))))
	assert.Len(t, must(stack.Store.Tenants(context.Background())), tenantsBefore)
}

func waitForStage(ctx context.Context, t *testing.T, run client.WorkflowRun, stage string) {
	t.Helper()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		resp, err := stack.Client.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryIngestionState)
		require.NoError(t, err)
		var st workflows.IngestionState
		require.NoError(t, resp.Get(&st))
		if st.Stage == stage {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow %s never reached stage %q (last %q)", run.GetID(), stage, st.Stage)
		case <-ticker.C:
		}
	}
}

func readObject(ctx context.Context, t *testing.T, c *minio.Client, bucket, key string) string {
	t.Helper()
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	require.NoError(t, err)
	defer obj.Close()
	raw, err := io.ReadAll(obj)
	require.NoError(t, err)
	return string(raw)
}

// A CP949 CSV upload is decoded and screened like UTF-8 JSON lines, and a batch
// scoring under the threshold is refused without an operator.
func TestIngestionOfCP949CSVAndLowScoreRefusal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	csvText := "id,received_at,title,body,department\n" +
		"k-1,2024-05-01,가로등 고장,\"골목 가로등이 일주일째 꺼져 있습니다.\",안전/환경\n" +
		"k-2,2024-05-02,불법 주차,\"학교 앞 불법 주차 단속을 요청합니다.\",교통/건축/국토\n" +
		"k-3,2024-05-02,없는 부서,\"부서가 잘못된 민원입니다.\",우주항공\n" +
		"k-4,2024-05-02,날짜,\"날짜가 잘못된 민원입니다.\",행정\n"
	csvText = strings.Replace(csvText, "k-4,2024-05-02", "k-4,2024-99-02", 1)
	encoded, err := korean.EUCKR.NewEncoder().String(csvText)
	require.NoError(t, err)
	c := s3Client(t, "yongin")
	key := "uploads/cp949-batch.csv"
	_, err = c.PutObject(ctx, objstore.TenantBucket("yongin"), key, strings.NewReader(encoded), int64(len(encoded)), minio.PutObjectOptions{})
	require.NoError(t, err)

	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-cp949-csv", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeDataIngestion, workflows.DataIngestionInput{TenantID: "yongin", ObjectKey: key, RejectBelowScore: 90})
	require.NoError(t, err)
	var res workflows.DataIngestionResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, "cp949", res.Screen.Encoding)
	assert.Equal(t, 4, res.Screen.RecordsRead)
	assert.Equal(t, 2, res.Screen.RecordsAccepted)
	assert.Equal(t, map[string]int{"UNKNOWN_DEPARTMENT": 1, "BAD_DATE": 1}, res.Screen.RejectedByReason)
	assert.Equal(t, workflows.DecisionRejected, res.Decision)
	assert.Contains(t, res.Reason, "quality score")

	gate, err := stack.S3Client(stack.QualityGate)
	require.NoError(t, err)
	staged := readObject(ctx, t, gate, objstore.BucketStaging, res.Screen.StagedKey)
	assert.Contains(t, staged, "가로등 고장", "staged text is UTF-8")
}

// Operators decide through the gateway; tenant roles may not, and the
// workflow's validator refuses a rejection without a reason.
func TestOperatorDecidesThroughGateway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body := strings.Join([]string{
		`{"id":"o-1","received_at":"2024-06-01","title":"공원 화장실","body":"공원 화장실이 밤에 잠겨 있어 불편합니다.","department":"안전/환경"}`,
		`{"id":"o-2","received_at":"2024-06-02","title":"보건소 예약","body":"보건소 예방접종 예약이 어렵습니다.","department":"보건복지"}`,
	}, "\n")
	run := ingestAwaitingApproval(ctx, t, "suwon", "uploads/operator-batch.jsonl", body, "test-operator-batch")

	operator, opTok, err := stack.Store.IssueToken(context.Background(), "", tenancy.RoleOperator)
	require.NoError(t, err)
	tenantAdmin, _, err := stack.Store.IssueToken(context.Background(), "suwon", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	path := "/v1/tenants/suwon/workflows/" + run.GetID() + "/decision"

	assert.Equal(t, http.StatusForbidden, call(t, http.MethodPost, path, tenantAdmin, []byte(`{"approve":true}`)), "tenants do not approve their own data")
	assert.Equal(t, http.StatusConflict, call(t, http.MethodPost, path, operator, []byte(`{"approve":false}`)), "a rejection needs a reason")
	assert.Equal(t, http.StatusNotFound, call(t, http.MethodPost, "/v1/tenants/yongin/workflows/"+run.GetID()+"/decision", operator, []byte(`{"approve":true}`)),
		"the workflow is suwon's, not yongin's")
	assert.Equal(t, http.StatusOK, call(t, http.MethodPost, path, operator, []byte(`{"approve":true}`)))

	var res workflows.DataIngestionResult
	require.NoError(t, run.Get(ctx, &res))
	assert.Equal(t, workflows.DecisionApproved, res.Decision)
	assert.Equal(t, "token:"+opTok.ID, res.Operator)
	require.NotNil(t, res.Dataset)

	events, err := stack.Audit.Query(context.Background(), "suwon")
	require.NoError(t, err)
	found := false
	for _, e := range events {
		found = found || (e.Action == "approve" && e.Actor == "token:"+opTok.ID)
	}
	assert.True(t, found, "the approval is in the audit log with the operator's token id")
}

// onboard runs a tenant's onboarding under id and waits for it.
func onboard(ctx context.Context, t *testing.T, id string, in workflows.TenantOnboardingInput) {
	t.Helper()
	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeTenantOnboarding, in)
	require.NoError(t, err)
	require.NoError(t, run.Get(ctx, nil))
}

// ingestAwaitingApproval is uploadAndIngest, waiting until the batch is
// screened and awaits an operator's decision.
func ingestAwaitingApproval(ctx context.Context, t *testing.T, tenant, key, body, workflowID string) client.WorkflowRun {
	t.Helper()
	run := uploadAndIngest(ctx, t, tenant, key, body, workflowID)
	waitForStage(ctx, t, run, workflows.StageAwaitingApproval)
	return run
}

// uploadAndIngest puts body into the tenant's bucket with the tenant's own
// key and starts its ingestion, refused only below a quality score of 1.
func uploadAndIngest(ctx context.Context, t *testing.T, tenant, key, body, workflowID string) client.WorkflowRun {
	t.Helper()
	_, err := s3Client(t, tenant).PutObject(ctx, objstore.TenantBucket(tenant), key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	require.NoError(t, err)
	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeDataIngestion, workflows.DataIngestionInput{TenantID: tenant, ObjectKey: key, RejectBelowScore: 1})
	require.NoError(t, err)
	return run
}
