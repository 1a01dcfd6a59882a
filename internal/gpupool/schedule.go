package gpupool

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// gpuOcc is one GPU during a scheduling pass.
type gpuOcc struct {
	used   int   // slices held; all of them for a whole lease
	leases []int // indices into State.Leases
	// resWhole keeps the GPU for a waiting whole-GPU request, so it empties
	// as its leases end; resSlices keeps free slices for a slice request.
	resWhole  bool
	resSlices int
	// hard marks reservations whose request completes once leases already
	// asked to leave are gone. Soft ones, still waiting for leases that may
	// not be preempted, lend their idle capacity as backfill.
	hardWhole  bool
	hardSlices int
}

// pass is one scheduling pass. Reservations live only for the pass; a
// request's Target carries its choice to the next one.
type pass struct {
	p   *Pool
	now time.Time
	occ []gpuOcc
	// Per tenant: units held, units held within quota (not borrowed), units
	// already asked to leave, and units claimed by waiting in-quota requests
	// seen so far in this pass.
	used, guar, leaving, claim []int
	acts                       []Action
}

func (p *Pool) newPass(now time.Time) *pass {
	n := len(p.st.Config.Tenants)
	s := &pass{p: p, now: now, occ: make([]gpuOcc, len(p.topo.gpus)),
		used: make([]int, n), guar: make([]int, n), leaving: make([]int, n), claim: make([]int, n)}
	for i := range p.st.Leases {
		s.occupy(i)
	}
	return s
}

func (s *pass) occupy(li int) {
	l := &s.p.st.Leases[li]
	for _, pl := range l.Placements {
		g := s.p.topo.byID[pl.GPU]
		s.occ[g].used += s.p.slicesOn(pl, g)
		s.occ[g].leases = append(s.occ[g].leases, li)
	}
	t := s.p.tenantIdx[l.Tenant]
	s.used[t] += l.Units
	if !l.Borrowed {
		s.guar[t] += l.Units
	}
	if l.preempting() {
		s.leaving[t] += l.Units
	}
}

// excess is what a tenant holds beyond its quota, not counting leases
// already leaving: the most that may still be reclaimed from it.
func (s *pass) excess(t int) int { return s.used[t] - s.leaving[t] - s.quota(t) }

func (s *pass) preempt(li int, reason string) {
	l := &s.p.st.Leases[li]
	s.acts = append(s.acts, s.p.preempt(s.now, l, reason))
	s.leaving[s.p.tenantIdx[l.Tenant]] += l.Units
}

// slicesOn is how many of GPU g's slices a placement holds.
func (p *Pool) slicesOn(pl Placement, g int) int {
	if pl.Slices == 0 {
		return p.topo.gpus[g].slices
	}
	return pl.Slices
}

func (s *pass) quota(t int) int { return s.p.st.Config.Tenants[t].Quota }

// schedule runs one pass over the queue and returns its decisions.
//
// Phase 1 serves in-quota (entitled) requests oldest first: each takes free
// capacity, or reserves a target and reclaims borrowed leases there. Serving
// them by age, and keeping each one's target, is what bounds their wait:
// nothing lands on the oldest one's target that it may not preempt, so the
// target only empties.
//
// Phase 2 lends what is left to the other requests in weighted fair-share
// order. Each tenant's first request that does not fit reserves capacity, so
// large borrowing jobs are not starved by a stream of small ones. Requests that
// still do not fit may backfill idle capacity of reservations that are
// waiting anyway; such leases are preempted when the reservation is ready.
func (p *Pool) schedule(now time.Time) []Action {
	s := p.newPass(now)
	s.demote()
	granted := make([]bool, len(p.st.Queue))
	for i := range p.st.Queue {
		q := &p.st.Queue[i]
		t := p.tenantIdx[q.Request.Tenant]
		// Everything the tenant holds counts, borrowed or not: a tenant that
		// already holds its quota is owed nothing more, and preempting its
		// own borrowed job to start its next one would be pure churn.
		q.Entitled = s.used[t]+s.claim[t]+q.Units <= s.quota(t)
		if !q.Entitled {
			continue
		}
		if pl := s.fitFree(&q.Request); pl != nil {
			s.grant(q, pl, false, false)
			granted[i] = true
			continue
		}
		s.claim[t] += q.Units
		s.reserve(q, true)
	}

	waiting := make([][]int, len(p.st.Config.Tenants))
	for i := range p.st.Queue {
		q := &p.st.Queue[i]
		if granted[i] || q.Entitled {
			continue
		}
		// A tenant with an in-quota request waiting does not borrow: the
		// borrowed lease would count against its quota and push the waiting
		// request out of it.
		if t := p.tenantIdx[q.Request.Tenant]; s.claim[t] == 0 {
			waiting[t] = append(waiting[t], i)
		} else {
			q.Reason, q.Target = ReasonBehindOwnRequest, ""
		}
	}
	// One reservation per tenant: enough for each tenant's large job to
	// make progress, few enough that backfill keeps the idle part busy.
	reserved := make([]bool, len(waiting))
	for {
		t := s.fairest(waiting)
		if t < 0 {
			break
		}
		i := waiting[t][0]
		waiting[t] = waiting[t][1:]
		q := &p.st.Queue[i]
		if pl := s.fitFree(&q.Request); pl != nil {
			s.grant(q, pl, true, false)
			granted[i] = true
			continue
		}
		tried := !reserved[t]
		if tried && s.reserve(q, false) {
			reserved[t] = true
			continue
		}
		if pl := s.fitBackfill(&q.Request); pl != nil {
			s.grant(q, pl, true, true)
			granted[i] = true
			continue
		}
		if !tried { // reserve has set the reason otherwise
			q.Reason, q.Target = ReasonNoIdleCapacity, ""
		}
	}

	kept := p.st.Queue[:0]
	for i, q := range p.st.Queue {
		if !granted[i] {
			kept = append(kept, q)
		}
	}
	clear(p.st.Queue[len(kept):])
	p.st.Queue = kept
	s.promote()
	return s.acts
}

// fairest picks the tenant with the lowest usage per weight among those with
// waiting requests; ties go to the older request. Tenants of weight 0 come
// last: they only get what nobody else wants.
func (s *pass) fairest(waiting [][]int) int {
	best := -1
	for t, w := range waiting {
		if len(w) == 0 {
			continue
		}
		if best < 0 || s.fairer(t, best, w[0], waiting[best][0]) {
			best = t
		}
	}
	return best
}

func (s *pass) fairer(a, b, qa, qb int) bool {
	wa, wb := s.p.st.Config.Tenants[a].weight(), s.p.st.Config.Tenants[b].weight()
	if (wa == 0) != (wb == 0) {
		return wb == 0
	}
	if wa == 0 {
		wa, wb = 1, 1
	}
	// Cross-multiplied so the comparison is exact integer arithmetic.
	ua, ub := int64(s.used[a])*int64(wb), int64(s.used[b])*int64(wa)
	if ua != ub {
		return ua < ub
	}
	return qa < qb
}

// demote keeps in-quota holdings within quota after a quota cut by marking
// the tenant's youngest leases borrowed; they lose least if preempted.
func (s *pass) demote() {
	for t, tc := range s.p.st.Config.Tenants {
		for _, preempting := range []bool{false, true} {
			for i := len(s.p.st.Leases) - 1; i >= 0 && s.guar[t] > tc.Quota; i-- {
				l := &s.p.st.Leases[i]
				if l.Tenant == tc.Name && !l.Borrowed && l.preempting() == preempting {
					l.Borrowed = true
					s.guar[t] -= l.Units
				}
			}
		}
	}
}

// promote turns borrowed leases into in-quota ones, oldest first, once the
// tenant's in-quota holdings and waiting in-quota requests leave room, so a
// lease is not preempted for capacity its own tenant is owed. Leases already
// asked to leave stay borrowed: the request cannot be taken back. Backfill
// stays borrowed too, or the reservation it sits on could stall.
func (s *pass) promote() {
	for i := range s.p.st.Leases {
		l := &s.p.st.Leases[i]
		if !l.Borrowed || l.preempting() || l.Backfill {
			continue
		}
		t := s.p.tenantIdx[l.Tenant]
		if s.guar[t]+s.claim[t]+l.Units <= s.quota(t) {
			l.Borrowed = false
			s.guar[t] += l.Units
		}
	}
}

func (s *pass) grant(q *Pending, pl []Placement, borrowed, backfill bool) {
	p := s.p
	p.st.Leases = append(p.st.Leases, Lease{
		ID: q.Request.ID, Tenant: q.Request.Tenant, Kind: q.Request.Kind, Units: q.Units,
		Placements: pl, Borrowed: borrowed, Backfill: backfill, Seq: p.nextSeq(),
		GrantedAt: s.now, ExpiresAt: s.now.Add(p.st.Config.LeaseTTL),
	})
	s.occupy(len(p.st.Leases) - 1)
	s.acts = append(s.acts, Action{Kind: ActionGrant, Lease: q.Request.ID, Tenant: q.Request.Tenant,
		Placements: slices.Clone(pl), Borrowed: borrowed, Backfill: backfill})
}

// fitFree places r on free capacity that no earlier request reserved.
func (s *pass) fitFree(r *Request) []Placement {
	return s.p.topo.fit(r,
		func(g int) bool {
			o := &s.occ[g]
			return s.p.usable(g) && o.used == 0 && !o.resWhole && o.resSlices == 0
		},
		func(g int) int {
			o := &s.occ[g]
			if !s.p.usable(g) || o.resWhole {
				return 0
			}
			return s.p.topo.gpus[g].slices - o.used - o.resSlices
		})
}

// fitBackfill places r on free capacity, soft reservations included.
func (s *pass) fitBackfill(r *Request) []Placement {
	return s.p.topo.fit(r,
		func(g int) bool {
			o := &s.occ[g]
			return s.p.usable(g) && o.used == 0 && !o.hardWhole && o.hardSlices == 0
		},
		func(g int) int {
			o := &s.occ[g]
			if !s.p.usable(g) || o.hardWhole {
				return 0
			}
			return s.p.topo.gpus[g].slices - o.used - o.hardSlices
		})
}

// plan is one way to make room for a waiting request.
type plan struct {
	key  string
	gpus []int // GPUs to keep (whole) or the one GPU (slice)
	keep int   // slice: free slices to keep
	// short is how many GPUs or slices stay held by leases this request may
	// not preempt; 0 means the plan completes once victims leave.
	short   int
	victims []int // lease indices
	cost    int   // units preempted
	// oldest is the smallest Seq among victims: plans that preempt younger
	// leases, which lose less work, win ties.
	oldest uint64
}

// reserve keeps capacity for a request that did not fit. When preempting
// what it may preempt is enough to make it fit, it does so; an entitled
// request may preempt any borrowed lease, any request may preempt backfill
// on its target. It reports whether anything could be reserved.
func (s *pass) reserve(q *Pending, entitled bool) bool {
	plans := s.plans(&q.Request, entitled)
	if len(plans) == 0 {
		q.Target = ""
		switch {
		case !s.p.topo.couldHold(&q.Request, s.p.live):
			q.Reason = ReasonWaitingForHosts
		case s.allDrained(&q.Request):
			q.Reason = ReasonDrained
		default:
			q.Reason = ReasonBehindReservations
		}
		return false
	}
	best := &plans[0]
	for i := range plans[1:] {
		c := &plans[i+1]
		if cmp.Or(cmp.Compare(c.short, best.short), cmp.Compare(c.cost, best.cost), cmp.Compare(best.oldest, c.oldest)) < 0 {
			best = c
		}
	}
	chosen := best
	// Stay with the previous target unless another one can be completed now
	// and the previous cannot: switching only ever shortens the wait.
	if i := slices.IndexFunc(plans, func(c plan) bool { return c.key == q.Target }); i >= 0 {
		if sticky := &plans[i]; !(best.short == 0 && sticky.short > 0) {
			chosen = sticky
		}
	}
	hard := chosen.short == 0
	if q.Request.Kind == KindWhole {
		for _, g := range chosen.gpus {
			s.occ[g].resWhole = true
			s.occ[g].hardWhole = hard
		}
	} else {
		o := &s.occ[chosen.gpus[0]]
		o.resSlices += chosen.keep
		if hard {
			o.hardSlices += chosen.keep
		}
	}
	q.Target = chosen.key
	switch {
	case !entitled:
		q.Reason = ReasonBorrowReserved
	case !hard:
		q.Reason = ReasonInQuotaHeld
	default:
		q.Reason = ReasonReclaiming
	}
	if hard {
		reason := fmt.Sprintf("reserved for %s's request %s", q.Request.Tenant, q.Request.ID)
		if entitled {
			reason = fmt.Sprintf("reclaimed for %s's in-quota request %s", q.Request.Tenant, q.Request.ID)
		}
		for _, li := range chosen.victims {
			if !s.p.st.Leases[li].preempting() {
				s.preempt(li, reason)
			}
		}
	}
	return true
}

// reclaimRank says whether a request may preempt l to make room. Backfill
// yields to any reservation it sits on. An in-quota request may take back
// borrowed leases, and also other leases of a tenant that holds more than its
// quota, as long as that tenant keeps its quota: the Borrowed mark says how
// much a tenant borrows, not where, and taking the lease that is in the way
// beats waiting for one that is not.
func (s *pass) reclaimRank(l *Lease, entitled bool) int {
	switch {
	case l.Backfill || entitled && l.Borrowed:
		return rankReclaim
	case entitled && l.Units <= s.excess(s.p.tenantIdx[l.Tenant]):
		return rankExcess
	default:
		return rankHeld
	}
}

// budget tracks, within one plan, the units taken from each tenant's excess.
type budget struct{ spent []int }

// take charges the leases' units to their tenants' excess if all fit.
func (b *budget) take(s *pass, ls []int) bool {
	if b.spent == nil {
		b.spent = make([]int, len(s.used))
	}
	need := make([]int, len(b.spent))
	for _, li := range ls {
		if l := &s.p.st.Leases[li]; !l.Backfill && !l.Borrowed {
			need[s.p.tenantIdx[l.Tenant]] += l.Units
		}
	}
	for t, n := range need {
		if n > 0 && b.spent[t]+n > s.excess(t) {
			return false
		}
	}
	for t, n := range need {
		b.spent[t] += n
	}
	return true
}

// allDrained reports whether every GPU of a live host that r could use is
// drained.
func (s *pass) allDrained(r *Request) bool {
	for g, gi := range s.p.topo.gpus {
		if s.p.topo.matches(r, gi) && s.p.live(g) && !s.p.drained[g] {
			return false
		}
	}
	return true
}

// live reports whether GPU g's host is not lost.
func (p *Pool) live(g int) bool { return !p.lost[p.topo.gpus[g].hostIdx] }

// couldHold reports whether the GPUs that admit lets in could hold r if they
// were all free.
func (t *topology) couldHold(r *Request, admit func(g int) bool) bool {
	perHost := make([]int, len(t.hosts))
	total := 0
	for g, gi := range t.gpus {
		if !admit(g) || !t.matches(r, gi) {
			continue
		}
		if r.Kind == KindSlice {
			return true // units() made sure the profile has enough slices
		}
		perHost[gi.hostIdx]++
		total++
	}
	if r.Kind == KindSlice {
		return false
	}
	if r.MultiHost {
		return total >= r.GPUs
	}
	return slices.ContainsFunc(perHost, func(n int) bool { return n >= r.GPUs })
}

// plans lists the candidate targets for r in inventory order: each host (or
// "*" for a multi-host request) for whole GPUs, each GPU for slices.
func (s *pass) plans(r *Request, entitled bool) []plan {
	var out []plan
	if r.Kind == KindSlice {
		for g := range s.p.topo.gpus {
			if pl, ok := s.slicePlan(r, g, entitled); ok {
				out = append(out, pl)
			}
		}
		return out
	}
	if r.MultiHost {
		all := make([]int, len(s.p.topo.gpus))
		for g := range all {
			all[g] = g
		}
		if pl, ok := s.wholePlan(r, "*", all, entitled); ok {
			out = append(out, pl)
		}
		return out
	}
	for h, gs := range s.p.topo.hostGPUs {
		if pl, ok := s.wholePlan(r, s.p.topo.hosts[h], gs, entitled); ok {
			out = append(out, pl)
		}
	}
	return out
}

// Ranks of a GPU for a whole-GPU plan, best first.
const (
	rankFree    = iota // no leases
	rankFreeing        // every lease on it is already leaving
	rankReclaim        // the rest are borrowed (or backfill) and may be preempted
	rankExcess         // the rest may be preempted from tenants' excess
	rankHeld           // held by a lease that may not be preempted
)

func (s *pass) wholePlan(r *Request, key string, gs []int, entitled bool) (plan, bool) {
	type cand struct {
		g, rank, cost int
		young         uint64 // the youngest victim's Seq
	}
	var cs []cand
	for _, g := range gs {
		o := &s.occ[g]
		if !s.p.topo.matches(r, s.p.topo.gpus[g]) || !s.p.usable(g) || o.resWhole || o.resSlices > 0 {
			continue
		}
		c := cand{g: g}
		if o.used > 0 {
			c.rank = rankFreeing
			for _, li := range o.leases {
				l := &s.p.st.Leases[li]
				if l.preempting() {
					continue
				}
				c.rank = max(c.rank, s.reclaimRank(l, entitled))
				c.cost += l.Units
				c.young = max(c.young, l.Seq)
			}
		}
		cs = append(cs, c)
	}
	if len(cs) < r.GPUs {
		return plan{}, false
	}
	slices.SortFunc(cs, func(a, b cand) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.cost, b.cost), cmp.Compare(b.young, a.young), cmp.Compare(a.g, b.g))
	})
	pl := plan{key: key, oldest: math.MaxUint64}
	var b budget
	for _, c := range cs[:r.GPUs] {
		pl.gpus = append(pl.gpus, c.g)
		if c.rank < rankReclaim {
			continue
		}
		var vs []int
		for _, li := range s.occ[c.g].leases {
			if !s.p.st.Leases[li].preempting() && !slices.Contains(pl.victims, li) {
				vs = append(vs, li)
			}
		}
		if c.rank == rankHeld || !b.take(s, vs) {
			pl.short++
			continue
		}
		for _, li := range vs {
			pl.victims = append(pl.victims, li)
			pl.cost += s.p.st.Leases[li].Units
			pl.oldest = min(pl.oldest, s.p.st.Leases[li].Seq)
		}
	}
	return pl, true
}

func (s *pass) slicePlan(r *Request, g int, entitled bool) (plan, bool) {
	gi, o := s.p.topo.gpus[g], &s.occ[g]
	if !s.p.topo.matches(r, gi) || !s.p.usable(g) || o.resWhole || gi.slices-o.resSlices < r.Slices {
		return plan{}, false
	}
	avail := gi.slices - o.used - o.resSlices
	need := r.Slices - avail
	var reclaim []int
	rank := map[int]int{}
	for _, li := range o.leases {
		l := &s.p.st.Leases[li]
		if l.preempting() {
			need -= s.heldOn(l, g)
		} else if rk := s.reclaimRank(l, entitled); rk != rankHeld {
			reclaim = append(reclaim, li)
			rank[li] = rk
		}
	}
	// Borrowed before excess, then youngest first: they have done the least
	// work since their last checkpoint, and borrowed the most recently.
	slices.SortFunc(reclaim, func(a, b int) int {
		return cmp.Or(cmp.Compare(rank[a], rank[b]), cmp.Compare(s.p.st.Leases[b].Seq, s.p.st.Leases[a].Seq))
	})
	pl := plan{key: gi.id, gpus: []int{g}, keep: min(max(avail, 0), r.Slices), oldest: math.MaxUint64}
	var b budget
	for _, li := range reclaim {
		if need <= 0 {
			break
		}
		if !b.take(s, []int{li}) {
			continue
		}
		pl.victims = append(pl.victims, li)
		pl.cost += s.p.st.Leases[li].Units
		pl.oldest = min(pl.oldest, s.p.st.Leases[li].Seq)
		need -= s.heldOn(&s.p.st.Leases[li], g)
	}
	pl.short = max(need, 0)
	return pl, true
}

// heldOn is how many slices of GPU g lease l holds.
func (s *pass) heldOn(l *Lease, g int) int {
	n := 0
	for _, pl := range l.Placements {
		if s.p.topo.byID[pl.GPU] == g {
			n += s.p.slicesOn(pl, g)
		}
	}
	return n
}

// matches reports whether a GPU is of the kind r asks for, whatever its load.
func (t *topology) matches(r *Request, g gpuInfo) bool {
	if r.Model != "" && g.model != r.Model {
		return false
	}
	return r.Kind == KindWhole || g.profile == r.Profile
}

// fit places r on free capacity, or returns nil. wholeFree says whether a GPU
// is entirely free for a whole-GPU lease; sliceAvail how many of its slices
// are free. Both the policy and the FIFO baseline use it, so they differ only
// in what they decide, not in how they pack.
//
// It packs: whole GPUs go to the host with the fewest free GPUs that still
// fits (best fit), slices to the GPU with the fewest free slices that fits,
// so that whole hosts stay free for large training jobs.
func (t *topology) fit(r *Request, wholeFree func(g int) bool, sliceAvail func(g int) int) []Placement {
	hostFree := make([]int, len(t.hosts))
	for g, gi := range t.gpus {
		if wholeFree(g) && t.matches(r, gi) {
			hostFree[gi.hostIdx]++
		}
	}
	if r.Kind == KindSlice {
		best, bestLeft := -1, 0
		for g, gi := range t.gpus {
			if !t.matches(r, gi) {
				continue
			}
			left := sliceAvail(g) - r.Slices
			if left < 0 {
				continue
			}
			if best < 0 || left < bestLeft || left == bestLeft && hostFree[gi.hostIdx] < hostFree[t.gpus[best].hostIdx] {
				best, bestLeft = g, left
			}
		}
		if best < 0 {
			return nil
		}
		return []Placement{{Host: t.gpus[best].host, GPU: t.gpus[best].id, Slices: r.Slices}}
	}

	var free []int
	if r.MultiHost {
		for g, gi := range t.gpus {
			if wholeFree(g) && t.matches(r, gi) {
				free = append(free, g)
			}
		}
	} else {
		best := -1
		for h := range t.hosts {
			if hostFree[h] >= r.GPUs && (best < 0 || hostFree[h] < hostFree[best]) {
				best = h
			}
		}
		if best < 0 {
			return nil
		}
		for _, g := range t.hostGPUs[best] {
			if wholeFree(g) && t.matches(r, t.gpus[g]) {
				free = append(free, g)
			}
		}
	}
	if len(free) < r.GPUs {
		return nil
	}
	// Fuller hosts first, and passthrough-only GPUs before sliceable ones,
	// which slice requests can use too.
	slices.SortStableFunc(free, func(a, b int) int {
		ga, gb := t.gpus[a], t.gpus[b]
		return cmp.Or(cmp.Compare(hostFree[ga.hostIdx], hostFree[gb.hostIdx]),
			cmp.Compare(ga.hostIdx, gb.hostIdx),
			cmp.Compare(boolInt(ga.profile != ""), boolInt(gb.profile != "")))
	})
	pl := make([]Placement, r.GPUs)
	for i, g := range free[:r.GPUs] {
		pl[i] = Placement{Host: t.gpus[g].host, GPU: t.gpus[g].id}
	}
	return pl
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
