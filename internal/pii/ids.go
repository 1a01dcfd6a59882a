package pii

import "strings"

// Context windows, in bytes before a value; a Hangul syllable takes three.
const (
	// shortWindow fits a label and its punctuation: "생년월일(양력): ",
	// "휴대폰 번호는 ".
	shortWindow = 30
	// longWindow fits a bank and a label before an account number:
	// "환불받을 계좌는 국민은행 ".
	longWindow = 48
)

// contextBefore reports whether one of words occurs in the window bytes
// before s[i]. It is called only after a value's shape has matched, so
// its cost does not reach text without candidates.
func contextBefore(s string, i, window int, words []string) bool {
	w := s[max(0, i-window):i]
	for _, word := range words {
		if strings.Contains(w, word) {
			return true
		}
	}
	return false
}

// ownContextBefore is contextBefore for labels that name one value: the
// window ends at the last digit before s[i], so that in "Passport No.
// G130C6766 모델 M38182807" the label belongs to the first number only.
func ownContextBefore(s string, i, window int, words []string, wordStart bool) bool {
	a := max(0, i-window)
	if k := strings.LastIndexFunc(s[a:i], func(r rune) bool { return '0' <= r && r <= '9' }); k >= 0 {
		a += k + 1
	}
	if wordStart {
		return wordContextBefore(s[:i], i, i-a, words)
	}
	return contextBefore(s, i, i-a, words)
}

// wordContextBefore is contextBefore for words that must start a word:
// 생일 counts, 발생일 does not.
func wordContextBefore(s string, i, window int, words []string) bool {
	a := max(0, i-window)
	w := s[a:i]
	for _, word := range words {
		for off := 0; ; {
			k := strings.Index(w[off:], word)
			if k < 0 {
				break
			}
			if !wordContinues(s, a+off+k) {
				return true
			}
			off += k + len(word)
		}
	}
	return false
}

// wordContinues reports whether s[i] continues a word: a syllable or an
// ASCII letter or digit comes right before it.
func wordContinues(s string, i int) bool {
	if i == 0 {
		return false
	}
	if _, ok := syllableBefore(s, i); ok {
		return true
	}
	return isWordByte(s[i-1])
}

// wordBefore returns the word (Hangul syllables and ASCII letters) that
// ends just before s[i], after skipping a few separators: "계좌번호: " gives
// 계좌번호.
func wordBefore(s string, i int) string {
	k := i
	for n := 0; k > 0 && n < 4 && strings.IndexByte(" :([#.", s[k-1]) >= 0; n++ {
		k--
	}
	if strings.HasSuffix(s[:k], "：") {
		k -= len("：")
	}
	a := k
	for a > 0 && k-a < 30 {
		if isASCIILetter(s[a-1]) {
			a--
			continue
		}
		if _, ok := syllableBefore(s, a); ok {
			a -= syllableBytes
			continue
		}
		break
	}
	return s[a:k]
}

// labelledOtherThan reports whether the word before s[i] is a 번호 label
// other than the ones given (계좌번호, 면허번호): 주문번호 1234567890123 is an
// order number even after 입금.
func labelledOtherThan(s string, i int, own ...string) bool {
	w := wordBefore(s, i)
	if !strings.HasSuffix(w, "번호") || w == "번호" {
		return false // "번호:" or "전화 번호" names nothing else
	}
	for _, o := range own {
		if strings.HasSuffix(w, o) {
			return false
		}
	}
	return true
}

// tryAccount detects a bank account number: a hyphenated group shape that
// a bank prints, or 10-14 plain digits. Account numbers have no public
// checksum and their shapes collide with phone numbers, order numbers and
// ids, so one is taken only after a banking word in the window before it
// or right after a bank's name.
func (sc *scanner) tryAccount(i int) {
	s := sc.s
	var groups [6]uint8
	n, total, p := 0, 0, i
	for {
		e := digitRun(s, p)
		if n == len(groups) {
			return
		}
		groups[n] = uint8(min(e-p, 255))
		n++
		total += e - p
		p = e
		if p+1 < len(s) && s[p] == '-' && isDigit(s[p+1]) {
			p++
			continue
		}
		break
	}
	if total < 10 || total > 14 || !atNumberEnd(s, p) {
		return
	}
	// Right after a bank's name or 계좌번호, the grouping does not matter:
	// virtual accounts (562-091-33810274) and mistyped numbers are printed
	// in shapes of their own.
	if n > 1 && !isAccountShape(groups[:n]) && !accountLabelBefore(s, i) {
		return
	}
	if amountUnitAt(s, p) {
		return // 이체 1000000000원
	}
	if s[i] == '0' {
		if end, _, ok := nationalPhone(s, i+1); ok && end == p {
			return // a phone number, even where money is mentioned
		}
	}
	if !sc.accountContext(i) && !bankAfter(s, p) {
		return
	}
	sc.add(i, p, ACCOUNT, false)
}

// bankAfter reports whether a bank is named right after a number, as in
// "1234567890123(국민은행)" or "110-123-456789 신한은행".
func bankAfter(s string, p int) bool {
	if p < len(s) && (s[p] == ' ' || s[p] == '(') {
		p++
	}
	e := p
	for e < len(s) && e-p < 30 {
		if isASCIILetter(s[e]) {
			e++
			continue
		}
		if _, ok := syllableAt(s, e); ok {
			e += syllableBytes
			continue
		}
		break
	}
	w := s[p:e]
	for _, suf := range [...]string{"은행", "뱅크", "금고"} {
		if strings.Contains(w, suf) {
			return true
		}
	}
	return false
}

// accountShapes are the group lengths that Korean banks print, e.g.
// 3-3-6 신한/케이뱅크/광주, 6-2-6 국민/우체국, 4-2-7 카카오뱅크/새마을금고,
// 3-6-5 하나, 4-3-6 우리, 3-4-4-2 농협/부산, 3-6-2-3 기업, 4-4-4 토스뱅크.
// 3-2-5 (사업자등록번호), 6-7 (주민등록번호) and 3-4-4 (휴대전화) are not
// account shapes.
var accountShapes = [...][4]uint8{
	{2, 2, 6}, {3, 2, 6}, {3, 2, 7}, {3, 3, 6}, {3, 6, 3}, {3, 6, 5},
	{4, 2, 7}, {4, 3, 6}, {4, 4, 4}, {6, 2, 6}, {6, 3, 5},
	{3, 2, 4, 3}, {3, 2, 6, 1}, {3, 4, 4, 2}, {3, 6, 2, 3}, {4, 4, 4, 2},
}

func isAccountShape(g []uint8) bool {
	if len(g) > 4 {
		return false
	}
	var key [4]uint8
	copy(key[:], g)
	for _, sh := range accountShapes {
		if sh == key {
			return true
		}
	}
	return false
}

// amountUnitAt reports whether a currency unit follows a number (원, 만,
// 억, 달러): a sum of money, not an id.
func amountUnitAt(s string, p int) bool {
	if p < len(s) && s[p] == ' ' {
		p++
	}
	r, ok := syllableAt(s, p)
	return ok && strings.ContainsRune("원만억천달", r)
}

// bankBefore reports whether the word right before s[i] names a bank or
// an account (국민은행, 새마을금고, 계좌): the number is an account number
// even where it reads as a registration number.
func bankBefore(s string, i int) bool {
	w := wordBefore(s, i)
	if w == "" {
		return false
	}
	for _, suf := range [...]string{"은행", "뱅크", "금고", "계좌", "계좌번호"} {
		if strings.HasSuffix(w, suf) {
			return true
		}
	}
	for _, b := range bankNames {
		if strings.HasSuffix(w, b) {
			return true
		}
	}
	return false
}

// accountLabelBefore reports whether a bank's name or the label 계좌번호
// stands right before s[i]; the bare word 계좌 does not count, as it also
// introduces other numbers (계좌 123-45-67890 of a business).
func accountLabelBefore(s string, i int) bool {
	return bankBefore(s, i) && !strings.HasSuffix(wordBefore(s, i), "계좌")
}

func (sc *scanner) accountContext(i int) bool {
	s := sc.s
	if labelledOtherThan(s, i, "계좌번호") {
		return false
	}
	if contextBefore(s, i, longWindow, accountWords) {
		return true
	}
	// A bank's name alone (국민, 우리, 하나, 광주) is an everyday word, so it
	// counts only right before the number: "신한 110-123-456789".
	return bankBefore(s, i)
}

// onGlued handles a digit run glued to the byte before it, where
// atNumberStart refuses numbers: a passport number (M12345678) and a
// hyphenated registration number in a file name (scan_900101-1234567.pdf).
func (sc *scanner) onGlued(i int) {
	s := sc.s
	switch c := s[i-1]; {
	case isASCIILetter(c):
		a := i - 1
		for a > 0 && isASCIILetter(s[a-1]) {
			a--
		}
		if a == i-1 && isPassportLetter(c) && sc.tryPassport(a) {
			return
		}
		if a > 0 && isDigit(s[a-1]) {
			return // a later digit run of the same token
		}
		sc.tryForeignPassport(a)
	case c == '_':
		if digitRun(s, i)-i == 6 && i+6 < len(s) && s[i+6] == '-' {
			sc.tryRRN(i)
		}
	}
}

// isPassportLetter lists the first letters of Korean passports: M
// (multiple), S (single), R (residence), G (official), D (diplomatic).
func isPassportLetter(c byte) bool {
	switch c | 0x20 {
	case 'm', 's', 'r', 'g', 'd':
		return true
	}
	return false
}

// tryPassport detects a passport number that starts with the letter at
// s[l]: the old form, letter and 8 digits (M12345678), and the form issued
// since December 2021, letter, 3 digits, letter, 4 digits (M123A4567). The
// old shape is common for order and model numbers, so both need 여권 or
// passport before them.
func (sc *scanner) tryPassport(l int) bool {
	s := sc.s
	if l > 0 && isWordByte(s[l-1]) {
		return false
	}
	i := l + 1
	e := digitRun(s, i)
	end := 0
	switch e - i {
	case 8:
		end = e
	case 3:
		if e+5 > len(s) || !isASCIILetter(s[e]) || digitRun(s, e+1) != e+5 {
			return false
		}
		end = e + 5
	default:
		return false
	}
	if !atNumberEnd(s, end) || !ownContextBefore(s, l, longWindow, passportWords, false) {
		return false
	}
	sc.add(l, end, PASSPORT, false)
	return true
}

// tryForeignPassport detects a passport number of another country after
// 여권 or passport: seven to nine capital letters and digits, at least four
// of them digits, such as C7418803 (Vietnam), C4F9J7K21 (Germany) or
// 123456789. Placeholders (A12345678) are left alone; see isPlaceholder.
func (sc *scanner) tryForeignPassport(a int) {
	s := sc.s
	if a > 0 && isWordByte(s[a-1]) {
		return
	}
	e, digits := a, 0
	for e < len(s) && e-a <= 9 && (isDigit(s[e]) || ('A' <= s[e] && s[e] <= 'Z')) {
		if isDigit(s[e]) {
			digits++
		}
		e++
	}
	if n := e - a; n < 7 || n > 9 || digits < 4 || !atNumberEnd(s, e) || isPlaceholder(s[a:e]) {
		return
	}
	if ownContextBefore(s, a, longWindow, passportWords, false) {
		sc.addLabelled(a, e, PASSPORT)
	}
}

// tryDriverLicense detects 운전면허번호: region code, year, serial and
// check digits as NN-NN-NNNNNN-NN, where the region code (11 서울 ... 28
// 경기북부) must exist. That shape is specific enough on its own; twelve
// plain digits need 면허 before them. Licences issued before the codes
// name the region in Korean: 서울 12-345678-90.
func (sc *scanner) tryDriverLicense(i int) {
	s := sc.s
	e := digitRun(s, i)
	switch e - i {
	case 2:
		if end, ok := hyphenGroups(s, e, 2, 6, 2); ok {
			if licenseRegion(s[i:e]) {
				sc.add(i, end, DRIVER_LICENSE, false)
			} else if labelledAs(s, i, end, licenseLabels) {
				sc.addLabelled(i, end, DRIVER_LICENSE)
			}
			return
		}
		if end, ok := hyphenGroups(s, e, 6, 2); ok {
			if start, ok := sc.regionNameBefore(i); ok {
				sc.add(start, end, DRIVER_LICENSE, false)
			} else if ownContextBefore(s, i, longWindow, licenseWords, false) {
				sc.add(i, end, DRIVER_LICENSE, false)
			}
		}
	case 12:
		if !atNumberEnd(s, e) {
			return
		}
		if licenseRegion(s[i:i+2]) && ownContextBefore(s, i, longWindow, licenseWords, false) &&
			!labelledOtherThan(s, i, "면허번호") {
			sc.add(i, e, DRIVER_LICENSE, false)
		} else if labelledAs(s, i, e, licenseLabels) {
			sc.addLabelled(i, e, DRIVER_LICENSE)
		}
	}
}

// hyphenGroups parses groups of exactly the given lengths, each after a
// hyphen, from s[p], and returns the end if the number ends there.
func hyphenGroups(s string, p int, lens ...int) (int, bool) {
	for _, l := range lens {
		if p >= len(s) || s[p] != '-' || digitRun(s, p+1) != p+1+l {
			return 0, false
		}
		p += 1 + l
	}
	return p, atNumberEnd(s, p)
}

func licenseRegion(code string) bool {
	n := int(code[0]-'0')*10 + int(code[1]-'0')
	return 11 <= n && n <= 28
}

// regionNameBefore finds a region name such as 서울 or 경기 as a whole word
// right before s[i], glued or after one space, and returns its start.
func (sc *scanner) regionNameBefore(i int) (int, bool) {
	s := sc.s
	e := i
	if e > 0 && s[e-1] == ' ' {
		e--
	}
	a, n := syllableRunStart(s, e, 3)
	if n != 2 {
		return 0, false
	}
	if _, ok := sc.d.provinceShort[s[a:e]]; !ok {
		return 0, false
	}
	return a, true
}

// tryVehicle detects a licence plate: 2 or 3 digits, a purpose syllable
// and 4 digits (12가3456, 123나4567), with the region of older commercial
// plates (서울12가3456). Only the syllables the plate rules assign are
// accepted, so 12가지 or 2023가합12345 never match. A space before the last
// four digits (12가 3456) is accepted after a word about cars.
func (sc *scanner) tryVehicle(i int) {
	s := sc.s
	e := digitRun(s, i)
	if n := e - i; n != 2 && n != 3 {
		return
	}
	r, ok := syllableAt(s, e)
	if ok && !sc.d.plateSyllables.has(r) {
		return
	}
	p := e + syllableBytes
	spaced := p < len(s) && s[p] == ' '
	if spaced {
		p++
	}
	if !ok {
		// 57 구 2853: the purpose syllable standing alone.
		if e+1 >= len(s) || s[e] != ' ' {
			return
		}
		if r, ok = syllableAt(s, e+1); !ok || !sc.d.plateSyllables.has(r) ||
			e+1+syllableBytes >= len(s) || s[e+1+syllableBytes] != ' ' {
			return
		}
		p, spaced = e+2+syllableBytes, true
	}
	if digitRun(s, p) != p+4 || !atNumberEnd(s, p+4) || amountUnitAt(s, p+4) {
		return // 27조2580억원 is an amount: 조 is also a plate syllable
	}
	if spaced && !contextBefore(s, i, longWindow, vehicleWords) {
		return
	}
	start := i
	if _, glued := syllableBefore(s, i); glued || (i > 0 && s[i-1] == ' ') {
		if a, ok := sc.regionNameBefore(i); ok {
			start = a
		} else if glued {
			// Glued to another word: only a label may precede (차량번호12가3456).
			w := wordBefore(s, i)
			if !strings.HasSuffix(w, "번호") && !strings.HasSuffix(w, "차량") && !strings.HasSuffix(w, "차") {
				return
			}
		}
	}
	// Court cases of the last century read the same: 대법원 99도1234.
	if contextBefore(s, i, shortWindow, caseWords) {
		return
	}
	sc.add(start, p+4, VEHICLE, false)
}

// tryBirthDate detects a date of birth: a full date after a label such as
// 생년월일 or DOB, or followed by 생 (1990년 1월 1일생). Dates without
// them are appointment, incident and filing dates, not personal data.
func (sc *scanner) tryBirthDate(i int) {
	s := sc.s
	end, ok := dateAt(s, i)
	if !ok {
		return
	}
	// The label must belong to this date: "생년월일: 19590703 2024-06-22"
	// labels the first number only.
	if !ownContextBefore(s, i, shortWindow, birthLabels, true) && !birthSuffix(s, end) {
		return
	}
	sc.add(i, end, BIRTH_DATE, false)
}

// birthSuffix reports whether the date ending at s[end] is followed by 생
// as a word end (1990.1.1생, 1990년 1월 1일생으로), not by 생활 or 생산.
func birthSuffix(s string, end int) bool {
	return strings.HasPrefix(s[end:], "생") && suffixEndsWord(s, end+syllableBytes)
}

// dateAt parses a full calendar date at s[i] and returns its end:
// YYYY-MM-DD (also with '.' or '/', and "1990. 1. 1." with its final
// dot), YYYY년 M월 D일, YY.MM.DD, and the compact YYYYMMDD and YYMMDD. The
// date must exist; two-digit years may be of either century.
func dateAt(s string, i int) (int, bool) {
	e := digitRun(s, i)
	n := e - i
	switch n {
	case 6, 8:
		if !atNumberEnd(s, e) {
			return 0, false
		}
		y := atoiN(s[i : e-4])
		m, d := atoiN(s[e-4:e-2]), atoiN(s[e-2:e])
		return e, dateOK(y, n-4, m, d)
	case 2, 4:
	default:
		return 0, false
	}
	y := atoiN(s[i:e])
	p := e
	var m, d int
	var ok bool
	if strings.HasPrefix(s[p:], "년") {
		p += len("년")
		if m, p, ok = numberThen(s, p, "월"); !ok {
			return 0, false
		}
		if d, p, ok = numberThen(s, p, "일"); !ok {
			return 0, false
		}
	} else {
		if p >= len(s) || (s[p] != '-' && s[p] != '.' && s[p] != '/') {
			return 0, false
		}
		sep := s[p]
		if m, p, ok = dateField(s, p+1, sep == '.'); !ok || p >= len(s) || s[p] != sep {
			return 0, false
		}
		spaced := p+1 < len(s) && s[p+1] == ' '
		if d, p, ok = dateField(s, p+1, sep == '.'); !ok || !atNumberEnd(s, p) {
			return 0, false
		}
		// 1990. 1. 1.: in the official notation the final dot stands for
		// 일 and belongs to the date.
		if sep == '.' && spaced && p < len(s) && s[p] == '.' {
			p++
		}
	}
	return p, dateOK(y, n, m, d)
}

// numberThen parses " 12월" (one optional space, 1-2 digits, the unit).
func numberThen(s string, p int, unit string) (v, end int, ok bool) {
	if p < len(s) && s[p] == ' ' {
		p++
	}
	e := digitRun(s, p)
	if e == p || e-p > 2 || !strings.HasPrefix(s[e:], unit) {
		return 0, 0, false
	}
	return atoiN(s[p:e]), e + len(unit), true
}

// dateField parses a 1-2 digit month or day, after one space when the
// separator is a dot (1990. 1. 1).
func dateField(s string, p int, space bool) (v, end int, ok bool) {
	if space && p < len(s) && s[p] == ' ' {
		p++
	}
	e := digitRun(s, p)
	if e == p || e-p > 2 {
		return 0, 0, false
	}
	return atoiN(s[p:e]), e, true
}

// dateOK validates a date whose year has yearDigits digits (2 or 4).
func dateOK(y, yearDigits, m, d int) bool {
	if yearDigits == 4 {
		return 1900 <= y && y <= 2099 && validDate(y, m, d)
	}
	return validDate(1900+y, m, d) || validDate(2000+y, m, d)
}

func atoiN(s string) int {
	v := 0
	for k := 0; k < len(s); k++ {
		v = v*10 + int(s[k]-'0')
	}
	return v
}
