package identity

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/metadb/metadbtest"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/tenancy/tenancytest"
	"github.com/dure-platform/dure/workflows"
)

func newActivities(t *testing.T) *Activities {
	t.Helper()
	db := metadbtest.Open(t, metadb.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "audit.db")})
	return &Activities{Store: tenancytest.NewStore(t), TokenDir: t.TempDir(), Audit: audit.New(db, []byte("audit-test-key"))}
}

func issue(t *testing.T, a *Activities, tenant, role string) workflows.IssuedToken {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a.IssueTenantToken)
	val, err := env.ExecuteActivity(a.IssueTenantToken, workflows.IssueTokenInput{TenantID: tenant, Role: role})
	require.NoError(t, err)
	var out workflows.IssuedToken
	require.NoError(t, val.Get(&out))
	return out
}

func fileToken(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(raw))
}

// A token file never goes on holding a token that was rotated: onboarding
// again replaces it, and the control plane's start removes it.
func TestTokenFilesFollowRotation(t *testing.T) {
	ctx := context.Background()
	a := newActivities(t)
	first := issue(t, a, "suwon", string(tenancy.RoleTenantAdmin))
	assert.True(t, first.Created)
	again := issue(t, a, "suwon", string(tenancy.RoleTenantAdmin))
	assert.False(t, again.Created, "a live token in its file is kept")
	assert.Equal(t, first.TokenID, again.TokenID)

	_, _, err := a.Store.RotateToken(ctx, first.TokenID)
	require.NoError(t, err)
	replaced := issue(t, a, "suwon", string(tenancy.RoleTenantAdmin))
	assert.True(t, replaced.Created, "the file held a rotated token")
	tok, err := a.Store.Authenticate(ctx, fileToken(t, replaced.TokenFile))
	require.NoError(t, err, "the file holds a live token again")
	assert.Equal(t, replaced.TokenID, tok.ID)

	client := issue(t, a, "suwon", string(tenancy.RoleTenantClient))
	require.NoError(t, a.Store.RevokeToken(ctx, replaced.TokenID))
	n, err := a.PruneTokenFiles(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.NoFileExists(t, replaced.TokenFile, "a revoked token's file is removed")
	assert.FileExists(t, client.TokenFile, "a live token's file stays")
}
