package pii

import (
	"fmt"
	"slices"
	"strings"
)

// LabelledDoc is a text with its gold spans: every value a perfect
// detector would report, sorted by Start, with rune offsets as in [Span].
type LabelledDoc struct {
	Text  string `json:"text"`
	Spans []Span `json:"spans"`
}

// Score counts one type's matches. Exact matching needs the same start,
// end and type; overlap matching only a shared rune and the same type, so
// there a gold span may be found by several predictions and the reverse.
type Score struct {
	Gold      int // gold spans
	Predicted int // detected spans
	Found     int // gold spans matched by a detection
	Correct   int // detections that match a gold span
}

// Precision is Correct/Predicted, 1 when nothing was predicted.
func (s Score) Precision() float64 { return ratio(s.Correct, s.Predicted) }

// Recall is Found/Gold, 1 when there was nothing to find.
func (s Score) Recall() float64 { return ratio(s.Found, s.Gold) }

// F1 is the harmonic mean of precision and recall.
func (s Score) F1() float64 {
	p, r := s.Precision(), s.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func (s *Score) add(o Score) {
	s.Gold += o.Gold
	s.Predicted += o.Predicted
	s.Found += o.Found
	s.Correct += o.Correct
}

// Evaluation holds per-type scores under exact and overlap matching.
type Evaluation struct {
	Exact   map[Type]Score
	Overlap map[Type]Score
}

// Evaluate runs d over docs and scores its spans against the gold spans,
// per type.
func Evaluate(d *Detector, docs []LabelledDoc) Evaluation {
	ev := Evaluation{Exact: map[Type]Score{}, Overlap: map[Type]Score{}}
	for _, doc := range docs {
		ev.addDoc(doc.Spans, d.Detect(doc.Text))
	}
	return ev
}

func (ev *Evaluation) addDoc(gold, pred []Span) {
	types := map[Type]bool{}
	for _, s := range gold {
		types[s.Type] = true
	}
	for _, s := range pred {
		types[s.Type] = true
	}
	for t := range types {
		g, p := ofType(gold, t), ofType(pred, t)
		ex, ov := ev.Exact[t], ev.Overlap[t]
		ex.add(Score{Gold: len(g), Predicted: len(p),
			Found:   countMatched(g, p, sameSpan),
			Correct: countMatched(p, g, sameSpan)})
		ov.add(Score{Gold: len(g), Predicted: len(p),
			Found:   countMatched(g, p, overlaps),
			Correct: countMatched(p, g, overlaps)})
		ev.Exact[t], ev.Overlap[t] = ex, ov
	}
}

func ofType(spans []Span, t Type) []Span {
	var out []Span
	for _, s := range spans {
		if s.Type == t {
			out = append(out, s)
		}
	}
	return out
}

// countMatched counts the spans of a that match some span of b.
func countMatched(a, b []Span, match func(x, y Span) bool) int {
	n := 0
	for _, x := range a {
		if slices.ContainsFunc(b, func(y Span) bool { return match(x, y) }) {
			n++
		}
	}
	return n
}

func sameSpan(x, y Span) bool { return x.Start == y.Start && x.End == y.End }
func overlaps(x, y Span) bool { return x.Start < y.End && y.Start < x.End }

// Total sums the scores of the given types (all scored types when none
// are given), micro-averaging precision and recall.
func (ev Evaluation) Total(exact bool, types ...Type) Score {
	m := ev.Overlap
	if exact {
		m = ev.Exact
	}
	var s Score
	for t, sc := range m {
		if len(types) == 0 || slices.Contains(types, t) {
			s.add(sc)
		}
	}
	return s
}

// Table formats the scores of the given types (all scored types, in the
// order of [Types], when none are given) as a Markdown table, with a
// micro-averaged total row.
func (ev Evaluation) Table(types ...Type) string {
	if len(types) == 0 {
		for _, t := range allTypes {
			if _, ok := ev.Exact[t]; ok {
				types = append(types, t)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| type | gold | detected | P | R | F1 | P overlap | R overlap | F1 overlap |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, ex, ov Score) {
		fmt.Fprintf(&b, "| %s | %d | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", name,
			ex.Gold, ex.Predicted, ex.Precision(), ex.Recall(), ex.F1(),
			ov.Precision(), ov.Recall(), ov.F1())
	}
	for _, t := range types {
		row(string(t), ev.Exact[t], ev.Overlap[t])
	}
	if len(types) > 1 {
		row("all (micro)", ev.Total(true, types...), ev.Total(false, types...))
	}
	return b.String()
}
