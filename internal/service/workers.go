package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/dure-platform/dure/activities/gpu"
	"github.com/dure-platform/dure/activities/identity"
	"github.com/dure-platform/dure/activities/network"
	"github.com/dure-platform/dure/activities/quality"
	"github.com/dure-platform/dure/activities/serving"
	"github.com/dure-platform/dure/activities/storage"
	"github.com/dure-platform/dure/activities/training"
	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/internal/pii"
	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/internal/validate"
	"github.com/dure-platform/dure/workers"
	"github.com/dure-platform/dure/workflows"
)

// Worker is a running Temporal worker of one role.
type Worker struct {
	worker  worker.Worker
	closers []func() error
}

// Close stops the worker and releases what the role holds.
func (w *Worker) Close() error {
	w.worker.Stop()
	var errs []error
	for _, c := range slices.Backward(w.closers) {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// ControlPlaneDeps are the control plane's adapters, which differ between the
// embedded default and a deployment on Ceph and KVM.
type ControlPlaneDeps struct {
	// Provisioner creates tenants' S3 identities (the tenant store for the
	// embedded S3, Ceph RGW in production).
	Provisioner storage.IdentityProvisioner
	// Principal names a tenant in bucket policies; nil uses access keys.
	Principal func(tenantID string, cred tenancy.S3Credential) string
	// QualityGatePrincipal names the quality gate in bucket policies.
	QualityGatePrincipal string
	// Hypervisor creates tenant networks and data VMs; nil records VLANs only.
	Hypervisor network.Hypervisor
	// ReplicaAdminToken lets promotion load models on the replicas.
	ReplicaAdminToken string
	// TokenDir receives each new token's plaintext, once.
	TokenDir string
}

// StartControlPlane runs every workflow and the control-plane activities on
// dure-control-plane, makes sure the retraining schedule and the GPUPool
// workflow exist, and gives the platform its first operator and
// platform-admin tokens.
func StartControlPlane(ctx context.Context, b *Base, tc client.Client, deps ControlPlaneDeps) (*Worker, error) {
	platform, platformCred, err := b.OwnerClient(ctx, OwnerPlatform)
	if err != nil {
		return nil, err
	}
	reg := registry.New(platform, b.DB)
	trainer := &training.Activities{S3: platform, Registry: reg, Options: textclf.DefaultOptions(), CodeVersion: b.Config.CodeVersion}
	replicas := map[string]string{}
	for _, r := range b.Config.Replicas {
		replicas[r.Name] = r.URL
	}
	ident := &identity.Activities{Store: b.Store, TokenDir: deps.TokenDir, Audit: b.Audit}
	if n, err := ident.PruneTokenFiles(ctx); err != nil {
		return nil, fmt.Errorf("token files: %w", err)
	} else if n > 0 {
		b.Logger.Info("removed token files of rotated or revoked tokens", "files", n)
	}
	if err := ensurePlatformTokens(ctx, b, deps.TokenDir); err != nil {
		return nil, err
	}
	w := worker.New(tc, workflows.TaskQueueControlPlane, workers.ControlPlaneOptions(b.Codec.DataConverter()))
	workers.RegisterControlPlane(w, workers.ControlPlane{
		Storage: &storage.Activities{
			Provisioner: deps.Provisioner, Credentials: b.Store, Endpoint: b.S3,
			Platform: platformCred, QualityGate: deps.QualityGatePrincipal, Principal: deps.Principal,
		},
		Identity: ident,
		Network:  &network.Activities{Store: b.Store, Plan: tenancy.DefaultVLANPlan(), Hypervisor: deps.Hypervisor},
		GPUQuota: &gpu.QuotaActivities{Store: b.Store, Pool: tc},
		GPULease: &gpu.LeaseActivities{Pool: tc},
		Training: trainer,
		Serving:  &serving.Activities{Replicas: replicas, AdminToken: deps.ReplicaAdminToken, Registry: reg},
	})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start control-plane worker: %w", err)
	}
	installation, err := b.DB.InstallationID(ctx)
	if err != nil {
		return nil, err
	}
	anchors := AuditAnchors{S3: platform, Log: b.Audit, Installation: installation, Logger: b.Logger.With("component", "audit")}
	uploads := AbandonedUploads{Store: b.Store, S3: b.S3, MaxAge: b.Config.MultipartMaxAge, Logger: b.Logger.With("component", "uploads")}
	cp := &Worker{worker: w, closers: []func() error{
		inBackground(ctx, func(ctx context.Context) { anchors.Run(ctx, AuditAnchorEvery) }),
		inBackground(ctx, func(ctx context.Context) { uploads.Run(ctx, SweepUploadsEvery) }),
	}}
	if err := ensureRetrainingSchedule(ctx, tc, b.Config.RetrainCron); err != nil {
		_ = cp.Close()
		return nil, fmt.Errorf("retraining schedule: %w", err)
	}
	if err := ensureGPUPool(ctx, b, tc); err != nil {
		_ = cp.Close()
		return nil, fmt.Errorf("gpu pool: %w", err)
	}
	return cp, nil
}

// inBackground runs loop, past the start-up context, until the closer it
// returns stops it and waits for it to return.
func inBackground(ctx context.Context, loop func(context.Context)) func() error {
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop(ctx)
	}()
	return func() error {
		stop()
		<-done
		return nil
	}
}

// AuditAnchorEvery is how often the control plane anchors the audit log's
// head outside the database.
const AuditAnchorEvery = time.Minute

// ensurePlatformTokens writes an operator and a platform-admin token once
// (mode 0600) to the token dir, so a new platform has someone who may act.
func ensurePlatformTokens(ctx context.Context, b *Base, dir string) error {
	for _, role := range []tenancy.Role{tenancy.RoleOperator, tenancy.RolePlatformAdmin} {
		path := identity.TokenFile(dir, "platform", string(role))
		if _, err := os.Stat(path); err == nil {
			continue
		}
		plain, tok, err := b.Store.IssueToken(ctx, "", role)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(plain+"\n"), 0o600); err != nil {
			_ = b.Store.RevokeToken(ctx, tok.ID)
			return err
		}
		if err := b.Audit.Append(ctx, audit.Event{Action: audit.ActionGrant, Actor: "control-plane", Subject: "token:" + tok.ID, Detail: "role " + string(role)}); err != nil {
			return err
		}
	}
	return nil
}

// ensureRetrainingSchedule creates the retraining schedule, or brings an
// existing one's cron spec in line with the configuration, so starting twice
// changes nothing.
func ensureRetrainingSchedule(ctx context.Context, tc client.Client, cron string) error {
	if cron == "" {
		return nil
	}
	spec := client.ScheduleSpec{CronExpressions: []string{cron}}
	sc := tc.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:   workflows.RetrainingScheduleID,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{
			ID: "retraining", Workflow: workflows.TypeRetraining, TaskQueue: workflows.TaskQueueControlPlane,
			Args: []any{workflows.RetrainingInput{}},
		},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return err
	}
	return sc.GetHandle(ctx, workflows.RetrainingScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			in.Description.Schedule.Spec = &spec
			return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
		},
	})
}

// ensureGPUPool starts the GPUPool entity workflow unless it runs already.
// It starts with no hosts: each GPU host agent registers its own inventory
// and renews it, and a host silent for longer than the host TTL is lost (its
// leases end and its GPUs leave scheduling). GPUs are offered whole or as
// four H100-20C vGPU slices; tenant quotas are in slices. The platform's
// shared training holds no quota: it borrows.
func ensureGPUPool(ctx context.Context, b *Base, tc client.Client) error {
	quotas, err := b.Store.GPUQuotas(ctx)
	if err != nil {
		return err
	}
	tenants := []gpupool.TenantConfig{{Name: workflows.DefaultGPUTenant, Quota: 0}}
	for tenant, q := range quotas {
		tenants = append(tenants, gpupool.TenantConfig{Name: tenant, Quota: q})
	}
	slices.SortFunc(tenants, func(a, b gpupool.TenantConfig) int { return strings.Compare(a.Name, b.Name) })
	_, err = tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.GPUPoolWorkflowID, TaskQueue: workflows.TaskQueueControlPlane,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.TypeGPUPool, workflows.GPUPoolInput{
		UnitsPerGPU: gpu.DefaultVGPUSlices, Profile: gpu.DefaultVGPUProfile, SlicesPerGPU: gpu.DefaultVGPUSlices,
		HostTTLSeconds: int(b.Config.GPUHostTTL.Seconds()), Tenants: tenants,
	})
	return err
}

// StartQualityGate runs the activities that read raw tenant data, on
// dure-quality-gate, as the quality-gate S3 identity.
func StartQualityGate(ctx context.Context, b *Base, tc client.Client) (*Worker, error) {
	gate, _, err := b.OwnerClient(ctx, OwnerQualityGate)
	if err != nil {
		return nil, err
	}
	work := filepath.Join(b.Config.DataDir, "work", "quality-gate")
	if err := quality.CleanWorkDir(work); err != nil {
		return nil, fmt.Errorf("quality-gate work dir: %w", err)
	}
	w := worker.New(tc, workflows.TaskQueueQualityGate, worker.Options{})
	workers.RegisterQualityGate(w, &quality.Activities{
		S3: gate, Detector: pii.NewDetector(), Rules: validate.DefaultRules(), Policies: tenantPolicies{store: b.Store},
		WorkDir: work, MemoryBudget: int64(b.Config.GateMemoryBudgetMiB) << 20,
	})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start quality-gate worker: %w", err)
	}
	return &Worker{worker: w}, nil
}

// tenantPolicies gives each tenant the masking policy named in its record,
// with the tenant's own pseudonym key from the metadata database, so one
// person maps to one token within a tenant, on every quality-gate host, and
// to different ones across tenants.
type tenantPolicies struct {
	store *tenancy.Store
}

func (p tenantPolicies) PolicyFor(ctx context.Context, tenantID string) (pii.Policy, error) {
	t, err := p.store.Tenant(ctx, tenantID)
	if err != nil && !errors.Is(err, tenancy.ErrNotFound) {
		return nil, err
	}
	key, err := p.store.TenantKey(ctx, tenantID, tenancy.KeyPurposeMasking)
	if err != nil {
		return nil, err
	}
	return pii.ParsePolicy(t.PIIPolicy, key)
}

// GPUHostDeps are a GPU host agent's adapters.
type GPUHostDeps struct {
	// Inventory reads the host's GPUs (NVML, or a simulated inventory).
	Inventory gpu.Source
	// TrainerCommand runs `dure train-job` as its own process.
	TrainerCommand []string
}

// trainerOptions are the host's hyperparameters: the defaults, or the
// trainer options file over them.
func trainerOptions(cfg config.Config) (textclf.Options, error) {
	if cfg.TrainerOptionsFile == "" {
		return textclf.DefaultOptions(), nil
	}
	return textclf.LoadOptions(cfg.TrainerOptionsFile)
}

// StartGPUHost runs the activities bound to one GPU host on dure-gpu-<host>:
// the trainer (as its own process) and the host's inventory. It registers
// the inventory with the GPUPool workflow and keeps renewing it, and exports
// the host's GPUs as metrics, with the tenant of each lease from the pool.
func StartGPUHost(ctx context.Context, b *Base, tc client.Client, host string, deps GPUHostDeps) (*Worker, error) {
	platform, _, err := b.OwnerClient(ctx, OwnerPlatform)
	if err != nil {
		return nil, err
	}
	opts, err := trainerOptions(b.Config)
	if err != nil {
		return nil, err
	}
	trainer := &training.Activities{
		S3: platform, Registry: registry.New(platform, b.DB), WorkDir: filepath.Join(b.Config.DataDir, "work", host),
		Options: opts, TrainerCommand: deps.TrainerCommand, CodeVersion: b.Config.CodeVersion,
		CheckpointEvery: b.Config.CheckpointEveryEpochs,
		Logger:          b.Logger.With("component", "trainer", "gpu_host", host),
	}
	if n, err := training.CleanWorkDir(trainer.WorkDir); err != nil {
		return nil, fmt.Errorf("gpu-host work dir: %w", err)
	} else if n > 0 {
		b.Logger.Info("removed the scratch folders of killed training attempts", "gpu_host", host, "folders", n)
	}
	b.Metrics.MustRegister(gpu.NewCollector(host, deps.Inventory, gpu.CollectorOptions{Logger: b.Logger, Leases: poolLeases(tc)}))
	w := worker.New(tc, workflows.GPUHostTaskQueue(host), worker.Options{})
	workers.RegisterGPUHost(w, trainer, &gpu.Activities{Host: host, Source: deps.Inventory})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start gpu-host worker: %w", err)
	}
	registrar := &gpu.HostRegistrar{Host: host, Source: deps.Inventory, Pool: tc, Logger: b.Logger.With("component", "gpu-registrar")}
	regCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- registrar.Run(regCtx) }()
	return &Worker{worker: w, closers: []func() error{func() error {
		stop()
		return <-done
	}}}, nil
}

// poolLeases says, for the metrics, who holds each GPU of a host, as the
// GPUPool workflow's allocation query answers (its GPU ids are "<host>/<index>").
func poolLeases(tc client.Client) gpu.LeaseLookup {
	return func(ctx context.Context, host string, _ []gpu.GPU) (map[int][]gpu.Lease, error) {
		resp, err := tc.QueryWorkflow(ctx, workflows.GPUPoolWorkflowID, "", workflows.QueryGPUAllocation)
		if err != nil {
			return nil, fmt.Errorf("query gpu pool: %w", err)
		}
		var alloc workflows.GPUAllocation
		if err := resp.Get(&alloc); err != nil {
			return nil, err
		}
		out := map[int][]gpu.Lease{}
		for _, g := range alloc.GPUs {
			_, index, ok := strings.Cut(g.GPU, "/")
			i, err := strconv.Atoi(index)
			if g.Host != host || !ok || err != nil {
				continue
			}
			for _, l := range g.Leases {
				out[i] = append(out[i], gpu.Lease{ID: l.Lease, Tenant: l.Tenant})
			}
		}
		return out, nil
	}
}
