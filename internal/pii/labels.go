package pii

import "strings"

// A value written under its explicit label (사업자등록번호:, 여권번호,
// 계좌번호) is that kind of value even where its checksum or format check
// fails: a mistyped number is still the person's number, and masking it
// costs nothing. Checksums and formats only raise confidence where a
// number stands without its label. The one exception is a placeholder
// (123-45-67890, M12345678 in a guide to filling in a form), which is
// nobody's number.

// labelBefore reports whether one of labels ends right before the value at
// s[i], with only separators between: spaces, a colon, a bracket, '|', a
// qualifier in brackets, or a line break where a form puts the value under
// its label.
func labelBefore(s string, i int, labels []string) bool {
	k := i
	for k > 0 && i-k < 24 && strings.IndexByte(" \t\n\r:|([#", s[k-1]) >= 0 {
		k--
	}
	if strings.HasSuffix(s[:k], "：") {
		k -= len("：")
	}
	// 주민등록번호(앞 6자리): a qualifier between the label and the value.
	if k > 0 && s[k-1] == ')' {
		if o := strings.LastIndexByte(s[max(0, k-32):k], '('); o >= 0 {
			k = max(0, k-32) + o
		}
	}
	for _, l := range labels {
		if strings.HasSuffix(s[:k], l) {
			return true
		}
	}
	return false
}

// isPlaceholder reports whether the digits of v run in sequence (1234567,
// 9876543) or repeat one digit (0000000): sample values, not anyone's.
func isPlaceholder(v string) bool {
	var prev byte
	n, up, down, same := 0, true, true, true
	for k := 0; k < len(v); k++ {
		c := v[k]
		if !isDigit(c) {
			continue
		}
		if n > 0 {
			up = up && c == '0'+(prev-'0'+1)%10
			down = down && prev == '0'+(c-'0'+1)%10
			same = same && c == prev
		}
		prev = c
		n++
	}
	return n >= 6 && (up || down || same)
}

// labelledAs reports whether the value s[i:end] stands under one of
// labels and is no placeholder.
func labelledAs(s string, i, end int, labels []string) bool {
	return labelBefore(s, i, labels) && !isPlaceholder(s[i:end])
}
