package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// TenantOffboardingInput says which tenant leaves and whether its data stays.
type TenantOffboardingInput struct {
	TenantID string `json:"tenant_id"`
	// RetainData keeps the raw bucket and published datasets (e.g. for a legal
	// retention period); the tenant's access is removed either way.
	RetainData bool `json:"retain_data"`
}

// TenantOffboardingResult lists what was done.
type TenantOffboardingResult struct {
	TenantID      string   `json:"tenant_id"`
	TokensRevoked int      `json:"tokens_revoked"`
	Removed       []string `json:"removed"`
	Retained      []string `json:"retained,omitempty"`
}

// TenantOffboarding revokes the tenant's tokens first, so nothing it holds works
// any more, then removes (or retains) what onboarding created. Every step is
// idempotent, so a failed run can simply be started again.
func TenantOffboarding(ctx workflow.Context, in TenantOffboardingInput) (TenantOffboardingResult, error) {
	if err := badTenantID(in.TenantID); err != nil {
		return TenantOffboardingResult{}, err
	}
	if err := tagTenant(ctx, in.TenantID); err != nil {
		return TenantOffboardingResult{}, err
	}
	actx := shortActivity(ctx, TaskQueueControlPlane)
	res := TenantOffboardingResult{TenantID: in.TenantID}

	if err := workflow.ExecuteActivity(actx, ActivityRevokeTenantTokens, in.TenantID).Get(ctx, &res.TokensRevoked); err != nil {
		return res, fmt.Errorf("revoke tokens: %w", err)
	}
	steps := []struct {
		activity, what string
		data           bool
	}{
		{ActivityDestroyDataVM, "data vm", false},
		{ActivityDeleteTenantNetwork, "network", false},
		{ActivityReleaseVLAN, "vlan", false},
		{ActivityRegisterGPUQuota, "gpu quota", false},
		{ActivityDeleteTenantBucket, "raw bucket", true},
		{ActivityDeleteStorageIdentity, "storage identity", false},
		{ActivityDeleteTenantRecord, "tenant record", false},
	}
	var errs []error
	for _, st := range steps {
		if st.data && in.RetainData {
			res.Retained = append(res.Retained, st.what)
			continue
		}
		var arg any = in.TenantID
		if st.activity == ActivityRegisterGPUQuota {
			arg = GPUQuotaInput{TenantID: in.TenantID, VGPUs: 0}
		}
		if err := workflow.ExecuteActivity(actx, st.activity, arg).Get(ctx, nil); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.what, err))
			continue
		}
		res.Removed = append(res.Removed, st.what)
	}
	return res, errors.Join(errs...)
}
