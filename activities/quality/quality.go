// Package quality is the quality gate: it reads a tenant's upload as the
// quality-gate identity, validates every record, masks personal data, stages the
// clean records, quarantines the rest with reasons, and on approval publishes the
// batch as an immutable dataset in ai-training.
package quality

import (
	"bufio"
	"bytes"
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

	"github.com/dure-platform/dure/internal/dedup"
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
	// screened (personal data before masking among them), its duplicate
	// index, and a cache of the approved datasets' indexes: inside the
	// data dir, never the shared temp dir. Empty uses the system's.
	WorkDir string
	// MemoryBudget bounds the duplicate index's memory per screening
	// (fingerprints beyond it wait on disk in WorkDir); zero is
	// dedup.DefaultMemoryBudget.
	MemoryBudget int64
}

// CleanWorkDir removes what screenings that died left in dir, and makes dir
// if it is missing: run it when the worker starts, before any screening.
func CleanWorkDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var leftovers []string
	for _, pattern := range []string{"dure-*.jsonl", "dure-*.bin", "dure-dedup-*", filepath.Join("dedup-index", "*", "*.part*")} {
		found, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return err
		}
		leftovers = append(leftovers, found...)
	}
	for _, f := range leftovers {
		if err := os.RemoveAll(f); err != nil {
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
	Stage           string `json:"stage"`
	RecordsDone     int    `json:"records_done"`
	RecordsRejected int    `json:"records_rejected"`
	// PartitionsDone of Partitions tell how far the duplicate search is.
	PartitionsDone int `json:"partitions_done,omitempty"`
	Partitions     int `json:"partitions,omitempty"`
}

// The stages of a screening, in order.
const (
	StageReading    = "reading"    // validating and masking each record
	StageDuplicates = "duplicates" // finding copies within the batch and of approved records
	StageKeeping    = "keeping"    // staging the records that copy nothing
)

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

// ScreenUpload validates and masks one upload, streaming it with bounded
// memory, and leaves out the records that copy another of the batch or
// one the tenant already approved.
func (a *Activities) ScreenUpload(ctx context.Context, in workflows.ScreenUploadInput) (workflows.ScreenResult, error) {
	bucket := objstore.TenantBucket(in.TenantID)
	obj, err := a.S3.GetObject(ctx, bucket, in.ObjectKey, minio.GetObjectOptions{})
	if err != nil {
		return workflows.ScreenResult{}, fmt.Errorf("open s3://%s/%s: %w", bucket, in.ObjectKey, err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		if objstore.IsNotFound(err) || objstore.IsAccessDenied(err) {
			return workflows.ScreenResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("upload s3://%s/%s cannot be read: %v", bucket, in.ObjectKey, err), "UploadUnreadable", err)
		}
		return workflows.ScreenResult{}, fmt.Errorf("stat upload: %w", err)
	}
	policy, err := a.Policies.PolicyFor(ctx, in.TenantID)
	if err != nil {
		return workflows.ScreenResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("masking policy of %s: %v", in.TenantID, err), "BadPolicy", err)
	}
	approved, err := a.openApproved(ctx, in.TenantID)
	if err != nil {
		return workflows.ScreenResult{}, err
	}
	defer approved.Close()

	var files [3]*os.File
	for i, name := range []string{"dure-pending-*.bin", "dure-staged-*.jsonl", "dure-quarantine-*.jsonl"} {
		if files[i], err = os.CreateTemp(a.WorkDir, name); err != nil {
			return workflows.ScreenResult{}, err
		}
		defer removeTemp(files[i])
	}
	pending, staged, rejects := files[0], files[1], files[2]
	res := workflows.ScreenResult{BatchID: in.BatchID, RejectedByReason: map[string]int{}, PIIMasked: map[string]int{}}
	beat := func(p Progress) { activity.RecordHeartbeat(ctx, p) }
	sc, err := a.newScreening(ctx, beat, policy, approved, info.Size, &res)
	if err != nil {
		return workflows.ScreenResult{}, err
	}
	defer sc.dups.Close()
	hash := sha256.New()
	if err := sc.read(io.TeeReader(obj, hash), validate.FormatOf(in.ObjectKey), pending, rejects); err != nil {
		return workflows.ScreenResult{}, err
	}
	res.SourceSHA256 = hex.EncodeToString(hash.Sum(nil))
	if err := sc.keepUnique(pending, staged); err != nil {
		return workflows.ScreenResult{}, err
	}

	prefix := path.Join(in.TenantID, in.BatchID)
	res.StagedKey = prefix + "/records.jsonl"
	if err := uploadFile(ctx, a.S3, objstore.BucketStaging, res.StagedKey, staged); err != nil {
		return workflows.ScreenResult{}, err
	}
	// The index of the kept records travels with them and, on approval,
	// into the dataset. The pending file is spent: it holds the index now.
	if err := pending.Truncate(0); err != nil {
		return workflows.ScreenResult{}, err
	}
	if err := sc.dups.WriteSegment(pending); err != nil {
		return workflows.ScreenResult{}, fmt.Errorf("duplicate index of the batch: %w", err)
	}
	if err := uploadFile(ctx, a.S3, objstore.BucketStaging, indexKeyOf(res.StagedKey), pending); err != nil {
		return workflows.ScreenResult{}, err
	}
	if res.RecordsRejected > 0 {
		res.QuarantineKey = prefix + "/rejected.jsonl"
		if err := uploadFile(ctx, a.S3, objstore.BucketQuarantine, res.QuarantineKey, rejects); err != nil {
			return workflows.ScreenResult{}, err
		}
	}
	activity.GetLogger(ctx).Info("upload screened", "tenant", in.TenantID, "read", res.RecordsRead,
		"accepted", res.RecordsAccepted, "rejected", res.RecordsRejected, "duplicates_of_approved", res.DuplicatesOfApproved,
		"approved_datasets", len(approved.segments), "encoding", res.Encoding, "score", res.Quality.Score)
	return res, nil
}

// screening is one upload's pass, with the tenant's masking policy and the
// batch's duplicate index.
type screening struct {
	*Activities
	ctx      context.Context
	beat     func(Progress)
	policy   pii.Policy
	approved *approvedIndex
	dups     *dedup.Batch
	res      *workflows.ScreenResult
	stats    validate.BatchStats
	rejectW  *bufio.Writer
	rejects  *json.Encoder
}

// bytesPerRecordFloor is less than any record's JSON takes: it turns an
// upload's size into an upper estimate of its records.
const bytesPerRecordFloor = 64

// newScreening prepares the screening of an upload of size bytes, whose
// progress goes to beat.
func (a *Activities) newScreening(ctx context.Context, beat func(Progress), policy pii.Policy, approved *approvedIndex,
	size int64, res *workflows.ScreenResult) (*screening, error) {
	sc := &screening{Activities: a, ctx: ctx, beat: beat, policy: policy, approved: approved, res: res,
		stats: validate.BatchStats{Labels: map[string]int{}}}
	dups, err := dedup.NewBatch(dedup.Options{
		Dir: a.WorkDir, MemoryBudget: a.MemoryBudget, ExpectedRecords: size/bytesPerRecordFloor + 1,
		Progress: func(done, total int) {
			beat(Progress{Stage: StageDuplicates, RecordsDone: res.RecordsRead,
				RecordsRejected: res.RecordsRejected, PartitionsDone: done, Partitions: total})
		},
	})
	if err != nil {
		return nil, err
	}
	sc.dups = dups
	return sc, nil
}

func (sc *screening) heartbeat(stage string) error {
	sc.beat(Progress{Stage: stage, RecordsDone: sc.res.RecordsRead, RecordsRejected: sc.res.RecordsRejected})
	return sc.ctx.Err()
}

func (sc *screening) reject(q quarantined) error {
	sc.res.RecordsRejected++
	sc.res.RejectedByReason[q.Reason]++
	if q.Reason == string(validate.ReasonDuplicate) || q.Reason == string(validate.ReasonNearDuplicate) {
		sc.stats.Duplicates++
	}
	return sc.rejects.Encode(q)
}

// read is the first pass: it validates and masks every record, quarantines
// the invalid ones, and writes the others to pending with their
// fingerprints added to the duplicate index.
func (sc *screening) read(src io.Reader, format validate.Format, pending, rejects io.Writer) error {
	maxRecord := sc.MaxLineBytes
	if maxRecord <= 0 {
		maxRecord = 1 << 20
	}
	reader, err := validate.NewRecordReader(src, format, maxRecord)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("upload cannot be read as %s: %v", format, err), "UploadUnreadable", err)
	}
	checker := validate.NewChecker(sc.Rules)
	pendingW := &pendingWriter{w: bufio.NewWriterSize(pending, 64<<10)}
	sc.rejectW = bufio.NewWriter(rejects)
	sc.rejects = json.NewEncoder(sc.rejectW)
	res := sc.res
	for {
		raw, line, err := reader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var recErr *validate.RecordError
		switch {
		case errors.As(err, &recErr):
			res.RecordsRead++
			err = sc.reject(quarantined{Line: recErr.Line, Reason: string(recErr.Reason), Detail: recErr.Detail})
		case err != nil:
			return fmt.Errorf("read upload at record %d: %w", line, err)
		default:
			res.RecordsRead++
			err = sc.screenRecord(checker, raw, line, pendingW)
		}
		if err != nil {
			return err
		}
		if res.RecordsRead%heartbeatEvery == 0 {
			if err := sc.heartbeat(StageReading); err != nil {
				return err
			}
		}
	}
	res.Encoding = string(reader.Encoding())
	if err := sc.heartbeat(StageReading); err != nil {
		return err
	}
	return pendingW.w.Flush()
}

func (sc *screening) screenRecord(checker *validate.Checker, raw []byte, line int, pending *pendingWriter) error {
	rec, rej := checker.Check(raw)
	if rej != nil {
		// Quarantine is a shared bucket: the record is kept for the tenant to
		// fix, with its personal data masked as in an accepted one.
		masked, _ := sc.Detector.MaskText(string(raw), sc.policy)
		return sc.reject(quarantined{Line: line, Reason: string(rej.Reason), Field: rej.Field, Detail: rej.Detail, Raw: masked})
	}
	meta := pendingMeta{Line: line, Department: rec.Department,
		Runes: utf8.RuneCountInString(rec.Title) + utf8.RuneCountInString(rec.Body)}
	rec.Title = sc.mask(rec.Title, &meta.PII)
	rec.Body = sc.mask(rec.Body, &meta.PII)
	// Copies are found on the masked text, the text that is kept: what
	// the tenant's approved datasets hold.
	if err := sc.dups.Add(rec.ID, line, dedup.Of(rec.Title, rec.Body)); err != nil {
		return fmt.Errorf("duplicate index: %w", err)
	}
	r, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return pending.write(meta, append(r, '\n'))
}

// keepUnique is the second pass: once the index has found every record's
// duplicates, it stages the records that copy nothing, quarantines the
// others, and scores the batch.
func (sc *screening) keepUnique(pending, staged *os.File) error {
	if err := sc.dups.Resolve(sc.approved.segments); err != nil {
		return fmt.Errorf("find duplicates: %w", err)
	}
	if _, err := pending.Seek(0, io.SeekStart); err != nil {
		return err
	}
	in := &pendingReader{r: bufio.NewReaderSize(pending, 64<<10)}
	stagedW := bufio.NewWriter(staged)
	res, stats := sc.res, &sc.stats
	err := sc.dups.Verdicts(sc.approved.segments, func(ord int, v dedup.Verdict) error {
		meta, rec, err := in.read()
		if err != nil {
			return fmt.Errorf("pending record %d: %w", ord, err)
		}
		if (ord+1)%heartbeatEvery == 0 {
			if err := sc.heartbeat(StageKeeping); err != nil {
				return err
			}
		}
		if v.Duplicate() {
			if v.OfApproved() {
				res.DuplicatesOfApproved++
			}
			reason, field, detail := duplicateRejection(v)
			return sc.reject(quarantined{Line: meta.Line, Reason: string(reason), Field: field, Detail: detail,
				Raw: string(bytes.TrimSuffix(rec, []byte("\n")))})
		}
		res.RecordsAccepted++
		stats.Labels[meta.Department]++
		stats.TextRunes += meta.Runes
		for t, n := range meta.PII {
			res.PIIMasked[t] += n
			stats.PIISpans += n
		}
		_, err = stagedW.Write(rec)
		return err
	})
	if err != nil {
		return err
	}
	stats.Read, stats.Accepted = res.RecordsRead, res.RecordsAccepted
	res.Quality = workflows.QualityScore(validate.ScoreBatch(*stats, len(sc.Rules.Departments)))
	if err := stagedW.Flush(); err != nil {
		return err
	}
	return sc.rejectW.Flush()
}

// mask masks text and counts the spans by type into *counts.
func (sc *screening) mask(text string, counts *map[string]int) string {
	masked, spans := sc.Detector.MaskText(text, sc.policy)
	for _, s := range spans {
		if *counts == nil {
			*counts = map[string]int{}
		}
		(*counts)[string(s.Type)]++
	}
	return masked
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
	// A batch screened before batches carried an index has none; the next
	// screening of the tenant builds it from the records.
	_, err = objstore.Copy(ctx, a.S3, objstore.BucketStaging, indexKeyOf(in.StagedKey), objstore.BucketAITraining, indexKeyOf(ds.DataKey))
	if err != nil && !objstore.IsNotFound(err) {
		return workflows.Dataset{}, fmt.Errorf("publish the batch's duplicate index: %w", err)
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
