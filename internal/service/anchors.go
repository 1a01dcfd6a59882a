package service

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/objstore"
)

// AuditAnchors keeps anchors of the audit log's head in the audit bucket,
// outside the database the log lives in: whoever can write the database
// cannot then cut the chain short without it showing. Anchors are kept per
// installation (metadb.DB.InstallationID), so deployments sharing one S3
// cluster never read each other's.
type AuditAnchors struct {
	S3           *minio.Client
	Log          *audit.Log
	Installation string
	Logger       *slog.Logger
}

func (a AuditAnchors) prefix() string { return "anchors/" + a.Installation + "/" }

func (a AuditAnchors) key(seq int64) string { return fmt.Sprintf("%s%012d.json", a.prefix(), seq) }

// Take anchors the current head, unless it is anchored already or the log
// is empty, and reports whether it wrote one.
func (a AuditAnchors) Take(ctx context.Context) (audit.Anchor, bool, error) {
	head, err := a.Log.Head(ctx)
	if err != nil || head.Seq == 0 {
		return head, false, err
	}
	key := a.key(head.Seq)
	if _, err := a.S3.StatObject(ctx, objstore.BucketAudit, key, minio.StatObjectOptions{}); err == nil {
		return head, false, nil
	}
	if err := objstore.PutJSON(ctx, a.S3, objstore.BucketAudit, key, head); err != nil {
		return head, false, fmt.Errorf("anchor audit head: %w", err)
	}
	return head, true, nil
}

// Latest returns the newest n anchors, oldest first.
func (a AuditAnchors) Latest(ctx context.Context, n int) ([]audit.Anchor, error) {
	var keys []string
	for obj := range a.S3.ListObjects(ctx, objstore.BucketAudit, minio.ListObjectsOptions{Prefix: a.prefix()}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list audit anchors: %w", obj.Err)
		}
		if strings.HasSuffix(obj.Key, ".json") {
			keys = append(keys, obj.Key)
		}
	}
	keys = keys[max(0, len(keys)-n):]
	out := make([]audit.Anchor, 0, len(keys))
	for _, k := range keys {
		var anchor audit.Anchor
		if err := objstore.GetJSON(ctx, a.S3, objstore.BucketAudit, k, &anchor); err != nil {
			return nil, err
		}
		out = append(out, anchor)
	}
	return out, nil
}

// Run anchors the head every interval until ctx ends.
func (a AuditAnchors) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if head, wrote, err := a.Take(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("audit anchor", "err", err)
		} else if wrote {
			a.Logger.Debug("audit head anchored", "seq", head.Seq)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
