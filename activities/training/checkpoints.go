package training

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/trainjob"
)

// CheckpointStore keeps a candidate's checkpoints where a retry on another
// host, or after this one died, can find them. Names are those of
// trainjob.CheckpointName, which sort by epoch.
type CheckpointStore interface {
	// Put stores the local checkpoint file under the candidate.
	Put(ctx context.Context, candidateID, file string) error
	// Latest copies the candidate's newest checkpoint into dir and returns
	// its name, or "" when there is none.
	Latest(ctx context.Context, candidateID, dir string) (string, error)
	// Delete removes the candidate's checkpoints.
	Delete(ctx context.Context, candidateID string) error
}

// CheckpointPrefix is where a candidate's checkpoints live in the
// checkpoints bucket.
func CheckpointPrefix(candidateID string) string { return candidateID + "/" }

// keepRemote is how many checkpoints a candidate keeps in S3: the newest
// and the one before, in case the newest upload was cut short.
const keepRemote = 2

// S3Checkpoints stores checkpoints in the "checkpoints" bucket as
// checkpoints/<candidate_id>/ckpt-NNNNNN.bin.
type S3Checkpoints struct{ Client *minio.Client }

func (s S3Checkpoints) list(ctx context.Context, candidateID string) ([]string, error) {
	var keys []string
	for obj := range s.Client.ListObjects(ctx, objstore.BucketCheckpoints, minio.ListObjectsOptions{Prefix: CheckpointPrefix(candidateID)}) {
		if obj.Err != nil {
			if objstore.IsNotFound(obj.Err) {
				return nil, nil
			}
			return nil, fmt.Errorf("list checkpoints: %w", obj.Err)
		}
		if _, ok := trainjob.CheckpointEpoch(path.Base(obj.Key)); ok {
			keys = append(keys, obj.Key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Put uploads file and prunes all but the newest keepRemote checkpoints.
func (s S3Checkpoints) Put(ctx context.Context, candidateID, file string) error {
	key := CheckpointPrefix(candidateID) + filepath.Base(file)
	if _, err := s.Client.FPutObject(ctx, objstore.BucketCheckpoints, key, file, minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("upload checkpoint %s: %w", key, err)
	}
	keys, err := s.list(ctx, candidateID)
	if err != nil {
		return err
	}
	for _, old := range keys[:max(0, len(keys)-keepRemote)] {
		if err := s.Client.RemoveObject(ctx, objstore.BucketCheckpoints, old, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("prune checkpoint %s: %w", old, err)
		}
	}
	return nil
}

// Latest downloads the newest checkpoint into dir.
func (s S3Checkpoints) Latest(ctx context.Context, candidateID, dir string) (string, error) {
	keys, err := s.list(ctx, candidateID)
	if err != nil || len(keys) == 0 {
		return "", err
	}
	key := keys[len(keys)-1]
	name := strings.TrimPrefix(key, CheckpointPrefix(candidateID))
	if err := s.Client.FGetObject(ctx, objstore.BucketCheckpoints, key, filepath.Join(dir, name), minio.GetObjectOptions{}); err != nil {
		return "", fmt.Errorf("download checkpoint %s: %w", key, err)
	}
	return name, nil
}

// Delete removes every checkpoint of the candidate.
func (s S3Checkpoints) Delete(ctx context.Context, candidateID string) error {
	keys, err := s.list(ctx, candidateID)
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err := s.Client.RemoveObject(ctx, objstore.BucketCheckpoints, key, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("delete checkpoint %s: %w", key, err)
		}
	}
	return nil
}
