package cephadmin_test

// Contract tests against a real Ceph cluster booted by infra/ceph/up.sh (CI:
// .ci/ceph.sh). They read the env file named by $DURE_CEPH_ENV, or
// /tmp/dure-ceph/dure-ceph.env. Without a cluster they skip loudly, except
// with CI=true, where they fail: CI must never pass without running them.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/dure-platform/dure/activities/cephadmin"
)

const (
	contractQuota = 4 << 20 // each tenant's quota: 4 MiB
	opTimeout     = 30 * time.Second
)

var contractTenants = []string{"suwon", "seongnam", "yongin"}

// contractEnv returns the cluster's env, or skips (fails under CI=true) when
// there is no usable cluster.
func contractEnv(t *testing.T) cephadmin.Env {
	t.Helper()
	return cephadmin.RequireCluster(t)
}

func s3Client(t *testing.T, endpoint string, cred cephadmin.Credential) *minio.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(cred.AccessKey, cred.SecretKey, ""),
		Secure: u.Scheme == "https",
		Region: "us-east-1",
		// A full pool makes RGW PUTs hang instead of failing: never wait forever.
		Transport: &http.Transport{ResponseHeaderTimeout: opTimeout, Proxy: nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func s3Code(err error) string { return minio.ToErrorResponse(err).Code }

func TestCephContract(t *testing.T) {
	env := contractEnv(t)
	began := time.Now()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	admin, cluster, err := env.Open(logger)
	if err != nil {
		t.Fatal(err)
	}
	storage := cephadmin.NewTenantStorage(admin, cluster, cephadmin.TenantStorageConfig{Logger: logger})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()

	// Leftovers of an interrupted run would make "created" assertions fail.
	for _, id := range contractTenants {
		if _, err := storage.RemoveTenant(ctx, id); err != nil {
			t.Fatalf("clean up before the test: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for _, id := range contractTenants {
			if _, err := storage.RemoveTenant(ctx, id); err != nil {
				t.Errorf("clean up: %v", err)
			}
		}
	})

	specs := map[string]cephadmin.TenantSpec{}
	creds := map[string]cephadmin.Credential{}
	clients := map[string]*minio.Client{}
	bucket := func(id string) string { return "tenant-" + id }
	const objectKey = "complaints/2026-11.jsonl"
	content := func(id string) []byte { return []byte(`{"tenant":"` + id + `","text":"test"}` + "\n") }

	var onboardTook time.Duration
	ok := t.Run("onboard creates pools, placement, user and quotas", func(t *testing.T) {
		start := time.Now()
		for _, id := range contractTenants {
			spec := cephadmin.TenantSpec{ID: id, DisplayName: id + " city", QuotaBytes: contractQuota}
			p, err := storage.Onboard(ctx, spec)
			if err != nil {
				t.Fatalf("onboard %s: %v (created so far: %+v)", id, err, p)
			}
			n := cephadmin.NamesFor(id)
			if !slices.Equal(p.CreatedPools, n.Pools()) || !p.CreatedPlacement || !p.CreatedUser {
				t.Errorf("onboard %s reported %+v, want every pool, the placement and the user created", id, p)
			}
			specs[id], creds[id] = spec, p.Credential
		}
		onboardTook = time.Since(start)

		for _, id := range contractTenants {
			n := cephadmin.NamesFor(id)
			for _, pool := range n.Pools() {
				if exists, err := cluster.PoolExists(ctx, pool); err != nil || !exists {
					t.Errorf("pool %s: exists=%v err=%v", pool, exists, err)
				}
			}
			q, err := cluster.PoolQuota(ctx, n.DataPool)
			if err != nil || q != storage.PoolQuotaBytes(specs[id]) || q <= contractQuota {
				t.Errorf("pool %s quota = %d (err %v), want %d, above the tenant quota", n.DataPool, q, err, storage.PoolQuotaBytes(specs[id]))
			}
			pt, found, err := cluster.PlacementTarget(ctx, n.Placement)
			want := cephadmin.PlacementTarget{ID: n.Placement, DataPool: n.DataPool, IndexPool: n.IndexPool, DataExtraPool: n.ExtraPool, Tags: []string{n.Placement}}
			if err != nil || !found || fmt.Sprint(pt) != fmt.Sprint(want) {
				t.Errorf("placement %s = %+v found=%v err=%v, want %+v", n.Placement, pt, found, err, want)
			}
			u, err := admin.UserInfo(ctx, id)
			if err != nil {
				t.Fatalf("user %s: %v", id, err)
			}
			if u.DefaultPlacement != n.Placement || !slices.Equal(u.PlacementTags, []string{n.Placement}) {
				t.Errorf("user %s placement = %q tags %v, want %q and only that tag", id, u.DefaultPlacement, u.PlacementTags, n.Placement)
			}
			wantQ := cephadmin.Quota{Enabled: true, MaxSizeBytes: contractQuota, MaxObjects: -1}
			if u.UserQuota != wantQ || u.BucketQuota != wantQ {
				t.Errorf("user %s quotas: user %+v bucket %+v, want both %+v", id, u.UserQuota, u.BucketQuota, wantQ)
			}
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("onboard again creates nothing and keeps the key", func(t *testing.T) {
		for _, id := range contractTenants {
			p, err := storage.Onboard(ctx, specs[id])
			if err != nil {
				t.Fatal(err)
			}
			if p.Created() {
				t.Errorf("second onboard of %s created %+v", id, p)
			}
			if p.Credential != creds[id] {
				t.Errorf("second onboard of %s returned another key", id)
			}
		}
	})

	ok = t.Run("tenant data lands in the tenant pool", func(t *testing.T) {
		for _, id := range contractTenants {
			c := s3Client(t, env.RGWEndpoint, creds[id])
			clients[id] = c
			if err := c.MakeBucket(opCtx(t), bucket(id), minio.MakeBucketOptions{}); err != nil {
				t.Fatalf("%s: make bucket: %v", id, err)
			}
			body := content(id)
			if _, err := c.PutObject(opCtx(t), bucket(id), objectKey, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
				t.Fatalf("%s: put: %v", id, err)
			}
			st, err := admin.BucketStats(ctx, bucket(id))
			if err != nil {
				t.Fatal(err)
			}
			if st.Owner != id || st.PlacementRule != "tenant-"+id {
				t.Errorf("bucket %s: owner %q placement %q", bucket(id), st.Owner, st.PlacementRule)
			}
			pools, err := cluster.PoolsHoldingObject(ctx, bucket(id), objectKey)
			if want := []string{cephadmin.NamesFor(id).DataPool}; err != nil || !slices.Equal(pools, want) {
				t.Errorf("object of %s is held by pools %v (err %v), want only %v", id, pools, err, want)
			}
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("a tenant cannot place a bucket on another tenant's placement", func(t *testing.T) {
		// Control: the explicit "zonegroup:placement" form works on one's own
		// placement, so the refusals below are the placement tags at work.
		for _, id := range contractTenants {
			own := "own-placement-" + id
			if err := clients[id].MakeBucket(opCtx(t), own, minio.MakeBucketOptions{Region: "default:tenant-" + id}); err != nil {
				t.Fatalf("%s on its own placement: %v", id, err)
			}
			if err := clients[id].RemoveBucket(opCtx(t), own); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range contractTenants {
			for _, b := range contractTenants {
				if a == b {
					continue
				}
				name := "sneak-" + b + "-by-" + a
				err := clients[b].MakeBucket(opCtx(t), name, minio.MakeBucketOptions{Region: "default:tenant-" + a})
				if code := s3Code(err); code != "AccessDenied" {
					t.Errorf("%s creating a bucket on tenant-%s: err %v (code %q), want AccessDenied", b, a, err, code)
				}
				if _, err := admin.BucketStats(ctx, name); !errors.Is(err, cephadmin.ErrNoSuchBucket) {
					t.Errorf("bucket %s exists after a refused create: %v", name, err)
				}
			}
		}
	})

	t.Run("cross-tenant access is denied for every verb", func(t *testing.T) {
		policy := func(victim, intruderKey string) string {
			return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/` +
				intruderKey + `"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket(victim) + `/*"]}]}`
		}
		ops := []struct {
			name string
			do   func(ctx context.Context, c *minio.Client, victim, intruder string) error
		}{
			{"get", func(ctx context.Context, c *minio.Client, victim, _ string) error {
				o, err := c.GetObject(ctx, bucket(victim), objectKey, minio.GetObjectOptions{})
				if err != nil {
					return err
				}
				defer o.Close()
				_, err = io.ReadAll(o)
				return err
			}},
			{"stat", func(ctx context.Context, c *minio.Client, victim, _ string) error {
				_, err := c.StatObject(ctx, bucket(victim), objectKey, minio.StatObjectOptions{})
				return err
			}},
			{"list", func(ctx context.Context, c *minio.Client, victim, _ string) error {
				for o := range c.ListObjects(ctx, bucket(victim), minio.ListObjectsOptions{Recursive: true}) {
					if o.Err != nil {
						return o.Err
					}
				}
				return nil
			}},
			{"put", func(ctx context.Context, c *minio.Client, victim, intruder string) error {
				body := []byte("overwritten by " + intruder)
				_, err := c.PutObject(ctx, bucket(victim), objectKey, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
				return err
			}},
			{"delete", func(ctx context.Context, c *minio.Client, victim, _ string) error {
				return c.RemoveObject(ctx, bucket(victim), objectKey, minio.RemoveObjectOptions{})
			}},
			{"get bucket policy", func(ctx context.Context, c *minio.Client, victim, _ string) error {
				_, err := c.GetBucketPolicy(ctx, bucket(victim))
				return err
			}},
			{"put bucket policy", func(ctx context.Context, c *minio.Client, victim, intruder string) error {
				return c.SetBucketPolicy(ctx, bucket(victim), policy(victim, intruder))
			}},
		}
		for _, victim := range contractTenants {
			for _, intruder := range contractTenants {
				if victim == intruder {
					continue
				}
				for _, op := range ops {
					t.Run(intruder+" "+op.name+" on "+victim, func(t *testing.T) {
						err := op.do(opCtx(t), clients[intruder], victim, intruder)
						if code := s3Code(err); code != "AccessDenied" {
							t.Errorf("err = %v (S3 code %q), want AccessDenied", err, code)
						}
					})
				}
			}
			// The victim's object is intact after every attempt.
			o, err := clients[victim].GetObject(opCtx(t), bucket(victim), objectKey, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o)
			o.Close()
			if err != nil || !bytes.Equal(got, content(victim)) {
				t.Errorf("%s's object after the attempts: %q (err %v)", victim, got, err)
			}
		}
	})

	t.Run("a write over the bucket quota fails with QuotaExceeded and leaves nothing", func(t *testing.T) {
		c, b := clients["suwon"], bucket("suwon")
		fill := bytes.Repeat([]byte("a"), 3<<20)
		if _, err := c.PutObject(opCtx(t), b, "fill", bytes.NewReader(fill), int64(len(fill)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("a write under the quota: %v", err)
		}
		for _, tc := range []struct {
			key  string
			size int
		}{
			{"over-after-fill", 2 << 20},      // fits alone, not with what is stored
			{"over-alone", contractQuota + 1}, // larger than the whole quota
		} {
			body := bytes.Repeat([]byte("b"), tc.size)
			_, err := c.PutObject(opCtx(t), b, tc.key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			if code := s3Code(err); code != "QuotaExceeded" {
				t.Errorf("%s (%d bytes): err %v (code %q), want QuotaExceeded", tc.key, tc.size, err, code)
			}
			_, err = c.StatObject(opCtx(t), b, tc.key, minio.StatObjectOptions{})
			if code := s3Code(err); code != "NoSuchKey" {
				t.Errorf("%s after the refused write: stat err %v (code %q), want NoSuchKey", tc.key, err, code)
			}
		}
	})

	t.Run("tenant keys get 403 on the Admin Ops API", func(t *testing.T) {
		for _, id := range contractTenants {
			ta, err := cephadmin.NewAdminOps(cephadmin.AdminOpsConfig{
				Endpoint: env.RGWEndpoint, AccessKey: creds[id].AccessKey, SecretKey: creds[id].SecretKey,
			})
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]error{}
			_, calls["user info (own)"] = ta.UserInfo(ctx, id)
			_, calls["user info (admin)"] = ta.UserInfo(ctx, env.AdminUID)
			_, _, calls["create user"] = ta.EnsureUser(ctx, cephadmin.UserSpec{UID: id + "-escalate"})
			calls["raise own quota"] = ta.SetUserQuota(ctx, id, cephadmin.Quota{Enabled: false, MaxSizeBytes: -1, MaxObjects: -1})
			_, calls["bucket stats"] = ta.BucketStats(ctx, bucket(id))
			for name, err := range calls {
				var apiErr *cephadmin.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || !errors.Is(err, cephadmin.ErrAccessDenied) {
					t.Errorf("%s with %s's key: %v, want 403 AccessDenied", name, id, err)
				}
			}
		}
		if _, err := admin.UserInfo(ctx, "suwon-escalate"); !errors.Is(err, cephadmin.ErrNoSuchUser) {
			t.Errorf("user made with a tenant key: %v", err)
		}
	})

	t.Run("user placement through the metadata API", func(t *testing.T) {
		const uid = "dure-contract-metadata"
		if _, _, err := admin.EnsureUser(ctx, cephadmin.UserSpec{UID: uid}); err != nil {
			t.Fatal(err)
		}
		defer admin.DeleteUser(ctx, uid, true)
		if err := cluster.SetUserPlacement(ctx, uid, "tenant-yongin", []string{"tenant-yongin"}); err != nil {
			t.Fatal(err)
		}
		u, err := admin.UserInfo(ctx, uid)
		if err != nil || u.DefaultPlacement != "tenant-yongin" || !slices.Equal(u.PlacementTags, []string{"tenant-yongin"}) {
			t.Errorf("after SetUserPlacement: placement %q tags %v err %v", u.DefaultPlacement, u.PlacementTags, err)
		}
	})

	var restartTook time.Duration
	t.Run("RestartRGW brings the gateway back", func(t *testing.T) {
		start := time.Now()
		if err := cluster.RestartRGW(ctx); err != nil {
			t.Fatal(err)
		}
		restartTook = time.Since(start)
		if _, err := clients["yongin"].StatObject(opCtx(t), bucket("yongin"), objectKey, minio.StatObjectOptions{}); err != nil {
			t.Errorf("stat after restart: %v", err)
		}
	})

	var removeTook time.Duration
	t.Run("RemoveTenant leaves nothing behind", func(t *testing.T) {
		start := time.Now()
		for _, id := range contractTenants {
			r, err := storage.RemoveTenant(ctx, id)
			if err != nil {
				t.Fatalf("remove %s: %v", id, err)
			}
			if !r.RemovedPlacement || len(r.DeletedPools) != 3 {
				t.Errorf("remove %s reported %+v", id, r)
			}
		}
		removeTook = time.Since(start)
		for _, id := range contractTenants {
			n := cephadmin.NamesFor(id)
			if _, err := admin.UserInfo(ctx, id); !errors.Is(err, cephadmin.ErrNoSuchUser) {
				t.Errorf("user %s after removal: %v", id, err)
			}
			if _, err := admin.BucketStats(ctx, bucket(id)); !errors.Is(err, cephadmin.ErrNoSuchBucket) {
				t.Errorf("bucket %s after removal: %v", bucket(id), err)
			}
			for _, pool := range n.Pools() {
				if exists, err := cluster.PoolExists(ctx, pool); err != nil || exists {
					t.Errorf("pool %s after removal: exists=%v err=%v", pool, exists, err)
				}
			}
			if _, found, err := cluster.PlacementTarget(ctx, n.Placement); err != nil || found {
				t.Errorf("placement %s after removal: found=%v err=%v", n.Placement, found, err)
			}
			_, err := clients[id].ListBuckets(opCtx(t))
			if code := s3Code(err); code != "InvalidAccessKeyId" {
				t.Errorf("%s's key after removal: %v (code %q), want InvalidAccessKeyId", id, err, code)
			}
			r, err := storage.RemoveTenant(ctx, id)
			if err != nil || r.RemovedPlacement || len(r.DeletedPools) > 0 {
				t.Errorf("second removal of %s: %+v err %v, want nothing removed", id, r, err)
			}
		}
	})

	summary := fmt.Sprintf("ceph contract: onboard 3 tenants %.1fs, restart rgw %.1fs, remove 3 tenants %.1fs, whole test %.1fs",
		onboardTook.Seconds(), restartTook.Seconds(), removeTook.Seconds(), time.Since(began).Seconds())
	t.Log(summary)
	fmt.Fprintln(os.Stderr, summary)
}
