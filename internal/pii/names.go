package pii

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cueKind says what a word before a name announces. It decides how much
// the name itself must prove: after a form label almost anything in the
// field is the name, after a job title only a well-formed full name is.
type cueKind uint8

const (
	cueLabel   cueKind = iota + 1 // 성명, 이름: a form field that holds a name
	cueRole                       // 신청인, 대표자, 예금주: the person in a role
	cueFamily                     // 배우자, 자녀, 모(母): a relative
	cueTitle                      // 주무관, 팀장, 과장: a job title before its holder
	cueSignoff                    // 전결, 대결: the approver's name follows
)

// personCue is a word after which a name is written; see personCues.
type personCue struct {
	word     string
	kind     cueKind
	compound bool // may end a longer word: 환경정책과장, 현장대리인
	field    bool // counts only before a colon, as a form label (부: 홍길동)
}

// cueIndex finds the cues that end with a given syllable in one array
// load: slot holds, per syllable, 1 + the index of its list in lists, or
// 0. The scanner asks it for every cue-final syllable followed by a space,
// which in Korean prose is most words in 자, 인 or 장.
type cueIndex struct {
	slot  [lastSyllable - firstSyllable + 1]uint8
	lists []cueList
}

// cueList holds the cues that end in one syllable, longest word first,
// and the syllables that come before it in them (팀, 과, 국 for 장): most
// words that end in that syllable are ruled out by one bit.
type cueList struct {
	cues   []personCue
	before syllableSet
	single bool // a one-syllable cue (딸, 부, 모) ends in it too
}

var cueTable = newCueIndex(personCues)

func newCueIndex(cues []personCue) *cueIndex {
	idx := &cueIndex{}
	for _, c := range cues {
		r, _ := utf8.DecodeLastRuneInString(c.word)
		k := r - firstSyllable
		if idx.slot[k] == 0 {
			idx.lists = append(idx.lists, cueList{})
			idx.slot[k] = uint8(len(idx.lists))
		}
		l := &idx.lists[idx.slot[k]-1]
		l.cues = append(l.cues, c)
		if p, ok := syllableBefore(c.word, len(c.word)-syllableBytes); ok {
			l.before[(p-firstSyllable)/64] |= 1 << ((p - firstSyllable) % 64)
		} else {
			l.single = true
		}
	}
	for _, l := range idx.lists {
		slices.SortStableFunc(l.cues, func(a, b personCue) int { return len(b.word) - len(a.word) })
	}
	return idx
}

// candidates returns the cues that may end at s[end], whose last syllable
// is r.
func (idx *cueIndex) candidates(s string, end int, r rune) []personCue {
	if r < firstSyllable || r > lastSyllable {
		return nil
	}
	n := idx.slot[r-firstSyllable]
	if n == 0 {
		return nil
	}
	l := &idx.lists[n-1]
	if p, ok := syllableBefore(s, end-syllableBytes); !l.single && (!ok || !l.before.has(p)) {
		return nil
	}
	return l.cues
}

// cueEndingAt returns the cue word that ends at s[end], whose last
// syllable is r.
func (d *Detector) cueEndingAt(s string, end int, r rune) (personCue, bool) {
	for _, c := range cueTable.candidates(s, end, r) {
		a := end - len(c.word)
		if a >= 0 && s[a:end] == c.word && (c.compound || wordStartAt(s, a)) {
			return c, true
		}
	}
	return personCue{}, false
}

// isCueWord reports whether tok, a run of syllables, is itself a cue
// (주무관, 행정팀장, 전결): in "과장 전결 김철수" the name follows the last one.
func (d *Detector) isCueWord(tok string) bool {
	r, ok := syllableBefore(tok, len(tok))
	if !ok {
		return false
	}
	_, ok = d.cueEndingAt(tok, len(tok), r)
	return ok
}

// onCue looks for a name after a cue word that ends with the syllable r at
// s[i]. The byte after the cue is checked first: in running text the
// syllable is nearly always followed by another one (과장된, 주사를), and
// then no lookup is made.
func (sc *scanner) onCue(i int, r rune) {
	s := sc.s
	end := i + syllableBytes
	if end >= len(s) {
		return
	}
	if !cueBoundary(s, end) {
		// 홍길동 팀장께서, 김철수 위원에게: particles that only people take.
		// Others (은, 의) follow the word before a rank in prose too often
		// (피고인 대표이사는, 인슐린 주사도).
		if animateParticleAt(s, end) {
			if c, ok := sc.d.cueEndingAt(s, end, r); ok && c.kind == cueTitle && wordStartAt(s, end-len(c.word)) {
				sc.nameBeforeTitle(end-len(c.word), c, false)
			}
		}
		return
	}
	if s[end] == '(' && wordStartAt(s, i) {
		for _, w := range familyHanja {
			if strings.HasPrefix(s[i:], w) {
				sc.nameAfterCue(i, i+len(w), personCue{word: w, kind: cueFamily})
				return
			}
		}
	}
	if c, ok := sc.d.cueEndingAt(s, end, r); ok {
		sc.nameAfterCue(end-len(c.word), end, c)
	}
}

// cueBoundary reports whether a cue word may end before s[p]: a space, a
// field separator or a bracket follows it, not another syllable.
func cueBoundary(s string, p int) bool {
	switch s[p] {
	case ' ', '\t', ':', '|', '(', ')', ']', ',', '\n', '\r':
		return true
	case 0xEF, 0xE2: // the lead bytes of ： and │
		return strings.HasPrefix(s[p:], "：") || strings.HasPrefix(s[p:], "│")
	}
	return false
}

// cueGap skips what stands between a cue and its name: a qualifier in
// brackets (성명(영문), 제출인(소유자)), spaces, and separators such as ':'
// or '|'. The gap is strong when it reads as a form field (a separator, a
// tab or two spaces), not as a space in a sentence. A line break ends the
// search: a cue at the end of a line is a heading, not a field.
func cueGap(s string, p int) (q int, strong bool) {
	q = p
	if q < len(s) && s[q] == '(' {
		if k := strings.IndexByte(s[q:min(len(s), q+40)], ')'); k > 0 &&
			strings.IndexFunc(s[q:q+k], func(r rune) bool { return r == '\n' || ('0' <= r && r <= '9') }) < 0 {
			q += k + 1
		}
	}
	spaces := 0
	for q < len(s) && q-p < 40 {
		switch c := s[q]; {
		case c == ' ':
			spaces++
			if spaces >= 2 {
				strong = true
			}
			q++
			continue
		case c == ':' || c == '|' || c == ']' || c == '\t':
			strong = true
			q++
			continue
		case c == ')':
			q++
			continue
		case strings.HasPrefix(s[q:], "："), strings.HasPrefix(s[q:], "│"):
			strong = true
			q += len("：") // both take three bytes
			continue
		}
		break
	}
	return q, strong
}

// strongEnd reports whether a name ending at s[e] stands alone in its
// field: the line, a bracket, a comma or a wide gap ends it.
func strongEnd(s string, e int) bool {
	if e >= len(s) {
		return true
	}
	switch s[e] {
	case '\n', '\r', '\t', '(', ')', ',', '|', '/', ';', ':', '[':
		return true
	case ' ':
		return e+1 >= len(s) || strings.IndexByte(" (\n\r\t", s[e+1]) >= 0
	}
	return false
}

// nameAfterCue looks for the name after the cue word s[a:p].
func (sc *scanner) nameAfterCue(a, p int, c personCue) {
	s := sc.s
	if (c.kind == cueLabel || c.kind == cueRole) && sc.tableHeader(a, p) {
		sc.table(a, p)
		return // a column heading, not a field
	}
	if c.kind == cueTitle || c.kind == cueRole {
		// 홍길동(위원장), 김철수(민원인), 강서윤(지방사회복지주사, 2025. 7.)
		if ws, _ := syllableRunStart(s, p, 10); ws > 0 && s[ws-1] == '(' && p < len(s) && (s[p] == ')' || s[p] == ',') {
			sc.nameBeforeBracket(ws - 1)
		}
	}
	if c.kind == cueTitle && p < len(s) && s[p] == '(' && sc.nameInBrackets(p, c) {
		return // 위원장(홍길동)
	}
	q, strong := cueGap(s, p)
	if q == p || q >= len(s) {
		return
	}
	if c.kind == cueTitle && (isDigit(s[q]) || (s[p] == '(' && p+1 < len(s) && isDigit(s[p+1]))) {
		// 홍길동 팀장(031-228-2431), 김철수 과장 031-...: a contact line
		// puts the name before the title.
		sc.nameBeforeTitle(a, c, false)
		return
	}
	if c.kind == cueTitle && strongEnd(s, p) {
		// 담당: 도시계획과 홍길동 팀장, 김철수 위원장, ...: a title that ends
		// its field follows its holder.
		sc.nameBeforeTitle(a, c, false)
	}
	colon := strings.ContainsAny(s[p:q], ":：")
	if c.field && !colon {
		return
	}
	if (c.kind == cueTitle || c.kind == cueSignoff) && colon {
		// 독고준 위원: 보행 통로 ...: a speaker in minutes; the name, if
		// any, stands before the title.
		sc.nameBeforeTitle(a, c, true)
		return
	}
	f := nameField{kind: c.kind, strongLeft: strong, prose: slices.Contains(proseCueWords, c.word)}
	if c.kind != cueTitle && c.kind != cueSignoff {
		if e, n := latinNameAt(s, q); n >= 2 {
			sc.add(q, e, PERSON, false)
			sc.aliasAfter(q, e)
			sc.moreNames(e, f)
			return
		}
	}
	if e, ok := sc.koreanNameAt(q, f); ok {
		sc.add(q, e, PERSON, false)
		sc.moreNames(e, f)
		return
	}
	if c.kind == cueTitle || c.kind == cueSignoff {
		return
	}
	// A foreign name in Hangul (응우옌 티 호아) has no surname to check: it
	// counts in a name field, or with its Latin spelling in brackets.
	e, words := sc.d.hangulPhraseAt(s, q)
	if words == 0 {
		return
	}
	if le, ok := latinAliasAt(s, q, e); ok {
		sc.add(q, e, PERSON, false)
		sc.add(e+1, le, PERSON, false)
		return
	}
	// One word in a name field is as often a Korean noun (성명: 신청서)
	// as a foreign name; two or more are a name written out in Hangul.
	if c.kind == cueLabel && strong && strongEnd(s, e) && words > 1 {
		sc.add(q, e, PERSON, false)
	}
}

// nameField is what a candidate name's surroundings vouch for.
type nameField struct {
	kind       cueKind
	strongLeft bool // a separator or a wide gap before it, or a ruled table cell
	prose      bool // a cue of running text, after which a particle may follow the name
}

// koreanNameAt reads a Korean name at s[q]: a surname and one or two
// syllables (홍길동, 남궁민수), perhaps written apart (이 솔, 선우 다인), and
// returns its end.
func (sc *scanner) koreanNameAt(q int, f nameField) (int, bool) {
	s, d := sc.s, sc.d
	var syl [7]rune
	n, e := 0, q
	for n < len(syl) {
		r, ok := syllableAt(s, e)
		if !ok {
			break
		}
		syl[n] = r
		n++
		e += syllableBytes
	}
	if n == 0 {
		return 0, false
	}
	tok := s[q:e]
	if _, stop := d.personStop[tok]; stop || d.isCueWord(tok) || d.cueStop(tok) {
		return 0, false // 연락처 is no 연락 followed by 처럼
	}
	// 이 솔, 남궁 현, 선우 다인: a surname written apart from the given name.
	// A lone syllable is an everyday word as often as a surname, so the
	// name must fill its field.
	if (n == 1 && d.anySurname(syl[0])) || (n == 2 && isCompoundSurname(tok)) {
		if e+1 < len(s) && s[e] == ' ' {
			ge := e + 1
			gn := 0
			for gn < 3 {
				if _, ok := syllableAt(s, ge); !ok {
					break
				}
				ge += syllableBytes
				gn++
			}
			if gn >= 1 && gn <= 2 && strongEnd(s, ge) && !d.cueStop(s[e+1:ge]) && !d.isCueWord(s[e+1:ge]) {
				return ge, true
			}
		}
		if n == 1 {
			return 0, false
		}
	}
	// Take the longest name that the token allows; after a cue of prose
	// the rest of the token may be a particle (민원인 김철수는). A cue of
	// forms and letters (주무관, 신청인, 대상자:) takes only a name that
	// stands alone in its field: in a sentence the same words are followed
	// by nouns (교사 인건비가, 청원인 전라북도, 대상자: 국내외 법인).
	loose := f.prose
	for l := min(n, 4); l >= 2; l-- {
		whole := l == n
		if !whole && !particleStart(syl[l]) {
			continue
		}
		if !whole && !loose && !animateParticleAt(s, q+l*syllableBytes) {
			continue // 주무관 홍길동에게 counts, 교사 인건비가 does not
		}
		alone := whole && strongEnd(s, e)
		if whole && !loose && !alone && !d.cueFollows(s, e) {
			continue
		}
		name := s[q : q+l*syllableBytes]
		if d.cueNameOK(name, l, f, whole, alone) {
			return q + len(name), true
		}
	}
	return 0, false
}

// cueFollows reports whether what follows the name ending at s[e] closes
// its field as well as a line break would: another cue (홍길동 주무관), an
// honorific (씨, 님, 귀하), 외 N명, or a number (배우자 천명호 010-...).
func (d *Detector) cueFollows(s string, e int) bool {
	if e+1 >= len(s) || s[e] != ' ' {
		return false
	}
	if isDigit(s[e+1]) {
		// A phone number or a date, not an amount (교사 인건비 9,477,355원).
		k := digitRun(s, e+1)
		return s[e+1] == '0' || (k < len(s) && (s[k] == '-' || s[k] == '.'))
	}
	r, ok := syllableAt(s, e+1)
	if !ok {
		return false
	}
	switch r {
	case '씨', '님', '외':
		return suffixEndsWord(s, e+1+syllableBytes) || r == '외'
	}
	we := e + 1
	for n := 0; n < 6; n++ {
		if _, ok := syllableAt(s, we); !ok {
			break
		}
		we += syllableBytes
	}
	w := s[e+1 : we]
	return w == "귀하" || d.isCueWord(w)
}

func (d *Detector) anySurname(r rune) bool { return d.surnames.has(r) || d.rareSurnames.has(r) }

func (d *Detector) cueStop(tok string) bool {
	_, stop := d.cueNameStop[tok]
	return stop
}

// cueNameOK checks a name of n syllables found after a cue. Common
// surnames with a two-syllable given name pass after any cue; a rare
// surname, a one-syllable given name or a compound surname with one
// syllable needs the name to fill a form field (strongLeft) or stand
// alone (alone), and without a particle after it (whole).
func (d *Detector) cueNameOK(name string, n int, f nameField, whole, alone bool) bool {
	compound := n >= 3 && isCompoundSurname(name[:2*syllableBytes])
	first, _ := syllableAt(name, 0)
	field := f.strongLeft && whole
	switch {
	case n > 4, n == 4 && !compound:
		return false
	case n == 2:
		// 김별: two syllables are a name only in a field for one. After
		// a title or a relative (아들: 아빠 오늘) they are mostly words.
		switch {
		case !field || !d.anySurname(first):
			return false
		case f.kind == cueTitle || f.kind == cueSignoff:
			// 주무관  김별    팀장: a sign-off block, with the name alone
			// between wide gaps.
			if !alone || !d.surnames.has(first) {
				return false
			}
		case f.kind != cueLabel && f.kind != cueRole:
			return false
		}
	case compound:
		if n == 3 && !field && !alone {
			return false
		}
	case d.surnames.has(first):
	case d.rareSurnames.has(first):
		if !field && !alone {
			return false
		}
	default:
		return false
	}
	last, _ := syllableBefore(name, len(name))
	// In a form field the name fills the field, so only a particle rules
	// out a final syllable; elsewhere the wider list does (김정만 is a name
	// in a field, 만 in a sentence a particle).
	if d.nonNameFinal.has(last) && !givenNameFinal(name, n, last) && !(field && !strings.ContainsRune(particleFinals, last)) {
		return false
	}
	if strings.ContainsAny(name[syllableBytes:], inflectionSyllables) {
		return false // 하는말, 했었다: verb endings, never in given names
	}
	if f.kind != cueLabel && (d.titleFinal.has(last) || d.unitFinal.has(last) || placeFinal(last)) {
		return false // 담당 조사관, 담당 재무과, 위원장 성남시
	}
	if _, stop := d.personStop[name]; stop || d.cueStop(name) || d.isCueWord(name) {
		return false
	}
	if n == 3 && particleStart(last) {
		// 담당 경찰은: a role word and a particle, not 경찰은 the name.
		if _, stop := d.personStop[name[:2*syllableBytes]]; stop {
			return false
		}
	}
	return !inAnyTag(name)
}

// placeFinal lists the last syllables of administrative units (성남시,
// 수성구, 포곡읍), which follow titles in signatures as often as names do.
func placeFinal(r rune) bool { return strings.ContainsRune("시군구읍면", r) }

// hangulPhraseAt reads up to four Hangul words separated by single spaces
// at s[q] (응우옌 티 호아, 바트바야르 간볼드) and returns the end and the
// number of words. It stops before a cue or stop word (서명, 귀하), and
// fails on a word that ends in a particle or holds a verb ending (성명
// 불상의 남자).
func (d *Detector) hangulPhraseAt(s string, q int) (end, words int) {
	p := q
	for words < 4 {
		a, n := p, 0
		for n <= 6 {
			if _, ok := syllableAt(s, p); !ok {
				break
			}
			p += syllableBytes
			n++
		}
		if n == 0 || n > 6 {
			return 0, 0
		}
		w := s[a:p]
		if d.cueStop(w) || d.isCueWord(w) {
			if words == 0 {
				return 0, 0
			}
			return end, words
		}
		if last, _ := syllableBefore(w, len(w)); strings.ContainsRune("의을를는에", last) ||
			strings.ContainsAny(w, inflectionSyllables) {
			return 0, 0
		}
		end, words = p, words+1
		if p+1 < len(s) && s[p] == ' ' {
			if _, ok := syllableAt(s, p+1); ok {
				p++
				continue
			}
		}
		break
	}
	return end, words
}

// latinNameAt reads a name in Latin letters at s[q]: two to four words,
// all in capitals (NGUYEN THI HOA, MÜLLER THOMAS) or all capitalised (Lê
// Thị Thu), separated by single spaces. It returns the end and the number
// of words, 0 when there is no such name.
func latinNameAt(s string, q int) (end, words int) {
	if q > 0 && isWordByte(s[q-1]) {
		return 0, 0
	}
	caps := true
	p := q
	for words < 5 {
		a := p
		upper, lower := 0, 0
		for p < len(s) {
			r, size := utf8.DecodeRuneInString(s[p:])
			if !unicode.Is(unicode.Latin, r) {
				if p > a && (r == '-' || r == '\'') {
					p += size
					continue
				}
				break
			}
			if unicode.IsUpper(r) {
				upper++
			} else {
				if p == a {
					return 0, 0 // a word starts with a capital
				}
				lower++
			}
			p += size
		}
		if p-a < 2 || upper == 0 {
			break
		}
		if words == 0 {
			caps = lower == 0
		}
		if (caps && lower > 0) || (!caps && upper > 1) {
			return 0, 0 // mixed styles: not one name
		}
		if p < len(s) && isDigit(s[p]) {
			return 0, 0 // a code (KIOSK-MW2600S)
		}
		end, words = p, words+1
		if p+1 < len(s) && s[p] == ' ' && s[p+1] != ' ' {
			p++
			continue
		}
		break
	}
	if words > 4 {
		return 0, 0
	}
	return end, words
}

// aliasAfter adds the Hangul spelling that follows a Latin name in
// brackets, TRAN VAN MINH(쩐 반 민), when the two spellings agree.
func (sc *scanner) aliasAfter(q, e int) {
	s := sc.s
	if e >= len(s) || s[e] != '(' {
		return
	}
	he, words := sc.d.hangulPhraseAt(s, e+1)
	if words == 0 || he >= len(s) || s[he] != ')' || !transliterates(s[e+1:he], s[q:e]) {
		return
	}
	sc.add(e+1, he, PERSON, false)
}

// latinAliasAt checks for the Latin spelling of the Hangul phrase s[q:e]
// in brackets right after it, 쿠마리 샤르마(KUMARI SHARMA), and returns
// the end of the Latin name.
func latinAliasAt(s string, q, e int) (int, bool) {
	if e >= len(s) || s[e] != '(' {
		return 0, false
	}
	le, n := latinNameAt(s, e+1)
	if n < 2 || le >= len(s) || s[le] != ')' || !transliterates(s[q:e], s[e+1:le]) {
		return 0, false
	}
	return le, true
}

// transliterates reports whether a Hangul phrase and a Latin name have
// the same number of words and each pair starts with a compatible sound
// (쩐 반 민 / TRAN VAN MINH), so that 독일 국적 is not taken for the
// spelling of MÜLLER THOMAS.
func transliterates(hangul, latin string) bool {
	hw, lw := strings.Fields(hangul), strings.Fields(latin)
	if len(hw) != len(lw) {
		return false
	}
	for k := range hw {
		r, ok := syllableAt(hw[k], 0)
		if !ok {
			return false
		}
		l, _ := utf8.DecodeRuneInString(lw[k])
		if !strings.ContainsRune(initialSounds[(r-firstSyllable)/(21*28)], unicode.ToUpper(l)) {
			return false
		}
	}
	return true
}

// initialSounds lists, for each initial consonant of a Hangul syllable in
// Unicode order (ㄱ ㄲ ㄴ ㄷ ㄸ ㄹ ㅁ ㅂ ㅃ ㅅ ㅆ ㅇ ㅈ ㅉ ㅊ ㅋ ㅌ ㅍ ㅎ), the
// Latin letters that foreign names transliterated with it start with.
var initialSounds = [19]string{
	"GKCQ", "KGC", "N", "DT", "DT", "RL", "M", "BPV", "PB", "SCXZT", "SZ",
	"AEIOUYWNH", "JZCGDT", "JZTC", "CTKJ", "KCQ", "T", "PF", "HK",
}

// titleBeforeNim handles a title with 님 before its holder's name,
// 홍길동 과장님, whose 님 is at s[i].
func (sc *scanner) titleBeforeNim(i int) {
	s := sc.s
	r, ok := syllableBefore(s, i)
	if !ok {
		return
	}
	c, ok := sc.d.cueEndingAt(s, i, r)
	if !ok || c.kind != cueTitle || !wordStartAt(s, i-len(c.word)) {
		return // 윤회장님: a surname glued to the title, not a name before it
	}
	sc.nameBeforeTitle(i-len(c.word), c, false)
}

// moreNames continues a list of names after the one ending at s[e]:
// 참석자: 홍길동, 김철수, 이영희. Each further name must pass the same
// checks as the first; a cue word (주무관 소예진, 주무관 방 찬) ends the
// list, as it starts a name of its own.
func (sc *scanner) moreNames(e int, f nameField) {
	s := sc.s
	for k := 0; k < maxListNames && e < len(s); k++ {
		q := e
		if t := sc.d.cueWordAfter(s, e); t > e {
			q = t // 김철수 위원장, 이영희 위원
		}
		if q >= len(s) {
			return
		}
		switch {
		case s[q] == ',':
			q++
		case strings.HasPrefix(s[q:], "·"):
			q += len("·")
		case strings.HasPrefix(s[q:], " / "):
			q += len(" / ")
		default:
			return
		}
		for q < len(s) && s[q] == ' ' {
			q++
		}
		if ne, n := latinNameAt(s, q); n >= 2 && f.kind != cueTitle {
			sc.add(q, ne, PERSON, false)
			e = ne
			continue
		}
		ne, ok := sc.koreanNameAt(q, f)
		if !ok {
			return
		}
		sc.add(q, ne, PERSON, false)
		e = ne
	}
}

// cueWordAfter returns the end of a cue word that follows s[e] after one
// space (홍길동 위원), or e when none does.
func (d *Detector) cueWordAfter(s string, e int) int {
	if e+1 >= len(s) || s[e] != ' ' {
		return e
	}
	we := e + 1
	for n := 0; n < 6; n++ {
		if _, ok := syllableAt(s, we); !ok {
			break
		}
		we += syllableBytes
	}
	if we > e+1 && d.isCueWord(s[e+1:we]) {
		return we
	}
	return e
}

// maxListNames bounds a list of names after one cue.
const maxListNames = 30

// nameBeforeTitle looks for the name before the title cue c that starts
// at s[a]: 홍길동 과장님, and in minutes the speaker 독고준 위원: at the
// start of a line or list item (speaker). Elsewhere a word before a title
// is an organisation or a description as often as a name (편의점 사장님),
// so only a full name with a common surname counts there, and only before
// a rank (팀장, 위원): an occupation is described by the word before it
// (기간제 교사, 유치원 원장).
func (sc *scanner) nameBeforeTitle(a int, c personCue, speaker bool) {
	s := sc.s
	if _, rank := sc.d.rankTitles[c.word]; !rank || a < 1 || s[a-1] != ' ' {
		return
	}
	b, n := syllableRunStart(s, a-1, 5)
	if n < 2 || n > 4 || (speaker && !lineItemStart(s, b)) {
		return
	}
	// 유치원 원장님, 도서관 관장님, 보건소 소장님: a word that ends in the
	// syllable the title starts with names the place the title heads.
	if last, _ := syllableBefore(s, a-1); strings.HasPrefix(s[a:], string(last)) {
		return
	}
	if sc.d.cueNameOK(s[b:a-1], n, nameField{kind: cueTitle, strongLeft: speaker}, true, speaker) {
		sc.add(b, a-1, PERSON, false)
	}
}

// lineItemStart reports whether only indentation and a list marker (-, ○,
// ·, 1), 가.) stand between the start of the line and s[b].
func lineItemStart(s string, b int) bool {
	lo := max(0, b-maxItemPrefix)
	k := strings.LastIndexByte(s[lo:b], '\n')
	if k < 0 && lo > 0 {
		return false
	}
	p := strings.TrimLeft(s[lo+k+1:b], " \t")
	p = strings.TrimLeft(p, "-–○◦●·•*▶▷■□◆◇")
	p = strings.TrimLeft(p, "0123456789가나다라마바사).")
	return strings.TrimSpace(p) == ""
}

// maxItemPrefix bounds the indentation and marker before a list item.
const maxItemPrefix = 64

// nameBeforeMark looks for a name before a signature mark, (인), (서명) or
// (서명 또는 인), that starts at s[m]: the signer of a form or contract
// writes the name right before it, often far from its label.
func (sc *scanner) nameBeforeMark(m int) {
	s := sc.s
	e := m
	// The name stands within the line, at most a wide gap before the mark.
	ls := max(0, m-maxSignatureGap)
	if k := strings.LastIndexByte(s[ls:m], '\n'); k >= 0 {
		ls += k + 1
	}
	for e > ls && s[e-1] == ' ' {
		e--
	}
	if e == ls {
		return
	}
	if a, ok := latinNameBefore(s, ls, e); ok {
		sc.add(a, e, PERSON, false)
		return
	}
	b, n := syllableRunStart(s, e, 5)
	if n < 2 || n > 4 || (b > 0 && isWordByte(s[b-1])) {
		return
	}
	if n <= 2 && b > 2*syllableBytes && s[b-1] == ' ' {
		// 선우 다인 (서명)
		if sa, sn := syllableRunStart(s, b-1, 3); sn == 2 && isCompoundSurname(s[sa:b-1]) {
			sc.add(sa, e, PERSON, false)
			return
		}
	}
	if sc.d.cueNameOK(s[b:e], n, nameField{kind: cueRole}, true, true) {
		sc.add(b, e, PERSON, false)
	}
}

// maxSignatureGap bounds how far before its signature mark a name may
// stand, in bytes.
const maxSignatureGap = 160

// latinNameBefore finds a Latin name that ends at s[e], not before s[ls].
func latinNameBefore(s string, ls, e int) (int, bool) {
	a := e
	for a > ls {
		r, size := utf8.DecodeLastRuneInString(s[ls:a])
		if r != ' ' && r != '-' && r != '\'' && !unicode.Is(unicode.Latin, r) {
			break
		}
		a -= size
	}
	for a < e && s[a] == ' ' {
		a++
	}
	// The run may start with other words in Latin letters; try each word
	// start until a name reaches e exactly.
	for p := a; p < e; {
		if end, n := latinNameAt(s, p); n >= 2 && end == e {
			return p, true
		}
		k := strings.IndexByte(s[p:e], ' ')
		if k < 0 {
			break
		}
		p += k + 1
	}
	return 0, false
}

// nameBeforeOthers detects a name before 외 N명 (홍길동 외 2명), the way a
// document names the first of several people; 외 starts at s[i].
func (sc *scanner) nameBeforeOthers(i int) {
	s := sc.s
	p := i + syllableBytes
	if i < 1 || s[i-1] != ' ' || p >= len(s) || s[p] != ' ' {
		return
	}
	e := digitRun(s, p+1)
	if e == p+1 || !(strings.HasPrefix(s[e:], "명") || strings.HasPrefix(s[e:], "인")) {
		return
	}
	b, n := syllableRunStart(s, i-1, 5)
	if n < 2 || n > 4 {
		return
	}
	if sc.d.cueNameOK(s[b:i-1], n, nameField{kind: cueRole}, true, false) {
		sc.add(b, i-1, PERSON, false)
	}
}

// nameBeforeBracket detects a name written right before a bracket that
// holds a role or title, 홍길동(위원장), or an age or sex, 홍길동(45세),
// 김영희(여); the bracket starts at s[k].
func (sc *scanner) nameBeforeBracket(k int) {
	s := sc.s
	b, n := syllableRunStart(s, k, 5)
	if n < 2 || n > 4 || (b > 0 && isWordByte(s[b-1])) {
		return
	}
	if sc.d.cueNameOK(s[b:k], n, nameField{kind: cueRole}, true, true) {
		sc.add(b, k, PERSON, false)
	}
}

// onAge looks at the 세 at s[i] for the age in brackets after a name,
// 홍길동(45세) or 홍길동(만 45세, 남).
func (sc *scanner) onAge(i int) {
	s := sc.s
	a := strings.LastIndexByte(s[max(0, i-8):i], '(')
	if a < 0 {
		return
	}
	a += max(0, i-8)
	inner := strings.TrimPrefix(s[a+1:i], "만 ")
	if inner == "" || digitRun(inner, 0) != len(inner) || len(inner) > 3 {
		return
	}
	if e := i + syllableBytes; e < len(s) && (s[e] == ')' || s[e] == ',' || s[e] == '/') {
		sc.nameBeforeBracket(a)
	}
}

// spellingsInBrackets adds the Hangul spelling written before a Latin name
// in brackets, 다나카 유키(TANAKA YUKI), once the Latin name is known as a
// name anywhere in the text: the two spell one person.
func spellingsInBrackets(s string, cands []cand) []cand {
	for _, c := range cands {
		if c.typ != PERSON || c.start < 1 || c.end >= len(s) || s[c.start-1] != '(' || s[c.end] != ')' ||
			!isASCIILetter(s[c.start]) {
			continue
		}
		if a, ok := hangulSpellingBefore(s, c.start-1, s[c.start:c.end]); ok {
			cands = append(cands, cand{start: a, end: c.start - 1, typ: PERSON})
		}
	}
	return cands
}

// hangulSpellingBefore finds Hangul words ending at s[e] that transliterate
// latin word by word, and returns their start.
func hangulSpellingBefore(s string, e int, latin string) (int, bool) {
	words := strings.Count(latin, " ") + 1
	a := e
	for w := 0; w < words; w++ {
		if w > 0 {
			if a < 1 || s[a-1] != ' ' {
				return 0, false
			}
			a--
		}
		b, n := syllableRunStart(s, a, 6)
		if n == 0 {
			return 0, false
		}
		a = b
	}
	if !wordStartAt(s, a) || !transliterates(s[a:e], latin) {
		return 0, false
	}
	return a, true
}

// animateParticleAt reports whether a particle that only people and
// animals take starts at s[p]: 에게, 께(서), 한테.
func animateParticleAt(s string, p int) bool {
	if p >= len(s) {
		return false
	}
	switch s[p] { // the lead bytes of 에, 께 and 한, tested first: this runs for most words
	case 0xEC:
		return strings.HasPrefix(s[p:], "에게")
	case 0xEA:
		return strings.HasPrefix(s[p:], "께")
	case 0xED:
		return strings.HasPrefix(s[p:], "한테")
	}
	return false
}

// nameInBrackets detects the holder's name in brackets right after a rank,
// 위원장(홍길동), and reports whether it found one. Only a full name with a
// common surname counts: the brackets also hold notes (과장(직무대리)).
func (sc *scanner) nameInBrackets(p int, c personCue) bool {
	s := sc.s
	if _, rank := sc.d.rankTitles[c.word]; !rank {
		return false
	}
	b, n := p+1, 0
	for n < 5 {
		if _, ok := syllableAt(s, b+n*syllableBytes); !ok {
			break
		}
		n++
	}
	e := b + n*syllableBytes
	if n != 3 || e >= len(s) || s[e] != ')' {
		return false
	}
	if first, _ := syllableAt(s, b); !sc.d.surnames.has(first) ||
		!sc.d.cueNameOK(s[b:e], n, nameField{kind: cueTitle}, true, true) {
		return false
	}
	sc.add(b, e, PERSON, false)
	return true
}
