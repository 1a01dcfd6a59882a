package quality

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/dedup"
)

func TestPendingRoundTrip(t *testing.T) {
	records := []struct {
		meta pendingMeta
		rec  string
	}{
		{pendingMeta{Line: 1, Department: "교통/건축/국토", Runes: 42, PII: map[string]int{"PHONE": 2, "PERSON": 1}}, `{"id":"a"}` + "\n"},
		{pendingMeta{Line: 1 << 20, Department: "", Runes: 0}, strings.Repeat("가", 100_000) + "\n"},
		{pendingMeta{Line: 3, Department: "행정\t탭", Runes: 7}, "\n"},
	}
	var buf bytes.Buffer
	w := &pendingWriter{w: bufio.NewWriter(&buf)}
	for _, r := range records {
		require.NoError(t, w.write(r.meta, []byte(r.rec)))
	}
	require.NoError(t, w.w.Flush())
	whole := buf.Len()

	pr := &pendingReader{r: bufio.NewReaderSize(&buf, 16)}
	for _, r := range records {
		meta, rec, err := pr.read()
		require.NoError(t, err)
		assert.Equal(t, r.meta, meta)
		assert.Equal(t, r.rec, string(rec))
	}
	_, _, err := pr.read()
	assert.ErrorIs(t, err, io.EOF, "a read past the end says so")

	// A file cut short is an error, not a short record.
	var again bytes.Buffer
	w = &pendingWriter{w: bufio.NewWriter(&again)}
	require.NoError(t, w.write(records[1].meta, []byte(records[1].rec)))
	require.NoError(t, w.w.Flush())
	cut := &pendingReader{r: bufio.NewReader(bytes.NewReader(again.Bytes()[:again.Len()-10]))}
	_, _, err = cut.read()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Positive(t, whole)
}

func TestDuplicateRejectionNamesTheOriginal(t *testing.T) {
	tests := []struct {
		v      dedup.Verdict
		reason string
		detail string
	}{
		{dedup.Verdict{Kind: dedup.SameID, OfID: "a", OfLine: 3}, "DUPLICATE", "id already used by the record on line 3"},
		{dedup.Verdict{Kind: dedup.Exact, OfID: "a", OfLine: 3}, "DUPLICATE", `same title and body as record "a" on line 3`},
		{dedup.Verdict{Kind: dedup.ExactOfApproved, OfID: "a", OfDataset: "suwon-0123"}, "DUPLICATE", `same title and body as record "a" of approved dataset suwon-0123`},
		{dedup.Verdict{Kind: dedup.Near, OfID: "a", OfLine: 3, Similarity: 93}, "NEAR_DUPLICATE", `title and body nearly the same as record "a" on line 3 (estimated similarity 93%)`},
		{dedup.Verdict{Kind: dedup.NearOfApproved, OfID: "a", OfDataset: "suwon-0123", Similarity: 90}, "NEAR_DUPLICATE", `title and body nearly the same as record "a" of approved dataset suwon-0123 (estimated similarity 90%)`},
	}
	for _, tt := range tests {
		t.Run(tt.v.Kind.String(), func(t *testing.T) {
			reason, _, detail := duplicateRejection(tt.v)
			assert.Equal(t, tt.reason, string(reason))
			assert.Equal(t, tt.detail, detail)
		})
	}
}
