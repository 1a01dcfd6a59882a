package cephadmin_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/dure-platform/dure/activities/cephadmin"
)

// A rotated key is refused by RGW at once; the new one reaches the user's
// bucket; the user keeps exactly one key.
func TestRotateKeyContract(t *testing.T) {
	env, admin, uid, old := tempUser(t, "ct-rotate")
	bucket := uid + "-bucket"
	if err := s3Client(t, env.RGWEndpoint, old).MakeBucket(opCtx(t), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	fresh, err := admin.RotateKey(opCtx(t), uid, old.AccessKey)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessKey == old.AccessKey || fresh.SecretKey == "" {
		t.Fatalf("rotation returned the old key or no secret")
	}
	if _, err := s3Client(t, env.RGWEndpoint, old).BucketExists(opCtx(t), bucket); err == nil {
		t.Error("the rotated-out key still works")
	}
	if ok, err := s3Client(t, env.RGWEndpoint, fresh).BucketExists(opCtx(t), bucket); err != nil || !ok {
		t.Errorf("the new key does not reach the user's bucket: %v", err)
	}
	u, err := admin.UserInfo(opCtx(t), uid)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Keys) != 1 || u.Keys[0].AccessKey != fresh.AccessKey {
		t.Errorf("the user holds %d keys, want only the new one", len(u.Keys))
	}
	if err := s3Client(t, env.RGWEndpoint, fresh).RemoveBucket(opCtx(t), bucket); err != nil {
		t.Errorf("remove bucket: %v", err)
	}
}

// A user whose bucket creation is disabled keeps its bucket and can make no
// other.
func TestDisableBucketCreationContract(t *testing.T) {
	env, admin, uid, cred := tempUser(t, "ct-nobucket")
	s3 := s3Client(t, env.RGWEndpoint, cred)
	own := uid + "-own"
	if err := s3.MakeBucket(opCtx(t), own, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := admin.DisableBucketCreation(opCtx(t), uid); err != nil {
		t.Fatal(err)
	}
	if err := s3.MakeBucket(opCtx(t), uid+"-squat", minio.MakeBucketOptions{}); err == nil {
		t.Error("a user without bucket creation made a bucket")
	} else {
		t.Logf("refused: %s", s3Code(err))
	}
	if err := putObject(opCtx(t), s3, own, "still.jsonl", []byte("{}"), minio.PutObjectOptions{}); err != nil {
		t.Errorf("the user's own bucket stopped working: %v", err)
	}
	if err := s3.RemoveObject(opCtx(t), own, "still.jsonl", minio.RemoveObjectOptions{}); err != nil {
		t.Errorf("remove object: %v", err)
	}
}

// tempUser makes an RGW user for one test, named prefix-<random>, and
// removes it (with its buckets) when the test ends.
func tempUser(t *testing.T, prefix string) (env cephadmin.Env, admin *cephadmin.AdminOps, uid string, cred cephadmin.Credential) {
	t.Helper()
	env = contractEnv(t)
	admin, _, err := env.Open(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	uid = prefix + "-" + hex.EncodeToString(suffix)
	cred, _, err = admin.EnsureUser(opCtx(t), cephadmin.UserSpec{UID: uid, DisplayName: uid})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The test's own context has ended by the time cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := admin.DeleteUser(ctx, uid, true); err != nil {
			t.Errorf("remove %s: %v", uid, err)
		}
	})
	return env, admin, uid, cred
}
