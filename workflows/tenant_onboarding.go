package workflows

import (
	"errors"
	"fmt"
	"regexp"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// TenantOnboardingInput is what an operator pastes into the UI.
type TenantOnboardingInput struct {
	TenantID          string `json:"tenant_id"`
	DisplayName       string `json:"display_name"`
	StorageQuotaBytes int64  `json:"storage_quota_bytes,omitempty"`
}

// TenantOnboardingResult names what was created; the API token itself never
// enters workflow history, only its id and the file it was written to.
type TenantOnboardingResult struct {
	TenantID    string `json:"tenant_id"`
	Bucket      string `json:"bucket"`
	S3AccessKey string `json:"s3_access_key"`
	TokenID     string `json:"token_id"`
	TokenFile   string `json:"token_file"`
}

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
}

// DefaultStorageQuotaBytes applies when the input names no quota.
const DefaultStorageQuotaBytes = 10 << 30

var tenantIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`)

// ErrBadInput marks input errors, which retrying cannot fix.
const ErrBadInput = "BadInput"

func (in TenantOnboardingInput) validate() error {
	if !tenantIDPattern.MatchString(in.TenantID) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("tenant_id %q: use 3-32 lowercase letters, digits or '-', starting with a letter", in.TenantID),
			ErrBadInput, nil)
	}
	if in.StorageQuotaBytes < 0 {
		return temporal.NewNonRetryableApplicationError("storage_quota_bytes must not be negative", ErrBadInput, nil)
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
		s.compensate(ctx)
		return TenantOnboardingResult{}, err
	}
	return res, nil
}

func runOnboarding(ctx workflow.Context, in TenantOnboardingInput, s *saga) (TenantOnboardingResult, error) {
	actx := shortActivity(ctx, TaskQueueControlPlane)
	logger := workflow.GetLogger(ctx)

	var ident StorageIdentity
	err := workflow.ExecuteActivity(actx, ActivityEnsureStorageIdentity,
		TenantStorageInput{TenantID: in.TenantID, QuotaBytes: in.StorageQuotaBytes}).Get(ctx, &ident)
	if err != nil {
		return TenantOnboardingResult{}, fmt.Errorf("storage identity: %w", err)
	}
	if ident.Created {
		s.add(ActivityDeleteStorageIdentity, in.TenantID)
	}
	logger.Info("storage identity ready", "tenant", in.TenantID, "access_key", ident.AccessKey)

	var bucket TenantBucket
	err = workflow.ExecuteActivity(actx, ActivityEnsureTenantBucket,
		TenantBucketInput{TenantID: in.TenantID, QuotaBytes: in.StorageQuotaBytes}).Get(ctx, &bucket)
	if err != nil {
		return TenantOnboardingResult{}, fmt.Errorf("tenant bucket: %w", err)
	}
	if bucket.Created {
		s.add(ActivityDeleteTenantBucket, in.TenantID)
	}

	var token IssuedToken
	err = workflow.ExecuteActivity(actx, ActivityIssueTenantToken,
		IssueTokenInput{TenantID: in.TenantID, Role: "tenant-client"}).Get(ctx, &token)
	if err != nil {
		return TenantOnboardingResult{}, fmt.Errorf("api token: %w", err)
	}
	if token.Created {
		s.add(ActivityRevokeToken, token.TokenID)
	}

	err = workflow.ExecuteActivity(actx, ActivityRecordTenant, RecordTenantInput{
		TenantID: in.TenantID, DisplayName: in.DisplayName, Bucket: bucket.Bucket,
		AccessKey: ident.AccessKey, QuotaBytes: in.StorageQuotaBytes,
	}).Get(ctx, nil)
	if err != nil {
		return TenantOnboardingResult{}, fmt.Errorf("tenant record: %w", err)
	}
	return TenantOnboardingResult{
		TenantID: in.TenantID, Bucket: bucket.Bucket, S3AccessKey: ident.AccessKey,
		TokenID: token.TokenID, TokenFile: token.TokenFile,
	}, nil
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

// compensate runs on a disconnected context so that it completes even when the
// workflow itself was cancelled.
func (s *saga) compensate(ctx workflow.Context) {
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
		workflow.GetLogger(ctx).Error("compensation incomplete", "err", errors.Join(errs...))
	}
}
