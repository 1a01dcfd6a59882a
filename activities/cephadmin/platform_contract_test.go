package cephadmin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/dure-platform/dure/activities/cephadmin"
)

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// contractPlatformLayout is the default layout with every name prefixed, so
// the test can make and remove it from scratch on a cluster that other tests
// (and the real platform layout) share.
func contractPlatformLayout(prefix string) cephadmin.PlatformLayout {
	l := cephadmin.DefaultPlatformLayout()
	l.Pools = slices.Clone(l.Pools)
	for i := range l.Pools {
		l.Pools[i].Name = prefix + l.Pools[i].Name
	}
	l.Buckets = slices.Clone(l.Buckets)
	for i := range l.Buckets {
		l.Buckets[i].Name = prefix + l.Buckets[i].Name
		l.Buckets[i].Pool = prefix + l.Buckets[i].Pool
	}
	l.Platform.UID = prefix + l.Platform.UID
	l.QualityGate.UID = prefix + l.QualityGate.UID
	return l
}

// removePlatformLayout deletes what Ensure makes for l: users with their
// buckets, placement targets, pools. Only for test layouts.
func removePlatformLayout(ctx context.Context, admin *cephadmin.AdminOps, cluster *cephadmin.Cluster, l cephadmin.PlatformLayout) error {
	var errs []error
	for _, u := range []cephadmin.PlatformUser{l.Platform, l.QualityGate} {
		errs = append(errs, admin.DeleteUser(ctx, u.UID, true))
	}
	for _, p := range l.Pools {
		n := p.Names()
		_, err := cluster.RemovePlacementTarget(ctx, n.Placement)
		errs = append(errs, err)
		for _, pool := range n.Pools() {
			_, err := cluster.DeletePool(ctx, pool)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func putObject(ctx context.Context, c *minio.Client, bucket, key string, body []byte, opts minio.PutObjectOptions) error {
	_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), opts)
	return err
}

func TestPlatformStorageContract(t *testing.T) {
	env := contractEnv(t)
	began := time.Now()
	var logs lockedBuffer
	// Debug level: the Admin Ops and S3 call logs must stay free of keys too.
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	admin, cluster, err := env.Open(logger)
	if err != nil {
		t.Fatal(err)
	}
	buckets, err := env.Buckets(logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()

	layout := contractPlatformLayout("ct-")
	if err := removePlatformLayout(ctx, admin, cluster, layout); err != nil {
		t.Fatalf("clean up before the test: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := removePlatformLayout(ctx, admin, cluster, layout); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
	storage, err := cephadmin.NewPlatformStorage(admin, cluster, buckets, cephadmin.PlatformStorageConfig{Layout: &layout, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}

	var first cephadmin.PlatformProvisioned
	var freshTook, againTook time.Duration
	ok := t.Run("fresh Ensure creates pools, placements, users and buckets", func(t *testing.T) {
		start := time.Now()
		first, err = storage.Ensure(ctx)
		freshTook = time.Since(start)
		if err != nil {
			t.Fatalf("ensure: %v (created so far: %v)", err, first)
		}
		var wantPools, wantPlacements, wantBuckets []string
		for _, p := range layout.Pools {
			wantPools = append(wantPools, p.Names().Pools()...)
			wantPlacements = append(wantPlacements, p.Names().Placement)
		}
		for _, b := range layout.Buckets {
			wantBuckets = append(wantBuckets, b.Name)
		}
		wantUsers := []string{layout.Platform.UID, layout.QualityGate.UID}
		for what, lists := range map[string][2][]string{
			"pools": {first.CreatedPools, wantPools}, "placements": {first.CreatedPlacements, wantPlacements},
			"users": {first.CreatedUsers, wantUsers}, "buckets": {first.CreatedBuckets, wantBuckets},
		} {
			if !slices.Equal(lists[0], lists[1]) {
				t.Errorf("created %s = %v, want %v", what, lists[0], lists[1])
			}
		}
		if first.Platform.SecretKey == "" || first.QualityGate.SecretKey == "" || first.Platform == first.QualityGate {
			t.Errorf("credentials: platform %v, quality gate %v: want two distinct keys", first.Platform, first.QualityGate)
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("second Ensure creates nothing and keeps the keys", func(t *testing.T) {
		start := time.Now()
		again, err := storage.Ensure(ctx)
		againTook = time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if again.Created() {
			t.Errorf("second ensure created %v", again)
		}
		if again.Platform != first.Platform || again.QualityGate != first.QualityGate {
			t.Error("second ensure returned other keys")
		}
		if !slices.Equal(again.Buckets, first.Buckets) {
			t.Errorf("second ensure found buckets %v, first %v", again.Buckets, first.Buckets)
		}
	})

	t.Run("pools, placement targets and users are as the layout says", func(t *testing.T) {
		for _, p := range layout.Pools {
			n := p.Names()
			for _, pool := range n.Pools() {
				if exists, err := cluster.PoolExists(ctx, pool); err != nil || !exists {
					t.Errorf("pool %s: exists=%v err=%v", pool, exists, err)
				}
			}
			pt, found, err := cluster.PlacementTarget(ctx, n.Placement)
			want := cephadmin.PlacementTarget{ID: n.Placement, DataPool: n.DataPool, IndexPool: n.IndexPool, DataExtraPool: n.ExtraPool, Tags: []string{n.Placement}}
			if err != nil || !found || fmt.Sprint(pt) != fmt.Sprint(want) {
				t.Errorf("placement %s = %+v found=%v err=%v, want %+v", n.Placement, pt, found, err, want)
			}
		}
		for _, role := range []cephadmin.PlatformRole{cephadmin.RolePlatform, cephadmin.RoleQualityGate} {
			pu, _ := layout.User(role)
			u, err := admin.UserInfo(ctx, pu.UID)
			if err != nil {
				t.Fatal(err)
			}
			tags := layout.Placements(role)
			if !slices.Equal(slices.Sorted(slices.Values(u.PlacementTags)), slices.Sorted(slices.Values(tags))) || u.DefaultPlacement != tags[0] {
				t.Errorf("user %s: placement %q tags %v, want %q and tags %v", pu.UID, u.DefaultPlacement, u.PlacementTags, tags[0], tags)
			}
		}
	})

	clients := map[cephadmin.PlatformRole]*minio.Client{
		cephadmin.RolePlatform:    s3Client(t, env.RGWEndpoint, first.Platform),
		cephadmin.RoleQualityGate: s3Client(t, env.RGWEndpoint, first.QualityGate),
	}
	var locateFastest, locateSlowest time.Duration
	t.Run("each bucket's objects land in its data pool and no other", func(t *testing.T) {
		for _, b := range layout.Buckets {
			pool, _ := layout.Pool(b.Pool)
			owner, _ := layout.User(b.Owner)
			st, err := admin.BucketStats(ctx, b.Name)
			if err != nil || st.Owner != owner.UID || st.PlacementRule != pool.Names().Placement {
				t.Errorf("bucket %s: owner %q placement %q (err %v), want %s on %s", b.Name, st.Owner, st.PlacementRule, err, owner.UID, pool.Names().Placement)
			}
			// A plain key, a key RADOS places by locator (leading
			// underscore), and a multipart upload, whose head holds no data.
			objects := []struct {
				key  string
				body []byte
				opts minio.PutObjectOptions
			}{
				{"probe/plain.jsonl", []byte(`{"probe":true}` + "\n"), minio.PutObjectOptions{}},
				{"_underscore", []byte("x"), minio.PutObjectOptions{}},
			}
			if b.Owner == cephadmin.RolePlatform && strings.HasSuffix(b.Name, "model-registry") {
				objects = append(objects, struct {
					key  string
					body []byte
					opts minio.PutObjectOptions
				}{"models/v1/model.bin", bytes.Repeat([]byte("m"), 6<<20), minio.PutObjectOptions{PartSize: 5 << 20}})
			}
			for _, o := range objects {
				if err := putObject(opCtx(t), clients[b.Owner], b.Name, o.key, o.body, o.opts); err != nil {
					t.Fatalf("%s writes %s/%s: %v", owner.UID, b.Name, o.key, err)
				}
				start := time.Now()
				pools, err := cluster.PoolsHoldingObject(ctx, b.Name, o.key)
				took := time.Since(start)
				locateSlowest = max(locateSlowest, took)
				if locateFastest == 0 || took < locateFastest {
					locateFastest = took
				}
				if err != nil || !slices.Equal(pools, []string{pool.Names().DataPool}) {
					t.Errorf("%s/%s is held by pools %v (err %v), want only %s", b.Name, o.key, pools, err, pool.Names().DataPool)
				}
			}
		}
		_, err := cluster.PoolsHoldingObject(ctx, layout.Buckets[0].Name, "no/such/key")
		if !errors.Is(err, cephadmin.ErrNoSuchObject) {
			t.Errorf("locating a missing key: %v, want ErrNoSuchObject", err)
		}
		_, err = cluster.PoolsHoldingObject(ctx, "ct-no-such-bucket", "k")
		if !errors.Is(err, cephadmin.ErrNoSuchBucket) {
			t.Errorf("locating in a missing bucket: %v, want ErrNoSuchBucket", err)
		}
	})

	t.Run("each role writes only its own buckets", func(t *testing.T) {
		for _, b := range layout.Buckets {
			for role, c := range clients {
				err := putObject(opCtx(t), c, b.Name, "role-check", []byte("x"), minio.PutObjectOptions{})
				switch {
				case role == b.Owner && err != nil:
					t.Errorf("%s cannot write its bucket %s: %v", role, b.Name, err)
				case role != b.Owner && s3Code(err) != "AccessDenied":
					t.Errorf("%s writing %s: %v (code %q), want AccessDenied", role, b.Name, err, s3Code(err))
				}
			}
		}
	})

	t.Run("only the roles that need a placement may place buckets on it", func(t *testing.T) {
		const tenantID = "ct-intruder"
		tenants := cephadmin.NewTenantStorage(admin, cluster, cephadmin.TenantStorageConfig{Logger: logger})
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if _, err := tenants.RemoveTenant(ctx, tenantID); err != nil {
				t.Errorf("remove tenant %s: %v", tenantID, err)
			}
		})
		tenant, err := tenants.Onboard(ctx, cephadmin.TenantSpec{ID: tenantID, QuotaBytes: contractQuota})
		if err != nil {
			t.Fatal(err)
		}
		tenantClient := s3Client(t, env.RGWEndpoint, tenant.Credential)
		// Control: the tenant places buckets on its own placement with the
		// same syntax, so the refusals below are the tags at work.
		own, err := cluster.LocationConstraint(ctx, tenant.Names.Placement)
		if err != nil {
			t.Fatal(err)
		}
		if err := tenantClient.MakeBucket(opCtx(t), "ct-intruder-own", minio.MakeBucketOptions{Region: own}); err != nil {
			t.Fatalf("tenant on its own placement (%s): %v", own, err)
		}
		for _, p := range layout.Pools {
			placement := p.Names().Placement
			constraint, err := cluster.LocationConstraint(ctx, placement)
			if err != nil {
				t.Fatal(err)
			}
			attempts := map[string]*minio.Client{"tenant " + tenantID: tenantClient}
			for role, c := range clients {
				if !slices.Contains(layout.Placements(role), placement) {
					attempts[string(role)] = c
				}
			}
			for who, c := range attempts {
				name := "ct-sneak-" + strings.NewReplacer(" ", "-").Replace(who) + "-" + p.Name
				err := c.MakeBucket(opCtx(t), name, minio.MakeBucketOptions{Region: constraint})
				if code := s3Code(err); code != "AccessDenied" {
					t.Errorf("%s creating a bucket on %s: %v (code %q), want AccessDenied", who, placement, err, code)
				}
				if _, err := admin.BucketStats(ctx, name); !errors.Is(err, cephadmin.ErrNoSuchBucket) {
					t.Errorf("bucket %s exists after a refused create: %v", name, err)
				}
			}
		}
	})

	t.Run("keys never appear in logged or printed output", func(t *testing.T) {
		var printed lockedBuffer
		slog.New(slog.NewJSONHandler(&printed, nil)).Info("result", "provisioned", first)
		fmt.Fprintf(&printed, "%v %+v %#v %s", first, first, first, first)
		out := logs.String() + printed.String()
		if !strings.Contains(logs.String(), "platform storage ready") {
			t.Fatalf("the log lacks Ensure's summary; the check below would prove nothing:\n%s", logs.String())
		}
		for role, c := range map[string]cephadmin.Credential{"platform": first.Platform, "quality gate": first.QualityGate} {
			if strings.Contains(out, c.SecretKey) {
				t.Errorf("the %s secret key appears in the output", role)
			}
		}
		// The result's log form carries no key material at all.
		logValue := fmt.Sprint(first.LogValue())
		for _, c := range []cephadmin.Credential{first.Platform, first.QualityGate} {
			if strings.Contains(logValue, c.AccessKey) {
				t.Errorf("the result's log value shows an access key: %s", logValue)
			}
		}
	})

	defaultTook := map[string]time.Duration{}
	t.Run("the default layout puts the platform buckets on the design's pools", func(t *testing.T) {
		// The real layout is left in place: it is what the platform runs on,
		// Ensure converges it, and other tests on this cluster may use it.
		def, err := cephadmin.NewPlatformStorage(admin, cluster, buckets, cephadmin.PlatformStorageConfig{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, err := def.Ensure(ctx)
		defaultTook["first"] = time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"ai-training": "ai-training-pool", "checkpoints": "ai-training-pool",
			"model-registry": "model-registry-pool", "audit": "model-registry-pool", "staging": "staging-pool", "quarantine": "staging-pool",
		}
		got := map[string]string{}
		for _, b := range p.Buckets {
			got[b.Name] = b.DataPool
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("bucket -> data pool = %v, want %v", got, want)
		}
		cred := map[cephadmin.PlatformRole]cephadmin.Credential{cephadmin.RolePlatform: p.Platform, cephadmin.RoleQualityGate: p.QualityGate}
		for _, b := range def.Layout().Buckets {
			c := s3Client(t, env.RGWEndpoint, cred[b.Owner])
			key := "dure-contract-probe/" + b.Name
			if err := putObject(opCtx(t), c, b.Name, key, []byte("probe"), minio.PutObjectOptions{}); err != nil {
				t.Errorf("owner writes %s: %v", b.Name, err)
				continue
			}
			pools, err := cluster.PoolsHoldingObject(ctx, b.Name, key)
			if err != nil || !slices.Equal(pools, []string{want[b.Name]}) {
				t.Errorf("%s/%s is held by %v (err %v), want only %s", b.Name, key, pools, err, want[b.Name])
			}
			if err := c.RemoveObject(opCtx(t), b.Name, key, minio.RemoveObjectOptions{}); err != nil {
				t.Errorf("remove the probe from %s: %v", b.Name, err)
			}
		}
		start = time.Now()
		again, err := def.Ensure(ctx)
		defaultTook["again"] = time.Since(start)
		if err != nil || again.Created() {
			t.Errorf("second ensure of the default layout: created %v, err %v", again, err)
		}
	})

	summary := fmt.Sprintf("platform storage contract: ensure fresh %.1fs, again %.1fs; default layout ensure %.1fs, again %.1fs; PoolsHoldingObject %.1f-%.1fs; whole test %.1fs",
		freshTook.Seconds(), againTook.Seconds(), defaultTook["first"].Seconds(), defaultTook["again"].Seconds(), locateFastest.Seconds(), locateSlowest.Seconds(), time.Since(began).Seconds())
	t.Log(summary)
	fmt.Fprintln(os.Stderr, summary)
	if t.Failed() {
		out := logs.String()
		for _, c := range []cephadmin.Credential{first.Platform, first.QualityGate} {
			if c.SecretKey != "" {
				out = strings.ReplaceAll(out, c.SecretKey, "<secret>")
			}
		}
		t.Logf("log output (secrets masked):\n%s", out)
	}
}
