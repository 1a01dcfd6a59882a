package metadb

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// migration is one versioned change of the schema, in SQL both engines accept.
// Migrations are append-only: a released one is never edited, a later one
// changes what it made.
type migration struct {
	version int
	name    string
	sql     string
}

// Times are BIGINT microseconds since the epoch (Micros), exact on both
// engines; secrets are sealed text (internal/secretbox), never plaintext.
var migrations = []migration{
	{1, "platform records, audit log, model registry pointers", `
CREATE TABLE tenants (
	id            TEXT PRIMARY KEY,
	display_name  TEXT NOT NULL,
	bucket        TEXT NOT NULL,
	s3_access_key TEXT NOT NULL DEFAULT '',
	quota_bytes   BIGINT NOT NULL DEFAULT 0,
	pii_policy    TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL
);
CREATE TABLE bucket_quotas (
	bucket    TEXT PRIMARY KEY,
	max_bytes BIGINT NOT NULL
);
CREATE TABLE vlans (
	tenant TEXT PRIMARY KEY,
	vlan   INTEGER NOT NULL UNIQUE
);
CREATE TABLE gpu_quotas (
	tenant TEXT PRIMARY KEY,
	vgpus  INTEGER NOT NULL
);
CREATE TABLE s3_credentials (
	access_key    TEXT PRIMARY KEY,
	owner         TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	secret_sealed TEXT NOT NULL
);
CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	tenant     TEXT NOT NULL,
	role       TEXT NOT NULL,
	hash       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	revoked_at BIGINT
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant);
CREATE TABLE tenant_keys (
	tenant     TEXT NOT NULL,
	purpose    TEXT NOT NULL,
	key_sealed TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (tenant, purpose)
);
CREATE TABLE audit_events (
	seq       BIGINT PRIMARY KEY,
	at        BIGINT NOT NULL,
	action    TEXT NOT NULL,
	tenant    TEXT NOT NULL DEFAULT '',
	actor     TEXT NOT NULL,
	subject   TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
CREATE INDEX audit_events_by_tenant ON audit_events (tenant, seq);
CREATE TABLE model_versions (
	version       INTEGER PRIMARY KEY,
	candidate_id  TEXT NOT NULL UNIQUE,
	meta          TEXT NOT NULL,
	registered_at BIGINT NOT NULL
);
CREATE TABLE model_aliases (
	name    TEXT PRIMARY KEY,
	version INTEGER NOT NULL REFERENCES model_versions (version),
	set_at  BIGINT NOT NULL
)`},
	{2, "installation identity", `
CREATE TABLE installation (
	singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
	id        TEXT NOT NULL,
	created_at BIGINT NOT NULL
)`},
}

// SchemaVersion is the version this build's migrations bring a database to.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate applies the migrations a database lacks, in one transaction
// under a lock (the bookkeeping table's creation included), so services
// starting together apply each migration once and never see half a schema.
func (d *DB) migrate(ctx context.Context) error {
	err := d.InTx(ctx, func(tx *Tx) error {
		if err := tx.Lock(ctx, "migrations"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if current > SchemaVersion() {
			return fmt.Errorf("the database is at schema version %d, newer than this build's %d: run a newer dure", current, SchemaVersion())
		}
		for _, m := range migrations {
			if m.version <= current {
				continue
			}
			for _, stmt := range strings.Split(m.sql, ";\n") {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d (%s): %w\n%s", m.version, m.name, err, strings.TrimSpace(stmt))
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, Micros(time.Now())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("metadata database: %w", err)
	}
	return nil
}

// Version is the newest migration applied to the database.
func (d *DB) Version(ctx context.Context) (int, error) {
	var v int
	if err := d.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("metadata database: read schema version: %w", err)
	}
	return v, nil
}
