package cephadmin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
)

// UserAdmin is the part of AdminOps that TenantStorage uses.
type UserAdmin interface {
	EnsureUser(ctx context.Context, spec UserSpec) (Credential, bool, error)
	DeleteUser(ctx context.Context, uid string, purgeData bool) error
	SetUserQuota(ctx context.Context, uid string, q Quota) error
	SetBucketQuota(ctx context.Context, uid string, q Quota) error
}

// ClusterAdmin is the part of Cluster that TenantStorage uses.
type ClusterAdmin interface {
	EnsurePool(ctx context.Context, name string, pgNum int, quotaBytes int64) (bool, error)
	DeletePool(ctx context.Context, name string) (bool, error)
	EnsurePlacementTarget(ctx context.Context, t PlacementTarget) (bool, error)
	RemovePlacementTarget(ctx context.Context, id string) (bool, error)
	SetUserPlacement(ctx context.Context, uid, defaultPlacement string, tags []string) error
}

// TenantNames are the Ceph names of one tenant's storage.
type TenantNames struct {
	User      string // RGW user id: the tenant id
	Placement string // placement target id and its tag: tenant-<id>
	DataPool  string // tenant-<id>-pool
	IndexPool string // tenant-<id>.index
	ExtraPool string // tenant-<id>.non-ec (multipart uploads in progress)
}

// NamesFor returns the names of tenant id's storage. The data pool follows the
// design's tenant-X-pool; the index and extra pools follow RGW's own naming.
func NamesFor(id string) TenantNames {
	p := "tenant-" + id
	return TenantNames{User: id, Placement: p, DataPool: p + "-pool", IndexPool: p + ".index", ExtraPool: p + ".non-ec"}
}

// Pools lists the tenant's pools, data pool first.
func (n TenantNames) Pools() []string { return []string{n.DataPool, n.IndexPool, n.ExtraPool} }

// TenantSpec is what a tenant gets.
type TenantSpec struct {
	ID          string // e.g. "suwon"
	DisplayName string // e.g. "수원시"; defaults to ID
	// QuotaBytes is the tenant-facing storage limit, enforced by RGW as both the
	// user quota and the per-bucket quota. Required.
	QuotaBytes int64
	// MaxObjects limits objects the same way; 0 means no limit.
	MaxObjects int64
	// MaxBuckets is how many buckets the tenant may own (default 10).
	MaxBuckets int
}

// tenantIDPattern matches the platform's tenant ids (internal/tenancy), which
// must be valid in bucket, pool and user names at once.
var tenantIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`)

func (s TenantSpec) validate() error {
	if !tenantIDPattern.MatchString(s.ID) {
		return fmt.Errorf("tenant id %q: %w", s.ID, ErrInvalidArgument)
	}
	if s.QuotaBytes <= 0 {
		return fmt.Errorf("tenant %s: quota %d bytes: %w", s.ID, s.QuotaBytes, ErrInvalidArgument)
	}
	if s.MaxObjects < 0 || s.MaxBuckets < 0 {
		return fmt.Errorf("tenant %s: negative limit: %w", s.ID, ErrInvalidArgument)
	}
	return nil
}

// TenantStorageConfig tunes TenantStorage.
type TenantStorageConfig struct {
	// PGNum is the placement-group count of each tenant pool (default 8, right
	// for a small cluster; size it for the OSD count in production).
	PGNum int
	// PoolQuotaFactor sizes the data pool's quota as this multiple of the
	// tenant quota (default 2). RGW quotas are the limit tenants see: they fail
	// the one write that exceeds them. A pool quota applies late and, once hit,
	// makes RGW writes hang rather than fail, so it is only a backstop, with
	// headroom for RGW's own overhead and quota-check lag.
	PoolQuotaFactor int64
	Logger          *slog.Logger
}

// TenantStorage provisions a tenant's storage on Ceph: its own pools, a tagged
// placement target on them, an RGW user confined to that placement, and quotas.
// Every step is idempotent and reports what it created, so a saga can undo
// exactly that.
type TenantStorage struct {
	users   UserAdmin
	cluster ClusterAdmin
	pgNum   int
	factor  int64
	log     *slog.Logger
}

// NewTenantStorage returns a TenantStorage over users (AdminOps) and cluster (Cluster).
func NewTenantStorage(users UserAdmin, cluster ClusterAdmin, cfg TenantStorageConfig) *TenantStorage {
	s := &TenantStorage{users: users, cluster: cluster, pgNum: cfg.PGNum, factor: cfg.PoolQuotaFactor, log: cfg.Logger}
	if s.pgNum <= 0 {
		s.pgNum = 8
	}
	if s.factor <= 0 {
		s.factor = 2
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// PoolQuotaBytes is the data pool quota TenantStorage gives a tenant.
func (s *TenantStorage) PoolQuotaBytes(spec TenantSpec) int64 { return spec.QuotaBytes * s.factor }

// Provisioned reports what Onboard did. The Created fields name only what this
// run made; the rest already existed.
type Provisioned struct {
	TenantID string
	Names    TenantNames
	// Credential is the tenant's S3 key. Secret: keep it out of logs and
	// workflow histories (String and LogValue redact it).
	Credential       Credential
	CreatedPools     []string
	CreatedPlacement bool
	CreatedUser      bool
}

// Created reports whether this run created anything.
func (p Provisioned) Created() bool {
	return len(p.CreatedPools) > 0 || p.CreatedPlacement || p.CreatedUser
}

// EnsurePools creates the tenant's data, index and extra pools, the data pool
// with its backstop quota; created lists the pools this call made.
func (s *TenantStorage) EnsurePools(ctx context.Context, spec TenantSpec) (created []string, err error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	n := NamesFor(spec.ID)
	quotas := map[string]int64{n.DataPool: s.PoolQuotaBytes(spec)}
	for _, pool := range n.Pools() {
		made, err := s.cluster.EnsurePool(ctx, pool, s.pgNum, quotas[pool])
		if made {
			created = append(created, pool)
		}
		if err != nil {
			return created, fmt.Errorf("tenant %s: %w", spec.ID, err)
		}
	}
	return created, nil
}

// EnsurePlacement creates the tenant's placement target on its pools, tagged
// so that only the tenant's user can place buckets there.
func (s *TenantStorage) EnsurePlacement(ctx context.Context, spec TenantSpec) (created bool, err error) {
	if err := spec.validate(); err != nil {
		return false, err
	}
	n := NamesFor(spec.ID)
	created, err = s.cluster.EnsurePlacementTarget(ctx, PlacementTarget{
		ID:            n.Placement,
		DataPool:      n.DataPool,
		IndexPool:     n.IndexPool,
		DataExtraPool: n.ExtraPool,
		Tags:          []string{n.Placement},
	})
	if err != nil {
		return created, fmt.Errorf("tenant %s: %w", spec.ID, err)
	}
	return created, nil
}

// EnsureUser creates the tenant's RGW user with the tenant placement as its
// default and its only placement tag, or converges an existing one.
func (s *TenantStorage) EnsureUser(ctx context.Context, spec TenantSpec) (Credential, bool, error) {
	if err := spec.validate(); err != nil {
		return Credential{}, false, err
	}
	n := NamesFor(spec.ID)
	maxBuckets := spec.MaxBuckets
	if maxBuckets == 0 {
		maxBuckets = 10
	}
	us := UserSpec{
		UID:              n.User,
		DisplayName:      spec.DisplayName,
		DefaultPlacement: n.Placement,
		PlacementTags:    []string{n.Placement},
		MaxBuckets:       maxBuckets,
	}
	cred, created, err := s.users.EnsureUser(ctx, us)
	if errors.Is(err, ErrPlacementNotApplied) {
		// This RGW's Admin Ops does not modify placement; the metadata API does.
		err = s.cluster.SetUserPlacement(ctx, us.UID, us.DefaultPlacement, us.PlacementTags)
		if err == nil {
			cred, created, err = s.users.EnsureUser(ctx, us)
		}
	}
	if err != nil {
		return cred, created, fmt.Errorf("tenant %s: %w", spec.ID, err)
	}
	return cred, created, nil
}

// ApplyQuotas sets the tenant's user quota and bucket quota to its quota.
func (s *TenantStorage) ApplyQuotas(ctx context.Context, spec TenantSpec) error {
	if err := spec.validate(); err != nil {
		return err
	}
	q := Quota{Enabled: true, MaxSizeBytes: spec.QuotaBytes, MaxObjects: -1}
	if spec.MaxObjects > 0 {
		q.MaxObjects = spec.MaxObjects
	}
	uid := NamesFor(spec.ID).User
	if err := s.users.SetUserQuota(ctx, uid, q); err != nil {
		return fmt.Errorf("tenant %s: %w", spec.ID, err)
	}
	if err := s.users.SetBucketQuota(ctx, uid, q); err != nil {
		return fmt.Errorf("tenant %s: %w", spec.ID, err)
	}
	return nil
}

// Onboard runs every step in order: pools, placement, user, quotas. On error
// the result still lists what this run created, for Compensate.
func (s *TenantStorage) Onboard(ctx context.Context, spec TenantSpec) (Provisioned, error) {
	p := Provisioned{TenantID: spec.ID, Names: NamesFor(spec.ID)}
	var err error
	if p.CreatedPools, err = s.EnsurePools(ctx, spec); err != nil {
		return p, err
	}
	if p.CreatedPlacement, err = s.EnsurePlacement(ctx, spec); err != nil {
		return p, err
	}
	if p.Credential, p.CreatedUser, err = s.EnsureUser(ctx, spec); err != nil {
		return p, err
	}
	if err = s.ApplyQuotas(ctx, spec); err != nil {
		return p, err
	}
	s.log.InfoContext(ctx, "tenant storage ready", "tenant", spec.ID, "placement", p.Names.Placement,
		"created_pools", p.CreatedPools, "created_placement", p.CreatedPlacement, "created_user", p.CreatedUser,
		"quota_bytes", spec.QuotaBytes)
	return p, nil
}

// Compensate undoes what p says a run created, in reverse order, and nothing
// else. It is safe to retry.
func (s *TenantStorage) Compensate(ctx context.Context, p Provisioned) error {
	var errs []error
	if p.CreatedUser {
		if err := s.users.DeleteUser(ctx, p.Names.User, true); err != nil {
			errs = append(errs, err)
		}
	}
	if p.CreatedPlacement {
		if _, err := s.cluster.RemovePlacementTarget(ctx, p.Names.Placement); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(p.CreatedPools) - 1; i >= 0; i-- {
		if _, err := s.cluster.DeletePool(ctx, p.CreatedPools[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tenant %s: compensate: %w", p.TenantID, err)
	}
	return nil
}

// Removed reports what RemoveTenant deleted.
type Removed struct {
	TenantID         string
	RemovedPlacement bool
	DeletedPools     []string
}

// RemoveTenant deletes the tenant's user with all its buckets and objects, its
// placement target and its pools. It is idempotent; data retention, if any, is
// the caller's to do first.
func (s *TenantStorage) RemoveTenant(ctx context.Context, tenantID string) (Removed, error) {
	r := Removed{TenantID: tenantID}
	if !tenantIDPattern.MatchString(tenantID) {
		return r, fmt.Errorf("tenant id %q: %w", tenantID, ErrInvalidArgument)
	}
	n := NamesFor(tenantID)
	// The user (and with it the buckets) first: buckets on a removed placement
	// target could no longer be emptied.
	if err := s.users.DeleteUser(ctx, n.User, true); err != nil {
		return r, fmt.Errorf("tenant %s: %w", tenantID, err)
	}
	var err error
	if r.RemovedPlacement, err = s.cluster.RemovePlacementTarget(ctx, n.Placement); err != nil {
		return r, fmt.Errorf("tenant %s: %w", tenantID, err)
	}
	for _, pool := range n.Pools() {
		deleted, err := s.cluster.DeletePool(ctx, pool)
		if deleted {
			r.DeletedPools = append(r.DeletedPools, pool)
		}
		if err != nil {
			return r, fmt.Errorf("tenant %s: %w", tenantID, err)
		}
	}
	s.log.InfoContext(ctx, "tenant storage removed", "tenant", tenantID,
		"removed_placement", r.RemovedPlacement, "deleted_pools", r.DeletedPools)
	return r, nil
}

// LogValue implements slog.LogValuer, leaving the secret key out.
func (p Provisioned) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("tenant", p.TenantID),
		slog.String("access_key", p.Credential.AccessKey),
		slog.Any("created_pools", p.CreatedPools),
		slog.Bool("created_placement", p.CreatedPlacement),
		slog.Bool("created_user", p.CreatedUser),
	)
}
