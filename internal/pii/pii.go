// Package pii detects and masks Korean personal data (개인정보) in free text
// such as citizen complaints (민원), so that records can be shared for
// training only after every detected value has been replaced.
//
// Detection is a single hand-written pass over the UTF-8 bytes of the text.
// Cheap triggers (an ASCII digit where a number starts, '@', '+', ':',
// "http"/"www.", and the last byte of a few Korean context syllables such
// as 씨, 님, 성명, 민원인) start small validating parsers; everything else
// is stepped over without decoding. The pass allocates nothing for text
// without personal data and runs many times faster than a
// regular-expression scan.
//
// What is detected:
//
//   - RRN, FRN: YYMMDD-GNNNNNN, hyphen optional. G (1-8, 9/0 for the
//     1800s) fixes the century and the birth date must exist. The check
//     digit is not required (serials are random since October 2020); it
//     only decides ties and overrides a label such as 주문번호. A hyphenated
//     number with a masked serial (900101-1******) is detected as well.
//   - PHONE: 010 (4+4), 011/016-019, 02, 031-064, 070, 080, 0502-0508,
//     15xx/16xx/18xx-xxxx (allocated prefixes, separator required), and
//     +82/0082 forms; separators '-', '.', ' ' or none; "(02) 123-4567".
//   - EMAIL: local@domain.tld with an alphabetic TLD.
//   - CARD: 16 digits as 4-4-4-4 or unseparated, 15-digit Amex as 4-6-5,
//     with a plausible issuer prefix and a valid Luhn checksum.
//   - BUSINESS_REG: NNN-NN-NNNNN with a valid checksum.
//   - IP: dotted-quad IPv4 without leading zeros (four single digits are
//     taken for list numbering), and IPv6.
//   - ADDRESS: administrative units (서울특별시, 경기도 성남시 분당구, ...)
//     followed by a road name (…로, …길, …번길) or a 동/리 and a building
//     or lot number, with 101동 1203호 and (진안동) when present.
//   - PERSON: a surname plus one or two syllables before 씨, 님 or 주무관,
//     or after 성명:, 이름:, 민원인, 담당(자), with stop lists for the
//     nouns those words also follow (날씨, 부모님, 민원 담당자).
//
// Numbers glued to letters or to longer digit groups, digits inside URLs,
// dates, amounts and statute numbers are not detected. ACCOUNT, PASSPORT,
// DRIVER_LICENSE and VEHICLE are defined but not yet detected.
//
// Offsets in [Span] count Unicode code points (runes) of the input, the
// same index space as []rune(text), so callers in other languages
// (Python's str, JavaScript's Array.from) can use them directly.
package pii

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Type names a kind of personal data.
type Type string

// The identifiers deliberately equal their string values: they appear in
// stored spans, audit logs and API responses, and one spelling avoids a
// mapping table between code and data.
const (
	RRN            Type = "RRN"            // 주민등록번호 (resident registration number)
	FRN            Type = "FRN"            // 외국인등록번호 (foreigner registration number)
	PHONE          Type = "PHONE"          // 전화번호
	EMAIL          Type = "EMAIL"          // 이메일
	CARD           Type = "CARD"           // 카드번호 (payment card)
	ACCOUNT        Type = "ACCOUNT"        // 계좌번호 (bank account); not detected yet
	PASSPORT       Type = "PASSPORT"       // 여권번호; not detected yet
	DRIVER_LICENSE Type = "DRIVER_LICENSE" // 운전면허번호; not detected yet
	BUSINESS_REG   Type = "BUSINESS_REG"   // 사업자등록번호
	VEHICLE        Type = "VEHICLE"        // 차량번호; not detected yet
	IP             Type = "IP"             // IPv4 or IPv6 address
	ADDRESS        Type = "ADDRESS"        // 주소 (road-name or lot-number address)
	PERSON         Type = "PERSON"         // 이름 (person name, from context)
)

// Types lists every type, highest overlap priority first (see [Detector]).
func Types() []Type {
	return slices.Clone(allTypes[:])
}

var allTypes = [...]Type{RRN, FRN, CARD, BUSINESS_REG, PASSPORT, DRIVER_LICENSE,
	ACCOUNT, EMAIL, PHONE, IP, VEHICLE, ADDRESS, PERSON}

// Tag returns the Korean placeholder that [TagPolicy] writes for t.
// Unknown types get the generic [개인정보] so that masking never fails open.
func (t Type) Tag() string {
	switch t {
	case RRN:
		return "[주민등록번호]"
	case FRN:
		return "[외국인등록번호]"
	case PHONE:
		return "[전화번호]"
	case EMAIL:
		return "[이메일]"
	case CARD:
		return "[카드번호]"
	case ACCOUNT:
		return "[계좌번호]"
	case PASSPORT:
		return "[여권번호]"
	case DRIVER_LICENSE:
		return "[운전면허번호]"
	case BUSINESS_REG:
		return "[사업자등록번호]"
	case VEHICLE:
		return "[차량번호]"
	case IP:
		return "[IP주소]"
	case ADDRESS:
		return "[주소]"
	case PERSON:
		return "[이름]"
	}
	return "[개인정보]"
}

// priority orders types when detected values overlap: the merged span takes
// the type with the highest priority. Identifiers that are unique to one
// person outrank contact data, which outranks context-based guesses.
func (t Type) priority() int {
	switch t {
	case RRN:
		return 13
	case FRN:
		return 12
	case CARD:
		return 11
	case BUSINESS_REG:
		return 10
	case PASSPORT:
		return 9
	case DRIVER_LICENSE:
		return 8
	case ACCOUNT:
		return 7
	case EMAIL:
		return 6
	case PHONE:
		return 5
	case IP:
		return 4
	case VEHICLE:
		return 3
	case ADDRESS:
		return 2
	case PERSON:
		return 1
	}
	return 0
}

// Span is one detected value. Start and End are code-point (rune) offsets
// into the input, End exclusive; Text is the matched input text.
type Span struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Type  Type   `json:"type"`
	Text  string `json:"text"`
}

// Policy decides what replaces a detected span in masked text.
type Policy interface {
	Replace(s Span) string
}

// TagPolicy replaces each span with its Korean tag, e.g. [전화번호]; see
// [Type.Tag]. The tag keeps the sentence readable for training while
// removing the value.
type TagPolicy struct{}

// Replace implements [Policy].
func (TagPolicy) Replace(s Span) string { return s.Type.Tag() }

// Mask replaces every span of text with p's replacement. Spans are rune
// offsets as returned by [Detector.Detect]. Unsorted spans are sorted;
// a span that overlaps an earlier one extends that earlier replacement
// rather than being dropped, so no covered rune survives. Offsets outside
// the text are clamped. A nil p means [TagPolicy].
func Mask(text string, spans []Span, p Policy) string {
	if len(spans) == 0 {
		return text
	}
	if p == nil {
		p = TagPolicy{}
	}
	if !slices.IsSortedFunc(spans, bySpanStart) {
		spans = slices.Clone(spans)
		slices.SortStableFunc(spans, bySpanStart)
	}
	var b strings.Builder
	b.Grow(len(text))
	cur := runeCursor{s: text}
	emitted := 0 // text[:emitted] has been written or replaced
	covered := 0 // runes before this index are already replaced
	for _, sp := range spans {
		start, end := max(sp.Start, 0), sp.End
		if end <= start || end <= covered {
			continue
		}
		if start < covered {
			// Overlap: the earlier replacement already stands for this
			// value, so only swallow the extra runes.
			cur.advance(end)
			emitted, covered = cur.byteOff, end
			continue
		}
		cur.advance(start)
		if cur.runeOff < start {
			break // span starts beyond the text
		}
		b.WriteString(text[emitted:cur.byteOff])
		b.WriteString(p.Replace(sp))
		cur.advance(end)
		emitted, covered = cur.byteOff, end
	}
	b.WriteString(text[emitted:])
	return b.String()
}

func bySpanStart(a, b Span) int { return cmp.Compare(a.Start, b.Start) }

// runeCursor walks a string forward, mapping rune offsets to byte offsets.
// Each invalid byte counts as one rune, matching []rune conversion.
type runeCursor struct {
	s       string
	byteOff int
	runeOff int
}

func (c *runeCursor) advance(runeTarget int) {
	for c.runeOff < runeTarget && c.byteOff < len(c.s) {
		if c.s[c.byteOff] < utf8.RuneSelf {
			c.byteOff++
		} else {
			_, n := utf8.DecodeRuneInString(c.s[c.byteOff:])
			c.byteOff += n
		}
		c.runeOff++
	}
}
