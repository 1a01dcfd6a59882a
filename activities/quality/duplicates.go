package quality

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/activity"

	"github.com/dure-platform/dure/internal/dedup"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/validate"
)

// Every dataset carries the duplicate index of its records beside them,
// and a screened batch beside its staged records, so that a later upload
// is checked against what the tenant already approved.
const indexName = "dedup.idx"

// indexKeyOf is where the index of the records at dataKey lives.
func indexKeyOf(dataKey string) string { return path.Join(path.Dir(dataKey), indexName) }

// approvedIndex is the tenant's approved datasets' duplicate indexes,
// opened from a local cache.
type approvedIndex struct {
	segments []*dedup.Segment
}

func (x *approvedIndex) Close() {
	for _, s := range x.segments {
		_ = s.Close()
	}
}

// indexCacheDir holds the indexes of approved datasets, by tenant: they
// are immutable like the datasets, so a cached copy never goes stale.
func (a *Activities) indexCacheDir(tenantID string) string {
	dir := a.WorkDir
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "dedup-index", tenantID)
}

// openApproved opens the index of every dataset the tenant has published.
// A dataset published before datasets carried an index gets one, built
// from its records and stored beside them.
func (a *Activities) openApproved(ctx context.Context, tenantID string) (*approvedIndex, error) {
	cache := a.indexCacheDir(tenantID)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, err
	}
	x := &approvedIndex{}
	prefix := DatasetPrefix + tenantID + "/"
	for obj := range a.S3.ListObjects(ctx, objstore.BucketAITraining, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			x.Close()
			return nil, fmt.Errorf("list datasets of %s: %w", tenantID, obj.Err)
		}
		if path.Base(obj.Key) != "manifest.json" {
			continue
		}
		dir := path.Dir(obj.Key)
		datasetID := tenantID + "-" + path.Base(dir)
		seg, err := a.openDatasetIndex(ctx, dir, datasetID, filepath.Join(cache, path.Base(dir)+".idx"))
		if err != nil {
			x.Close()
			return nil, fmt.Errorf("duplicate index of dataset %s: %w", datasetID, err)
		}
		x.segments = append(x.segments, seg)
	}
	return x, nil
}

func (a *Activities) openDatasetIndex(ctx context.Context, dir, datasetID, cached string) (*dedup.Segment, error) {
	if seg, err := dedup.OpenSegment(cached, datasetID); err == nil {
		return seg, nil
	}
	key := path.Join(dir, indexName)
	// FGetObject writes a part file and renames it: a cached index is whole.
	err := a.S3.FGetObject(ctx, objstore.BucketAITraining, key, cached, minio.GetObjectOptions{})
	if objstore.IsNotFound(err) {
		tmp := cached + ".part"
		if err = a.backfillIndex(ctx, dir, tmp); err == nil {
			err = os.Rename(tmp, cached)
		}
		if err != nil {
			_ = os.Remove(tmp)
		}
	} else if err != nil {
		err = fmt.Errorf("get s3://%s/%s: %w", objstore.BucketAITraining, key, err)
	}
	if err != nil {
		return nil, err
	}
	return dedup.OpenSegment(cached, datasetID)
}

// backfillIndex builds the index of a dataset's records into file and
// stores it beside them.
func (a *Activities) backfillIndex(ctx context.Context, dir, file string) error {
	dataKey := path.Join(dir, "records.jsonl")
	obj, err := a.S3.GetObject(ctx, objstore.BucketAITraining, dataKey, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer obj.Close()
	b, err := dedup.NewBatch(dedup.Options{Dir: a.WorkDir, MemoryBudget: a.MemoryBudget})
	if err != nil {
		return err
	}
	defer b.Close()
	sc := bufio.NewScanner(obj)
	sc.Buffer(make([]byte, 0, 64<<10), max(a.MaxLineBytes, 1<<20)+1)
	for line := 1; sc.Scan(); line++ {
		var rec validate.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("%s line %d: %w", dataKey, line, err)
		}
		if err := b.Add(rec.ID, line, dedup.Of(rec.Title, rec.Body)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", dataKey, err)
	}
	if err := b.Resolve(nil); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := b.WriteSegment(f); err != nil {
		return err
	}
	if err := uploadFile(ctx, a.S3, objstore.BucketAITraining, path.Join(dir, indexName), f); err != nil {
		return err
	}
	activity.GetLogger(ctx).Info("duplicate index built for a dataset published without one", "dataset", dir, "records", b.Len())
	return nil
}

// duplicateRejection is the quarantine entry of a record that copies
// another; it names the original by id, never by text.
func duplicateRejection(v dedup.Verdict) (reason validate.Reason, field, detail string) {
	switch v.Kind {
	case dedup.SameID:
		return validate.ReasonDuplicate, "id", fmt.Sprintf("id already used by the record on line %d", v.OfLine)
	case dedup.Exact:
		return validate.ReasonDuplicate, "body", fmt.Sprintf("same title and body as record %q on line %d", v.OfID, v.OfLine)
	case dedup.ExactOfApproved:
		return validate.ReasonDuplicate, "body", fmt.Sprintf("same title and body as record %q of approved dataset %s", v.OfID, v.OfDataset)
	case dedup.Near:
		return validate.ReasonNearDuplicate, "body", fmt.Sprintf(
			"title and body nearly the same as record %q on line %d (estimated similarity %d%%)", v.OfID, v.OfLine, v.Similarity)
	case dedup.NearOfApproved:
		return validate.ReasonNearDuplicate, "body", fmt.Sprintf(
			"title and body nearly the same as record %q of approved dataset %s (estimated similarity %d%%)", v.OfID, v.OfDataset, v.Similarity)
	}
	return "", "", ""
}

// pendingMeta precedes each record in the pending file: what the result
// and the score count once the record is known to be kept.
type pendingMeta struct {
	Line       int
	Department string
	Runes      int
	PII        map[string]int
}

// pendingWriter writes records with their metadata, length-prefixed.
type pendingWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (pw *pendingWriter) write(m pendingMeta, rec []byte) error {
	b := binary.AppendUvarint(pw.buf[:0], uint64(m.Line))
	b = binary.AppendUvarint(b, uint64(m.Runes))
	b = appendString(b, m.Department)
	b = binary.AppendUvarint(b, uint64(len(m.PII)))
	for t, n := range m.PII {
		b = appendString(b, t)
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = binary.AppendUvarint(b, uint64(len(rec)))
	pw.buf = b
	if _, err := pw.w.Write(b); err != nil {
		return err
	}
	_, err := pw.w.Write(rec)
	return err
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// pendingReader reads what pendingWriter wrote. The record it returns is
// valid until the next read.
type pendingReader struct {
	r   *bufio.Reader
	buf []byte
	err error // the first error, after which every read returns zero
}

func (pr *pendingReader) num() int {
	if pr.err != nil {
		return 0
	}
	n, err := binary.ReadUvarint(pr.r)
	pr.err = err
	return int(n)
}

func (pr *pendingReader) bytes(n int) []byte {
	if pr.err != nil {
		return nil
	}
	pr.buf = slices.Grow(pr.buf[:0], n)[:n]
	_, pr.err = io.ReadFull(pr.r, pr.buf)
	return pr.buf
}

func (pr *pendingReader) read() (pendingMeta, []byte, error) {
	var m pendingMeta
	if m.Line = pr.num(); errors.Is(pr.err, io.EOF) {
		return pendingMeta{}, nil, io.EOF // no record left
	}
	m.Runes = pr.num()
	m.Department = string(pr.bytes(pr.num()))
	for range pr.num() {
		if m.PII == nil {
			m.PII = map[string]int{}
		}
		t := string(pr.bytes(pr.num()))
		m.PII[t] = pr.num()
	}
	rec := pr.bytes(pr.num())
	if pr.err != nil {
		if errors.Is(pr.err, io.EOF) {
			pr.err = io.ErrUnexpectedEOF
		}
		return pendingMeta{}, nil, fmt.Errorf("pending record: %w", pr.err)
	}
	return m, rec, nil
}
