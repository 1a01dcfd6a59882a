package gpu

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/workflows"
)

// LeaseActivities ask the GPUPool workflow for leases on behalf of workflows,
// which cannot send updates themselves.
type LeaseActivities struct {
	Pool PoolUpdater
}

// RequestGPULease sends the pool's request update and returns its answer at
// once: granted, or queued with a position. The grant itself also arrives as a
// signal to the holder.
func (a *LeaseActivities) RequestGPULease(ctx context.Context, req workflows.GPURequest) (workflows.GPULeaseStatus, error) {
	// One Update ID per request: when this activity is retried after the
	// pool took the request, the server answers the first update's outcome
	// (and after the pool continued as new, the pool answers the status of
	// the request it carried over).
	h, err := a.Pool.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.GPUPoolWorkflowID, UpdateName: workflows.UpdateGPURequest, Args: []any{req},
		UpdateID: workflows.GPURequestUpdateID(req), WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var status workflows.GPULeaseStatus
	if err == nil {
		err = h.Get(ctx, &status)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// The pool's validator refused the request: asking again changes nothing.
		return status, temporal.NewNonRetryableApplicationError(fmt.Sprintf("gpu pool refused the request: %v", err), workflows.ErrBadInput, err)
	}
	return status, err
}
