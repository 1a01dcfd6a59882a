package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/workflows"
)

// The retraining schedule exists after start-up, visible in the UI, with the
// configured cron spec, and starts Retraining.
func TestRetrainingScheduleExists(t *testing.T) {
	ctx := context.Background()
	desc, err := stack.Client.ScheduleClient().GetHandle(ctx, workflows.RetrainingScheduleID).Describe(ctx)
	require.NoError(t, err)
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	assert.Equal(t, workflows.TypeRetraining, action.Workflow)
	require.NotNil(t, desc.Schedule.Spec)
	assert.NotEmpty(t, desc.Schedule.Spec.Calendars, "the cron spec %q became a calendar", config.Default().RetrainCron)
}

// Retraining trains only when approved data the champion has not seen exists.
func TestRetrainingRunsOnlyOnNewData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The demo's champion was trained on the demo's three datasets; the batch
	// an operator approved in TestOperatorDecidesThroughGateway is newer.
	run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "test-retraining", TaskQueue: workflows.TaskQueueControlPlane},
		workflows.TypeRetraining, workflows.RetrainingInput{SkipPromotion: true})
	require.NoError(t, err)
	var res workflows.RetrainingResult
	require.NoError(t, run.Get(ctx, &res))
	if res.Skipped {
		t.Fatalf("expected new data to train on: %s", res.Reason)
	}
	assert.Greater(t, res.Version, summary.ModelVersion)
	assert.NotEmpty(t, res.NewDatasets)
	champion, err := stack.Registry.Alias(ctx, workflows.AliasChampion)
	require.NoError(t, err)
	assert.Equal(t, summary.ModelVersion, champion, "skip_promotion leaves the champion alone")
}
