package gpupool

import (
	"slices"
	"time"
)

// TenantView is one tenant's allocation, in units.
type TenantView struct {
	Tenant string `json:"tenant"`
	Quota  int    `json:"quota"`
	Weight int    `json:"weight"`
	// Used = InQuota + Borrowed.
	Used     int `json:"used"`
	InQuota  int `json:"in_quota"`
	Borrowed int `json:"borrowed"`
	Leases   int `json:"leases"`
	// Queued and QueuedUnits describe the tenant's waiting requests.
	Queued      int `json:"queued"`
	QueuedUnits int `json:"queued_units"`
}

// Tenants returns the allocation per tenant, in configuration order.
func (p *Pool) Tenants() []TenantView {
	out := make([]TenantView, len(p.st.Config.Tenants))
	for i, tc := range p.st.Config.Tenants {
		out[i] = TenantView{Tenant: tc.Name, Quota: tc.Quota, Weight: tc.weight()}
	}
	for _, l := range p.st.Leases {
		v := &out[p.tenantIdx[l.Tenant]]
		v.Used += l.Units
		v.Leases++
		if l.Borrowed {
			v.Borrowed += l.Units
		} else {
			v.InQuota += l.Units
		}
	}
	for _, q := range p.st.Queue {
		v := &out[p.tenantIdx[q.Request.Tenant]]
		v.Queued++
		v.QueuedUnits += q.Units
	}
	return out
}

// GPULease is a lease as seen from one GPU.
type GPULease struct {
	Lease      string `json:"lease"`
	Tenant     string `json:"tenant"`
	Slices     int    `json:"slices"`
	Borrowed   bool   `json:"borrowed,omitempty"`
	Preempting bool   `json:"preempting,omitempty"`
}

// GPUView is one GPU's allocation.
type GPUView struct {
	Host       string `json:"host"`
	GPU        string `json:"gpu"`
	Model      string `json:"model,omitempty"`
	Profile    string `json:"profile,omitempty"`
	Slices     int    `json:"slices"`
	UsedSlices int    `json:"used_slices"`
	Drained    bool   `json:"drained,omitempty"`
	// Lost says the GPU's host is lost: it gets no leases until the host
	// registers again.
	Lost   bool       `json:"lost,omitempty"`
	Leases []GPULease `json:"leases,omitempty"`
}

// GPUs returns the allocation per GPU, in inventory order. A passthrough-only
// GPU has one slice.
func (p *Pool) GPUs() []GPUView {
	out := make([]GPUView, len(p.topo.gpus))
	for g, gi := range p.topo.gpus {
		out[g] = GPUView{Host: gi.host, GPU: gi.id, Model: gi.model, Profile: gi.profile, Slices: gi.slices,
			Drained: p.drained[g], Lost: p.lost[gi.hostIdx]}
	}
	for _, l := range p.st.Leases {
		for _, pl := range l.Placements {
			g := p.topo.byID[pl.GPU]
			n := p.slicesOn(pl, g)
			out[g].UsedSlices += n
			out[g].Leases = append(out[g].Leases, GPULease{Lease: l.ID, Tenant: l.Tenant, Slices: n, Borrowed: l.Borrowed, Preempting: l.preempting()})
		}
	}
	return out
}

// HostView is one host: whether its GPUs are scheduled, and its capacity.
type HostView struct {
	Host  string    `json:"host"`
	State HostState `json:"state"`
	GPUs  int       `json:"gpus"`
	// DrainedGPUs counts the host's drained GPUs.
	DrainedGPUs int `json:"drained_gpus,omitempty"`
	// Units is the host's capacity and UsedUnits what leases hold of it.
	Units     int `json:"units"`
	UsedUnits int `json:"used_units"`
	// RenewedAt is the host's last registration (zero for a static host);
	// ExpiresAt is when it is lost unless it registers again (zero when it
	// never expires, or is lost already).
	RenewedAt time.Time `json:"renewed_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Hosts returns every host the pool knows, lost ones included, in inventory
// order.
func (p *Pool) Hosts() []HostView {
	out := make([]HostView, len(p.topo.hosts))
	for h, name := range p.topo.hosts {
		v := HostView{Host: name, State: HostStatic, GPUs: len(p.topo.hostGPUs[h]),
			Units: len(p.topo.hostGPUs[h]) * p.topo.unitsPerGPU, RenewedAt: p.renewed[h], ExpiresAt: p.hostDeadline(h)}
		switch {
		case p.lost[h]:
			v.State = HostLost
		case !p.renewed[h].IsZero():
			v.State = HostLive
		}
		for _, g := range p.topo.hostGPUs[h] {
			if p.drained[g] {
				v.DrainedGPUs++
			}
		}
		out[h] = v
	}
	for _, l := range p.st.Leases {
		for _, pl := range l.Placements {
			g := p.topo.byID[pl.GPU]
			out[p.topo.gpus[g].hostIdx].UsedUnits += p.slicesOn(pl, g) * p.topo.gpus[g].sliceUnits
		}
	}
	return out
}

// Host returns one host's view.
func (p *Pool) Host(name string) (HostView, bool) {
	h, ok := p.topo.byHost[name]
	if !ok {
		return HostView{}, false
	}
	return p.Hosts()[h], true
}

// QueueEntry is a waiting request and its place in line.
type QueueEntry struct {
	// Position is the 1-based order in which the next pass considers it:
	// in-quota requests by age, then the others by age (fair share decides
	// among tenants at run time, so this is only an approximation for them).
	Position int `json:"position"`
	// TenantPosition is the 1-based place among its tenant's requests.
	TenantPosition int `json:"tenant_position"`
	Pending
}

// Queue returns the waiting requests with their positions and wait reasons.
func (p *Pool) Queue() []QueueEntry {
	out := make([]QueueEntry, 0, len(p.st.Queue))
	perTenant := make([]int, len(p.st.Config.Tenants))
	tenantPos := make([]int, len(p.st.Queue))
	for i, q := range p.st.Queue {
		t := p.tenantIdx[q.Request.Tenant]
		perTenant[t]++
		tenantPos[i] = perTenant[t]
	}
	for _, entitled := range []bool{true, false} {
		for i, q := range p.st.Queue {
			if q.Entitled == entitled {
				out = append(out, QueueEntry{Position: len(out) + 1, TenantPosition: tenantPos[i], Pending: q})
			}
		}
	}
	return out
}

// Leases returns the live leases in grant order.
func (p *Pool) Leases() []Lease {
	return cloneState(State{Leases: p.st.Leases}).Leases
}

// Lease returns one live lease.
func (p *Pool) Lease(id string) (Lease, bool) {
	i := p.leaseIndex(id)
	if i < 0 {
		return Lease{}, false
	}
	l := p.st.Leases[i]
	l.Placements = slices.Clone(l.Placements)
	return l, true
}
