package gpupool

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// agentHost is what a host's agent registers: n A100s split into four
// a100-10c slices, with ids "<name>/<i>".
func agentHost(name string, n int) HostConfig {
	h := HostConfig{Name: name}
	for i := range n {
		h.GPUs = append(h.GPUs, GPUConfig{ID: fmt.Sprintf("%s/%d", name, i), Model: "a100", Profile: "a100-10c", Slices: 4})
	}
	return h
}

// hostTTLConfig is testConfig with a 90 s host TTL.
func hostTTLConfig() Config {
	c := testConfig()
	c.HostTTL = 90 * time.Second
	return c
}

func mustRegister(t *testing.T, p *Pool, now time.Time, h HostConfig) []Action {
	t.Helper()
	acts, err := p.RegisterHost(now, h)
	require.NoError(t, err)
	return acts
}

func hostState(t *testing.T, p *Pool, name string) HostState {
	t.Helper()
	v, ok := p.Host(name)
	require.True(t, ok, "host %s unknown", name)
	return v.State
}

func TestRegisterHostRefusesWhatDoesNotFit(t *testing.T) {
	tests := []struct {
		name string
		host func() HostConfig
		want string
	}{
		{"no name", func() HostConfig { h := agentHost("", 1); h.Name = ""; return h }, "without a name"},
		{"GPU listed twice", func() HostConfig {
			h := agentHost("h3", 2)
			h.GPUs[1].ID = h.GPUs[0].ID
			return h
		}, "duplicate GPU"},
		{"GPU without id", func() HostConfig { h := agentHost("h3", 1); h.GPUs[0].ID = ""; return h }, "has no id"},
		{"GPU id of another host", func() HostConfig { h := agentHost("h3", 1); h.GPUs[0].ID = "h1/0"; return h }, "duplicate GPU"},
		{"GPU named like a host", func() HostConfig { h := agentHost("h3", 1); h.GPUs[0].ID = "h2"; return h }, "has a host's name"},
		{"host named like a GPU", func() HostConfig { h := agentHost("h3", 1); h.Name = "h1/0"; return h }, "has a GPU's name"},
		{"profile with another slice count", func() HostConfig { h := agentHost("h3", 1); h.GPUs[0].Slices = 2; return h }, `profile "a100-10c" has 4 slices per GPU`},
		{"slices that do not divide the units", func() HostConfig {
			h := agentHost("h3", 1)
			h.GPUs[0].Profile, h.GPUs[0].Slices = "a100-13c", 3
			return h
		}, "4 units per GPU is not divisible by the 3 slices"},
		{"slices without a profile", func() HostConfig { h := agentHost("h3", 1); h.GPUs[0].Profile = ""; return h }, "slices but no profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(hostTTLConfig())
			require.NoError(t, err)
			mustSubmit(t, p, t0, whole("s", "suwon", 1))
			before := p.Snapshot()
			acts, err := p.RegisterHost(t0, tt.host())
			assert.ErrorIs(t, err, ErrInvalidHost)
			assert.ErrorContains(t, err, tt.want)
			assert.Empty(t, acts)
			assert.Equal(t, before, p.Snapshot(), "a refused registration changes nothing")
		})
	}
}

func TestRegisterHostChangesTheInventory(t *testing.T) {
	// Each case starts from h1 and h2 (four GPUs each) registered at t0,
	// suwon holding h1/0 whole and yongin two slices of h1/1 (packed on the
	// fuller host).
	setup := func(t *testing.T) *Pool {
		p, err := New(hostTTLConfig())
		require.NoError(t, err)
		mustRegister(t, p, t0, agentHost("h1", 4))
		mustRegister(t, p, t0, agentHost("h2", 4))
		mustSubmit(t, p, t0, whole("s", "suwon", 1))
		mustSubmit(t, p, t0, slice("y", "yongin", 2))
		s, _ := p.Lease("s")
		y, _ := p.Lease("y")
		require.Equal(t, "h1/0", s.Placements[0].GPU)
		require.Equal(t, "h1/1", y.Placements[0].GPU)
		return p
	}
	reordered := agentHost("h1", 4)
	reordered.GPUs[0], reordered.GPUs[3] = reordered.GPUs[3], reordered.GPUs[0]
	withoutOne := agentHost("h1", 4)
	withoutOne.GPUs = append(withoutOne.GPUs[:1], withoutOne.GPUs[2:]...)
	reprofiled := agentHost("h1", 4)
	reprofiled.GPUs[1].Profile, reprofiled.GPUs[1].Slices = "", 0
	remodelled := agentHost("h1", 4)
	remodelled.GPUs[0].Model = "h100"

	tests := []struct {
		name    string
		host    HostConfig
		revoked []string // leases revoked, in order
		reason  string   // what their reason starts with
		gpus    int      // h1's GPUs afterwards; 0: h1 is gone
		kept    []string // leases still live
	}{
		{"same GPUs in another order renew", reordered, nil, "", 4, []string{"s", "y"}},
		{"a GPU no longer listed leaves with its leases", withoutOne, []string{"y"}, EndGPURemoved, 3, []string{"s"}},
		{"a GPU with another profile is a new GPU", reprofiled, []string{"y"}, EndGPURemoved, 4, []string{"s"}},
		{"a GPU with another model is a new GPU", remodelled, []string{"s"}, EndGPURemoved, 4, []string{"y"}},
		{"a new GPU joins", agentHost("h1", 5), nil, "", 5, []string{"s", "y"}},
		{"no GPUs remove the host", HostConfig{Name: "h1"}, []string{"s", "y"}, EndGPURemoved + ": h1 registered no GPUs", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := setup(t)
			now := t0.Add(time.Minute)
			acts := mustRegister(t, p, now, tt.host)
			var revoked []string
			for _, a := range acts {
				if a.Kind == ActionRevoked {
					revoked = append(revoked, a.Lease)
					assert.True(t, strings.HasPrefix(a.Reason, tt.reason), "reason %q", a.Reason)
				}
			}
			assert.Equal(t, tt.revoked, revoked)
			var live []string
			for _, l := range p.Leases() {
				live = append(live, l.ID)
			}
			assert.Equal(t, tt.kept, live)
			v, ok := p.Host("h1")
			if tt.gpus == 0 {
				assert.False(t, ok, "h1 is forgotten")
				assert.Equal(t, 4*4, p.Capacity())
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.gpus, v.GPUs)
			assert.Equal(t, HostLive, v.State)
			assert.Equal(t, now, v.RenewedAt)
			assert.Equal(t, now.Add(90*time.Second), v.ExpiresAt)
			assert.Equal(t, (4+tt.gpus)*4, p.Capacity())
		})
	}

	t.Run("a renewal changes nothing but the renewal time", func(t *testing.T) {
		p := setup(t)
		before := p.Snapshot()
		assert.Empty(t, mustRegister(t, p, t0.Add(time.Minute), reordered))
		after := p.Snapshot()
		require.Len(t, after.Hosts, 2)
		assert.Equal(t, t0.Add(time.Minute), after.Hosts[0].RenewedAt)
		after.Hosts[0].RenewedAt = t0
		assert.Equal(t, before, after)
	})

	t.Run("a new GPU is granted to a waiting request", func(t *testing.T) {
		p := setup(t)
		// h2 is full and h1 has two whole GPUs free: a three-GPU job waits.
		mustSubmit(t, p, t0, whole("fill", "seongnam", 4))
		assert.Empty(t, mustSubmit(t, p, t0, whole("three", "suwon", 3)))
		acts := mustRegister(t, p, t0.Add(time.Minute), agentHost("h1", 5))
		require.Equal(t, []string{"grant:three"}, kinds(acts))
		assert.Equal(t, "h1", acts[0].Placements[0].Host)
	})

	t.Run("removing an unknown host does nothing", func(t *testing.T) {
		p := setup(t)
		before := p.Snapshot()
		acts, err := p.RegisterHost(t0, HostConfig{Name: "h9"})
		require.NoError(t, err)
		assert.Empty(t, acts)
		assert.Equal(t, before, p.Snapshot())
	})
}

func TestHostLostAndBack(t *testing.T) {
	p, err := New(hostTTLConfig())
	require.NoError(t, err)
	mustRegister(t, p, t0, agentHost("h1", 4))
	h3 := agentHost("h3", 8)
	mustRegister(t, p, t0, h3)
	// An eight-GPU job fits only h3; a one-GPU job lands on h1 (best fit).
	mustSubmit(t, p, t0, Request{ID: "big", Tenant: "suwon", Kind: KindWhole, GPUs: 8})
	mustSubmit(t, p, t0, whole("small", "yongin", 1))
	big, _ := p.Lease("big")
	require.Equal(t, "h3", big.Placements[0].Host)

	// h1 renews, h3 does not; h2 never registered and stays static.
	renew := t0.Add(60 * time.Second)
	assert.Empty(t, mustRegister(t, p, renew, agentHost("h1", 4)))
	for _, l := range p.Leases() {
		require.NoError(t, p.Heartbeat(renew, l.ID))
	}
	assert.Equal(t, t0.Add(90*time.Second), p.NextDeadline(), "h3's renewal deadline comes first")
	assert.Empty(t, p.Tick(t0.Add(89*time.Second)))

	lostAt := t0.Add(90 * time.Second)
	acts := p.Tick(lostAt)
	require.Equal(t, []string{"revoked:big"}, kinds(acts))
	assert.Equal(t, EndHostLost+": h3 not renewed since "+t0.Format(time.RFC3339), acts[0].Reason)
	assert.Equal(t, HostLost, hostState(t, p, "h3"))
	assert.Equal(t, HostLive, hostState(t, p, "h1"))
	assert.Equal(t, HostStatic, hostState(t, p, "h2"))
	for _, g := range p.GPUs() {
		assert.Equal(t, g.Host == "h3", g.Lost, g.GPU)
	}
	assert.Equal(t, (4+4+8)*4, p.Capacity(), "a lost host is expected back")
	assert.Equal(t, (4+4)*4, p.LiveCapacity())
	v, _ := p.Host("h3")
	assert.Zero(t, v.ExpiresAt, "a lost host has no deadline")
	assert.Equal(t, t0, v.RenewedAt)

	// Nothing is scheduled on h3 while it is lost: the eight-GPU job waits
	// for it, and smaller work goes elsewhere.
	assert.Empty(t, mustSubmit(t, p, lostAt, Request{ID: "big2", Tenant: "suwon", Kind: KindWhole, GPUs: 8}))
	q := p.Queue()
	require.Len(t, q, 1)
	assert.Equal(t, ReasonWaitingForHosts, q[0].Reason)
	acts = mustSubmit(t, p, lostAt, whole("small2", "seongnam", 2))
	require.Equal(t, []string{"grant:small2"}, kinds(acts))
	assert.NotEqual(t, "h3", acts[0].Placements[0].Host)

	// h3 comes back with the same GPUs: its capacity returns at once.
	back := lostAt.Add(time.Minute)
	acts = mustRegister(t, p, back, h3)
	require.Equal(t, []string{"grant:big2"}, kinds(acts))
	assert.Equal(t, "h3", acts[0].Placements[0].Host)
	assert.Equal(t, HostLive, hostState(t, p, "h3"))
	assert.Equal(t, p.Capacity(), p.LiveCapacity())
}

func TestLateRegistrationIsAReturn(t *testing.T) {
	p, err := New(hostTTLConfig())
	require.NoError(t, err)
	mustRegister(t, p, t0, agentHost("h3", 2))
	mustSubmit(t, p, t0, Request{ID: "j", Tenant: "suwon", Kind: KindWhole, GPUs: 2, Model: "a100", MultiHost: false})
	j, _ := p.Lease("j")
	require.NoError(t, p.Heartbeat(t0.Add(100*time.Second), "j"))
	// No tick ran since h3's deadline (t0+90s): its registration at t0+100s
	// still ends what ran on it, since it was silent too long.
	acts := mustRegister(t, p, t0.Add(100*time.Second), agentHost("h3", 2))
	require.NotEmpty(t, acts)
	assert.Equal(t, "revoked:j", kinds(acts)[0])
	assert.True(t, strings.HasPrefix(acts[0].Reason, EndHostLost))
	if j.Placements[0].Host != "h3" {
		t.Fatalf("test setup: j is on %s", j.Placements[0].Host)
	}
	assert.Equal(t, HostLive, hostState(t, p, "h3"))
}

func TestStaticHostsNeverExpire(t *testing.T) {
	p, err := New(hostTTLConfig())
	require.NoError(t, err)
	assert.True(t, p.NextDeadline().IsZero(), "configured hosts that never registered have no deadline")
	mustSubmit(t, p, t0, whole("s", "suwon", 1))
	for _, l := range []time.Duration{time.Minute, 2 * time.Minute} {
		require.NoError(t, p.Heartbeat(t0.Add(l-time.Second), "s"))
		assert.Empty(t, p.Tick(t0.Add(l)))
	}
	for _, v := range p.Hosts() {
		assert.Equal(t, HostStatic, v.State)
		assert.Zero(t, v.ExpiresAt)
	}

	// Without a host TTL, registered hosts never expire either.
	c := testConfig()
	q, err := New(c)
	require.NoError(t, err)
	mustRegister(t, q, t0, agentHost("h3", 1))
	v, _ := q.Host("h3")
	assert.Equal(t, HostLive, v.State)
	assert.Zero(t, v.ExpiresAt)
	assert.True(t, q.NextDeadline().IsZero())
	assert.Empty(t, q.Tick(t0.Add(1000*time.Hour)))
	assert.Equal(t, HostLive, hostState(t, q, "h3"))
}

func TestPoolStartsWithoutHosts(t *testing.T) {
	c := Config{
		UnitsPerGPU: 4,
		Profiles:    map[string]int{"a100-10c": 4},
		Tenants:     []TenantConfig{{Name: "suwon", Quota: 8}, {Name: "yongin", Quota: 4}},
		LeaseTTL:    2 * time.Minute, PreemptGrace: 5 * time.Minute, HostTTL: time.Minute,
	}
	p, err := New(c)
	require.NoError(t, err, "quotas are taken as given before any host is known")
	assert.Zero(t, p.Capacity())
	assert.Empty(t, p.GPUs())
	assert.Empty(t, p.Hosts())

	assert.Empty(t, mustSubmit(t, p, t0, whole("w", "suwon", 2)))
	assert.Empty(t, mustSubmit(t, p, t0, slice("s", "yongin", 1)))
	_, err = p.Submit(t0, Request{ID: "x", Tenant: "yongin", Kind: KindSlice, Slices: 1, Profile: "l40-12q"})
	assert.ErrorIs(t, err, ErrUnsatisfiable, "a profile nobody declared cannot be sized")
	for _, q := range p.Queue() {
		assert.Equal(t, ReasonWaitingForHosts, q.Reason, q.Request.ID)
		assert.True(t, q.Entitled, q.Request.ID)
	}

	acts := mustRegister(t, p, t0.Add(time.Second), agentHost("g1", 3))
	assert.ElementsMatch(t, []string{"grant:w", "grant:s"}, kinds(acts))
	assert.Equal(t, 12, p.Capacity())
	// Now the inventory is known, requests are checked against it.
	_, err = p.Submit(t0, whole("four", "suwon", 4))
	assert.ErrorIs(t, err, ErrUnsatisfiable)

	// A pool without hosts needs to know what a GPU is worth.
	c.UnitsPerGPU, c.Profiles = 0, nil
	_, err = New(c)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "needs units per GPU")
}

func TestUnitsPerGPUStayFixed(t *testing.T) {
	// Passthrough-only hosts make a GPU one unit; a GPU of four slices
	// registered later could not be counted in it.
	c := Config{Hosts: []HostConfig{{Name: "p", GPUs: []GPUConfig{{ID: "p/0"}}}},
		LeaseTTL: time.Minute, PreemptGrace: time.Minute}
	p, err := New(c)
	require.NoError(t, err)
	assert.Equal(t, 1, p.UnitsPerGPU())
	_, err = p.RegisterHost(t0, agentHost("v", 1))
	assert.ErrorIs(t, err, ErrInvalidHost)
	assert.ErrorContains(t, err, "1 units per GPU is not divisible by the 4 slices")

	// Profiles seen once keep their slice count after their GPUs leave.
	q := newTestPool(t)
	mustRegister(t, q, t0, HostConfig{Name: "h1"})
	mustRegister(t, q, t0, HostConfig{Name: "h2"})
	assert.Zero(t, q.Capacity())
	_, err = q.RegisterHost(t0, HostConfig{Name: "h3", GPUs: []GPUConfig{{ID: "h3/0", Profile: "a100-10c", Slices: 2}}})
	assert.ErrorIs(t, err, ErrInvalidHost)
	assert.Equal(t, map[string]int{"a100-10c": 4}, q.Snapshot().Config.Profiles)
}

func TestRegisterHostKeepsDrainMarks(t *testing.T) {
	p, err := New(hostTTLConfig())
	require.NoError(t, err)
	_, err = p.Drain(t0, "h1", DrainWait)
	require.NoError(t, err)
	_, err = p.Drain(t0, "h2/1", DrainWait)
	require.NoError(t, err)
	// h1 is drained as a whole: a GPU it gains joins drained. h2 is not: a
	// GPU it gains is schedulable, and h2/1 stays drained.
	mustRegister(t, p, t0, agentHost("h1", 5))
	mustRegister(t, p, t0, agentHost("h2", 5))
	drained := map[string]bool{}
	for _, g := range p.GPUs() {
		drained[g.GPU] = g.Drained
	}
	assert.True(t, drained["h1/4"])
	assert.False(t, drained["h2/4"])
	assert.True(t, drained["h2/1"])
	assert.False(t, drained["h2/0"])
	// A GPU that leaves takes its mark along; coming back it is a new GPU.
	mustRegister(t, p, t0, agentHost("h2", 1))
	mustRegister(t, p, t0, agentHost("h2", 2))
	assert.Equal(t, []string{"h1/0", "h1/1", "h1/2", "h1/3", "h1/4"}, p.Snapshot().Drained)
}

func TestQuotasAfterTheInventoryShrank(t *testing.T) {
	p := newTestPool(t) // quotas 12 + 12 + 8 = all 32 units
	mustRegister(t, p, t0, HostConfig{Name: "h2"})
	assert.Equal(t, 16, p.Capacity())
	_, err := p.SetQuota(t0, "suwon", 10)
	assert.NoError(t, err, "lowering is allowed while the sum is beyond the capacity")
	_, err = p.SetQuota(t0, "suwon", 11)
	assert.ErrorIs(t, err, ErrInvalidQuota, "raising is not")
	assert.NoError(t, p.AddTenant(TenantConfig{Name: "goyang"}))
	assert.ErrorIs(t, p.AddTenant(TenantConfig{Name: "busan", Quota: 1}), ErrInvalidQuota)

	// The over-committed state survives continue-as-new.
	raw, err := json.Marshal(p.Snapshot())
	require.NoError(t, err)
	var st State
	require.NoError(t, json.Unmarshal(raw, &st))
	_, err = Restore(st)
	assert.NoError(t, err)
}

func TestHostsSurviveRestore(t *testing.T) {
	p, err := New(hostTTLConfig())
	require.NoError(t, err)
	mustRegister(t, p, t0, agentHost("h3", 2))
	mustRegister(t, p, t0.Add(30*time.Second), agentHost("h1", 4))
	mustSubmit(t, p, t0, whole("a", "suwon", 2))
	mustSubmit(t, p, t0, Request{ID: "b", Tenant: "seongnam", Kind: KindWhole, GPUs: 2})
	p.Tick(t0.Add(90 * time.Second)) // h3 is lost
	require.Equal(t, HostLost, hostState(t, p, "h3"))

	raw, err := json.Marshal(p.Snapshot())
	require.NoError(t, err)
	var st State
	require.NoError(t, json.Unmarshal(raw, &st))
	q, err := Restore(st)
	require.NoError(t, err)
	assert.Equal(t, p.Snapshot(), q.Snapshot())
	assert.Equal(t, p.Hosts(), q.Hosts())
	assert.Equal(t, p.GPUs(), q.GPUs())
	assert.Equal(t, p.NextDeadline(), q.NextDeadline())
	now := t0.Add(2 * time.Minute)
	a1, err1 := p.RegisterHost(now, agentHost("h3", 2))
	a2, err2 := q.RegisterHost(now, agentHost("h3", 2))
	require.NoError(t, err1)
	require.NoError(t, err2)
	assert.Equal(t, a1, a2)
	assert.Equal(t, p.Tick(now.Add(time.Minute)), q.Tick(now.Add(time.Minute)))

	corrupt := func(f func(*State)) error {
		var s State
		require.NoError(t, json.Unmarshal(raw, &s))
		f(&s)
		_, err := Restore(s)
		return err
	}
	assert.ErrorIs(t, corrupt(func(s *State) { s.Hosts[0].Name = "h9" }), ErrInvalidConfig)
	assert.ErrorIs(t, corrupt(func(s *State) { s.Hosts = append(s.Hosts, s.Hosts[0]) }), ErrInvalidConfig)
	assert.ErrorIs(t, corrupt(func(s *State) {
		// A lease on a lost host cannot exist.
		for i := range s.Hosts {
			s.Hosts[i].Lost = true
		}
	}), ErrInvalidConfig)
	assert.ErrorIs(t, corrupt(func(s *State) { s.Config.HostTTL = -1 }), ErrInvalidConfig)
}

func TestHostsView(t *testing.T) {
	p, err := New(hostTTLConfig())
	require.NoError(t, err)
	mustRegister(t, p, t0, agentHost("h1", 4))
	mustSubmit(t, p, t0, slice("s", "suwon", 3))
	mustSubmit(t, p, t0, whole("w", "yongin", 1))
	_, err = p.Drain(t0, "h2/0", DrainWait)
	require.NoError(t, err)
	hosts := p.Hosts()
	used := map[string]int{}
	for _, l := range p.Leases() {
		used[l.Placements[0].Host] += l.Units
	}
	assert.Equal(t, []HostView{
		{Host: "h1", State: HostLive, GPUs: 4, Units: 16, UsedUnits: used["h1"], RenewedAt: t0, ExpiresAt: t0.Add(90 * time.Second)},
		{Host: "h2", State: HostStatic, GPUs: 4, DrainedGPUs: 1, Units: 16, UsedUnits: used["h2"]},
	}, hosts)
	assert.Equal(t, 7, used["h1"]+used["h2"])
}
