package pii

import (
	"net/netip"
	"strings"
)

// onDigit runs the number parsers where a number starts and returns the
// end of the digit run, so that no parser restarts inside a number.
func (sc *scanner) onDigit(i int) int {
	s := sc.s
	end := digitRun(s, i)
	if !atNumberStart(s, i) {
		if i > 0 && (isASCIILetter(s[i-1]) || s[i-1] == '_') {
			sc.onGlued(i)
		}
		return end
	}
	// Each parser wants its first digit group to have certain lengths;
	// checking them here keeps the common short numbers (years, counts,
	// amounts) away from most parsers.
	n := end - i
	next := byte(0)
	if end < len(s) {
		next = s[end]
	}
	if n == 6 || n == 13 {
		sc.tryRRN(i)
	}
	if s[i] == '0' || n == 3 || n == 4 {
		sc.tryPhone(i)
	}
	if n == 4 || n == 15 || n == 16 {
		sc.tryCard(i)
	}
	if n == 3 || n == 10 {
		sc.tryBusinessReg(i)
	}
	if n >= 10 && n <= 14 || next == '-' && n <= 6 {
		sc.tryAccount(i)
	}
	if n == 2 || n == 12 {
		sc.tryDriverLicense(i)
	}
	if n == 2 || n == 3 {
		sc.tryVehicle(i)
	}
	if n >= 7 && n <= 9 {
		sc.tryForeignPassport(i)
	}
	if n == 2 || n == 4 || n == 6 || n == 8 {
		sc.tryBirthDate(i)
	}
	if n <= 3 && next == '.' {
		sc.tryIPv4(i)
	}
	if n <= 5 {
		sc.tryAddress(i)
	}
	return end
}

// tryRRN detects 주민등록번호 and 외국인등록번호: YYMMDD-GNNNNNN with or
// without the hyphen. G (1-8, or 9/0 for people born in the 1800s) fixes
// the century, so the birth date must be a real calendar date; 5-8 mark a
// foreigner. The check digit is not required because numbers issued since
// October 2020 have a random serial; a valid one only raises confidence.
// A hyphenated number whose serial after G is masked (900101-1******)
// still reveals birth date and sex and is detected too.
func (sc *scanner) tryRRN(i int) {
	s := sc.s
	if !digitsAt(s, i, 6) {
		return
	}
	j := i + 6
	hyphen := j < len(s) && s[j] == '-'
	if hyphen {
		j++
	}
	end := j + 7
	masked := false
	switch {
	case digitsAt(s, j, 7):
	case hyphen && digitsAt(s, j, 1) && maskedAt(s, j+1, 6):
		masked = true
	default:
		return
	}
	if !atNumberEnd(s, end) {
		return
	}
	century, foreign, _ := rrnCentury(s[j])
	year := century + int(s[i]-'0')*10 + int(s[i+1]-'0')
	month := int(s[i+2]-'0')*10 + int(s[i+3]-'0')
	day := int(s[i+4]-'0')*10 + int(s[i+5]-'0')
	if !validDate(year, month, day) {
		// 주민등록번호: 901301-1234567 is a mistyped number, but still the
		// person's; see labelBefore.
		if labelledAs(s, i, end, frnLabels) {
			sc.addLabelled(i, end, FRN)
		} else if labelledAs(s, i, end, rrnLabels) {
			sc.addLabelled(i, end, RRN)
		}
		return
	}
	if masked && ownContextBefore(s, i, shortWindow, birthLabels, true) {
		// 생년월일 950302-2******: with the serial hidden, what is left is
		// the birth date its label names.
		sc.addLabelled(i, end, BIRTH_DATE)
		return
	}
	checked := !masked && rrnCheckDigitOK(s[i:i+6], s[j:j+7])
	// An unverifiable number labelled as some other number (주문번호,
	// 사건번호) is that number; the label alone never overrides a valid
	// check digit.
	if !checked && !masked && (labelledOtherNumber(s, i) || bankBefore(s, i) || bankAfter(s, end)) {
		return
	}
	t := RRN
	if foreign {
		t = FRN
	}
	sc.add(i, end, t, checked)
}

func maskedAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		switch s[k] {
		case '*', 'x', 'X', '#':
		default:
			return false
		}
	}
	return true
}

// rrnCentury maps the gender/century digit G to the birth century.
func rrnCentury(g byte) (century int, foreign, ok bool) {
	switch g {
	case '1', '2':
		return 1900, false, true
	case '3', '4':
		return 2000, false, true
	case '5', '6':
		return 1900, true, true
	case '7', '8':
		return 2000, true, true
	case '9', '0':
		return 1800, false, true
	}
	return 0, false, false
}

func validDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

// rrnCheckDigitOK applies the weights 2..9,2..5 modulo 11 over the first
// twelve digits (birth date plus the first six of the serial).
func rrnCheckDigitOK(birth, serial string) bool {
	weights := [12]int{2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5}
	sum := 0
	for k := 0; k < 6; k++ {
		sum += int(birth[k]-'0') * weights[k]
	}
	for k := 0; k < 6; k++ {
		sum += int(serial[k]-'0') * weights[6+k]
	}
	return (11-sum%11)%10 == int(serial[6]-'0')
}

// labelledOtherNumber reports whether the number at s[i] follows a label
// such as 주문번호 or 사건번호, i.e. a "번호" that is not a registration
// number.
func labelledOtherNumber(s string, i int) bool {
	k := i
	for n := 0; k > 0 && n < 4 && strings.IndexByte(" :([#", s[k-1]) >= 0; n++ {
		k--
	}
	before := s[max(0, k-40):k]
	if !strings.HasSuffix(before, "번호") {
		return false
	}
	if strings.Contains(before, "주민") || strings.Contains(before, "외국인") {
		return false
	}
	// 법인등록번호 110111-5208843: corporate numbers share the shape.
	return strings.HasSuffix(before, "법인등록번호") || strings.HasSuffix(before, "법인번호") ||
		!strings.Contains(before, "등록")
}

// tryPhone detects domestic numbers (0XX...) and 15xx/16xx/18xx
// representative numbers; onPlus handles +82.
func (sc *scanner) tryPhone(i int) {
	s := sc.s
	if s[i] != '0' {
		sc.tryRepresentative(i)
		sc.tryLocalPhone(i)
		return
	}
	if strings.HasPrefix(s[i:], "0082") {
		if end, ok := intlPhone(s, i+4); ok {
			sc.add(i, end, PHONE, false)
		}
		return
	}
	end, paren, ok := nationalPhone(s, i+1)
	if !ok || labelledOtherThan(s, i, phoneLabels...) {
		return
	}
	start := i
	if paren && i > 0 && s[i-1] == '(' { // (02) 123-4567
		start = i - 1
	}
	sc.add(start, end, PHONE, false)
}

// onPlus detects +82 numbers and skips past them.
func (sc *scanner) onPlus(i int) int {
	s := sc.s
	if !strings.HasPrefix(s[i+1:], "82") || (i > 0 && isWordByte(s[i-1])) {
		return i + 1
	}
	end, ok := intlPhone(s, i+3)
	if !ok {
		return i + 1
	}
	sc.add(i, end, PHONE, false)
	return end
}

// intlPhone parses the national part after the +82/0082 country code:
// "+82-10-...", "+82 (0)10-...", and the common mistake "+82 010-...".
func intlPhone(s string, p int) (int, bool) {
	if p < len(s) && isPhoneSep(s[p]) {
		p++
	}
	if strings.HasPrefix(s[p:], "(0)") {
		p += 3
	} else if p < len(s) && s[p] == '0' {
		p++
	}
	end, _, ok := nationalPhone(s, p)
	return end, ok
}

// nationalPhone parses a number after its trunk 0, starting at the area
// or carrier code, and returns the end of the number and whether the code
// was closed by a parenthesis, as in (02)123-4567.
func nationalPhone(s string, p int) (end int, paren, ok bool) {
	if p >= len(s) || !isDigit(s[p]) {
		return 0, false, false
	}
	code, midMin, midMax := 0, 3, 4
	d0 := s[p]
	d1 := byte(0)
	if p+1 < len(s) {
		d1 = s[p+1]
	}
	switch {
	case d0 == '2': // Seoul
		code = 1
	case d0 == '1' && d1 == '0': // 010 numbers always have 4+4 digits
		code, midMin = 2, 4
	case d0 == '1' && (d1 == '1' || ('6' <= d1 && d1 <= '9')): // 011, 016-019
		code = 2
	case d0 == '3' && '1' <= d1 && d1 <= '3',
		d0 == '4' && '1' <= d1 && d1 <= '4',
		d0 == '5' && '1' <= d1 && d1 <= '5',
		d0 == '6' && '1' <= d1 && d1 <= '4':
		code = 2
	case d0 == '7' && d1 == '0', d0 == '8' && d1 == '0': // 070 VoIP, 080 toll-free
		code = 2
	case d0 == '5' && d1 == '0' && p+2 < len(s) && '2' <= s[p+2] && s[p+2] <= '8': // 0502-0508
		code = 3
	default:
		return 0, false, false
	}
	return subscriber(s, p+code, midMin, midMax)
}

// subscriber parses "MID SEP LAST" or the unseparated "MIDLAST" after an
// area code; LAST has four digits.
func subscriber(s string, q, midMin, midMax int) (end int, paren, ok bool) {
	switch {
	case q < len(s) && s[q] == ')':
		paren = true
		q++
		if q < len(s) && s[q] == ' ' {
			q++
		}
	default:
		q += phoneSepLen(s, q)
	}
	a := q
	q = digitRun(s, q)
	n := q - a
	if k := phoneSepLen(s, q); k > 0 && q+k < len(s) && isDigit(s[q+k]) && midMin <= n && n <= midMax {
		b := q + k
		if e := digitRun(s, b); e-b == 4 && atNumberEnd(s, e) {
			return e, paren, true
		}
	}
	// Unseparated, perhaps followed by another number: 01012345678 2월.
	if n < midMin+4 || n > midMax+4 || !atNumberEnd(s, q) {
		return 0, false, false
	}
	return q, paren, true
}

func isPhoneSep(c byte) bool { return c == '-' || c == '.' || c == ' ' }

// phoneSepLen returns the length of the separator at s[q]: one of
// isPhoneSep, or a spaced hyphen (010 - 1234 - 5678); 0 if none.
func phoneSepLen(s string, q int) int {
	switch {
	case strings.HasPrefix(s[q:], " - "):
		return 3
	case q < len(s) && isPhoneSep(s[q]):
		return 1
	}
	return 0
}

// tryRepresentative detects 15xx/16xx/18xx-xxxx numbers. The separator is
// required and the prefix must be an allocated one, because bare 8-digit
// numbers and year ranges (1592-1598) are far more common in prose.
func (sc *scanner) tryRepresentative(i int) {
	s := sc.s
	if !digitsAt(s, i, 4) || i+9 > len(s) || !isPhoneSep(s[i+4]) || !digitsAt(s, i+5, 4) {
		return
	}
	if !atNumberEnd(s, i+9) || !isRepresentativePrefix(s[i:i+4]) {
		return
	}
	if s[i+4] == '-' && isYearRange(s[i:i+4], s[i+5:i+9]) {
		return // 1800-1900 is a period, not a phone number
	}
	sc.add(i, i+9, PHONE, false)
}

// tryLocalPhone detects a number without its area code (123-4567,
// 1234-5678) after a word such as 연락처, 전화 or HP. Without such a word
// the shape is a range, a code or a count far more often. Local exchange
// numbers never start with 0 or 1.
func (sc *scanner) tryLocalPhone(i int) {
	s := sc.s
	if s[i] < '2' {
		return
	}
	e := digitRun(s, i)
	if n := e - i; n < 3 || n > 4 || e+5 > len(s) || (s[e] != '-' && s[e] != '.') ||
		digitRun(s, e+1) != e+5 || !atNumberEnd(s, e+5) {
		return
	}
	if e-i == 4 && isYearRange(s[i:e], s[e+1:e+5]) {
		return
	}
	if !contextBefore(s, i, shortWindow, phoneWords) {
		return
	}
	sc.add(i, e+5, PHONE, false)
}

func isYearRange(from, to string) bool {
	a, b := atoi4(from), atoi4(to)
	return b > a && b-a <= 300 && b <= 2100
}

func atoi4(s string) int {
	return int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
}

func isRepresentativePrefix(p string) bool {
	switch p {
	case "1522", "1533", "1544", "1566", "1577", "1588", "1599",
		"1600", "1644", "1661", "1666", "1668", "1670", "1688",
		"1800", "1811", "1833", "1855", "1877", "1899":
		return true
	}
	return false
}

// tryCard detects payment card numbers: 16 digits as 4-4-4-4 (hyphen or
// space) or unseparated, and 15-digit American Express numbers (4-6-5),
// when the issuer prefix is plausible and the Luhn checksum holds.
func (sc *scanner) tryCard(i int) {
	s := sc.s
	var d [16]byte
	n := 0
	end := digitRun(s, i)
	switch g := end - i; {
	case g == 15 || g == 16:
		n = copy(d[:], s[i:end])
	case g == 4 && end < len(s) && (s[end] == '-' || s[end] == ' '):
		sep := s[end]
		n = copy(d[:], s[i:end])
		for _, want := range [...][3]int{{4, 4, 4}, {6, 5, 0}} {
			m, e, ok := cardGroups(s, end, sep, want, d[4:])
			if ok {
				n, end = 4+m, e
				break
			}
		}
		if n == 4 {
			return
		}
	default:
		return
	}
	if !atNumberEnd(s, end) {
		return
	}
	if !cardPrefixOK(d[:n]) || !luhnOK(d[:n]) {
		if labelledAs(s, i, end, cardLabels) {
			sc.addLabelled(i, end, CARD)
		}
		return
	}
	// One random number in ten passes Luhn, so a label that names another
	// number (주문번호, 송장번호) wins over it.
	if labelledOtherThan(s, i, "카드번호") {
		return
	}
	sc.add(i, end, CARD, true)
}

// cardGroups reads groups of the given lengths (0 ends the list), each
// preceded by sep, into dst.
func cardGroups(s string, p int, sep byte, lens [3]int, dst []byte) (n, end int, ok bool) {
	for _, l := range lens {
		if l == 0 {
			break
		}
		if p >= len(s) || s[p] != sep {
			return 0, 0, false
		}
		p++
		e := digitRun(s, p)
		if e-p != l {
			return 0, 0, false
		}
		n += copy(dst[n:], s[p:e])
		p = e
	}
	return n, p, true
}

func cardPrefixOK(d []byte) bool {
	if len(d) == 15 {
		return d[0] == '3' && (d[1] == '4' || d[1] == '7')
	}
	two := int(d[0]-'0')*10 + int(d[1]-'0')
	four := two*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	switch {
	case d[0] == '4': // Visa
	case two >= 51 && two <= 55, four >= 2221 && four <= 2720: // Mastercard
	case four >= 3528 && four <= 3589: // JCB
	case two == 60, two == 62, two == 64, two == 65: // Discover, UnionPay
	case d[0] == '9': // Korean domestic cards (BC, 국민, ...)
	default:
		return false
	}
	return true
}

func luhnOK(d []byte) bool {
	sum := 0
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k] - '0')
		if (len(d)-1-k)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// tryBusinessReg detects 사업자등록번호 NNN-NN-NNNNN with a valid check
// digit. The unseparated form is ten digits, the same length as many
// phone numbers and ids, and one in ten random numbers passes the check,
// so it is taken only after 사업자.
func (sc *scanner) tryBusinessReg(i int) {
	s := sc.s
	if e := digitRun(s, i); e-i == 10 {
		if !atNumberEnd(s, e) {
			return
		}
		if businessRegOK(digitsOf(s, i, e)) && contextBefore(s, i, longWindow, businessWords) {
			sc.add(i, e, BUSINESS_REG, true)
		} else if labelledAs(s, i, e, businessLabels) {
			sc.addLabelled(i, e, BUSINESS_REG)
		}
		return
	}
	if !digitsAt(s, i, 3) || !strings.HasPrefix(s[i+3:], "-") || !digitsAt(s, i+4, 2) ||
		!strings.HasPrefix(s[i+6:], "-") || !digitsAt(s, i+7, 5) || !atNumberEnd(s, i+12) {
		return
	}
	var d [10]int
	k := 0
	for _, p := range [...]int{i, i + 1, i + 2, i + 4, i + 5, i + 7, i + 8, i + 9, i + 10, i + 11} {
		d[k] = int(s[p] - '0')
		k++
	}
	if !businessRegOK(d) {
		if labelledAs(s, i, i+12, businessLabels) {
			sc.addLabelled(i, i+12, BUSINESS_REG)
		}
		return
	}
	sc.add(i, i+12, BUSINESS_REG, true)
}

func digitsOf(s string, i, e int) (d [10]int) {
	for k := 0; k < 10 && i+k < e; k++ {
		d[k] = int(s[i+k] - '0')
	}
	return d
}

// businessRegOK applies the National Tax Service check: weights
// 1,3,7,1,3,7,1,3,5 plus the tens digit of 5×d9.
func businessRegOK(d [10]int) bool {
	w := [9]int{1, 3, 7, 1, 3, 7, 1, 3, 5}
	sum := 0
	for k := 0; k < 9; k++ {
		sum += d[k] * w[k]
	}
	sum += d[8] * 5 / 10
	return (10-sum%10)%10 == d[9]
}

// tryIPv4 detects dotted-quad addresses with octets 0-255 and no leading
// zeros (010.1.2.3 is more likely a phone fragment than an address).
func (sc *scanner) tryIPv4(i int) {
	s := sc.s
	p := i
	for k := 0; k < 4; k++ {
		if k > 0 {
			if p >= len(s) || s[p] != '.' {
				return
			}
			p++
		}
		e := digitRun(s, p)
		if e == p || e-p > 3 || (e-p > 1 && s[p] == '0') {
			return
		}
		v := 0
		for _, c := range []byte(s[p:e]) {
			v = v*10 + int(c-'0')
		}
		if v > 255 {
			return
		}
		p = e
	}
	if !atNumberEnd(s, p) || p-i == len("1.2.3.4") {
		// Four single digits are list numbering (상위 1.2.3.4번) far more
		// often than an address, and such addresses (1.1.1.1, 8.8.8.8)
		// are public resolvers, not anyone's personal data.
		return
	}
	if isVersionLabel(wordBefore(s, i)) {
		return // 앱 버전 10.2.0.1
	}
	sc.add(i, p, IP, false)
}

func isVersionLabel(w string) bool {
	return strings.HasSuffix(w, "버전") || strings.EqualFold(w, "version") || strings.EqualFold(w, "ver") ||
		strings.HasSuffix(w, "펌웨어")
}

const (
	maxIPv6Len     = 45
	maxEmailLocal  = 64
	maxEmailDomain = 255
)

// onColon detects IPv6 addresses around a colon and skips past them.
func (sc *scanner) onColon(i int) int {
	s := sc.s
	// The longest textual IPv6 address has 45 bytes; the limits keep runs
	// of colons from costing quadratic time.
	a := i
	for a > 0 && i-a <= maxIPv6Len && (isHexByte(s[a-1]) || s[a-1] == ':') {
		a--
	}
	b := i + 1
	for b < len(s) && b-a <= maxIPv6Len && (isHexByte(s[b]) || s[b] == ':' || s[b] == '.') {
		b++
	}
	if b-a > maxIPv6Len {
		return i + 1
	}
	for b > i+1 && s[b-1] == '.' {
		b--
	}
	if (a > 0 && isWordByte(s[a-1])) || (b < len(s) && isWordByte(s[b])) {
		return i + 1
	}
	tok := s[a:b]
	if strings.Count(tok, ":") < 2 || !ipv6Plausible(tok) {
		return i + 1
	}
	addr, err := netip.ParseAddr(tok)
	if err != nil || !addr.Is6() {
		return i + 1
	}
	sc.add(a, b, IP, false)
	return b
}

// ipv6Plausible rejects colon runs that parse as IPv6 but read as times or
// ratios (12::30): it wants a hex letter, a group of three or more digits,
// or five or more colons.
func ipv6Plausible(tok string) bool {
	if strings.Count(tok, ":") >= 5 {
		return true
	}
	run := 0
	for k := 0; k < len(tok); k++ {
		c := tok[k]
		switch {
		case isDigit(c):
			run++
			if run >= 3 {
				return true
			}
		case isHexByte(c):
			return true
		default:
			run = 0
		}
	}
	return false
}

// onAt detects an e-mail address around the '@' at s[at].
func (sc *scanner) onAt(at int) {
	s := sc.s
	ls := at
	for ls > 0 && isLocalByte(s[ls-1]) {
		ls--
		if at-ls > maxEmailLocal {
			return // longer than RFC 5321 allows; also bounds the work
		}
	}
	for ls < at && s[ls] == '.' {
		ls++
	}
	if ls == at {
		return
	}
	p, labels := at+1, 0
	tldStart, tldEnd := 0, 0
	for {
		e := p
		for e < len(s) && (isDigit(s[e]) || isASCIILetter(s[e]) || s[e] == '-') {
			e++
		}
		if e == p || s[p] == '-' || s[e-1] == '-' {
			break
		}
		labels++
		tldStart, tldEnd = p, e
		if e+1 < len(s) && s[e] == '.' && isWordByte(s[e+1]) && e-at < maxEmailDomain {
			p = e + 1
			continue
		}
		break
	}
	if labels < 2 || tldEnd-tldStart < 2 || !allLetters(s[tldStart:tldEnd]) {
		return
	}
	sc.add(ls, tldEnd, EMAIL, false)
}

func isLocalByte(c byte) bool {
	return isWordByte(c) || c == '.' || c == '%' || c == '+' || c == '-'
}

func allLetters(s string) bool {
	for k := 0; k < len(s); k++ {
		if !isASCIILetter(s[k]) {
			return false
		}
	}
	return true
}
