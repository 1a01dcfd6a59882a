// Package audit is the platform's append-only audit log: every grant, revoke,
// approval and failed authorization, queryable by tenant. Each entry carries the
// hash of the one before it, so an edited or deleted line breaks the chain and
// Verify finds it.
package audit

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Actions recorded.
const (
	ActionGrant       = "grant"
	ActionRevoke      = "revoke"
	ActionApprove     = "approve"
	ActionReject      = "reject"
	ActionDenied      = "denied"
	ActionTenantAdded = "tenant-added"
	ActionTenantGone  = "tenant-removed"
)

// Event is one audit entry. It names actors, tokens and objects by id only.
type Event struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Action   string    `json:"action"`
	Tenant   string    `json:"tenant,omitempty"`
	Actor    string    `json:"actor"`
	Subject  string    `json:"subject,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// Log appends events to a JSON-lines file.
type Log struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
	seq  int64
	last string
}

// Open opens (or creates) the log at path and checks its chain.
func Open(path string) (*Log, error) {
	l := &Log{path: path, now: time.Now}
	events, err := l.read()
	if err != nil {
		return nil, err
	}
	if err := verify(events); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	if n := len(events); n > 0 {
		l.seq, l.last = events[n-1].Seq, events[n-1].Hash
	}
	return l, nil
}

// Append records an event; Seq, Time and the hashes are filled in here.
func (l *Log) Append(e Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Seq = l.seq + 1
	e.Time = l.now().UTC()
	e.PrevHash = l.last
	e.Hash = hashOf(e)
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("audit dir: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("append audit event: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync audit log: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	l.seq, l.last = e.Seq, e.Hash
	return nil
}

// Query returns the events of one tenant (every event when tenant is empty).
func (l *Log) Query(tenant string) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	events, err := l.read()
	if err != nil {
		return nil, err
	}
	if tenant == "" {
		return events, nil
	}
	var out []Event
	for _, e := range events {
		if e.Tenant == tenant {
			out = append(out, e)
		}
	}
	return out, nil
}

// Verify re-reads the file and checks the hash chain.
func (l *Log) Verify() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	events, err := l.read()
	if err != nil {
		return err
	}
	return verify(events)
}

func (l *Log) read() ([]Event, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	var events []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", line, err)
		}
		events = append(events, e)
	}
	return events, sc.Err()
}

// ErrTampered means the chain does not hold.
var ErrTampered = errors.New("audit chain broken")

func verify(events []Event) error {
	prev := ""
	for i, e := range events {
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != hashOf(e) {
			return fmt.Errorf("%w at entry %d", ErrTampered, i+1)
		}
		prev = e.Hash
	}
	return nil
}

func hashOf(e Event) string {
	e.Hash = ""
	raw, _ := json.Marshal(e)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
