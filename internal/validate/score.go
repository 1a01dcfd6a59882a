package validate

import "math"

// BatchStats are the counts a batch score is computed from.
type BatchStats struct {
	Read       int
	Accepted   int
	Duplicates int
	// Labels counts accepted records per department.
	Labels map[string]int
	// PIISpans is the number of personal-data spans masked in accepted records,
	// TextRunes the runes of accepted title and body text.
	PIISpans  int
	TextRunes int
}

// Score is a batch's quality score, 0-100, and its parts, each 0-1.
type Score struct {
	Score        float64 `json:"score"`
	Validity     float64 `json:"validity"`
	Uniqueness   float64 `json:"uniqueness"`
	LabelBalance float64 `json:"label_balance"`
	PIICleanness float64 `json:"pii_cleanness"`
}

// Weights of the score's parts; they add up to 1.
const (
	weightValidity   = 0.50
	weightUniqueness = 0.20
	weightBalance    = 0.15
	weightPII        = 0.15
	// piiSaturation is the PII density (spans per 1,000 runes) at which the PII
	// part reaches 0: text that dense is mostly personal data, not a complaint.
	piiSaturation = 5.0
)

// ScoreBatch computes the documented score:
//
//	score = 100 × (0.50·validity + 0.20·uniqueness + 0.15·label_balance + 0.15·pii_cleanness)
//	validity      = accepted / read
//	uniqueness    = 1 − duplicates / read
//	label_balance = Shannon entropy of the accepted labels / ln(min(#labels in rules, accepted)),
//	                1 when fewer than two records make balance meaningless
//	pii_cleanness = 1 − min(1, (PII spans per 1,000 runes) / 5)
func ScoreBatch(st BatchStats, knownLabels int) Score {
	if st.Read == 0 {
		return Score{}
	}
	s := Score{
		Validity:     float64(st.Accepted) / float64(st.Read),
		Uniqueness:   1 - float64(st.Duplicates)/float64(st.Read),
		LabelBalance: 1,
		PIICleanness: 1,
	}
	if k := min(knownLabels, st.Accepted); k >= 2 {
		var h float64
		for _, n := range st.Labels {
			if n > 0 {
				p := float64(n) / float64(st.Accepted)
				h -= p * math.Log(p)
			}
		}
		s.LabelBalance = math.Min(1, h/math.Log(float64(k)))
	}
	if st.TextRunes > 0 {
		density := float64(st.PIISpans) * 1000 / float64(st.TextRunes)
		s.PIICleanness = 1 - math.Min(1, density/piiSaturation)
	}
	s.Score = 100 * (weightValidity*s.Validity + weightUniqueness*s.Uniqueness + weightBalance*s.LabelBalance + weightPII*s.PIICleanness)
	return s
}
