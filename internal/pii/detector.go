package pii

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Detector finds personal data in text. It holds only read-only lookup
// tables, so one Detector may be shared by any number of goroutines.
//
// Overlapping detections are merged into one span whose type is the one
// with the highest priority (the order of [Types]: RRN, FRN, CARD,
// BUSINESS_REG, PASSPORT, DRIVER_LICENSE, ACCOUNT, EMAIL, PHONE, IP,
// VEHICLE, BIRTH_DATE, ADDRESS, PERSON); on equal priority the value with
// the valid check digit wins. A value whose explicit label names its type
// wins over a shape match of the same text (950302-2****** under the
// heading 생년월일 is a birth date). Merging instead of dropping the loser
// means that no part of any detected value is left unmasked.
//
// Once a value is detected anywhere in a text, every other occurrence of
// the same value in that text is reported too, even where its context
// alone would not have triggered a detection (a name repeated without 씨,
// a phone number inside a URL). A value identified once is still personal
// data wherever it recurs.
type Detector struct {
	surnames       *syllableSet // common single-syllable surnames
	rareSurnames   *syllableSet // further surnames, trusted after strong cues only
	cueNameStop    map[string]struct{}
	rankTitles     map[string]struct{} // titles whose holder is named before them
	personStop     map[string]struct{}
	nonNameFinal   *syllableSet // syllables that end words but not given names
	ssiNounFinal   *syllableSet // 날씨, 글씨, 솜씨: X씨 nouns, not Mr. X
	titleFinal     *syllableSet // 사장님, 장관님, 변호사님: titles, not names
	deptFinal      *syllableSet // 주택과 주무관, 국토부 주무관: units, not names
	unitFinal      *syllableSet // 담당 재무과: units after a cue, not names
	adminStop      map[string]struct{}
	roadStop       map[string]struct{}
	lotStop        map[string]struct{}
	provinceShort  map[string]struct{}
	plateSyllables *syllableSet // 가, 나, 허, 배, ...: licence plate purposes
}

// NewDetector builds a Detector. Construction builds small tables once;
// reuse the Detector rather than building one per text.
func NewDetector() *Detector {
	return &Detector{
		surnames:       newSyllableSet(surnameSyllables),
		rareSurnames:   newSyllableSet(rareSurnameSyllables),
		cueNameStop:    newWordSet(cueNameStopWords),
		rankTitles:     newWordSet(rankTitleWords),
		personStop:     newWordSet(personStopWords),
		nonNameFinal:   newSyllableSet(nonNameFinalSyllables),
		ssiNounFinal:   newSyllableSet(ssiNounFinalSyllables),
		titleFinal:     newSyllableSet(titleFinalSyllables),
		deptFinal:      newSyllableSet(deptFinalSyllables),
		unitFinal:      newSyllableSet(unitFinalSyllables),
		adminStop:      newWordSet(adminStopWords),
		roadStop:       newWordSet(append(slices.Clone(roadStopWords), roadNounStopWords...)),
		lotStop:        newWordSet(lotStopWords),
		provinceShort:  newWordSet(provinceShortNames),
		plateSyllables: newSyllableSet(plateSyllables),
	}
}

// Detect returns the personal data found in text, sorted by Start and
// non-overlapping.
func (d *Detector) Detect(text string) []Span {
	cands := d.find(text)
	if len(cands) == 0 {
		return nil
	}
	return toSpans(text, cands)
}

// MaskText detects personal data in text and masks it with p (nil means
// [TagPolicy]). It returns the masked text and the spans of the original
// text that were replaced. The result equals Mask(text, spans, p).
func (d *Detector) MaskText(text string, p Policy) (masked string, spans []Span) {
	cands := d.find(text)
	if len(cands) == 0 {
		return text, nil
	}
	if p == nil {
		p = TagPolicy{}
	}
	spans = toSpans(text, cands)
	var b strings.Builder
	b.Grow(len(text))
	prev := 0
	for i, c := range cands {
		b.WriteString(text[prev:c.start])
		b.WriteString(p.Replace(spans[i]))
		prev = c.end
	}
	b.WriteString(text[prev:])
	return guardLeaks(text, b.String(), spans, p), spans
}

// cand is a detection in byte offsets, before overlap resolution.
type cand struct {
	start, end int
	typ        Type
	checked    bool // a check digit or checksum validated the value
	labelled   bool // its label names the type; it wins over a shape match of the same text
}

// find returns the resolved candidates in byte offsets. It allocates only
// when it finds something.
func (d *Detector) find(text string) []cand {
	sc := scanner{d: d, s: text}
	sc.run()
	if len(sc.cands) == 0 {
		return nil
	}
	return resolve(spellingsInBrackets(text, propagate(text, sc.cands)))
}

// propagate adds every further occurrence of each detected value.
func propagate(s string, cands []cand) []cand {
	n := len(cands)
	// Values are few in real text; a set only pays off for many.
	var seen map[string]struct{}
	if n > 16 {
		seen = make(map[string]struct{}, n)
	}
	for i := 0; i < n; i++ {
		c := cands[i]
		v := s[c.start:c.end]
		if seen != nil {
			if _, dup := seen[v]; dup {
				continue
			}
			seen[v] = struct{}{}
		} else if slices.ContainsFunc(cands[:i], func(o cand) bool { return s[o.start:o.end] == v }) {
			continue // this value was already propagated
		}
		for off := 0; ; {
			j := strings.Index(s[off:], v)
			if j < 0 {
				break
			}
			at := off + j
			if at != c.start {
				cands = append(cands, cand{start: at, end: at + len(v), typ: c.typ, checked: c.checked, labelled: c.labelled})
			}
			off = at + len(v)
		}
	}
	return cands
}

// resolve sorts candidates and merges overlapping ones; see [Detector].
func resolve(cands []cand) []cand {
	slices.SortFunc(cands, func(a, b cand) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	out := cands[:1]
	for _, c := range cands[1:] {
		last := &out[len(out)-1]
		if c.start >= last.end {
			out = append(out, c)
			continue
		}
		last.end = max(last.end, c.end)
		if beats(c, *last) {
			last.typ, last.checked, last.labelled = c.typ, c.checked, c.labelled
		}
	}
	return out
}

func beats(a, b cand) bool {
	if a.start == b.start && a.end == b.end && a.labelled != b.labelled {
		return a.labelled
	}
	pa, pb := a.typ.priority(), b.typ.priority()
	if pa != pb {
		return pa > pb
	}
	return a.checked && !b.checked
}

// toSpans converts sorted byte-offset candidates to rune-offset spans in a
// single forward pass.
func toSpans(s string, cands []cand) []Span {
	spans := make([]Span, len(cands))
	pos, runes := 0, 0
	for i, c := range cands {
		runes += utf8.RuneCountInString(s[pos:c.start])
		start := runes
		runes += utf8.RuneCountInString(s[c.start:c.end])
		pos = c.end
		spans[i] = Span{Start: start, End: runes, Type: c.typ, Text: s[c.start:c.end]}
	}
	return spans
}

// scanner is the state of one detection pass.
type scanner struct {
	d        *Detector
	s        string
	cands    []cand
	tableEnd int // end of the last table row read; no heading starts before it
}

func (sc *scanner) add(start, end int, t Type, checked bool) {
	sc.cands = append(sc.cands, cand{start: start, end: end, typ: t, checked: checked})
}

// addLabelled adds a value whose type an explicit label decided (a
// column heading 생년월일 over 950302-2******).
func (sc *scanner) addLabelled(start, end int, t Type) {
	sc.cands = append(sc.cands, cand{start: start, end: end, typ: t, labelled: true})
}

// Byte classes for the main loop; everything else is skipped unread.
const (
	clsNone uint8 = iota
	clsDigit
	clsPlus
	clsAt
	clsColon
	clsURL
	clsHangul
)

var byteClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	t['+'] = clsPlus
	t['@'] = clsAt
	t[':'] = clsColon
	t['h'], t['H'], t['w'], t['W'] = clsURL, clsURL, clsURL, clsURL
	// Lead bytes of the three-byte encodings of U+A000..U+DFFF, which
	// include every Hangul syllable (U+AC00..U+D7A3).
	for c := 0xEA; c <= 0xED; c++ {
		t[c] = clsHangul
	}
	return t
}()

func (sc *scanner) run() {
	s := sc.s
	for i := 0; i < len(s); {
		switch byteClass[s[i]] {
		case clsNone:
			i++
			for i < len(s) && byteClass[s[i]] == clsNone {
				i++
			}
		case clsDigit:
			i = sc.onDigit(i)
		case clsPlus:
			i = sc.onPlus(i)
		case clsAt:
			sc.onAt(i)
			i++
		case clsColon:
			i = sc.onColon(i)
		case clsURL:
			i = sc.onLetter(i)
		case clsHangul:
			// A whole three-byte character is stepped over at once; only
			// the few trigger syllables are decoded.
			if i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 {
				if k := uint(s[i+1]&0x3F)<<6 | uint(s[i+2]&0x3F); triggerTail[k] {
					if r := rune(s[i]&0x0F)<<12 | rune(k); triggerSyllables.has(r) &&
						(suffixSyllables.has(r) || cueMayEndAt(s, i+3)) {
						sc.onHangul(i, r)
					}
				}
				i += 3
			} else {
				i++
			}
		}
	}
}

// onLetter skips URLs: their article ids and query values are long digit
// strings that look like phone or registration numbers but are not
// personal data. E-mail addresses inside a URL are still detected.
func (sc *scanner) onLetter(i int) int {
	s := sc.s
	if i > 0 && isWordByte(s[i-1]) {
		return i + 1
	}
	rest := s[i:]
	if !hasPrefixFold(rest, "http://") && !hasPrefixFold(rest, "https://") && !hasPrefixFold(rest, "www.") {
		return i + 1
	}
	end := i
	for end < len(s) && isURLByte(s[end]) {
		end++
	}
	for j := i; ; {
		k := strings.IndexByte(s[j:end], '@')
		if k < 0 {
			break
		}
		sc.onAt(j + k)
		j += k + 1
	}
	return end
}

func isURLByte(c byte) bool {
	if c <= ' ' || c >= 0x7F {
		return false
	}
	switch c {
	case '"', '\'', '<', '>', '(', ')', '[', ']', '{', '}', '`', '\\':
		return false
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isDigit(c byte) bool       { return '0' <= c && c <= '9' }
func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isWordByte(c byte) bool    { return isDigit(c) || isASCIILetter(c) || c == '_' }
func isHexByte(c byte) bool     { return isDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'f') }

// digitsAt reports whether s[i:i+n] are all ASCII digits.
func digitsAt(s string, i, n int) bool {
	if i < 0 || i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

// digitRun returns the end of the run of ASCII digits starting at i.
func digitRun(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// atNumberStart reports whether a number may start at s[i]: numbers glued
// to letters (order ids, model names) or continuing a longer digit group
// (1234-010-..., 2019.04.30) are not personal data on their own.
func atNumberStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	p := s[i-1]
	if isWordByte(p) {
		return false
	}
	// 1234-010-..., 2019.04.30, and codes such as ORD-0507...-9861 or
	// KR-2040-1234, where a hyphen glues the number to letters.
	if (p == '-' && i >= 2 && isWordByte(s[i-2])) || (p == '.' && i >= 2 && isDigit(s[i-2])) {
		return false
	}
	// A path segment or query value of a URL written without its scheme
	// (blog.example.com/0212345678, ?aid=0101234567).
	if strings.IndexByte("/=&?%#", p) >= 0 && i >= 2 && isWordByte(s[i-2]) {
		return false
	}
	return true
}

// atNumberEnd is the mirror of atNumberStart for the byte after a number.
func atNumberEnd(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	c := s[i]
	if isWordByte(c) {
		return false
	}
	if (c == '-' || c == '.') && i+1 < len(s) && isDigit(s[i+1]) {
		return false
	}
	return true
}
