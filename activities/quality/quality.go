// Package quality is the quality gate: it reads a tenant's upload as the
// quality-gate identity, validates every record, masks personal data, stages the
// clean records, quarantines the rest with reasons, and on approval publishes the
// batch as an immutable dataset in ai-training.
package quality

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/pii"
	"github.com/dure-platform/dure/internal/validate"
	"github.com/dure-platform/dure/workflows"
)

// Activities holds the quality gate's S3 client and checks.
type Activities struct {
	// S3 acts as the quality-gate identity: it may read tenant buckets and owns
	// staging, quarantine and ai-training.
	S3       *minio.Client
	Detector *pii.Detector
	Rules    validate.Rules
	// Policies says how each tenant's personal data is masked.
	Policies PolicySource
	// MaxLineBytes bounds one record; longer lines are quarantined unread.
	MaxLineBytes int
	// Now is the clock for manifests (tests fix it).
	Now func() time.Time
	// WorkDir holds a batch's staged and quarantined records while it is
	// screened (personal data before masking among them): inside the data
	// dir, never the shared temp dir. Empty uses the system's.
	WorkDir string
}

// CleanWorkDir removes what screenings that died left in dir, and makes dir
// if it is missing: run it when the worker starts, before any screening.
func CleanWorkDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, "dure-*.jsonl"))
	if err != nil {
		return err
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	return nil
}

// PolicySource resolves a tenant's masking policy.
type PolicySource interface {
	PolicyFor(ctx context.Context, tenantID string) (pii.Policy, error)
}

// Progress is the heartbeat detail the UI shows while a batch is screened.
type Progress struct {
	RecordsDone     int `json:"records_done"`
	RecordsRejected int `json:"records_rejected"`
}

// quarantined is one rejected record, kept for the tenant to fix and resubmit,
// its personal data masked.
type quarantined struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail,omitempty"`
	Raw    string `json:"raw,omitempty"`
}

const heartbeatEvery = 200

// ScreenUpload validates and masks one upload, streaming it with bounded memory.
func (a *Activities) ScreenUpload(ctx context.Context, in workflows.ScreenUploadInput) (workflows.ScreenResult, error) {
	bucket := objstore.TenantBucket(in.TenantID)
	obj, err := a.S3.GetObject(ctx, bucket, in.ObjectKey, minio.GetObjectOptions{})
	if err != nil {
		return workflows.ScreenResult{}, fmt.Errorf("open s3://%s/%s: %w", bucket, in.ObjectKey, err)
	}
	defer obj.Close()
	if _, err := obj.Stat(); err != nil {
		if objstore.IsNotFound(err) || objstore.IsAccessDenied(err) {
			return workflows.ScreenResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("upload s3://%s/%s cannot be read: %v", bucket, in.ObjectKey, err), "UploadUnreadable", err)
		}
		return workflows.ScreenResult{}, fmt.Errorf("stat upload: %w", err)
	}

	staged, err := os.CreateTemp(a.WorkDir, "dure-staged-*.jsonl")
	if err != nil {
		return workflows.ScreenResult{}, err
	}
	defer removeTemp(staged)
	rejects, err := os.CreateTemp(a.WorkDir, "dure-quarantine-*.jsonl")
	if err != nil {
		return workflows.ScreenResult{}, err
	}
	defer removeTemp(rejects)

	policy, err := a.Policies.PolicyFor(ctx, in.TenantID)
	if err != nil {
		return workflows.ScreenResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("masking policy of %s: %v", in.TenantID, err), "BadPolicy", err)
	}
	res := workflows.ScreenResult{BatchID: in.BatchID, RejectedByReason: map[string]int{}, PIIMasked: map[string]int{}}
	hash := sha256.New()
	sc := screening{Activities: a, policy: policy}
	if err := sc.screen(ctx, io.TeeReader(obj, hash), validate.FormatOf(in.ObjectKey), staged, rejects, &res); err != nil {
		return workflows.ScreenResult{}, err
	}
	res.SourceSHA256 = hex.EncodeToString(hash.Sum(nil))

	prefix := path.Join(in.TenantID, in.BatchID)
	res.StagedKey = prefix + "/records.jsonl"
	if err := uploadFile(ctx, a.S3, objstore.BucketStaging, res.StagedKey, staged); err != nil {
		return workflows.ScreenResult{}, err
	}
	if res.RecordsRejected > 0 {
		res.QuarantineKey = prefix + "/rejected.jsonl"
		if err := uploadFile(ctx, a.S3, objstore.BucketQuarantine, res.QuarantineKey, rejects); err != nil {
			return workflows.ScreenResult{}, err
		}
	}
	activity.GetLogger(ctx).Info("upload screened", "tenant", in.TenantID, "read", res.RecordsRead,
		"accepted", res.RecordsAccepted, "rejected", res.RecordsRejected, "encoding", res.Encoding, "score", res.Quality.Score)
	return res, nil
}

// screening is one upload's pass, with the tenant's masking policy.
type screening struct {
	*Activities
	policy pii.Policy
}

func (a screening) screen(ctx context.Context, src io.Reader, format validate.Format, staged, rejects io.Writer, res *workflows.ScreenResult) error {
	maxRecord := a.MaxLineBytes
	if maxRecord <= 0 {
		maxRecord = 1 << 20
	}
	reader, err := validate.NewRecordReader(src, format, maxRecord)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("upload cannot be read as %s: %v", format, err), "UploadUnreadable", err)
	}
	checker := validate.NewChecker(a.Rules)
	stagedW, rejectW := bufio.NewWriter(staged), bufio.NewWriter(rejects)
	stagedEnc, rejectEnc := json.NewEncoder(stagedW), json.NewEncoder(rejectW)
	stats := validate.BatchStats{Labels: map[string]int{}}
	reject := func(q quarantined) error {
		res.RecordsRejected++
		res.RejectedByReason[q.Reason]++
		if q.Reason == string(validate.ReasonDuplicate) || q.Reason == string(validate.ReasonNearDuplicate) {
			stats.Duplicates++
		}
		return rejectEnc.Encode(q)
	}
	for {
		raw, line, err := reader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var recErr *validate.RecordError
		switch {
		case errors.As(err, &recErr):
			res.RecordsRead++
			err = reject(quarantined{Line: recErr.Line, Reason: string(recErr.Reason), Detail: recErr.Detail})
		case err != nil:
			return fmt.Errorf("read upload at record %d: %w", line, err)
		default:
			res.RecordsRead++
			err = a.screenRecord(checker, raw, line, stagedEnc, reject, res, &stats)
		}
		if err != nil {
			return err
		}
		if res.RecordsRead%heartbeatEvery == 0 {
			activity.RecordHeartbeat(ctx, Progress{RecordsDone: res.RecordsRead, RecordsRejected: res.RecordsRejected})
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	activity.RecordHeartbeat(ctx, Progress{RecordsDone: res.RecordsRead, RecordsRejected: res.RecordsRejected})
	res.Encoding = string(reader.Encoding())
	stats.Read, stats.Accepted = res.RecordsRead, res.RecordsAccepted
	score := validate.ScoreBatch(stats, len(a.Rules.Departments))
	res.Quality = workflows.QualityScore(score)
	if err := stagedW.Flush(); err != nil {
		return err
	}
	return rejectW.Flush()
}

func (a screening) screenRecord(checker *validate.Checker, raw []byte, line int, staged *json.Encoder,
	reject func(quarantined) error, res *workflows.ScreenResult, stats *validate.BatchStats) error {
	rec, rej := checker.Check(raw)
	if rej != nil {
		// Quarantine is a shared bucket: the record is kept for the tenant to
		// fix, with its personal data masked as in an accepted one.
		masked, _ := a.Detector.MaskText(string(raw), a.policy)
		return reject(quarantined{Line: line, Reason: string(rej.Reason), Field: rej.Field, Detail: rej.Detail, Raw: masked})
	}
	res.RecordsAccepted++
	stats.Labels[rec.Department]++
	stats.TextRunes += utf8.RuneCountInString(rec.Title) + utf8.RuneCountInString(rec.Body)
	var n int
	rec.Title, n = a.mask(rec.Title, res.PIIMasked)
	stats.PIISpans += n
	rec.Body, n = a.mask(rec.Body, res.PIIMasked)
	stats.PIISpans += n
	return staged.Encode(rec)
}

func (a screening) mask(text string, counts map[string]int) (string, int) {
	masked, spans := a.Detector.MaskText(text, a.policy)
	for _, s := range spans {
		counts[string(s.Type)]++
	}
	return masked, len(spans)
}

// Manifest describes a published dataset; it holds no record text.
type Manifest struct {
	DatasetID     string    `json:"dataset_id"`
	TenantID      string    `json:"tenant_id"`
	SourceKey     string    `json:"source_key"`
	SourceSHA256  string    `json:"source_sha256"`
	ContentSHA256 string    `json:"content_sha256"`
	Records       int       `json:"records"`
	Approver      string    `json:"approver"`
	ApprovedAt    time.Time `json:"approved_at"`
	DataKey       string    `json:"data_key"`
}

// DatasetPrefix is where every dataset lives in ai-training.
const DatasetPrefix = "datasets/"

// PublishDataset copies an approved staged batch into ai-training under an id
// derived from the upload's content, with a manifest. Publishing the same upload
// again finds the manifest and changes nothing, so nothing is counted twice.
func (a *Activities) PublishDataset(ctx context.Context, in workflows.PublishDatasetInput) (workflows.Dataset, error) {
	if len(in.SourceSHA256) < 16 {
		return workflows.Dataset{}, temporal.NewNonRetryableApplicationError("source_sha256 missing", workflows.ErrBadInput, nil)
	}
	id := in.TenantID + "-" + in.SourceSHA256[:16]
	prefix := DatasetPrefix + in.TenantID + "/" + in.SourceSHA256[:16] + "/"
	ds := workflows.Dataset{DatasetID: id, TenantID: in.TenantID, DataKey: prefix + "records.jsonl", ManifestKey: prefix + "manifest.json"}

	var existing Manifest
	err := objstore.GetJSON(ctx, a.S3, objstore.BucketAITraining, ds.ManifestKey, &existing)
	if err == nil {
		ds.Records = existing.Records
		return ds, nil
	}
	if !objstore.IsNotFound(err) {
		return workflows.Dataset{}, err
	}

	contentHash, err := objstore.Copy(ctx, a.S3, objstore.BucketStaging, in.StagedKey, objstore.BucketAITraining, ds.DataKey)
	if err != nil {
		return workflows.Dataset{}, fmt.Errorf("publish staged batch: %w", err)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	m := Manifest{
		DatasetID: id, TenantID: in.TenantID, SourceKey: in.SourceKey, SourceSHA256: in.SourceSHA256,
		ContentSHA256: contentHash, Records: in.Records, Approver: in.Approver, ApprovedAt: now().UTC(), DataKey: ds.DataKey,
	}
	// The manifest is written last: its presence marks a complete dataset.
	if err := objstore.PutJSON(ctx, a.S3, objstore.BucketAITraining, ds.ManifestKey, m); err != nil {
		return workflows.Dataset{}, err
	}
	ds.Records = in.Records
	activity.GetLogger(ctx).Info("dataset published", "dataset", id, "records", in.Records, "approver", in.Approver)
	return ds, nil
}

func uploadFile(ctx context.Context, c *minio.Client, bucket, key string, f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = c.PutObject(ctx, bucket, key, f, info.Size(), minio.PutObjectOptions{ContentType: "application/x-ndjson"})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

func removeTemp(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}
