package gpupool

import (
	"fmt"
	"slices"
	"time"
)

// RegisterHost adds a host, or replaces its GPU list, and renews its
// registration. A host's agent calls it when it starts, whenever its
// inventory changes, and at least once per Config.HostTTL to stay live.
//
//  1. A registration is refused whole with ErrInvalidHost, changing nothing,
//     when it names no host, lists a GPU twice or without an id, uses a GPU
//     id or host name the pool already has elsewhere, gives a profile
//     another slice count than the pool knows for it, or gives a GPU a slice
//     count that does not divide UnitsPerGPU.
//  2. A host past its renewal deadline (live, registered, HostTTL > 0) is
//     lost first, as Tick would have found it: a late registration is a
//     return, never a renewal in time.
//  3. The GPUs the host already has, with the same model, profile and slice
//     count, in any order, make a renewal: only the renewal time changes,
//     no pass runs and no actions are returned.
//  4. Unchanged GPUs keep their leases and drain marks.
//  5. New GPUs join scheduling; they join drained when every GPU the host
//     had was drained (the host is drained as a whole).
//  6. GPUs no longer listed, or listed with another model, profile or slice
//     count, leave at once: every lease with a placement on one is revoked
//     (reason EndGPURemoved). The agent reports the GPU gone or no longer
//     what the lease was granted on, so there is nothing left to grant a
//     grace period on; keeping the lease would count capacity that is not
//     there.
//  7. An empty GPU list removes the host: its leases are revoked as in 6 and
//     the pool forgets it. Removing a host it does not know does nothing.
//  8. A lost host that registers is live again and its GPUs are scheduled.
//
// Except after a renewal, a scheduling pass follows, so queued requests that
// now fit are granted in the returned actions.
func (p *Pool) RegisterHost(now time.Time, h HostConfig) ([]Action, error) {
	now = norm(now)
	if h.Name == "" {
		return nil, fmt.Errorf("%w: host without a name", ErrInvalidHost)
	}
	h = HostConfig{Name: h.Name, GPUs: slices.Clone(h.GPUs)}
	hi, known := p.topo.byHost[h.Name]
	if !known && len(h.GPUs) == 0 {
		return nil, nil
	}
	hosts := slices.Clone(p.st.Config.Hosts)
	switch {
	case len(h.GPUs) == 0:
		hosts = slices.Delete(hosts, hi, hi+1)
	case known:
		hosts[hi] = h
	default:
		hosts = append(hosts, h)
	}
	topo, err := newTopology(hosts, p.topo.unitsPerGPU, p.topo.profiles, ErrInvalidHost)
	if err != nil {
		return nil, err
	}

	var acts []Action
	if known && p.overdue(hi, now) {
		acts = p.loseHost(hi)
	}
	var old HostConfig
	if known {
		old = p.st.Config.Hosts[hi]
		if !p.lost[hi] && sameGPUs(old.GPUs, h.GPUs) {
			p.renewed[hi] = now
			p.syncHosts()
			return acts, nil
		}
	}

	kept := map[string]GPUConfig{}
	for _, g := range h.GPUs {
		kept[g.ID] = g
	}
	leaving := map[string]bool{}
	hostDrained := known
	for _, g := range old.GPUs {
		if k, ok := kept[g.ID]; !ok || k != g {
			leaving[g.ID] = true
		}
		hostDrained = hostDrained && p.drained[p.topo.byID[g.ID]]
	}
	acts = append(acts, p.endLeases(func(pl Placement) string {
		if !leaving[pl.GPU] {
			return ""
		}
		if len(h.GPUs) == 0 {
			return fmt.Sprintf("%s: %s registered no GPUs", EndGPURemoved, h.Name)
		}
		return fmt.Sprintf("%s: %s is no longer registered by %s as it was", EndGPURemoved, pl.GPU, h.Name)
	})...)

	// Drain marks follow GPU ids (an id registered again with another
	// profile is still the slot the operator drained); ids that left drop
	// theirs below. Liveness follows host names.
	drained := map[string]bool{}
	for _, id := range p.st.Drained {
		drained[id] = true
	}
	for _, g := range h.GPUs {
		if _, had := p.topo.byID[g.ID]; !had && hostDrained {
			drained[g.ID] = true
		}
	}
	var liveness []HostLiveness
	for _, hl := range p.st.Hosts {
		if hl.Name != h.Name {
			liveness = append(liveness, hl)
		}
	}
	if len(h.GPUs) > 0 {
		liveness = append(liveness, HostLiveness{Name: h.Name, RenewedAt: now})
	}

	p.topo = topo
	p.st.Config.Hosts = hosts
	p.st.Config.Profiles = topo.profileMap()
	p.st.Drained = nil
	for _, g := range topo.gpus {
		if drained[g.id] {
			p.st.Drained = append(p.st.Drained, g.id)
		}
	}
	p.st.Hosts = liveness
	if err := p.indexInventory(); err != nil {
		// Every id above came from topo: this is a bug, not bad input.
		panic(fmt.Sprintf("gpupool: inventory out of step after registering %s: %v", h.Name, err))
	}
	return append(acts, p.schedule(now)...), nil
}

// sameGPUs reports whether two GPU lists hold the same GPUs, in any order.
func sameGPUs(a, b []GPUConfig) bool {
	if len(a) != len(b) {
		return false
	}
	byID := make(map[string]GPUConfig, len(a))
	for _, g := range a {
		byID[g.ID] = g
	}
	for _, g := range b {
		if o, ok := byID[g.ID]; !ok || o != g {
			return false
		}
	}
	return true
}

// hostDeadline is when host h is lost unless it registers again; zero when
// it never expires: hosts never expire in the config, it never registered
// (static), or it is lost already.
func (p *Pool) hostDeadline(h int) time.Time {
	if p.st.Config.HostTTL <= 0 || p.renewed[h].IsZero() || p.lost[h] {
		return time.Time{}
	}
	return p.renewed[h].Add(p.st.Config.HostTTL)
}

// overdue reports whether host h has missed its renewal deadline at now.
func (p *Pool) overdue(h int, now time.Time) bool {
	d := p.hostDeadline(h)
	return !d.IsZero() && !now.Before(d)
}

// loseHost marks host h lost and revokes every lease with a placement on it.
// Its GPUs stay in the inventory, unscheduled, until it registers again.
func (p *Pool) loseHost(h int) []Action {
	name := p.topo.hosts[h]
	reason := fmt.Sprintf("%s: %s not renewed since %s", EndHostLost, name, p.renewed[h].Format(time.RFC3339))
	p.lost[h] = true
	p.syncHosts()
	return p.endLeases(func(pl Placement) string {
		if pl.Host == name {
			return reason
		}
		return ""
	})
}

// endLeases revokes, at once, every lease for which why returns a reason
// for one of its placements.
func (p *Pool) endLeases(why func(Placement) string) []Action {
	var acts []Action
	p.st.Leases = slices.DeleteFunc(p.st.Leases, func(l Lease) bool {
		for _, pl := range l.Placements {
			if reason := why(pl); reason != "" {
				acts = append(acts, Action{Kind: ActionRevoked, Lease: l.ID, Tenant: l.Tenant, Placements: l.Placements,
					Borrowed: l.Borrowed, Reason: reason})
				return true
			}
		}
		return false
	})
	return acts
}
