// Package gpu holds the GPU pool's activities.
package gpu

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// PoolUpdater sends updates to the running GPUPool workflow.
type PoolUpdater interface {
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// QuotaActivities records tenants' vGPU quotas and tells the GPU pool.
type QuotaActivities struct {
	Store *tenancy.Store
	// Pool, when set, receives the quota at once; the pool also reads the
	// recorded quotas when it starts.
	Pool PoolUpdater
}

// RegisterGPUQuota sets a tenant's quota; 0 removes it (offboarding). It
// answers the quota the tenant had before, which onboarding's compensation
// restores.
func (a *QuotaActivities) RegisterGPUQuota(ctx context.Context, in workflows.GPUQuotaInput) (workflows.GPUQuotaRegistered, error) {
	quotas, err := a.Store.GPUQuotas(ctx)
	if err != nil {
		return workflows.GPUQuotaRegistered{}, err
	}
	previous := quotas[in.TenantID]
	if err := a.setQuota(ctx, in); err != nil {
		return workflows.GPUQuotaRegistered{}, err
	}
	activity.GetLogger(ctx).Info("gpu quota registered", "tenant", in.TenantID, "vgpus", in.VGPUs, "previous", previous)
	return workflows.GPUQuotaRegistered{PreviousVGPUs: previous}, nil
}

// RestoreGPUQuota puts back the quota a tenant had before a failed
// onboarding registered another.
func (a *QuotaActivities) RestoreGPUQuota(ctx context.Context, in workflows.GPUQuotaInput) error {
	if err := a.setQuota(ctx, in); err != nil {
		return err
	}
	activity.GetLogger(ctx).Info("gpu quota restored", "tenant", in.TenantID, "vgpus", in.VGPUs)
	return nil
}

// setQuota records the quota and tells the pool.
func (a *QuotaActivities) setQuota(ctx context.Context, in workflows.GPUQuotaInput) error {
	if err := a.Store.SetGPUQuota(ctx, in.TenantID, in.VGPUs); err != nil {
		return err
	}
	if a.Pool != nil {
		if err := a.tellPool(ctx, in); err != nil {
			return fmt.Errorf("gpu pool: %w", err)
		}
	}
	return nil
}

// tellPool sets the tenant's quota in the pool, adding the tenant first when the
// pool does not know it yet.
func (a *QuotaActivities) tellPool(ctx context.Context, in workflows.GPUQuotaInput) error {
	update := func(name string, arg any) error {
		h, err := a.Pool.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.GPUPoolWorkflowID, UpdateName: name, Args: []any{arg},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return err
		}
		return h.Get(ctx, nil)
	}
	err := update(workflows.UpdateGPUSetQuota, workflows.GPUQuota{Tenant: in.TenantID, Quota: in.VGPUs})
	if err == nil || in.VGPUs == 0 {
		return nil // a tenant the pool never knew needs no quota removed
	}
	return update(workflows.UpdateGPUAddTenant, gpupool.TenantConfig{Name: in.TenantID, Quota: in.VGPUs})
}
