// Package registry is the model registry: monotonic, immutable versions of the
// shared classifier in the model-registry bucket, each with its metrics and the
// datasets (and so the tenants) it was trained on, plus named aliases.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/dure-platform/dure/internal/objstore"
)

// Layout of the model-registry bucket.
const (
	modelsPrefix     = "models/"
	aliasesPrefix    = "aliases/"
	candidatesPrefix = "candidates/"
	artifactsPrefix  = "artifacts/"
	// ArtifactName is the model file inside a version's or candidate's folder.
	ArtifactName = "model.bin"
)

// DatasetRef names one training dataset and its tenant.
type DatasetRef struct {
	DatasetID string `json:"dataset_id"`
	TenantID  string `json:"tenant_id"`
	Records   int    `json:"records"`
}

// Version is the metadata of one registered model version.
type Version struct {
	Version     int    `json:"version"`
	CandidateID string `json:"candidate_id"`
	ArtifactKey string `json:"artifact_key"`
	// ArtifactSHA256 lets a replica check what it loads.
	ArtifactSHA256 string             `json:"artifact_sha256"`
	Metrics        map[string]float64 `json:"metrics"`
	Datasets       []DatasetRef       `json:"datasets"`
	Tenants        []string           `json:"tenants"`
	Params         map[string]any     `json:"params,omitempty"`
	Trainer        string             `json:"trainer"`
	// CodeVersion is the build of dure that trained the model.
	CodeVersion  string    `json:"code_version"`
	RegisteredAt time.Time `json:"registered_at"`
}

// ErrNotFound is returned for unknown versions and aliases.
var ErrNotFound = errors.New("not found")

// Registry reads and writes the model-registry bucket.
type Registry struct {
	S3     *minio.Client
	Bucket string
	Now    func() time.Time
}

// New returns a registry on the platform's model-registry bucket.
func New(c *minio.Client) *Registry {
	return &Registry{S3: c, Bucket: objstore.BucketModelRegistry, Now: time.Now}
}

// CandidateKey is where a trainer uploads the artifact of one training run.
func CandidateKey(candidateID string) string {
	return candidatesPrefix + candidateID + "/" + ArtifactName
}

func versionDir(v int) string     { return fmt.Sprintf("%sv%06d/", modelsPrefix, v) }
func metaKey(v int) string        { return versionDir(v) + "meta.json" }
func aliasKey(name string) string { return aliasesPrefix + name + ".json" }

// artifactKey is per candidate, not per version, so that two registrations
// racing for one version number never overwrite each other's artifact.
func artifactKey(candidateID string) string {
	return artifactsPrefix + candidateID + "/" + ArtifactName
}

// maxClaims bounds how many version numbers one registration tries when other
// registrations keep taking them.
const maxClaims = 32

// Register makes a candidate artifact a new version. Registering the same
// candidate again returns the version it already got. A version is claimed by
// creating its meta.json only if it does not exist, so versions are monotonic
// and immutable even with registrations racing.
func (r *Registry) Register(ctx context.Context, v Version) (Version, error) {
	versions, err := r.List(ctx)
	if err != nil {
		return Version{}, err
	}
	for _, existing := range versions {
		if existing.CandidateID == v.CandidateID {
			return existing, nil
		}
	}
	next := 1
	if len(versions) > 0 {
		next = versions[len(versions)-1].Version + 1
	}
	v.ArtifactKey = artifactKey(v.CandidateID)
	v.RegisteredAt = r.Now().UTC()
	v.Tenants = tenantsOf(v.Datasets)
	v.ArtifactSHA256, err = objstore.Copy(ctx, r.S3, r.Bucket, CandidateKey(v.CandidateID), r.Bucket, v.ArtifactKey)
	if err != nil {
		return Version{}, fmt.Errorf("copy candidate %s: %w", v.CandidateID, err)
	}
	for range maxClaims {
		v.Version = next
		err := objstore.CreateJSON(ctx, r.S3, r.Bucket, metaKey(next), v)
		if errors.Is(err, objstore.ErrExists) {
			next++ // another registration took this number
			continue
		}
		if err != nil {
			return Version{}, err
		}
		return v, nil
	}
	return Version{}, fmt.Errorf("no free version number after %d tries", maxClaims)
}

// Get returns one version's metadata.
func (r *Registry) Get(ctx context.Context, version int) (Version, error) {
	var v Version
	err := objstore.GetJSON(ctx, r.S3, r.Bucket, metaKey(version), &v)
	if objstore.IsNotFound(err) {
		return Version{}, fmt.Errorf("model version %d: %w", version, ErrNotFound)
	}
	return v, err
}

// List returns every registered version in ascending order.
func (r *Registry) List(ctx context.Context) ([]Version, error) {
	var nums []int
	for obj := range r.S3.ListObjects(ctx, r.Bucket, minio.ListObjectsOptions{Prefix: modelsPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list model versions: %w", obj.Err)
		}
		rest, ok := strings.CutPrefix(obj.Key, modelsPrefix+"v")
		if !ok || !strings.HasSuffix(rest, "/meta.json") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSuffix(rest, "/meta.json")); err == nil {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	out := make([]Version, 0, len(nums))
	for _, n := range nums {
		v, err := r.Get(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// OpenArtifact streams a version's model file.
func (r *Registry) OpenArtifact(ctx context.Context, version int) (io.ReadCloser, error) {
	v, err := r.Get(ctx, version)
	if err != nil {
		return nil, err
	}
	obj, err := r.S3.GetObject(ctx, r.Bucket, v.ArtifactKey, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open model version %d: %w", version, err)
	}
	return obj, nil
}

type alias struct {
	Alias   string    `json:"alias"`
	Version int       `json:"version"`
	SetAt   time.Time `json:"set_at"`
}

// SetAlias points an alias (champion, challenger) at an existing version.
func (r *Registry) SetAlias(ctx context.Context, name string, version int) error {
	if _, err := r.Get(ctx, version); err != nil {
		return err
	}
	return objstore.PutJSON(ctx, r.S3, r.Bucket, aliasKey(name), alias{Alias: name, Version: version, SetAt: r.Now().UTC()})
}

// Alias returns the version an alias points at.
func (r *Registry) Alias(ctx context.Context, name string) (int, error) {
	var a alias
	err := objstore.GetJSON(ctx, r.S3, r.Bucket, aliasKey(name), &a)
	if objstore.IsNotFound(err) {
		return 0, fmt.Errorf("alias %q: %w", name, ErrNotFound)
	}
	return a.Version, err
}

func tenantsOf(ds []DatasetRef) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range ds {
		if !seen[d.TenantID] {
			seen[d.TenantID] = true
			out = append(out, d.TenantID)
		}
	}
	sort.Strings(out)
	return out
}
