package gpupool

import "time"

// Kind says how a request uses GPUs.
type Kind string

const (
	// KindWhole asks for entire GPUs (PCI passthrough, for training).
	KindWhole Kind = "whole"
	// KindSlice asks for vGPU slices (mdev) on one GPU of a given profile,
	// for inference and tenant jobs.
	KindSlice Kind = "slice"
)

// Request asks for a lease.
type Request struct {
	// ID names the request and, once granted, the lease. It must be unique
	// among queued requests and live leases; a workflow ID is a good choice.
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	Kind   Kind   `json:"kind"`
	// GPUs is the number of whole GPUs (KindWhole).
	GPUs int `json:"gpus,omitempty"`
	// Slices and Profile ask for Slices slices on one GPU split with
	// Profile (KindSlice).
	Slices  int    `json:"slices,omitempty"`
	Profile string `json:"profile,omitempty"`
	// Model, when set, restricts the request to GPUs of that model.
	Model string `json:"model,omitempty"`
	// MultiHost lets a whole-GPU request span hosts. By default all GPUs of
	// a lease sit on one host, because one VM gets them by passthrough.
	MultiHost bool `json:"multi_host,omitempty"`
}

// Placement is one GPU of a lease.
type Placement struct {
	Host string `json:"host"`
	GPU  string `json:"gpu"`
	// Slices is the number of slices held on GPU; 0 means the whole GPU.
	Slices int `json:"slices,omitempty"`
}

// Lease is granted capacity.
type Lease struct {
	ID         string      `json:"id"`
	Tenant     string      `json:"tenant"`
	Kind       Kind        `json:"kind"`
	Units      int         `json:"units"`
	Placements []Placement `json:"placements"`
	// Borrowed marks capacity beyond the tenant's quota: it may be preempted
	// when another tenant needs its quota back.
	Borrowed bool `json:"borrowed,omitempty"`
	// Backfill marks a borrowed lease placed on idle capacity reserved for a
	// waiting request: that request may preempt it once it can start.
	Backfill  bool      `json:"backfill,omitempty"`
	Seq       uint64    `json:"seq"`
	GrantedAt time.Time `json:"granted_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// PreemptDeadline is set once the holder has been asked to checkpoint and
	// release; the lease is revoked at the first Tick at or after it.
	PreemptDeadline time.Time `json:"preempt_deadline,omitzero"`
	PreemptReason   string    `json:"preempt_reason,omitempty"`
}

func (l *Lease) preempting() bool { return !l.PreemptDeadline.IsZero() }

// WaitReason says why a queued request has not been granted yet.
type WaitReason string

const (
	// ReasonReclaiming: the request is within its tenant's quota and borrowed
	// leases on its target were asked to leave.
	ReasonReclaiming WaitReason = "reclaiming-borrowed"
	// ReasonInQuotaHeld: the request is within quota, but the capacity it
	// needs on one host or GPU is held by other in-quota leases (placement,
	// not quota, is short); the target is reserved until they finish.
	ReasonInQuotaHeld WaitReason = "waiting-for-in-quota-leases"
	// ReasonBorrowReserved: the request is beyond quota and its tenant's
	// first that does not fit; capacity on its target is kept for it (and
	// lent as backfill until it can start).
	ReasonBorrowReserved WaitReason = "borrow-reserved"
	// ReasonNoIdleCapacity: the request is beyond quota and waits for idle
	// capacity.
	ReasonNoIdleCapacity WaitReason = "no-idle-capacity"
	// ReasonBehindOwnRequest: the request is beyond quota and its tenant
	// has an in-quota request waiting, which it must not push out of quota.
	ReasonBehindOwnRequest WaitReason = "behind-own-in-quota-request"
	// ReasonBehindReservations: every matching GPU is reserved for older
	// requests.
	ReasonBehindReservations WaitReason = "behind-reservations"
	// ReasonDrained: every matching GPU on a live host is drained.
	ReasonDrained WaitReason = "drained"
	// ReasonWaitingForHosts: the live hosts could not hold the request even
	// if they were idle: the hosts that could are lost, or have not
	// registered (yet).
	ReasonWaitingForHosts WaitReason = "waiting-for-hosts"
)

// Pending is a queued request.
type Pending struct {
	Request     Request   `json:"request"`
	Units       int       `json:"units"`
	Seq         uint64    `json:"seq"`
	SubmittedAt time.Time `json:"submitted_at"`
	// Entitled is true when the request fits its tenant's quota (as of the
	// last scheduling pass): it may preempt borrowed capacity.
	Entitled bool       `json:"entitled,omitempty"`
	Reason   WaitReason `json:"reason,omitempty"`
	// Target is the host, GPU or "*" (any GPU) where capacity is reserved for
	// the request. It is kept across passes so that a waiting request keeps
	// collecting capacity in one place instead of chasing it.
	Target string `json:"target,omitempty"`
}

// ActionKind names what the pool tells a holder or requester.
type ActionKind string

const (
	ActionGrant ActionKind = "grant"
	// ActionPreemptRequested asks the holder to checkpoint and release before
	// Deadline.
	ActionPreemptRequested ActionKind = "preempt_requested"
	// ActionRevoked says the lease was taken back after its grace period.
	ActionRevoked ActionKind = "revoked"
	// ActionExpired says the lease lapsed without heartbeats.
	ActionExpired ActionKind = "expired"
)

// Action is a decision for the GPUPool workflow to carry out: start the job,
// signal the holder, or tear down its VM or mdev devices.
type Action struct {
	Kind       ActionKind  `json:"kind"`
	Lease      string      `json:"lease"`
	Tenant     string      `json:"tenant"`
	Placements []Placement `json:"placements,omitempty"`
	// Borrowed and Backfill tell a granted holder that it may be preempted,
	// so it should checkpoint often.
	Borrowed bool      `json:"borrowed,omitempty"`
	Backfill bool      `json:"backfill,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	Reason   string    `json:"reason,omitempty"`
}

// Reasons that start Action.Reason when a lease is revoked because the
// inventory changed under it, followed by ": " and the details.
const (
	// EndHostLost: a host holding the lease did not renew its registration
	// within Config.HostTTL.
	EndHostLost = "host lost"
	// EndGPURemoved: a GPU holding the lease is no longer in its host's
	// registration, or was registered again with another model, profile or
	// slice count, or its host registered no GPUs at all.
	EndGPURemoved = "gpu removed"
)

// HostState says whether a host's GPUs are scheduled.
type HostState string

const (
	// HostStatic: configured in Config.Hosts and never registered since; it
	// never expires.
	HostStatic HostState = "static"
	// HostLive: registered and renewed within Config.HostTTL (or the pool's
	// hosts never expire).
	HostLive HostState = "live"
	// HostLost: not renewed within Config.HostTTL. Its leases were revoked
	// and its GPUs get no new ones until it registers again.
	HostLost HostState = "lost"
)

// HostLiveness is a registered host's last registration.
type HostLiveness struct {
	Name      string    `json:"name"`
	RenewedAt time.Time `json:"renewed_at"`
	Lost      bool      `json:"lost,omitempty"`
}

// DrainMode says what happens to leases on a drained GPU.
type DrainMode string

const (
	// DrainWait lets existing leases run until they are released or expire.
	DrainWait DrainMode = "wait"
	// DrainPreempt asks every lease on the GPUs to leave within the grace
	// period, then revokes it.
	DrainPreempt DrainMode = "preempt"
)

// State is everything the pool knows. It is plain data so a workflow can carry
// it across continue-as-new; Restore(Snapshot()) decides exactly as the
// original would.
type State struct {
	Config Config `json:"config"`
	// Drained lists drained GPU IDs in inventory order.
	Drained []string `json:"drained,omitempty"`
	// Hosts holds the hosts that have registered, in inventory order; hosts
	// of Config.Hosts missing here are static.
	Hosts []HostLiveness `json:"host_liveness,omitempty"`
	// Leases are live leases in grant order.
	Leases []Lease `json:"leases"`
	// Queue holds waiting requests in submit order.
	Queue []Pending `json:"queue"`
	// Seq is the last sequence number handed to a request or lease.
	Seq uint64 `json:"seq"`
}
