package gateway

import "time"

// order returns the replica indexes to try for one request, appended to
// buf: round-robin from the next cursor position, with ejected replicas
// moved to the end rather than dropped, so a request fails only when every
// replica has been tried.
func (g *Gateway) order(buf []int) []int {
	n := uint64(len(g.replicas))
	start := g.next.Add(1) - 1
	now := time.Now().UnixNano()
	var ejectedBuf [8]int
	ejected := ejectedBuf[:0]
	for i := range n {
		idx := int((start + i) % n)
		if g.replicas[idx].ejectedUntil.Load() > now {
			ejected = append(ejected, idx)
		} else {
			buf = append(buf, idx)
		}
	}
	return append(buf, ejected...)
}

// eject moves the replica to the back of the try order for d. It reports
// whether the replica was healthy until now, so that callers log a failing
// replica once per ejection rather than once per request.
func (r *replica) eject(d time.Duration) bool {
	now := time.Now().UnixNano()
	return r.ejectedUntil.Swap(now+int64(d)) <= now
}

// markHealthy ends an ejection after a successful answer.
func (r *replica) markHealthy() {
	// Load first: the common case needs no write to the shared cache line.
	if r.ejectedUntil.Load() != 0 {
		r.ejectedUntil.Store(0)
	}
}
