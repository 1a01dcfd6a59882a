package tests

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/apiclient"
	"github.com/dure-platform/dure/internal/demo"
	"github.com/dure-platform/dure/internal/tenancy"
)

// A tenant admin rotates and revokes its tenant's tokens through the API the
// CLI uses; another tenant's admin cannot touch them.
func TestTokenRotationThroughTheAPI(t *testing.T) {
	ctx := context.Background()
	adminToken, _, err := stack.Store.IssueToken(context.Background(), "seongnam", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	admin := &apiclient.Client{BaseURL: stack.GatewayURL, Token: adminToken}
	otherAdmin, _, err := stack.Store.IssueToken(context.Background(), "suwon", tenancy.RoleTenantAdmin)
	require.NoError(t, err)
	intruder := &apiclient.Client{BaseURL: stack.GatewayURL, Token: otherAdmin}

	clientToken, err := demo.ReadToken(stack.TokenDir, "seongnam")
	require.NoError(t, err)
	live, err := stack.Store.Authenticate(context.Background(), clientToken)
	require.NoError(t, err)

	toks, err := admin.Tokens(ctx, "seongnam")
	require.NoError(t, err)
	var listed bool
	for _, tok := range toks {
		listed = listed || tok.ID == live.ID
		assert.Empty(t, tok.Token, "listing never shows a token")
	}
	assert.True(t, listed)

	_, err = intruder.RotateToken(ctx, "seongnam", live.ID)
	var se *apiclient.StatusError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, http.StatusForbidden, se.Code)
	_, err = intruder.RotateToken(ctx, "suwon", live.ID)
	require.True(t, errors.As(err, &se))
	assert.Equal(t, http.StatusNotFound, se.Code, "seongnam's token is not found under suwon")

	rotated, err := admin.RotateToken(ctx, "seongnam", live.ID)
	require.NoError(t, err)
	require.NotEmpty(t, rotated.Token)
	assert.Equal(t, string(tenancy.RoleTenantClient), rotated.Role)
	code, _ := classify(t, "Bearer "+clientToken)
	assert.Equal(t, http.StatusUnauthorized, code, "the rotated-out token is refused")
	code, _ = classify(t, "Bearer "+rotated.Token)
	assert.Equal(t, http.StatusOK, code, "the new token works")

	require.NoError(t, admin.RevokeToken(ctx, "seongnam", rotated.ID))
	code, _ = classify(t, "Bearer "+rotated.Token)
	assert.Equal(t, http.StatusUnauthorized, code)

	models, err := admin.Models(ctx, "seongnam")
	require.NoError(t, err)
	assert.NotEmpty(t, models, "the tenant sees the versions trained on its data")
	_, err = admin.Models(ctx, "")
	require.True(t, errors.As(err, &se))
	assert.Equal(t, http.StatusForbidden, se.Code, "the platform-wide list is for operators")
}
