package metadb_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/metadb/metadbtest"
)

func TestMigrationsApplyOnceAcrossServices(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		// Services starting together each run the migrations.
		var wg sync.WaitGroup
		dbs := make([]*metadb.DB, 4)
		for i := range dbs {
			wg.Go(func() {
				db, err := metadb.Open(ctx, cfg)
				if assert.NoError(t, err) {
					dbs[i] = db
				}
			})
		}
		wg.Wait()
		for _, db := range dbs {
			require.NotNil(t, db)
			t.Cleanup(func() { _ = db.Close() })
		}
		var applied int
		require.NoError(t, dbs[0].QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&applied))
		assert.Equal(t, metadb.SchemaVersion(), applied, "each migration recorded once")
		v, err := dbs[1].Version(ctx)
		require.NoError(t, err)
		assert.Equal(t, metadb.SchemaVersion(), v)
	})
}

func TestRefusesADatabaseNewerThanTheBuild(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		db := metadbtest.Open(t, cfg)
		_, err := db.Exec(context.Background(), "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			metadb.SchemaVersion()+1, "from a newer build", 0)
		require.NoError(t, err)
		_, err = metadb.Open(context.Background(), cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "newer than this build")
	})
}

func TestLockSerialisesReadModifyWrite(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		a, b := metadbtest.Open(t, cfg), metadbtest.Open(t, cfg)
		_, err := a.Exec(ctx, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
		require.NoError(t, err)
		_, err = a.Exec(ctx, "INSERT INTO counter (id, n) VALUES (1, 0)")
		require.NoError(t, err)
		const perWriter = 25
		var wg sync.WaitGroup
		for _, db := range []*metadb.DB{a, b, a, b} {
			wg.Go(func() {
				for range perWriter {
					assert.NoError(t, db.InTx(ctx, func(tx *metadb.Tx) error {
						if err := tx.Lock(ctx, "counter"); err != nil {
							return err
						}
						var n int
						if err := tx.QueryRow(ctx, "SELECT n FROM counter WHERE id = ?", 1).Scan(&n); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, "UPDATE counter SET n = ? WHERE id = ?", n+1, 1)
						return err
					}))
				}
			})
		}
		wg.Wait()
		var n int
		require.NoError(t, a.QueryRow(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n))
		assert.Equal(t, 4*perWriter, n, "no increment lost")
	})
}

func TestUniqueViolationIsRecognised(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		db := metadbtest.Open(t, cfg)
		_, err := db.Exec(ctx, "INSERT INTO gpu_quotas (tenant, vgpus) VALUES (?, ?)", "suwon", 1)
		require.NoError(t, err)
		_, err = db.Exec(ctx, "INSERT INTO gpu_quotas (tenant, vgpus) VALUES (?, ?)", "suwon", 2)
		require.Error(t, err)
		assert.True(t, metadb.IsUniqueViolation(err), "%v", err)
		assert.False(t, metadb.IsUniqueViolation(errors.New("other")))
	})
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  metadb.Config
		err  string
	}{
		{"empty", metadb.Config{}, "no URL"},
		{"unknown scheme", metadb.Config{URL: "mysql://x"}, "must start with"},
		{"password in URL", metadb.Config{URL: "postgres://dure:secret@db/dure"}, "not in the URL"},
		{"bad schema", metadb.Config{URL: "postgres://dure@db/dure", Schema: "Drop Table"}, "schema"},
		{"sqlite without file", metadb.Config{URL: "sqlite:"}, "names no file"},
		{"sqlite", metadb.Config{URL: "sqlite:/var/lib/dure/dure.db"}, ""},
		{"postgres", metadb.Config{URL: "postgres://dure@db:5432/dure?sslmode=verify-full", Schema: "dure"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			assert.NotContains(t, err.Error(), "secret", "a password never reaches an error")
		})
	}
	assert.Equal(t, "postgres://dure:xxxxx@db/dure", metadb.Config{URL: "postgres://dure:secret@db/dure"}.Redacted())
}

func TestInstallationIDIsOneAndStable(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		ids := make([]string, 6)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				id, err := metadbtest.Open(t, cfg).InstallationID(ctx)
				assert.NoError(t, err)
				ids[i] = id
			})
		}
		wg.Wait()
		for _, id := range ids {
			assert.Len(t, id, 16)
			assert.Equal(t, ids[0], id, "every service sees one id")
		}
	})
}
