package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/activities/gpu"
	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/workflows"
)

// A RequestGPULease retried after the pool had taken the request was
// refused as a duplicate, and the Training that asked failed. A retry now
// gets the first answer: the same lease, and the pool holds one.
func TestRetriedGPURequestGetsTheFirstAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	leases := &gpu.LeaseActivities{Pool: stack.Client}
	req := workflows.GPURequest{ID: "retried-request", Tenant: "platform", Kind: gpupool.KindWhole, GPUs: 1}
	first, err := leases.RequestGPULease(ctx, req)
	require.NoError(t, err)
	again, err := leases.RequestGPULease(ctx, req)
	require.NoError(t, err, "the retry is answered, not refused")
	assert.Equal(t, first.State, again.State)
	assert.Equal(t, first.Lease, again.Lease)

	require.NoError(t, stack.Client.SignalWorkflow(ctx, workflows.GPUPoolWorkflowID, "", workflows.SignalGPURelease, req.ID))
}
