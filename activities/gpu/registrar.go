package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/workflows"
)

// How the dev stack's GPUs are offered to the pool: H100s, each split into
// four H100-20C vGPU slices (DefaultPoolSpec).
const (
	DefaultPoolModel   = "H100"
	DefaultVGPUProfile = "H100-20C"
	DefaultVGPUSlices  = 4
)

// HostRegistrar defaults.
const (
	// DefaultRegisterEvery is the registration interval when the pool's
	// hosts never expire: often enough to report a changed inventory.
	DefaultRegisterEvery = time.Minute
	// DefaultRegisterMaxBackoff caps the wait between attempts while the
	// pool cannot be reached.
	DefaultRegisterMaxBackoff = 30 * time.Second
	// firstRetry is the wait after the first failed attempt; it doubles.
	firstRetry = time.Second
)

// PoolSpec says how a host's GPUs are offered to the pool where the
// inventory does not say.
type PoolSpec struct {
	// Model is the model name that requests pin (gpupool.Request.Model);
	// empty means the GPU's name as the inventory reads it.
	Model string
	// VGPU splits every GPU whose inventory entry has no VGPU of its own;
	// an empty Profile offers such GPUs whole only (passthrough).
	VGPU VGPU
}

// DefaultPoolSpec is the dev stack's: model "H100", profile "H100-20C",
// four slices per GPU.
func DefaultPoolSpec() PoolSpec {
	return PoolSpec{Model: DefaultPoolModel, VGPU: VGPU{Profile: DefaultVGPUProfile, Slices: DefaultVGPUSlices}}
}

// PoolHost turns a host's inventory into the host the GPUPool workflow
// schedules (the register_host update's argument): one GPU per inventory
// GPU, with id "<host>/<index>" (GPU.ID), in inventory order. Degraded GPUs
// are offered too: the inventory's health is a sample, and the pool has no
// notion of it yet.
func PoolHost(inv HostInventory, spec PoolSpec) gpupool.HostConfig {
	h := gpupool.HostConfig{Name: inv.Host, GPUs: make([]gpupool.GPUConfig, 0, len(inv.GPUs))}
	for _, g := range inv.GPUs {
		model := spec.Model
		if model == "" {
			model = g.Name
		}
		split := g.VGPU
		if split.Profile == "" {
			split = spec.VGPU
		}
		h.GPUs = append(h.GPUs, gpupool.GPUConfig{ID: g.ID(inv.Host), Model: model, Profile: split.Profile, Slices: split.Slices})
	}
	return h
}

// HostRegistrar keeps one GPU host registered with the GPUPool workflow. The
// host's agent process runs it beside the worker of the host's task queue
// (dure-gpu-<host>); it is not a Temporal activity. At start, and then every
// interval, it reads the inventory and sends it as the register_host
// update: the same GPUs renew the host, changed ones add or remove GPUs in
// the pool. When the agent stops, the pool loses the host once its host TTL
// has passed, and ends the leases on it.
type HostRegistrar struct {
	// Host is the host's name, as the pool and the task queue name it.
	Host   string
	Source Source
	Pool   PoolUpdater
	// Spec says how GPUs are offered to the pool; nil means
	// DefaultPoolSpec().
	Spec *PoolSpec
	// Every is the interval between registrations. 0 means a third of the
	// host TTL the pool answers with, so two registrations may be lost
	// before the host is; DefaultRegisterEvery where hosts never expire.
	Every time.Duration
	// MaxBackoff caps the wait between attempts while the pool cannot be
	// reached or the inventory cannot be read; the wait starts at a second
	// and doubles. 0 means DefaultRegisterMaxBackoff.
	MaxBackoff time.Duration
	// Logger receives what happens; nil means slog.Default().
	Logger *slog.Logger

	// wait blocks for d or until ctx ends; nil means a timer. Tests replace
	// it to control time.
	wait func(ctx context.Context, d time.Duration) error
}

// Run registers the host until ctx ends, then returns nil. It returns an
// error only when the registrar is misconfigured. A pool that cannot be
// reached is retried with capped backoff; a registration the pool refuses
// (a GPU that does not fit it) is logged as an error and sent again at the
// next interval, in case the inventory or the pool changed.
func (r *HostRegistrar) Run(ctx context.Context) error {
	if r.Host == "" || r.Source == nil || r.Pool == nil {
		return errors.New("gpu host registrar: host, source and pool are required")
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("host", r.Host)
	spec := DefaultPoolSpec()
	if r.Spec != nil {
		spec = *r.Spec
	}
	wait := r.wait
	if wait == nil {
		wait = sleep
	}

	var (
		ttl      = time.Duration(-1) // unknown until the pool answers
		last     *gpupool.HostConfig // the last registration the pool took
		failures int
		backoff  time.Duration
	)
	for {
		// An attempt may take no longer than the interval it serves.
		actx, cancel := context.WithTimeout(ctx, r.interval(ttl))
		host, reg, err := r.register(actx, spec)
		cancel()
		if ctx.Err() != nil {
			log.Info("gpu host registration stopped")
			return nil
		}
		next := r.interval(ttl)
		var refused *temporal.ApplicationError
		switch {
		case err == nil:
			ttl = time.Duration(reg.HostTTLSeconds) * time.Second
			next = r.interval(ttl)
			logRegistration(log, last, host, reg, failures, next)
			last, failures, backoff = &host, 0, 0
		case errors.As(err, &refused):
			// The pool's validator (or handler) said no: asking again at
			// once would get the same answer.
			log.Error("gpu pool refused the host's registration", "gpus", len(host.GPUs), "err", err, "retry_in", next)
			failures, backoff = 0, 0
		default:
			failures++
			backoff = min(max(2*backoff, firstRetry), r.maxBackoff())
			next = backoff
			log.Warn("gpu host registration failed", "attempt", failures, "err", err, "retry_in", next)
		}
		if err := wait(ctx, next); err != nil {
			log.Info("gpu host registration stopped")
			return nil
		}
	}
}

// register reads the inventory and sends it to the pool.
func (r *HostRegistrar) register(ctx context.Context, spec PoolSpec) (gpupool.HostConfig, workflows.GPUHostRegistration, error) {
	var reg workflows.GPUHostRegistration
	inv, err := ReadHost(ctx, r.Host, r.Source)
	if err != nil {
		return gpupool.HostConfig{}, reg, fmt.Errorf("read inventory: %w", err)
	}
	host := PoolHost(inv, spec)
	h, err := r.Pool.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.GPUPoolWorkflowID, UpdateName: workflows.UpdateGPURegisterHost, Args: []any{host},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &reg)
	}
	if err != nil {
		return host, reg, fmt.Errorf("register with gpu pool: %w", err)
	}
	return host, reg, nil
}

// interval is the wait between registrations for a pool whose host TTL is
// ttl (negative while unknown).
func (r *HostRegistrar) interval(ttl time.Duration) time.Duration {
	switch {
	case r.Every > 0:
		return r.Every
	case ttl > 0:
		return ttl / 3
	default:
		return DefaultRegisterEvery
	}
}

func (r *HostRegistrar) maxBackoff() time.Duration {
	if r.MaxBackoff > 0 {
		return r.MaxBackoff
	}
	return DefaultRegisterMaxBackoff
}

// logRegistration reports a registration at a level that matches its news:
// the first one, a changed inventory, a removal and a recovery are worth an
// Info line; a plain renewal is Debug.
func logRegistration(log *slog.Logger, last *gpupool.HostConfig, host gpupool.HostConfig, reg workflows.GPUHostRegistration, failures int, next time.Duration) {
	if failures > 0 {
		log.Info("gpu pool reachable again", "failed_attempts", failures)
	}
	switch {
	case reg.Host == nil && (last == nil || len(last.GPUs) > 0):
		log.Warn("no gpus to register: the pool removed the host")
	case reg.Host == nil:
		log.Debug("still no gpus to register")
	case last == nil:
		log.Info("registered with the gpu pool", "gpus", len(host.GPUs), "state", reg.Host.State,
			"host_ttl", time.Duration(reg.HostTTLSeconds)*time.Second, "every", next)
	case !slices.Equal(last.GPUs, host.GPUs):
		added, removed := diffGPUs(last.GPUs, host.GPUs)
		log.Info("gpu inventory changed; registered again", "gpus", len(host.GPUs), "added", added, "removed", removed)
	default:
		log.Debug("gpu host registration renewed", "state", reg.Host.State, "expires_at", reg.Host.ExpiresAt)
	}
}

// diffGPUs lists the ids of GPUs that are new or changed, and of GPUs gone
// or changed, from before to after.
func diffGPUs(before, after []gpupool.GPUConfig) (added, removed []string) {
	for _, g := range after {
		if !slices.Contains(before, g) {
			added = append(added, g.ID)
		}
	}
	for _, g := range before {
		if !slices.Contains(after, g) {
			removed = append(removed, g.ID)
		}
	}
	return added, removed
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
