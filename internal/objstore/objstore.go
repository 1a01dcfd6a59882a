// Package objstore is the platform's S3 client: minio-go configured the same way
// for the embedded server and for Ceph RGW, plus the few helpers every adapter needs.
package objstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Platform bucket names; infra/ceph/README.md says which pool holds each on Ceph.
const (
	BucketStaging       = "staging"
	BucketQuarantine    = "quarantine"
	BucketAITraining    = "ai-training"
	BucketModelRegistry = "model-registry"
	BucketCheckpoints   = "checkpoints"
	// BucketAudit holds anchors of the audit log's head, outside the
	// database the log is in.
	BucketAudit = "audit"
)

// TenantBucket is the raw-upload bucket of a tenant.
func TenantBucket(tenantID string) string { return "tenant-" + tenantID }

// Endpoint says how to reach the S3 service.
type Endpoint struct {
	Address string // host:port
	Region  string
	Secure  bool
}

// Client returns a minio-go client for one identity. Requests time out so a stuck
// backend (a full Ceph pool makes RGW hang) cannot block a worker forever.
func Client(ep Endpoint, accessKey, secretKey string) (*minio.Client, error) {
	c, err := minio.New(ep.Address, &minio.Options{
		Creds:  credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure: ep.Secure,
		Region: ep.Region,
		Transport: &http.Transport{
			Proxy:                 nil,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", ep.Address, err)
	}
	return c, nil
}

// EnsureBucket creates a bucket unless its caller already owns it.
func EnsureBucket(ctx context.Context, c *minio.Client, bucket, region string) error {
	err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region})
	if err == nil {
		return nil
	}
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" {
		return nil
	}
	return fmt.Errorf("create bucket %s: %w", bucket, err)
}

// PutJSON writes v as a JSON object.
func PutJSON(ctx context.Context, c *minio.Client, bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	_, err = c.PutObject(ctx, bucket, key, bytes.NewReader(raw), int64(len(raw)),
		minio.PutObjectOptions{ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// GetJSON reads a JSON object into v.
func GetJSON(ctx context.Context, c *minio.Client, bucket, key string, v any) error {
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer obj.Close()
	raw, err := io.ReadAll(obj)
	if err != nil {
		return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// IsNotFound tells whether err means the key or bucket does not exist.
func IsNotFound(err error) bool {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code == "NoSuchKey" || resp.Code == "NoSuchBucket" || resp.StatusCode == http.StatusNotFound
	}
	return false
}

// IsAccessDenied tells whether err is S3's AccessDenied.
func IsAccessDenied(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == "AccessDenied"
}

// Exists reports whether an object exists.
func Exists(ctx context.Context, c *minio.Client, bucket, key string) (bool, error) {
	_, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if IsNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("stat s3://%s/%s: %w", bucket, key, err)
}

// Copy streams an object to a new key and returns the SHA-256 of its content.
// It reads through the client rather than asking the server to copy, which
// hashes in the same pass and works the same on every S3 server.
func Copy(ctx context.Context, c *minio.Client, srcBucket, srcKey, dstBucket, dstKey string) (string, error) {
	obj, err := c.GetObject(ctx, srcBucket, srcKey, minio.GetObjectOptions{})
	if err != nil {
		return "", fmt.Errorf("open s3://%s/%s: %w", srcBucket, srcKey, err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		return "", fmt.Errorf("stat s3://%s/%s: %w", srcBucket, srcKey, err)
	}
	h := sha256.New()
	_, err = c.PutObject(ctx, dstBucket, dstKey, io.TeeReader(obj, h), info.Size,
		minio.PutObjectOptions{ContentType: info.ContentType})
	if err != nil {
		return "", fmt.Errorf("copy to s3://%s/%s: %w", dstBucket, dstKey, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
