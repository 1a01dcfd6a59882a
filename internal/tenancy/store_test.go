package tenancy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenants.json")
	s, err := Open(path)
	require.NoError(t, err)
	return s, path
}

func TestTokensAreHashedAndRevocable(t *testing.T) {
	s, path := openTemp(t)
	plain, tok, err := s.IssueToken("suwon", RoleTenantClient)
	require.NoError(t, err)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	secret := plain[strings.LastIndex(plain, "_")+1:]
	assert.NotContains(t, string(raw), secret, "the store must not hold the token secret")

	got, err := s.Authenticate(plain)
	require.NoError(t, err)
	assert.Equal(t, "suwon", got.Tenant)
	assert.Equal(t, RoleTenantClient, got.Role)

	require.NoError(t, s.RevokeToken(tok.ID))
	_, err = s.Authenticate(plain)
	assert.ErrorIs(t, err, ErrUnauthenticated)
}

func TestAuthenticateRejectsMalformedAndForged(t *testing.T) {
	s, _ := openTemp(t)
	plain, _, err := s.IssueToken("suwon", RoleTenantClient)
	require.NoError(t, err)
	forged := plain[:len(plain)-1] + "x"
	if forged == plain {
		forged = plain[:len(plain)-1] + "y"
	}
	for _, bad := range []string{"", "dure_", "dure_abc", "Bearer " + plain, "dure_nosuchid_secret", forged} {
		_, err := s.Authenticate(bad)
		assert.ErrorIs(t, err, ErrUnauthenticated, "%q", bad)
	}
}

func TestStoreSurvivesReopen(t *testing.T) {
	s, path := openTemp(t)
	require.NoError(t, s.PutTenant(Tenant{ID: "seongnam", DisplayName: "성남시", Bucket: "tenant-seongnam"}))
	cred, err := s.EnsureS3Credential("seongnam", "userplus")
	require.NoError(t, err)
	again, err := s.EnsureS3Credential("seongnam", "userplus")
	require.NoError(t, err)
	assert.Equal(t, cred, again, "ensuring twice must not create a second identity")
	plain, _, err := s.IssueToken("seongnam", RoleTenantAdmin)
	require.NoError(t, err)

	reopened, err := Open(path)
	require.NoError(t, err)
	tn, err := reopened.Tenant("seongnam")
	require.NoError(t, err)
	assert.Equal(t, "성남시", tn.DisplayName)
	c, err := reopened.S3CredentialByAccessKey(cred.AccessKey)
	require.NoError(t, err)
	assert.Equal(t, cred.SecretKey, c.SecretKey)
	_, err = reopened.Authenticate(plain)
	assert.NoError(t, err)
	assert.NotContains(t, c.String(), c.SecretKey)
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
	s, _ := openTemp(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	plain, tok, err := s.IssueTokenTTL("suwon", RoleTenantAdmin, time.Hour)
	require.NoError(t, err)
	_, err = s.Authenticate(plain)
	require.NoError(t, err)

	rotated, newTok, err := s.RotateToken(tok.ID)
	require.NoError(t, err)
	assert.Equal(t, tok.Role, newTok.Role)
	_, err = s.Authenticate(plain)
	assert.ErrorIs(t, err, ErrUnauthenticated, "the rotated-out token is revoked")
	_, err = s.Authenticate(rotated)
	require.NoError(t, err)

	now = now.Add(2 * time.Hour)
	_, err = s.Authenticate(rotated)
	assert.ErrorIs(t, err, ErrUnauthenticated, "expired")
}

func TestIssueTokenChecksRoleAndTenant(t *testing.T) {
	s, _ := openTemp(t)
	for _, tc := range []struct {
		tenant string
		role   Role
	}{{"suwon", RoleOperator}, {"", RoleTenantClient}, {"suwon", "viewer"}} {
		_, _, err := s.IssueToken(tc.tenant, tc.role)
		assert.Error(t, err, "%s/%s", tc.tenant, tc.role)
	}
	_, _, err := s.IssueToken("", RoleOperator)
	assert.NoError(t, err)
}
