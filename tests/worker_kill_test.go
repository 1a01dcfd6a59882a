package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/dure-platform/dure/activities/gpu"
	"github.com/dure-platform/dure/activities/training"
	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/tests/testkit"
	"github.com/dure-platform/dure/workers"
	"github.com/dure-platform/dure/workflows"
)

// A GPU-host worker dies mid-training: the attempt is retried on another
// worker, which restores the last checkpoint from S3 and ends with the same
// model quality as a run nobody interrupted.
func TestTrainingSurvivesTheLossOfItsWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	const host = "killhost"
	platform, err := stack.S3Client(stack.Platform)
	require.NoError(t, err)
	opts := textclf.DefaultOptions()
	opts.Epochs, opts.Tolerance = 30, 1e-12 // run every epoch, so there is a middle to die in
	newWorker := func() worker.Worker {
		w := worker.New(stack.Client, workflows.GPUHostTaskQueue(host), worker.Options{})
		workers.RegisterGPUHost(w, &training.Activities{
			S3: platform, Registry: stack.Registry, WorkDir: t.TempDir(), Options: opts, CheckpointEvery: 1,
		}, &gpu.Activities{Host: host, Source: gpu.DefaultSimulated(host)})
		require.NoError(t, w.Start())
		return w
	}
	train := func(id string) client.WorkflowRun {
		run, err := stack.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueueControlPlane},
			workflows.TypeTraining, workflows.TrainingInput{SkipGPULease: true, GPUHost: host})
		require.NoError(t, err)
		return run
	}

	first := newWorker()
	run := train("test-training-worker-lost")
	testkit.WaitForCheckpoint(ctx, t, platform, run.GetRunID())
	first.Stop() // the worker goes away mid-run
	second := newWorker()
	defer second.Stop()
	var resumed workflows.TrainingResult
	require.NoError(t, run.Get(ctx, &resumed))
	assert.GreaterOrEqual(t, resumed.ResumedFromEpoch, 1, "the retry resumed from a checkpoint")

	var clean workflows.TrainingResult
	require.NoError(t, train("test-training-uninterrupted").Get(ctx, &clean))
	assert.Zero(t, clean.ResumedFromEpoch)
	assert.Equal(t, clean.Metrics, resumed.Metrics, "the same quality as an uninterrupted run")
}
