package textclf

import (
	"math"
	"math/rand/v2"
	"slices"
)

// StratifiedSplit splits examples into train and test sets so that each
// label keeps (about) the same share in both. holdout is the fraction that
// goes to test: every label with at least two examples keeps at least one on
// each side, so rare departments are both learnt and measured. The split
// depends only on the examples and seed, and both halves keep the input
// order. holdout ≤ 0 puts everything in train, ≥ 1 everything in test.
func StratifiedSplit(examples []Example, holdout float64, seed int64) (train, test []Example) {
	return StratifiedGroupSplit(examples, nil, holdout, seed)
}

// StratifiedGroupSplit is StratifiedSplit over groups of examples that must
// stay on one side: near copies of one complaint, which on both sides would
// let the test set measure memory instead of generalisation. groups[i] is
// the index of the first example of i's group (so groups[g] == g for that
// first one), whose label stands for the group; nil makes every example its
// own group, which is StratifiedSplit. The per-label minimums count groups.
func StratifiedGroupSplit(examples []Example, groups []int, holdout float64, seed int64) (train, test []Example) {
	root := func(i int) int { return i }
	if groups != nil {
		root = func(i int) int { return groups[i] }
	}
	byLabel := map[string][]int{}
	for i, ex := range examples {
		if root(i) == i {
			byLabel[ex.Label] = append(byLabel[ex.Label], i)
		}
	}
	labels := make([]string, 0, len(byLabel))
	for l := range byLabel {
		labels = append(labels, l)
	}
	// Iterating labels in sorted order keeps the random stream, and hence
	// the split, independent of map order.
	slices.Sort(labels)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed5eed))
	inTest := make([]bool, len(examples))
	for _, l := range labels {
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx[:testCount(len(idx), holdout)] {
			inTest[i] = true
		}
	}
	for i, ex := range examples {
		if inTest[root(i)] {
			test = append(test, ex)
		} else {
			train = append(train, ex)
		}
	}
	return train, test
}

// testCount is how many of n examples of one label go to the test set.
func testCount(n int, holdout float64) int {
	switch {
	case holdout <= 0:
		return 0
	case holdout >= 1:
		return n
	}
	k := int(math.Round(holdout * float64(n)))
	if n >= 2 {
		k = min(max(k, 1), n-1)
	}
	return k
}
