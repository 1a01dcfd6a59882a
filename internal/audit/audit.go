// Package audit is the platform's append-only audit log, in the shared metadata
// database: every grant, revoke, approval and failed authorization, queryable
// by tenant. Each entry carries the hash of the one before it, so an edited or
// deleted entry breaks the chain and Verify finds it.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/dure-platform/dure/internal/metadb"
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
	ActionS3KeyRead   = "s3-key-read"
	ActionS3KeyRotate = "s3-key-rotated"
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

// Field limits: an entry names things by id, so anything longer is cut, and
// no caller (an anonymous request among them) can grow the log by much.
const (
	maxNameBytes   = 256
	maxDetailBytes = 1024
)

// Log appends events to the audit_events table of the shared metadata
// database. Appends from every service on every host form one chain.
//
// Each entry's hash is an HMAC under a key that is not in the database, so
// someone who can write the database cannot rewrite an entry and recompute
// the chain after it; Anchors, kept outside the database, catch a chain cut
// short.
type Log struct {
	db  *metadb.DB
	key []byte
	now func() time.Time
}

// New returns the log kept in db, whose entries are keyed with key.
func New(db *metadb.DB, key []byte) *Log {
	return &Log{db: db, key: key, now: time.Now}
}

// Append records an event; Seq, Time and the hashes are filled in here. The
// chain's tail is read and extended under a lock, so concurrent appends from
// several services never fork it.
func (l *Log) Append(ctx context.Context, e Event) error {
	e.Action = clip(e.Action, maxNameBytes)
	e.Tenant = clip(e.Tenant, maxNameBytes)
	e.Actor = clip(e.Actor, maxNameBytes)
	e.Subject = clip(e.Subject, maxNameBytes)
	e.Detail = clip(e.Detail, maxDetailBytes)
	err := l.db.InTx(ctx, func(tx *metadb.Tx) error {
		if err := tx.Lock(ctx, "audit"); err != nil {
			return err
		}
		var (
			seq  int64
			last string
		)
		err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&seq, &last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read audit tail: %w", err)
		}
		e.Seq, e.PrevHash = seq+1, last
		// Stored times are exact to the microsecond: hash what is stored.
		e.Time = l.now().UTC().Truncate(time.Microsecond)
		e.Hash = l.hashOf(e)
		_, err = tx.Exec(ctx, `INSERT INTO audit_events (seq, at, action, tenant, actor, subject, detail, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq, metadb.Micros(e.Time), e.Action, e.Tenant, e.Actor, e.Subject, e.Detail, e.PrevHash, e.Hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// clip cuts s to at most n bytes on a UTF-8 boundary, saying so.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "...(cut)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

const eventColumns = "seq, at, action, tenant, actor, subject, detail, prev_hash, hash"

// Query returns the events of one tenant (every event when tenant is empty),
// oldest first.
func (l *Log) Query(ctx context.Context, tenant string) ([]Event, error) {
	q, args := "SELECT "+eventColumns+" FROM audit_events ORDER BY seq", []any{}
	if tenant != "" {
		q, args = "SELECT "+eventColumns+" FROM audit_events WHERE tenant = ? ORDER BY seq", []any{tenant}
	}
	return l.read(ctx, q, args...)
}

// Verify re-reads the whole log and checks the keyed hash chain, and that
// the chain still holds every anchor taken of its head.
func (l *Log) Verify(ctx context.Context, anchors ...Anchor) error {
	events, err := l.read(ctx, "SELECT "+eventColumns+" FROM audit_events ORDER BY seq")
	if err != nil {
		return err
	}
	if err := l.verify(events); err != nil {
		return err
	}
	for _, a := range anchors {
		if a.Seq < 1 {
			continue
		}
		if a.Seq > int64(len(events)) {
			return fmt.Errorf("%w: the log ends at entry %d, but entry %d was anchored", ErrTampered, len(events), a.Seq)
		}
		if events[a.Seq-1].Hash != a.Hash {
			return fmt.Errorf("%w: entry %d differs from its anchor", ErrTampered, a.Seq)
		}
	}
	return nil
}

// Anchor is the head of the chain at some moment, kept outside the
// database: a later chain must still hold it.
type Anchor struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	At   time.Time `json:"at"`
}

// Head returns the chain's last entry as an anchor (Seq 0 for an empty log).
func (l *Log) Head(ctx context.Context) (Anchor, error) {
	a := Anchor{At: l.now().UTC()}
	err := l.db.QueryRow(ctx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&a.Seq, &a.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Anchor{}, fmt.Errorf("read audit head: %w", err)
	}
	return a, nil
}

func (l *Log) read(ctx context.Context, q string, args ...any) ([]Event, error) {
	rows, err := l.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var (
			e  Event
			at int64
		)
		if err := rows.Scan(&e.Seq, &at, &e.Action, &e.Tenant, &e.Actor, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.Time = metadb.FromMicros(at)
		events = append(events, e)
	}
	return events, rows.Err()
}

// ErrTampered means the chain does not hold.
var ErrTampered = errors.New("audit chain broken")

func (l *Log) verify(events []Event) error {
	prev := ""
	for i, e := range events {
		if e.Seq != int64(i+1) || e.PrevHash != prev || !hmac.Equal([]byte(e.Hash), []byte(l.hashOf(e))) {
			return fmt.Errorf("%w at entry %d", ErrTampered, i+1)
		}
		prev = e.Hash
	}
	return nil
}

func (l *Log) hashOf(e Event) string {
	e.Hash = ""
	raw, _ := json.Marshal(e)
	m := hmac.New(sha256.New, l.key)
	m.Write(raw)
	return hex.EncodeToString(m.Sum(nil))
}
