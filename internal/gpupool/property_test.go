package gpupool

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/quick"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The property tests drive pools with long random event sequences: requests,
// releases by holders that finish, holders that crash (stop heartbeating) or
// ignore preemption, timer ticks, cancels, quota changes, drains and
// continue-as-new through JSON; with hosts, also host agents that register,
// renew, change their GPUs, fall silent, come back and leave. After every
// event they check the invariants below.

// holder is the simulated job behind a lease.
type holder struct {
	endAt     time.Time // releases then, unless preempted first
	crashed   bool      // no more heartbeats or releases
	obeys     bool      // releases before the preemption deadline
	releaseAt time.Time // set once preempted, when obeys
}

// waiter is a queued request the driver tracks.
type waiter struct {
	submitted time.Time
	// inQuota: when submitted, the tenant's holdings, its earlier queued
	// requests and this one fitted its quota.
	inQuota bool
	seq     uint64
	// ahead holds the older requests that were in quota (as the pool saw
	// it) at some time while this one waited: each may go first.
	ahead map[string]bool
}

type driverOpts struct {
	chaos bool // drains, quota changes and invalid input too
	// hosts: a host TTL, hosts that register through agents (some pools
	// start with none), and host events.
	hosts   bool
	maxHold time.Duration
}

// agent is the simulated agent of one GPU host.
type agent struct {
	gpus       []GPUConfig // what it registers
	silent     bool        // stopped renewing: crashed, or cut off
	registered bool
	renewedAt  time.Time
	nextGPU    int // index of the next GPU it gains
	wasLost    bool
}

type driver struct {
	t     testing.TB
	rng   *rand.Rand
	opts  driverOpts
	pools []*Pool // pools[1:] follow pools[0] in lockstep after a restore
	now   time.Time
	seq   int

	holders   map[string]*holder
	waiters   map[string]waiter
	deadlines map[string]time.Time // lease -> preemption deadline
	drained   map[string]bool      // GPU -> drained, as the driver asked

	// maxInQuotaWait is the longest an in-quota request waited, per request
	// ahead of it plus one.
	maxInQuotaWait time.Duration
	counts         map[string]int

	agents   map[string]*agent
	nextHost int
}

func randomGPU(rng *rand.Rand, id string) GPUConfig {
	gc := GPUConfig{ID: id, Model: "a100"}
	switch rng.IntN(3) {
	case 0:
		gc.Profile, gc.Slices = "p4", 4
	case 1:
		gc.Profile, gc.Slices = "p2", 2
	}
	if rng.IntN(4) == 0 {
		gc.Model = "l40"
	}
	return gc
}

func randomConfig(rng *rand.Rand, hosts bool) Config {
	c := Config{LeaseTTL: 2 * time.Minute, PreemptGrace: 5 * time.Minute}
	n := 1 + rng.IntN(3)
	if hosts {
		c.HostTTL, c.UnitsPerGPU, c.Profiles = 5*time.Minute, 4, map[string]int{"p4": 4, "p2": 2}
		if rng.IntN(4) == 0 {
			n = 0 // every host registers through its agent
		}
	}
	for h := range n {
		hc := HostConfig{Name: fmt.Sprintf("h%d", h)}
		for g := range 1 + rng.IntN(4) {
			hc.GPUs = append(hc.GPUs, randomGPU(rng, fmt.Sprintf("h%d/%d", h, g)))
		}
		c.Hosts = append(c.Hosts, hc)
	}
	topo, err := newTopology(c.Hosts, c.UnitsPerGPU, c.Profiles, ErrInvalidConfig)
	if err != nil {
		panic(err)
	}
	left := topo.capacity()
	if left == 0 {
		left = 4 * (1 + rng.IntN(8)) // quotas for the hosts to come
	}
	for i := range 2 + rng.IntN(3) {
		q := rng.IntN(left/2 + 1)
		if rng.IntN(3) == 0 {
			q = left // the last tenants often get all that is left
		}
		left -= q
		c.Tenants = append(c.Tenants, TenantConfig{Name: fmt.Sprintf("t%d", i), Quota: q, Weight: rng.IntN(3) * rng.IntN(5)})
	}
	return c
}

func newDriver(t testing.TB, seed uint64, opts driverOpts) *driver {
	rng := rand.New(rand.NewPCG(seed, 7))
	p, err := New(randomConfig(rng, opts.hosts))
	require.NoError(t, err)
	d := &driver{t: t, rng: rng, opts: opts, pools: []*Pool{p}, now: t0,
		holders: map[string]*holder{}, waiters: map[string]waiter{}, deadlines: map[string]time.Time{},
		drained: map[string]bool{}, counts: map[string]int{}, agents: map[string]*agent{}}
	if opts.hosts {
		// Most configured hosts get an agent; the others stay static. A
		// few more hosts exist only through their agents. All register at
		// the first advance.
		for _, h := range p.st.Config.Hosts {
			if rng.IntN(3) != 0 {
				d.agents[h.Name] = &agent{gpus: slices.Clone(h.GPUs), nextGPU: len(h.GPUs)}
			}
		}
		for range rng.IntN(3) {
			d.newAgent()
		}
	}
	return d
}

func (d *driver) p() *Pool { return d.pools[0] }

// call applies one operation to every pool and checks they agree.
func (d *driver) call(name string, f func(p *Pool) ([]Action, error)) ([]Action, error) {
	d.t.Helper()
	acts, err := f(d.pools[0])
	for i, p := range d.pools[1:] {
		acts2, err2 := f(p)
		require.Equal(d.t, acts, acts2, "%s: restored pool %d decided differently", name, i+1)
		require.Equal(d.t, err, err2, "%s: restored pool %d answered differently", name, i+1)
	}
	d.counts[name]++
	return acts, err
}

func (d *driver) randomRequest() Request {
	p := d.p()
	tenants := p.st.Config.Tenants
	d.seq++
	r := Request{ID: fmt.Sprintf("r%d", d.seq), Tenant: tenants[d.rng.IntN(len(tenants))].Name}
	var profiles []string
	for _, g := range p.topo.gpus {
		if g.profile != "" && !slices.Contains(profiles, g.profile) {
			profiles = append(profiles, g.profile)
		}
	}
	if d.opts.hosts {
		// Declared profiles too: requests may come before their GPUs.
		profiles = slices.Sorted(maps.Keys(p.topo.profiles))
	}
	if len(profiles) > 0 && d.rng.IntN(2) == 0 {
		r.Kind, r.Profile = KindSlice, profiles[d.rng.IntN(len(profiles))]
		r.Slices = 1 + d.rng.IntN(p.topo.profiles[r.Profile])
	} else {
		r.Kind, r.GPUs = KindWhole, 1+d.rng.IntN(2)
		if d.rng.IntN(4) == 0 {
			r.GPUs = 1 + d.rng.IntN(4)
		}
		r.MultiHost = d.rng.IntN(5) == 0
	}
	if d.rng.IntN(6) == 0 {
		r.Model = "l40"
	}
	return r
}

func (d *driver) submit() {
	r := d.randomRequest()
	if d.opts.chaos && d.rng.IntN(20) == 0 {
		r.Tenant = "nobody"
	}
	p := d.p()
	u, uerr := p.units(r)
	inQuota := false
	if uerr == nil {
		ti := p.tenantIdx[r.Tenant]
		sum := u
		for _, l := range p.st.Leases {
			if l.Tenant == r.Tenant {
				sum += l.Units
			}
		}
		for _, q := range p.st.Queue {
			if q.Request.Tenant == r.Tenant {
				sum += q.Units
			}
		}
		inQuota = sum <= p.st.Config.Tenants[ti].Quota
	}
	acts, err := d.call("submit", func(p *Pool) ([]Action, error) { return p.Submit(d.now, r) })
	if uerr != nil {
		require.Error(d.t, err)
		require.True(d.t, errors.Is(err, ErrUnsatisfiable) || errors.Is(err, ErrUnknownTenant) || errors.Is(err, ErrInvalidRequest), "%v", err)
		return
	}
	require.NoError(d.t, err)
	w := waiter{submitted: d.now, inQuota: inQuota, ahead: map[string]bool{}}
	if i := d.p().queueIndex(r.ID); i >= 0 {
		w.seq = d.p().st.Queue[i].Seq
	}
	d.waiters[r.ID] = w
	d.apply(acts)
}

// apply plays the holders' side of the actions.
func (d *driver) apply(acts []Action) {
	d.t.Helper()
	for _, a := range acts {
		switch a.Kind {
		case ActionGrant:
			w, ok := d.waiters[a.Lease]
			require.True(d.t, ok, "grant of %q, which is not queued", a.Lease)
			if !a.Borrowed {
				// An older request granted in quota went ahead of the
				// younger ones still waiting.
				for _, o := range d.waiters {
					if o.inQuota && w.seq < o.seq {
						o.ahead[a.Lease] = true
					}
				}
			}
			if w.inQuota {
				d.maxInQuotaWait = max(d.maxInQuotaWait, d.now.Sub(w.submitted)/time.Duration(1+len(w.ahead)))
			}
			delete(d.waiters, a.Lease)
			for _, pl := range a.Placements {
				require.False(d.t, d.drained[pl.GPU], "grant of %q on drained GPU %s", a.Lease, pl.GPU)
				if ag, ok := d.agents[pl.Host]; ok && ag.wasLost {
					d.counts["grant-on-returned-host"]++
				}
			}
			d.holders[a.Lease] = &holder{
				endAt: d.now.Add(time.Duration(1+d.rng.Int64N(int64(d.opts.maxHold/time.Second))) * time.Second),
				obeys: d.rng.IntN(5) != 0,
			}
		case ActionPreemptRequested:
			h, ok := d.holders[a.Lease]
			require.True(d.t, ok, "preemption of unknown lease %q", a.Lease)
			_, again := d.deadlines[a.Lease]
			require.False(d.t, again, "lease %q preempted twice", a.Lease)
			require.Equal(d.t, d.now.Add(d.p().st.Config.PreemptGrace), a.Deadline)
			d.deadlines[a.Lease] = a.Deadline
			if h.obeys {
				h.releaseAt = d.now.Add(time.Duration(d.rng.Int64N(int64(d.p().st.Config.PreemptGrace))))
			}
		case ActionRevoked, ActionExpired:
			_, ok := d.holders[a.Lease]
			require.True(d.t, ok, "%s of unknown lease %q", a.Kind, a.Lease)
			switch {
			case strings.HasPrefix(a.Reason, EndHostLost+": "):
				d.counts["revoked-host-lost"]++
				require.True(d.t, slices.ContainsFunc(a.Placements, func(pl Placement) bool {
					ag, ok := d.agents[pl.Host]
					return ok && ag.silent || ok && !d.now.Before(ag.renewedAt.Add(d.p().st.Config.HostTTL))
				}), "lease %s revoked for a lost host, but none of its hosts fell silent", a.Lease)
			case strings.HasPrefix(a.Reason, EndGPURemoved+": "):
				d.counts["revoked-gpu-removed"]++
			}
			delete(d.holders, a.Lease)
			delete(d.deadlines, a.Lease)
		}
	}
}

// advance moves time, lets holders release and heartbeat, then ticks.
func (d *driver) advance() {
	d.now = d.now.Add(time.Duration(1+d.rng.IntN(90)) * time.Second)
	for _, l := range d.p().Leases() {
		h := d.holders[l.ID]
		if h.crashed {
			continue
		}
		due := !d.now.Before(h.endAt) || !h.releaseAt.IsZero() && !d.now.Before(h.releaseAt)
		if !due {
			continue
		}
		acts, err := d.call("release", func(p *Pool) ([]Action, error) { return p.Release(d.now, l.ID) })
		require.NoError(d.t, err)
		delete(d.holders, l.ID)
		delete(d.deadlines, l.ID)
		d.apply(acts)
	}
	for _, l := range d.p().Leases() {
		if !d.holders[l.ID].crashed {
			_, err := d.call("heartbeat", func(p *Pool) ([]Action, error) { return nil, p.Heartbeat(d.now, l.ID) })
			require.NoError(d.t, err)
		}
	}
	d.renewHosts()
	acts, _ := d.call("tick", func(p *Pool) ([]Action, error) { return p.Tick(d.now), nil })
	d.apply(acts)
	d.afterTick()
}

func (d *driver) cancel() {
	q := d.p().Queue()
	if len(q) == 0 {
		return
	}
	id := q[d.rng.IntN(len(q))].Request.ID
	acts, err := d.call("cancel", func(p *Pool) ([]Action, error) { return p.Cancel(d.now, id) })
	require.NoError(d.t, err)
	delete(d.waiters, id)
	d.apply(acts)
	_, err = d.call("cancel", func(p *Pool) ([]Action, error) { return p.Cancel(d.now, id) })
	require.ErrorIs(d.t, err, ErrUnknownRequest)
}

func (d *driver) crash() {
	ls := d.p().Leases()
	if len(ls) > 0 {
		d.holders[ls[d.rng.IntN(len(ls))].ID].crashed = true
	}
}

func (d *driver) setQuota() {
	p := d.p()
	tc := p.st.Config.Tenants[d.rng.IntN(len(p.st.Config.Tenants))]
	q := d.rng.IntN(p.Capacity()+2) - 1
	sum := q
	for _, o := range p.st.Config.Tenants {
		if o.Name != tc.Name {
			sum += o.Quota
		}
	}
	raised := sum > quotaSum(p.st.Config.Tenants)
	acts, err := d.call("set-quota", func(p *Pool) ([]Action, error) { return p.SetQuota(d.now, tc.Name, q) })
	if q < 0 || len(p.topo.hosts) > 0 && sum > p.Capacity() && raised {
		require.ErrorIs(d.t, err, ErrInvalidQuota)
		return
	}
	require.NoError(d.t, err)
	d.apply(acts)
}

func (d *driver) drain() {
	p := d.p()
	var targets []string
	for _, g := range p.topo.gpus {
		targets = append(targets, g.id)
	}
	targets = append(targets, p.topo.hosts...)
	if len(targets) == 0 {
		return
	}
	target := targets[d.rng.IntN(len(targets))]
	gs, _ := p.targetGPUs(target)
	if d.rng.IntN(2) == 0 {
		acts, err := d.call("undrain", func(p *Pool) ([]Action, error) { return p.Undrain(d.now, target) })
		require.NoError(d.t, err)
		for _, g := range gs {
			delete(d.drained, p.topo.gpus[g].id)
		}
		d.apply(acts)
		return
	}
	mode := []DrainMode{DrainWait, DrainPreempt}[d.rng.IntN(2)]
	acts, err := d.call("drain", func(p *Pool) ([]Action, error) { return p.Drain(d.now, target, mode) })
	require.NoError(d.t, err)
	for _, g := range gs {
		d.drained[p.topo.gpus[g].id] = true
	}
	d.apply(acts)
}

// restore carries the pool across a simulated continue-as-new.
func (d *driver) restore() {
	raw, err := json.Marshal(d.p().Snapshot())
	require.NoError(d.t, err)
	var st State
	require.NoError(d.t, json.Unmarshal(raw, &st))
	p, err := Restore(st)
	require.NoError(d.t, err)
	require.Equal(d.t, d.p().Snapshot(), p.Snapshot())
	d.pools[0] = p
	d.counts["restore"]++
}

func (d *driver) step() {
	d.t.Helper()
	if d.opts.hosts && d.rng.IntN(25) == 0 {
		d.hostEvent()
		d.check()
		return
	}
	n := d.rng.IntN(100)
	switch {
	case n < 38 && len(d.waiters) < 40:
		d.submit()
	case n < 38:
		d.advance()
	case n < 88:
		d.advance()
	case n < 91:
		d.cancel()
	case n < 94:
		d.crash()
	case n < 96:
		d.restore()
	case n < 98 && d.opts.chaos:
		d.setQuota()
	case d.opts.chaos:
		d.drain()
	default:
		d.advance()
	}
	d.check()
}

// invariants hold after every event.
var invariants = []struct {
	name  string
	check func(d *driver) error
}{
	{"no GPU is over capacity and a whole lease is alone", func(d *driver) error {
		for _, g := range d.p().GPUs() {
			if g.UsedSlices > g.Slices {
				return fmt.Errorf("GPU %s holds %d of %d slices", g.GPU, g.UsedSlices, g.Slices)
			}
			for _, l := range g.Leases {
				if l.Slices == g.Slices && len(g.Leases) > 1 {
					return fmt.Errorf("GPU %s is shared with a whole lease", g.GPU)
				}
			}
		}
		return nil
	}},
	{"in-quota holdings never exceed the quota; the rest is marked borrowed", func(d *driver) error {
		for _, v := range d.p().Tenants() {
			if v.InQuota > v.Quota {
				return fmt.Errorf("tenant %s holds %d in quota, quota is %d", v.Tenant, v.InQuota, v.Quota)
			}
			if v.Used > v.Quota && v.Borrowed < v.Used-v.Quota {
				return fmt.Errorf("tenant %s is %d over quota but only %d is marked borrowed", v.Tenant, v.Used-v.Quota, v.Borrowed)
			}
		}
		for _, l := range d.p().Leases() {
			if l.Backfill && !l.Borrowed {
				return fmt.Errorf("backfill lease %s is not marked borrowed", l.ID)
			}
		}
		return nil
	}},
	{"preempted leases are gone once their deadline has passed a tick", func(d *driver) error {
		for _, l := range d.p().Leases() {
			if !l.PreemptDeadline.IsZero() && !l.PreemptDeadline.Equal(d.deadlines[l.ID]) {
				return fmt.Errorf("lease %s: deadline %v, announced %v", l.ID, l.PreemptDeadline, d.deadlines[l.ID])
			}
		}
		return nil
	}},
	{"queue and leases agree with what the holders were told", func(d *driver) error {
		ids := map[string]bool{}
		for _, l := range d.p().Leases() {
			if d.holders[l.ID] == nil {
				return fmt.Errorf("lease %s has no holder", l.ID)
			}
			ids[l.ID] = true
		}
		if len(ids) != len(d.holders) {
			return fmt.Errorf("%d leases, %d holders", len(ids), len(d.holders))
		}
		queue := d.p().st.Queue
		for _, q := range queue {
			if ids[q.Request.ID] {
				return fmt.Errorf("%s is both queued and leased", q.Request.ID)
			}
			if _, ok := d.waiters[q.Request.ID]; !ok {
				return fmt.Errorf("%s is queued but was not submitted", q.Request.ID)
			}
		}
		if len(queue) != len(d.waiters) {
			return fmt.Errorf("%d queued, %d waiting", len(queue), len(d.waiters))
		}
		return nil
	}},
}

func (d *driver) check() {
	d.t.Helper()
	for _, inv := range invariants {
		if err := inv.check(d); err != nil {
			d.t.Fatalf("invariant %q broken at %v: %v", inv.name, d.now, err)
		}
	}
	for _, inv := range hostInvariants {
		if err := inv.check(d); err != nil {
			d.t.Fatalf("invariant %q broken at %v: %v", inv.name, d.now, err)
		}
	}
}

// afterTick checks what a tick must have done.
func (d *driver) afterTick() {
	d.t.Helper()
	for _, l := range d.p().Leases() {
		// Expired leases free their capacity: nothing past its expiry or its
		// preemption deadline survives a tick.
		require.True(d.t, d.now.Before(l.ExpiresAt), "lease %s outlived its expiry", l.ID)
		require.True(d.t, l.PreemptDeadline.IsZero() || d.now.Before(l.PreemptDeadline), "lease %s outlived its preemption deadline", l.ID)
	}
	if d.opts.hosts {
		d.afterTickHosts()
	}
}

// starved returns an in-quota request that has waited longer than per for
// each in-quota request that was ahead of it, plus one.
func (d *driver) starved(per time.Duration) (string, bool) {
	for _, q := range d.p().st.Queue {
		if !q.Entitled {
			continue
		}
		for _, w := range d.waiters {
			if w.inQuota && q.Seq < w.seq {
				w.ahead[q.Request.ID] = true
			}
		}
	}
	for id, w := range d.waiters {
		if w.inQuota && d.now.Sub(w.submitted) > per*time.Duration(1+len(w.ahead)) {
			return id, true
		}
	}
	return "", false
}

func TestPropertiesUnderChaos(t *testing.T) {
	seeds, steps := 60, 2500
	if testing.Short() {
		seeds = 10
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			d := newDriver(t, uint64(seed), driverOpts{chaos: true, maxHold: 30 * time.Minute})
			for range steps {
				d.step()
			}
			for _, op := range []string{"submit", "release", "tick"} {
				assert.Positive(t, d.counts[op], op)
			}
		})
	}
}

// TestNoStarvation: with holders that finish (or crash, or are revoked), a
// request that fits its tenant's quota when submitted is granted within a
// bound. Quota cuts and drains are left out: they take capacity away.
func TestNoStarvation(t *testing.T) {
	const maxHold = 20 * time.Minute
	seeds, steps := 60, 3000
	if testing.Short() {
		seeds = 10
	}
	// An in-quota request reserves its target and nothing new that it may
	// not preempt lands there, so it waits at most for the leases there to
	// end (a hold, or an expiry after a crash) and for borrowed ones to
	// leave (the grace), plus a tick; and once more for each older in-quota
	// request that was ahead of it and took the capacity first.
	var worst time.Duration
	for seed := range seeds {
		d := newDriver(t, uint64(1000+seed), driverOpts{maxHold: maxHold})
		cfg := d.p().st.Config
		per := maxHold + cfg.PreemptGrace + cfg.LeaseTTL + 3*time.Minute
		for range steps {
			d.step()
			if id, ok := d.starved(per); ok {
				t.Fatalf("seed %d: in-quota request %s waited %v with %d ahead", seed, id, d.now.Sub(d.waiters[id].submitted), len(d.waiters[id].ahead))
			}
		}
		worst = max(worst, d.maxInQuotaWait)
	}
	t.Logf("longest wait of an in-quota request per request ahead (+1): %v; bound %v", worst, maxHold+5*time.Minute+2*time.Minute+3*time.Minute)
}

// TestRestoreDecidesIdentically runs a pool and its JSON round-tripped copy
// side by side from the middle of a random history: every later decision and
// answer must match. With hosts, the copy carries registered and lost hosts,
// their renewal times and the profiles seen.
func TestRestoreDecidesIdentically(t *testing.T) {
	for _, hosts := range []bool{false, true} {
		seeds := 20
		if hosts {
			seeds = 10
		}
		t.Run(fmt.Sprintf("hosts=%v", hosts), func(t *testing.T) {
			for seed := range seeds {
				d := newDriver(t, uint64(2000+seed), driverOpts{chaos: true, hosts: hosts, maxHold: 30 * time.Minute})
				for range 800 {
					d.step()
				}
				raw, err := json.Marshal(d.p().Snapshot())
				require.NoError(t, err)
				var st State
				require.NoError(t, json.Unmarshal(raw, &st))
				twin, err := Restore(st)
				require.NoError(t, err)
				d.pools = append(d.pools, twin)
				for range 1500 {
					d.step()
				}
				a, _ := json.Marshal(d.pools[0].Snapshot())
				b, _ := json.Marshal(d.pools[1].Snapshot())
				require.JSONEq(t, string(a), string(b))
				require.Equal(t, d.pools[0].Queue(), d.pools[1].Queue())
				require.Equal(t, d.pools[0].Hosts(), d.pools[1].Hosts())
				require.Equal(t, d.pools[0].NextDeadline(), d.pools[1].NextDeadline())
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, hosts := range []bool{false, true} {
		run := func() []byte {
			d := newDriver(t, 42, driverOpts{chaos: true, hosts: hosts, maxHold: 30 * time.Minute})
			for range 2000 {
				d.step()
			}
			raw, err := json.Marshal(d.p().Snapshot())
			require.NoError(t, err)
			return raw
		}
		assert.JSONEq(t, string(run()), string(run()), "hosts=%v", hosts)
	}
}

// TestArbitraryRequests feeds Submit whatever testing/quick makes up: it
// refuses with a known error or queues, and never breaks an invariant.
func TestArbitraryRequests(t *testing.T) {
	p := newTestPool(t)
	now := t0
	f := func(id string, tenant uint8, kind bool, gpus, sl int8, prof, multi bool) bool {
		r := Request{ID: id, Tenant: []string{"suwon", "seongnam", "yongin", "x"}[tenant%4],
			GPUs: int(gpus % 6), Slices: int(sl % 6), MultiHost: multi}
		r.Kind = KindWhole
		if kind {
			r.Kind = KindSlice
		}
		if prof {
			r.Profile = "a100-10c"
		}
		now = now.Add(time.Second)
		before := p.Snapshot()
		acts, err := p.Submit(now, r)
		if err != nil {
			known := errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrUnknownTenant) ||
				errors.Is(err, ErrUnsatisfiable) || errors.Is(err, ErrDuplicateID)
			return known && reflect.DeepEqual(before, p.Snapshot())
		}
		for _, a := range acts {
			if a.Kind == ActionGrant {
				_, ok := p.Lease(a.Lease)
				if !ok {
					return false
				}
			}
		}
		for _, g := range p.GPUs() {
			if g.UsedSlices > g.Slices {
				return false
			}
		}
		for _, v := range p.Tenants() {
			if v.InQuota > v.Quota {
				return false
			}
		}
		return true
	}
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 2000, Rand: mrand.New(mrand.NewSource(1))}))
}

// sortedAgents lists the agents' hosts in name order, so runs are
// reproducible.
func (d *driver) sortedAgents() []string { return slices.Sorted(maps.Keys(d.agents)) }

func (d *driver) newAgent() string {
	name := fmt.Sprintf("a%d", d.nextHost)
	d.nextHost++
	a := &agent{}
	for range 1 + d.rng.IntN(4) {
		a.gpus = append(a.gpus, randomGPU(d.rng, fmt.Sprintf("%s/%d", name, a.nextGPU)))
		a.nextGPU++
	}
	d.agents[name] = a
	return name
}

// register sends an agent's registration and plays the holders' side.
func (d *driver) register(name string, gpus []GPUConfig) []Action {
	d.t.Helper()
	p := d.p()
	h, known := p.topo.byHost[name]
	wasLost := known && (p.lost[h] || p.overdue(h, d.now))
	acts, err := d.call("register", func(p *Pool) ([]Action, error) {
		return p.RegisterHost(d.now, HostConfig{Name: name, GPUs: gpus})
	})
	require.NoError(d.t, err)
	d.apply(acts)
	if len(gpus) == 0 {
		_, still := d.p().Host(name)
		require.False(d.t, still, "%s registered no GPUs and is still known", name)
		return acts
	}
	a := d.agents[name]
	a.registered, a.renewedAt = true, d.now
	v, ok := d.p().Host(name)
	require.True(d.t, ok)
	require.Equal(d.t, HostLive, v.State, "%s just registered", name)
	if wasLost {
		// Capacity returns: the host's GPUs count and are scheduled again.
		a.wasLost = true
		for _, g := range d.p().GPUs() {
			require.False(d.t, g.Host == name && g.Lost, "GPU %s of returned host %s still lost", g.GPU, name)
		}
		d.counts["return"]++
	}
	return acts
}

// renewHosts lets every agent that is not silent register again once a
// third of the host TTL has passed (or for the first time): the GPUs are
// the same, so nothing may change but the renewal time.
func (d *driver) renewHosts() {
	d.t.Helper()
	ttl := d.p().st.Config.HostTTL
	for _, name := range d.sortedAgents() {
		a := d.agents[name]
		if a.silent || a.registered && d.now.Sub(a.renewedAt) < ttl/3 {
			continue
		}
		if !a.registered {
			d.register(name, a.gpus)
			continue
		}
		before := d.p().Snapshot()
		acts := d.register(name, a.gpus)
		require.Empty(d.t, acts, "renewal of %s", name)
		after := d.p().Snapshot()
		for i := range after.Hosts {
			if after.Hosts[i].Name == name {
				after.Hosts[i].RenewedAt = before.Hosts[i].RenewedAt
			}
		}
		require.Equal(d.t, before, after, "renewal of %s changed more than its renewal time", name)
		d.counts["renew"]++
	}
}

// hostEvent changes the inventory: an agent falls silent or comes back,
// gains, loses or re-profiles a GPU, a host appears or leaves, or an agent
// sends a registration the pool must refuse.
func (d *driver) hostEvent() {
	d.t.Helper()
	names := d.sortedAgents()
	var talking, silent []string
	for _, n := range names {
		if a := d.agents[n]; a.silent {
			silent = append(silent, n)
		} else if a.registered {
			talking = append(talking, n)
		}
	}
	pick := func(from []string) string { return from[d.rng.IntN(len(from))] }
	switch k := d.rng.IntN(6); {
	case k == 0 && len(talking) > 0:
		d.agents[pick(talking)].silent = true
		d.counts["silence"]++
	case k == 1 && len(silent) > 0:
		name := pick(silent)
		d.agents[name].silent = false
		d.register(name, d.agents[name].gpus)
	case k == 2 && len(talking) > 0:
		name := pick(talking)
		a := d.agents[name]
		gpus := slices.Clone(a.gpus)
		switch i := d.rng.IntN(len(gpus)); d.rng.IntN(3) {
		case 0:
			gpus = append(gpus, randomGPU(d.rng, fmt.Sprintf("%s/%d", name, a.nextGPU)))
			a.nextGPU++
		case 1:
			if len(gpus) > 1 {
				gpus = slices.Delete(gpus, i, i+1)
			}
		default:
			gpus[i] = randomGPU(d.rng, gpus[i].ID)
		}
		a.gpus = gpus
		d.register(name, gpus)
		d.counts["change"]++
	case k == 3 && len(d.p().topo.hosts) < 6:
		name := d.newAgent()
		d.register(name, d.agents[name].gpus)
	case k == 4 && len(d.p().topo.hosts) > 0:
		// Any host leaves, through its agent or an operator.
		name := d.p().topo.hosts[d.rng.IntN(len(d.p().topo.hosts))]
		if _, ok := d.agents[name]; !ok {
			d.agents[name] = &agent{}
		}
		d.register(name, nil)
		delete(d.agents, name)
		d.counts["remove"]++
	case k == 5 && len(d.p().topo.gpus) > 0:
		p := d.p()
		other := p.topo.gpus[d.rng.IntN(len(p.topo.gpus))]
		bad := []GPUConfig{{ID: other.id + "x", Profile: "p4", Slices: 2}} // p4 has 4 slices
		if d.rng.IntN(2) == 0 {
			bad = []GPUConfig{{ID: other.id}} // another host's GPU
		}
		before := p.Snapshot()
		_, err := d.call("register", func(p *Pool) ([]Action, error) {
			return p.RegisterHost(d.now, HostConfig{Name: "intruder", GPUs: bad})
		})
		require.ErrorIs(d.t, err, ErrInvalidHost)
		require.Equal(d.t, before, d.p().Snapshot(), "a refused registration changed the pool")
		d.counts["refused-registration"]++
	}
}

// hostInvariants hold after every event.
var hostInvariants = []struct {
	name  string
	check func(d *driver) error
}{
	{"no lease on a lost host or an unregistered GPU", func(d *driver) error {
		p := d.p()
		for _, l := range p.Leases() {
			for _, pl := range l.Placements {
				g, ok := p.topo.byID[pl.GPU]
				if !ok || p.topo.gpus[g].host != pl.Host {
					return fmt.Errorf("lease %s on %s of %s, which the inventory does not have", l.ID, pl.GPU, pl.Host)
				}
				if p.lost[p.topo.gpus[g].hostIdx] {
					return fmt.Errorf("lease %s on lost host %s", l.ID, pl.Host)
				}
			}
		}
		return nil
	}},
	{"a request waits for hosts only when the live hosts could not hold it", func(d *driver) error {
		p := d.p()
		for _, q := range p.st.Queue {
			if q.Reason == ReasonWaitingForHosts && p.topo.couldHold(&q.Request, p.live) {
				return fmt.Errorf("%s waits for hosts, yet the live hosts could hold it", q.Request.ID)
			}
		}
		return nil
	}},
	{"views agree on hosts and capacity", func(d *driver) error {
		p := d.p()
		live, all := 0, 0
		for _, v := range p.Hosts() {
			all += v.Units
			if v.State != HostLost {
				live += v.Units
			}
			if a, ok := d.agents[v.Host]; ok && a.registered && v.State == HostStatic {
				return fmt.Errorf("host %s registered but shows static", v.Host)
			}
		}
		if all != p.Capacity() || live != p.LiveCapacity() {
			return fmt.Errorf("hosts add up to %d (%d live), capacity says %d (%d live)", all, live, p.Capacity(), p.LiveCapacity())
		}
		return nil
	}},
}

// afterTickHosts checks what a tick must have done to hosts: every host
// past its renewal deadline is lost, and only those.
func (d *driver) afterTickHosts() {
	d.t.Helper()
	ttl := d.p().st.Config.HostTTL
	for _, v := range d.p().Hosts() {
		a, ok := d.agents[v.Host]
		if !ok || !a.registered {
			require.NotEqual(d.t, HostLost, v.State, "host %s never registered, yet is lost", v.Host)
			continue
		}
		overdue := !d.now.Before(a.renewedAt.Add(ttl))
		require.Equal(d.t, overdue, v.State == HostLost, "host %s renewed at %v, now %v: %s", v.Host, a.renewedAt, d.now, v.State)
		require.True(d.t, v.ExpiresAt.IsZero() || d.now.Before(v.ExpiresAt), "live host %s outlived its deadline", v.Host)
	}
}

func TestPropertiesWithRegisteredHosts(t *testing.T) {
	seeds, steps := 40, 2500
	if testing.Short() {
		seeds = 8
	}
	total := map[string]int{}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			d := newDriver(t, uint64(3000+seed), driverOpts{chaos: true, hosts: true, maxHold: 30 * time.Minute})
			for range steps {
				d.step()
			}
			for op, n := range d.counts {
				total[op] += n
			}
		})
	}
	// Every kind of event happened somewhere, lost hosts came back and got
	// work again, and grants happened on hosts that had been lost.
	for _, op := range []string{"submit", "release", "tick", "register", "renew", "silence", "return",
		"change", "remove", "refused-registration", "grant-on-returned-host", "revoked-host-lost", "revoked-gpu-removed"} {
		assert.Positive(t, total[op], op)
	}
	t.Logf("events: %v", total)
}
