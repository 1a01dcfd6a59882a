package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// TenantKeyRotationInput names the tenant whose S3 key pair is replaced.
type TenantKeyRotationInput struct {
	TenantID string `json:"tenant_id"`
}

// TenantKeyRotationResult names the new access key; the secret never enters
// history (the tenant admin fetches it through the gateway).
type TenantKeyRotationResult struct {
	TenantID  string `json:"tenant_id"`
	AccessKey string `json:"access_key"`
}

// TenantKeyRotationID names a tenant's key rotation: two rotations asked at
// once attach to one run.
func TenantKeyRotationID(tenantID string) string { return "tenant-key-rotation-" + tenantID }

// TenantKeyRotation replaces a tenant's S3 key pair where its storage lives
// (the embedded S3's records, or the tenant's RGW user), on the control plane,
// which alone holds the storage administrator's keys. The old key stops
// working.
func TenantKeyRotation(ctx workflow.Context, in TenantKeyRotationInput) (TenantKeyRotationResult, error) {
	if in.TenantID == "" {
		return TenantKeyRotationResult{}, temporal.NewNonRetryableApplicationError("tenant_id is required", ErrBadInput, nil)
	}
	if err := tagTenant(ctx, in.TenantID); err != nil {
		return TenantKeyRotationResult{}, err
	}
	var id StorageIdentity
	err := workflow.ExecuteActivity(shortActivity(ctx, TaskQueueControlPlane), ActivityRotateStorageKey, in.TenantID).Get(ctx, &id)
	if err != nil {
		return TenantKeyRotationResult{}, fmt.Errorf("rotate s3 key: %w", err)
	}
	return TenantKeyRotationResult{TenantID: in.TenantID, AccessKey: id.AccessKey}, nil
}
