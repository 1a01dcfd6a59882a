package service

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dure-platform/dure/activities/cephadmin"
	"github.com/dure-platform/dure/activities/hypervisor"
	"github.com/dure-platform/dure/activities/network"
	"github.com/dure-platform/dure/activities/storage"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
)

// ProductionControlPlane connects the control plane's adapters for a
// deployment: Ceph (tenants get their own pools, users and placements through
// RGW Admin Ops and the ceph CLI) and, when libvirt-uri is set, the
// hypervisor. The returned function closes what it opened.
func ProductionControlPlane(ctx context.Context, b *Base) (ControlPlaneDeps, func() error, error) {
	env, err := cephadmin.LoadEnv(b.Config.CephEnvFile)
	if err != nil {
		return ControlPlaneDeps{}, nil, err
	}
	logger := b.Logger.With("component", "ceph")
	admin, cluster, err := env.Open(logger)
	if err != nil {
		return ControlPlaneDeps{}, nil, fmt.Errorf("ceph: %w", err)
	}
	gateUID, err := ProvisionCephPlatform(ctx, b, admin, cluster, env.RGWEndpoint)
	if err != nil {
		return ControlPlaneDeps{}, nil, err
	}
	deps := ControlPlaneDeps{
		Provisioner: storage.CephProvisioner{
			Tenants: cephadmin.NewTenantStorage(admin, cluster, cephadmin.TenantStorageConfig{Logger: logger}),
			Store:   b.Store,
			Keys:    admin,
		},
		Principal:            func(tenantID string, _ tenancy.S3Credential) string { return storage.RGWPrincipal(tenantID) },
		QualityGatePrincipal: storage.RGWPrincipal(gateUID),
		TokenDir:             TokenDir(b.Config.DataDir),
	}
	hv, closeHV, err := OpenHypervisor(ctx, b.Config, b.Logger)
	if err != nil {
		return ControlPlaneDeps{}, nil, err
	}
	deps.Hypervisor = hv
	return deps, closeHV, nil
}

// OpenHypervisor connects to libvirt-uri for tenant networks and data VMs;
// without one it returns no hypervisor, and onboarding records VLANs only.
// The returned function closes the connection.
func OpenHypervisor(ctx context.Context, cfg config.Config, logger *slog.Logger) (network.Hypervisor, func() error, error) {
	if cfg.LibvirtURI == "" {
		return nil, func() error { return nil }, nil
	}
	conn, err := hypervisor.Dial(ctx, hypervisor.Config{URI: cfg.LibvirtURI, Logger: logger.With("component", "hypervisor")})
	if err != nil {
		return nil, nil, err
	}
	return hypervisor.Tenants{Conn: conn, Bridge: cfg.LibvirtBridge}, conn.Close, nil
}

// ProvisionCephPlatform puts the platform's buckets on their Ceph pools
// (cephadmin.PlatformStorage: ai-training and checkpoints on
// ai-training-pool, model-registry on model-registry-pool, staging and
// quarantine on staging-pool), stores the platform's and the quality gate's
// RGW keys sealed in the metadata database for the other services, and lets
// the platform read the approved training sets the quality gate owns. It is
// idempotent: the control plane runs it at every start. It returns the quality
// gate's RGW uid, which tenant bucket policies grant read access to.
func ProvisionCephPlatform(ctx context.Context, b *Base, admin *cephadmin.AdminOps, cluster *cephadmin.Cluster, rgwEndpoint string) (string, error) {
	buckets, err := cephadmin.NewRGWBuckets(rgwEndpoint, nil, b.Logger)
	if err != nil {
		return "", err
	}
	ps, err := cephadmin.NewPlatformStorage(admin, cluster, buckets, cephadmin.PlatformStorageConfig{Logger: b.Logger.With("component", "ceph")})
	if err != nil {
		return "", err
	}
	got, err := ps.Ensure(ctx)
	if err != nil {
		return "", fmt.Errorf("platform storage on ceph: %w", err)
	}
	layout := ps.Layout()
	for owner, role := range map[string]cephadmin.PlatformRole{OwnerPlatform: cephadmin.RolePlatform, OwnerQualityGate: cephadmin.RoleQualityGate} {
		key := got.Credential(role)
		err := b.Store.PutS3Credential(ctx, tenancy.S3Credential{AccessKey: key.AccessKey, SecretKey: key.SecretKey, Owner: owner, Role: storage.S3RoleCephUser})
		if err != nil {
			return "", err
		}
	}
	gate, err := b.S3Client(tenancy.S3Credential{AccessKey: got.QualityGate.AccessKey, SecretKey: got.QualityGate.SecretKey})
	if err != nil {
		return "", err
	}
	// Training and the gateway's dataset listing read ai-training as the platform.
	policy, err := storage.ReadGrantPolicy(objstore.BucketAITraining, storage.RGWPrincipal(layout.QualityGate.UID), storage.RGWPrincipal(layout.Platform.UID))
	if err != nil {
		return "", err
	}
	if err := gate.SetBucketPolicy(ctx, objstore.BucketAITraining, policy); err != nil {
		return "", fmt.Errorf("policy of %s: %w", objstore.BucketAITraining, err)
	}
	return layout.QualityGate.UID, nil
}
