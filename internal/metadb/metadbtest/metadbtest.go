// Package metadbtest runs contract tests on every engine the metadata
// database supports: SQLite always, PostgreSQL when DURE_TEST_POSTGRES names a
// server (.ci/postgres.sh starts one and prints the variables).
package metadbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dure-platform/dure/internal/metadb"
)

// Each runs fn as a subtest per engine, each given a fresh, empty database
// to open (with Open, once per service that shares it). Under CI=true a
// missing PostgreSQL fails the test instead of skipping it.
func Each(t *testing.T, fn func(t *testing.T, cfg metadb.Config)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		cfg := metadb.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "dure.db")}
		fn(t, cfg)
	})
	t.Run("postgres", func(t *testing.T) {
		cfg, ok := PostgresConfig(t)
		if !ok {
			return
		}
		cfg.Schema = "test_" + randomSuffix(t)
		t.Cleanup(func() { dropSchema(t, cfg) })
		fn(t, cfg)
	})
}

// EachBenchmark is Each for benchmarks: one sub-benchmark per engine, so
// their figures sit side by side in one run.
func EachBenchmark(b *testing.B, fn func(b *testing.B, cfg metadb.Config)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) {
		fn(b, metadb.Config{URL: "sqlite:" + filepath.Join(b.TempDir(), "dure.db")})
	})
	b.Run("postgres", func(b *testing.B) {
		cfg, ok := PostgresConfig(b)
		if !ok {
			return
		}
		cfg.Schema = "bench_" + randomSuffix(b)
		b.Cleanup(func() { dropSchema(b, cfg) })
		fn(b, cfg)
	})
}

// PostgresConfig returns the test server's configuration, or skips (fails
// under CI=true) when there is none.
func PostgresConfig(t testing.TB) (metadb.Config, bool) {
	t.Helper()
	url := os.Getenv("DURE_TEST_POSTGRES")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DURE_TEST_POSTGRES is not set: CI must start PostgreSQL (.ci/postgres.sh)")
		}
		fmt.Fprintln(os.Stderr, "SKIPPING PostgreSQL contract tests: DURE_TEST_POSTGRES is not set (run `eval \"$(.ci/postgres.sh)\"`)")
		t.Skip("no PostgreSQL")
		return metadb.Config{}, false
	}
	cfg := metadb.Config{URL: url}
	if f := os.Getenv("DURE_TEST_POSTGRES_PASSWORD_FILE"); f != "" {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read DURE_TEST_POSTGRES_PASSWORD_FILE: %v", err)
		}
		cfg.Password = strings.TrimSpace(string(raw))
	}
	return cfg, true
}

// Open opens the database as one more service would, and closes it when the
// test ends.
func Open(t testing.TB, cfg metadb.Config) *metadb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := metadb.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open metadata database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func dropSchema(t testing.TB, cfg metadb.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		t.Logf("drop test schema: %v", err)
		return
	}
	pc.Password = cfg.Password
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		t.Logf("drop test schema: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+cfg.Schema+" CASCADE"); err != nil {
		t.Logf("drop test schema %s: %v", cfg.Schema, err)
	}
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
