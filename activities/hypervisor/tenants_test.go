package hypervisor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func TestTenantsAdapter(t *testing.T) {
	ctx := context.Background()
	tenants := Tenants{Conn: dialTest(t), Bridge: "br-dure"}

	name, created, err := tenants.EnsureTenantNetwork(ctx, "suwon", 20)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, "dure/tenant-suwon", name)
	_, created, err = tenants.EnsureTenantNetwork(ctx, "suwon", 20)
	require.NoError(t, err)
	assert.False(t, created, "ensuring twice creates nothing")

	_, _, err = tenants.EnsureTenantNetwork(ctx, "seongnam", 20)
	require.Error(t, err, "two tenants never share a VLAN")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.True(t, appErr.NonRetryable(), "a platform refusal is not retried")

	vm, created, err := tenants.EnsureDataVM(ctx, "suwon", name)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, "data-suwon", vm)

	require.NoError(t, tenants.DestroyDataVM(ctx, "suwon"))
	require.NoError(t, tenants.DestroyDataVM(ctx, "suwon"), "destroying an absent VM is fine")
	require.NoError(t, tenants.DeleteTenantNetwork(ctx, "suwon"))
}
