package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/dure-platform/dure/internal/codec"
	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/workers"
	"github.com/dure-platform/dure/workflows"
)

// historyDirEnv names the folder recorded histories are written to, for
// workers/testdata/histories: the replay test there runs every history ever
// committed on today's code, so a change that would break runs in flight
// fails `make test`. Without it they go to a temporary folder and only the
// replay below checks them.
const historyDirEnv = "DURE_RECORD_HISTORIES"

// TestRecordHistories runs one of each workflow on the stack (the
// demo's, and those this test starts), exports their histories with every
// payload decrypted (the files hold keys and counts, no key is needed to
// read them), and replays each on today's code.
func TestRecordHistories(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := os.Getenv(historyDirEnv)
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))

	runs := map[string]client.WorkflowRun{}
	start := func(name, id, workflowType string, in any) client.WorkflowRun {
		run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueueControlPlane}, workflowType, in)
		require.NoError(t, err)
		runs[name] = run
		return run
	}
	wait := func(run client.WorkflowRun) { require.NoError(t, run.Get(ctx, nil)) }

	// The demo's own: onboarding, training and promotion of version 1.
	v1, err := stack.Registry.Get(ctx, 1)
	require.NoError(t, err)
	runs["TenantOnboarding"] = stack.Client.GetWorkflow(ctx, workflows.TenantOnboardingID("suwon"), "")
	var trained []string
	for _, d := range v1.Datasets {
		trained = append(trained, d.DatasetID)
	}
	runs["Training"] = stack.Client.GetWorkflow(ctx, workflows.TrainingID(workflows.TrainingInput{DatasetIDs: trained}), "")
	runs["ModelPromotion"] = stack.Client.GetWorkflow(ctx, workflows.ModelPromotionID(1), "")

	// Ingestions decided by a signal and by an update, as operators.
	body := `{"id":"h-1","received_at":"2024-08-01","title":"가로수","body":"가로수 가지가 전선에 닿아 있습니다.","department":"안전/환경"}` + "\n"
	bySignal := ingestAwaitingApproval(ctx, t, "seongnam", "uploads/history-signal.jsonl", body, "record-ingestion-signal")
	require.NoError(t, operator.SignalWorkflow(ctx, bySignal.GetID(), "", workflows.SignalApprove, workflows.Decision{Reason: "recorded"}))
	wait(bySignal)
	runs["DataIngestion-signal"] = bySignal
	// Another complaint: the first one's approval makes a copy of it a duplicate.
	body = `{"id":"h-2","received_at":"2024-08-02","title":"보도블록","body":"가로수 뿌리가 보도블록을 들어 올렸습니다.","department":"안전/환경"}` + "\n"
	byUpdate := ingestAwaitingApproval(ctx, t, "seongnam", "uploads/history-update.jsonl", body, "record-ingestion-update")
	h, err := operator.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: byUpdate.GetID(), UpdateName: workflows.UpdateDecide,
		Args: []any{workflows.Decision{Approve: false, Reason: "recorded"}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))
	wait(byUpdate)
	runs["DataIngestion-update"] = byUpdate

	wait(start("TenantKeyRotation", "record-key-rotation", workflows.TypeTenantKeyRotation, workflows.TenantKeyRotationInput{TenantID: "seongnam"}))
	wait(start("Retraining", "record-retraining", workflows.TypeRetraining, workflows.RetrainingInput{SkipPromotion: true}))
	wait(start("TenantOnboarding-offboarded", workflows.TenantOnboardingID("record-city"), workflows.TypeTenantOnboarding,
		workflows.TenantOnboardingInput{TenantID: "record-city", DisplayName: "기록시"}))
	wait(start("TenantOffboarding", "record-offboarding", workflows.TypeTenantOffboarding, workflows.TenantOffboardingInput{TenantID: "record-city"}))

	// A GPU pool of its own that continues as new after three events: both
	// runs are recorded.
	pool := start("GPUPool-continued", "record-gpu-pool", workflows.TypeGPUPool, workflows.GPUPoolInput{
		HostCount: 1, GPUsPerHost: 2, Model: "H100", MaxEvents: 3,
		Tenants: []gpupool.TenantConfig{{Name: "platform"}, {Name: "suwon", Quota: 1}},
	})
	for i := range 4 {
		h, err := stack.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: pool.GetID(), UpdateName: workflows.UpdateGPURequest,
			Args:         []any{workflows.GPURequest{ID: fmt.Sprintf("record-%d", i), Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1}},
			WaitForStage: client.WorkflowUpdateStageCompleted})
		require.NoError(t, err)
		require.NoError(t, h.Get(ctx, nil))
	}
	require.NoError(t, stack.Client.CancelWorkflow(ctx, pool.GetID(), ""))
	desc, err := stack.Client.DescribeWorkflowExecution(ctx, pool.GetID(), "")
	require.NoError(t, err)
	latest := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	require.NotEqual(t, pool.GetRunID(), latest, "the pool continued as new")
	runs["GPUPool-after-continue"] = stack.Client.GetWorkflow(ctx, pool.GetID(), latest)
	require.Eventually(t, func() bool {
		d, err := stack.Client.DescribeWorkflowExecution(ctx, pool.GetID(), latest)
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}, time.Minute, 50*time.Millisecond)

	index := map[string]workers.RecordedExecution{}
	for name, run := range runs {
		desc, err := stack.Client.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		require.NoError(t, err)
		info := desc.GetWorkflowExecutionInfo()
		exec := workers.RecordedExecution{WorkflowType: info.GetType().GetName(), WorkflowID: info.GetExecution().GetWorkflowId(), RunID: info.GetExecution().GetRunId()}
		file := name + ".json"
		writeDecodedHistory(ctx, t, exec, filepath.Join(dir, file))
		index[file] = exec
		assert.NoError(t, workers.ReplayHistory(filepath.Join(dir, file), exec), "%s replays on today's code", name)
	}
	raw, err := json.MarshalIndent(index, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, workers.HistoryIndex), append(raw, '\n'), 0o644))
}

// writeDecodedHistory writes a run's history as JSON, each payload
// decrypted with the stack's codec.
func writeDecodedHistory(ctx context.Context, t *testing.T, exec workers.RecordedExecution, file string) {
	t.Helper()
	it := stack.Client.GetWorkflowHistory(ctx, exec.WorkflowID, exec.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	history := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		history.Events = append(history.Events, e)
	}
	require.NotEmpty(t, history.Events)
	require.NoError(t, decodePayloads(history.ProtoReflect(), stack.Codec))
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), `"binary/encrypted"`, "every payload decoded")
	require.NoError(t, os.WriteFile(file, append(raw, '\n'), 0o644))
}

// decodePayloads decrypts, in place, every Payload under m.
func decodePayloads(m protoreflect.Message, c *codec.AESGCM) error {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		decoded, err := c.Decode([]*commonpb.Payload{p})
		if err != nil {
			return err
		}
		if decoded[0] != p { // plaintext comes back as it was
			plain := proto.Clone(decoded[0])
			proto.Reset(p)
			proto.Merge(p, plain)
		}
		return nil
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len() && err == nil; i++ {
				err = decodePayloads(v.List().Get(i).Message(), c)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				err = decodePayloads(mv.Message(), c)
				return err == nil
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			err = decodePayloads(v.Message(), c)
		}
		return err == nil
	})
	return err
}
