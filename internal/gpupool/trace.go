package gpupool

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// TraceTenant is one tenant's load in a simulated trace: bursts of jobs that
// arrive close together, separated by quiet gaps.
type TraceTenant struct {
	Name      string `json:"name"`
	QuotaGPUs int    `json:"quota_gpus"`
	// MeanBurstGap is the mean time between bursts (exponentially
	// distributed); each burst brings 1..MaxBurstJobs jobs, uniformly, two
	// minutes apart on average.
	MeanBurstGap time.Duration `json:"mean_burst_gap"`
	MaxBurstJobs int           `json:"max_burst_jobs"`
}

// TraceConfig describes a simulated trace and the pool it runs on.
type TraceConfig struct {
	Seed         uint64        `json:"seed"`
	Hosts        int           `json:"hosts"`
	GPUsPerHost  int           `json:"gpus_per_host"`
	SlicesPerGPU int           `json:"slices_per_gpu"`
	Tenants      []TraceTenant `json:"tenants"`
	// Horizon is the simulated time; arrivals and measurements stop there.
	Horizon time.Duration `json:"horizon"`
	// Tick is the GPUPool workflow's timer period.
	Tick         time.Duration `json:"tick"`
	LeaseTTL     time.Duration `json:"lease_ttl"`
	PreemptGrace time.Duration `json:"preempt_grace"`
	// Checkpoint is how long a preempted job takes to checkpoint and
	// release. Its progress up to the preemption request is kept.
	Checkpoint time.Duration `json:"checkpoint"`
}

// DefaultTrace is the benchmark of docs/gpupool.md: a week on two hosts of
// four A100s (four vGPU slices each) shared by the three pilot cities with
// 3, 3 and 2 GPUs of quota, at about 90% of capacity on average but with
// bursts well beyond it, and suwon's demand above its quota.
func DefaultTrace() TraceConfig {
	return TraceConfig{
		Seed:  20260302,
		Hosts: 2, GPUsPerHost: 4, SlicesPerGPU: 4,
		Tenants: []TraceTenant{
			{Name: "suwon", QuotaGPUs: 3, MeanBurstGap: 2 * time.Hour, MaxBurstJobs: 6},
			{Name: "seongnam", QuotaGPUs: 3, MeanBurstGap: 160 * time.Minute, MaxBurstJobs: 6},
			{Name: "yongin", QuotaGPUs: 2, MeanBurstGap: 270 * time.Minute, MaxBurstJobs: 6},
		},
		Horizon:      7 * 24 * time.Hour,
		Tick:         30 * time.Second,
		LeaseTTL:     2 * time.Minute,
		PreemptGrace: 5 * time.Minute,
		Checkpoint:   time.Minute,
	}
}

// SchedulerReport is one scheduler's result on a trace. The JSON keys are
// what `dure bench gpupool --json` prints; the other fields are for tables.
type SchedulerReport struct {
	// UtilizationOfIdeal is useful GPU-seconds within the horizon divided by
	// those of the ideal work-conserving schedule (see docs/gpupool.md).
	UtilizationOfIdeal float64 `json:"utilization_of_ideal"`
	// Jain is the time-weighted mean of Jain's index over the held capacity
	// per quota of the tenants that have requests waiting, taken over the
	// time when at least two tenants have.
	Jain float64 `json:"jain"`
	// QuotaViolations counts requests that fit their tenant's quota but
	// waited longer than the preemption grace plus one tick while another
	// tenant held more than its quota and giving back that excess would have
	// made room for them.
	QuotaViolations int `json:"quota_violations"`
	// WaitMeanS and WaitP99S are the time jobs spent queued (summed over
	// requeues after preemption; jobs still queued at the horizon count up to
	// it), in seconds.
	WaitMeanS float64 `json:"wait_mean_s"`
	WaitP99S  float64 `json:"wait_p99_s"`

	Jobs          int     `json:"-"`
	Completed     int     `json:"-"`
	Preemptions   int     `json:"-"`
	Revocations   int     `json:"-"`
	BusyGPUHours  float64 `json:"-"`
	IdealGPUHours float64 `json:"-"`
	// HeldGPUHours includes time spent checkpointing after a preemption.
	HeldGPUHours float64 `json:"-"`
}

// TraceReport compares the policy with plain FIFO on the same trace.
type TraceReport struct {
	Policy SchedulerReport `json:"policy"`
	FIFO   SchedulerReport `json:"fifo"`
}

// Table formats the report for logs and docs.
func (r TraceReport) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scheduler | utilization of ideal | Jain (backlogged, per quota) | quota violations | wait mean | wait p99 | jobs done/arrived | preemptions | useful / ideal GPU-h |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range []struct {
		name string
		r    SchedulerReport
	}{{"policy", r.Policy}, {"fifo", r.FIFO}} {
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %d | %s | %s | %d/%d | %d | %.0f / %.0f |\n",
			row.name, row.r.UtilizationOfIdeal, row.r.Jain, row.r.QuotaViolations,
			secs(row.r.WaitMeanS), secs(row.r.WaitP99S), row.r.Completed, row.r.Jobs,
			row.r.Preemptions, row.r.BusyGPUHours, row.r.IdealGPUHours)
	}
	return b.String()
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// PoolConfig is the pool the trace runs on.
func (tc TraceConfig) PoolConfig() Config {
	c := Config{LeaseTTL: tc.LeaseTTL, PreemptGrace: tc.PreemptGrace, UnitsPerGPU: tc.SlicesPerGPU}
	for h := range tc.Hosts {
		hc := HostConfig{Name: fmt.Sprintf("gpu-host-%d", h+1)}
		for g := range tc.GPUsPerHost {
			hc.GPUs = append(hc.GPUs, GPUConfig{ID: fmt.Sprintf("%s/gpu%d", hc.Name, g), Model: "a100",
				Profile: traceProfile, Slices: tc.SlicesPerGPU})
		}
		c.Hosts = append(c.Hosts, hc)
	}
	for _, t := range tc.Tenants {
		c.Tenants = append(c.Tenants, TenantConfig{Name: t.Name, Quota: t.QuotaGPUs * tc.SlicesPerGPU})
	}
	return c
}

const traceProfile = "a100-10c"

// traceJob is one job of a trace.
type traceJob struct {
	id     string
	tenant int
	arrive time.Duration
	req    Request // without ID
	units  int
	work   time.Duration
}

// genTrace draws the jobs. Each tenant has its own random stream, so changing
// one tenant's load leaves the others' jobs as they were.
//
// Jobs: 65% whole-GPU training jobs of 1 (50%), 2 (30%) or 4 (20%) GPUs
// running 20 min to 4 h; 35% inference or tenant jobs of 1 or 2 slices
// running 10 to 90 min; durations log-uniform.
func genTrace(tc TraceConfig) []traceJob {
	var jobs []traceJob
	for ti, t := range tc.Tenants {
		rng := rand.New(rand.NewPCG(tc.Seed, uint64(ti)+1))
		logUniform := func(lo, hi time.Duration) time.Duration {
			d := math.Exp(math.Log(float64(lo)) + rng.Float64()*(math.Log(float64(hi))-math.Log(float64(lo))))
			return time.Duration(d).Round(time.Second)
		}
		at, n := time.Duration(0), 0
		for {
			at += time.Duration(rng.ExpFloat64() * float64(t.MeanBurstGap))
			if at >= tc.Horizon {
				break
			}
			bt := at
			for range 1 + rng.IntN(t.MaxBurstJobs) {
				if bt >= tc.Horizon {
					break
				}
				n++
				j := traceJob{id: fmt.Sprintf("%s-%04d", t.Name, n), tenant: ti, arrive: bt.Round(time.Second)}
				if rng.Float64() < 0.65 {
					size := 1
					if u := rng.Float64(); u >= 0.8 {
						size = 4
					} else if u >= 0.5 {
						size = 2
					}
					j.req = Request{Tenant: t.Name, Kind: KindWhole, GPUs: min(size, tc.GPUsPerHost)}
					j.units = j.req.GPUs * tc.SlicesPerGPU
					j.work = logUniform(20*time.Minute, 4*time.Hour)
				} else {
					j.req = Request{Tenant: t.Name, Kind: KindSlice, Slices: min(1+rng.IntN(2), tc.SlicesPerGPU), Profile: traceProfile}
					j.units = j.req.Slices
					j.work = logUniform(10*time.Minute, 90*time.Minute)
				}
				jobs = append(jobs, j)
				bt += time.Duration(rng.ExpFloat64() * float64(2*time.Minute))
			}
		}
	}
	slices.SortStableFunc(jobs, func(a, b traceJob) int {
		return cmp.Or(cmp.Compare(a.arrive, b.arrive), cmp.Compare(a.tenant, b.tenant))
	})
	return jobs
}

// idealBusy is the work done within the horizon by the ideal work-conserving
// schedule: a fluid server of the pool's whole capacity that works whenever
// any work is waiting, ignoring placement. No real schedule finishes more
// work by any time, so the ratio to it is at most 1.
func idealBusy(jobs []traceJob, capacity int, horizon time.Duration) float64 {
	var backlog, total float64
	last := time.Duration(0)
	for _, j := range jobs {
		backlog = math.Max(0, backlog-float64(capacity)*(j.arrive-last).Seconds())
		w := float64(j.units) * j.work.Seconds()
		backlog += w
		total += w
		last = j.arrive
	}
	backlog = math.Max(0, backlog-float64(capacity)*(horizon-last).Seconds())
	return total - backlog
}

// RunTrace simulates tc's trace under the policy and under plain FIFO and
// measures both.
func RunTrace(tc TraceConfig) (TraceReport, error) {
	if tc.Horizon <= 0 || tc.Tick <= 0 || tc.Checkpoint < 0 || tc.SlicesPerGPU < 1 || tc.Hosts < 1 || tc.GPUsPerHost < 1 {
		return TraceReport{}, fmt.Errorf("%w: trace needs a positive horizon, tick, hosts, GPUs and slices", ErrInvalidConfig)
	}
	for _, t := range tc.Tenants {
		if t.MeanBurstGap <= 0 || t.MaxBurstJobs < 1 {
			return TraceReport{}, fmt.Errorf("%w: tenant %q needs a positive burst gap and burst size", ErrInvalidConfig, t.Name)
		}
	}
	cfg := tc.PoolConfig()
	pool, err := New(cfg)
	if err != nil {
		return TraceReport{}, err
	}
	topo, _ := newTopology(cfg.Hosts, cfg.UnitsPerGPU, cfg.Profiles, ErrInvalidConfig)
	jobs := genTrace(tc)
	var rep TraceReport
	if rep.Policy, err = simulate(tc, topo, jobs, &policySim{p: pool}); err != nil {
		return TraceReport{}, fmt.Errorf("policy: %w", err)
	}
	if rep.FIFO, err = simulate(tc, topo, jobs, newFIFO(topo)); err != nil {
		return TraceReport{}, fmt.Errorf("fifo: %w", err)
	}
	return rep, nil
}

// simScheduler is what the simulator drives.
type simScheduler interface {
	submit(now time.Time, r Request) ([]Action, error)
	release(now time.Time, id string) ([]Action, error)
	// tick is the workflow's timer: holders that are alive have heartbeaten.
	tick(now time.Time) ([]Action, error)
}

type policySim struct{ p *Pool }

func (s *policySim) submit(now time.Time, r Request) ([]Action, error) { return s.p.Submit(now, r) }
func (s *policySim) release(now time.Time, id string) ([]Action, error) {
	return s.p.Release(now, id)
}

func (s *policySim) tick(now time.Time) ([]Action, error) {
	for _, l := range s.p.st.Leases {
		if err := s.p.Heartbeat(now, l.ID); err != nil {
			return nil, err
		}
	}
	return s.p.Tick(now), nil
}

// fifo is the baseline: one queue in arrival order, the head waits until it
// fits, no quotas, no preemption. It packs exactly like the policy.
type fifo struct {
	topo  *topology
	used  []int
	held  map[string][]Placement
	queue []Request
}

func newFIFO(t *topology) *fifo {
	return &fifo{topo: t, used: make([]int, len(t.gpus)), held: map[string][]Placement{}}
}

func (f *fifo) submit(now time.Time, r Request) ([]Action, error) {
	f.queue = append(f.queue, r)
	return f.drain(), nil
}

func (f *fifo) release(now time.Time, id string) ([]Action, error) {
	pls, ok := f.held[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLease, id)
	}
	for _, pl := range pls {
		g := f.topo.byID[pl.GPU]
		if pl.Slices == 0 {
			f.used[g] = 0
		} else {
			f.used[g] -= pl.Slices
		}
	}
	delete(f.held, id)
	return f.drain(), nil
}

func (f *fifo) tick(time.Time) ([]Action, error) { return nil, nil }

func (f *fifo) drain() []Action {
	var acts []Action
	for len(f.queue) > 0 {
		r := &f.queue[0]
		pl := f.topo.fit(r,
			func(g int) bool { return f.used[g] == 0 },
			func(g int) int { return f.topo.gpus[g].slices - f.used[g] })
		if pl == nil {
			break
		}
		for _, p := range pl {
			g := f.topo.byID[p.GPU]
			if p.Slices == 0 {
				f.used[g] = f.topo.gpus[g].slices
			} else {
				f.used[g] += p.Slices
			}
		}
		f.held[r.ID] = pl
		acts = append(acts, Action{Kind: ActionGrant, Lease: r.ID, Tenant: r.Tenant, Placements: pl})
		f.queue = f.queue[1:]
	}
	return acts
}

type jobState int

const (
	jobPending jobState = iota // not arrived yet
	jobWaiting
	jobRunning
	jobCheckpointing // preempted, releasing at endAt
	jobDone
)

type simJob struct {
	*traceJob
	state   jobState
	attempt int
	lease   string
	placed  []Placement
	since   time.Time // waiting: queued at; running: progress counted from
	endAt   time.Time
	work    time.Duration // remaining
	waited  time.Duration
	viol    time.Duration
	counted bool
}

type sim struct {
	tc      TraceConfig
	topo    *topology
	sch     simScheduler
	jobs    []simJob
	byLease map[string]int
	waiting [][]int // per tenant, in (re)submit order
	active  []int   // running or checkpointing, by job index
	held    []int   // units per tenant
	quota   []int
	rep     SchedulerReport
	// accumulated
	useful, heldUS, jainSum, jainTime float64
	violLimit                         time.Duration
}

func simulate(tc TraceConfig, topo *topology, trace []traceJob, sch simScheduler) (SchedulerReport, error) {
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	end := base.Add(tc.Horizon)
	s := &sim{tc: tc, topo: topo, sch: sch, byLease: map[string]int{}, waiting: make([][]int, len(tc.Tenants)),
		held: make([]int, len(tc.Tenants)), violLimit: tc.PreemptGrace + tc.Tick}
	for _, t := range tc.Tenants {
		s.quota = append(s.quota, t.QuotaGPUs*tc.SlicesPerGPU)
	}
	s.jobs = make([]simJob, len(trace))
	for i := range trace {
		s.jobs[i] = simJob{traceJob: &trace[i], work: trace[i].work}
	}
	now, nextTick, next := base, base.Add(tc.Tick), 0
	for {
		t := end
		if next < len(s.jobs) {
			t = minTime(t, base.Add(s.jobs[next].arrive))
		}
		for _, j := range s.active {
			t = minTime(t, s.jobs[j].endAt)
		}
		t = minTime(t, nextTick)
		s.integrate(t.Sub(now))
		now = t
		if !now.Before(end) {
			break
		}
		for _, j := range slices.Clone(s.active) {
			if err := s.finish(now, j); err != nil {
				return s.rep, err
			}
		}
		for ; next < len(s.jobs) && !base.Add(s.jobs[next].arrive).After(now); next++ {
			if err := s.enqueue(now, next); err != nil {
				return s.rep, err
			}
		}
		if now.Equal(nextTick) {
			acts, err := sch.tick(now)
			if err != nil {
				return s.rep, err
			}
			if err := s.apply(now, acts); err != nil {
				return s.rep, err
			}
			nextTick = nextTick.Add(tc.Tick)
		}
	}

	var waits []float64
	for i := range s.jobs {
		j := &s.jobs[i]
		if j.state == jobPending {
			continue
		}
		if j.state == jobWaiting {
			j.waited += end.Sub(j.since)
		}
		waits = append(waits, j.waited.Seconds())
		if j.state == jobDone {
			s.rep.Completed++
		}
	}
	s.rep.Jobs = len(waits)
	slices.Sort(waits)
	if n := len(waits); n > 0 {
		var sum float64
		for _, w := range waits {
			sum += w
		}
		s.rep.WaitMeanS = sum / float64(n)
		s.rep.WaitP99S = waits[int(math.Ceil(0.99*float64(n)))-1]
	}
	ideal := idealBusy(trace, tc.Hosts*tc.GPUsPerHost*tc.SlicesPerGPU, tc.Horizon)
	perGPU := float64(tc.SlicesPerGPU) * 3600
	s.rep.BusyGPUHours, s.rep.IdealGPUHours, s.rep.HeldGPUHours = s.useful/perGPU, ideal/perGPU, s.heldUS/perGPU
	if ideal > 0 {
		s.rep.UtilizationOfIdeal = s.useful / ideal
	}
	s.rep.Jain = 1
	if s.jainTime > 0 {
		s.rep.Jain = s.jainSum / s.jainTime
	}
	return s.rep, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// integrate accounts the state held over the last dt.
func (s *sim) integrate(dt time.Duration) {
	if dt <= 0 {
		return
	}
	sec := dt.Seconds()
	for _, j := range s.active {
		s.heldUS += float64(s.jobs[j].units) * sec
		if s.jobs[j].state == jobRunning {
			s.useful += float64(s.jobs[j].units) * sec
		}
	}
	var xs []float64
	for t, w := range s.waiting {
		if len(w) > 0 {
			xs = append(xs, float64(s.held[t])/float64(max(s.quota[t], 1)))
		}
	}
	if len(xs) >= 2 {
		s.jainSum += jain(xs) * sec
		s.jainTime += sec
	}
	for y, w := range s.waiting {
		otherOver := false
		for x := range s.held {
			otherOver = otherOver || x != y && s.held[x] > s.quota[x]
		}
		if !otherOver {
			continue
		}
		// The tenant's waiting requests in order, while they fit its quota.
		cum := s.held[y]
		for _, ji := range w {
			j := &s.jobs[ji]
			if cum += j.units; cum > s.quota[y] {
				break
			}
			if !s.reclaimFits(j) {
				continue
			}
			j.viol += dt
			if j.viol > s.violLimit && !j.counted {
				j.counted = true
				s.rep.QuotaViolations++
			}
		}
	}
}

// reclaimFits reports whether j would fit if every other tenant gave back
// what it holds beyond its quota: free capacity plus leases each of which its
// tenant could lose and still hold its quota. Requests that only placement
// blocks (their GPUs held by in-quota leases) are not quota violations; no
// scheduler could start them without migrating running jobs.
func (s *sim) reclaimFits(j *simJob) bool {
	used := make([]int, len(s.topo.gpus))
	for _, ai := range s.active {
		a := &s.jobs[ai]
		if a.tenant != j.tenant && a.units <= s.held[a.tenant]-s.quota[a.tenant] {
			continue
		}
		for _, pl := range a.placed {
			g := s.topo.byID[pl.GPU]
			if pl.Slices == 0 {
				used[g] = s.topo.gpus[g].slices
			} else {
				used[g] += pl.Slices
			}
		}
	}
	r := j.req
	return s.topo.fit(&r,
		func(g int) bool { return used[g] == 0 },
		func(g int) int { return s.topo.gpus[g].slices - used[g] }) != nil
}

// jain is Jain's fairness index of xs; 1 when all are equal (also all zero).
func jain(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(xs)) * sq)
}

// finish ends the job's run if it is due: done, or released after a
// checkpoint and queued again.
func (s *sim) finish(now time.Time, ji int) error {
	j := &s.jobs[ji]
	if now.Before(j.endAt) {
		return nil
	}
	s.drop(ji)
	acts, err := s.sch.release(now, j.lease)
	if err != nil {
		return err
	}
	if err := s.apply(now, acts); err != nil {
		return err
	}
	if j.state == jobRunning {
		j.state, j.work = jobDone, 0
		return nil
	}
	return s.requeue(now, ji)
}

func (s *sim) drop(ji int) {
	j := &s.jobs[ji]
	s.held[j.tenant] -= j.units
	s.active = slices.DeleteFunc(s.active, func(a int) bool { return a == ji })
	delete(s.byLease, j.lease)
}

func (s *sim) enqueue(now time.Time, ji int) error {
	j := &s.jobs[ji]
	j.lease = j.id
	if j.attempt > 0 {
		j.lease = fmt.Sprintf("%s.%d", j.id, j.attempt)
	}
	j.state, j.since = jobWaiting, now
	s.byLease[j.lease] = ji
	s.waiting[j.tenant] = append(s.waiting[j.tenant], ji)
	r := j.req
	r.ID = j.lease
	acts, err := s.sch.submit(now, r)
	if err != nil {
		return err
	}
	return s.apply(now, acts)
}

func (s *sim) requeue(now time.Time, ji int) error {
	s.jobs[ji].attempt++
	return s.enqueue(now, ji)
}

// apply carries out a scheduler's actions as the holders would.
func (s *sim) apply(now time.Time, acts []Action) error {
	for _, a := range acts {
		ji, ok := s.byLease[a.Lease]
		if !ok {
			return fmt.Errorf("action %s for unknown lease %q", a.Kind, a.Lease)
		}
		j := &s.jobs[ji]
		switch a.Kind {
		case ActionGrant:
			if j.state != jobWaiting {
				return fmt.Errorf("grant of %q in state %d", a.Lease, j.state)
			}
			j.waited += now.Sub(j.since)
			s.waiting[j.tenant] = slices.DeleteFunc(s.waiting[j.tenant], func(w int) bool { return w == ji })
			j.state, j.since, j.endAt, j.placed = jobRunning, now, now.Add(j.work), a.Placements
			s.held[j.tenant] += j.units
			s.active = append(s.active, ji)
			slices.Sort(s.active)
		case ActionPreemptRequested:
			if j.state != jobRunning {
				return fmt.Errorf("preemption of %q in state %d", a.Lease, j.state)
			}
			s.rep.Preemptions++
			// The checkpoint keeps the progress made so far.
			j.work -= now.Sub(j.since)
			j.state, j.endAt = jobCheckpointing, now.Add(s.tc.Checkpoint)
		case ActionRevoked, ActionExpired:
			s.rep.Revocations++
			if j.state == jobRunning {
				j.work -= now.Sub(j.since)
			}
			s.drop(ji)
			if err := s.requeue(now, ji); err != nil {
				return err
			}
		}
	}
	return nil
}
