package tenantapi

import (
	"sync"
	"time"
)

// maxLimitedTenants bounds the limiter's memory: past it, a new window
// starts for everyone.
const maxLimitedTenants = 4096

// refusalLimiter admits one event per key and window and counts the rest.
type refusalLimiter struct {
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*refusalWindow
}

type refusalWindow struct {
	started    time.Time
	suppressed int
}

func newRefusalLimiter(window time.Duration, now func() time.Time) *refusalLimiter {
	return &refusalLimiter{window: window, now: now, keys: map[string]*refusalWindow{}}
}

// admit reports whether an event for key may pass now and, when it may, how
// many were held back since the last one that passed.
func (l *refusalLimiter) admit(key string) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w, seen := l.keys[key]
	if seen && now.Sub(w.started) < l.window {
		w.suppressed++
		return 0, false
	}
	if !seen && len(l.keys) >= maxLimitedTenants {
		clear(l.keys)
	}
	if seen {
		suppressed = w.suppressed
	}
	l.keys[key] = &refusalWindow{started: now}
	return suppressed, true
}
