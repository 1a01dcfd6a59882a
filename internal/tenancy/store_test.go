package tenancy

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/metadb/metadbtest"
	"github.com/dure-platform/dure/internal/secretbox"
)

// testKey seals the secrets of every store a test opens on one database, as the
// services of one deployment share one key file.
type testKey []byte

func newTestKey(t testing.TB) testKey {
	key := make([]byte, secretbox.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return key
}

// open returns a store on the database, as one more service would open it.
func (k testKey) open(t testing.TB, cfg metadb.Config) *Store {
	box, err := secretbox.New(k)
	require.NoError(t, err)
	return NewStore(metadbtest.Open(t, cfg), box)
}

// eachEngine runs a contract test on SQLite and PostgreSQL, with two stores
// on one database standing for two services.
func eachEngine(t *testing.T, fn func(t *testing.T, a, b *Store, cfg metadb.Config)) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		key := newTestKey(t)
		fn(t, key.open(t, cfg), key.open(t, cfg), cfg)
	})
}

func TestTokensAreHashedAndRevocable(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, other *Store, cfg metadb.Config) {
		ctx := context.Background()
		plain, tok, err := s.IssueToken(ctx, "suwon", RoleTenantClient)
		require.NoError(t, err)

		secret := plain[strings.LastIndex(plain, "_")+1:]
		assertNotStored(t, cfg, secret)

		got, err := other.Authenticate(ctx, plain)
		require.NoError(t, err, "another service sees the token")
		assert.Equal(t, "suwon", got.Tenant)
		assert.Equal(t, RoleTenantClient, got.Role)
		assert.Equal(t, tok, got)

		require.NoError(t, s.RevokeToken(ctx, tok.ID))
		_, err = other.Authenticate(ctx, plain)
		assert.ErrorIs(t, err, ErrUnauthenticated, "revocation takes effect on every service at once")
		require.NoError(t, s.RevokeToken(ctx, tok.ID), "revoking twice is harmless")
		assert.ErrorIs(t, s.RevokeToken(ctx, "nosuchid"), ErrNotFound)
	})
}

// assertNotStored checks that no column of any table holds the value.
func assertNotStored(t *testing.T, cfg metadb.Config, value string) {
	t.Helper()
	ctx := context.Background()
	db := metadbtest.Open(t, cfg)
	for _, table := range []string{"tenants", "s3_credentials", "api_tokens", "tenant_keys", "audit_events"} {
		rows, err := db.Query(ctx, "SELECT * FROM "+table)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				var text string
				switch v := v.(type) {
				case string:
					text = v
				case []byte:
					text = string(v)
				}
				assert.NotContains(t, text, value, "%s.%s holds a secret in clear", table, cols[i])
			}
		}
		require.NoError(t, rows.Close())
	}
}

func TestAuthenticateRejectsMalformedAndForged(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, _ *Store, _ metadb.Config) {
		ctx := context.Background()
		plain, _, err := s.IssueToken(ctx, "suwon", RoleTenantClient)
		require.NoError(t, err)
		forged := plain[:len(plain)-1] + "x"
		if forged == plain {
			forged = plain[:len(plain)-1] + "y"
		}
		for _, bad := range []string{"", "dure_", "dure_abc", "Bearer " + plain, "dure_nosuchid_secret", forged,
			"dure_" + strings.Repeat("a", 70000) + "_x"} {
			_, err := s.Authenticate(ctx, bad)
			assert.ErrorIs(t, err, ErrUnauthenticated, "%.40q", bad)
		}
	})
}

func TestRecordsAreSharedAndSurviveReopen(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		key := newTestKey(t)
		s := key.open(t, cfg)
		require.NoError(t, s.PutTenant(ctx, Tenant{ID: "seongnam", DisplayName: "성남시", Bucket: "tenant-seongnam", QuotaBytes: 10 << 30}))
		cred, err := s.EnsureS3Credential(ctx, "seongnam", "userplus")
		require.NoError(t, err)
		again, err := s.EnsureS3Credential(ctx, "seongnam", "userplus")
		require.NoError(t, err)
		assert.Equal(t, cred, again, "ensuring twice must not create a second identity")
		plain, _, err := s.IssueToken(ctx, "seongnam", RoleTenantAdmin)
		require.NoError(t, err)
		maskKey, err := s.TenantKey(ctx, "seongnam", KeyPurposeMasking)
		require.NoError(t, err)
		assertNotStored(t, cfg, cred.SecretKey)

		reopened := key.open(t, cfg)
		tn, err := reopened.Tenant(ctx, "seongnam")
		require.NoError(t, err)
		assert.Equal(t, "성남시", tn.DisplayName)
		assert.Equal(t, int64(10<<30), tn.QuotaBytes)
		c, err := reopened.S3CredentialByAccessKey(ctx, cred.AccessKey)
		require.NoError(t, err)
		assert.Equal(t, cred.SecretKey, c.SecretKey)
		_, err = reopened.Authenticate(ctx, plain)
		assert.NoError(t, err)
		assert.NotContains(t, c.String(), c.SecretKey)
		sameKey, err := reopened.TenantKey(ctx, "seongnam", KeyPurposeMasking)
		require.NoError(t, err)
		assert.Equal(t, maskKey, sameKey, "every service derives the same pseudonyms")
		otherKey, err := reopened.TenantKey(ctx, "suwon", KeyPurposeMasking)
		require.NoError(t, err)
		assert.NotEqual(t, maskKey, otherKey, "tenants have their own keys")

		// Without the key file the database's secrets are useless.
		stranger := newTestKey(t).open(t, cfg)
		_, err = stranger.S3CredentialFor(ctx, "seongnam")
		assert.ErrorIs(t, err, secretbox.ErrOpen)
		_, err = stranger.TenantKey(ctx, "seongnam", KeyPurposeMasking)
		assert.ErrorIs(t, err, secretbox.ErrOpen)
	})
}

func TestTenantRecords(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, other *Store, _ metadb.Config) {
		ctx := context.Background()
		assert.ErrorIs(t, s.PutTenant(ctx, Tenant{ID: "platform"}), ErrInvalidID)
		require.NoError(t, s.PutTenant(ctx, Tenant{ID: "yongin", DisplayName: "용인시", Bucket: "tenant-yongin"}))
		first, err := other.Tenant(ctx, "yongin")
		require.NoError(t, err)
		require.NoError(t, other.PutTenant(ctx, Tenant{ID: "yongin", DisplayName: "용인특례시", Bucket: "tenant-yongin", PIIPolicy: "pseudonym"}))
		require.NoError(t, s.PutTenant(ctx, Tenant{ID: "suwon", DisplayName: "수원시", Bucket: "tenant-suwon"}))
		all, err := s.Tenants(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
		assert.Equal(t, []string{"suwon", "yongin"}, []string{all[0].ID, all[1].ID})
		assert.Equal(t, "pseudonym", all[1].PIIPolicy)
		assert.Equal(t, first.CreatedAt, all[1].CreatedAt, "replacing a record keeps its creation time")
		require.NoError(t, s.DeleteTenant(ctx, "yongin"))
		require.NoError(t, s.DeleteTenant(ctx, "yongin"), "deleting twice is harmless")
		_, err = other.Tenant(ctx, "yongin")
		assert.ErrorIs(t, err, ErrNotFound)

		require.NoError(t, s.SetBucketQuota(ctx, "tenant-suwon", 1000))
		q, ok, err := other.BucketQuota(ctx, "tenant-suwon")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, int64(1000), q)
		require.NoError(t, s.SetBucketQuota(ctx, "tenant-suwon", 0))
		_, ok, err = other.BucketQuota(ctx, "tenant-suwon")
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

func TestS3CredentialsOneAnOwner(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, other *Store, _ metadb.Config) {
		ctx := context.Background()
		// Services ensuring one owner's identity at once converge on one.
		creds := make([]S3Credential, 8)
		var wg sync.WaitGroup
		for i := range creds {
			store := []*Store{s, other}[i%2]
			wg.Go(func() {
				c, err := store.EnsureS3Credential(ctx, "quality-gate", "userplus")
				assert.NoError(t, err)
				creds[i] = c
			})
		}
		wg.Wait()
		for _, c := range creds {
			assert.Equal(t, creds[0], c)
		}
		rgw := S3Credential{AccessKey: "RGWKEY", SecretKey: "rgw-secret", Owner: "quality-gate", Role: "rgw-user"}
		require.NoError(t, other.PutS3Credential(ctx, rgw))
		got, err := s.S3CredentialFor(ctx, "quality-gate")
		require.NoError(t, err)
		assert.Equal(t, rgw, got, "a put replaces the owner's credential")
		_, err = s.S3CredentialByAccessKey(ctx, creds[0].AccessKey)
		assert.ErrorIs(t, err, ErrNotFound)
		all, err := s.S3Credentials(ctx)
		require.NoError(t, err)
		assert.Len(t, all, 1)
		require.NoError(t, s.DeleteS3CredentialsOf(ctx, "quality-gate"))
		_, err = other.S3CredentialFor(ctx, "quality-gate")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestValidateTenantID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"suwon", true}, {"seongnam", true}, {"city-7", true},
		{"", false}, {"ab", false}, {"Suwon", false}, {"수원", false}, {"-abc", false}, {"abc-", false},
		{strings.Repeat("a", 33), false},
		{"platform", false}, {"quality-gate", false}, {"dure-admin", false},
	}
	for _, tt := range tests {
		err := ValidateTenantID(tt.id)
		assert.Equal(t, tt.ok, err == nil, tt.id)
	}
}

func TestTokenExpiryAndRotation(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, _ *Store, _ metadb.Config) {
		ctx := context.Background()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s.now = func() time.Time { return now }
		plain, tok, err := s.IssueTokenTTL(ctx, "suwon", RoleTenantAdmin, time.Hour)
		require.NoError(t, err)
		_, err = s.Authenticate(ctx, plain)
		require.NoError(t, err)

		rotated, newTok, err := s.RotateToken(ctx, tok.ID)
		require.NoError(t, err)
		assert.Equal(t, tok.Role, newTok.Role)
		require.NotNil(t, newTok.ExpiresAt)
		assert.Equal(t, time.Hour, newTok.ExpiresAt.Sub(newTok.CreatedAt), "the successor keeps the lifetime")
		_, err = s.Authenticate(ctx, plain)
		assert.ErrorIs(t, err, ErrUnauthenticated, "the rotated-out token is revoked")
		_, err = s.Authenticate(ctx, rotated)
		require.NoError(t, err)
		_, _, err = s.RotateToken(ctx, tok.ID)
		assert.ErrorIs(t, err, ErrRevoked, "a revoked token has no second successor")

		now = now.Add(2 * time.Hour)
		_, err = s.Authenticate(ctx, rotated)
		assert.ErrorIs(t, err, ErrUnauthenticated, "expired")
	})
}

// Rotations racing on one token, from two services: exactly one wins, so
// the tenant ends with one live successor, not several.
func TestConcurrentRotationsLeaveOneLiveToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, other *Store, _ metadb.Config) {
		ctx := context.Background()
		_, tok, err := s.IssueToken(ctx, "suwon", RoleTenantAdmin)
		require.NoError(t, err)
		const racers = 20
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for i := range racers {
			store := []*Store{s, other}[i%2]
			wg.Go(func() {
				_, _, err := store.RotateToken(ctx, tok.ID)
				switch {
				case err == nil:
					mu.Lock()
					wins++
					mu.Unlock()
				case !errors.Is(err, ErrRevoked):
					t.Errorf("rotation failed with %v, want success or ErrRevoked", err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 1, wins)
		toks, err := s.Tokens(ctx, "suwon")
		require.NoError(t, err)
		live := 0
		for _, tk := range toks {
			if tk.Live(time.Now()) {
				live++
			}
		}
		assert.Equal(t, 1, live, "one live token after %d racing rotations", racers)
	})
}

func TestIssueTokenChecksRoleAndTenant(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, _ *Store, _ metadb.Config) {
		ctx := context.Background()
		for _, tc := range []struct {
			tenant string
			role   Role
		}{{"suwon", RoleOperator}, {"", RoleTenantClient}, {"suwon", "viewer"}} {
			_, _, err := s.IssueToken(ctx, tc.tenant, tc.role)
			assert.Error(t, err, "%s/%s", tc.tenant, tc.role)
		}
		_, _, err := s.IssueToken(ctx, "", RoleOperator)
		assert.NoError(t, err)
		toks, err := s.Tokens(ctx, "")
		require.NoError(t, err)
		assert.Len(t, toks, 1, "refused tokens leave nothing behind")
	})
}
