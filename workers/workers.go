// Package workers says which workflows and activities run on which task queue.
// It only registers; the activities' structs carry their clients.
package workers

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/activities/gpu"
	"github.com/dure-platform/dure/activities/identity"
	"github.com/dure-platform/dure/activities/network"
	"github.com/dure-platform/dure/activities/quality"
	"github.com/dure-platform/dure/activities/serving"
	"github.com/dure-platform/dure/activities/storage"
	"github.com/dure-platform/dure/activities/training"
	"github.com/dure-platform/dure/workflows"
)

// Registry is the part of a worker that registrations need.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

var _ Registry = worker.Worker(nil)

// ControlPlane holds the activities of the control-plane queue.
type ControlPlane struct {
	Storage  *storage.Activities
	Identity *identity.Activities
	Network  *network.Activities
	GPUQuota *gpu.QuotaActivities
	GPULease *gpu.LeaseActivities
	Training *training.Activities
	Serving  *serving.Activities
}

// ControlPlaneOptions are the control-plane worker's options: its workflows
// learn who sent a decision from the Temporal frontend, through dc, the
// client's data converter.
func ControlPlaneOptions(dc converter.DataConverter) worker.Options {
	return worker.Options{Interceptors: []interceptor.WorkerInterceptor{workflows.DecisionSenders(dc)}}
}

// WorkflowRegistry is the part of a worker, or of a replayer, that
// registers workflows.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows registers every workflow under its type name: on the
// control-plane worker, and on the replayer that checks recorded histories.
func RegisterWorkflows(r WorkflowRegistry) {
	for name, wf := range map[string]any{
		workflows.TypeTenantOnboarding:  workflows.TenantOnboarding,
		workflows.TypeTenantOffboarding: workflows.TenantOffboarding,
		workflows.TypeDataIngestion:     workflows.DataIngestion,
		workflows.TypeTraining:          workflows.Training,
		workflows.TypeModelPromotion:    workflows.ModelPromotion,
		workflows.TypeRetraining:        workflows.Retraining,
		workflows.TypeGPUPool:           workflows.GPUPool,
		workflows.TypeTenantKeyRotation: workflows.TenantKeyRotation,
	} {
		r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: name})
	}
}

// RegisterControlPlane registers every workflow and the control-plane activities.
func RegisterControlPlane(r Registry, a ControlPlane) {
	RegisterWorkflows(r)
	register(r, map[string]any{
		workflows.ActivityEnsureStorageIdentity: a.Storage.EnsureStorageIdentity,
		workflows.ActivityDeleteStorageIdentity: a.Storage.DeleteStorageIdentity,
		workflows.ActivityEnsureTenantBucket:    a.Storage.EnsureTenantBucket,
		workflows.ActivityDeleteTenantBucket:    a.Storage.DeleteTenantBucket,
		workflows.ActivityRotateStorageKey:      a.Storage.RotateStorageKey,
		workflows.ActivityIssueTenantToken:      a.Identity.IssueTenantToken,
		workflows.ActivityRevokeToken:           a.Identity.RevokeToken,
		workflows.ActivityRecordTenant:          a.Identity.RecordTenant,
		workflows.ActivityAuditDecision:         a.Identity.AuditDecision,
		workflows.ActivityRevokeTenantTokens:    a.Identity.RevokeTenantTokens,
		workflows.ActivityDeleteTenantRecord:    a.Identity.DeleteTenantRecord,
		workflows.ActivityAllocateVLAN:          a.Network.AllocateVLAN,
		workflows.ActivityReleaseVLAN:           a.Network.ReleaseVLAN,
		workflows.ActivityEnsureTenantNetwork:   a.Network.EnsureTenantNetwork,
		workflows.ActivityDeleteTenantNetwork:   a.Network.DeleteTenantNetwork,
		workflows.ActivityEnsureDataVM:          a.Network.EnsureDataVM,
		workflows.ActivityDestroyDataVM:         a.Network.DestroyDataVM,
		workflows.ActivityRegisterGPUQuota:      a.GPUQuota.RegisterGPUQuota,
		workflows.ActivityRestoreGPUQuota:       a.GPUQuota.RestoreGPUQuota,
		workflows.ActivityRequestGPULease:       a.GPULease.RequestGPULease,
		workflows.ActivityListDatasets:          a.Training.ListDatasets,
		workflows.ActivityRegisterModel:         a.Training.RegisterModel,
		workflows.ActivityChampionLineage:       a.Training.ChampionLineage,
		workflows.ActivityListReplicas:          a.Serving.ListReplicas,
		workflows.ActivityLoadModelVersion:      a.Serving.LoadModelVersion,
		workflows.ActivitySetModelAlias:         a.Serving.SetModelAlias,
	})
}

// RegisterQualityGate registers the activities that touch raw tenant data.
func RegisterQualityGate(r Registry, a *quality.Activities) {
	register(r, map[string]any{
		workflows.ActivityScreenUpload:   a.ScreenUpload,
		workflows.ActivityPublishDataset: a.PublishDataset,
	})
}

// RegisterGPUHost registers the activities bound to one GPU host: NVML is
// host-local, and the trainer runs where its GPU is.
func RegisterGPUHost(r Registry, a *training.Activities, inventory *gpu.Activities) {
	register(r, map[string]any{
		workflows.ActivityTrainModel:   a.TrainModel,
		workflows.ActivityGPUInventory: inventory.GPUInventory,
	})
}

func register(r Registry, acts map[string]any) {
	for name, fn := range acts {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}
