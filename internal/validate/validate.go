// Package validate checks complaint records (민원) at ingestion, before any
// record may be masked and join shared training data.
//
// A Checker parses one JSON line at a time and either returns the record,
// normalised, or a Rejection that names the reason and the field. A
// rejection's Detail is safe to log: it never quotes complaint text.
package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Record is one complaint as a tenant uploads it.
type Record struct {
	ID         string `json:"id"`
	ReceivedAt string `json:"received_at"`
	Title      string `json:"title"`
	Body       string `json:"body"`
	Department string `json:"department"`
}

// Reason says why a line was rejected. The identifiers equal their values
// because the values are what dashboards and stored rejections show.
type Reason string

const (
	ReasonBadJSON           Reason = "BAD_JSON"           // not a single JSON object of string fields
	ReasonInvalidUTF8       Reason = "INVALID_UTF8"       // invalid UTF-8, or text already damaged by a lossy decode (U+FFFD)
	ReasonMissingField      Reason = "MISSING_FIELD"      // a required field is absent, null or blank
	ReasonBadDate           Reason = "BAD_DATE"           // received_at is not a plausible YYYY-MM-DD date
	ReasonUnknownDepartment Reason = "UNKNOWN_DEPARTMENT" // department is not a configured label
	ReasonTooShort          Reason = "TOO_SHORT"          // body shorter than Rules.MinBodyRunes
	ReasonTooLong           Reason = "TOO_LONG"           // body, title or id over its limit
	ReasonDuplicate         Reason = "DUPLICATE"          // id or normalised title+body already in this batch or an approved dataset (internal/dedup)
	ReasonNearDuplicate     Reason = "NEAR_DUPLICATE"     // title+body a near copy (≈90% similar) of an earlier or approved record (internal/dedup)
	ReasonGarbage           Reason = "GARBAGE"            // body is not language: one repeated character, keyboard mash, symbols, encoded data
)

// Rejection explains why a line was not accepted. Field is the JSON name
// of the offending field, or empty when the line as a whole is at fault.
type Rejection struct {
	Reason Reason
	Field  string
	Detail string
}

// Error lets a Rejection travel as an error, e.g. in logs or wrapped
// with %w by callers.
func (r *Rejection) Error() string {
	if r.Field == "" {
		return fmt.Sprintf("%s: %s", r.Reason, r.Detail)
	}
	return fmt.Sprintf("%s %s: %s", r.Reason, r.Field, r.Detail)
}

// Rules configures the checks. A zero limit disables that limit, and an
// empty Departments list accepts any department.
type Rules struct {
	Departments   []string
	MinBodyRunes  int
	MaxBodyRunes  int
	MaxTitleRunes int
}

// DefaultRules returns the 17 department labels of the pilot tenants and
// bounds that every sample complaint meets with room to spare: the
// shortest sample body has 8 runes and the longest about 20,000.
func DefaultRules() Rules {
	return Rules{
		Departments: []string{
			"기타", "육아/교육", "교통/건축/국토", "보건복지", "인권/성평등", "정치개혁",
			"안전/환경", "행정", "외교/통일/국방", "일자리", "문화/예술/체육/언론",
			"경제민주화", "반려동물", "미래", "농산어촌", "성장동력", "저출산/고령화대책",
		},
		// Below five runes a body cannot state a complaint.
		MinBodyRunes: 5,
		// Generous for petitions, yet it caps what one record can cost
		// downstream (masking, tokenising, storage).
		MaxBodyRunes:  50_000,
		MaxTitleRunes: 200,
	}
}

const (
	maxIDBytes = 128
	// earliestYear rejects typos such as 0219-04-30.
	earliestYear = 1900
	// clockSkew tolerates tenants whose clocks or time zones run ahead.
	clockSkew = 24 * time.Hour
)

// Checker validates one line at a time, each on its own: duplicates need
// the whole batch and the tenant's approved records, which internal/dedup
// holds on disk. It keeps no state between lines and is safe for
// concurrent use.
type Checker struct {
	rules Rules
	depts map[string]struct{}
	now   func() time.Time
}

// NewChecker returns a Checker under r.
func NewChecker(r Rules) *Checker {
	depts := make(map[string]struct{}, len(r.Departments))
	for _, d := range r.Departments {
		depts[norm.NFC.String(strings.TrimSpace(d))] = struct{}{}
	}
	return &Checker{
		rules: r,
		depts: depts,
		now:   time.Now,
	}
}

// wireRecord tells absent and null fields (nil) from empty ones.
type wireRecord struct {
	ID         *string `json:"id"`
	ReceivedAt *string `json:"received_at"`
	Title      *string `json:"title"`
	Body       *string `json:"body"`
	Department *string `json:"department"`
}

// Check parses one JSON line and checks it. It returns the record, with
// every field in Unicode NFC and surrounding white space trimmed, or a
// zero Record and the reason for rejecting the line.
func (c *Checker) Check(line []byte) (Record, *Rejection) {
	rec, rej := c.parse(line)
	if rej != nil {
		return Record{}, rej
	}
	if rej := c.checkFields(&rec); rej != nil {
		return Record{}, rej
	}
	return rec, nil
}

func reject(reason Reason, field, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// parse decodes the line into a normalised record with all fields present.
func (c *Checker) parse(line []byte) (Record, *Rejection) {
	// Spreadsheet exports often start a file with a byte order mark.
	line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	if off := invalidUTF8Offset(line); off >= 0 {
		return Record{}, reject(ReasonInvalidUTF8, "", "byte %d is not valid UTF-8", off)
	}
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Record{}, reject(ReasonBadJSON, "", "line is not a JSON object")
	}
	var w wireRecord
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return Record{}, jsonRejection(err)
	}
	fields := [...]struct {
		name string
		val  *string
	}{
		{"id", w.ID}, {"received_at", w.ReceivedAt}, {"title", w.Title},
		{"body", w.Body}, {"department", w.Department},
	}
	var out [len(fields)]string
	for i, f := range fields {
		if f.val == nil {
			return Record{}, reject(ReasonMissingField, f.name, "field is absent or null")
		}
		// encoding/json turns invalid escapes such as a lone surrogate
		// (\ud800) into U+FFFD; a literal U+FFFD means the text was
		// already damaged before upload. Either way characters are lost.
		if strings.ContainsRune(*f.val, utf8.RuneError) {
			return Record{}, reject(ReasonInvalidUTF8, f.name, "field contains U+FFFD (invalid escape or earlier lossy decoding)")
		}
		v := strings.TrimFunc(norm.NFC.String(*f.val), isBlank)
		if v == "" {
			return Record{}, reject(ReasonMissingField, f.name, "field is blank")
		}
		out[i] = v
	}
	return Record{ID: out[0], ReceivedAt: out[1], Title: out[2], Body: out[3], Department: out[4]}, nil
}

// invalidUTF8Offset returns the offset of the first invalid byte, or -1.
func invalidUTF8Offset(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// jsonRejection describes a decoding error by position and kind only: the
// error texts of encoding/json may quote the offending input.
func jsonRejection(err error) *Rejection {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return reject(ReasonBadJSON, "", "syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return reject(ReasonBadJSON, typ.Field, "expected a string, got a JSON %s", typ.Value)
	}
	return reject(ReasonBadJSON, "", "malformed JSON")
}

// isBlank reports white space and the invisible format characters that
// pasted text carries (zero-width space, BOM, ...).
func isBlank(r rune) bool {
	return unicode.IsSpace(r) || isInvisible(r)
}

func isInvisible(r rune) bool {
	switch r {
	case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF':
		return true
	}
	return false
}

func (c *Checker) checkFields(rec *Record) *Rejection {
	if len(rec.ID) > maxIDBytes {
		return reject(ReasonTooLong, "id", "id has %d bytes, more than %d", len(rec.ID), maxIDBytes)
	}
	if rej := c.checkDate(rec.ReceivedAt); rej != nil {
		return rej
	}
	if len(c.depts) > 0 {
		if _, ok := c.depts[rec.Department]; !ok {
			return reject(ReasonUnknownDepartment, "department",
				"department (%d runes) is not one of the %d configured labels",
				utf8.RuneCountInString(rec.Department), len(c.depts))
		}
	}
	r := c.rules
	if n := utf8.RuneCountInString(rec.Title); r.MaxTitleRunes > 0 && n > r.MaxTitleRunes {
		return reject(ReasonTooLong, "title", "title has %d runes, more than %d", n, r.MaxTitleRunes)
	}
	n := utf8.RuneCountInString(rec.Body)
	if n < r.MinBodyRunes {
		return reject(ReasonTooShort, "body", "body has %d runes, fewer than %d", n, r.MinBodyRunes)
	}
	if r.MaxBodyRunes > 0 && n > r.MaxBodyRunes {
		return reject(ReasonTooLong, "body", "body has %d runes, more than %d", n, r.MaxBodyRunes)
	}
	if why := garbage(rec.Body); why != "" {
		return reject(ReasonGarbage, "body", "body is not language: %s", why)
	}
	return nil
}

// checkDate wants a real calendar date in YYYY-MM-DD form, not before
// 1900 and not in the future.
func (c *Checker) checkDate(v string) *Rejection {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return reject(ReasonBadDate, "received_at", "%s is not a calendar date in YYYY-MM-DD form", quoteShort(v))
	}
	if t.Year() < earliestYear {
		return reject(ReasonBadDate, "received_at", "%s is before %d", v, earliestYear)
	}
	if t.After(c.now().Add(clockSkew)) {
		return reject(ReasonBadDate, "received_at", "%s is in the future", v)
	}
	return nil
}

// quoteShort quotes a short printable ASCII value and otherwise only
// describes it, so that misplaced complaint text never reaches a log.
func quoteShort(v string) string {
	if len(v) <= 16 {
		printable := true
		for i := 0; i < len(v); i++ {
			if v[i] < ' ' || v[i] > '~' {
				printable = false
				break
			}
		}
		if printable {
			return fmt.Sprintf("%q", v)
		}
	}
	return fmt.Sprintf("value (%d bytes)", len(v))
}
