package textclf

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// labelledExamples makes n examples per label, each with a unique title.
func labelledExamples(counts map[string]int) []Example {
	var out []Example
	for _, l := range []string{"a", "b", "c", "d"} {
		for i := range counts[l] {
			out = append(out, Example{Title: fmt.Sprintf("%s-%d", l, i), Label: l})
		}
	}
	return out
}

func countLabels(ex []Example) map[string]int {
	out := map[string]int{}
	for _, e := range ex {
		out[e.Label]++
	}
	return out
}

func TestStratifiedSplit(t *testing.T) {
	tests := []struct {
		name     string
		counts   map[string]int
		holdout  float64
		wantTest map[string]int
	}{
		{"proportional", map[string]int{"a": 100, "b": 50, "c": 10}, 0.2, map[string]int{"a": 20, "b": 10, "c": 2}},
		{"rare label keeps one on each side", map[string]int{"a": 20, "b": 2, "c": 3}, 0.2, map[string]int{"a": 4, "b": 1, "c": 1}},
		{"singleton stays in train", map[string]int{"a": 10, "b": 1}, 0.3, map[string]int{"a": 3}},
		{"no holdout", map[string]int{"a": 5, "b": 5}, 0, map[string]int{}},
		{"all holdout", map[string]int{"a": 5, "b": 5}, 1, map[string]int{"a": 5, "b": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := labelledExamples(tt.counts)
			train, test := StratifiedSplit(all, tt.holdout, 7)
			assert.Equal(t, tt.wantTest, countLabels(test))
			assert.Len(t, train, len(all)-len(test))
			seen := map[string]bool{}
			for _, e := range append(append([]Example{}, train...), test...) {
				require.False(t, seen[e.Title], "duplicated %s", e.Title)
				seen[e.Title] = true
			}
			assert.Len(t, seen, len(all), "every example lands on exactly one side")
		})
	}
}

func TestStratifiedSplitDeterministic(t *testing.T) {
	all := labelledExamples(map[string]int{"a": 60, "b": 30, "c": 9, "d": 4})
	train1, test1 := StratifiedSplit(all, 0.25, 42)
	train2, test2 := StratifiedSplit(all, 0.25, 42)
	assert.Equal(t, train1, train2)
	assert.Equal(t, test1, test2)

	_, other := StratifiedSplit(all, 0.25, 43)
	assert.NotEqual(t, test1, other, "a different seed should pick different examples")

	// Input order is kept within each half.
	pos := map[string]int{}
	for i, e := range all {
		pos[e.Title] = i
	}
	for i := 1; i < len(test1); i++ {
		assert.Less(t, pos[test1[i-1].Title], pos[test1[i].Title])
	}
}

func TestStratifiedSplitSampleProportions(t *testing.T) {
	all := loadSample(t)
	_, test := StratifiedSplit(all, 0.2, 42)
	total, held := countLabels(all), countLabels(test)
	for l, n := range total {
		assert.InDelta(t, 0.2*float64(n), float64(held[l]), 1, "label %s", l)
	}
	assert.InDelta(t, 0.2, float64(len(test))/float64(len(all)), 0.01)
	assert.False(t, math.IsNaN(float64(len(test))))
}

// TestStratifiedGroupSplitKeepsGroupsTogether: every group lands whole on
// one side, and without groups the split is StratifiedSplit's.
func TestStratifiedGroupSplitKeepsGroupsTogether(t *testing.T) {
	all := labelledExamples(map[string]int{"a": 60, "b": 30, "c": 6})
	groups := make([]int, len(all))
	for i := range all {
		groups[i] = i
		// Every third example copies the one before it, of the same label.
		if i%3 == 2 && all[i-1].Label == all[i].Label {
			groups[i] = groups[i-1]
		}
	}
	side := map[string]string{}
	train, test := StratifiedGroupSplit(all, groups, 0.25, 7)
	for name, half := range map[string][]Example{"train": train, "test": test} {
		for _, e := range half {
			side[e.Title] = name
		}
	}
	require.Len(t, side, len(all))
	for i, g := range groups {
		assert.Equal(t, side[all[g].Title], side[all[i].Title], "%s and its original %s", all[i].Title, all[g].Title)
	}
	assert.NotEmpty(t, countLabels(test)["c"], "rare labels are still measured")

	plainTrain, plainTest := StratifiedSplit(all, 0.25, 7)
	noGroupsTrain, noGroupsTest := StratifiedGroupSplit(all, nil, 0.25, 7)
	assert.Equal(t, plainTrain, noGroupsTrain)
	assert.Equal(t, plainTest, noGroupsTest)
}
