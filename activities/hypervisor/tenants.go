package hypervisor

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Tenants gives the tenant-network activities what they need from a host: a
// portgroup per tenant VLAN on the shared network, and the tenant's data VM.
type Tenants struct {
	Conn   *Conn
	Bridge string
	Kind   UplinkKind
}

// platformRefusals are errors retrying cannot fix; they end the saga at once.
var platformRefusals = []error{ErrInvalidSpec, ErrVLANUnsupported, ErrVLANInUse, ErrSpecMismatch, ErrNotManaged}

func refuse(err error) error {
	for _, r := range platformRefusals {
		if errors.Is(err, r) {
			return temporal.NewNonRetryableApplicationError(err.Error(), "HypervisorRefused", err)
		}
	}
	return err
}

// EnsureTenantNetwork adds (or finds) the tenant's portgroup carrying its VLAN.
func (t Tenants) EnsureTenantNetwork(ctx context.Context, tenantID string, vlan int) (string, bool, error) {
	info, err := t.Conn.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: tenantID, VLAN: vlan, Bridge: t.Bridge, Kind: t.Kind})
	if err != nil {
		return "", false, refuse(err)
	}
	return fmt.Sprintf("%s/%s", info.Network, TenantPortgroup(tenantID)), info.Created || len(info.Added) > 0, nil
}

// DeleteTenantNetwork removes the tenant's portgroup.
func (t Tenants) DeleteTenantNetwork(ctx context.Context, tenantID string) error {
	return refuse(t.Conn.DeleteTenantNetwork(ctx, TenantNetwork{TenantID: tenantID, Bridge: t.Bridge, Kind: t.Kind}))
}

// EnsureDataVM defines and starts the tenant's data VM (2 vCPU, 4 GiB) on its portgroup.
func (t Tenants) EnsureDataVM(ctx context.Context, tenantID, _ string) (string, bool, error) {
	info, err := t.Conn.EnsureDataVM(ctx, VMSpec{TenantID: tenantID})
	if err != nil {
		return "", false, refuse(err)
	}
	return info.Name, info.Created, nil
}

// DestroyDataVM stops and removes the tenant's data VM; an absent one is fine.
func (t Tenants) DestroyDataVM(ctx context.Context, tenantID string) error {
	return refuse(t.Conn.DestroyVM(ctx, dataVMName(tenantID)))
}

func dataVMName(tenantID string) string { return "data-" + tenantID }
