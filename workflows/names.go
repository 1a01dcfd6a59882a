// Package workflows holds dure's deterministic workflow code: one file per
// workflow with its input and result types, and the names of the activities,
// signals, updates and queries it uses. Activities are called by name so that this
// package never imports an adapter.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Workflow types: the names the Temporal UI shows and clients start.
const (
	TypeTenantOnboarding  = "TenantOnboarding"
	TypeTenantOffboarding = "TenantOffboarding"
	TypeDataIngestion     = "DataIngestion"
	TypeTraining          = "Training"
	TypeModelPromotion    = "ModelPromotion"
	TypeRetraining        = "Retraining"
	TypeGPUPool           = "GPUPool"
	TypeTenantKeyRotation = "TenantKeyRotation"
)

// Task queues; package workers says what runs on each.
const (
	// TaskQueueControlPlane runs every workflow and the control-plane activities.
	TaskQueueControlPlane = "dure-control-plane"
	// TaskQueueQualityGate runs the activities that read raw tenant data.
	TaskQueueQualityGate = "dure-quality-gate"
	// TaskQueueGPUHostPrefix + host name runs the activities bound to one GPU host.
	TaskQueueGPUHostPrefix = "dure-gpu-"
)

// GPUHostTaskQueue is the task queue of one GPU host.
func GPUHostTaskQueue(host string) string { return TaskQueueGPUHostPrefix + host }

// Activity names, registered by the structs in activities/.
const (
	ActivityEnsureStorageIdentity = "EnsureStorageIdentity"
	ActivityDeleteStorageIdentity = "DeleteStorageIdentity"
	ActivityEnsureTenantBucket    = "EnsureTenantBucket"
	ActivityDeleteTenantBucket    = "DeleteTenantBucket"
	ActivityRotateStorageKey      = "RotateStorageKey"
	ActivityIssueTenantToken      = "IssueTenantToken"
	ActivityRevokeToken           = "RevokeToken"
	ActivityRecordTenant          = "RecordTenant"
	ActivityAuditDecision         = "AuditDecision"
	ActivityRevokeTenantTokens    = "RevokeTenantTokens"
	ActivityDeleteTenantRecord    = "DeleteTenantRecord"

	ActivityAllocateVLAN        = "AllocateVLAN"
	ActivityReleaseVLAN         = "ReleaseVLAN"
	ActivityEnsureTenantNetwork = "EnsureTenantNetwork"
	ActivityDeleteTenantNetwork = "DeleteTenantNetwork"
	ActivityEnsureDataVM        = "EnsureDataVM"
	ActivityDestroyDataVM       = "DestroyDataVM"
	ActivityRegisterGPUQuota    = "RegisterGPUQuota"
	ActivityRestoreGPUQuota     = "RestoreGPUQuota"
	ActivityGPUInventory        = "GPUInventory"
	ActivityRequestGPULease     = "RequestGPULease"

	ActivityScreenUpload   = "ScreenUpload"
	ActivityPublishDataset = "PublishDataset"

	ActivityListDatasets  = "ListDatasets"
	ActivityTrainModel    = "TrainModel"
	ActivityRegisterModel = "RegisterModel"

	ActivityChampionLineage = "ChampionLineage"

	ActivityListReplicas     = "ListReplicas"
	ActivityLoadModelVersion = "LoadModelVersion"
	ActivitySetModelAlias    = "SetModelAlias"
)

// shortActivity suits quick, idempotent calls to an outside system.
func shortActivity(ctx workflow.Context, taskQueue string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           taskQueue,
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    10,
		},
	})
}

// longActivity suits work that reports progress by heartbeats.
func longActivity(ctx workflow.Context, taskQueue string, limit time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           taskQueue,
		StartToCloseTimeout: limit,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    5,
		},
	})
}

// MemoTenant is the memo key naming the tenant a workflow works for, so the
// gateway can show a tenant its own workflows and no other.
const MemoTenant = "tenant"

func tagTenant(ctx workflow.Context, tenantID string) error {
	return workflow.UpsertMemo(ctx, map[string]any{MemoTenant: tenantID})
}

// TenantOnboardingID is the onboarding workflow of a tenant: starting it again
// attaches to the run in progress or repeats a finished one idempotently.
func TenantOnboardingID(tenantID string) string { return "tenant-onboarding-" + tenantID }

// DataIngestionID names the ingestion of one uploaded object.
func DataIngestionID(tenantID, objectKey string) string {
	return "data-ingestion-" + tenantID + "-" + strings.NewReplacer("/", "-", ".", "-").Replace(objectKey)
}

// TrainingID names a training by its intent: the datasets (in any order),
// the split and the seed. A client that starts it again, after its own
// restart, attaches to the run in progress or finds the finished one, so one
// intent never trains twice. A training on every approved dataset names
// "the data approved so far": one such run at a time.
func TrainingID(in TrainingInput) string {
	if len(in.DatasetIDs) == 0 {
		return "training-approved-data"
	}
	ids := slices.Sorted(slices.Values(in.DatasetIDs))
	intent := strings.Join(ids, "\n") + "\n" + strconv.FormatFloat(in.HoldoutFraction, 'g', -1, 64) + "\n" + strconv.FormatInt(in.Seed, 10)
	sum := sha256.Sum256([]byte(intent))
	return "training-" + hex.EncodeToString(sum[:8])
}

// ModelPromotionID names the promotion of one model version.
func ModelPromotionID(version int) string { return fmt.Sprintf("model-promotion-v%d", version) }
