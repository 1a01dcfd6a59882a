package gpu

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// DefaultHeartbeatEvery is how often a slow inventory read heartbeats.
const DefaultHeartbeatEvery = 5 * time.Second

// Activities read one GPU host's inventory. NVML only sees the GPUs of the
// machine it runs on, so a worker on each GPU host registers these on that
// host's own task queue, dure-gpu-<host> (workflows.GPUHostTaskQueue).
type Activities struct {
	// Host is this worker's GPU host name, as the pool and the task queue
	// name it.
	Host string
	// Source is OpenSystem's session on a GPU host, or a Static inventory
	// (configured or Simulated) where there is no driver.
	Source Source
	// HeartbeatEvery: a read still running after this long heartbeats at
	// this interval; zero means DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
}

// GPUInventory reads the host's GPUs. A read runs in under a second on a
// healthy host; a GPU that hangs in the driver can hold it for much longer,
// and then the activity heartbeats so a heartbeat timeout tells a stuck
// host from a slow one. On cancellation it returns at once, leaving the
// NVML call to finish in the background (an NVML call cannot be cut short).
func (a *Activities) GPUInventory(ctx context.Context) (HostInventory, error) {
	if a.Source == nil {
		// Misconfigured worker: retrying on the same worker cannot help.
		return HostInventory{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("gpu host %s: no inventory source", a.Host), "NoGPUSource", ErrNoNVML)
	}
	every := a.HeartbeatEvery
	if every <= 0 {
		every = DefaultHeartbeatEvery
	}
	type result struct {
		inv HostInventory
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned read must not block
	start := time.Now()
	go func() {
		inv, err := ReadHost(ctx, a.Host, a.Source)
		done <- result{inv, err}
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				return HostInventory{}, r.err
			}
			activity.GetLogger(ctx).Info("gpu inventory read", "host", a.Host, "source", r.inv.Source,
				"gpus", len(r.inv.GPUs), "degraded", degraded(r.inv.GPUs), "took", time.Since(start))
			return r.inv, nil
		case <-tick.C:
			activity.RecordHeartbeat(ctx, fmt.Sprintf("reading gpus of %s for %s", a.Host, time.Since(start).Round(time.Second)))
		case <-ctx.Done():
			return HostInventory{}, fmt.Errorf("gpu inventory of %s: %w", a.Host, ctx.Err())
		}
	}
}

func degraded(gpus []GPU) int {
	n := 0
	for _, g := range gpus {
		if !g.Health.OK() {
			n++
		}
	}
	return n
}
