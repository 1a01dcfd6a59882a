// Package registry is the model registry: monotonic, immutable versions of the
// shared classifier, each with its metrics and the datasets (and so the
// tenants) it was trained on, plus named aliases. Artifacts live in the
// model-registry bucket; versions and aliases in the metadata database.
package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/objstore"
)

// Layout of the model-registry bucket.
const (
	modelsPrefix     = "models/"
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

// Registry keeps artifacts in the model-registry bucket and the pointers to
// them (version numbers, aliases) in the shared metadata database, where
// every service sees one monotonic sequence of immutable versions.
type Registry struct {
	S3     *minio.Client
	Bucket string
	DB     *metadb.DB
	Now    func() time.Time
}

// New returns a registry on the platform's model-registry bucket.
func New(c *minio.Client, db *metadb.DB) *Registry {
	return &Registry{S3: c, Bucket: objstore.BucketModelRegistry, DB: db, Now: time.Now}
}

// CandidateKey is where a trainer uploads the artifact of one training run.
func CandidateKey(candidateID string) string {
	return candidatesPrefix + candidateID + "/" + ArtifactName
}

func versionDir(v int) string { return fmt.Sprintf("%sv%06d/", modelsPrefix, v) }
func metaKey(v int) string    { return versionDir(v) + "meta.json" }

// artifactKey is per candidate, not per version: an artifact is copied
// before its version number exists, and a retried registration copies onto
// the same key.
func artifactKey(candidateID string) string {
	return artifactsPrefix + candidateID + "/" + ArtifactName
}

// Register makes a candidate artifact a new version. Registering the same
// candidate again returns the version it already got. The number is claimed
// in the database under a lock, so registrations racing from several workers
// get distinct, increasing versions, and a version's record never changes.
func (r *Registry) Register(ctx context.Context, v Version) (Version, error) {
	if existing, err := r.byCandidate(ctx, v.CandidateID); err == nil || !errors.Is(err, ErrNotFound) {
		return existing, err
	}
	var err error
	v.ArtifactKey = artifactKey(v.CandidateID)
	v.RegisteredAt = r.Now().UTC().Truncate(time.Microsecond)
	v.Tenants = tenantsOf(v.Datasets)
	v.ArtifactSHA256, err = objstore.Copy(ctx, r.S3, r.Bucket, CandidateKey(v.CandidateID), r.Bucket, v.ArtifactKey)
	if err != nil {
		return Version{}, fmt.Errorf("copy candidate %s: %w", v.CandidateID, err)
	}
	err = r.DB.InTx(ctx, func(tx *metadb.Tx) error {
		if err := tx.Lock(ctx, "model-versions"); err != nil {
			return err
		}
		var taken int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM model_versions WHERE candidate_id = ?", v.CandidateID).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return errCandidateTaken
		}
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions").Scan(&v.Version); err != nil {
			return err
		}
		meta, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO model_versions (version, candidate_id, meta, registered_at) VALUES (?, ?, ?, ?)",
			v.Version, v.CandidateID, string(meta), metadb.Micros(v.RegisteredAt))
		return err
	})
	if errors.Is(err, errCandidateTaken) {
		return r.byCandidate(ctx, v.CandidateID) // a racing retry of the same candidate won
	}
	if err != nil {
		return Version{}, fmt.Errorf("register candidate %s: %w", v.CandidateID, err)
	}
	// A copy of the record beside the artifact, so the bucket describes itself.
	if err := objstore.PutJSON(ctx, r.S3, r.Bucket, metaKey(v.Version), v); err != nil {
		return Version{}, err
	}
	return v, nil
}

var errCandidateTaken = errors.New("candidate already registered")

func (r *Registry) one(ctx context.Context, what, where string, arg any) (Version, error) {
	var meta string
	err := r.DB.QueryRow(ctx, "SELECT meta FROM model_versions WHERE "+where+" = ?", arg).Scan(&meta)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return Version{}, fmt.Errorf("read %s: %w", what, err)
	}
	var v Version
	if err := json.Unmarshal([]byte(meta), &v); err != nil {
		return Version{}, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

func (r *Registry) byCandidate(ctx context.Context, candidateID string) (Version, error) {
	return r.one(ctx, "candidate "+candidateID, "candidate_id", candidateID)
}

// Get returns one version's metadata.
func (r *Registry) Get(ctx context.Context, version int) (Version, error) {
	return r.one(ctx, fmt.Sprintf("model version %d", version), "version", version)
}

// List returns every registered version in ascending order.
func (r *Registry) List(ctx context.Context) ([]Version, error) {
	rows, err := r.DB.Query(ctx, "SELECT meta FROM model_versions ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("list model versions: %w", err)
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		var (
			meta string
			v    Version
		)
		if err := rows.Scan(&meta); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(meta), &v); err != nil {
			return nil, fmt.Errorf("decode model version: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
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

// SetAlias points an alias (champion, challenger) at an existing version.
func (r *Registry) SetAlias(ctx context.Context, name string, version int) error {
	if _, err := r.Get(ctx, version); err != nil {
		return err
	}
	_, err := r.DB.Exec(ctx, `INSERT INTO model_aliases (name, version, set_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET version = excluded.version, set_at = excluded.set_at`,
		name, version, metadb.Micros(r.Now()))
	if err != nil {
		return fmt.Errorf("set alias %s: %w", name, err)
	}
	return nil
}

// Alias returns the version an alias points at.
func (r *Registry) Alias(ctx context.Context, name string) (int, error) {
	var v int
	err := r.DB.QueryRow(ctx, "SELECT version FROM model_aliases WHERE name = ?", name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("alias %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read alias %s: %w", name, err)
	}
	return v, nil
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
