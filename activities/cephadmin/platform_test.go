package cephadmin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// fakePlatformUsers adds bucket stats to fakeUsers.
type fakePlatformUsers struct {
	*fakeUsers
	buckets map[string]BucketStats
}

func (u *fakePlatformUsers) BucketStats(_ context.Context, bucket string) (BucketStats, error) {
	st, ok := u.buckets[bucket]
	if !ok {
		return BucketStats{}, &APIError{Op: "bucket stats " + bucket, StatusCode: http.StatusNotFound, Code: "NoSuchBucket"}
	}
	return st, nil
}

// fakeBucketMaker creates buckets in fakePlatformUsers the way RGW would:
// owned by the key's user (fakeUsers hands out "AK<uid>"), on the placement
// named after the colon of the constraint.
type fakeBucketMaker struct {
	users  *fakePlatformUsers
	calls  []string
	failOn map[string]error // bucket -> error
}

func (m *fakeBucketMaker) MakeBucket(_ context.Context, owner Credential, bucket, constraint string) error {
	m.calls = append(m.calls, bucket+" as "+owner.AccessKey+" at "+constraint)
	if err := m.failOn[bucket]; err != nil {
		return err
	}
	_, placement, _ := strings.Cut(constraint, ":")
	m.users.buckets[bucket] = BucketStats{Bucket: bucket, Owner: strings.TrimPrefix(owner.AccessKey, "AK"), PlacementRule: placement}
	return nil
}

func newTestPlatform(t *testing.T) (*PlatformStorage, *fakePlatformUsers, *fakeBucketMaker, *fakeCeph) {
	t.Helper()
	f := newFakeCeph()
	users := &fakePlatformUsers{fakeUsers: newFakeUsers(f), buckets: map[string]BucketStats{}}
	maker := &fakeBucketMaker{users: users, failOn: map[string]error{}}
	s, err := NewPlatformStorage(users, newTestCluster(t, f, nil), maker, PlatformStorageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return s, users, maker, f
}

func TestDefaultPlatformLayout(t *testing.T) {
	l := DefaultPlatformLayout()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	type row struct {
		bucket, dataPool, placement, owner string
		tier                               Tier
	}
	var got []row
	for _, b := range l.Buckets {
		p, _ := l.Pool(b.Pool)
		u, _ := l.User(b.Owner)
		got = append(got, row{b.Name, p.Names().DataPool, p.Names().Placement, u.UID, p.Tier})
	}
	want := []row{
		{"ai-training", "ai-training-pool", "platform-ai-training", "dure-quality-gate", TierHot},
		{"checkpoints", "ai-training-pool", "platform-ai-training", "dure-platform", TierHot},
		{"model-registry", "model-registry-pool", "platform-model-registry", "dure-platform", TierHot},
		{"audit", "model-registry-pool", "platform-model-registry", "dure-platform", TierHot},
		{"staging", "staging-pool", "platform-staging", "dure-quality-gate", TierWarm},
		{"quarantine", "staging-pool", "platform-staging", "dure-quality-gate", TierWarm},
	}
	if !slices.Equal(got, want) {
		t.Errorf("layout =\n%v\nwant\n%v", got, want)
	}
	if p := l.Placements(RolePlatform); !slices.Equal(p, []string{"platform-ai-training", "platform-model-registry"}) {
		t.Errorf("platform placements = %v", p)
	}
	if p := l.Placements(RoleQualityGate); !slices.Equal(p, []string{"platform-ai-training", "platform-staging"}) {
		t.Errorf("quality gate placements = %v", p)
	}
	n := PlatformPool{Name: "staging"}.Names()
	if fmt.Sprint(n.Pools()) != "[staging-pool staging.index staging.non-ec]" {
		t.Errorf("staging pools = %v", n.Pools())
	}
}

func TestPlatformLayoutValidate(t *testing.T) {
	tests := map[string]func(l *PlatformLayout){
		"bucket on an unknown pool":  func(l *PlatformLayout) { l.Buckets[0].Pool = "nowhere" },
		"bucket of an unknown role":  func(l *PlatformLayout) { l.Buckets[0].Owner = "tenant" },
		"bucket listed twice":        func(l *PlatformLayout) { l.Buckets[1].Name = l.Buckets[0].Name },
		"bucket name with a capital": func(l *PlatformLayout) { l.Buckets[0].Name = "Staging" },
		"pool listed twice":          func(l *PlatformLayout) { l.Pools[1].Name = l.Pools[0].Name },
		"pool name with a colon":     func(l *PlatformLayout) { l.Pools[0].Name = "ai:training" },
		"negative pool quota":        func(l *PlatformLayout) { l.Pools[0].QuotaBytes = -1 },
		"empty uid":                  func(l *PlatformLayout) { l.Platform.UID = "" },
		"one uid for both roles":     func(l *PlatformLayout) { l.QualityGate.UID = l.Platform.UID },
	}
	for name, breakIt := range tests {
		t.Run(name, func(t *testing.T) {
			l := DefaultPlatformLayout()
			breakIt(&l)
			if err := l.Validate(); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("Validate = %v, want ErrInvalidArgument", err)
			}
			_, err := NewPlatformStorage(nil, nil, nil, PlatformStorageConfig{Layout: &l})
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("NewPlatformStorage = %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestPlatformEnsure(t *testing.T) {
	s, users, maker, f := newTestPlatform(t)
	ctx := t.Context()
	p, err := s.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantPools := []string{"ai-training-pool", "ai-training.index", "ai-training.non-ec",
		"model-registry-pool", "model-registry.index", "model-registry.non-ec",
		"staging-pool", "staging.index", "staging.non-ec"}
	wantPlacements := []string{"platform-ai-training", "platform-model-registry", "platform-staging"}
	if !slices.Equal(p.CreatedPools, wantPools) || !slices.Equal(p.CreatedPlacements, wantPlacements) ||
		!slices.Equal(p.CreatedUsers, []string{"dure-platform", "dure-quality-gate"}) ||
		!slices.Equal(p.CreatedBuckets, []string{"ai-training", "checkpoints", "model-registry", "audit", "staging", "quarantine"}) {
		t.Errorf("provisioned = %+v", p)
	}
	for _, id := range wantPlacements {
		if tags := f.committed[id]; !slices.Equal(tags, []string{id}) {
			t.Errorf("committed tags of %s = %v, want only its own tag", id, tags)
		}
	}
	if n := strings.Count(strings.Join(f.calls, "\n"), "period update --commit"); n != 1 {
		t.Errorf("%d period commits, want one for all placement targets", n)
	}
	wantUsers := map[string]UserSpec{
		"dure-platform": {UID: "dure-platform", DisplayName: "dure platform", DefaultPlacement: "platform-ai-training",
			PlacementTags: []string{"platform-ai-training", "platform-model-registry"}},
		"dure-quality-gate": {UID: "dure-quality-gate", DisplayName: "dure quality gate", DefaultPlacement: "platform-ai-training",
			PlacementTags: []string{"platform-ai-training", "platform-staging"}},
	}
	if fmt.Sprint(users.users) != fmt.Sprint(wantUsers) {
		t.Errorf("users = %+v\nwant %+v", users.users, wantUsers)
	}
	wantMakes := []string{
		"ai-training as AKdure-quality-gate at default:platform-ai-training",
		"checkpoints as AKdure-platform at default:platform-ai-training",
		"model-registry as AKdure-platform at default:platform-model-registry",
		"audit as AKdure-platform at default:platform-model-registry",
		"staging as AKdure-quality-gate at default:platform-staging",
		"quarantine as AKdure-quality-gate at default:platform-staging",
	}
	if !slices.Equal(maker.calls, wantMakes) {
		t.Errorf("buckets made:\n%s\nwant\n%s", strings.Join(maker.calls, "\n"), strings.Join(wantMakes, "\n"))
	}
	if p.Platform.AccessKey != "AKdure-platform" || p.QualityGate.AccessKey != "AKdure-quality-gate" {
		t.Errorf("credentials = %v / %v", p.Platform, p.QualityGate)
	}
	if b := p.Buckets[2]; b != (PlacedBucket{Name: "model-registry", Owner: "dure-platform", Placement: "platform-model-registry", DataPool: "model-registry-pool", Tier: TierHot}) {
		t.Errorf("model-registry placed as %+v", b)
	}

	mutations, makes, calls := len(f.mutations()), len(maker.calls), len(f.calls)
	again, err := s.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created() || again.Platform != p.Platform || again.QualityGate != p.QualityGate || !slices.Equal(again.Buckets, p.Buckets) {
		t.Errorf("second ensure = %+v", again)
	}
	if extra := f.mutations()[mutations:]; len(extra) > 0 || len(maker.calls) > makes {
		t.Errorf("second ensure changed the cluster: %q, buckets made %v", extra, maker.calls[makes:])
	}
	// One read of the pool table, zonegroup, zone and period: a second run
	// stays cheap however many pools the layout has.
	if reads := f.calls[calls:]; len(reads) != 4 {
		t.Errorf("second ensure ran %d commands, want 4:\n%s", len(reads), strings.Join(reads, "\n"))
	}
}

func TestPlatformEnsureRefusesMisplacedBuckets(t *testing.T) {
	for name, existing := range map[string]BucketStats{
		"on another placement": {Bucket: "staging", Owner: "dure-quality-gate", PlacementRule: "default-placement"},
		"with another owner":   {Bucket: "staging", Owner: "suwon", PlacementRule: "platform-staging"},
	} {
		t.Run(name, func(t *testing.T) {
			s, users, maker, _ := newTestPlatform(t)
			users.buckets["staging"] = existing
			p, err := s.Ensure(t.Context())
			if !errors.Is(err, ErrBucketMisplaced) {
				t.Fatalf("err = %v, want ErrBucketMisplaced", err)
			}
			if slices.Contains(p.CreatedBuckets, "staging") || slices.ContainsFunc(maker.calls, func(c string) bool { return strings.HasPrefix(c, "staging ") }) {
				t.Errorf("ensure recreated staging: %v", maker.calls)
			}
		})
	}
	t.Run("a storage class suffix is the same placement", func(t *testing.T) {
		s, users, _, _ := newTestPlatform(t)
		users.buckets["staging"] = BucketStats{Bucket: "staging", Owner: "dure-quality-gate", PlacementRule: "platform-staging/STANDARD"}
		if _, err := s.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPlatformEnsureReportsWhatItCreatedOnFailure(t *testing.T) {
	s, _, maker, _ := newTestPlatform(t)
	denied := &APIError{API: "s3", Op: "create bucket model-registry", StatusCode: http.StatusForbidden, Code: "AccessDenied"}
	maker.failOn["model-registry"] = denied
	p, err := s.Ensure(t.Context())
	if !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "model-registry") {
		t.Fatalf("err = %v, want the bucket's AccessDenied", err)
	}
	if len(p.CreatedPools) != 9 || len(p.CreatedPlacements) != 3 || len(p.CreatedUsers) != 2 ||
		!slices.Equal(p.CreatedBuckets, []string{"ai-training", "checkpoints"}) {
		t.Errorf("created = %+v", p)
	}
}

func TestPlatformEnsureFallsBackToMetadataPlacement(t *testing.T) {
	s, users, _, f := newTestPlatform(t)
	users.users["dure-platform"] = UserSpec{UID: "dure-platform"}
	f.users["dure-platform"] = map[string]any{"data": map[string]any{"user_id": "dure-platform"}}
	users.placementNAs = 1
	if _, err := s.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	data := f.users["dure-platform"]["data"].(map[string]any)
	if data["default_placement"] != "platform-ai-training" || fmt.Sprint(data["placement_tags"]) != "[platform-ai-training platform-model-registry]" {
		t.Errorf("metadata placement = %v %v", data["default_placement"], data["placement_tags"])
	}
}

func TestPlatformProvisionedHidesKeys(t *testing.T) {
	p := PlatformProvisioned{
		CreatedBuckets: []string{"staging"},
		Buckets:        []PlacedBucket{{Name: "staging", Placement: "platform-staging"}},
		Platform:       Credential{AccessKey: "PLATFORMACCESSKEY", SecretKey: tenantSecret},
		QualityGate:    Credential{AccessKey: "GATEACCESSKEY", SecretKey: tenantSecret + "2"},
	}
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("ready", "result", p)
	logged := out.String()
	fmt.Fprintf(&out, "%v %+v %#v %s", p, p, p, p)
	if strings.Contains(out.String(), tenantSecret) {
		t.Errorf("a secret key is printed: %s", out.String())
	}
	if strings.Contains(logged, "ACCESSKEY") || !strings.Contains(logged, "staging@platform-staging") {
		t.Errorf("log form = %s, want the placed buckets and no key material", logged)
	}
}
