package cephadmin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/dure-platform/dure/internal/objstore"
)

// Tier is the class of storage a platform pool is meant for. It is recorded
// with the layout (and shown in logs and docs) but not yet applied: mapping a
// tier to CRUSH device classes or rules is a later step, which will read it
// from here.
type Tier string

// The tiers of the design's storage plan.
const (
	TierHot  Tier = "hot"
	TierWarm Tier = "warm"
)

// PlatformRole is one of the two platform identities that own buckets.
type PlatformRole string

const (
	// RolePlatform owns what the control plane and training write: the model
	// registry and training checkpoints.
	RolePlatform PlatformRole = "platform"
	// RoleQualityGate owns what the quality gate writes: staging, quarantine
	// and the approved training sets.
	RoleQualityGate PlatformRole = "quality-gate"
)

// PlatformPool is one of the platform's storage pools and the placement target
// on it. Its names derive from Name the way a tenant's do from its id.
type PlatformPool struct {
	Name string // e.g. "ai-training"
	Tier Tier
	// QuotaBytes is a backstop quota on the data pool; 0: none.
	QuotaBytes int64
}

// PlatformPoolNames are the Ceph names of one platform pool.
type PlatformPoolNames struct {
	// Placement is the placement target id and its tag: platform-<name>. The
	// prefix keeps it apart from tenant targets (tenant-<id>), so no tenant
	// can hold its tag.
	Placement string
	DataPool  string // <name>-pool, as the design names it
	IndexPool string // <name>.index
	ExtraPool string // <name>.non-ec (multipart uploads in progress)
}

// Names returns the pool's Ceph names.
func (p PlatformPool) Names() PlatformPoolNames {
	return PlatformPoolNames{
		Placement: "platform-" + p.Name,
		DataPool:  p.Name + "-pool",
		IndexPool: p.Name + ".index",
		ExtraPool: p.Name + ".non-ec",
	}
}

// Pools lists the pool's data, index and extra pools, data pool first.
func (n PlatformPoolNames) Pools() []string { return []string{n.DataPool, n.IndexPool, n.ExtraPool} }

// PlatformUser is the RGW user behind a platform role.
type PlatformUser struct {
	UID         string
	DisplayName string
}

// PlatformBucket is one platform bucket: its pool (a PlatformPool's Name) and
// the role that owns it.
type PlatformBucket struct {
	Name  string
	Pool  string
	Owner PlatformRole
}

// PlatformLayout is the platform's own storage on Ceph.
type PlatformLayout struct {
	Pools       []PlatformPool
	Platform    PlatformUser
	QualityGate PlatformUser
	Buckets     []PlatformBucket
}

// Platform RGW user ids of the default layout. The quality gate's uid is the
// principal that tenant bucket policies grant read access to.
const (
	PlatformUID    = "dure-platform"
	QualityGateUID = "dure-quality-gate"
)

// DefaultPlatformLayout is the design's layout: ai-training-pool (hot) holds
// ai-training and checkpoints, model-registry-pool (hot) holds model-registry
// and audit (anchors of the audit log), staging-pool (warm) holds staging and
// quarantine.
func DefaultPlatformLayout() PlatformLayout {
	return PlatformLayout{
		Pools: []PlatformPool{
			{Name: "ai-training", Tier: TierHot},
			{Name: "model-registry", Tier: TierHot},
			{Name: "staging", Tier: TierWarm},
		},
		Platform:    PlatformUser{UID: PlatformUID, DisplayName: "dure platform"},
		QualityGate: PlatformUser{UID: QualityGateUID, DisplayName: "dure quality gate"},
		Buckets: []PlatformBucket{
			{Name: objstore.BucketAITraining, Pool: "ai-training", Owner: RoleQualityGate},
			{Name: objstore.BucketCheckpoints, Pool: "ai-training", Owner: RolePlatform},
			{Name: objstore.BucketModelRegistry, Pool: "model-registry", Owner: RolePlatform},
			{Name: objstore.BucketAudit, Pool: "model-registry", Owner: RolePlatform},
			{Name: objstore.BucketStaging, Pool: "staging", Owner: RoleQualityGate},
			{Name: objstore.BucketQuarantine, Pool: "staging", Owner: RoleQualityGate},
		},
	}
}

// Pool returns the layout's pool called name.
func (l PlatformLayout) Pool(name string) (PlatformPool, bool) {
	i := slices.IndexFunc(l.Pools, func(p PlatformPool) bool { return p.Name == name })
	if i < 0 {
		return PlatformPool{}, false
	}
	return l.Pools[i], true
}

// User returns the RGW user of a role.
func (l PlatformLayout) User(r PlatformRole) (PlatformUser, bool) {
	switch r {
	case RolePlatform:
		return l.Platform, true
	case RoleQualityGate:
		return l.QualityGate, true
	}
	return PlatformUser{}, false
}

// Placements returns the placement targets role's buckets are on, in layout
// order: the tags its user needs. The first is its default placement.
func (l PlatformLayout) Placements(r PlatformRole) []string {
	var out []string
	for _, b := range l.Buckets {
		if b.Owner != r {
			continue
		}
		if p, ok := l.Pool(b.Pool); ok && !slices.Contains(out, p.Names().Placement) {
			out = append(out, p.Names().Placement)
		}
	}
	return out
}

// bucketNamePattern is S3's bucket naming rule without dots (dots break
// virtual-host addressing under TLS).
var bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// platformPoolNamePattern keeps pool names valid in pool, placement and tag
// names alike.
var platformPoolNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,60}[a-z0-9]$`)

// Validate checks that the layout is complete and consistent.
func (l PlatformLayout) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("platform layout: "+format+": %w", append(args, ErrInvalidArgument)...))
	}
	seenPools := map[string]bool{}
	for _, p := range l.Pools {
		if !platformPoolNamePattern.MatchString(p.Name) {
			bad("pool name %q", p.Name)
		}
		if seenPools[p.Name] {
			bad("pool %q twice", p.Name)
		}
		seenPools[p.Name] = true
		if p.QuotaBytes < 0 {
			bad("pool %s quota %d", p.Name, p.QuotaBytes)
		}
	}
	for _, u := range []PlatformUser{l.Platform, l.QualityGate} {
		if err := validateUID(u.UID); err != nil {
			errs = append(errs, fmt.Errorf("platform layout: %w", err))
		}
	}
	if l.Platform.UID == l.QualityGate.UID {
		bad("platform and quality gate share the uid %q", l.Platform.UID)
	}
	seenBuckets := map[string]bool{}
	for _, b := range l.Buckets {
		if !bucketNamePattern.MatchString(b.Name) {
			bad("bucket name %q", b.Name)
		}
		if seenBuckets[b.Name] {
			bad("bucket %q twice", b.Name)
		}
		seenBuckets[b.Name] = true
		if !seenPools[b.Pool] {
			bad("bucket %s on unknown pool %q", b.Name, b.Pool)
		}
		if _, ok := l.User(b.Owner); !ok {
			bad("bucket %s owned by unknown role %q", b.Name, b.Owner)
		}
	}
	return errors.Join(errs...)
}

// PlatformUsers is the part of AdminOps that PlatformStorage uses.
type PlatformUsers interface {
	EnsureUser(ctx context.Context, spec UserSpec) (Credential, bool, error)
	BucketStats(ctx context.Context, bucket string) (BucketStats, error)
}

// PlatformCluster is the part of Cluster that PlatformStorage uses.
type PlatformCluster interface {
	EnsurePools(ctx context.Context, specs []PoolSpec) ([]string, error)
	EnsurePlacementTargets(ctx context.Context, targets []PlacementTarget) ([]string, error)
	SetUserPlacement(ctx context.Context, uid, defaultPlacement string, tags []string) error
	LocationConstraint(ctx context.Context, placementID string) (string, error)
}

// BucketMaker creates a bucket as its owner (RGWBuckets).
type BucketMaker interface {
	MakeBucket(ctx context.Context, owner Credential, bucket, locationConstraint string) error
}

// PlatformStorageConfig tunes PlatformStorage.
type PlatformStorageConfig struct {
	// Layout defaults to DefaultPlatformLayout.
	Layout *PlatformLayout
	// PGNum is the placement-group count of each platform pool (default 8, as
	// for tenant pools; size it for the OSD count in production).
	PGNum  int
	Logger *slog.Logger
}

// PlatformStorage puts the platform's own buckets on Ceph: a pool set and a
// tagged placement target per platform pool, the platform and quality-gate RGW
// users holding the tags of the placements their buckets are on, and each
// bucket created by its owner on its placement.
type PlatformStorage struct {
	users   PlatformUsers
	cluster PlatformCluster
	buckets BucketMaker
	layout  PlatformLayout
	pgNum   int
	log     *slog.Logger
}

// NewPlatformStorage returns a PlatformStorage over users (AdminOps), cluster
// (Cluster) and buckets (RGWBuckets).
func NewPlatformStorage(users PlatformUsers, cluster PlatformCluster, buckets BucketMaker, cfg PlatformStorageConfig) (*PlatformStorage, error) {
	s := &PlatformStorage{users: users, cluster: cluster, buckets: buckets, layout: DefaultPlatformLayout(), pgNum: cfg.PGNum, log: cfg.Logger}
	if cfg.Layout != nil {
		// A copy, so the caller changing its layout later cannot change ours.
		s.layout = *cfg.Layout
		s.layout.Pools, s.layout.Buckets = slices.Clone(s.layout.Pools), slices.Clone(s.layout.Buckets)
	}
	if err := s.layout.Validate(); err != nil {
		return nil, err
	}
	if s.pgNum <= 0 {
		s.pgNum = 8
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Layout returns a copy of the layout Ensure provisions.
func (s *PlatformStorage) Layout() PlatformLayout {
	l := s.layout
	l.Pools, l.Buckets = slices.Clone(l.Pools), slices.Clone(l.Buckets)
	return l
}

// PlacedBucket is a platform bucket as Ensure found it after its run.
type PlacedBucket struct {
	Name      string
	Owner     string // RGW uid
	Placement string // the bucket's placement rule, as RGW reports it
	DataPool  string
	Tier      Tier
}

// PlatformProvisioned reports what Ensure did. The Created fields name only
// what this run made; the rest already existed.
type PlatformProvisioned struct {
	CreatedPools      []string
	CreatedPlacements []string
	CreatedUsers      []string
	CreatedBuckets    []string
	Buckets           []PlacedBucket
	// Platform and QualityGate are the two users' S3 keys. Secret: keep them
	// out of logs and workflow histories (String and LogValue redact them).
	Platform    Credential
	QualityGate Credential
}

// Created reports whether this run created anything.
func (p PlatformProvisioned) Created() bool {
	return len(p.CreatedPools)+len(p.CreatedPlacements)+len(p.CreatedUsers)+len(p.CreatedBuckets) > 0
}

// LogValue implements slog.LogValuer; no key material, not even access keys.
func (p PlatformProvisioned) LogValue() slog.Value {
	placed := make([]string, 0, len(p.Buckets))
	for _, b := range p.Buckets {
		placed = append(placed, b.Name+"@"+b.Placement)
	}
	return slog.GroupValue(
		slog.Any("created_pools", p.CreatedPools),
		slog.Any("created_placements", p.CreatedPlacements),
		slog.Any("created_users", p.CreatedUsers),
		slog.Any("created_buckets", p.CreatedBuckets),
		slog.Any("buckets", placed),
	)
}

// Credential returns the key of a role.
func (p PlatformProvisioned) Credential(r PlatformRole) Credential {
	if r == RolePlatform {
		return p.Platform
	}
	return p.QualityGate
}

// Ensure makes the layout exist: pools, placement targets, users, buckets, in
// that order (each needs the one before). It is idempotent: a second run
// creates nothing and returns the same keys. On error the result still lists
// what this run created.
func (s *PlatformStorage) Ensure(ctx context.Context) (PlatformProvisioned, error) {
	var p PlatformProvisioned
	if err := s.ensurePools(ctx, &p); err != nil {
		return p, err
	}
	for _, role := range []PlatformRole{RolePlatform, RoleQualityGate} {
		if err := s.ensureUser(ctx, role, &p); err != nil {
			return p, err
		}
	}
	constraints := map[string]string{} // placement -> LocationConstraint
	for _, b := range s.layout.Buckets {
		if err := s.ensureBucket(ctx, b, constraints, &p); err != nil {
			return p, err
		}
	}
	s.log.InfoContext(ctx, "platform storage ready", "result", p)
	return p, nil
}

// ensurePools makes every pool, then every placement target (a target
// needs its pools), each kind in one batch: one read of the cluster's state
// and one gateway reload instead of one per pool.
func (s *PlatformStorage) ensurePools(ctx context.Context, p *PlatformProvisioned) error {
	var specs []PoolSpec
	var targets []PlacementTarget
	for _, pool := range s.layout.Pools {
		n := pool.Names()
		specs = append(specs,
			PoolSpec{Name: n.DataPool, PGNum: s.pgNum, QuotaBytes: pool.QuotaBytes},
			PoolSpec{Name: n.IndexPool, PGNum: s.pgNum},
			PoolSpec{Name: n.ExtraPool, PGNum: s.pgNum})
		targets = append(targets, PlacementTarget{
			ID:            n.Placement,
			DataPool:      n.DataPool,
			IndexPool:     n.IndexPool,
			DataExtraPool: n.ExtraPool,
			Tags:          []string{n.Placement},
		})
	}
	var err error
	p.CreatedPools, err = s.cluster.EnsurePools(ctx, specs)
	if err != nil {
		return fmt.Errorf("platform pools: %w", err)
	}
	p.CreatedPlacements, err = s.cluster.EnsurePlacementTargets(ctx, targets)
	if err != nil {
		return fmt.Errorf("platform placement targets: %w", err)
	}
	return nil
}

// ensureUser gives the role's user exactly the tags of the placements its
// buckets are on, so the quality gate cannot place buckets in the model
// registry's pool, nor the platform user in staging.
func (s *PlatformStorage) ensureUser(ctx context.Context, role PlatformRole, p *PlatformProvisioned) error {
	u, _ := s.layout.User(role)
	tags := s.layout.Placements(role)
	spec := UserSpec{UID: u.UID, DisplayName: u.DisplayName, PlacementTags: tags}
	if len(tags) > 0 {
		spec.DefaultPlacement = tags[0]
	}
	cred, created, err := s.users.EnsureUser(ctx, spec)
	if errors.Is(err, ErrPlacementNotApplied) {
		// This RGW's Admin Ops does not modify placement; the metadata API does.
		err = s.cluster.SetUserPlacement(ctx, spec.UID, spec.DefaultPlacement, spec.PlacementTags)
		if err == nil {
			cred, created, err = s.users.EnsureUser(ctx, spec)
		}
	}
	if created {
		p.CreatedUsers = append(p.CreatedUsers, u.UID)
	}
	if err != nil {
		return fmt.Errorf("platform user %s (%s): %w", u.UID, role, err)
	}
	if role == RolePlatform {
		p.Platform = cred
	} else {
		p.QualityGate = cred
	}
	return nil
}

func (s *PlatformStorage) ensureBucket(ctx context.Context, b PlatformBucket, constraints map[string]string, p *PlatformProvisioned) error {
	pool, _ := s.layout.Pool(b.Pool)
	n := pool.Names()
	owner, _ := s.layout.User(b.Owner)
	st, err := s.users.BucketStats(ctx, b.Name)
	if errors.Is(err, ErrNoSuchBucket) {
		constraint, ok := constraints[n.Placement]
		if !ok {
			if constraint, err = s.cluster.LocationConstraint(ctx, n.Placement); err != nil {
				return fmt.Errorf("platform bucket %s: %w", b.Name, err)
			}
			constraints[n.Placement] = constraint
		}
		if err := s.buckets.MakeBucket(ctx, p.Credential(b.Owner), b.Name, constraint); err != nil {
			return fmt.Errorf("platform bucket %s: %w", b.Name, err)
		}
		p.CreatedBuckets = append(p.CreatedBuckets, b.Name)
		s.log.InfoContext(ctx, "platform bucket created", "bucket", b.Name, "owner", owner.UID, "placement", n.Placement)
		st, err = s.users.BucketStats(ctx, b.Name)
	}
	if err != nil {
		return fmt.Errorf("platform bucket %s: %w", b.Name, err)
	}
	placement := placementName(st.PlacementRule)
	if st.Owner != owner.UID || placement != n.Placement {
		return fmt.Errorf("platform bucket %s is owned by %q on placement %q, want %q on %q: %w",
			b.Name, st.Owner, st.PlacementRule, owner.UID, n.Placement, ErrBucketMisplaced)
	}
	p.Buckets = append(p.Buckets, PlacedBucket{Name: b.Name, Owner: st.Owner, Placement: placement, DataPool: n.DataPool, Tier: pool.Tier})
	return nil
}

// placementName drops the storage class RGW may append to a placement rule
// ("platform-staging/STANDARD"); platform buckets use the standard class.
func placementName(rule string) string {
	name, class, found := strings.Cut(rule, "/")
	if found && class != "STANDARD" {
		return rule
	}
	return name
}
