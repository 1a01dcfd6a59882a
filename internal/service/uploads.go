package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
)

// AbandonedUploads aborts the multipart uploads a tenant started and never
// completed or aborted, once they are older than MaxAge. Until then their
// parts count against the tenant's quota, and on Ceph they fill the
// tenant's pool: an interrupted client would otherwise hold that space for
// good.
type AbandonedUploads struct {
	Store  *tenancy.Store
	S3     objstore.Endpoint
	MaxAge time.Duration
	Logger *slog.Logger
}

// SweepUploadsEvery is how often the control plane looks for abandoned
// uploads.
const SweepUploadsEvery = time.Hour

// Sweep aborts every tenant's uploads started before now less MaxAge, and
// says how many it aborted. A tenant it cannot sweep does not stop the
// others; their errors come back joined.
func (a AbandonedUploads) Sweep(ctx context.Context, now time.Time) (int, error) {
	tenants, err := a.Store.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	aborted := 0
	var errs []error
	for _, t := range tenants {
		n, err := a.sweepTenant(ctx, t, now.Add(-a.MaxAge))
		aborted += n
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
		}
	}
	return aborted, errors.Join(errs...)
}

// sweepTenant works with the tenant's own key: only the tenant and the
// quality gate reach its bucket.
func (a AbandonedUploads) sweepTenant(ctx context.Context, t tenancy.Tenant, before time.Time) (int, error) {
	cred, err := a.Store.S3CredentialFor(ctx, t.ID)
	if err != nil {
		return 0, err
	}
	c, err := objstore.Client(a.S3, cred.AccessKey, cred.SecretKey)
	if err != nil {
		return 0, err
	}
	core := minio.Core{Client: c}
	bucket := objstore.TenantBucket(t.ID)
	aborted := 0
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err != nil {
			return aborted, fmt.Errorf("list uploads of %s: %w", bucket, u.Err)
		}
		if !u.Initiated.Before(before) {
			continue
		}
		if err := core.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID); err != nil {
			return aborted, fmt.Errorf("abort upload of %s/%s: %w", bucket, u.Key, err)
		}
		aborted++
		a.Logger.Info("aborted an abandoned multipart upload", "tenant", t.ID, "key", u.Key,
			"started", u.Initiated, "bytes", u.Size)
	}
	return aborted, nil
}

// Run sweeps every interval until ctx ends.
func (a AbandonedUploads) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := a.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.Logger.Warn("abandoned uploads", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
