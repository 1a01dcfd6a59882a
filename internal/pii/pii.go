// Package pii detects and masks Korean personal data (개인정보) in free text
// such as citizen complaints (민원), so that records can be shared for
// training only after every detected value has been replaced.
//
// Detection is a single hand-written pass over the UTF-8 bytes of the text.
// Cheap triggers (an ASCII digit where a number starts, '@', '+', ':',
// "http"/"www.", and the Korean syllables that end cue words such as 씨,
// 님, 성명, 신청인, 주무관) start small validating parsers; everything else
// is stepped over without decoding. The pass allocates nothing for text
// without personal data and runs many times faster than a
// regular-expression scan.
//
// What is detected (docs/pii.md has the full rules and measured quality):
//
//   - RRN, FRN: YYMMDD-GNNNNNN, hyphen optional. G (1-8, 9/0 for the
//     1800s) fixes the century and the birth date must exist. The check
//     digit is not required (serials are random since October 2020); it
//     only decides ties and overrides a label such as 주문번호. A hyphenated
//     number with a masked serial (900101-1******) is detected as well, and
//     so is a hyphenated number in a file name (scan_900101-1234567.pdf).
//   - PHONE: 010 (4+4), 011/016-019, 02, 031-064, 070, 080, 0502-0508,
//     15xx/16xx/18xx-xxxx (allocated prefixes, separator required), and
//     +82/0082 forms; separators '-', '.', ' ' or none; "(02) 123-4567".
//     A number without area code (123-4567) only after 연락처, 전화, HP, ....
//   - EMAIL: local@domain.tld with an alphabetic TLD.
//   - CARD: 16 digits as 4-4-4-4 or unseparated, 15-digit Amex as 4-6-5,
//     with a plausible issuer prefix and a valid Luhn checksum.
//   - BUSINESS_REG: NNN-NN-NNNNN with a valid checksum; ten plain digits
//     only after 사업자. Right after the label 사업자등록번호 either form
//     counts without the checksum.
//   - ACCOUNT: a hyphenated group shape that banks print (3-3-6, 6-2-6,
//     4-2-7, ...) or 10-14 plain digits, only after 계좌, 입금, 송금, 이체,
//     은행 or right after a bank name (국민, 신한, 카카오뱅크, ...).
//   - PASSPORT: M/S/R/G/D + 8 digits, or + 3 digits, a letter, 4 digits
//     (since 2021), only after 여권 or passport; there also the passports
//     of other countries, 7 to 9 capitals and digits (C7418803, 123456789).
//   - DRIVER_LICENSE: NN-NN-NNNNNN-NN with a region code 11-28, or the old
//     form with a region name (서울 12-345678-90); unseparated only after 면허.
//   - VEHICLE: 2-3 digits, a purpose syllable of the legal set (가, 나, 허,
//     배, ...) and 4 digits, optionally after a region (서울12가3456).
//   - BIRTH_DATE: a full date after 생년월일, 생일, DOB, ... or before 생.
//   - IP: dotted-quad IPv4 without leading zeros (four single digits are
//     taken for list numbering), and IPv6.
//   - ADDRESS: administrative units (서울특별시, 경기도 성남시 분당구, ...)
//     followed by a road name (…로, …길, …번길, 지하) or a 동/리 and a
//     building or lot number (산 12-3, 123-4번지), with 101동 1203호 and
//     (진안동) when present; without the units only when the road or lot
//     cannot be anything else (테헤란로 123, 역삼동 123-4번지).
//   - PERSON: a surname plus one or two syllables before 씨, 님, 귀하 or
//     주무관, or after a cue word: a form label (성명:, 이름), a role (신청인,
//     대표자, 예금주, 보호자), a relative (배우자, 모(母)), a job title (팀장,
//     사무관, 위원) or the sign-off of a letter (과장 전결 김철수); in the
//     성명 column of a table; before a signature mark (홍길동 (인)); and
//     names in Latin capitals (NGUYEN VAN AN) or in Hangul (응우옌 반 안)
//     in name fields. Stop lists keep out the nouns those words also
//     precede or follow (날씨, 부모님, 교사 인건비가, 위원장 성남시).
//
// An explicit label (사업자등록번호:, 여권번호, 주민등록번호, 계좌번호, or a
// table column headed so) makes a value count even where its checksum or
// format check fails; placeholders (123-45-67890) do not.
//
// Numbers glued to letters or to longer digit groups, digits inside URLs,
// amounts, case numbers, statute numbers, corporate registration numbers
// and unlabelled dates are not detected.
//
// [TagPolicy] replaces values with tags such as [전화번호], [PartialPolicy]
// keeps their format and hides the middle (010-****-5678), and
// [PseudonymPolicy] writes a keyed, per-tenant stable token ([이름:3fa9c1]).
// [GenerateCorpus] and [Evaluate] measure detection quality.
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
	ACCOUNT        Type = "ACCOUNT"        // 계좌번호 (bank account)
	PASSPORT       Type = "PASSPORT"       // 여권번호
	DRIVER_LICENSE Type = "DRIVER_LICENSE" // 운전면허번호
	BUSINESS_REG   Type = "BUSINESS_REG"   // 사업자등록번호
	VEHICLE        Type = "VEHICLE"        // 차량번호 (licence plate)
	BIRTH_DATE     Type = "BIRTH_DATE"     // 생년월일 (labelled date of birth)
	IP             Type = "IP"             // IPv4 or IPv6 address
	ADDRESS        Type = "ADDRESS"        // 주소 (road-name or lot-number address)
	PERSON         Type = "PERSON"         // 이름 (person name, from context)
)

// Types lists every type, highest overlap priority first (see [Detector]).
func Types() []Type {
	return slices.Clone(allTypes[:])
}

var allTypes = [...]Type{RRN, FRN, CARD, BUSINESS_REG, PASSPORT, DRIVER_LICENSE,
	ACCOUNT, EMAIL, PHONE, IP, VEHICLE, BIRTH_DATE, ADDRESS, PERSON}

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
	case BIRTH_DATE:
		return "[생년월일]"
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
// person outrank contact data, which outranks context-based guesses. A
// labelled birth date is below the registration number that contains it.
func (t Type) priority() int {
	switch t {
	case RRN:
		return 14
	case FRN:
		return 13
	case CARD:
		return 12
	case BUSINESS_REG:
		return 11
	case PASSPORT:
		return 10
	case DRIVER_LICENSE:
		return 9
	case ACCOUNT:
		return 8
	case EMAIL:
		return 7
	case PHONE:
		return 6
	case IP:
		return 5
	case VEHICLE:
		return 4
	case BIRTH_DATE:
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

// Policy decides what replaces a detected span in masked text. Replace
// gets the span with Text set to the runes it covers.
//
// The policies of this package are [TagPolicy], [PartialPolicy],
// [PseudonymPolicy] and [PerTypePolicy]; [ParsePolicy] picks one by name.
type Policy interface {
	Replace(s Span) string
}

// TagPolicy replaces each span with its Korean tag, e.g. [전화번호]; see
// [Type.Tag]. The tag keeps the sentence readable for training while
// removing the value.
type TagPolicy struct{}

// Replace implements [Policy].
func (TagPolicy) Replace(s Span) string { return s.Type.Tag() }

func (TagPolicy) opaque() bool { return true }

// Mask replaces every span of text with p's replacement. Spans are rune
// offsets as returned by [Detector.Detect]. Unsorted spans are sorted;
// a span that overlaps an earlier one extends that earlier replacement
// rather than being dropped, so no covered rune survives. Offsets outside
// the text are clamped. A nil p means [TagPolicy]. If p keeps part of the
// values (see [PartialPolicy]) and that would leave any span's text in the
// result, the whole text is masked with [TagPolicy] instead.
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
		from := cur.byteOff
		cur.advance(end)
		// The policy sees what it replaces, even where a caller's span has
		// no text or was clamped.
		sp.Start, sp.End, sp.Text = start, cur.runeOff, text[from:cur.byteOff]
		b.WriteString(p.Replace(sp))
		emitted, covered = cur.byteOff, end
	}
	b.WriteString(text[emitted:])
	return guardLeaks(text, b.String(), spans, p)
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
