// Package gpu holds the GPU pool's activities.
package gpu

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// QuotaActivities records tenants' vGPU quotas, which the GPU pool reads.
type QuotaActivities struct {
	Store *tenancy.Store
}

// RegisterGPUQuota sets a tenant's quota; 0 removes it (offboarding).
func (a *QuotaActivities) RegisterGPUQuota(ctx context.Context, in workflows.GPUQuotaInput) error {
	if err := a.Store.SetGPUQuota(in.TenantID, in.VGPUs); err != nil {
		return err
	}
	activity.GetLogger(ctx).Info("gpu quota registered", "tenant", in.TenantID, "vgpus", in.VGPUs)
	return nil
}
