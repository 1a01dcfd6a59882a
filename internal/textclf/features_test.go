package textclf

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExtractorFeatureCounts(t *testing.T) {
	base := featureConfig{CharMinN: 1, CharMaxN: 3, WordNGrams: 1, HashBits: 20}
	tests := []struct {
		name string
		cfg  func(*featureConfig)
		text string
		want int
	}{
		// " 가나 " → 가, 나 | " 가", 가나, "나 " | " 가나", "가나 " + word 가나.
		{name: "one eojeol", text: "가나", want: 8},
		// A one-syllable eojeol " 가 " gives 가, " 가", "가 ", " 가 " + word.
		{name: "separators split tokens", text: "가***나", want: 2 * 5},
		{name: "empty", text: " \t*!", want: 0},
		{name: "bigrams add one per pair", cfg: func(c *featureConfig) { c.WordNGrams = 2 }, text: "가 나 다", want: 3*5 + 2},
		{name: "words only", cfg: func(c *featureConfig) { c.CharMaxN = 0 }, text: "가나 다라", want: 2},
		{name: "max runes truncates", cfg: func(c *featureConfig) { c.MaxRunes = 2 }, text: "가나다라", want: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			got := newExtractor(cfg).buckets(saltShared, tt.text)
			assert.Len(t, got, tt.want)
			for _, b := range got {
				assert.Less(t, b, uint32(cfg.buckets()))
			}
		})
	}
}

func TestExtractorNormalises(t *testing.T) {
	cfg := featureConfig{CharMinN: 1, CharMaxN: 3, WordNGrams: 1, HashBits: 20}
	e := newExtractor(cfg)
	// buckets reuses its buffer, so keep copies.
	get := func(salt uint64, text string) []uint32 {
		return append([]uint32(nil), e.buckets(salt, text)...)
	}
	a := get(saltShared, "CCTV 설치")
	assert.Equal(t, a, get(saltShared, "cctv, 설치!"), "case and punctuation are ignored")
	assert.NotEqual(t, a, get(saltTitle, "cctv 설치"), "fields use separate namespaces")
	assert.NotEqual(t, get(saltShared, "119"), get(saltShared, "112"), "ASCII digits are kept")
}
