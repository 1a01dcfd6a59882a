package validate

import (
	"math"
	"strings"
	"unicode"
)

// The garbage checks look for bodies that are not language. They are
// deliberately conservative: a rejected real complaint is lost to the
// tenant, while a garbage record that slips through only adds noise. Every
// threshold leaves a wide margin to the 2,906 sample complaints (see
// TestGarbageSampleComplaints).
const (
	// garbageWindow is how many non-space runes of a body are examined. It
	// bounds the cost per record; garbage is rarely confined to a body's end.
	garbageWindow = 4096
	// minRepeatRunes: a body of at least this many copies of one character
	// ("ㅋㅋㅋㅋㅋ", "aaaaa") says nothing.
	minRepeatRunes = 5
	// The remaining checks need enough text for shares to mean something.
	minGarbageRunes = 12
	// maxNonLetterShare: sample bodies are at least 54% letters; a body of
	// more than 75% digits and symbols is numbers or decoration.
	minLetterShare = 0.25
	// minEntropyBits is the least Shannon entropy, in bits per character,
	// of a body of minEntropyRunes or more. Natural English has about 4 bits,
	// Korean more; "abcabc…" has 1.6.
	minEntropyBits  = 2.0
	minEntropyRunes = 20
	// maxJamoShare: text typed on a Korean keyboard is composed into
	// syllables; a body whose letters are mostly bare jamo (ㅁㄴㅇㄹ) is
	// keyboard mash or only ㅋㅋ/ㅠㅠ.
	maxJamoShare = 0.5
	// Latin keyboard mash: among bodies that are mostly Latin letters, one
	// with almost no vowels, or where most neighbouring letters are
	// neighbouring keys (asdf, qwer), is not words. English has about 38%
	// vowels and about 10% key-neighbour pairs.
	minLatinRunes      = 12
	minVowelShare      = 0.12
	maxKeyNeighbourShr = 0.5
	// minBlobRunes is the shortest token that counts as an encoded blob
	// (base64 or hex), and maxBlobShare how much of a body blobs may fill.
	minBlobRunes = 32
	maxBlobShare = 0.5
)

// keyRows are the letter rows of a QWERTY keyboard, for neighbouring keys.
var keyRows = [...]string{"qwertyuiop", "asdfghjkl", "zxcvbnm"}

// keyNeighbours reports whether a and b (lower-case ASCII) are adjacent
// keys in one row.
func keyNeighbours(a, b rune) bool {
	for _, row := range keyRows {
		i, j := strings.IndexRune(row, a), strings.IndexRune(row, b)
		if i >= 0 && j >= 0 && (i-j == 1 || j-i == 1) {
			return true
		}
	}
	return false
}

// isPlaceholder reports the marks that uploaders put in a body left
// intentionally empty, when the title states the whole complaint (one
// sample body is "............"). Such bodies are not garbage.
func isPlaceholder(r rune) bool {
	return strings.ContainsRune(".·…-_~", r)
}

func isBlobRune(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '+' || r == '/' || r == '=' || r == '-' || r == '_')
}

// blobToken is what the scan knows of one white-space delimited token.
type blobToken struct {
	runes                     int
	charset                   bool // only base64/hex characters so far
	lower, upper, digit, nhex bool // nhex: a letter outside a-f, A-F
}

// isBlob reports a token that looks like an encoded value: long, from the
// base64 alphabet, and with the mix of cases and digits (base64) or the
// digits and a-f letters (hex) that words do not have.
func (t blobToken) isBlob() bool {
	if t.runes < minBlobRunes || !t.charset || !t.digit {
		return false
	}
	return t.lower && t.upper || !t.nhex
}

// garbage returns why body is not language, or "" when it may be. The
// reason is safe to log: it describes the text without quoting it.
func garbage(body string) string {
	var (
		counts         [4096]uint16 // rune counts, by rune mod 4096
		n, letters     int
		jamo           int
		latin, vowels  int
		pairs, nearKey int
		prevLatin      rune
		first          rune
		same           = true
		placeholder    = true
		tok            = blobToken{charset: true}
		blobRunes      int
	)
	endToken := func() {
		if tok.isBlob() {
			blobRunes += tok.runes
		}
		tok = blobToken{charset: true}
	}
	for _, r := range body {
		if unicode.IsSpace(r) || isInvisible(r) {
			endToken()
			prevLatin = 0
			continue
		}
		if n == garbageWindow {
			break
		}
		if n == 0 {
			first = r
		}
		n++
		same = same && r == first
		placeholder = placeholder && isPlaceholder(r)
		if c := &counts[r%4096]; *c < math.MaxUint16 {
			*c++
		}

		tok.runes++
		tok.charset = tok.charset && isBlobRune(r)
		switch {
		case r >= 'a' && r <= 'z':
			tok.lower = true
			tok.nhex = tok.nhex || r > 'f'
		case r >= 'A' && r <= 'Z':
			tok.upper = true
			tok.nhex = tok.nhex || r > 'F'
		case r >= '0' && r <= '9':
			tok.digit = true
		}

		if !unicode.IsLetter(r) {
			prevLatin = 0
			continue
		}
		letters++
		if r >= 0x3131 && r <= 0x318E { // Hangul compatibility jamo
			jamo++
		}
		l := unicode.ToLower(r)
		if l < 'a' || l > 'z' {
			prevLatin = 0
			continue
		}
		latin++
		if strings.ContainsRune("aeiouy", l) {
			vowels++
		}
		if prevLatin != 0 {
			pairs++
			if keyNeighbours(prevLatin, l) {
				nearKey++
			}
		}
		prevLatin = l
	}
	endToken()

	switch {
	case placeholder:
		return ""
	case same && n >= minRepeatRunes:
		return "one character repeated"
	case n < minGarbageRunes:
		return ""
	case float64(letters) < minLetterShare*float64(n):
		return "mostly digits or symbols, few letters"
	case float64(blobRunes) > maxBlobShare*float64(n):
		return "mostly encoded data (base64 or hex)"
	case letters >= minGarbageRunes && float64(jamo) > maxJamoShare*float64(letters):
		return "mostly bare Hangul jamo (keyboard mash)"
	case latin >= minLatinRunes && latin*10 >= letters*8 &&
		float64(vowels) < minVowelShare*float64(latin):
		return "Latin letters almost without vowels (keyboard mash)"
	case latin >= minLatinRunes && latin*10 >= letters*8 && pairs > 0 &&
		float64(nearKey) > maxKeyNeighbourShr*float64(pairs):
		return "mostly neighbouring keys (keyboard mash)"
	case n >= minEntropyRunes && entropy(counts[:], n) < minEntropyBits:
		return "very low character diversity"
	}
	return ""
}

// entropy is the Shannon entropy, in bits per character, of n characters
// with the given counts.
func entropy(counts []uint16, n int) float64 {
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h
}
