// Package gpupool is the GPU pool's scheduling policy: which tenant gets which
// whole GPUs or vGPU slices, when borrowed capacity is taken back, and when a
// silent holder loses its lease.
//
// The policy is deterministic and keeps no clock: every call takes the current
// time, so the GPUPool entity workflow can own a Pool, feed it requests,
// releases, heartbeats and timer ticks, answer queries from its views, and
// carry it across continue-as-new with Snapshot and Restore. A Pool is not safe
// for concurrent use; a workflow is single-threaded anyway.
//
// The rules (docs/gpupool.md has the long form):
//   - Capacity is counted in units: a GPU is Config.UnitsPerGPU units, a slice
//     a fraction of that, so whole-GPU and slice requests share one quota.
//   - A request that fits its tenant's quota is entitled: it is served oldest
//     first, reserves a target until it fits there, and may preempt what
//     other tenants hold beyond their quotas.
//   - Other requests borrow idle capacity, in weighted fair-share order
//     (lowest usage per weight first); their leases are marked Borrowed.
//     Reserved capacity that waits anyway is lent out as preemptible backfill.
//   - Preemption asks the holder to checkpoint and release (PreemptRequested
//     with a deadline) and revokes the lease at the deadline.
//   - Leases expire LeaseTTL after their last heartbeat.
//   - Drained GPUs get no new leases; existing ones finish or are preempted.
//   - Hosts register their GPUs (RegisterHost) and renew within HostTTL; a
//     host that does not is lost: its leases are revoked and its GPUs get
//     no new ones until it registers again. GPUs a host stops reporting
//     leave with their leases.
package gpupool

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Pool applies the policy to a State.
type Pool struct {
	topo      *topology
	st        State
	tenantIdx map[string]int
	// drained is per GPU of topo; renewed and lost are per host of topo,
	// renewed zero for a host that never registered (static). State.Drained
	// and State.Hosts are kept in step with them.
	drained []bool
	renewed []time.Time
	lost    []bool
}

// New returns an empty pool for cfg.
func New(cfg Config) (*Pool, error) {
	if err := validateConfig(cfg); err != nil {
		return nil, err
	}
	topo, err := newTopology(cfg.Hosts, cfg.UnitsPerGPU, cfg.Profiles, ErrInvalidConfig)
	if err != nil {
		return nil, err
	}
	if err := topo.validateTenants(cfg.Tenants, 0); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return Restore(State{Config: cfg})
}

// Restore returns a pool that continues from s, as produced by Snapshot
// (possibly through JSON). It validates s, so a corrupted state is refused
// rather than scheduled. Quotas summing beyond the capacity are accepted:
// the inventory may have shrunk since they were set.
func Restore(s State) (*Pool, error) {
	s = cloneState(s)
	if err := validateConfig(s.Config); err != nil {
		return nil, err
	}
	topo, err := newTopology(s.Config.Hosts, s.Config.UnitsPerGPU, s.Config.Profiles, ErrInvalidConfig)
	if err != nil {
		return nil, err
	}
	if err := topo.validateTenants(s.Config.Tenants, quotaSum(s.Config.Tenants)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	s.Config.UnitsPerGPU = topo.unitsPerGPU
	s.Config.Profiles = topo.profileMap()
	p := &Pool{topo: topo, st: s}
	p.indexTenants()
	if err := p.indexInventory(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := p.checkRestored(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for i := range p.st.Leases {
		l := &p.st.Leases[i]
		l.GrantedAt, l.ExpiresAt, l.PreemptDeadline = norm(l.GrantedAt), norm(l.ExpiresAt), norm(l.PreemptDeadline)
	}
	for i := range p.st.Queue {
		p.st.Queue[i].SubmittedAt = norm(p.st.Queue[i].SubmittedAt)
	}
	return p, nil
}

// indexInventory builds the per-GPU and per-host flags from State.Drained
// and State.Hosts for the current topology, then writes both back in
// inventory order.
func (p *Pool) indexInventory() error {
	p.drained = make([]bool, len(p.topo.gpus))
	for _, id := range p.st.Drained {
		g, ok := p.topo.byID[id]
		if !ok {
			return fmt.Errorf("drained GPU %q: %w", id, ErrUnknownTarget)
		}
		p.drained[g] = true
	}
	p.renewed = make([]time.Time, len(p.topo.hosts))
	p.lost = make([]bool, len(p.topo.hosts))
	seen := map[string]bool{}
	for _, hl := range p.st.Hosts {
		h, ok := p.topo.byHost[hl.Name]
		if !ok || seen[hl.Name] {
			return fmt.Errorf("liveness of host %q: %w, or listed twice", hl.Name, ErrUnknownTarget)
		}
		seen[hl.Name] = true
		if hl.RenewedAt.IsZero() {
			return fmt.Errorf("liveness of host %q: no renewal time", hl.Name)
		}
		p.renewed[h], p.lost[h] = norm(hl.RenewedAt), hl.Lost
	}
	p.syncDrained()
	p.syncHosts()
	return nil
}

// checkRestored refuses states whose leases or queue do not fit the config.
func (p *Pool) checkRestored() error {
	ids := map[string]bool{}
	used := make([]int, len(p.topo.gpus))
	for _, l := range p.st.Leases {
		if ids[l.ID] || l.ID == "" {
			return fmt.Errorf("lease %q: %w", l.ID, ErrDuplicateID)
		}
		ids[l.ID] = true
		if _, ok := p.tenantIdx[l.Tenant]; !ok {
			return fmt.Errorf("lease %q: %w: %q", l.ID, ErrUnknownTenant, l.Tenant)
		}
		units := 0
		for _, pl := range l.Placements {
			g, ok := p.topo.byID[pl.GPU]
			if !ok || p.topo.gpus[g].host != pl.Host {
				return fmt.Errorf("lease %q: %w: %q on %q", l.ID, ErrUnknownTarget, pl.GPU, pl.Host)
			}
			if p.lost[p.topo.gpus[g].hostIdx] {
				return fmt.Errorf("lease %q: on lost host %q", l.ID, pl.Host)
			}
			n := p.slicesOn(pl, g)
			if used[g] += n; used[g] > p.topo.gpus[g].slices || pl.Slices < 0 {
				return fmt.Errorf("lease %q: GPU %q over capacity", l.ID, pl.GPU)
			}
			units += n * p.topo.gpus[g].sliceUnits
		}
		if units != l.Units || units == 0 {
			return fmt.Errorf("lease %q: placements make %d units, lease says %d", l.ID, units, l.Units)
		}
	}
	for _, q := range p.st.Queue {
		if ids[q.Request.ID] {
			return fmt.Errorf("request %q: %w", q.Request.ID, ErrDuplicateID)
		}
		ids[q.Request.ID] = true
		// Only the size: the request was placeable when it was queued, and
		// the inventory may have shrunk since.
		u, err := p.size(q.Request)
		if err != nil {
			return fmt.Errorf("request %q: %w", q.Request.ID, err)
		}
		if u != q.Units {
			return fmt.Errorf("request %q: %d units, state says %d", q.Request.ID, u, q.Units)
		}
	}
	return nil
}

// Snapshot returns a deep copy of the state.
func (p *Pool) Snapshot() State { return cloneState(p.st) }

func cloneState(s State) State {
	c := s
	c.Config.Hosts = make([]HostConfig, len(s.Config.Hosts))
	for i, h := range s.Config.Hosts {
		c.Config.Hosts[i] = HostConfig{Name: h.Name, GPUs: slices.Clone(h.GPUs)}
	}
	c.Config.Tenants = slices.Clone(s.Config.Tenants)
	c.Config.Profiles = maps.Clone(s.Config.Profiles)
	c.Drained = slices.Clone(s.Drained)
	c.Hosts = slices.Clone(s.Hosts)
	c.Leases = make([]Lease, len(s.Leases))
	for i, l := range s.Leases {
		l.Placements = slices.Clone(l.Placements)
		c.Leases[i] = l
	}
	c.Queue = slices.Clone(s.Queue)
	return c
}

// norm strips the monotonic clock reading and the location, so that times
// compare equal with == after a JSON round trip.
func norm(t time.Time) time.Time { return t.Round(0).UTC() }

func (p *Pool) indexTenants() {
	p.tenantIdx = make(map[string]int, len(p.st.Config.Tenants))
	for i, t := range p.st.Config.Tenants {
		p.tenantIdx[t.Name] = i
	}
}

func (p *Pool) syncDrained() {
	// nil rather than empty, as after a JSON round trip with omitempty.
	p.st.Drained = nil
	for g, d := range p.drained {
		if d {
			p.st.Drained = append(p.st.Drained, p.topo.gpus[g].id)
		}
	}
}

func (p *Pool) syncHosts() {
	p.st.Hosts = nil
	for h, at := range p.renewed {
		if !at.IsZero() {
			p.st.Hosts = append(p.st.Hosts, HostLiveness{Name: p.topo.hosts[h], RenewedAt: at, Lost: p.lost[h]})
		}
	}
}

// usable reports whether GPU g may get new leases: not drained, and its host
// not lost.
func (p *Pool) usable(g int) bool {
	return !p.drained[g] && !p.lost[p.topo.gpus[g].hostIdx]
}

func (p *Pool) nextSeq() uint64 {
	p.st.Seq++
	return p.st.Seq
}

// UnitsPerGPU is the number of quota units one GPU is worth.
func (p *Pool) UnitsPerGPU() int { return p.topo.unitsPerGPU }

// Capacity is the pool's size in units, drained GPUs and lost hosts
// included: what quotas are checked against.
func (p *Pool) Capacity() int { return p.topo.capacity() }

// HostTTL is how long a registered host stays live without registering
// again; 0 means hosts never expire.
func (p *Pool) HostTTL() time.Duration { return p.st.Config.HostTTL }

// LiveCapacity is the size in units of the hosts that are not lost, drained
// GPUs included.
func (p *Pool) LiveCapacity() int {
	n := 0
	for _, g := range p.topo.gpus {
		if !p.lost[g.hostIdx] {
			n++
		}
	}
	return n * p.topo.unitsPerGPU
}

// units validates r against the inventory and returns its size in units. A
// request is refused when no host the pool knows (lost ones included) could
// ever hold it; a pool that knows no host yet cannot tell, and queues
// whatever it can size.
func (p *Pool) units(r Request) (int, error) {
	u, err := p.size(r)
	if err != nil {
		return 0, err
	}
	if err := p.placeable(r); err != nil {
		return 0, err
	}
	return u, nil
}

// size checks r's shape and returns its size in units. It depends only on
// the units per GPU and the profiles, which never change, so a queued
// request keeps its size whatever hosts come and go.
func (p *Pool) size(r Request) (int, error) {
	if r.ID == "" {
		return 0, fmt.Errorf("%w: empty id", ErrInvalidRequest)
	}
	if _, ok := p.tenantIdx[r.Tenant]; !ok {
		return 0, fmt.Errorf("request %q: %w: %q", r.ID, ErrUnknownTenant, r.Tenant)
	}
	switch r.Kind {
	case KindWhole:
		if r.GPUs < 1 || r.Slices != 0 || r.Profile != "" {
			return 0, fmt.Errorf("%w: %q: a whole-GPU request needs GPUs >= 1 and no slices or profile", ErrInvalidRequest, r.ID)
		}
		return r.GPUs * p.topo.unitsPerGPU, nil
	case KindSlice:
		if r.Slices < 1 || r.GPUs != 0 || r.MultiHost {
			return 0, fmt.Errorf("%w: %q: a slice request needs slices >= 1 and no GPUs", ErrInvalidRequest, r.ID)
		}
		s, ok := p.topo.profiles[r.Profile]
		if !ok {
			return 0, fmt.Errorf("%w: %q: no GPU has profile %q", ErrUnsatisfiable, r.ID, r.Profile)
		}
		if r.Slices > s {
			return 0, fmt.Errorf("%w: %q asks for %d slices, profile %q has %d per GPU", ErrUnsatisfiable, r.ID, r.Slices, r.Profile, s)
		}
		return r.Slices * (p.topo.unitsPerGPU / s), nil
	default:
		return 0, fmt.Errorf("%w: %q: unknown kind %q", ErrInvalidRequest, r.ID, r.Kind)
	}
}

// placeable refuses a request of a valid shape that no known host could
// hold even if the pool were idle and nothing drained or lost.
func (p *Pool) placeable(r Request) error {
	if len(p.topo.hosts) == 0 {
		return nil
	}
	if r.Kind == KindSlice {
		if slices.ContainsFunc(p.topo.gpus, func(g gpuInfo) bool {
			return g.profile == r.Profile && (r.Model == "" || g.model == r.Model)
		}) {
			return nil
		}
		if r.Model == "" {
			return fmt.Errorf("%w: %q: no GPU has profile %q", ErrUnsatisfiable, r.ID, r.Profile)
		}
		return fmt.Errorf("%w: %q: no %s GPU has profile %q", ErrUnsatisfiable, r.ID, r.Model, r.Profile)
	}
	most := 0
	for _, gs := range p.topo.hostGPUs {
		n := 0
		for _, g := range gs {
			if r.Model == "" || p.topo.gpus[g].model == r.Model {
				n++
			}
		}
		if r.MultiHost {
			most += n
		} else {
			most = max(most, n)
		}
	}
	if r.GPUs > most {
		return fmt.Errorf("%w: %q asks for %d GPUs, at most %d fit", ErrUnsatisfiable, r.ID, r.GPUs, most)
	}
	return nil
}

func (p *Pool) leaseIndex(id string) int {
	return slices.IndexFunc(p.st.Leases, func(l Lease) bool { return l.ID == id })
}

func (p *Pool) queueIndex(id string) int {
	return slices.IndexFunc(p.st.Queue, func(q Pending) bool { return q.Request.ID == id })
}

// Submit queues r and schedules. The returned actions may grant r at once,
// grant nothing, or ask borrowed leases to make room for it.
func (p *Pool) Submit(now time.Time, r Request) ([]Action, error) {
	now = norm(now)
	u, err := p.units(r)
	if err != nil {
		return nil, err
	}
	if p.leaseIndex(r.ID) >= 0 || p.queueIndex(r.ID) >= 0 {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateID, r.ID)
	}
	p.st.Queue = append(p.st.Queue, Pending{Request: r, Units: u, Seq: p.nextSeq(), SubmittedAt: now})
	return p.schedule(now), nil
}

// Cancel removes a queued request and schedules, since capacity it reserved
// may now go to others.
func (p *Pool) Cancel(now time.Time, id string) ([]Action, error) {
	i := p.queueIndex(id)
	if i < 0 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRequest, id)
	}
	p.st.Queue = slices.Delete(p.st.Queue, i, i+1)
	return p.schedule(norm(now)), nil
}

// Release ends a lease and schedules. Releasing a lease that is already gone
// (revoked, expired, released) returns ErrUnknownLease, which callers
// retrying a release may ignore.
func (p *Pool) Release(now time.Time, id string) ([]Action, error) {
	i := p.leaseIndex(id)
	if i < 0 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLease, id)
	}
	p.st.Leases = slices.Delete(p.st.Leases, i, i+1)
	return p.schedule(norm(now)), nil
}

// Heartbeat extends a lease to now+LeaseTTL. A preempted lease keeps its
// preemption deadline: heartbeats prove the holder lives, not that it may stay.
func (p *Pool) Heartbeat(now time.Time, id string) error {
	now = norm(now)
	i := p.leaseIndex(id)
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrUnknownLease, id)
	}
	l := &p.st.Leases[i]
	if !now.Before(l.ExpiresAt) {
		return fmt.Errorf("%w: %q at %s", ErrLeaseExpired, id, l.ExpiresAt.Format(time.RFC3339))
	}
	l.ExpiresAt = now.Add(p.st.Config.LeaseTTL)
	return nil
}

// Tick applies the timers due at now: preempted leases past their deadline
// are revoked, leases past their expiry lapse, and hosts past their renewal
// deadline are lost (see RegisterHost). Then it schedules. The workflow calls
// it from a timer; the next timer is due at NextDeadline.
func (p *Pool) Tick(now time.Time) []Action {
	now = norm(now)
	var acts []Action
	p.st.Leases = slices.DeleteFunc(p.st.Leases, func(l Lease) bool {
		switch {
		case l.preempting() && !now.Before(l.PreemptDeadline):
			acts = append(acts, Action{Kind: ActionRevoked, Lease: l.ID, Tenant: l.Tenant, Placements: l.Placements,
				Borrowed: l.Borrowed, Reason: "preemption grace period elapsed: " + l.PreemptReason})
			return true
		case !now.Before(l.ExpiresAt):
			acts = append(acts, Action{Kind: ActionExpired, Lease: l.ID, Tenant: l.Tenant, Placements: l.Placements,
				Borrowed: l.Borrowed, Reason: "no heartbeat since " + l.ExpiresAt.Add(-p.st.Config.LeaseTTL).Format(time.RFC3339)})
			return true
		}
		return false
	})
	for h := range p.topo.hosts {
		if p.overdue(h, now) {
			acts = append(acts, p.loseHost(h)...)
		}
	}
	return append(acts, p.schedule(now)...)
}

// NextDeadline is the earliest lease expiry, preemption deadline or host
// renewal deadline, or the zero time when there is none: the workflow sets
// its timer to it.
func (p *Pool) NextDeadline() time.Time {
	var next time.Time
	earliest := func(d time.Time) {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	for _, l := range p.st.Leases {
		d := l.ExpiresAt
		if l.preempting() && l.PreemptDeadline.Before(d) {
			d = l.PreemptDeadline
		}
		earliest(d)
	}
	for h := range p.topo.hosts {
		earliest(p.hostDeadline(h))
	}
	return next
}

// SetQuota changes a tenant's quota. It may not raise the quotas' sum
// beyond the capacity (lowering is always allowed). Lowering a quota below what the tenant holds marks its youngest
// leases borrowed; nothing is revoked unless another tenant needs the room.
func (p *Pool) SetQuota(now time.Time, tenant string, quota int) ([]Action, error) {
	i, ok := p.tenantIdx[tenant]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTenant, tenant)
	}
	ts := slices.Clone(p.st.Config.Tenants)
	ts[i].Quota = quota
	if err := p.topo.validateTenants(ts, quotaSum(p.st.Config.Tenants)); err != nil {
		return nil, err
	}
	p.st.Config.Tenants = ts
	return p.schedule(norm(now)), nil
}

// AddTenant registers a tenant (the onboarding workflow's GPU quota step).
func (p *Pool) AddTenant(tc TenantConfig) error {
	ts := append(slices.Clone(p.st.Config.Tenants), tc)
	if err := p.topo.validateTenants(ts, quotaSum(p.st.Config.Tenants)); err != nil {
		return err
	}
	p.st.Config.Tenants = ts
	p.indexTenants()
	return nil
}

// targetGPUs resolves a GPU ID or host name.
func (p *Pool) targetGPUs(target string) ([]int, error) {
	if g, ok := p.topo.byID[target]; ok {
		return []int{g}, nil
	}
	if h, ok := p.topo.byHost[target]; ok {
		return p.topo.hostGPUs[h], nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownTarget, target)
}

// Drain stops new leases on a GPU or on every GPU of a host. With
// DrainPreempt, leases there are asked to leave within the grace period.
func (p *Pool) Drain(now time.Time, target string, mode DrainMode) ([]Action, error) {
	now = norm(now)
	if mode != DrainWait && mode != DrainPreempt {
		return nil, fmt.Errorf("%w: unknown drain mode %q", ErrInvalidRequest, mode)
	}
	gs, err := p.targetGPUs(target)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		p.drained[g] = true
	}
	p.syncDrained()
	var acts []Action
	if mode == DrainPreempt {
		for i := range p.st.Leases {
			l := &p.st.Leases[i]
			if l.preempting() || !slices.ContainsFunc(l.Placements, func(pl Placement) bool { return p.drained[p.topo.byID[pl.GPU]] }) {
				continue
			}
			acts = append(acts, p.preempt(now, l, "drain of "+target))
		}
	}
	return append(acts, p.schedule(now)...), nil
}

// Undrain returns a GPU or host to service.
func (p *Pool) Undrain(now time.Time, target string) ([]Action, error) {
	gs, err := p.targetGPUs(target)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		p.drained[g] = false
	}
	p.syncDrained()
	return p.schedule(norm(now)), nil
}

// preempt asks a lease's holder to leave by now+grace.
func (p *Pool) preempt(now time.Time, l *Lease, reason string) Action {
	l.PreemptDeadline = now.Add(p.st.Config.PreemptGrace)
	l.PreemptReason = reason
	return Action{Kind: ActionPreemptRequested, Lease: l.ID, Tenant: l.Tenant, Placements: l.Placements,
		Borrowed: l.Borrowed, Deadline: l.PreemptDeadline, Reason: reason}
}
