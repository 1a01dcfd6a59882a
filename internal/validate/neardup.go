package validate

import (
	"unicode"
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
	// minNearDupRunes is the shortest normalised title+body that is checked
	// for near copies. Shorter texts have too few shingles for a reliable
	// estimate, and short petitions legitimately share most of their words
	// ("… 동의하시길 부탁드립니다"); they only get exact duplicate detection.
	minNearDupRunes = 50
	// sigSize is the number of MinHash values per record (one-permutation
	// hashing: each shingle hash falls into one of sigSize bins).
	sigSize = 64
	// nearDupBands × nearDupRows = sigSize. A pair becomes a candidate when
	// all rows of at least one band agree; with 16 bands of 4 rows a pair of
	// similarity 0.9 is a candidate with probability 1-(1-0.9⁴)¹⁶ > 0.9999999,
	// and every candidate is confirmed on the whole signature.
	nearDupBands = 16
	nearDupRows  = sigSize / nearDupBands
	// nearDupMatches is how many of the sigSize values must agree: 58/64 ≈
	// 0.9 estimated Jaccard similarity. The estimate's standard deviation at
	// 0.9 is about 0.04.
	nearDupMatches = 58
	// maxNearDupIndex caps how many records the index remembers per batch,
	// bounding its memory at about 50 MB (256 B of signature, 16 band keys
	// and an id per record). Records after the cap are still checked against
	// the indexed ones but are not added themselves.
	maxNearDupIndex = 100_000
	// nearDupChunk is the signature storage's allocation unit, so that a
	// growing index never copies all signatures at once.
	nearDupChunk = 4096
)

// signature is a record's MinHash signature.
type signature [sigSize]uint32

// minHash computes the signature of title and body, after lower-casing and
// dropping everything but letters and digits so that copies that differ in
// spacing, punctuation or case look the same. ok is false when the text has
// fewer than minNearDupRunes such runes.
func minHash(title, body string) (sig signature, ok bool) {
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
	if n-2 < minNearDupRunes {
		return sig, false
	}
	densify(&sig, filled)
	return sig, true
}

// densify fills empty bins by copying a non-empty bin chosen by a hash of
// the empty bin's index and an attempt counter ("optimal densification",
// Shrivastava 2017), which keeps the estimate unbiased and deterministic.
func densify(sig *signature, filled uint64) {
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

// bandKeys hashes each band of sig, with the band's number, to a map key.
// 32 bits suffice: a chance collision only costs one signature comparison.
func bandKeys(sig *signature) [nearDupBands]uint32 {
	var keys [nearDupBands]uint32
	for b := range keys {
		h := uint64(b) + 1
		for _, v := range sig[b*nearDupRows : (b+1)*nearDupRows] {
			h = mix64(h ^ uint64(v))
		}
		keys[b] = uint32(h)
	}
	return keys
}

// matches counts the positions where two signatures agree.
func matches(a, b *signature) int {
	n := 0
	for i := range a {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}

// nearIndex remembers the signatures of a batch's accepted records. It is
// not safe for concurrent use; the Checker guards it.
type nearIndex struct {
	limit   int
	chunks  [][]signature
	ids     []string
	buckets map[uint32]uint32 // band key → first indexed record with it
}

func newNearIndex(limit int) *nearIndex {
	return &nearIndex{limit: limit, buckets: make(map[uint32]uint32)}
}

func (x *nearIndex) sig(i uint32) *signature {
	return &x.chunks[i/nearDupChunk][i%nearDupChunk]
}

// find returns the id of the earliest indexed record whose signature
// agrees with sig in at least nearDupMatches positions, and how many agree.
func (x *nearIndex) find(sig *signature, keys *[nearDupBands]uint32) (id string, agree int, ok bool) {
	best, bestAgree := uint32(0), -1
	for _, k := range keys {
		i, hit := x.buckets[k]
		if !hit {
			continue
		}
		if m := matches(sig, x.sig(i)); m >= nearDupMatches && (bestAgree < 0 || i < best) {
			best, bestAgree = i, m
		}
	}
	if bestAgree < 0 {
		return "", 0, false
	}
	return x.ids[best], bestAgree, true
}

// add indexes a record unless the index is full. A band key that is
// already taken keeps its earlier record: that is the one later copies
// should be reported against.
func (x *nearIndex) add(id string, sig *signature, keys *[nearDupBands]uint32) {
	if len(x.ids) >= x.limit {
		return
	}
	i := uint32(len(x.ids))
	if i%nearDupChunk == 0 {
		x.chunks = append(x.chunks, make([]signature, 0, nearDupChunk))
	}
	last := len(x.chunks) - 1
	x.chunks[last] = append(x.chunks[last], *sig)
	x.ids = append(x.ids, id)
	for _, k := range keys {
		if _, taken := x.buckets[k]; !taken {
			x.buckets[k] = i
		}
	}
}
