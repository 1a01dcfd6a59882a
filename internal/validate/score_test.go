package validate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScoreBatch(t *testing.T) {
	balanced := map[string]int{"a": 25, "b": 25, "c": 25, "d": 25}
	tests := []struct {
		name  string
		st    BatchStats
		known int
		want  Score
	}{
		{"empty", BatchStats{}, 4, Score{}},
		{"perfect", BatchStats{Read: 100, Accepted: 100, Labels: balanced, TextRunes: 100000}, 4,
			Score{Score: 100, Validity: 1, Uniqueness: 1, LabelBalance: 1, PIICleanness: 1}},
		{"half invalid, all one label, dense pii", BatchStats{Read: 100, Accepted: 50, Duplicates: 10,
			Labels: map[string]int{"a": 50}, PIISpans: 500, TextRunes: 50000}, 4,
			Score{Score: 100 * (0.5*0.5 + 0.2*0.9), Validity: 0.5, Uniqueness: 0.9, LabelBalance: 0, PIICleanness: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScoreBatch(tt.st, tt.known)
			assert.InDelta(t, tt.want.Score, got.Score, 1e-9)
			assert.InDelta(t, tt.want.Validity, got.Validity, 1e-9)
			assert.InDelta(t, tt.want.Uniqueness, got.Uniqueness, 1e-9)
			assert.InDelta(t, tt.want.LabelBalance, got.LabelBalance, 1e-9)
			assert.InDelta(t, tt.want.PIICleanness, got.PIICleanness, 1e-9)
		})
	}
}
