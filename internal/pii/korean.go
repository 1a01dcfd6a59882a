package pii

import (
	"strings"
	"unicode/utf8"
)

// Hangul syllables (U+AC00..U+D7A3) are always three bytes in UTF-8, so
// the Korean rules below step through text three bytes at a time.
const (
	firstSyllable = 0xAC00
	lastSyllable  = 0xD7A3
	syllableBytes = 3
)

// syllableAt decodes the Hangul syllable starting at s[i].
func syllableAt(s string, i int) (rune, bool) {
	if i < 0 || i+syllableBytes > len(s) {
		return 0, false
	}
	c0, c1, c2 := s[i], s[i+1], s[i+2]
	if c0 < 0xEA || c0 > 0xED || c1&0xC0 != 0x80 || c2&0xC0 != 0x80 {
		return 0, false
	}
	r := rune(c0&0x0F)<<12 | rune(c1&0x3F)<<6 | rune(c2&0x3F)
	return r, firstSyllable <= r && r <= lastSyllable
}

// syllableBefore decodes the Hangul syllable that ends at s[i].
func syllableBefore(s string, i int) (rune, bool) {
	return syllableAt(s, i-syllableBytes)
}

// syllableRunStart returns the start of the run of at most max syllables
// that ends at s[e], and the run's length in syllables.
func syllableRunStart(s string, e, max int) (start, n int) {
	for n < max {
		if _, ok := syllableBefore(s, e); !ok {
			break
		}
		e -= syllableBytes
		n++
	}
	return e, n
}

// syllableCount counts the Hangul syllables in s.
func syllableCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if _, ok := syllableAt(s, i); ok {
			n++
			i += syllableBytes - 1
		}
	}
	return n
}

// syllableSet is a bitset over all 11,172 Hangul syllables.
type syllableSet [(lastSyllable - firstSyllable + 64) / 64]uint64

func newSyllableSet(list string) *syllableSet {
	var set syllableSet
	for _, r := range list {
		if firstSyllable <= r && r <= lastSyllable {
			k := r - firstSyllable
			set[k/64] |= 1 << (k % 64)
		}
	}
	return &set
}

func (set *syllableSet) has(r rune) bool {
	if r < firstSyllable || r > lastSyllable {
		return false
	}
	k := r - firstSyllable
	return set[k/64]&(1<<(k%64)) != 0
}

func newWordSet(words []string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

// personTrigger says which suffix word found a candidate name before it;
// each has its own typical false positives. Names after a cue word (성명:,
// 주무관, 신청인) are found by onCue.
type personTrigger uint8

const (
	trigSsi     personTrigger = iota // 김철수 씨
	trigNim                          // 김철수님, 황보 윤서 귀하
	trigOfficer                      // 김철수 주무관
)

// onHangul checks the context words that announce a person's name, for
// the syllable r at s[i]. The main loop calls it only for the
// triggerSyllables.
func (sc *scanner) onHangul(i int, r rune) {
	s := sc.s
	switch r {
	case '씨':
		if suffixEndsWord(s, i+syllableBytes) {
			sc.personBefore(i, trigSsi)
		}
	case '님':
		if suffixEndsWord(s, i+syllableBytes) {
			sc.personBefore(i, trigNim)
			sc.titleBeforeNim(i)
		}
	case '외':
		sc.nameBeforeOthers(i)
		return
	case '세':
		sc.onAge(i)
		return
	case '인':
		// 홍길동 (인), 홍길동 (서명 또는 인): a signature.
		if i > 0 && i+syllableBytes < len(s) && s[i+syllableBytes] == ')' {
			if s[i-1] == '(' {
				sc.nameBeforeMark(i - 1)
			} else if strings.HasSuffix(s[:i], "(서명 또는 ") {
				sc.nameBeforeMark(i - len("(서명 또는 "))
			}
		}
	case '하':
		// 수신 황보 윤서 귀하: the form of address of a letter.
		if strings.HasSuffix(s[:i], " 귀") && suffixEndsWord(s, i+syllableBytes) {
			sc.personBefore(i-3, trigNim)
		}
		return
	case '관':
		if strings.HasSuffix(s[:i], "주무") && suffixEndsWord(s, i+syllableBytes) {
			sc.personBefore(i-6, trigOfficer)
		}
	case '명':
		if i+syllableBytes < len(s) && s[i+syllableBytes] == ')' && strings.HasSuffix(s[:i], "(서") {
			sc.nameBeforeMark(i - len("(서"))
			return
		}
		// 성    명: a label spread over the width of its field.
		if a, ok := spacedLabelStart(s, i); ok {
			sc.nameAfterCue(a, i+syllableBytes, personCue{word: "성명", kind: cueLabel})
			return
		}
	}
	sc.onCue(i, r)
}

// spacedLabelStart finds 성 before the 명 at s[i] with only spaces between
// them, the way forms spread a short label over its field (성    명:).
func spacedLabelStart(s string, i int) (int, bool) {
	k := i
	for k > 0 && i-k < 8 && s[k-1] == ' ' {
		k--
	}
	if k == i || !strings.HasSuffix(s[:k], "성") || !wordStartAt(s, k-syllableBytes) {
		return 0, false
	}
	return k - syllableBytes, true
}

// suffixEndsWord reports whether a suffix such as 씨 ending at s[i] ends
// its word, perhaps followed by a particle (씨는, 님께서, 님들), rather than
// starting another word (씨앗, 씨알).
func suffixEndsWord(s string, i int) bool {
	r, ok := syllableAt(s, i)
	return !ok || particleStart(r)
}

// suffixSyllables start or end the words after a name (씨, 님, 귀하, 외
// N명, (인), (45세)); onHangul looks at each of them.
var suffixSyllables = newSyllableSet(suffixTriggers)

const suffixTriggers = "씨님하관명외인세"

// cueMayEndAt reports whether a cue word that ends before s[p] may be
// followed by a name or stand after one: a boundary (see cueBoundary) or
// an animate particle (에게, 께, 한테) follows. It is the main loop's test
// before onHangul for the last syllables of cue words, which end most
// Korean words in 자, 인 or 장.
func cueMayEndAt(s string, p int) bool {
	if p+2 >= len(s) {
		return p < len(s)
	}
	switch s[p] {
	case 0xEC: // 에
		return s[p+1] == 0x97 && s[p+2] == 0x90
	case 0xEA: // 께
		return s[p+1] == 0xBB && s[p+2] == 0x98
	case 0xED: // 한
		return s[p+1] == 0x95 && s[p+2] == 0x9C
	}
	return cueBoundary(s, p)
}

// triggerSyllables are the syllables that onHangul handles: the
// suffixSyllables and the last syllable of every cue word.
var triggerSyllables = func() *syllableSet {
	list := []rune(suffixTriggers)
	for _, c := range personCues {
		r, _ := utf8.DecodeLastRuneInString(c.word)
		list = append(list, r)
	}
	for _, w := range familyHanja {
		r, _ := utf8.DecodeRuneInString(w)
		list = append(list, r)
	}
	return newSyllableSet(string(list))
}()

// triggerTail marks the low 12 bits of each trigger syllable, the
// payload of its last two UTF-8 bytes: one table lookup that lets nearly
// all syllables pass without being decoded.
var triggerTail = func() (t [1 << 12]bool) {
	for r := rune(firstSyllable); r <= lastSyllable; r++ {
		if triggerSyllables.has(r) {
			t[r&0xFFF] = true
		}
	}
	return t
}()

// wordStartAt reports whether no syllable is glued before s[i], so that
// 공동성명 or 민원인 inside a longer word is not taken for a label.
func wordStartAt(s string, i int) bool {
	_, ok := syllableBefore(s, i)
	return !ok
}

// personBefore looks for a name ending just before the suffix word that
// starts at s[t] (씨, 님, 주무관), attached or after one space.
func (sc *scanner) personBefore(t int, trig personTrigger) {
	s := sc.s
	e := t
	attached := true
	if e > 0 && s[e-1] == ' ' {
		e--
		attached = false
	}
	if trig == trigSsi && e > 0 && s[e-1] == ')' {
		// 홍길동(45)씨, 김모(33·회사원) 씨: news and police reports put the
		// age between the name and 씨.
		k := strings.LastIndexByte(s[max(0, e-32):e], '(')
		if k < 0 {
			return
		}
		e, attached = max(0, e-32)+k, false
	}
	a, n := syllableRunStart(s, e, 5)
	if (n == 1 || n == 2) && a > 2*syllableBytes && s[a-1] == ' ' {
		// 황보 윤서 귀하, 선우 다인 님: a compound surname written apart.
		if sa, sn := syllableRunStart(s, a-1, 3); sn == 2 && isCompoundSurname(s[sa:a-1]) {
			sc.add(sa, e, PERSON, false)
			return
		}
	}
	if n == 1 && trig == trigSsi {
		// 박씨, 김 씨, 박(45)씨: a surname alone still points at one person
		// in the story. The span runs to the end of 씨, because the surname
		// alone (이, 정, 한) is also an ordinary syllable, and every
		// occurrence of a detected value is masked.
		if r, _ := syllableBefore(s, e); sc.d.surnames.has(r) && !sc.d.ssiNounFinal.has(r) {
			sc.add(a, t+len("씨"), PERSON, false)
		}
		return
	}
	if n < 2 || n > 4 {
		return // no name, or the suffix ends a longer word (아주머니씨)
	}
	last, _ := syllableBefore(s, e)
	d := sc.d
	switch trig {
	case trigSsi:
		if attached && d.ssiNounFinal.has(last) {
			return // 날씨, 솜씨, 마음씨
		}
	case trigOfficer:
		if d.deptFinal.has(last) {
			return // 주택과 주무관, 국토부 주무관
		}
	}
	if d.nameOK(s[a:e], n, trig) {
		sc.add(a, e, PERSON, false)
	}
}

// nameOK checks a candidate of n syllables: a known surname and one or two
// given-name syllables (two surname syllables for 남궁, 황보, ...), a
// final syllable that given names do not use, and the stop list.
func (d *Detector) nameOK(name string, n int, trig personTrigger) bool {
	compound := n >= 3 && isCompoundSurname(name[:2*syllableBytes])
	switch {
	case n == 4 && !compound, n > 4:
		return false
	case trig == trigNim || trig == trigOfficer:
		// The 2-syllable case (surname + one syllable) mostly matches
		// common nouns here (부모님, 민원인 주소, 나온 주무관); require a
		// full name.
		if n == 2 || (n == 3 && compound) {
			return false
		}
	}
	first, _ := syllableAt(name, 0)
	if !compound && !d.surnames.has(first) {
		return false
	}
	last, _ := syllableBefore(name, len(name))
	if d.nonNameFinal.has(last) && !givenNameFinal(name, n, last) {
		return false
	}
	if trig == trigNim && d.titleFinal.has(last) {
		return false // 변호사님
	}
	if _, stop := d.personStop[name]; stop {
		return false
	}
	if n == 3 && particleStart(last) {
		// 담당 경찰은: a role word and a particle, not 경찰은 the name.
		if _, stop := d.personStop[name[:2*syllableBytes]]; stop {
			return false
		}
	}
	// A name that is part of a tag would reappear in masked output.
	return !inAnyTag(name)
}

// givenNameFinal admits 서 as the end of a full name (김민서, 이윤서,
// 박은서: among the commonest girls' names) after the syllables that
// given names put before it, and so not in 경찰서, 신청서, 진술서 or the
// connectives 에서, 해서.
func givenNameFinal(name string, n int, last rune) bool {
	if last != '서' || n < 3 {
		return false
	}
	prev, _ := syllableBefore(name, len(name)-syllableBytes)
	return strings.ContainsRune(seoNameSyllables, prev)
}

// seoNameSyllables come before 서 in given names: 민서, 윤서, 은서, 예서.
const seoNameSyllables = "민윤은예채연유수하다아태도주시혜현준승효나가인보재희규리라우"

func inAnyTag(name string) bool {
	for _, t := range allTypes {
		if strings.Contains(t.Tag(), name) {
			return true
		}
	}
	return false
}

func isCompoundSurname(two string) bool {
	switch two {
	case "남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방":
		return true
	}
	return false
}

// particleStart lists syllables that begin a particle or copula after a
// name: 김철수는, 김철수에게, 김철수입니다.
func particleStart(r rune) bool {
	return strings.ContainsRune("은는이가을를의에께과와도만님씨입로으한랑하까부들처", r)
}

// tryAddress detects an address that ends in the number starting at s[i]:
// one or more administrative units (시/도, 시/군/구, 읍/면), then a
// road name (…로, …길, …번길, perhaps 지하) or a lot's 동/리 (perhaps 산),
// then the building or lot number, optionally followed by 101동 1203호
// and a (진안동) note. Without administrative units the road or lot must
// be unambiguous; see standaloneAddress.
func (sc *scanner) tryAddress(i int) {
	s := sc.s
	e := i
	if e > 0 && s[e-1] == ' ' {
		e--
	}
	// 세종대로 지하 2 (an underground building), 왕산리 산 12-3 (a lot on a
	// mountain): a marker word between the place name and the number.
	marker := ""
	for _, m := range [...]string{"지하", "산"} {
		k := e - len(m)
		if strings.HasSuffix(s[:e], m) && k > 0 && s[k-1] == ' ' {
			marker, e = m, k-1
			break
		}
	}
	last, ok := syllableBefore(s, e)
	if !ok {
		return
	}
	lot := false
	switch last {
	case '로', '길':
	case '동', '리', '가':
		lot = true
	default:
		return
	}
	if (marker == "산" && !lot) || (marker == "지하" && lot) {
		return // 산 goes with lots, 지하 with roads
	}
	tokStart, ok := sc.placeToken(e, lot)
	if !ok {
		return
	}
	start, units := sc.adminUnits(tokStart)
	end := digitRun(s, i)
	if end-i > 5 {
		return
	}
	hyphen := false
	if end+1 < len(s) && s[end] == '-' && isDigit(s[end+1]) {
		if e2 := digitRun(s, end+1); e2-end-1 <= 4 {
			end, hyphen = e2, true
		}
	}
	bunji := false
	if lot && strings.HasPrefix(s[end:], "번지") {
		end += len("번지")
		bunji = true
	}
	if !addressNumberEnd(s, end) {
		return
	}
	full := addressDetail(s, end)
	if units == 0 {
		a := addressEvidence{tok: s[tokStart:e], lot: lot, marker: marker != "", hyphen: hyphen,
			bunji: bunji, detail: full > end, digits: digitRun(s, i) - i}
		if !sc.standaloneAddress(tokStart, a) {
			return
		}
	}
	sc.add(start, full, ADDRESS, false)
}

// addressEvidence is what a road or lot without administrative units
// offers for being an address.
type addressEvidence struct {
	tok    string // the road or lot name (테헤란로, 도곡로 18길, 역삼동)
	lot    bool
	marker bool // 지하 or 산 before the number
	hyphen bool // 988-10, 123-4
	bunji  bool // 123번지
	detail bool // 101동 1203호, 3층, (진안동) after the number
	digits int  // of the (first) number
}

// standaloneAddress decides whether a road or lot name without
// administrative units is an address. Everyday nouns take the particle
// 로 (학교로, 서울로), so a name in 로 alone is not enough; what is:
//
//   - an address word before it (주소, 거주지, 소재지);
//   - a number in the name (도곡로18길, 까치고개로208번길, 도곡로 18길);
//   - 지하 or 산, a hyphenated number (988-10), 번지, or a unit (101동
//     1203호) after it;
//   - a name of three or more syllables in 로 after a final consonant
//     other than ㄹ (테헤란로, 판교역로). After such a syllable the particle
//     is 으로, so X로 can only be a name. Names in 대로 do not count alone:
//     대로 is also the bound noun "as" (규정대로, 상대로 1심).
func (sc *scanner) standaloneAddress(tokStart int, a addressEvidence) bool {
	if a.digits > 4 {
		return false // building and lot numbers have at most four digits
	}
	if contextBefore(sc.s, tokStart, longWindow, addressWords) {
		return true
	}
	n := syllableCount(a.tok)
	hasDigit := strings.IndexFunc(a.tok, func(r rune) bool { return '0' <= r && r <= '9' }) >= 0
	switch {
	case a.marker, a.bunji, a.detail:
		return true
	case a.lot:
		return a.hyphen && n >= 3
	case hasDigit:
		return true
	case a.hyphen && n >= 3:
		return true
	case n < 3 || !strings.HasSuffix(a.tok, "로"):
		return false
	}
	before, _ := syllableBefore(a.tok, len(a.tok)-syllableBytes)
	final := (before - firstSyllable) % 28
	return final != 0 && final != jongseongRieul
}

// jongseongRieul is the index of the final consonant ㄹ in a syllable.
const jongseongRieul = 8

// placeToken validates the road or lot token that ends at s[e] and returns
// its start. A token of syllables and digits (까치고개로208번길, 신림1동)
// is one token; "효원로 12번길" is two.
func (sc *scanner) placeToken(e int, lot bool) (int, bool) {
	s := sc.s
	a, hasDigit := e, false
	for a > 0 && e-a < 60 {
		if isDigit(s[a-1]) {
			a--
			hasDigit = true
			continue
		}
		if _, ok := syllableBefore(s, a); ok {
			a -= syllableBytes
			continue
		}
		break
	}
	tok := s[a:e]
	if isDigit(s[a]) {
		// "12번길" written apart from its road name.
		if lot || !strings.HasSuffix(tok, "길") || a < 1 || s[a-1] != ' ' {
			return 0, false
		}
		if r, ok := syllableBefore(s, a-1); !ok || (r != '로' && r != '길') {
			return 0, false
		}
		return sc.placeToken(a-1, false)
	}
	if syllableCount(tok) < 2 {
		return 0, false
	}
	d := sc.d
	if lot {
		if _, stop := d.lotStop[tok]; stop && !sc.lotAfterUnits(a, e) {
			return 0, false
		}
		if strings.HasSuffix(tok, "가") && !hasDigit {
			return 0, false // 국가, 평가; only 종로3가 style names end in 가
		}
		return a, true
	}
	if strings.HasSuffix(tok, "으로") {
		return 0, false // the particle (으)로, not a road
	}
	if _, stop := d.roadStop[tok]; stop {
		return 0, false
	}
	return a, true
}

// lotAfterUnits reports whether the lot name s[a:e], one of the words
// that also end in 동 or 리 (연동, 이동, 유리), follows an administrative
// unit and precedes a hyphenated lot number or 번지: 제주시 연동 312-8.
func (sc *scanner) lotAfterUnits(a, e int) bool {
	s := sc.s
	if _, units := sc.adminUnits(a); units == 0 || e+1 >= len(s) || s[e] != ' ' {
		return false
	}
	n := digitRun(s, e+1)
	return n > e+1 && (strings.HasPrefix(s[n:], "번지") || (n+1 < len(s) && s[n] == '-' && isDigit(s[n+1])))
}

// adminUnits extends start backwards over administrative-unit words, each
// separated by one space, and returns the new start and their count.
func (sc *scanner) adminUnits(start int) (int, int) {
	s := sc.s
	units := 0
	for units < 4 && start > 0 && s[start-1] == ' ' {
		b, n := syllableRunStart(s, start-1, 8)
		if n < 2 || (b > 0 && isWordByte(s[b-1])) || !sc.d.isAdminUnit(s[b:start-1]) {
			break
		}
		start = b
		units++
	}
	return start, units
}

func (d *Detector) isAdminUnit(tok string) bool {
	if _, ok := d.provinceShort[tok]; ok {
		return true
	}
	if _, stop := d.adminStop[tok]; stop {
		return false
	}
	last, _ := syllableBefore(tok, len(tok))
	switch last {
	case '시', '군', '구', '읍', '면':
		return true
	case '도':
		return strings.HasSuffix(tok, "특별자치도") || isProvince(tok)
	}
	return false
}

func isProvince(tok string) bool {
	switch tok {
	case "경기도", "강원도", "충청북도", "충청남도", "전라북도", "전라남도",
		"경상북도", "경상남도", "제주도":
		return true
	}
	return false
}

// addressNumberEnd rejects numbers that continue into a unit or a counter
// (테헤란로 2019년, 3번 출구) but allows particles (123에, 12-3의).
func addressNumberEnd(s string, end int) bool {
	if end >= len(s) {
		return true
	}
	c := s[end]
	if isWordByte(c) || c == '%' || ((c == '-' || c == '.') && end+1 < len(s) && isDigit(s[end+1])) {
		return false
	}
	r, ok := syllableAt(s, end)
	if !ok {
		return true
	}
	// 가 is left out: 소양로2가 and 봉래동2가 are place names. 입 is for
	// 입니다.
	return strings.ContainsRune("에의은는이을를와과로으까부도입", r)
}

// addressDetail extends an address over the unit (101동 1203호, 3층,
// 지하1층) and a parenthesised neighbourhood note such as (진안동).
func addressDetail(s string, end int) int {
	for k := 0; k < 3; k++ {
		p := end
		if p < len(s) && s[p] == ',' {
			p++
		}
		if p < len(s) && s[p] == ' ' {
			p++
		}
		// 지하1층, 지하 1층: a basement floor.
		basement := false
		if strings.HasPrefix(s[p:], "지하") {
			p += len("지하")
			if p < len(s) && s[p] == ' ' {
				p++
			}
			basement = true
		}
		e := digitRun(s, p)
		if e == p || e-p > 5 {
			break
		}
		r, ok := syllableAt(s, e)
		if !ok || (r != '동' && r != '호' && r != '층') || (basement && r != '층') {
			break
		}
		end = e + syllableBytes
	}
	p := end
	if p < len(s) && s[p] == ' ' {
		p++
	}
	if p >= len(s) || s[p] != '(' {
		return end
	}
	c := strings.IndexByte(s[p:min(len(s), p+64)], ')')
	if c < 2 {
		return end
	}
	inner := s[p+1 : p+c]
	first := inner
	if k := strings.IndexAny(inner, ", "); k >= 0 {
		first = inner[:k]
	}
	if r, ok := syllableBefore(first, len(first)); !ok || (r != '동' && r != '리' && r != '가') {
		return end
	}
	for k := 0; k < len(inner); {
		if _, ok := syllableAt(inner, k); ok {
			k += syllableBytes
			continue
		}
		if c := inner[k]; isDigit(c) || c == ' ' || c == ',' {
			k++
			continue
		}
		return end
	}
	return p + c + 1
}
