package pii

import (
	"slices"
	"strings"
)

// Official documents list people in tables: a heading line names the
// columns (연번  성명  생년월일  주소) and each row below holds one person.
// Such a name has no cue of its own; its column heading is the label.
// Columns are told apart by '|' where the heading has one, otherwise by
// runs of two or more spaces, the way plain-text tables are aligned.

// cellSpan is one cell of a table line, s[a:e], without its padding.
type cellSpan struct{ a, e int }

// lineBounds returns the start and end (before '\n') of the line around
// s[i], or false for a line longer than maxTableLine: such a line is no
// table row, and the bound keeps every lookup short.
func lineBounds(s string, i int) (a, e int, ok bool) {
	lo := max(0, i-maxTableLine)
	k := strings.LastIndexByte(s[lo:i], '\n')
	if k < 0 && lo > 0 {
		return 0, 0, false
	}
	a = lo + k + 1
	hi := min(len(s), a+maxTableLine)
	k = strings.IndexByte(s[i:hi], '\n')
	if k < 0 {
		if hi < len(s) {
			return 0, 0, false
		}
		return a, len(s), true
	}
	return a, i + k, true
}

// maxTableLine bounds the length of a table line, in bytes.
const maxTableLine = 1024

// splitCells splits the line s[a:e] into cells.
func splitCells(s string, a, e int, pipe bool) []cellSpan {
	var cells []cellSpan
	if pipe {
		for p := a; p <= e; {
			k, w := nextPipe(s[p:e])
			q := e
			if k >= 0 {
				q = p + k
			}
			if c, ok := trimCell(s, p, q); ok {
				cells = append(cells, c)
			} else if k >= 0 && p > a {
				cells = append(cells, cellSpan{p, p}) // an empty cell keeps its place
			}
			p = q + w
		}
		return cells
	}
	for p := a; p < e; {
		for p < e && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		if p == e {
			break
		}
		q := p
		for q < e && s[q] != '\t' && !strings.HasPrefix(s[q:e], "  ") {
			q++
		}
		cells = append(cells, cellSpan{p, q})
		p = q
	}
	return cells
}

// nextPipe finds the next column bar in s, '|' or the box-drawing '│',
// and returns its offset (-1 if none) and width.
func nextPipe(s string) (int, int) {
	k := strings.IndexByte(s, '|')
	if b := strings.Index(s, "│"); b >= 0 && (k < 0 || b < k) {
		return b, len("│")
	}
	return k, 1
}

// hasPipe reports whether a table line separates its columns with bars.
func hasPipe(line string) bool {
	k, _ := nextPipe(line)
	return k >= 0
}

func trimCell(s string, a, e int) (cellSpan, bool) {
	for a < e && (s[a] == ' ' || s[a] == '\t') {
		a++
	}
	for e > a && (s[e-1] == ' ' || s[e-1] == '\t' || s[e-1] == '\r') {
		e--
	}
	return cellSpan{a, e}, e > a
}

// tableHeader reports whether the cue s[a:p] heads a column: it fills a
// cell (perhaps with a qualifier, 성명(영문)) of a line of at least three
// cells, and the next line is a rule (----), or the line has no digit (as
// headings have no values) and the next one about as many cells. A form line such as
// "성명  홍길동  관계  배우자" looks the same but is followed by other
// fields, with fewer cells.
func (sc *scanner) tableHeader(a, p int) bool {
	s := sc.s
	if !cellStartAt(s, a) || !cellEndAt(s, p) {
		return false
	}
	if a < sc.tableEnd {
		return false // a row of a table already read
	}
	ls, le, ok := lineBounds(s, a)
	if !ok || le >= len(s) {
		return false
	}
	pipe := hasPipe(s[ls:le])
	cells := splitCells(s, ls, le, pipe)
	if len(cells) < 3 || !slices.ContainsFunc(cells, func(c cellSpan) bool { return c.a == a }) {
		return false
	}
	na, ne, ok := lineBounds(s, le+1)
	if !ok {
		return false
	}
	if isRuleLine(strings.TrimSpace(s[na:ne])) {
		return true // a rule settles it, even for headings with digits (1차 점수)
	}
	n := len(splitCells(s, na, ne, pipe))
	return !hasDigit(s[ls:le]) && n >= 3 && n >= len(cells)-1
}

// cellStartAt reports whether a cell of a table line may start at s[a]:
// at the line start or after a '|', a tab or two spaces.
func cellStartAt(s string, a int) bool {
	k := a
	for k > 0 && s[k-1] == ' ' {
		k--
	}
	return k == 0 || a-k >= 2 || s[k-1] == '\n' || s[k-1] == '|' || s[k-1] == '\t' || strings.HasSuffix(s[:k], "│")
}

// cellEndAt is cellStartAt for the end of a heading at s[p], which may
// carry a qualifier in brackets: 성명(영문).
func cellEndAt(s string, p int) bool {
	if p < len(s) && s[p] == '(' {
		k := strings.IndexByte(s[p:min(len(s), p+40)], ')')
		if k < 0 {
			return false
		}
		p += k + 1
	}
	if p >= len(s) {
		return true
	}
	k := p
	for k < len(s) && s[k] == ' ' {
		k++
	}
	return k == len(s) || k-p >= 2 || s[k] == '\n' || s[k] == '\r' || s[k] == '|' || s[k] == '\t' ||
		strings.HasPrefix(s[k:], "│")
}

func hasDigit(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return '0' <= r && r <= '9' }) >= 0
}

// headingType says what a table column holds, judged by its heading:
// PERSON for names, BIRTH_DATE for dates of birth, the type of an
// identifier its heading names (주민등록번호, 여권번호), or "" for anything
// else. Spaces inside a heading are ignored (성 명, 한글 표기), and so is a
// qualifier after it (성명(영문)); a heading that ends in 성명 or 이름
// (보호자 성명) heads names as well.
func headingType(h string) Type {
	h = strings.ReplaceAll(h, " ", "")
	if k := strings.IndexByte(h, '('); k > 0 {
		h = h[:k]
	}
	if strings.HasSuffix(h, "성명") || strings.HasSuffix(h, "이름") || slices.Contains(tableNameHeadings, h) {
		return PERSON
	}
	for _, w := range birthLabels[:3] { // 생년월일, 생일, 출생일
		if strings.HasPrefix(h, w) {
			return BIRTH_DATE
		}
	}
	for _, c := range numberHeadings {
		if strings.HasSuffix(h, c.heading) {
			return c.typ
		}
	}
	return ""
}

// table reads the rows under the heading line that holds the cue s[a:p]
// and detects the names, birth dates and identifiers in their columns. A table with a
// rule under its heading (----) is certainly one, so its name cells may
// hold short or foreign names (김별, 왕샤오리); without a rule, only names
// that pass the usual checks count.
func (sc *scanner) table(a, p int) {
	s := sc.s
	ls, le, _ := lineBounds(s, a)
	sc.tableEnd = le
	pipe := hasPipe(s[ls:le])
	heads := splitCells(s, ls, le, pipe)
	kinds := make([]Type, len(heads))
	for k, h := range heads {
		kinds[k] = headingType(s[h.a:h.e])
	}
	ruled := false
	for row, at := 0, le+1; row < maxTableRows && at < len(s); row++ {
		ra, re, ok := lineBounds(s, at)
		if !ok {
			return
		}
		sc.tableEnd, at = re, re+1
		line := strings.TrimSpace(s[ra:re])
		if line == "" {
			return // a blank line ends the table
		}
		if isRuleLine(line) {
			ruled = ruled || row == 0
			continue
		}
		cells := splitCells(s, ra, re, pipe)
		if len(cells) < 2 {
			return // a note under the table (※ ...)
		}
		for k := 0; k < len(cells) && k < len(kinds); k++ {
			c := cells[k]
			switch kinds[k] {
			case "":
			case PERSON:
				// PEREZ MARIA 1990-01-01: a long name may leave a single
				// space before the next column, which then starts there.
				if e := sc.nameInCell(c, ruled); e < c.e && s[e] == ' ' {
					cells[k].e = e
					cells = slices.Insert(cells, k+1, cellSpan{e + 1, c.e})
				}
			case BIRTH_DATE:
				sc.birthInCell(c)
			default:
				sc.numberInCell(c, kinds[k])
			}
		}
	}
}

// maxTableRows bounds the work one heading can cause.
const maxTableRows = 200

// isRuleLine reports whether a line only draws a rule: ----, |---|---|,
// ─────.
func isRuleLine(line string) bool {
	return strings.Trim(line, " -=|+:─━│├┼┤┌┐└┘┬┴") == "" && strings.ContainsAny(line, "-=─━")
}

// nameInCell detects the name that fills a cell of a name column: in
// Latin letters (PEREZ MARIA, also where the next column follows after a
// single space), as a Korean name, or, in a ruled table, as a foreign
// name in Hangul.
// It returns the end of the name, or of the cell when there is none.
func (sc *scanner) nameInCell(c cellSpan, ruled bool) int {
	s := sc.s
	if e, n := latinNameAt(s, c.a); n >= 2 {
		if e == c.e || s[e] == '(' || (s[e] == ' ' && e+1 < len(s) && isDigit(s[e+1])) {
			sc.add(c.a, e, PERSON, false)
			sc.aliasAfter(c.a, e)
			return e
		}
		return c.e
	}
	f := nameField{kind: cueLabel, strongLeft: ruled}
	if e, ok := sc.koreanNameAt(c.a, f); ok && (e == c.e || s[e] == '(') {
		sc.add(c.a, e, PERSON, false)
		return e
	}
	if !ruled {
		return c.e
	}
	if e, words := sc.d.hangulPhraseAt(s, c.a); e == c.e && (words > 1 || syllableCount(s[c.a:e]) >= 3) {
		sc.add(c.a, e, PERSON, false)
	}
	return c.e
}

// birthInCell detects a date of birth in a cell of a 생년월일 column: a
// full date, or a registration number whose serial is masked
// (950302-2******), which then shows the birth date only. A complete
// registration number stays one.
func (sc *scanner) birthInCell(c cellSpan) {
	s := sc.s
	if end, ok := dateAt(s, c.a); ok && end <= c.e {
		sc.addLabelled(c.a, end, BIRTH_DATE)
		return
	}
	if digitsAt(s, c.a, 6) && c.a+14 <= c.e && s[c.a+6] == '-' && digitsAt(s, c.a+7, 1) && maskedAt(s, c.a+8, 6) {
		sc.addLabelled(c.a, c.a+14, BIRTH_DATE)
	}
}

// numberInCell takes the identifier at the start of a cell under a heading
// that names its type (주민등록번호, 여권번호): the heading is its label, so
// no checksum or format is asked for; see labelBefore. A registration
// number of a foreigner (its seventh digit 5 to 8) is an FRN even under
// 주민등록번호.
func (sc *scanner) numberInCell(c cellSpan, t Type) {
	s := sc.s
	e, digits := c.a, 0
	for e < c.e && (isDigit(s[e]) || isASCIILetter(s[e]) || s[e] == '-' || s[e] == '*') {
		if isDigit(s[e]) {
			digits++
		}
		e++
	}
	for e > c.a && s[e-1] == '-' {
		e--
	}
	if e-c.a < 6 || digits < 4 || (e < c.e && s[e] != ' ' && s[e] != '(') || isPlaceholder(s[c.a:e]) {
		return
	}
	if (t == RRN || t == FRN) && e-c.a == 14 && s[c.a+6] == '-' {
		if _, foreign, _ := rrnCentury(s[c.a+7]); foreign {
			t = FRN
		} else {
			t = RRN
		}
	}
	sc.addLabelled(c.a, e, t)
}
