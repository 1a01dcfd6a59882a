package pii

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gongmunDir holds hand-written official documents (공문서): letters,
// public notices, contracts, minutes, forms and complaint replies. The
// dev set is for tuning the rules; the test set is held out and only
// measured.
var gongmunDir = filepath.Join("testdata", "gongmun")

// loadGongmun reads every .txt file of one set (dev or test) and parses its
// inline markup into a labelled document.
func loadGongmun(tb testing.TB, set string) []LabelledDoc {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(gongmunDir, set, "*.txt"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "no documents in %s", filepath.Join(gongmunDir, set))
	docs := make([]LabelledDoc, 0, len(files))
	for _, name := range files {
		src, err := os.ReadFile(name)
		require.NoError(tb, err)
		doc, err := parseGongmun(string(src))
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		docs = append(docs, doc)
	}
	return docs
}

// parseGongmun turns a document with inline gold markup, {{TYPE|value}},
// into its plain text (each marker replaced by its value) and gold spans
// in rune offsets, as [LabelledDoc] wants them. Markers do not nest; an
// unclosed or stray marker, an empty value and an unknown type are
// errors, so that a typo in the corpus cannot silently drop a gold span.
func parseGongmun(src string) (LabelledDoc, error) {
	var text strings.Builder
	var spans []Span
	runes := 0
	line := func(off int) int { return 1 + strings.Count(src[:off], "\n") }
	for off := 0; off < len(src); {
		open := strings.Index(src[off:], "{{")
		stray := strings.Index(src[off:], "}}")
		if open < 0 {
			if stray >= 0 {
				return LabelledDoc{}, fmt.Errorf("line %d: '}}' without '{{'", line(off+stray))
			}
			text.WriteString(src[off:])
			break
		}
		if stray >= 0 && stray < open {
			return LabelledDoc{}, fmt.Errorf("line %d: '}}' without '{{'", line(off+stray))
		}
		plain := src[off : off+open]
		text.WriteString(plain)
		runes += utf8.RuneCountInString(plain)
		at := off + open
		body := src[at+2:]
		end := strings.Index(body, "}}")
		if end < 0 {
			return LabelledDoc{}, fmt.Errorf("line %d: unclosed '{{'", line(at))
		}
		body = body[:end]
		if strings.Contains(body, "{{") || strings.Contains(body, "\n") {
			return LabelledDoc{}, fmt.Errorf("line %d: marker %q is not closed on its line", line(at), body)
		}
		name, value, ok := strings.Cut(body, "|")
		if !ok {
			return LabelledDoc{}, fmt.Errorf("line %d: marker %q has no '|'", line(at), body)
		}
		typ := Type(name)
		if !slices.Contains(allTypes[:], typ) {
			return LabelledDoc{}, fmt.Errorf("line %d: unknown type %q", line(at), name)
		}
		if value == "" || strings.TrimSpace(value) != value {
			return LabelledDoc{}, fmt.Errorf("line %d: %s value %q is empty or padded", line(at), name, value)
		}
		n := utf8.RuneCountInString(value)
		spans = append(spans, Span{Start: runes, End: runes + n, Type: typ, Text: value})
		text.WriteString(value)
		runes += n
		off = at + 2 + end + 2
	}
	return LabelledDoc{Text: text.String(), Spans: spans}, nil
}

func TestParseGongmun(t *testing.T) {
	doc, err := parseGongmun("성명: {{PERSON|홍길동}} ({{PHONE|010-1234-5678}})\n끝.")
	require.NoError(t, err)
	assert.Equal(t, LabelledDoc{
		Text: "성명: 홍길동 (010-1234-5678)\n끝.",
		Spans: []Span{
			{Start: 4, End: 7, Type: PERSON, Text: "홍길동"},
			{Start: 9, End: 22, Type: PHONE, Text: "010-1234-5678"},
		},
	}, doc)
	checkSpans(t, doc.Text, doc.Spans)
	for _, bad := range []string{
		"{{PERSON|홍길동",  // unclosed
		"홍길동}} 씨",       // stray close
		"{{NAME|홍길동}}",  // unknown type
		"{{PERSON홍길동}}", // no separator
		"{{PERSON|}}",   // empty value
		"{{PERSON| 홍길동}}",
		"{{PERSON|{{PHONE|1}}}}", // nested
		"{{PERSON|홍\n길동}}",
	} {
		_, err := parseGongmun(bad)
		assert.Error(t, err, bad)
	}
}

// gongmunFloors are the figures TestGongmunCorpus must reach, a little
// under the measured ones (docs/pii.md), so that a regression fails.
// Per-type floors are set only for types with enough spans that one miss
// does not swing the score.
var gongmunFloors = map[string]struct {
	exactF1, overlapF1 float64
	perType            map[Type]float64 // exact F1
}{
	"dev": {exactF1: 0.97, overlapF1: 0.97, perType: map[Type]float64{
		PERSON: 0.96, PHONE: 0.98, ADDRESS: 0.93, EMAIL: 0.95, BIRTH_DATE: 0.9}},
	"test": {exactF1: 0.91, overlapF1: 0.92, perType: map[Type]float64{
		PERSON: 0.85, PHONE: 0.98, ADDRESS: 0.92, EMAIL: 0.95, BIRTH_DATE: 0.9}},
}

// TestGongmunCorpus measures the detector on the official documents and
// logs the tables that docs/pii.md reports. PII_MISSES=1 also logs the
// misses and false alarms.
func TestGongmunCorpus(t *testing.T) {
	d := NewDetector()
	for _, set := range []string{"dev", "test"} {
		t.Run(set, func(t *testing.T) {
			docs := loadGongmun(t, set)
			for _, doc := range docs {
				checkSpans(t, doc.Text, doc.Spans)
			}
			ev := Evaluate(d, docs)
			t.Logf("gongmun %s, %d documents:\n%s", set, len(docs), ev.Table())
			if os.Getenv("PII_MISSES") != "" {
				logMisses(t, d, docs)
			}
			floor := gongmunFloors[set]
			ex, ov := ev.Total(true), ev.Total(false)
			assert.GreaterOrEqual(t, ex.F1(), floor.exactF1, "micro exact F1 (P %.3f R %.3f)", ex.Precision(), ex.Recall())
			assert.GreaterOrEqual(t, ov.F1(), floor.overlapF1, "micro overlap F1 (P %.3f R %.3f)", ov.Precision(), ov.Recall())
			for ty, min := range floor.perType {
				sc := ev.Exact[ty]
				assert.GreaterOrEqual(t, sc.F1(), min, "%s: exact F1 %.3f (P %.3f R %.3f)", ty, sc.F1(), sc.Precision(), sc.Recall())
			}
		})
	}
}
