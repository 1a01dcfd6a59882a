package gpupool

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// testConfig is two hosts of four A100s, each split into four slices when
// used for vGPU, and the pilot tenants with 3, 3 and 2 GPUs of quota.
func testConfig() Config {
	host := func(name string) HostConfig {
		h := HostConfig{Name: name}
		for i := range 4 {
			h.GPUs = append(h.GPUs, GPUConfig{ID: fmt.Sprintf("%s/%d", name, i), Model: "a100", Profile: "a100-10c", Slices: 4})
		}
		return h
	}
	return Config{
		Hosts: []HostConfig{host("h1"), host("h2")},
		Tenants: []TenantConfig{
			{Name: "suwon", Quota: 12},
			{Name: "seongnam", Quota: 12},
			{Name: "yongin", Quota: 8},
		},
		LeaseTTL:     2 * time.Minute,
		PreemptGrace: 5 * time.Minute,
	}
}

func newTestPool(t *testing.T) *Pool {
	t.Helper()
	p, err := New(testConfig())
	require.NoError(t, err)
	return p
}

func whole(id, tenant string, n int) Request {
	return Request{ID: id, Tenant: tenant, Kind: KindWhole, GPUs: n}
}

func slice(id, tenant string, n int) Request {
	return Request{ID: id, Tenant: tenant, Kind: KindSlice, Slices: n, Profile: "a100-10c"}
}

func kinds(acts []Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, string(a.Kind)+":"+a.Lease)
	}
	return out
}

func mustSubmit(t *testing.T, p *Pool, now time.Time, r Request) []Action {
	t.Helper()
	acts, err := p.Submit(now, r)
	require.NoError(t, err)
	return acts
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   error
	}{
		{"no hosts and nothing to count GPUs in", func(c *Config) { c.Hosts = nil }, ErrInvalidConfig},
		{"negative host TTL", func(c *Config) { c.HostTTL = -time.Second }, ErrInvalidConfig},
		{"declared profile not dividing the units", func(c *Config) { c.UnitsPerGPU, c.Profiles = 4, map[string]int{"p3": 3} }, ErrInvalidConfig},
		{"declared profile with another slice count", func(c *Config) { c.Profiles = map[string]int{"a100-10c": 2} }, ErrInvalidConfig},
		{"duplicate GPU", func(c *Config) { c.Hosts[1].GPUs[0].ID = "h1/0" }, ErrInvalidConfig},
		{"duplicate host", func(c *Config) { c.Hosts[1].Name = "h1" }, ErrInvalidConfig},
		{"slices without profile", func(c *Config) { c.Hosts[0].GPUs[0].Profile = "" }, ErrInvalidConfig},
		{"profile with two slice counts", func(c *Config) { c.Hosts[0].GPUs[0].Slices = 2 }, ErrInvalidConfig},
		{"units not divisible", func(c *Config) { c.UnitsPerGPU = 6 }, ErrInvalidConfig},
		{"no TTL", func(c *Config) { c.LeaseTTL = 0 }, ErrInvalidConfig},
		{"no grace", func(c *Config) { c.PreemptGrace = 0 }, ErrInvalidConfig},
		{"quotas over capacity", func(c *Config) { c.Tenants[2].Quota = 9 }, ErrInvalidQuota},
		{"negative quota", func(c *Config) { c.Tenants[2].Quota = -1 }, ErrInvalidQuota},
		{"duplicate tenant", func(c *Config) { c.Tenants[2].Name = "suwon" }, ErrInvalidQuota},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.mutate(&c)
			_, err := New(c)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestUnitsDefaultToLCMOfSliceCounts(t *testing.T) {
	c := Config{
		Hosts: []HostConfig{{Name: "h", GPUs: []GPUConfig{
			{ID: "g0"}, {ID: "g1", Profile: "p3", Slices: 3}, {ID: "g2", Profile: "p4", Slices: 4},
		}}},
		LeaseTTL: time.Minute, PreemptGrace: time.Minute,
		Tenants: []TenantConfig{{Name: "a", Quota: 36}},
	}
	p, err := New(c)
	require.NoError(t, err)
	assert.Equal(t, 12, p.UnitsPerGPU())
	assert.Equal(t, 36, p.Capacity())
	acts := mustSubmit(t, p, t0, Request{ID: "s", Tenant: "a", Kind: KindSlice, Slices: 2, Profile: "p3"})
	require.Len(t, acts, 1)
	l, ok := p.Lease("s")
	require.True(t, ok)
	assert.Equal(t, 8, l.Units, "two thirds of a GPU")
}

func TestSubmitRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want error
	}{
		{"empty id", Request{Tenant: "suwon", Kind: KindWhole, GPUs: 1}, ErrInvalidRequest},
		{"unknown tenant", whole("x", "busan", 1), ErrUnknownTenant},
		{"unknown kind", Request{ID: "x", Tenant: "suwon", Kind: "half"}, ErrInvalidRequest},
		{"zero GPUs", whole("x", "suwon", 0), ErrInvalidRequest},
		{"more GPUs than a host", whole("x", "suwon", 5), ErrUnsatisfiable},
		{"more GPUs than the pool", Request{ID: "x", Tenant: "suwon", Kind: KindWhole, GPUs: 9, MultiHost: true}, ErrUnsatisfiable},
		{"unknown model", Request{ID: "x", Tenant: "suwon", Kind: KindWhole, GPUs: 1, Model: "h100"}, ErrUnsatisfiable},
		{"unknown profile", Request{ID: "x", Tenant: "suwon", Kind: KindSlice, Slices: 1, Profile: "a100-5c"}, ErrUnsatisfiable},
		{"too many slices", slice("x", "suwon", 5), ErrUnsatisfiable},
		{"slice with GPUs", Request{ID: "x", Tenant: "suwon", Kind: KindSlice, Slices: 1, GPUs: 1, Profile: "a100-10c"}, ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPool(t)
			_, err := p.Submit(t0, tt.req)
			assert.ErrorIs(t, err, tt.want)
			assert.Empty(t, p.Queue())
		})
	}
	p := newTestPool(t)
	mustSubmit(t, p, t0, whole("dup", "suwon", 1))
	_, err := p.Submit(t0, whole("dup", "suwon", 1))
	assert.ErrorIs(t, err, ErrDuplicateID)
}

func TestPlacementPacks(t *testing.T) {
	p := newTestPool(t)
	mustSubmit(t, p, t0, slice("s1", "suwon", 1))
	mustSubmit(t, p, t0, slice("s2", "yongin", 2))
	s1, _ := p.Lease("s1")
	s2, _ := p.Lease("s2")
	assert.Equal(t, s1.Placements[0].GPU, s2.Placements[0].GPU, "slices share a GPU before opening another")

	mustSubmit(t, p, t0, whole("w1", "suwon", 1))
	w1, _ := p.Lease("w1")
	assert.Equal(t, "h1", w1.Placements[0].Host, "a single GPU goes to the fuller host")
	mustSubmit(t, p, t0, whole("w4", "seongnam", 4))
	w4, _ := p.Lease("w4")
	for _, pl := range w4.Placements {
		assert.Equal(t, "h2", pl.Host, "the empty host is kept for the four-GPU job")
	}
}

func TestBorrowedCapacityIsReclaimedWithGrace(t *testing.T) {
	p := newTestPool(t)
	// suwon fills the idle pool: 3 GPUs within quota, the rest borrowed.
	for i := range 8 {
		acts := mustSubmit(t, p, t0, whole(fmt.Sprintf("s%d", i), "suwon", 1))
		require.Len(t, acts, 1)
		assert.Equal(t, i >= 3, acts[0].Borrowed, "lease %d", i)
	}
	// seongnam asks for its quota back.
	now := t0.Add(time.Minute)
	heartbeatAll(t, p, now)
	acts := mustSubmit(t, p, now, whole("n1", "seongnam", 1))
	require.Equal(t, []string{"preempt_requested:s7"}, kinds(acts), "the youngest borrowed lease is asked to leave")
	assert.Equal(t, now.Add(5*time.Minute), acts[0].Deadline)
	q := p.Queue()
	require.Len(t, q, 1)
	assert.Equal(t, ReasonReclaiming, q[0].Reason)
	assert.True(t, q[0].Entitled)

	// A holder that checkpoints and releases hands its GPU over at once.
	acts, err := p.Release(now.Add(time.Minute), "s7")
	require.NoError(t, err)
	require.Equal(t, []string{"grant:n1"}, kinds(acts))
	assert.False(t, acts[0].Borrowed)

	// A holder that ignores the request is revoked at the deadline, even
	// though it keeps heartbeating.
	now = now.Add(time.Minute)
	heartbeatAll(t, p, now)
	acts = mustSubmit(t, p, now, whole("n2", "seongnam", 1))
	require.Equal(t, []string{"preempt_requested:s6"}, kinds(acts))
	for m := 1; m < 5; m++ {
		heartbeatAll(t, p, now.Add(time.Duration(m)*time.Minute))
		assert.Empty(t, p.Tick(now.Add(time.Duration(m)*time.Minute)), "still within grace")
	}
	heartbeatAll(t, p, now.Add(5*time.Minute))
	acts = p.Tick(now.Add(5 * time.Minute))
	assert.Equal(t, []string{"revoked:s6", "grant:n2"}, kinds(acts))
}

func heartbeatAll(t *testing.T, p *Pool, now time.Time) {
	t.Helper()
	for _, l := range p.Leases() {
		require.NoError(t, p.Heartbeat(now, l.ID))
	}
}

func TestInQuotaRequestsAreNotPreempted(t *testing.T) {
	p := newTestPool(t)
	mustSubmit(t, p, t0, whole("s", "suwon", 3))
	mustSubmit(t, p, t0, whole("n", "seongnam", 3))
	mustSubmit(t, p, t0, whole("y1", "yongin", 1))
	mustSubmit(t, p, t0, whole("y2", "yongin", 1))
	acts := mustSubmit(t, p, t0, whole("s2", "suwon", 1))
	assert.Empty(t, acts, "the pool is full of in-quota leases; a borrower just waits")
	q := p.Queue()
	require.Len(t, q, 1)
	assert.False(t, q[0].Entitled)
	assert.Equal(t, ReasonBorrowReserved, q[0].Reason)
}

func TestLeasesExpireWithoutHeartbeats(t *testing.T) {
	p := newTestPool(t)
	mustSubmit(t, p, t0, whole("a", "suwon", 2))
	mustSubmit(t, p, t0, whole("b", "yongin", 1))
	require.NoError(t, p.Heartbeat(t0.Add(time.Minute), "a"))
	assert.Equal(t, t0.Add(2*time.Minute), p.NextDeadline())
	acts := p.Tick(t0.Add(2 * time.Minute))
	assert.Equal(t, []string{"expired:b"}, kinds(acts))
	assert.ErrorIs(t, p.Heartbeat(t0.Add(3*time.Minute), "a"), ErrLeaseExpired)
	acts = p.Tick(t0.Add(3 * time.Minute))
	assert.Equal(t, []string{"expired:a"}, kinds(acts))
	for _, g := range p.GPUs() {
		assert.Zero(t, g.UsedSlices, g.GPU)
	}
	_, err := p.Release(t0.Add(4*time.Minute), "a")
	assert.ErrorIs(t, err, ErrUnknownLease)
}

func TestDrain(t *testing.T) {
	tests := []struct {
		name string
		mode DrainMode
		want []string
	}{
		{"wait lets leases finish", DrainWait, nil},
		{"preempt asks them to leave", DrainPreempt, []string{"preempt_requested:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPool(t)
			mustSubmit(t, p, t0, whole("a", "suwon", 4))
			a, _ := p.Lease("a")
			host := a.Placements[0].Host
			acts, err := p.Drain(t0, host, tt.mode)
			require.NoError(t, err)
			assert.Equal(t, tt.want, kinds(acts))
			mustSubmit(t, p, t0, whole("b", "seongnam", 1))
			b, _ := p.Lease("b")
			assert.NotEqual(t, host, b.Placements[0].Host)
			// The other host is now the only place for a four-GPU job.
			mustSubmit(t, p, t0, whole("c", "yongin", 2))
			_, err = p.Drain(t0, "h9", DrainWait)
			assert.ErrorIs(t, err, ErrUnknownTarget)
			var other string
			for _, h := range []string{"h1", "h2"} {
				if h != host {
					other = h
				}
			}
			_, err = p.Drain(t0, other, DrainWait)
			require.NoError(t, err)
			mustSubmit(t, p, t0, slice("d", "yongin", 1))
			q := p.Queue()
			require.Len(t, q, 1)
			assert.Equal(t, ReasonDrained, q[0].Reason)
			acts, err = p.Undrain(t0, other)
			require.NoError(t, err)
			assert.Equal(t, []string{"grant:d"}, kinds(acts))
		})
	}
}

func TestSetQuota(t *testing.T) {
	tests := []struct {
		name   string
		tenant string
		quota  int
		want   error
	}{
		{"raise within capacity", "yongin", 8, nil},
		{"lower", "suwon", 4, nil},
		{"negative", "suwon", -4, ErrInvalidQuota},
		{"over capacity", "yongin", 12, ErrInvalidQuota},
		{"unknown tenant", "busan", 4, ErrUnknownTenant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPool(t)
			_, err := p.SetQuota(t0, tt.tenant, tt.quota)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
				return
			}
			require.NoError(t, err)
		})
	}

	// Lowering a quota marks the youngest in-quota leases borrowed.
	p := newTestPool(t)
	mustSubmit(t, p, t0, whole("a", "suwon", 2))
	mustSubmit(t, p, t0, whole("b", "suwon", 1))
	_, err := p.SetQuota(t0, "suwon", 8)
	require.NoError(t, err)
	a, _ := p.Lease("a")
	b, _ := p.Lease("b")
	assert.False(t, a.Borrowed)
	assert.True(t, b.Borrowed)
	// Raising it back makes the lease in-quota again.
	_, err = p.SetQuota(t0, "suwon", 12)
	require.NoError(t, err)
	b, _ = p.Lease("b")
	assert.False(t, b.Borrowed)

	require.NoError(t, p.AddTenant(TenantConfig{Name: "busan"}))
	assert.ErrorIs(t, p.AddTenant(TenantConfig{Name: "busan"}), ErrInvalidQuota)
	assert.ErrorIs(t, p.AddTenant(TenantConfig{Name: "goyang", Quota: 4}), ErrInvalidQuota, "quotas already fill the pool")
}

func TestBorrowingFollowsWeightedFairShare(t *testing.T) {
	c := testConfig()
	c.Tenants = []TenantConfig{{Name: "a", Quota: 4}, {Name: "b", Quota: 4}, {Name: "c", Quota: 8}}
	p, err := New(c)
	require.NoError(t, err)
	// c holds its quota share of the pool; a and b queue many slices while
	// it is full, then c's leases end.
	for i := range 8 {
		mustSubmit(t, p, t0, whole(fmt.Sprintf("c%d", i), "c", 1))
	}
	for i := range 16 {
		mustSubmit(t, p, t0, slice(fmt.Sprintf("a%d", i), "a", 1))
		mustSubmit(t, p, t0, slice(fmt.Sprintf("b%d", i), "b", 1))
	}
	for i := range 8 {
		_, err := p.Release(t0, fmt.Sprintf("c%d", i))
		require.NoError(t, err)
	}
	var used []int
	for _, v := range p.Tenants() {
		used = append(used, v.Used)
	}
	assert.Equal(t, []int{16, 16, 0}, used, "equal quotas get equal shares of the idle pool")
}

func TestQueueView(t *testing.T) {
	p := newTestPool(t)
	mustSubmit(t, p, t0, whole("s", "suwon", 4))
	mustSubmit(t, p, t0, whole("n", "seongnam", 4))
	mustSubmit(t, p, t0, whole("s2", "suwon", 1))
	mustSubmit(t, p, t0, whole("y", "yongin", 2))
	q := p.Queue()
	require.Len(t, q, 2)
	assert.Equal(t, "y", q[0].Request.ID, "in-quota requests come first")
	assert.Equal(t, 1, q[0].Position)
	assert.Equal(t, ReasonReclaiming, q[0].Reason)
	assert.Equal(t, "s2", q[1].Request.ID)
	assert.Equal(t, 2, q[1].Position)
	assert.Equal(t, 1, q[1].TenantPosition)

	tv := p.Tenants()
	assert.Equal(t, TenantView{Tenant: "suwon", Quota: 12, Weight: 12, Used: 16, InQuota: 0, Borrowed: 16, Leases: 1, Queued: 1, QueuedUnits: 4}, tv[0])
}

func TestSnapshotSurvivesJSON(t *testing.T) {
	p := newTestPool(t)
	mustSubmit(t, p, t0, whole("s", "suwon", 4))
	mustSubmit(t, p, t0, whole("n", "seongnam", 4))
	mustSubmit(t, p, t0, slice("y", "yongin", 1))
	_, err := p.Drain(t0, "h2/3", DrainWait)
	require.NoError(t, err)

	raw, err := json.Marshal(p.Snapshot())
	require.NoError(t, err)
	var st State
	require.NoError(t, json.Unmarshal(raw, &st))
	q, err := Restore(st)
	require.NoError(t, err)
	assert.Equal(t, p.Snapshot(), q.Snapshot())

	now := t0.Add(time.Minute)
	a1 := p.Tick(now)
	a2 := q.Tick(now)
	assert.Equal(t, a1, a2)

	st.Leases[0].Placements[0].GPU = "nope"
	_, err = Restore(st)
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestBackfillYieldsToReservation(t *testing.T) {
	p := newTestPool(t)
	mustSubmit(t, p, t0, whole("big", "suwon", 4))
	mustSubmit(t, p, t0, whole("y1", "yongin", 1))
	mustSubmit(t, p, t0, whole("y2", "yongin", 1))
	// seongnam's four-GPU job is beyond its quota; it reserves the host
	// where yongin's in-quota jobs run, and waits for them.
	assert.Empty(t, mustSubmit(t, p, t0, whole("n4", "seongnam", 4)))
	q := p.Queue()
	require.Len(t, q, 1)
	assert.Equal(t, ReasonBorrowReserved, q[0].Reason)
	y1, _ := p.Lease("y1")
	assert.Equal(t, y1.Placements[0].Host, q[0].Target)

	// suwon, beyond its quota, reserves for its next job too (on its own
	// host, where it must wait for itself); its job after that may use the
	// idle GPUs kept for seongnam, as backfill.
	assert.Empty(t, mustSubmit(t, p, t0, whole("s1", "suwon", 1)))
	acts := mustSubmit(t, p, t0, whole("s2", "suwon", 1))
	require.Equal(t, []string{"grant:s2"}, kinds(acts))
	assert.True(t, acts[0].Backfill)
	assert.True(t, acts[0].Borrowed)
	assert.Equal(t, q[0].Target, acts[0].Placements[0].Host)

	acts, err := p.Release(t0, "y1")
	require.NoError(t, err)
	assert.Empty(t, acts, "y2 still holds the host")
	acts, err = p.Release(t0, "y2")
	require.NoError(t, err)
	require.Equal(t, []string{"preempt_requested:s2"}, kinds(acts), "now only backfill stands in the way")
	assert.Contains(t, acts[0].Reason, "n4")
	acts, err = p.Release(t0, "s2")
	require.NoError(t, err)
	assert.Equal(t, []string{"grant:n4"}, kinds(acts))
}

func TestReclaimTakesExcessWhereItHelps(t *testing.T) {
	// suwon holds 4 GPUs (one beyond quota) and seongnam 4 (one beyond),
	// laid out (with drains) so that each host has one borrowed GPU.
	// yongin's two-GPU in-quota job needs one host: besides the borrowed GPU
	// there it may take a one-GPU in-quota lease of the same over-quota
	// tenants, which keep their quota through their other leases.
	p := newTestPool(t)
	drain := func(target string, on bool) {
		var err error
		if on {
			_, err = p.Drain(t0, target, DrainWait)
		} else {
			_, err = p.Undrain(t0, target)
		}
		require.NoError(t, err)
	}
	drain("h2", true)
	mustSubmit(t, p, t0, whole("sA", "suwon", 2))
	mustSubmit(t, p, t0, whole("sB", "suwon", 1))
	drain("h2", false)
	drain("h1", true)
	mustSubmit(t, p, t0, whole("nA", "seongnam", 2))
	mustSubmit(t, p, t0, whole("nB", "seongnam", 1))
	drain("h1", false)
	mustSubmit(t, p, t0, whole("nX", "seongnam", 1))
	mustSubmit(t, p, t0, whole("sC", "suwon", 1))
	var borrowed []string
	for _, l := range p.Leases() {
		if l.Borrowed {
			borrowed = append(borrowed, l.ID+"@"+l.Placements[0].Host)
		}
	}
	require.Equal(t, []string{"nX@h1", "sC@h2"}, borrowed)
	acts := mustSubmit(t, p, t0, whole("y", "yongin", 2))
	require.Len(t, acts, 2, "one borrowed lease and one lease from excess, on one host")
	hosts := map[string]bool{}
	assert.NotEqual(t, acts[0].Borrowed, acts[1].Borrowed, "one marked borrowed, one taken from excess")
	for _, a := range acts {
		assert.Equal(t, ActionPreemptRequested, a.Kind)
		l, _ := p.Lease(a.Lease)
		hosts[l.Placements[0].Host] = true
	}
	assert.Len(t, hosts, 1)
	for _, a := range acts {
		_, err := p.Release(t0, a.Lease)
		require.NoError(t, err)
	}
	y, ok := p.Lease("y")
	require.True(t, ok)
	assert.False(t, y.Borrowed)
	for _, v := range p.Tenants() {
		assert.GreaterOrEqual(t, v.Used, v.Quota, "%s keeps its quota", v.Tenant)
	}
}
