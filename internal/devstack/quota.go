package devstack

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/versity/versitygw/backend"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/s3err"
	"github.com/versity/versitygw/s3response"
)

// QuotaSource says how many bytes a bucket may hold.
type QuotaSource interface {
	BucketQuota(ctx context.Context, bucket string) (int64, bool, error)
}

// quotaBackend enforces bucket size quotas, which versitygw does not, and refuses
// an over-quota write with the error Ceph RGW gives (QuotaExceeded) before any
// byte is stored, so nothing partial remains.
type quotaBackend struct {
	backend.Backend
	root   string
	quotas QuotaSource

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func newQuotaBackend(be backend.Backend, root string, quotas QuotaSource) *quotaBackend {
	return &quotaBackend{Backend: be, root: root, quotas: quotas, locks: map[string]*sync.Mutex{}}
}

// bucketLock serialises quota-checked writes to one bucket, so two uploads
// cannot both pass the check and together exceed the quota.
func (q *quotaBackend) bucketLock(bucket string) *sync.Mutex {
	q.mu.Lock()
	defer q.mu.Unlock()
	l, ok := q.locks[bucket]
	if !ok {
		l = &sync.Mutex{}
		q.locks[bucket] = l
	}
	return l
}

func (q *quotaBackend) PutObject(ctx context.Context, in s3response.PutObjectInput) (s3response.PutObjectOutput, error) {
	bucket, key := deref(in.Bucket), deref(in.Key)
	limit, ok, err := q.quotas.BucketQuota(ctx, bucket)
	if err != nil {
		return s3response.PutObjectOutput{}, err
	}
	if !ok {
		return q.Backend.PutObject(ctx, in)
	}
	l := q.bucketLock(bucket)
	l.Lock()
	defer l.Unlock()
	if err := q.admit(bucket, key, derefInt(in.ContentLength), limit); err != nil {
		return s3response.PutObjectOutput{}, err
	}
	return q.Backend.PutObject(ctx, in)
}

func (q *quotaBackend) UploadPart(ctx context.Context, in *s3.UploadPartInput) (*s3.UploadPartOutput, error) {
	bucket := deref(in.Bucket)
	limit, ok, err := q.quotas.BucketQuota(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if !ok {
		return q.Backend.UploadPart(ctx, in)
	}
	l := q.bucketLock(bucket)
	l.Lock()
	defer l.Unlock()
	if err := q.admit(bucket, "", derefInt(in.ContentLength), limit); err != nil {
		return nil, err
	}
	return q.Backend.UploadPart(ctx, in)
}

func (q *quotaBackend) CopyObject(ctx context.Context, in s3response.CopyObjectInput) (s3response.CopyObjectOutput, error) {
	bucket := deref(in.Bucket)
	limit, ok, err := q.quotas.BucketQuota(ctx, bucket)
	if err != nil {
		return s3response.CopyObjectOutput{}, err
	}
	if !ok {
		return q.Backend.CopyObject(ctx, in)
	}
	srcBucket, srcKey, _ := strings.Cut(strings.TrimPrefix(deref(in.CopySource), "/"), "/")
	head, err := q.Backend.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &srcBucket, Key: &srcKey})
	if err != nil {
		return s3response.CopyObjectOutput{}, err
	}
	l := q.bucketLock(bucket)
	l.Lock()
	defer l.Unlock()
	if err := q.admit(bucket, deref(in.Key), derefInt(head.ContentLength), limit); err != nil {
		return s3response.CopyObjectOutput{}, err
	}
	return q.Backend.CopyObject(ctx, in)
}

// admit checks that writing size bytes at key keeps the bucket within limit.
func (q *quotaBackend) admit(bucket, key string, size, limit int64) error {
	used, err := q.usage(bucket)
	if err != nil {
		return err
	}
	if key != "" {
		if info, err := os.Stat(filepath.Join(q.root, bucket, filepath.FromSlash(key))); err == nil && info.Mode().IsRegular() {
			used -= info.Size() // an overwrite replaces the old bytes
		}
	}
	if used+size > limit {
		return s3err.GetAPIError(s3err.ErrQuotaExceeded)
	}
	return nil
}

// usage sums the objects stored in a bucket's directory and the parts of
// multipart uploads in progress, which take space before they complete (and
// would otherwise let a multipart upload past the quota part by part).
// versitygw's other dot-directories hold single writes in flight, which
// admit counts itself.
func (q *quotaBackend) usage(bucket string) (int64, error) {
	var total int64
	dir := filepath.Join(q.root, bucket)
	multipart := filepath.Join(dir, filepath.FromSlash(posix.MetaTmpMultipartDir))
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") && !strings.HasPrefix(multipart, path) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
