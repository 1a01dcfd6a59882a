// Package network gives each tenant its own VLAN and the hypervisor network that
// carries it, and the tenant's optional data VM on that network.
package network

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// Hypervisor creates tenant networks and VMs (libvirt in production).
type Hypervisor interface {
	EnsureTenantNetwork(ctx context.Context, tenantID string, vlan int) (name string, created bool, err error)
	DeleteTenantNetwork(ctx context.Context, tenantID string) error
	EnsureDataVM(ctx context.Context, tenantID, network string) (name string, created bool, err error)
	DestroyDataVM(ctx context.Context, tenantID string) error
}

// Activities allocates VLANs from the plan and drives the hypervisor. With no
// hypervisor configured (the embedded dev default) VLANs are still allocated
// and recorded, network steps report Skipped, and a data VM is refused.
type Activities struct {
	Store      *tenancy.Store
	Plan       tenancy.VLANPlan
	Hypervisor Hypervisor
}

// AllocateVLAN gives the tenant its VLAN.
func (a *Activities) AllocateVLAN(ctx context.Context, in workflows.VLANInput) (workflows.AllocatedVLAN, error) {
	had, err := a.Store.VLAN(ctx, in.TenantID)
	if err != nil {
		return workflows.AllocatedVLAN{}, err
	}
	vlan, err := a.Store.AllocateVLAN(ctx, in.TenantID, in.VLAN, a.Plan)
	if errors.Is(err, tenancy.ErrVLANTaken) || errors.Is(err, tenancy.ErrVLANReserved) || errors.Is(err, tenancy.ErrVLANExhausted) {
		return workflows.AllocatedVLAN{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrBadInput, err)
	}
	if err != nil {
		return workflows.AllocatedVLAN{}, err
	}
	activity.GetLogger(ctx).Info("vlan allocated", "tenant", in.TenantID, "vlan", vlan)
	return workflows.AllocatedVLAN{VLAN: vlan, Created: had == 0}, nil
}

// ReleaseVLAN frees the tenant's VLAN.
func (a *Activities) ReleaseVLAN(ctx context.Context, tenantID string) error {
	return a.Store.ReleaseVLAN(ctx, tenantID)
}

// EnsureTenantNetwork creates the network carrying the tenant's VLAN.
func (a *Activities) EnsureTenantNetwork(ctx context.Context, in workflows.TenantNetworkInput) (workflows.TenantNetwork, error) {
	if a.Hypervisor == nil {
		activity.GetLogger(ctx).Info("no hypervisor configured: vlan recorded, no network created", "tenant", in.TenantID, "vlan", in.VLAN)
		return workflows.TenantNetwork{Skipped: true}, nil
	}
	name, created, err := a.Hypervisor.EnsureTenantNetwork(ctx, in.TenantID, in.VLAN)
	if err != nil {
		return workflows.TenantNetwork{}, fmt.Errorf("network for %s on vlan %d: %w", in.TenantID, in.VLAN, err)
	}
	return workflows.TenantNetwork{Name: name, Created: created}, nil
}

// DeleteTenantNetwork removes the tenant's network.
func (a *Activities) DeleteTenantNetwork(ctx context.Context, tenantID string) error {
	if a.Hypervisor == nil {
		return nil
	}
	return a.Hypervisor.DeleteTenantNetwork(ctx, tenantID)
}

// EnsureDataVM creates the tenant's data VM.
func (a *Activities) EnsureDataVM(ctx context.Context, in workflows.DataVMInput) (workflows.DataVM, error) {
	if a.Hypervisor == nil {
		return workflows.DataVM{}, temporal.NewNonRetryableApplicationError(
			"a data VM needs a hypervisor: start dure with --libvirt-uri", workflows.ErrBadInput, nil)
	}
	name, created, err := a.Hypervisor.EnsureDataVM(ctx, in.TenantID, in.Network)
	if err != nil {
		return workflows.DataVM{}, fmt.Errorf("data vm for %s: %w", in.TenantID, err)
	}
	return workflows.DataVM{Name: name, Created: created}, nil
}

// DestroyDataVM removes the tenant's data VM.
func (a *Activities) DestroyDataVM(ctx context.Context, tenantID string) error {
	if a.Hypervisor == nil {
		return nil
	}
	return a.Hypervisor.DestroyDataVM(ctx, tenantID)
}
