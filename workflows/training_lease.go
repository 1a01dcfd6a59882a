package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/internal/gpupool"
)

// DefaultGPUTenant is the pool share shared training borrows from: the
// platform holds no quota, so training uses idle capacity and yields to cities.
const DefaultGPUTenant = "platform"

// gpuLeaseWait bounds how long training queues for a GPU.
const gpuLeaseWait = 24 * time.Hour

// gpuLease is a GPU granted to this workflow by the GPUPool workflow.
type gpuLease struct {
	id   string
	host string
	// lost is closed-over state: set when the pool preempts, revokes or
	// expires the lease, so the trainer must stop and checkpoint.
	lost   bool
	reason string
}

// leaseHolder follows the GPUPool protocol (see gpu_pool.go): ask through an
// activity, wait for the grant signal, heartbeat by signal, release at the end.
type leaseHolder struct {
	events workflow.ReceiveChannel
	lease  *gpuLease
}

func newLeaseHolder(ctx workflow.Context) *leaseHolder {
	return &leaseHolder{events: workflow.GetSignalChannel(ctx, SignalGPULease)}
}

// acquire requests one whole GPU for tenant and waits for the grant.
func (h *leaseHolder) acquire(ctx workflow.Context, tenant string) (*gpuLease, error) {
	id := fmt.Sprintf("%s-%d", workflow.GetInfo(ctx).WorkflowExecution.ID, workflow.Now(ctx).UnixNano())
	var status GPULeaseStatus
	err := workflow.ExecuteActivity(shortActivity(ctx, TaskQueueControlPlane), ActivityRequestGPULease, GPURequest{
		ID: id, Tenant: tenant, Kind: gpupool.KindWhole, GPUs: 1, Holder: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, &status)
	if err != nil {
		return nil, fmt.Errorf("request a gpu: %w", err)
	}
	workflow.GetLogger(ctx).Info("gpu requested", "lease", id, "state", status.State)
	deadline := workflow.Now(ctx).Add(gpuLeaseWait)
	for {
		var ev GPULeaseEvent
		ok, err := h.receive(ctx, &ev, deadline.Sub(workflow.Now(ctx)))
		if err != nil {
			return nil, err
		}
		if !ok {
			h.release(ctx, &gpuLease{id: id})
			return nil, temporal.NewApplicationError(fmt.Sprintf("no gpu granted within %s", gpuLeaseWait), "NoGPU")
		}
		if ev.Lease != id || ev.Kind != string(gpupool.ActionGrant) || len(ev.Placements) == 0 {
			continue // an event of an earlier lease of this workflow
		}
		h.lease = &gpuLease{id: id, host: ev.Placements[0].Host}
		return h.lease, nil
	}
}

func (h *leaseHolder) receive(ctx workflow.Context, ev *GPULeaseEvent, timeout time.Duration) (bool, error) {
	if timeout <= 0 {
		return false, nil
	}
	ok, _ := h.events.ReceiveWithTimeout(ctx, timeout, ev)
	return ok, ctx.Err()
}

// watch heartbeats the lease and marks it lost when the pool takes it back,
// cancelling the work that uses it.
func (h *leaseHolder) watch(ctx workflow.Context, lease *gpuLease, cancelWork workflow.CancelFunc) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		for ctx.Err() == nil {
			_ = workflow.SignalExternalWorkflow(ctx, GPUPoolWorkflowID, "", SignalGPUHeartbeat, lease.id).Get(ctx, nil)
			var ev GPULeaseEvent
			ok, _ := h.events.ReceiveWithTimeout(ctx, DefaultGPULeaseTTL/3, &ev)
			if ok && ev.Lease == lease.id && ev.Kind != string(gpupool.ActionGrant) {
				lease.lost, lease.reason = true, ev.Kind
				cancelWork()
				return
			}
		}
	})
}

// release hands the GPU back; it runs even when the workflow is cancelled.
func (h *leaseHolder) release(ctx workflow.Context, lease *gpuLease) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := workflow.SignalExternalWorkflow(dctx, GPUPoolWorkflowID, "", SignalGPURelease, lease.id).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("gpu lease release failed; it expires without heartbeats", "lease", lease.id, "err", err)
	}
}

// maxPreemptions bounds how often training gives its GPU back and queues again.
const maxPreemptions = 10

// trainOnLeasedGPU runs the trainer on a GPU leased from the pool. When the pool
// takes the GPU back, the trainer is cancelled (it checkpoints), the lease
// released, and training queues again and resumes from the checkpoint.
func trainOnLeasedGPU(ctx workflow.Context, tenant string, params TrainModelInput) (TrainModelResult, string, error) {
	holder := newLeaseHolder(ctx)
	for attempt := 0; ; attempt++ {
		lease, err := holder.acquire(ctx, tenant)
		if err != nil {
			return TrainModelResult{}, "", err
		}
		workCtx, cancelWork := workflow.WithCancel(ctx)
		holder.watch(workCtx, lease, cancelWork)
		var trained TrainModelResult
		gctx := longActivity(workCtx, GPUHostTaskQueue(lease.host), 4*time.Hour)
		err = workflow.ExecuteActivity(gctx, ActivityTrainModel, params).Get(workCtx, &trained)
		cancelWork()
		holder.release(ctx, lease)
		var canceled *temporal.CanceledError
		switch {
		case err == nil:
			return trained, lease.host, nil
		case lease.lost && errors.As(err, &canceled) && attempt < maxPreemptions:
			workflow.GetLogger(ctx).Info("gpu taken back; training will resume from its checkpoint", "lease", lease.id, "why", lease.reason)
			continue
		default:
			return TrainModelResult{}, lease.host, err
		}
	}
}
