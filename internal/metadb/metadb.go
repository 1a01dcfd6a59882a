// Package metadb is the platform's shared metadata database: tenants, token
// hashes, sealed keys, the audit log and the model registry's pointers, seen
// alike by every service on every host. Production runs it on PostgreSQL; the
// embedded default (`dure dev`) on a SQLite file. Both take the same versioned
// migrations at start and the same queries, written in the SQL both accept
// with "?" placeholders, which Exec and Query rewrite for PostgreSQL.
package metadb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	sqlite "modernc.org/sqlite"
	sqlitelib "modernc.org/sqlite/lib"
)

// Dialect names the database engine.
type Dialect string

// The engines dure runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says which database to open.
type Config struct {
	// URL is "sqlite:PATH" (a file, created if absent) or a PostgreSQL URL,
	// "postgres://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=CA.pem".
	URL string
	// Password is PostgreSQL's, read by the caller from a file or the
	// environment; it is never part of URL, logs or errors.
	Password string
	// Schema, for PostgreSQL, is the schema dure's tables live in (created if
	// absent); empty uses the server's search_path.
	Schema string
}

// Redacted is URL without any password, fit for logs.
func (c Config) Redacted() string {
	u, err := url.Parse(c.URL)
	if err != nil || u.User == nil {
		return c.URL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Validate checks the configuration without connecting.
func (c Config) Validate() error {
	_, _, err := c.parse()
	return err
}

func (c Config) parse() (Dialect, string, error) {
	switch {
	case strings.HasPrefix(c.URL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(c.URL, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("metadata database: sqlite URL names no file")
		}
		return SQLite, path, nil
	case strings.HasPrefix(c.URL, "postgres://"), strings.HasPrefix(c.URL, "postgresql://"):
		u, err := url.Parse(c.URL)
		if err != nil {
			return "", "", errors.New("metadata database: malformed postgres URL")
		}
		if _, has := u.User.Password(); has {
			return "", "", errors.New("metadata database: put the password in a file or the environment, not in the URL")
		}
		if c.Schema != "" && !identifier(c.Schema) {
			return "", "", fmt.Errorf("metadata database: schema %q must be lowercase letters, digits and '_'", c.Schema)
		}
		return Postgres, c.URL, nil
	case c.URL == "":
		return "", "", errors.New("metadata database: no URL configured")
	default:
		return "", "", errors.New("metadata database: URL must start with sqlite: or postgres://")
	}
}

func identifier(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != "" && len(s) <= 63
}

// DB is an open metadata database with its migrations applied.
type DB struct {
	db      *sql.DB
	dialect Dialect
}

// Open connects, waits up to a minute for the server to answer (services may
// start before their database), and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	dialect, target, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	switch dialect {
	case SQLite:
		db, err = openSQLite(target)
	case Postgres:
		db, err = openPostgres(cfg, target)
	}
	if err != nil {
		return nil, err
	}
	d := &DB{db: db, dialect: dialect}
	if err := d.waitReady(ctx, time.Minute); err != nil {
		_ = db.Close()
		return nil, err
	}
	if dialect == Postgres && cfg.Schema != "" {
		// search_path names it on every connection; it must exist first.
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+cfg.Schema); err != nil && !isUniqueViolation(err) {
			_ = db.Close()
			return nil, fmt.Errorf("metadata database: create schema: %w", err)
		}
	}
	if err := d.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return d, nil
}

func openSQLite(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("metadata database dir: %w", err)
	}
	// WAL lets readers run beside the one writer; BEGIN IMMEDIATE makes every
	// transaction take the write lock up front, so two read-then-write
	// transactions wait for each other instead of failing on an upgrade.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)") // first: the pragmas after it may wait for a lock
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("metadata database: %w", err)
	}
	db.SetMaxOpenConns(8)
	return db, nil
}

func openPostgres(cfg Config, target string) (*sql.DB, error) {
	pc, err := pgx.ParseConfig(target)
	if err != nil {
		return nil, errors.New("metadata database: malformed postgres URL")
	}
	pc.Password = cfg.Password
	if cfg.Schema != "" {
		if pc.RuntimeParams == nil {
			pc.RuntimeParams = map[string]string{}
		}
		pc.RuntimeParams["search_path"] = cfg.Schema
	}
	db := stdlib.OpenDB(*pc)
	db.SetMaxOpenConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// waitReady pings until the server answers or limit passes.
func (d *DB) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		err := d.db.PingContext(ctx)
		if err == nil {
			return nil
		}
		// A SQLite file that another connection is switching to WAL answers
		// busy for a moment; any other SQLite error will not pass by waiting.
		if (d.dialect == SQLite && !retryable(err)) || isAuthFailure(err) {
			return fmt.Errorf("metadata database: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("metadata database did not answer within %s: %w", limit, err)
		case <-time.After(waitStep(d.dialect)):
		}
	}
}

// waitStep is how long waitReady waits between pings: a busy SQLite file is
// free again in milliseconds, a PostgreSQL server takes its time to start.
func waitStep(d Dialect) time.Duration {
	if d == SQLite {
		return 20 * time.Millisecond
	}
	return 500 * time.Millisecond
}

// Dialect tells which engine this is.
func (d *DB) Dialect() Dialect { return d.dialect }

// Close closes the connections.
func (d *DB) Close() error { return d.db.Close() }

// Exec runs a statement outside a transaction.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.db.ExecContext(ctx, d.rebind(query), args...)
}

// Query runs a query outside a transaction.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.db.QueryContext(ctx, d.rebind(query), args...)
}

// QueryRow runs a query expected to return at most one row.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.db.QueryRowContext(ctx, d.rebind(query), args...)
}

// Tx is a transaction with the same query helpers as DB.
type Tx struct {
	tx      *sql.Tx
	dialect Dialect
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, rebind(t.dialect, query), args...)
}

// Query runs a query in the transaction.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, rebind(t.dialect, query), args...)
}

// QueryRow runs a query expected to return at most one row.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, rebind(t.dialect, query), args...)
}

// Lock serialises the transactions that take the same named lock until they
// end, across every process sharing the database: what a hash chain or a
// "next free number" needs. SQLite transactions already hold the one write
// lock from their start, so there it is a no-op.
func (t *Tx) Lock(ctx context.Context, name string) error {
	if t.dialect != Postgres {
		return nil
	}
	_, err := t.tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "dure:"+name)
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}

// InTx runs fn in a transaction and commits it when fn returns nil. A
// transaction the engine aborted for a conflict with a concurrent one
// (serialization failure, deadlock, SQLite busy) is run again, a few times.
func (d *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	const attempts = 20
	var err error
	for attempt := range attempts {
		if err = d.inTxOnce(ctx, fn); err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(min(time.Duration(attempt+1)*10*time.Millisecond, 200*time.Millisecond)):
		}
	}
	return err
}

func (d *DB) inTxOnce(ctx context.Context, fn func(*Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{tx: tx, dialect: d.dialect}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (d *DB) rebind(q string) string { return rebind(d.dialect, q) }

// rebind turns "?" placeholders into PostgreSQL's "$1, $2, ...". Queries in
// dure hold no "?" inside string literals.
func rebind(dialect Dialect, q string) string {
	if dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// IsUniqueViolation tells whether err is a unique or primary key conflict.
func IsUniqueViolation(err error) bool { return isUniqueViolation(err) }

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" || pgErr.Code == "42P06" // unique_violation, duplicate_schema
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		code := sqlErr.Code()
		return code == sqlitelib.SQLITE_CONSTRAINT_UNIQUE || code == sqlitelib.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01" // serialization_failure, deadlock_detected
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		return sqlErr.Code()&0xff == sqlitelib.SQLITE_BUSY
	}
	return false
}

func isAuthFailure(err error) bool {
	var pgErr *pgconn.PgError
	// 28xxx: invalid authorization; 3D000: no such database. Waiting cannot fix either.
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000")
}

// Micros stores a time as microseconds since the epoch, exact on both engines.
func Micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// FromMicros reads a time stored by Micros.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// NullMicros stores an optional time; nil is NULL.
func NullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: Micros(*t), Valid: true}
}

// FromNullMicros reads an optional time stored by NullMicros.
func FromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := FromMicros(v.Int64)
	return &t
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// InstallationID names this database among the deployments that may share
// other systems (an S3 cluster, say): a random id made on first use, the same
// for every service and every start.
func (d *DB) InstallationID(ctx context.Context) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("installation id: %w", err)
	}
	_, err := d.Exec(ctx, "INSERT INTO installation (singleton, id, created_at) VALUES (1, ?, ?) ON CONFLICT (singleton) DO NOTHING",
		hex.EncodeToString(b), Micros(time.Now()))
	if err != nil {
		return "", fmt.Errorf("installation id: %w", err)
	}
	var id string
	if err := d.QueryRow(ctx, "SELECT id FROM installation WHERE singleton = 1").Scan(&id); err != nil {
		return "", fmt.Errorf("installation id: %w", err)
	}
	return id, nil
}
