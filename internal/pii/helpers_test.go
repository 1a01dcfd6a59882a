package pii

import (
	"testing"
	"unicode/utf8"
)

// checkSpans verifies the Detect contract: spans inside the text, sorted,
// non-overlapping, and Text equal to the runes between Start and End.
func checkSpans(t *testing.T, text string, spans []Span) {
	t.Helper()
	n := utf8.RuneCountInString(text)
	r := []rune(text)
	prevEnd := 0
	for i, sp := range spans {
		if sp.Start < prevEnd || sp.End <= sp.Start || sp.End > n {
			t.Fatalf("span %d %+v out of order or range (prev end %d, %d runes)", i, sp, prevEnd, n)
		}
		if got := string(r[sp.Start:sp.End]); utf8.ValidString(text) && got != sp.Text {
			t.Fatalf("span %d text %q but runes [%d,%d) are %q", i, sp.Text, sp.Start, sp.End, got)
		}
		prevEnd = sp.End
	}
}
