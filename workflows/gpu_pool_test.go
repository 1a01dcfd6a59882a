package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/internal/gpupool"
)

// holderLog records the gpu_lease signals the pool sends. The test
// environment calls the mock on its own goroutine, hence the lock.
type holderLog struct {
	mu     sync.Mutex
	events map[string][]GPULeaseEvent
}

func (h *holderLog) kinds(holder string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events[holder] {
		out = append(out, e.Kind)
	}
	return out
}

func (h *holderLog) get(holder string) []GPULeaseEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]GPULeaseEvent(nil), h.events[holder]...)
}

// gpuPoolEnv returns a test environment whose holders accept every signal,
// and the log of what they were told.
func gpuPoolEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *holderLog) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	log := &holderLog{events: map[string][]GPULeaseEvent{}}
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, SignalGPULease, mock.Anything).Return(
		func(namespace, workflowID, runID, signalName string, arg any) error {
			ev, ok := arg.(GPULeaseEvent)
			if !ok {
				return errors.New("gpu_lease signal without a GPULeaseEvent")
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			log.events[workflowID] = append(log.events[workflowID], ev)
			return nil
		})
	return env, log
}

// twoGPUs is one host with two passthrough GPUs (a unit is a GPU) shared by
// two tenants with one GPU of quota each.
func twoGPUs(ttl, grace time.Duration) GPUPoolInput {
	return GPUPoolInput{HostCount: 1, GPUsPerHost: 2, Model: "a100",
		Tenants:         []gpupool.TenantConfig{{Name: "suwon", Quota: 1}, {Name: "yongin", Quota: 1}},
		LeaseTTLSeconds: int(ttl / time.Second), PreemptGraceSeconds: int(grace / time.Second)}
}

// decodeResult turns an update result (a value or an encoded payload) into out.
func decodeResult(t *testing.T, v any, out any) {
	t.Helper()
	if ev, ok := v.(converter.EncodedValue); ok {
		require.NoError(t, ev.Get(out))
		return
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, out))
}

// update sends an update and reports its outcome through the returned
// pointers, which are set once the callback has run.
type updateOutcome struct {
	rejected error
	err      error
	result   any
	done     bool
}

func sendUpdate(env *testsuite.TestWorkflowEnvironment, name, id string, arg any) *updateOutcome {
	o := &updateOutcome{}
	env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { o.rejected, o.done = err, true },
		OnAccept:   func() {},
		OnComplete: func(r any, err error) { o.result, o.err, o.done = r, err, true },
	}, arg)
	return o
}

func queryLease(t *testing.T, env *testsuite.TestWorkflowEnvironment, id string) GPULeaseStatus {
	t.Helper()
	v, err := env.QueryWorkflow(QueryGPULease, id)
	require.NoError(t, err)
	var st GPULeaseStatus
	require.NoError(t, v.Get(&st))
	return st
}

func queryAllocation(t *testing.T, env *testsuite.TestWorkflowEnvironment) GPUAllocation {
	t.Helper()
	v, err := env.QueryWorkflow(QueryGPUAllocation)
	require.NoError(t, err)
	var a GPUAllocation
	require.NoError(t, v.Get(&a))
	return a
}

func tenantUsed(a GPUAllocation) map[string]int {
	out := map[string]int{}
	for _, tv := range a.Tenants {
		out[tv.Tenant] = tv.Used
	}
	return out
}

// requireCancelled checks that the entity workflow stopped only because the
// test cancelled it.
func requireCancelled(t *testing.T, env *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	err := env.GetWorkflowError()
	require.Error(t, err)
	assert.True(t, temporal.IsCanceledError(err), "want cancellation, got %v", err)
}

func TestGPUPoolRequestGrantsAndSignalsHolder(t *testing.T) {
	env, log := gpuPoolEnv(t)
	var first, second, retried, heldByOther, released *updateOutcome
	var queue []GPUQueueEntry
	var alloc GPUAllocation
	var leaseWhileHeld GPULeaseStatus
	env.RegisterDelayedCallback(func() {
		first = sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
		second = sendUpdate(env, UpdateGPURequest, "r2", GPURequest{Tenant: "yongin", Kind: gpupool.KindWhole, GPUs: 2, Holder: "train-2"})
		// The same request again, as a retried activity sends it once its
		// first answer was lost, gets the request's status; the same lease
		// ID for another tenant is refused by the validator.
		retried = sendUpdate(env, UpdateGPURequest, "r1-retry", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
		heldByOther = sendUpdate(env, UpdateGPURequest, "r3", GPURequest{Tenant: "yongin", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
	}, time.Minute)
	// Updates sent from a callback run after it returns: query a bit later.
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryGPUQueue)
		require.NoError(t, err)
		require.NoError(t, v.Get(&queue))
		alloc = queryAllocation(t, env)
	}, time.Minute+time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalGPUHeartbeat, "train-1")
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() { leaseWhileHeld = queryLease(t, env, "train-1") }, 2*time.Minute+time.Second)
	env.RegisterDelayedCallback(func() {
		released = sendUpdate(env, UpdateGPURelease, "r4", "train-1")
	}, 3*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 3*time.Minute+time.Second)
	env.ExecuteWorkflow(GPUPool, twoGPUs(2*time.Minute, 5*time.Minute))
	requireCancelled(t, env)

	require.True(t, first.done)
	require.NoError(t, first.rejected)
	require.NoError(t, first.err)
	var st GPULeaseStatus
	decodeResult(t, first.result, &st)
	assert.Equal(t, GPULeaseGranted, st.State)
	require.NotNil(t, st.Lease)
	assert.Equal(t, []gpupool.Placement{{Host: "gpu-host-1", GPU: "gpu-host-1/0"}}, st.Lease.Placements)

	// Two GPUs for yongin wait for suwon's one: queued, first in line.
	require.NoError(t, second.err)
	decodeResult(t, second.result, &st)
	assert.Equal(t, GPULeaseQueued, st.State)
	require.NotNil(t, st.Queue)
	assert.Equal(t, 1, st.Queue.Position)
	require.Len(t, queue, 1)
	assert.Equal(t, "train-2", queue[0].Request.ID)
	assert.Equal(t, "train-2", queue[0].Holder)

	require.NoError(t, retried.rejected)
	require.NoError(t, retried.err)
	decodeResult(t, retried.result, &st)
	assert.Equal(t, GPULeaseGranted, st.State, "a retried request gets the lease it was granted")
	require.NotNil(t, st.Lease)
	assert.Equal(t, []gpupool.Placement{{Host: "gpu-host-1", GPU: "gpu-host-1/0"}}, st.Lease.Placements)

	require.Error(t, heldByOther.rejected)
	assert.ErrorContains(t, heldByOther.rejected, "already queued or leased")

	assert.Equal(t, map[string]int{"suwon": 1, "yongin": 0}, tenantUsed(alloc))
	assert.Equal(t, 2, alloc.Capacity)
	require.Len(t, alloc.GPUs, 2)
	assert.Equal(t, 1, alloc.GPUs[0].UsedSlices)

	// The heartbeat at 2m kept the lease (TTL 2m) alive past its first expiry.
	assert.Equal(t, GPULeaseGranted, leaseWhileHeld.State)
	require.NotNil(t, leaseWhileHeld.Lease)
	assert.Equal(t, time.Duration(0), leaseWhileHeld.Lease.ExpiresAt.Sub(leaseWhileHeld.Lease.GrantedAt.Add(3*time.Minute)))

	require.NoError(t, released.err)
	decodeResult(t, released.result, &st)
	assert.Equal(t, GPULeaseEnded, st.State)

	// train-1 was told of its grant; once it released, train-2 got both GPUs.
	assert.Equal(t, []string{"grant"}, log.kinds("train-1"))
	assert.Equal(t, []string{"grant"}, log.kinds("train-2"))
	assert.Len(t, log.get("train-2")[0].Placements, 2)
}

func TestGPUPoolSetQuotaValidates(t *testing.T) {
	env, _ := gpuPoolEnv(t)
	var tooMuch, unknown, ok, badRequest, neverFits *updateOutcome
	env.RegisterDelayedCallback(func() {
		tooMuch = sendUpdate(env, UpdateGPUSetQuota, "q1", GPUQuota{Tenant: "suwon", Quota: 2})
		unknown = sendUpdate(env, UpdateGPUSetQuota, "q2", GPUQuota{Tenant: "goyang", Quota: 1})
		ok = sendUpdate(env, UpdateGPUSetQuota, "q3", GPUQuota{Tenant: "suwon", Quota: 0})
		badRequest = sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "goyang", Kind: gpupool.KindWhole, GPUs: 1, Holder: "h"})
		neverFits = sendUpdate(env, UpdateGPURequest, "r2", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 3, Holder: "h"})
	}, time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Minute)
	env.ExecuteWorkflow(GPUPool, twoGPUs(0, 0))
	requireCancelled(t, env)

	// 2 + 1 units of quota on a two-GPU pool: refused before it is recorded.
	require.True(t, tooMuch.done)
	assert.ErrorContains(t, tooMuch.rejected, "invalid quota")
	assert.ErrorContains(t, unknown.rejected, "unknown tenant")
	assert.ErrorContains(t, badRequest.rejected, "unknown tenant")
	assert.ErrorContains(t, neverFits.rejected, "never be placed")
	require.NoError(t, ok.rejected)
	require.NoError(t, ok.err)
	var tenants []gpupool.TenantView
	decodeResult(t, ok.result, &tenants)
	require.Len(t, tenants, 2)
	assert.Equal(t, "suwon", tenants[0].Tenant)
	assert.Equal(t, 0, tenants[0].Quota)
}

func TestGPUPoolLeaseExpiresWithoutHeartbeats(t *testing.T) {
	env, log := gpuPoolEnv(t)
	var after GPULeaseStatus
	var alloc GPUAllocation
	var lateHeartbeat *updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
	}, time.Second)
	env.RegisterDelayedCallback(func() {
		after = queryLease(t, env, "train-1")
		alloc = queryAllocation(t, env)
		lateHeartbeat = sendUpdate(env, UpdateGPUHeartbeat, "h1", "train-1")
	}, 5*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 6*time.Minute)
	env.ExecuteWorkflow(GPUPool, twoGPUs(time.Minute, time.Minute))
	requireCancelled(t, env)

	assert.Equal(t, GPULeaseEnded, after.State)
	require.NotNil(t, after.Ended)
	assert.Equal(t, string(gpupool.ActionExpired), after.Ended.Kind)
	assert.Equal(t, 0, tenantUsed(alloc)["suwon"])
	assert.ErrorContains(t, lateHeartbeat.rejected, "unknown lease")
	events := log.get("train-1")
	require.Len(t, events, 2)
	assert.Equal(t, "grant", events[0].Kind)
	assert.Equal(t, "expired", events[1].Kind)
	// The timer fired at the lease's expiry, one TTL after the grant.
	assert.Equal(t, time.Minute, events[1].At.Sub(events[0].At))
}

func TestGPUPoolPreemptsBorrowedCapacityForItsOwner(t *testing.T) {
	env, log := gpuPoolEnv(t)
	var borrowed, owner *updateOutcome
	var during, after GPULeaseStatus
	env.RegisterDelayedCallback(func() {
		// yongin borrows suwon's idle GPU as well as its own.
		borrowed = sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "yongin", Kind: gpupool.KindWhole, GPUs: 2, Holder: "yongin-job"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		owner = sendUpdate(env, UpdateGPURequest, "r2", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "suwon-job"})
	}, 2*time.Minute)
	// The borrower keeps heartbeating but ignores the preemption.
	for _, at := range []time.Duration{3 * time.Minute, 5 * time.Minute} {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalGPUHeartbeat, "yongin-job") }, at)
	}
	env.RegisterDelayedCallback(func() { during = queryLease(t, env, "yongin-job") }, 6*time.Minute)
	env.RegisterDelayedCallback(func() { after = queryLease(t, env, "suwon-job") }, 8*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 9*time.Minute)
	env.ExecuteWorkflow(GPUPool, twoGPUs(10*time.Minute, 5*time.Minute))
	requireCancelled(t, env)

	var st GPULeaseStatus
	decodeResult(t, borrowed.result, &st)
	require.Equal(t, GPULeaseGranted, st.State)
	assert.True(t, st.Lease.Borrowed)
	decodeResult(t, owner.result, &st)
	assert.Equal(t, GPULeaseQueued, st.State)
	assert.Equal(t, gpupool.ReasonReclaiming, st.Queue.Reason)
	assert.Equal(t, GPULeasePreempting, during.State)

	y := log.get("yongin-job")
	require.Len(t, y, 3)
	assert.Equal(t, []string{"grant", "preempt_requested", "revoked"}, log.kinds("yongin-job"))
	// The borrower had exactly the grace period, and lost the lease at its end.
	assert.Equal(t, y[1].At.Add(5*time.Minute), y[1].Deadline)
	assert.Equal(t, y[1].Deadline, y[2].At)
	s := log.get("suwon-job")
	require.Len(t, s, 1)
	assert.Equal(t, "grant", s[0].Kind)
	assert.Equal(t, y[2].At, s[0].At)
	assert.Equal(t, GPULeaseGranted, after.State)
	assert.False(t, after.Lease.Borrowed)
}

func TestGPUPoolContinuesAsNewWithItsState(t *testing.T) {
	env, _ := gpuPoolEnv(t)
	var before GPUAllocation
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
		sendUpdate(env, UpdateGPURequest, "r2", GPURequest{Tenant: "yongin", Kind: gpupool.KindWhole, GPUs: 2, Holder: "train-2"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() { before = queryAllocation(t, env) }, time.Minute+time.Second)
	// The third event reaches the limit.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalGPUHeartbeat, "train-1") }, 2*time.Minute)
	in := twoGPUs(10*time.Minute, time.Minute)
	in.MaxEvents = 3
	env.ExecuteWorkflow(GPUPool, in)
	require.True(t, env.IsWorkflowCompleted())

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	var next GPUPoolInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	assert.Equal(t, 3, next.MaxEvents)
	assert.Equal(t, map[string]string{"train-1": "train-1", "train-2": "train-2"}, next.Holders)

	p, err := gpupool.Restore(*next.State)
	require.NoError(t, err)
	assert.Equal(t, before.Tenants, p.Tenants())
	assert.Equal(t, before.GPUs, p.GPUs())
	require.Len(t, p.Queue(), 1)
	assert.Equal(t, "train-2", p.Queue()[0].Request.ID)
	// The heartbeat was applied before the state was handed over.
	l, ok := p.Lease("train-1")
	require.True(t, ok)
	assert.Equal(t, l.GrantedAt.Add(11*time.Minute), l.ExpiresAt)
}

func TestGPUPoolRefusesBadInput(t *testing.T) {
	env, _ := gpuPoolEnv(t)
	env.ExecuteWorkflow(GPUPool, GPUPoolInput{Tenants: []gpupool.TenantConfig{{Name: "suwon", Quota: 1}}})
	require.True(t, env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	assert.Equal(t, ErrBadInput, appErr.Type())
}

func TestGPUPoolDrainPreemptsAndUndrains(t *testing.T) {
	env, log := gpuPoolEnv(t)
	var unknown, drained, undrained *updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		unknown = sendUpdate(env, UpdateGPUDrain, "d1", GPUDrain{Target: "gpu-host-9"})
		drained = sendUpdate(env, UpdateGPUDrain, "d2", GPUDrain{Target: "gpu-host-1", Mode: gpupool.DrainPreempt})
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		undrained = sendUpdate(env, UpdateGPUUndrain, "u1", GPUDrain{Target: "gpu-host-1/1"})
	}, 3*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 4*time.Minute)
	env.ExecuteWorkflow(GPUPool, twoGPUs(10*time.Minute, 5*time.Minute))
	requireCancelled(t, env)

	assert.ErrorContains(t, unknown.rejected, "unknown GPU or host")
	require.NoError(t, drained.err)
	var gpus []gpupool.GPUView
	decodeResult(t, drained.result, &gpus)
	require.Len(t, gpus, 2)
	assert.True(t, gpus[0].Drained && gpus[1].Drained)
	require.NoError(t, undrained.err)
	var after []gpupool.GPUView
	decodeResult(t, undrained.result, &after)
	require.Len(t, after, 2)
	assert.True(t, after[0].Drained)
	assert.False(t, after[1].Drained)

	events := log.get("train-1")
	require.Len(t, events, 2)
	assert.Equal(t, "preempt_requested", events[1].Kind)
	assert.Equal(t, "drain of gpu-host-1", events[1].Reason)
}

// agentHost is what a host's agent registers: n passthrough A100s.
func agentHost(name string, n int) gpupool.HostConfig {
	h := gpupool.HostConfig{Name: name}
	for i := range n {
		h.GPUs = append(h.GPUs, gpupool.GPUConfig{ID: fmt.Sprintf("%s/%d", name, i), Model: "a100"})
	}
	return h
}

// emptyPool has no hosts: they register. A GPU is one unit; suwon and
// yongin have one GPU of quota each; hosts are lost 90 s after their last
// registration.
func emptyPool() GPUPoolInput {
	return GPUPoolInput{UnitsPerGPU: 1, HostTTLSeconds: 90, LeaseTTLSeconds: 600, PreemptGraceSeconds: 300,
		Tenants: []gpupool.TenantConfig{{Name: "suwon", Quota: 1}, {Name: "yongin", Quota: 1}}}
}

func TestGPUPoolRegisteredHostIsLostAndComesBack(t *testing.T) {
	env, log := gpuPoolEnv(t)
	var (
		registered, refused, early, late, back *updateOutcome
		whileLost                              GPUAllocation
		queuedWhileLost, afterReturn           GPULeaseStatus
	)
	env.RegisterDelayedCallback(func() {
		// A request before any host: it queues.
		early = sendUpdate(env, UpdateGPURequest, "r0", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
		registered = sendUpdate(env, UpdateGPURegisterHost, "reg1", agentHost("gpu-a", 1))
		// Four slices cannot be counted in one unit per GPU: refused.
		bad := agentHost("gpu-b", 1)
		bad.GPUs[0].Profile, bad.GPUs[0].Slices = "a100-10c", 4
		refused = sendUpdate(env, UpdateGPURegisterHost, "reg2", bad)
	}, time.Minute)
	// The agent never renews: gpu-a is lost at 1m + 90s.
	env.RegisterDelayedCallback(func() {
		whileLost = queryAllocation(t, env)
		late = sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "yongin", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-2"})
	}, 3*time.Minute)
	env.RegisterDelayedCallback(func() { queuedWhileLost = queryLease(t, env, "train-2") }, 3*time.Minute+time.Second)
	env.RegisterDelayedCallback(func() {
		back = sendUpdate(env, UpdateGPURegisterHost, "reg3", agentHost("gpu-a", 1))
	}, 4*time.Minute)
	env.RegisterDelayedCallback(func() { afterReturn = queryLease(t, env, "train-2") }, 4*time.Minute+time.Second)
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Minute)
	env.ExecuteWorkflow(GPUPool, emptyPool())
	requireCancelled(t, env)

	var st GPULeaseStatus
	require.NoError(t, early.err)
	decodeResult(t, early.result, &st)
	assert.Equal(t, GPULeaseQueued, st.State)
	assert.Equal(t, gpupool.ReasonWaitingForHosts, st.Queue.Reason)

	require.NoError(t, registered.rejected)
	require.NoError(t, registered.err)
	var reg GPUHostRegistration
	decodeResult(t, registered.result, &reg)
	assert.Equal(t, 90, reg.HostTTLSeconds)
	require.NotNil(t, reg.Host)
	assert.Equal(t, gpupool.HostLive, reg.Host.State)
	assert.Equal(t, 90*time.Second, reg.Host.ExpiresAt.Sub(reg.Host.RenewedAt))

	assert.ErrorContains(t, refused.rejected, "invalid host registration")

	// The registration granted the waiting request; the silent host then
	// took the lease with it, exactly at its deadline.
	events := log.get("train-1")
	require.Len(t, events, 2)
	assert.Equal(t, "grant", events[0].Kind)
	assert.Equal(t, "gpu-a/0", events[0].Placements[0].GPU)
	assert.Equal(t, "revoked", events[1].Kind)
	assert.True(t, strings.HasPrefix(events[1].Reason, gpupool.EndHostLost+": gpu-a"), events[1].Reason)
	assert.Equal(t, 90*time.Second, events[1].At.Sub(events[0].At))

	// While lost, the GPU is not scheduled: the next request waits for hosts.
	require.Len(t, whileLost.Hosts, 1)
	assert.Equal(t, gpupool.HostLost, whileLost.Hosts[0].State)
	require.Len(t, whileLost.GPUs, 1)
	assert.True(t, whileLost.GPUs[0].Lost)
	assert.Empty(t, whileLost.GPUs[0].Leases)
	assert.Equal(t, 1, whileLost.Capacity)
	assert.Equal(t, 0, whileLost.LiveCapacity)
	require.NoError(t, late.err)
	assert.Equal(t, GPULeaseQueued, queuedWhileLost.State)
	require.NotNil(t, queuedWhileLost.Queue)
	assert.Equal(t, gpupool.ReasonWaitingForHosts, queuedWhileLost.Queue.Reason)

	// Registered again, the host is schedulable at once.
	require.NoError(t, back.err)
	decodeResult(t, back.result, &reg)
	assert.Equal(t, gpupool.HostLive, reg.Host.State)
	assert.Equal(t, GPULeaseGranted, afterReturn.State)
	assert.Equal(t, []string{"grant"}, log.kinds("train-2"))
	assert.Equal(t, "gpu-a/0", log.get("train-2")[0].Placements[0].GPU)
}

func TestGPUPoolRenewalKeepsTheHostLive(t *testing.T) {
	env, log := gpuPoolEnv(t)
	var alloc GPUAllocation
	var renewals []*updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateGPURegisterHost, "reg0", agentHost("gpu-a", 2))
		sendUpdate(env, UpdateGPURequest, "r0", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 1, Holder: "train-1"})
	}, time.Second)
	// The agent renews every 30 s (a third of the TTL) for eight minutes,
	// five times the TTL; the lease (TTL 10 min) needs no heartbeat.
	for i := 1; i <= 16; i++ {
		env.RegisterDelayedCallback(func() {
			renewals = append(renewals, sendUpdate(env, UpdateGPURegisterHost, fmt.Sprintf("reg%d", i), agentHost("gpu-a", 2)))
		}, time.Second+time.Duration(i)*30*time.Second)
	}
	env.RegisterDelayedCallback(func() { alloc = queryAllocation(t, env) }, 8*time.Minute+2*time.Second)
	env.RegisterDelayedCallback(env.CancelWorkflow, 8*time.Minute+3*time.Second)
	env.ExecuteWorkflow(GPUPool, emptyPool())
	requireCancelled(t, env)

	require.Len(t, renewals, 16)
	for _, r := range renewals {
		require.True(t, r.done)
		require.NoError(t, r.rejected)
		require.NoError(t, r.err)
	}
	assert.Equal(t, []string{"grant"}, log.kinds("train-1"), "the holder was never told its host was lost")
	require.Len(t, alloc.Hosts, 1)
	assert.Equal(t, gpupool.HostLive, alloc.Hosts[0].State)
	assert.Equal(t, 1, alloc.Hosts[0].UsedUnits)
}

func TestGPUPoolContinuesAsNewWithRegisteredHosts(t *testing.T) {
	env, _ := gpuPoolEnv(t)
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateGPURegisterHost, "reg1", agentHost("gpu-a", 2))
		sendUpdate(env, UpdateGPURegisterHost, "reg2", agentHost("gpu-b", 1))
		// Two GPUs fit only gpu-a.
		sendUpdate(env, UpdateGPURequest, "r1", GPURequest{Tenant: "suwon", Kind: gpupool.KindWhole, GPUs: 2, Holder: "train-1"})
	}, time.Minute)
	// gpu-a renews; gpu-b falls silent and is lost at 2m30s, the fifth event.
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateGPURegisterHost, "reg3", agentHost("gpu-a", 2))
	}, 2*time.Minute)
	in := emptyPool()
	in.MaxEvents = 5
	env.ExecuteWorkflow(GPUPool, in)
	require.True(t, env.IsWorkflowCompleted())

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	var next GPUPoolInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NotNil(t, next.State)
	assert.Equal(t, 90*time.Second, next.State.Config.HostTTL)

	p, err := gpupool.Restore(*next.State)
	require.NoError(t, err)
	hosts := p.Hosts()
	require.Len(t, hosts, 2)
	assert.Equal(t, "gpu-a", hosts[0].Host)
	assert.Equal(t, gpupool.HostLive, hosts[0].State)
	assert.Equal(t, "gpu-b", hosts[1].Host)
	assert.Equal(t, gpupool.HostLost, hosts[1].State)
	assert.Equal(t, hosts[0].RenewedAt.Add(90*time.Second), p.NextDeadline(), "the next run keeps gpu-a's deadline")
	l, ok := p.Lease("train-1")
	require.True(t, ok)
	assert.Equal(t, "gpu-a", l.Placements[0].Host)
	assert.Equal(t, map[string]string{"train-1": "train-1"}, next.Holders)
}

func TestGPUPoolInputConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      GPUPoolInput
		wantErr string
		check   func(t *testing.T, c gpupool.Config)
	}{
		{name: "the README's shorthand", in: GPUPoolInput{HostCount: 1, GPUsPerHost: 8, Model: "H100", Profile: "H100-20C", SlicesPerGPU: 4, UnitsPerGPU: 4,
			Tenants: []gpupool.TenantConfig{{Name: "platform"}, {Name: "suwon", Quota: 10}}},
			check: func(t *testing.T, c gpupool.Config) {
				require.Len(t, c.Hosts, 1)
				assert.Len(t, c.Hosts[0].GPUs, 8)
				assert.Equal(t, gpupool.GPUConfig{ID: "gpu-host-1/7", Model: "H100", Profile: "H100-20C", Slices: 4}, c.Hosts[0].GPUs[7])
				assert.Zero(t, c.HostTTL)
			}},
		{name: "no hosts, hosts register", in: GPUPoolInput{Profile: "H100-20C", SlicesPerGPU: 4, HostTTLSeconds: 90},
			check: func(t *testing.T, c gpupool.Config) {
				assert.Empty(t, c.Hosts)
				assert.Equal(t, map[string]int{"H100-20C": 4}, c.Profiles)
				assert.Equal(t, 90*time.Second, c.HostTTL)
			}},
		{name: "host_count without gpus_per_host", in: GPUPoolInput{HostCount: 2}, wantErr: "host_count needs gpus_per_host"},
		{name: "gpus_per_host without host_count", in: GPUPoolInput{GPUsPerHost: 2}, wantErr: "gpus_per_host needs host_count"},
		{name: "negative host TTL", in: GPUPoolInput{UnitsPerGPU: 1, HostTTLSeconds: -1}, wantErr: "must be >= 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.in.config()
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
			_, err = gpupool.New(c)
			assert.NoError(t, err)
		})
	}
}
