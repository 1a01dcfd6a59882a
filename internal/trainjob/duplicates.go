package trainjob

import (
	"fmt"
	"strconv"

	"github.com/dure-platform/dure/internal/dedup"
	"github.com/dure-platform/dure/internal/textclf"
)

// copies is what groupCopies found.
type copies struct {
	kept []textclf.Example
	// groups[i] is the index in kept of the example that kept[i] nearly
	// copies, or i itself.
	groups []int
	exact  int // dropped: the same text as an earlier example
	near   int // kept, grouped with the example they nearly copy
}

// groupCopies drops the examples that repeat an earlier one's text and
// groups near copies with their original, so that the split keeps each
// group on one side. The gate leaves copies out of every batch, but a
// record approved in two batches at once, or datasets approved before it
// checked, still reach the trainer.
func groupCopies(examples []textclf.Example) (copies, error) {
	b, err := dedup.NewBatch(dedup.Options{ExpectedRecords: int64(len(examples))})
	if err != nil {
		return copies{}, err
	}
	defer b.Close()
	for i, ex := range examples {
		// Examples have no ids: the position stands in, one per example.
		if err := b.Add(strconv.Itoa(i), i+1, dedup.Of(ex.Title, ex.Body)); err != nil {
			return copies{}, err
		}
	}
	if err := b.Resolve(nil); err != nil {
		return copies{}, fmt.Errorf("find copies: %w", err)
	}
	c := copies{kept: make([]textclf.Example, 0, len(examples)), groups: make([]int, 0, len(examples))}
	keptAt := make([]int, len(examples))
	err = b.Verdicts(nil, func(i int, v dedup.Verdict) error {
		switch v.Kind {
		case dedup.Exact, dedup.SameID:
			c.exact++
			return nil
		case dedup.Near:
			c.near++
			// An original is never a copy itself, so it was kept.
			c.groups = append(c.groups, keptAt[v.OfLine-1])
		default:
			c.groups = append(c.groups, len(c.kept))
		}
		keptAt[i] = len(c.kept)
		c.kept = append(c.kept, examples[i])
		return nil
	})
	return c, err
}
