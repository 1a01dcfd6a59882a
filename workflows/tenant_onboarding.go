package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/internal/tenancy"
)

// TenantOnboardingInput is what an operator pastes into the UI.
type TenantOnboardingInput struct {
	TenantID          string `json:"tenant_id"`
	DisplayName       string `json:"display_name"`
	StorageQuotaBytes int64  `json:"storage_quota_bytes,omitempty"`
	// VGPUQuota is the tenant's nominal share of the GPU pool, in vGPUs.
	VGPUQuota int `json:"vgpu_quota,omitempty"`
	// VLAN is allocated from the plan when absent.
	VLAN int `json:"vlan,omitempty"`
	// DataVM asks for a tenant data VM (2 vCPU, 4 GB) on the tenant's VLAN.
	DataVM bool `json:"data_vm,omitempty"`
	// PIIPolicy is how personal data is masked: tag (default), partial, or
	// pseudonym (keyed per tenant).
	PIIPolicy string `json:"pii_policy,omitempty"`
}

// TenantOnboardingResult names what was created; API tokens themselves never
// enter workflow history, only their ids and the files they were written to.
type TenantOnboardingResult struct {
	TenantID    string        `json:"tenant_id"`
	Bucket      string        `json:"bucket"`
	S3AccessKey string        `json:"s3_access_key"`
	VLAN        int           `json:"vlan"`
	Network     TenantNetwork `json:"network"`
	DataVM      string        `json:"data_vm,omitempty"`
	Tokens      []IssuedToken `json:"tokens"`
	VGPUQuota   int           `json:"vgpu_quota"`
}

// VLANInput asks for a tenant's VLAN (0: next free one of the plan).
type VLANInput struct {
	TenantID string `json:"tenant_id"`
	VLAN     int    `json:"vlan,omitempty"`
}

// AllocatedVLAN is the tenant's VLAN.
type AllocatedVLAN struct {
	VLAN    int  `json:"vlan"`
	Created bool `json:"created"`
}

// TenantNetworkInput asks for the tenant's network on its VLAN.
type TenantNetworkInput struct {
	TenantID string `json:"tenant_id"`
	VLAN     int    `json:"vlan"`
}

// TenantNetwork is the hypervisor network (or port group) carrying the VLAN.
// Skipped is set when the platform runs without a hypervisor (the embedded dev
// default): the VLAN is still allocated and recorded.
type TenantNetwork struct {
	Name    string `json:"name,omitempty"`
	Created bool   `json:"created"`
	Skipped bool   `json:"skipped,omitempty"`
}

// DataVMInput asks for a tenant data VM on a network.
type DataVMInput struct {
	TenantID string `json:"tenant_id"`
	Network  string `json:"network"`
}

// DataVM is the created VM.
type DataVM struct {
	Name    string `json:"name"`
	Created bool   `json:"created"`
}

// GPUQuotaInput registers a tenant's quota with the GPU pool.
type GPUQuotaInput struct {
	TenantID string `json:"tenant_id"`
	VGPUs    int    `json:"vgpus"`
}

// GPUQuotaRegistered is the quota a tenant had before RegisterGPUQuota.
type GPUQuotaRegistered struct {
	PreviousVGPUs int `json:"previous_vgpus"`
}

// TenantRoles are the tokens onboarding issues, one per role.
var TenantRoles = []string{"tenant-admin", "tenant-uploader", "tenant-client"}

// StorageIdentity is the S3 identity of a tenant (the secret stays in the platform).
type StorageIdentity struct {
	TenantID  string `json:"tenant_id"`
	AccessKey string `json:"access_key"`
	// Created is false when the identity existed already; only what this run
	// created is undone if a later step fails.
	Created bool `json:"created"`
}

// TenantStorageInput asks for a tenant's storage identity and its quota.
type TenantStorageInput struct {
	TenantID   string `json:"tenant_id"`
	QuotaBytes int64  `json:"quota_bytes"`
}

// TenantBucketInput asks for a tenant's raw bucket with its quota.
type TenantBucketInput struct {
	TenantID   string `json:"tenant_id"`
	QuotaBytes int64  `json:"quota_bytes"`
}

// TenantBucket is the created bucket.
type TenantBucket struct {
	Bucket  string `json:"bucket"`
	Created bool   `json:"created"`
}

// IssueTokenInput asks for an API token.
type IssueTokenInput struct {
	TenantID string `json:"tenant_id"`
	Role     string `json:"role"`
}

// IssuedToken points at where the plaintext was written, once.
type IssuedToken struct {
	Role      string `json:"role"`
	TokenID   string `json:"token_id"`
	TokenFile string `json:"token_file"`
	Created   bool   `json:"created"`
}

// RecordTenantInput completes the tenant record.
type RecordTenantInput struct {
	TenantID    string `json:"tenant_id"`
	DisplayName string `json:"display_name"`
	Bucket      string `json:"bucket"`
	AccessKey   string `json:"access_key"`
	QuotaBytes  int64  `json:"quota_bytes"`
	PIIPolicy   string `json:"pii_policy,omitempty"`
}

// DefaultStorageQuotaBytes applies when the input names no quota.
const DefaultStorageQuotaBytes = 10 << 30

// ErrBadInput marks input errors, which retrying cannot fix.
const ErrBadInput = "BadInput"

// badTenantID refuses ids that cannot name buckets, pools and users, or that
// belong to the platform's own identities (the rule lives in internal/tenancy).
func badTenantID(id string) error {
	if err := tenancy.ValidateTenantID(id); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadInput, nil)
	}
	return nil
}

func (in TenantOnboardingInput) validate() error {
	if err := badTenantID(in.TenantID); err != nil {
		return err
	}
	if in.StorageQuotaBytes < 0 || in.VGPUQuota < 0 {
		return temporal.NewNonRetryableApplicationError("storage_quota_bytes and vgpu_quota must not be negative", ErrBadInput, nil)
	}
	if !slices.Contains([]string{"", "tag", "partial", "pseudonym"}, in.PIIPolicy) {
		return temporal.NewNonRetryableApplicationError("pii_policy must be tag, partial or pseudonym", ErrBadInput, nil)
	}
	if in.VLAN < 0 || in.VLAN > 4094 {
		return temporal.NewNonRetryableApplicationError("vlan must be in 1-4094 (or absent)", ErrBadInput, nil)
	}
	return nil
}

// TenantOnboarding creates a tenant's storage identity, bucket and API token as a
// saga: when a step fails, every completed step is undone in reverse order.
// Each step is idempotent, so running onboarding twice yields the same tenant.
func TenantOnboarding(ctx workflow.Context, in TenantOnboardingInput) (TenantOnboardingResult, error) {
	if err := in.validate(); err != nil {
		return TenantOnboardingResult{}, err
	}
	if err := tagTenant(ctx, in.TenantID); err != nil {
		return TenantOnboardingResult{}, err
	}
	if in.DisplayName == "" {
		in.DisplayName = in.TenantID
	}
	if in.StorageQuotaBytes == 0 {
		in.StorageQuotaBytes = DefaultStorageQuotaBytes
	}
	s := &saga{}
	res, err := runOnboarding(ctx, in, s)
	if err != nil {
		if undoErr := s.compensate(ctx); undoErr != nil {
			// The operator must learn what is left behind, with the cause.
			return TenantOnboardingResult{}, fmt.Errorf("%w; undoing the completed steps failed too: %w", err, undoErr)
		}
		return TenantOnboardingResult{}, err
	}
	return res, nil
}

func runOnboarding(ctx workflow.Context, in TenantOnboardingInput, s *saga) (TenantOnboardingResult, error) {
	actx := shortActivity(ctx, TaskQueueControlPlane)
	res := TenantOnboardingResult{TenantID: in.TenantID, VGPUQuota: in.VGPUQuota}
	do := func(what, activity string, arg, out any) error {
		if err := workflow.ExecuteActivity(actx, activity, arg).Get(ctx, out); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}

	// 1. Storage: identity with quota, then the bucket.
	var ident StorageIdentity
	if err := do("storage identity", ActivityEnsureStorageIdentity,
		TenantStorageInput{TenantID: in.TenantID, QuotaBytes: in.StorageQuotaBytes}, &ident); err != nil {
		return res, err
	}
	s.addIf(ident.Created, ActivityDeleteStorageIdentity, in.TenantID)
	res.S3AccessKey = ident.AccessKey

	var bucket TenantBucket
	if err := do("tenant bucket", ActivityEnsureTenantBucket,
		TenantBucketInput{TenantID: in.TenantID, QuotaBytes: in.StorageQuotaBytes}, &bucket); err != nil {
		return res, err
	}
	s.addIf(bucket.Created, ActivityDeleteTenantBucket, in.TenantID)
	res.Bucket = bucket.Bucket

	// 2. Network: a VLAN of its own and the hypervisor network carrying it.
	var vlan AllocatedVLAN
	if err := do("vlan", ActivityAllocateVLAN, VLANInput{TenantID: in.TenantID, VLAN: in.VLAN}, &vlan); err != nil {
		return res, err
	}
	s.addIf(vlan.Created, ActivityReleaseVLAN, in.TenantID)
	res.VLAN = vlan.VLAN

	if err := do("tenant network", ActivityEnsureTenantNetwork, TenantNetworkInput{TenantID: in.TenantID, VLAN: vlan.VLAN}, &res.Network); err != nil {
		return res, err
	}
	s.addIf(res.Network.Created, ActivityDeleteTenantNetwork, in.TenantID)

	// 3. Optional data VM on that network.
	if in.DataVM {
		var vm DataVM
		if err := do("data vm", ActivityEnsureDataVM, DataVMInput{TenantID: in.TenantID, Network: res.Network.Name}, &vm); err != nil {
			return res, err
		}
		s.addIf(vm.Created, ActivityDestroyDataVM, in.TenantID)
		res.DataVM = vm.Name
	}

	// 4. Identity: one token per tenant role.
	for _, role := range TenantRoles {
		var token IssuedToken
		if err := do(role+" token", ActivityIssueTenantToken, IssueTokenInput{TenantID: in.TenantID, Role: role}, &token); err != nil {
			return res, err
		}
		s.addIf(token.Created, ActivityRevokeToken, token.TokenID)
		res.Tokens = append(res.Tokens, token)
	}

	// 5. GPU quota with the pool.
	var quota GPUQuotaRegistered
	if err := do("gpu quota", ActivityRegisterGPUQuota, GPUQuotaInput{TenantID: in.TenantID, VGPUs: in.VGPUQuota}, &quota); err != nil {
		return res, err
	}
	s.addIf(quota.PreviousVGPUs != in.VGPUQuota, ActivityRestoreGPUQuota, GPUQuotaInput{TenantID: in.TenantID, VGPUs: quota.PreviousVGPUs})

	if err := do("tenant record", ActivityRecordTenant, RecordTenantInput{
		TenantID: in.TenantID, DisplayName: in.DisplayName, Bucket: bucket.Bucket,
		AccessKey: ident.AccessKey, QuotaBytes: in.StorageQuotaBytes, PIIPolicy: in.PIIPolicy,
	}, nil); err != nil {
		return res, err
	}
	return res, nil
}

// saga records compensating activities to run, newest first, if a later step fails.
type saga struct {
	steps []compensation
}

type compensation struct {
	activity string
	arg      any
}

func (s *saga) add(activity string, arg any) {
	s.steps = append(s.steps, compensation{activity: activity, arg: arg})
}

// addIf records a compensation only for what this run created, so a re-run that
// fails never removes what an earlier run made.
func (s *saga) addIf(created bool, activity string, arg any) {
	if created {
		s.add(activity, arg)
	}
}

// compensate runs every compensation, newest first, on a disconnected
// context so that it completes even when the workflow itself was cancelled,
// and returns the failures of those that did not succeed.
func (s *saga) compensate(ctx workflow.Context) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	actx := shortActivity(dctx, TaskQueueControlPlane)
	var errs []error
	for i := len(s.steps) - 1; i >= 0; i-- {
		step := s.steps[i]
		if err := workflow.ExecuteActivity(actx, step.activity, step.arg).Get(dctx, nil); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", step.activity, err))
		}
	}
	if len(errs) > 0 {
		err := errors.Join(errs...)
		workflow.GetLogger(ctx).Error("compensation incomplete", "err", err)
		return err
	}
	return nil
}
