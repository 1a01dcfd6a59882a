package workflows

// GPUPool is the long-lived entity workflow that owns the GPU inventory. The
// decisions are internal/gpupool's (a pure, deterministic policy); this file
// only feeds it events, carries out its actions and survives continue-as-new.
//
// Holder protocol (a Training or inference workflow that needs GPUs):
//
//  1. Update "request" on workflow ID "gpu-pool" with a GPURequest naming the
//     tenant, the kind (whole GPUs or vGPU slices), the count and the holder's
//     own workflow ID. The update answers at once with the lease ID and its
//     state: granted (with placements) or queued (with its position). It never
//     blocks until a grant: a queue can take hours and an open update would
//     pin the workflow's history and stop continue-as-new.
//  2. Wait on the signal channel "gpu_lease" for a GPULeaseEvent with
//     Kind "grant" for that lease. The grant is signalled even when the update
//     already answered granted, so a holder can always just wait for the
//     signal; events for other or older leases are ignored by lease ID.
//  3. While working, heartbeat every LeaseTTL/3: signal or update "heartbeat"
//     with the lease ID. A lease not heartbeated for LeaseTTL expires and the
//     holder gets Kind "expired", so a crashed holder never leaks a GPU.
//  4. On Kind "preempt_requested" (the lease was borrowed capacity and its
//     owner wants it back, or its GPU is drained): checkpoint before Deadline,
//     then release and request again. Past the deadline the lease is
//     "revoked" and the holder must stop using the GPU. A lease is also
//     "revoked" at once, without a grace period, when its host is lost
//     (Reason "host lost: ...") or its GPU leaves the host's registration
//     (Reason "gpu removed: ...").
//  5. At the end, signal or update "release" with the lease ID. Releasing a
//     queued request cancels it; releasing twice is harmless.
//
// Holders that cannot take signals may poll the "lease" query instead.
//
// Operators use the updates "set_quota", "add_tenant", "drain" and
// "undrain", and the queries "allocation", "queue" and "lease".
//
// Host protocol (the agent process of each GPU host, activities/gpu's
// HostRegistrar): Update "register_host" with a gpupool.HostConfig, the
// host's name and GPUs, when the agent starts, whenever its inventory
// changes, and well within the pool's host TTL (the answer carries it). A
// host that stops registering is lost once the TTL has passed: its holders
// are told, its GPUs get no leases until it registers again. A registration
// without GPUs removes the host.

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/internal/gpupool"
)

// GPUPoolWorkflowID is the one pool's workflow ID: holders find it by name.
const GPUPoolWorkflowID = "gpu-pool"

// Names of the GPUPool's handlers and of the signal it sends to holders.
const (
	UpdateGPURequest   = "request"
	UpdateGPURelease   = "release"
	UpdateGPUHeartbeat = "heartbeat"
	UpdateGPUSetQuota  = "set_quota"
	UpdateGPUAddTenant = "add_tenant"
	UpdateGPUDrain     = "drain"
	UpdateGPUUndrain   = "undrain"
	// UpdateGPURegisterHost takes a gpupool.HostConfig and answers a
	// GPUHostRegistration.
	UpdateGPURegisterHost = "register_host"

	// SignalGPURelease and SignalGPUHeartbeat carry a lease ID (a string) for
	// callers that cannot wait for an update result, such as the UI.
	SignalGPURelease   = "release"
	SignalGPUHeartbeat = "heartbeat"

	QueryGPUAllocation = "allocation"
	QueryGPUQueue      = "queue"
	QueryGPULease      = "lease"

	// SignalGPULease is sent to a holder workflow with a GPULeaseEvent.
	SignalGPULease = "gpu_lease"
)

// GPUPool defaults.
const (
	DefaultGPULeaseTTL     = 2 * time.Minute
	DefaultGPUPreemptGrace = 5 * time.Minute
	// DefaultGPUPoolMaxEvents bounds one run's history: every request,
	// release, heartbeat or tick is an event, and a run continues as new
	// after this many even if the server has not suggested it yet.
	DefaultGPUPoolMaxEvents = 2000
	// gpuPoolRecentEnded is how many ended leases the lease query still
	// answers for, so a holder polling after a revocation learns why.
	gpuPoolRecentEnded = 256
)

// GPUPoolInput configures the pool. A first run gives the inventory (Hosts, or
// the HostCount shorthand, or none at all when hosts register themselves)
// and Tenants; a continued run gives State instead.
type GPUPoolInput struct {
	// Hosts is the inventory. When empty, HostCount hosts "gpu-host-N" of
	// GPUsPerHost GPUs each are generated, split into SlicesPerGPU slices
	// with Profile when Profile is set. With neither, the pool starts empty
	// and waits for register_host; it then needs UnitsPerGPU, or Profile and
	// SlicesPerGPU (which declare the profile so slice requests can queue
	// before its GPUs register).
	Hosts        []gpupool.HostConfig `json:"hosts,omitempty"`
	HostCount    int                  `json:"host_count,omitempty"`
	GPUsPerHost  int                  `json:"gpus_per_host,omitempty"`
	Model        string               `json:"model,omitempty"`
	Profile      string               `json:"profile,omitempty"`
	SlicesPerGPU int                  `json:"slices_per_gpu,omitempty"`
	// Tenants carries the quotas in units (see gpupool.Config.UnitsPerGPU).
	Tenants     []gpupool.TenantConfig `json:"tenants,omitempty"`
	UnitsPerGPU int                    `json:"units_per_gpu,omitempty"`
	// LeaseTTLSeconds and PreemptGraceSeconds default to 2 and 5 minutes.
	LeaseTTLSeconds     int `json:"lease_ttl_seconds,omitempty"`
	PreemptGraceSeconds int `json:"preempt_grace_seconds,omitempty"`
	// HostTTLSeconds is how long a host that registered stays live without
	// registering again; 0 means hosts never expire. Hosts given here (or
	// by HostCount) are static until their agent first registers them.
	HostTTLSeconds int `json:"host_ttl_seconds,omitempty"`
	// MaxEvents is how many events one run handles before it continues as
	// new; 0 means DefaultGPUPoolMaxEvents.
	MaxEvents int `json:"max_events,omitempty"`

	// State, Holders and Ended are what a run hands to the next one.
	State *gpupool.State `json:"state,omitempty"`
	// Holders maps a lease or queued request ID to its holder workflow ID.
	Holders map[string]string `json:"holders,omitempty"`
	// Ended are the latest ended leases, oldest first.
	Ended []GPULeaseEvent `json:"ended,omitempty"`
}

// GPURequest asks for a lease.
type GPURequest struct {
	// ID names the lease; empty means Holder. A request whose ID the pool
	// queues or leases already for the same tenant is a retry, answered
	// with that request's status; for another tenant it is refused.
	ID     string       `json:"id,omitempty"`
	Tenant string       `json:"tenant"`
	Kind   gpupool.Kind `json:"kind"`
	// GPUs whole GPUs (KindWhole), or Slices slices of Profile (KindSlice).
	GPUs      int    `json:"gpus,omitempty"`
	Slices    int    `json:"slices,omitempty"`
	Profile   string `json:"profile,omitempty"`
	Model     string `json:"model,omitempty"`
	MultiHost bool   `json:"multi_host,omitempty"`
	// Holder is the workflow ID that receives "gpu_lease" signals; empty
	// means the requester polls the lease query.
	Holder string `json:"holder,omitempty"`
}

// GPUQuota sets a tenant's quota in units.
type GPUQuota struct {
	Tenant string `json:"tenant"`
	Quota  int    `json:"quota"`
}

// GPUDrain drains or undrains a GPU ID or a host name.
type GPUDrain struct {
	Target string `json:"target"`
	// Mode is "wait" (default) or "preempt"; undrain ignores it.
	Mode gpupool.DrainMode `json:"mode,omitempty"`
}

// Lease states reported by GPULeaseStatus.
const (
	GPULeaseQueued     = "queued"
	GPULeaseGranted    = "granted"
	GPULeasePreempting = "preempting"
	GPULeaseEnded      = "ended"
	GPULeaseUnknown    = "unknown"
)

// GPULeaseStatus is the answer of the request update and the lease query.
type GPULeaseStatus struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Holder string `json:"holder,omitempty"`
	// Lease is set while granted or preempting.
	Lease *gpupool.Lease `json:"lease,omitempty"`
	// Queue is set while queued.
	Queue *gpupool.QueueEntry `json:"queue,omitempty"`
	// Ended is the last event of an ended lease (released, revoked, expired).
	Ended *GPULeaseEvent `json:"ended,omitempty"`
}

// GPULeaseEvent is what a holder is told through the "gpu_lease" signal.
type GPULeaseEvent struct {
	// Kind is grant, preempt_requested, revoked or expired; "released" only
	// appears in the lease query's record of ended leases.
	Kind       string              `json:"kind"`
	Lease      string              `json:"lease"`
	Tenant     string              `json:"tenant"`
	Placements []gpupool.Placement `json:"placements,omitempty"`
	Borrowed   bool                `json:"borrowed,omitempty"`
	Backfill   bool                `json:"backfill,omitempty"`
	Deadline   time.Time           `json:"deadline,omitzero"`
	Reason     string              `json:"reason,omitempty"`
	At         time.Time           `json:"at"`
}

// gpuLeaseReleased marks a lease ended by its holder.
const gpuLeaseReleased = "released"

// GPUAllocation is the allocation query's answer.
type GPUAllocation struct {
	// Capacity counts every known host, lost ones included (quotas are
	// checked against it); LiveCapacity leaves lost hosts out.
	Capacity     int                  `json:"capacity"`
	LiveCapacity int                  `json:"live_capacity"`
	UnitsPerGPU  int                  `json:"units_per_gpu"`
	Tenants      []gpupool.TenantView `json:"tenants"`
	GPUs         []gpupool.GPUView    `json:"gpus"`
	Hosts        []gpupool.HostView   `json:"hosts"`
}

// GPUHostRegistration is the register_host update's answer.
type GPUHostRegistration struct {
	// Host is the host as the pool now sees it; nil when a registration
	// without GPUs removed it.
	Host *gpupool.HostView `json:"host,omitempty"`
	// HostTTLSeconds is how long the pool waits for the next registration
	// before it declares the host lost; 0 means never.
	HostTTLSeconds int `json:"host_ttl_seconds"`
}

// GPUQueueEntry is a queued request and its holder.
type GPUQueueEntry struct {
	gpupool.QueueEntry
	Holder string `json:"holder,omitempty"`
}

// config builds the policy's config from a first run's input.
func (in GPUPoolInput) config() (gpupool.Config, error) {
	hosts := in.Hosts
	if len(hosts) == 0 {
		switch {
		case in.HostCount < 0 || in.GPUsPerHost < 0:
			return gpupool.Config{}, errors.New("host_count and gpus_per_host must be >= 0")
		case in.HostCount > 0 && in.GPUsPerHost == 0:
			return gpupool.Config{}, errors.New("host_count needs gpus_per_host")
		case in.HostCount == 0 && in.GPUsPerHost > 0:
			return gpupool.Config{}, errors.New("gpus_per_host needs host_count")
		}
		for h := range in.HostCount {
			hc := gpupool.HostConfig{Name: fmt.Sprintf("gpu-host-%d", h+1)}
			for g := range in.GPUsPerHost {
				hc.GPUs = append(hc.GPUs, gpupool.GPUConfig{ID: fmt.Sprintf("%s/%d", hc.Name, g),
					Model: in.Model, Profile: in.Profile, Slices: in.SlicesPerGPU})
			}
			hosts = append(hosts, hc)
		}
	}
	if in.LeaseTTLSeconds < 0 || in.PreemptGraceSeconds < 0 || in.HostTTLSeconds < 0 {
		return gpupool.Config{}, errors.New("lease_ttl_seconds, preempt_grace_seconds and host_ttl_seconds must be >= 0")
	}
	cfg := gpupool.Config{Hosts: hosts, Tenants: in.Tenants, UnitsPerGPU: in.UnitsPerGPU,
		LeaseTTL: DefaultGPULeaseTTL, PreemptGrace: DefaultGPUPreemptGrace,
		HostTTL: time.Duration(in.HostTTLSeconds) * time.Second}
	if len(in.Hosts) == 0 && in.Profile != "" && in.SlicesPerGPU > 0 {
		cfg.Profiles = map[string]int{in.Profile: in.SlicesPerGPU}
	}
	if in.LeaseTTLSeconds > 0 {
		cfg.LeaseTTL = time.Duration(in.LeaseTTLSeconds) * time.Second
	}
	if in.PreemptGraceSeconds > 0 {
		cfg.PreemptGrace = time.Duration(in.PreemptGraceSeconds) * time.Second
	}
	return cfg, nil
}

// gpuPool is one run's state. Handlers run one at a time (a workflow is
// single-threaded) and never block, so each event is applied whole.
type gpuPool struct {
	pool    *gpupool.Pool
	holders map[string]string
	ended   []GPULeaseEvent
	// events counts what this run has handled; the main loop wakes on it.
	events int
	// inflight counts signals to holders not yet acknowledged; a run waits
	// for them before it continues as new.
	inflight int
}

// GPUPool runs the GPU pool until it continues as new (it never completes on
// its own; cancellation stops it).
func GPUPool(ctx workflow.Context, in GPUPoolInput) error {
	w, err := newGPUPool(in)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadInput, err)
	}
	maxEvents := in.MaxEvents
	if maxEvents <= 0 {
		maxEvents = DefaultGPUPoolMaxEvents
	}
	if err := w.register(ctx); err != nil {
		return fmt.Errorf("register gpu pool handlers: %w", err)
	}

	full := func() bool {
		return w.events >= maxEvents || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	}
	for !full() {
		seen := w.events
		changed := func() bool { return w.events != seen }
		// One timer, at the pool's next deadline. AwaitWithTimeout cancels it
		// when an event comes first, and the loop sets a new one from the
		// deadline that event left behind.
		next := w.pool.NextDeadline()
		if next.IsZero() {
			if err := workflow.Await(ctx, changed); err != nil {
				return err
			}
			continue
		}
		if d := next.Sub(workflow.Now(ctx)); d > 0 {
			woke, err := workflow.AwaitWithTimeout(ctx, d, changed)
			if err != nil {
				return err
			}
			if woke {
				continue
			}
		}
		w.apply(ctx, w.pool.Tick(workflow.Now(ctx)))
		w.events++
	}
	return w.continueAsNew(ctx, in)
}

func newGPUPool(in GPUPoolInput) (*gpuPool, error) {
	var (
		p   *gpupool.Pool
		err error
	)
	if in.State != nil {
		p, err = gpupool.Restore(*in.State)
	} else {
		var cfg gpupool.Config
		if cfg, err = in.config(); err != nil {
			return nil, err
		}
		p, err = gpupool.New(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("gpu pool: %w", err)
	}
	w := &gpuPool{pool: p, holders: in.Holders, ended: in.Ended}
	if w.holders == nil {
		w.holders = map[string]string{}
	}
	return w, nil
}

// continueAsNew hands the pool to a fresh run once nothing is in flight:
// running update handlers, unacknowledged holder signals, and signals
// already delivered but not yet received (they would be lost otherwise).
func (w *gpuPool) continueAsNew(ctx workflow.Context, in GPUPoolInput) error {
	for {
		if err := workflow.Await(ctx, func() bool {
			return workflow.AllHandlersFinished(ctx) && w.inflight == 0
		}); err != nil {
			return err
		}
		if !w.drainSignals(ctx) {
			break
		}
	}
	st := w.pool.Snapshot()
	next := GPUPoolInput{MaxEvents: in.MaxEvents, State: &st, Holders: w.holders, Ended: w.ended}
	return workflow.NewContinueAsNewError(ctx, GPUPool, next)
}

// drainSignals handles signals that arrived but were not received yet, and
// reports whether there were any.
func (w *gpuPool) drainSignals(ctx workflow.Context) bool {
	handled := false
	for _, s := range []struct {
		name string
		fn   func(workflow.Context, string)
	}{{SignalGPURelease, w.onReleaseSignal}, {SignalGPUHeartbeat, w.onHeartbeatSignal}} {
		ch := workflow.GetSignalChannel(ctx, s.name)
		var id string
		for ch.ReceiveAsync(&id) {
			s.fn(ctx, id)
			handled = true
		}
	}
	return handled
}

func (w *gpuPool) onReleaseSignal(ctx workflow.Context, id string) {
	if _, err := w.release(ctx, id); err != nil {
		// A signal cannot answer with an error: log it and go on.
		workflow.GetLogger(ctx).Warn("ignored a release signal", "lease", id, "err", err)
	}
}

func (w *gpuPool) onHeartbeatSignal(ctx workflow.Context, id string) {
	if err := w.heartbeat(ctx, id); err != nil {
		workflow.GetLogger(ctx).Warn("ignored a heartbeat signal", "lease", id, "err", err)
	}
}

func (w *gpuPool) register(ctx workflow.Context) error {
	for _, q := range []struct {
		name string
		fn   any
	}{
		{QueryGPUAllocation, func() (GPUAllocation, error) { return w.allocation(), nil }},
		{QueryGPUQueue, func() ([]GPUQueueEntry, error) { return w.queue(), nil }},
		{QueryGPULease, func(id string) (GPULeaseStatus, error) { return w.status(id), nil }},
	} {
		if err := workflow.SetQueryHandler(ctx, q.name, q.fn); err != nil {
			return fmt.Errorf("query %s: %w", q.name, err)
		}
	}

	updates := []struct {
		name      string
		fn        any
		validator any
	}{
		{UpdateGPURequest, w.request, func(ctx workflow.Context, r GPURequest) error {
			if r.policyRequest().ID == "" {
				return fmt.Errorf("%w: id or holder is required", gpupool.ErrInvalidRequest)
			}
			if w.retried(r.policyRequest()) {
				return nil
			}
			return w.trial(func(p *gpupool.Pool) error {
				_, err := p.Submit(workflow.Now(ctx), r.policyRequest())
				return err
			})
		}},
		{UpdateGPURelease, w.release, func(id string) error { return w.validateRelease(id) }},
		{UpdateGPUHeartbeat, func(ctx workflow.Context, id string) error { return w.heartbeat(ctx, id) },
			func(ctx workflow.Context, id string) error {
				return w.trial(func(p *gpupool.Pool) error { return p.Heartbeat(workflow.Now(ctx), id) })
			}},
		{UpdateGPUSetQuota, w.setQuota, func(ctx workflow.Context, q GPUQuota) error {
			return w.trial(func(p *gpupool.Pool) error {
				_, err := p.SetQuota(workflow.Now(ctx), q.Tenant, q.Quota)
				return err
			})
		}},
		{UpdateGPUAddTenant, w.addTenant, func(tc gpupool.TenantConfig) error {
			return w.trial(func(p *gpupool.Pool) error { return p.AddTenant(tc) })
		}},
		{UpdateGPUDrain, w.drain, func(ctx workflow.Context, d GPUDrain) error {
			return w.trial(func(p *gpupool.Pool) error {
				_, err := p.Drain(workflow.Now(ctx), d.Target, d.mode())
				return err
			})
		}},
		{UpdateGPUUndrain, w.undrain, func(ctx workflow.Context, d GPUDrain) error {
			return w.trial(func(p *gpupool.Pool) error {
				_, err := p.Undrain(workflow.Now(ctx), d.Target)
				return err
			})
		}},
		{UpdateGPURegisterHost, w.registerHost, func(ctx workflow.Context, h gpupool.HostConfig) error {
			return w.trial(func(p *gpupool.Pool) error {
				_, err := p.RegisterHost(workflow.Now(ctx), h)
				return err
			})
		}},
	}
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.fn,
			workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("update %s: %w", u.name, err)
		}
	}

	// Signal receivers run until the workflow ends; continueAsNew drains
	// what they have not received yet.
	for _, s := range []struct {
		name string
		fn   func(workflow.Context, string)
	}{{SignalGPURelease, w.onReleaseSignal}, {SignalGPUHeartbeat, w.onHeartbeatSignal}} {
		ch := workflow.GetSignalChannel(ctx, s.name)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var id string
				if !ch.Receive(ctx, &id) {
					return
				}
				s.fn(ctx, id)
			}
		})
	}
	return nil
}

// trial runs fn on a copy of the pool, so a validator can use the policy's
// own validation without changing anything: what the copy accepts, the
// handler will accept too, because handlers and validators see the same
// state and time.
func (w *gpuPool) trial(fn func(*gpupool.Pool) error) error {
	p, err := gpupool.Restore(w.pool.Snapshot())
	if err != nil {
		return fmt.Errorf("copy pool: %w", err)
	}
	return fn(p)
}

// GPURequestUpdateID is the Update ID of a request: the same for every
// retry of it.
func GPURequestUpdateID(r GPURequest) string { return "gpu-request-" + r.policyRequest().ID }

func (r GPURequest) policyRequest() gpupool.Request {
	id := r.ID
	if id == "" {
		id = r.Holder
	}
	return gpupool.Request{ID: id, Tenant: r.Tenant, Kind: r.Kind, GPUs: r.GPUs, Slices: r.Slices,
		Profile: r.Profile, Model: r.Model, MultiHost: r.MultiHost}
}

func (d GPUDrain) mode() gpupool.DrainMode {
	if d.Mode == "" {
		return gpupool.DrainWait
	}
	return d.Mode
}

func (w *gpuPool) request(ctx workflow.Context, r GPURequest) (GPULeaseStatus, error) {
	pr := r.policyRequest()
	if pr.ID == "" {
		return GPULeaseStatus{}, fmt.Errorf("%w: id or holder is required", gpupool.ErrInvalidRequest)
	}
	// A request the pool holds already is its requester's retry (an
	// activity whose first answer was lost), which gets the request's
	// status. Histories from before this answer hold no such update: the
	// validator refused them then.
	if w.retried(pr) {
		return w.status(pr.ID), nil
	}
	// The holder is known before Submit so that an immediate grant reaches
	// it; a refused request (a duplicate ID among them) puts the old one back.
	old, had := w.holders[pr.ID]
	if r.Holder != "" {
		w.holders[pr.ID] = r.Holder
	}
	acts, err := w.pool.Submit(workflow.Now(ctx), pr)
	if err != nil {
		delete(w.holders, pr.ID)
		if had {
			w.holders[pr.ID] = old
		}
		return GPULeaseStatus{}, fmt.Errorf("request %q: %w", pr.ID, err)
	}
	w.forgetEnded(pr.ID)
	w.apply(ctx, acts)
	w.events++
	return w.status(pr.ID), nil
}

func (w *gpuPool) validateRelease(id string) error {
	if _, ok := w.pool.Lease(id); ok || w.queued(id) >= 0 || w.endedIndex(id) >= 0 {
		return nil
	}
	return fmt.Errorf("release: %w: %q", gpupool.ErrUnknownLease, id)
}

// release ends a lease or cancels a queued request. A lease that already
// ended is not an error: the holder may be retrying.
func (w *gpuPool) release(ctx workflow.Context, id string) (GPULeaseStatus, error) {
	now := workflow.Now(ctx)
	var (
		acts []gpupool.Action
		err  error
	)
	switch l, ok := w.pool.Lease(id); {
	case ok:
		acts, err = w.pool.Release(now, id)
		w.end(GPULeaseEvent{Kind: gpuLeaseReleased, Lease: id, Tenant: l.Tenant, Placements: l.Placements, Borrowed: l.Borrowed, At: now})
	case w.queued(id) >= 0:
		q := w.pool.Queue()[w.queued(id)]
		acts, err = w.pool.Cancel(now, id)
		w.end(GPULeaseEvent{Kind: gpuLeaseReleased, Lease: id, Tenant: q.Request.Tenant, Reason: "cancelled while queued", At: now})
	case w.endedIndex(id) >= 0:
		return w.status(id), nil
	default:
		return GPULeaseStatus{}, fmt.Errorf("release: %w: %q", gpupool.ErrUnknownLease, id)
	}
	if err != nil {
		return GPULeaseStatus{}, fmt.Errorf("release %q: %w", id, err)
	}
	w.apply(ctx, acts)
	w.events++
	return w.status(id), nil
}

func (w *gpuPool) heartbeat(ctx workflow.Context, id string) error {
	if err := w.pool.Heartbeat(workflow.Now(ctx), id); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	// A heartbeat moves the next deadline, so the loop re-arms its timer.
	w.events++
	return nil
}

func (w *gpuPool) setQuota(ctx workflow.Context, q GPUQuota) ([]gpupool.TenantView, error) {
	acts, err := w.pool.SetQuota(workflow.Now(ctx), q.Tenant, q.Quota)
	if err != nil {
		return nil, fmt.Errorf("set quota: %w", err)
	}
	w.apply(ctx, acts)
	w.events++
	return w.pool.Tenants(), nil
}

func (w *gpuPool) addTenant(ctx workflow.Context, tc gpupool.TenantConfig) ([]gpupool.TenantView, error) {
	if err := w.pool.AddTenant(tc); err != nil {
		return nil, fmt.Errorf("add tenant: %w", err)
	}
	w.events++
	return w.pool.Tenants(), nil
}

func (w *gpuPool) drain(ctx workflow.Context, d GPUDrain) ([]gpupool.GPUView, error) {
	acts, err := w.pool.Drain(workflow.Now(ctx), d.Target, d.mode())
	if err != nil {
		return nil, fmt.Errorf("drain: %w", err)
	}
	w.apply(ctx, acts)
	w.events++
	return w.pool.GPUs(), nil
}

func (w *gpuPool) undrain(ctx workflow.Context, d GPUDrain) ([]gpupool.GPUView, error) {
	acts, err := w.pool.Undrain(workflow.Now(ctx), d.Target)
	if err != nil {
		return nil, fmt.Errorf("undrain: %w", err)
	}
	w.apply(ctx, acts)
	w.events++
	return w.pool.GPUs(), nil
}

// registerHost adds, changes, renews or removes a host. Holders of leases
// that end with it (GPUs gone, or the host was lost before this late
// registration) are told through apply.
func (w *gpuPool) registerHost(ctx workflow.Context, h gpupool.HostConfig) (GPUHostRegistration, error) {
	acts, err := w.pool.RegisterHost(workflow.Now(ctx), h)
	if err != nil {
		return GPUHostRegistration{}, fmt.Errorf("register host: %w", err)
	}
	w.apply(ctx, acts)
	// Also a renewal: it moves the host's deadline, so the loop re-arms its
	// timer.
	w.events++
	out := GPUHostRegistration{HostTTLSeconds: int(w.pool.HostTTL() / time.Second)}
	if v, ok := w.pool.Host(h.Name); ok {
		out.Host = &v
	}
	return out, nil
}

// apply carries out the policy's actions: it records ended leases and tells
// each holder. Signals are not awaited here, so no handler blocks on a
// holder; their acknowledgements are only counted, for continue-as-new.
func (w *gpuPool) apply(ctx workflow.Context, acts []gpupool.Action) {
	now := workflow.Now(ctx)
	for _, a := range acts {
		ev := GPULeaseEvent{Kind: string(a.Kind), Lease: a.Lease, Tenant: a.Tenant, Placements: a.Placements,
			Borrowed: a.Borrowed, Backfill: a.Backfill, Deadline: a.Deadline, Reason: a.Reason, At: now}
		holder := w.holders[a.Lease]
		if a.Kind == gpupool.ActionRevoked || a.Kind == gpupool.ActionExpired {
			w.end(ev)
		}
		if holder == "" {
			continue
		}
		w.inflight++
		f := workflow.SignalExternalWorkflow(ctx, holder, "", SignalGPULease, ev)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { w.inflight-- }()
			if err := f.Get(ctx, nil); err != nil {
				// A holder that is gone cannot be told; its lease expires
				// without heartbeats, so nothing leaks.
				workflow.GetLogger(ctx).Warn("could not signal GPU lease holder",
					"holder", holder, "lease", a.Lease, "event", a.Kind, "err", err)
			}
		})
	}
}

// end forgets a lease's holder and keeps its last event for the lease query.
func (w *gpuPool) end(ev GPULeaseEvent) {
	delete(w.holders, ev.Lease)
	w.forgetEnded(ev.Lease)
	w.ended = append(w.ended, ev)
	if n := len(w.ended) - gpuPoolRecentEnded; n > 0 {
		w.ended = append([]GPULeaseEvent(nil), w.ended[n:]...)
	}
}

func (w *gpuPool) forgetEnded(id string) {
	if i := w.endedIndex(id); i >= 0 {
		w.ended = append(w.ended[:i:i], w.ended[i+1:]...)
	}
}

func (w *gpuPool) endedIndex(id string) int {
	for i := len(w.ended) - 1; i >= 0; i-- {
		if w.ended[i].Lease == id {
			return i
		}
	}
	return -1
}

// retried tells whether the pool queues or leases r's ID for r's tenant
// already. The same ID for another tenant is no retry, and is refused.
func (w *gpuPool) retried(r gpupool.Request) bool {
	if l, ok := w.pool.Lease(r.ID); ok {
		return l.Tenant == r.Tenant
	}
	if i := w.queued(r.ID); i >= 0 {
		return w.pool.Queue()[i].Request.Tenant == r.Tenant
	}
	return false
}

func (w *gpuPool) queued(id string) int {
	for i, q := range w.pool.Queue() {
		if q.Request.ID == id {
			return i
		}
	}
	return -1
}

func (w *gpuPool) status(id string) GPULeaseStatus {
	st := GPULeaseStatus{ID: id, State: GPULeaseUnknown, Holder: w.holders[id]}
	if l, ok := w.pool.Lease(id); ok {
		st.State, st.Lease = GPULeaseGranted, &l
		if !l.PreemptDeadline.IsZero() {
			st.State = GPULeasePreempting
		}
		return st
	}
	if i := w.queued(id); i >= 0 {
		q := w.pool.Queue()[i]
		st.State, st.Queue = GPULeaseQueued, &q
		return st
	}
	if i := w.endedIndex(id); i >= 0 {
		ev := w.ended[i]
		st.State, st.Ended = GPULeaseEnded, &ev
	}
	return st
}

func (w *gpuPool) allocation() GPUAllocation {
	return GPUAllocation{Capacity: w.pool.Capacity(), LiveCapacity: w.pool.LiveCapacity(), UnitsPerGPU: w.pool.UnitsPerGPU(),
		Tenants: w.pool.Tenants(), GPUs: w.pool.GPUs(), Hosts: w.pool.Hosts()}
}

func (w *gpuPool) queue() []GPUQueueEntry {
	q := w.pool.Queue()
	out := make([]GPUQueueEntry, len(q))
	for i, e := range q {
		out[i] = GPUQueueEntry{QueueEntry: e, Holder: w.holders[e.Request.ID]}
	}
	return out
}
