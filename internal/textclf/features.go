package textclf

import "unicode"

// featureConfig is the part of Options that decides how text becomes
// features. It is stored in the model so that prediction extracts exactly
// the features the weights were trained on.
type featureConfig struct {
	CharMinN    int     `json:"char_min_n"`
	CharMaxN    int     `json:"char_max_n"`
	WordNGrams  int     `json:"word_ngrams"`
	TitleWeight float64 `json:"title_weight"`
	MaxRunes    int     `json:"max_runes"`
	// HashBits sets the feature space to 2^HashBits buckets (the hashing
	// trick): no string vocabulary is kept, and lookups are array indexing.
	HashBits int `json:"hash_bits"`
}

// buckets is the size of the hashed feature space.
func (c featureConfig) buckets() int { return 1 << c.HashBits }

// Namespace seeds keep feature kinds apart: the character n-gram "법" and
// the one-syllable eojeol "법" are different features, and title features
// never collide with body features.
const (
	seedChar   uint64 = 0x9e3779b97f4a7c15
	seedWord   uint64 = 0xc2b2ae3d27d4eb4f
	seedBigram uint64 = 0x165667b19e3779f9
	saltShared uint64 = 0x27d4eb2f165667c5
	saltTitle  uint64 = 0x85ebca77c2b2ae63
	// boundary marks the start and end of an eojeol inside character
	// n-grams, so that prefixes (stems) and suffixes (particles) are
	// distinguishable from word-internal n-grams.
	boundary rune = ' '
)

// fnvPrime is the 64-bit FNV prime; hashing rune by rune with it lets the
// n-gram loop extend a hash by one character at a time.
const fnvPrime uint64 = 0x100000001b3

func hashStep(h uint64, r rune) uint64 {
	return (h ^ uint64(r)) * fnvPrime
}

// mix64 is the splitmix64 finaliser. FNV alone leaves the high bits poorly
// mixed for short inputs; mixing also combines salts and bigram halves.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// normRune folds case and maps non-ASCII digits (full-width, …) to '0' so
// they at least register as "a number". ASCII digits are kept: numbers such
// as "5.18" or "119" carry routing signal. It reports false for runes that
// separate tokens, which includes the "*" used to mask personal data.
func normRune(r rune) (rune, bool) {
	switch {
	case r >= '0' && r <= '9':
		return r, true
	case unicode.IsLetter(r):
		return unicode.ToLower(r), true
	case unicode.IsDigit(r):
		return '0', true
	default:
		return 0, false
	}
}

// extractor turns text into hashed features. It holds scratch buffers and is
// therefore not safe for concurrent use; each goroutine uses its own.
type extractor struct {
	cfg    featureConfig
	mask   uint64
	token  []rune
	hashes []uint32
}

func newExtractor(cfg featureConfig) *extractor {
	return &extractor{
		cfg:    cfg,
		mask:   uint64(cfg.buckets() - 1),
		token:  make([]rune, 0, 64),
		hashes: make([]uint32, 0, 4096),
	}
}

// emit records one feature occurrence. mix64 spreads the FNV state over
// all bits before masking down to a bucket.
func (e *extractor) emit(h uint64) {
	e.hashes = append(e.hashes, uint32(mix64(h)&e.mask))
}

// buckets returns the feature buckets of the texts, salted by field, one
// entry per occurrence and in text order. The result aliases the
// extractor's buffer and is valid until the next call.
func (e *extractor) buckets(salt uint64, texts ...string) []uint32 {
	e.hashes = e.hashes[:0]
	for _, t := range texts {
		e.tokens(t, salt)
	}
	return e.hashes
}

// tokens splits text into eojeol-like tokens (maximal runs of letters and
// digits) and emits the features of each, up to cfg.MaxRunes runes of text.
func (e *extractor) tokens(text string, salt uint64) {
	var prevWord uint64
	havePrev := false
	seen := 0
	e.token = e.token[:0]
	flush := func() {
		if len(e.token) == 0 {
			return
		}
		w := e.emitToken(salt)
		if havePrev && e.cfg.WordNGrams >= 2 {
			e.emit(mix64(prevWord^seedBigram) ^ w ^ salt)
		}
		prevWord, havePrev = w, true
		e.token = e.token[:0]
	}
	for _, r := range text {
		if e.cfg.MaxRunes > 0 && seen >= e.cfg.MaxRunes {
			break
		}
		seen++
		if nr, ok := normRune(r); ok {
			e.token = append(e.token, nr)
			continue
		}
		flush()
	}
	flush()
}

// emitToken appends the word unigram and character n-grams of e.token and
// returns the token's word hash (used to build bigrams).
func (e *extractor) emitToken(salt uint64) uint64 {
	w := seedWord
	for _, r := range e.token {
		w = hashStep(w, r)
	}
	if e.cfg.WordNGrams >= 1 {
		e.emit(w ^ salt)
	}
	if e.cfg.CharMaxN > 0 {
		e.charNGrams(salt)
	}
	return w
}

// charNGrams emits every n-gram (CharMinN ≤ n ≤ CharMaxN) of the token
// padded with a boundary rune on both sides, skipping the bare boundary.
func (e *extractor) charNGrams(salt uint64) {
	tok := e.token
	n := len(tok) + 2
	at := func(i int) rune {
		if i == 0 || i == n-1 {
			return boundary
		}
		return tok[i-1]
	}
	for i := 0; i < n; i++ {
		h := seedChar
		for k := 1; k <= e.cfg.CharMaxN && i+k <= n; k++ {
			h = hashStep(h, at(i+k-1))
			if k < e.cfg.CharMinN || (k == 1 && (i == 0 || i == n-1)) {
				continue
			}
			e.emit(h ^ salt)
		}
	}
}
