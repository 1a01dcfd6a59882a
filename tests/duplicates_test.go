package tests

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
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

// reuploadRecords are long enough (over 50 runes) for near copies to count.
var reuploadRecords = [][5]string{
	{"r-1", "2024-08-01", "버스 정류장 그늘막", "여름마다 버스 정류장에 그늘이 없어 어르신들이 땡볕에서 버스를 기다립니다. 정류장마다 그늘막이나 차양을 설치해 주시기 바랍니다.", "교통/건축/국토"},
	{"r-2", "2024-08-02", "공원 산책로 조명", "저녁에 공원 산책로를 걸으면 조명이 어두워 발밑이 보이지 않습니다. 넘어지는 사람도 있었으니 가로등을 더 달아 주세요.", "안전/환경"},
	{"r-3", "2024-08-03", "어린이집 대기 기간", "어린이집 입소 대기가 일 년이 넘게 걸립니다. 맞벌이 가정은 그동안 아이를 맡길 곳이 없어 국공립 어린이집을 늘려 주시기 바랍니다.", "육아/교육"},
	{"r-4", "2024-08-04", "경로당 냉방비", "경로당 냉방비 지원이 줄어서 한여름에도 에어컨을 제대로 켜지 못합니다. 어르신들 건강을 위해 냉방비 지원을 예전 수준으로 돌려 주세요.", "보건복지"},
}

func jsonLines(t *testing.T, recs [][5]string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		line, err := json.Marshal(map[string]string{"id": r[0], "received_at": r[1], "title": r[2], "body": r[3], "department": r[4]})
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func csvExport(t *testing.T, recs [][5]string) string {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	require.NoError(t, w.Write([]string{"id", "received_at", "title", "body", "department"}))
	for _, r := range recs {
		require.NoError(t, w.Write(r[:]))
	}
	w.Flush()
	require.NoError(t, w.Error())
	return b.String()
}

// Re-uploading approved complaints with one extra blank line, or as a CSV
// re-export, once made new datasets that training counted twice. The gate
// now finds them against the tenant's approved records, within and across
// its datasets, and leaves them out.
func TestReuploadOfApprovedRecordsIsLeftOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	onboard(ctx, t, "test-onboard-pyeongtaek", workflows.TenantOnboardingInput{TenantID: "pyeongtaek", DisplayName: "평택시"})
	gate, err := stack.S3Client(stack.QualityGate)
	require.NoError(t, err)

	first := ingestAwaitingApproval(ctx, t, "pyeongtaek", "uploads/first.jsonl", jsonLines(t, reuploadRecords), "test-reupload-first")
	approved := decide(ctx, t, first, true)
	require.NotNil(t, approved.Dataset)
	assert.Equal(t, len(reuploadRecords), approved.Dataset.Records)
	assert.Zero(t, approved.Screen.DuplicatesOfApproved)
	indexKey := path.Join(path.Dir(approved.Dataset.DataKey), "dedup.idx")
	_, err = gate.StatObject(ctx, objstore.BucketAITraining, indexKey, minio.StatObjectOptions{})
	require.NoError(t, err, "the dataset's duplicate index is published beside its records")

	// The same bytes and one blank line: another upload hash, the same records.
	again := uploadAndIngest(ctx, t, "pyeongtaek", "uploads/again.jsonl", jsonLines(t, reuploadRecords)+"\n", "test-reupload-blank-line")
	var res workflows.DataIngestionResult
	require.NoError(t, again.Get(ctx, &res))
	assert.Equal(t, workflows.DecisionRejected, res.Decision, "nothing is left to approve")
	assert.Equal(t, "no record left to approve: 0 invalid, 4 copies (4 of approved records)", res.Reason)
	assert.Nil(t, res.Dataset)
	assert.Zero(t, res.Screen.RecordsAccepted)
	assert.Equal(t, len(reuploadRecords), res.Screen.DuplicatesOfApproved)
	assert.Equal(t, map[string]int{"DUPLICATE": len(reuploadRecords)}, res.Screen.RejectedByReason)
	quarantine := readObject(ctx, t, gate, objstore.BucketQuarantine, res.Screen.QuarantineKey)
	assert.Contains(t, quarantine, `of approved dataset `+approved.Dataset.DatasetID)

	// A CSV re-export after the dataset's index went missing (a dataset
	// published before datasets carried one): the gate builds it again from
	// the records. One record edited slightly, one new, one twice.
	require.NoError(t, gate.RemoveObject(ctx, objstore.BucketAITraining, indexKey, minio.RemoveObjectOptions{}))
	require.NoError(t, os.RemoveAll(filepath.Join(stack.Config.DataDir, "work", "quality-gate", "dedup-index", "pyeongtaek")))
	edited := reuploadRecords[1]
	edited[0], edited[3] = "r-2b", strings.Replace(edited[3], ".", "!", 1)
	fresh := [5]string{"r-5", "2024-08-05", "도서관 주차장", "시립 도서관 주차장이 좁아서 주말에는 주차할 곳을 찾느라 삼십 분씩 돌아다닙니다. 인근 공터를 임시 주차장으로 써 주세요.", "교통/건축/국토"}
	export := append([][5]string{fresh, reuploadRecords[0], edited, reuploadRecords[2], reuploadRecords[3]}, fresh)
	export[len(export)-1][0] = "r-6"
	run := ingestAwaitingApproval(ctx, t, "pyeongtaek", "uploads/export.csv", csvExport(t, export), "test-reupload-csv")
	screen := waitForScreened(ctx, t, run).Screen
	require.NotNil(t, screen)
	assert.Equal(t, 1, screen.RecordsAccepted, "only the new record")
	assert.Equal(t, 4, screen.DuplicatesOfApproved)
	assert.Equal(t, map[string]int{"DUPLICATE": 4, "NEAR_DUPLICATE": 1}, screen.RejectedByReason)
	_, err = gate.StatObject(ctx, objstore.BucketAITraining, indexKey, minio.StatObjectOptions{})
	assert.NoError(t, err, "the rebuilt index is stored beside the dataset again")
	staged := readObject(ctx, t, gate, objstore.BucketStaging, screen.StagedKey)
	assert.Equal(t, 1, strings.Count(staged, "\n"))
	assert.Contains(t, staged, `"r-5"`)
	require.NoError(t, stack.Client.CancelWorkflow(ctx, run.GetID(), run.GetRunID()))
}

// decide sends an operator's decision and waits for the ingestion's result.
func decide(ctx context.Context, t *testing.T, run client.WorkflowRun, approve bool) workflows.DataIngestionResult {
	t.Helper()
	d := workflows.Decision{Approve: approve}
	if !approve {
		d.Reason = "refused in a test"
	}
	h, err := operator.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: workflows.UpdateDecide,
		Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))
	var res workflows.DataIngestionResult
	require.NoError(t, run.Get(ctx, &res))
	return res
}
