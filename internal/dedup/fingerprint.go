// Package dedup finds exact and near duplicate complaints, within one upload
// and against a tenant's already-approved records, with memory bounded by a
// budget whatever the number of records.
//
// Each record is reduced to a [Fingerprint]: a hash of its normalised text
// for exact copies and a MinHash signature for near copies (about 90% of
// character shingles shared). A [Batch] spills the fingerprints of one upload
// to partition files on disk, then resolves one partition at a time against
// the batch itself and against the approved [Segment]s, the persistent index
// that every published dataset carries.
package dedup

import (
	"crypto/sha256"
	"hash"
	"unicode"
	"unicode/utf8"
)

// Near-duplicate detection estimates the Jaccard similarity of two records'
// sets of character shingles with MinHash and finds candidate pairs with LSH
// banding, so that each record costs O(its length) and a fixed-size
// signature instead of a comparison with every earlier record.
const (
	// shingleRunes is the shingle length. Five characters span about two
	// Korean words: long enough that unrelated complaints on the same topic
	// share few shingles, short enough that one changed word spoils few.
	shingleRunes = 5
	// MinNearRunes is the shortest normalised title+body that is checked
	// for near copies. Shorter texts have too few shingles for a reliable
	// estimate, and short petitions legitimately share most of their words
	// ("… 동의하시길 부탁드립니다"); they only get exact duplicate detection.
	MinNearRunes = 50
	// sigSize is the number of MinHash values per record (one-permutation
	// hashing: each shingle hash falls into one of sigSize bins).
	sigSize = 64
	// bands × rows = sigSize. A pair becomes a candidate when all rows of at
	// least one band agree; with 16 bands of 4 rows a pair of similarity 0.9
	// is a candidate with probability 1-(1-0.9⁴)¹⁶ > 0.9999999, and every
	// candidate is confirmed on the whole signature.
	bands = 16
	rows  = sigSize / bands
	// nearMatches is how many of the sigSize values must agree: 58/64 ≈ 0.9
	// estimated Jaccard similarity. The estimate's standard deviation at 0.9
	// is about 0.04.
	nearMatches = 58
)

// Signature is a record's MinHash signature.
type Signature [sigSize]uint32

// Fingerprint is what duplicate detection keeps of a record: no text.
type Fingerprint struct {
	// Key hashes the normalised title and body: equal keys are exact copies.
	Key [16]byte
	// Sig is the MinHash signature, valid when Near is set (texts of at
	// least MinNearRunes letters and digits).
	Sig  Signature
	Near bool
}

// Of fingerprints a record's title and body.
func Of(title, body string) Fingerprint {
	fp := Fingerprint{Key: contentKey(title, body)}
	fp.Sig, fp.Near = minHash(title, body)
	return fp
}

// Agreement is how many of the signature's positions two fingerprints share,
// out of 64; near copies agree in at least 58.
func Agreement(a, b *Signature) int {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

// Similarity is Agreement as a percentage, the estimated share of shingles
// two texts have in common.
func Similarity(agree int) int { return agree * 100 / sigSize }

func near(a, b *Signature) (int, bool) {
	n := Agreement(a, b)
	return n, n >= nearMatches
}

// contentKey hashes title and body after NFC (the caller's), removal of
// invisible characters and collapsing of white space, so that copies that
// differ only in spacing or line breaks count as the same complaint.
func contentKey(title, body string) [16]byte {
	h := sha256.New()
	writeNormalized(h, title)
	// 0xFF never occurs in UTF-8, so title and body cannot run together.
	h.Write([]byte{0xFF})
	writeNormalized(h, body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var key [16]byte
	copy(key[:], sum[:])
	return key
}

func writeNormalized(h hash.Hash, s string) {
	var buf [1024]byte
	n := 0
	started, pendingSpace := false, false
	for _, r := range s {
		switch {
		case isInvisible(r):
			continue
		case unicode.IsSpace(r):
			pendingSpace = started
			continue
		}
		started = true
		if len(buf)-n < utf8.UTFMax+1 {
			h.Write(buf[:n])
			n = 0
		}
		if pendingSpace {
			buf[n] = ' '
			n++
			pendingSpace = false
		}
		n += utf8.EncodeRune(buf[n:], r)
	}
	h.Write(buf[:n])
}

func isInvisible(r rune) bool {
	switch r {
	case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF':
		return true
	}
	return false
}

// minHash computes the signature of title and body, after lower-casing and
// dropping everything but letters and digits so that copies that differ in
// spacing, punctuation or case look the same. ok is false when the text has
// fewer than MinNearRunes such runes.
func minHash(title, body string) (sig Signature, ok bool) {
	var (
		win    [shingleRunes]rune // ring of the last shingleRunes runes
		n      int                // normalised runes seen
		filled uint64             // bit i: bin i has a value
	)
	for i := range sig {
		sig[i] = ^uint32(0)
	}
	add := func(r rune) {
		win[n%shingleRunes] = r
		n++
		if n < shingleRunes {
			return
		}
		h := uint64(0xcbf29ce484222325)
		for k := n - shingleRunes; k < n; k++ {
			h = (h ^ uint64(win[k%shingleRunes])) * 0x100000001b3
		}
		h = mix64(h)
		// The top bits pick the bin and the low 32 bits, independent of
		// them after mixing, are the value.
		bin := h >> (64 - 6)
		if v := uint32(h); v < sig[bin] || filled&(1<<bin) == 0 {
			sig[bin] = v
		}
		filled |= 1 << bin
	}
	for _, s := range [...]string{title, body} {
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				add(unicode.ToLower(r))
			}
		}
		// A separator keeps the title's end and the body's start from
		// forming shingles that a copy with another title would share.
		add(0)
	}
	if n-2 < MinNearRunes {
		return sig, false
	}
	densify(&sig, filled)
	return sig, true
}

// densify fills empty bins by copying a non-empty bin chosen by a hash of
// the empty bin's index and an attempt counter ("optimal densification",
// Shrivastava 2017), which keeps the estimate unbiased and deterministic.
func densify(sig *Signature, filled uint64) {
	if filled == ^uint64(0) || filled == 0 {
		return
	}
	for i := range sig {
		if filled&(1<<i) != 0 {
			continue
		}
		for attempt := uint64(1); ; attempt++ {
			j := mix64(uint64(i)<<32|attempt) % sigSize
			if filled&(1<<j) != 0 {
				sig[i] = sig[j]
				break
			}
		}
	}
}

// mix64 is the SplitMix64 finaliser: it spreads every input bit over the
// whole output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// bandKeys hashes each band of sig, with the band's number, to a key.
// 32 bits suffice: a chance collision only costs one signature comparison.
func bandKeys(sig *Signature) [bands]uint32 {
	var keys [bands]uint32
	for b := range keys {
		h := uint64(b) + 1
		for _, v := range sig[b*rows : (b+1)*rows] {
			h = mix64(h ^ uint64(v))
		}
		keys[b] = uint32(h)
	}
	return keys
}
