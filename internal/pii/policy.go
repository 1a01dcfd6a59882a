package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors returned when a masking policy cannot be built.
var (
	ErrUnknownPolicy = errors.New("unknown masking policy")
	ErrWeakKey       = errors.New("pseudonym key too short")
)

// MinKeyLen is the shortest key [NewPseudonymPolicy] and [TenantKey]
// accept: 128 bits, so that tokens cannot be recomputed by guessing the
// key.
const MinKeyLen = 16

// ParsePolicy returns the policy named by name, as written in a
// configuration file or a command-line flag: "tag" (or ""), "partial" or
// "pseudonym". Only "pseudonym" uses key, the tenant's key (see
// [TenantKey]).
func ParsePolicy(name string, key []byte) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "tag":
		return TagPolicy{}, nil
	case "partial":
		return PartialPolicy{}, nil
	case "pseudonym":
		p, err := NewPseudonymPolicy(key)
		if err != nil {
			return nil, fmt.Errorf("pii: policy %q: %w", name, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("pii: policy %q (want tag, partial or pseudonym): %w", name, ErrUnknownPolicy)
}

// opaquePolicy is implemented by policies whose replacements keep nothing
// of the value, so that masked text needs no leak check.
type opaquePolicy interface {
	opaque() bool
}

// maxLeakCheck bounds the bytes compared when checking masked text for
// leaked values: distinct span texts times the length of the text. Beyond
// it the text falls back to tags unchecked.
const maxLeakCheck = 1 << 26

// guardLeaks returns masked unless p kept part of a value and some span's
// text can still be found in masked, in which case it masks text with
// tags. A kept part can complete another value: a name inside an address
// ("서울시 중구 강남로 12" and "강남 씨") stays visible when the address
// keeps its road name. Masking never fails open, so the whole text then
// falls back to [TagPolicy].
func guardLeaks(text, masked string, spans []Span, p Policy) string {
	if o, ok := p.(opaquePolicy); ok && o.opaque() {
		return masked
	}
	work := 0
	for i, sp := range spans {
		if sp.Text == "" || dupBefore(spans, i) {
			continue
		}
		work += len(masked)
		if work > maxLeakCheck || strings.Contains(masked, sp.Text) {
			return Mask(text, spans, TagPolicy{})
		}
	}
	return masked
}

// dupBefore reports whether spans[i].Text already occurs among the first
// i spans; values are few, so a linear search beats a map.
func dupBefore(spans []Span, i int) bool {
	if i > 32 {
		return false // checking again is cheaper than searching further
	}
	for _, o := range spans[:i] {
		if o.Text == spans[i].Text {
			return true
		}
	}
	return false
}

// PartialPolicy keeps a value's format and its least identifying parts
// and hides the rest, the way Korean services print personal data on
// screens and receipts:
//
//	RRN, FRN        900101-1******   birth date and sex digit kept
//	PHONE           010-****-5678    middle group hidden
//	CARD            4111-****-****-1111
//	ACCOUNT         110-***-***789   first group or three digits, last three
//	BUSINESS_REG    220-81-*****     tax office and business type kept
//	PASSPORT        M12****78
//	DRIVER_LICENSE  11-19-******-**  region and year kept
//	VEHICLE         12가**56
//	BIRTH_DATE      1990-**-**       year kept
//	EMAIL           ho**********@example.co.kr
//	IP              192.168.*.*, 2001:db8:*:*::*
//	ADDRESS         서울시 강남구 테헤란로 ***   numbers hidden
//	PERSON          홍*동, 남궁*수, 홍*, *씨
//
// Unknown types get their tag. If a value has nothing left to hide (an
// RRN that arrived masked), every letter and digit is hidden.
type PartialPolicy struct {
	// Char replaces each hidden character; '*' when zero.
	Char rune
}

// Replace implements [Policy].
func (p PartialPolicy) Replace(s Span) string {
	c := p.Char
	if c == 0 {
		c = '*'
	}
	v := s.Text
	var out string
	switch s.Type {
	case RRN, FRN:
		out = hideDigits(v, 7, 0, c)
	case PHONE:
		out = partialPhone(v, c)
	case CARD:
		out = hideDigits(v, 4, 4, c)
	case ACCOUNT:
		head := 3
		if k := strings.IndexByte(v, '-'); k > 0 && k <= 6 {
			head = k
		}
		out = hideDigits(v, head, 3, c)
	case BUSINESS_REG:
		out = hideDigits(v, 5, 0, c)
	case PASSPORT:
		out = hideRunes(v, 3, 2, c)
	case DRIVER_LICENSE:
		head := 2 // 서울 12-: the region is a name, keep the year only
		if v != "" && isDigit(v[0]) {
			head = 4
		}
		out = hideDigits(v, head, 0, c)
	case VEHICLE:
		n := countDigits(v)
		out = hideDigitRange(v, n-4, n-2, c)
	case BIRTH_DATE:
		head := 2 // 900101, 90-01-01
		if r := digitRun(v, 0); r == 4 || r == 8 {
			head = 4 // 1990-01-01, 19900101
		}
		out = hideDigits(v, head, 0, c)
	case EMAIL:
		out = partialEmail(v, c)
	case IP:
		out = partialIP(v, c)
	case ADDRESS:
		out = hideDigits(v, 0, 0, c)
	case PERSON:
		out = partialName(v, c)
	default:
		return s.Type.Tag()
	}
	if out == v {
		out = hideAll(v, c)
	}
	return out
}

// hideDigitRange replaces the digits whose ordinal (0-based, counting
// digits only) lies in [from, to) with c, keeping every other character.
func hideDigitRange(v string, from, to int, c rune) string {
	var b strings.Builder
	b.Grow(len(v))
	k := 0
	for _, r := range v {
		if '0' <= r && r <= '9' {
			if k >= from && k < to {
				r = c
			}
			k++
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hideDigits keeps the first head and the last tail digits.
func hideDigits(v string, head, tail int, c rune) string {
	return hideDigitRange(v, head, countDigits(v)-tail, c)
}

func countDigits(v string) int {
	n := 0
	for k := 0; k < len(v); k++ {
		if isDigit(v[k]) {
			n++
		}
	}
	return n
}

// hideRunes keeps the first head and last tail runes.
func hideRunes(v string, head, tail int, c rune) string {
	r := []rune(v)
	for k := head; k < len(r)-tail; k++ {
		r[k] = c
	}
	return string(r)
}

// hideAll hides every letter and digit and keeps separators.
func hideAll(v string, c rune) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return c
		}
		return r
	}, v)
}

// partialPhone hides the second-to-last digit group (the exchange) of a
// separated number, the last group of a two-group number (1588-****), and
// the digits between the area code and the last four of an unseparated
// one.
func partialPhone(v string, c rune) string {
	var groups [][2]int // byte ranges of digit groups
	for k := 0; k < len(v); {
		if !isDigit(v[k]) {
			k++
			continue
		}
		e := digitRun(v, k)
		groups = append(groups, [2]int{k, e})
		k = e
	}
	hide := -1
	switch {
	case len(groups) >= 3:
		hide = len(groups) - 2
	case len(groups) == 2:
		hide = 1
	}
	if hide >= 0 {
		g := groups[hide]
		return v[:g[0]] + strings.Repeat(string(c), g[1]-g[0]) + v[g[1]:]
	}
	n := countDigits(v)
	head := 3
	switch {
	case strings.HasPrefix(v, "+82"), strings.HasPrefix(v, "0082"):
		head = n - 8 // country code and carrier or area code
	case strings.HasPrefix(v, "02"):
		head = 2
	case strings.HasPrefix(v, "050"):
		head = 4
	}
	return hideDigits(v, max(head, 0), 4, c)
}

// partialEmail keeps the domain and the first two characters of the local
// part (one when it is short).
func partialEmail(v string, c rune) string {
	at := strings.LastIndexByte(v, '@')
	if at <= 0 {
		return hideAll(v, c)
	}
	local := []rune(v[:at]) // runes: a caller's span may hold any text
	keep := 2
	if len(local) <= 3 {
		keep = 1
	}
	return string(local[:keep]) + strings.Repeat(string(c), len(local)-keep) + v[at:]
}

// partialIP keeps the network part: the first two octets of IPv4, the
// first two groups of IPv6.
func partialIP(v string, c rune) string {
	if strings.IndexByte(v, ':') < 0 {
		return keepFields(v, '.', 2, c)
	}
	return keepFields(v, ':', 2, c)
}

// keepFields keeps the first n sep-separated fields and hides the
// letters and digits of the rest.
func keepFields(v string, sep byte, n int, c rune) string {
	k, seen := 0, 0
	for ; k < len(v) && seen < n; k++ {
		if v[k] == sep {
			seen++
		}
	}
	return v[:k] + hideAll(v[k:], c)
}

// partialName keeps the surname and the last syllable of a name: 홍*동,
// 남궁*수 (compound surname), 홍*. A surname alone with its 씨 (박씨, 윤 씨)
// keeps only the 씨.
func partialName(v string, c rune) string {
	if rest, ok := strings.CutSuffix(v, "씨"); ok && utf8.RuneCountInString(strings.TrimSpace(rest)) == 1 {
		return hideAll(rest, c) + "씨"
	}
	r := []rune(v)
	switch {
	case len(r) <= 1:
		return string(c)
	case len(r) == 2:
		return string(r[0]) + string(c)
	}
	head := 1
	if len(r) == 4 && isCompoundSurname(string(r[:2])) {
		head = 2
	}
	for k := head; k < len(r)-1; k++ {
		r[k] = c
	}
	return string(r)
}

// PseudonymPolicy replaces each value with a token made of its tag and a
// keyed hash: [이름:3fa9c1]. The same value gets the same token under one
// key, so records about one person stay linked for training and
// analysis, while different keys (one per tenant) give unrelated tokens,
// so values cannot be joined across tenants. The hash is HMAC-SHA256;
// without the key, a token cannot be recomputed from a guessed value.
//
// Values are normalized before hashing, so that 010-1234-5678,
// 01012345678 and +82 10-1234-5678 are one person: phone numbers by their
// national digits, other numbers without separators, e-mail addresses in
// lower case.
//
// Tokens carry 24 bits by default; a tenant with tens of thousands of
// distinct values should use [PseudonymPolicy.WithDigits] to make
// collisions (two values, one token) rare.
type PseudonymPolicy struct {
	key    []byte
	digits int
}

// NewPseudonymPolicy returns a policy keyed by key, which must have at
// least [MinKeyLen] bytes; use [TenantKey] to derive one per tenant.
func NewPseudonymPolicy(key []byte) (*PseudonymPolicy, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("pii: pseudonym key has %d bytes, want at least %d: %w", len(key), MinKeyLen, ErrWeakKey)
	}
	return &PseudonymPolicy{key: clone(key), digits: 6}, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// WithDigits returns a copy of p that writes n hexadecimal digits per
// token (4 bits each), between 4 and 64.
func (p *PseudonymPolicy) WithDigits(n int) *PseudonymPolicy {
	q := *p
	q.digits = min(max(n, 4), 2*sha256.Size)
	return &q
}

// TenantKey derives a tenant's pseudonym key from a master secret, so
// that one secret serves every tenant and no two tenants share tokens.
func TenantKey(master []byte, tenant string) ([]byte, error) {
	if len(master) < MinKeyLen {
		return nil, fmt.Errorf("pii: master key has %d bytes, want at least %d: %w", len(master), MinKeyLen, ErrWeakKey)
	}
	if tenant == "" {
		return nil, errors.New("pii: tenant key needs a tenant id")
	}
	m := hmac.New(sha256.New, master)
	m.Write([]byte("dure/pii/pseudonym/v1\x00"))
	m.Write([]byte(tenant))
	return m.Sum(nil), nil
}

// Replace implements [Policy].
func (p *PseudonymPolicy) Replace(s Span) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(s.Type))
	m.Write([]byte{0})
	m.Write([]byte(canonicalValue(s)))
	var sum [sha256.Size]byte
	h := hex.EncodeToString(m.Sum(sum[:0]))[:p.digits]
	tag := s.Type.Tag()
	return tag[:len(tag)-1] + ":" + h + "]"
}

func (*PseudonymPolicy) opaque() bool { return true }

// canonicalValue normalizes a value so that its spellings hash alike.
func canonicalValue(s Span) string {
	v := s.Text
	switch s.Type {
	case PERSON:
		return v
	case ADDRESS:
		return strings.Join(strings.Fields(v), " ")
	case EMAIL:
		return strings.ToLower(v)
	case PHONE:
		return canonicalPhone(v)
	}
	// Numbers without their separators; plate and license Hangul kept.
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == '.' || r == ' ' || r == '/' || r == '(' || r == ')':
			return -1
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, v)
}

// canonicalPhone reduces a phone number to its national digits with the
// trunk 0: +82 (0)10-1234-5678 and 010.1234.5678 both give 01012345678.
func canonicalPhone(v string) string {
	d := make([]byte, 0, len(v))
	for k := 0; k < len(v); k++ {
		if isDigit(v[k]) {
			d = append(d, v[k])
		}
	}
	intl := false
	switch {
	case strings.HasPrefix(v, "+82"):
		d, intl = d[2:], true
	case strings.HasPrefix(v, "0082"):
		d, intl = d[4:], true
	}
	if intl && (len(d) == 0 || d[0] != '0') {
		d = append([]byte{'0'}, d...)
	}
	return string(d)
}

// PerTypePolicy applies a different policy per type, for example
// pseudonyms for names and partial masking for phone numbers. Types
// without an entry use Default, or [TagPolicy] when Default is nil.
type PerTypePolicy struct {
	Default Policy
	ByType  map[Type]Policy
}

// Replace implements [Policy].
func (p PerTypePolicy) Replace(s Span) string {
	return p.policyFor(s.Type).Replace(s)
}

func (p PerTypePolicy) policyFor(t Type) Policy {
	if q, ok := p.ByType[t]; ok && q != nil {
		return q
	}
	if p.Default != nil {
		return p.Default
	}
	return TagPolicy{}
}

func (p PerTypePolicy) opaque() bool {
	for _, t := range allTypes {
		if o, ok := p.policyFor(t).(opaquePolicy); !ok || !o.opaque() {
			return false
		}
	}
	// Unknown types fall to Default.
	o, ok := p.policyFor("").(opaquePolicy)
	return ok && o.opaque()
}
