package trainjob

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/textclf"
)

// resubmitted copies n of the examples again: most as a re-export that
// only changes white space, every tenth with one punctuation mark edited.
func resubmitted(examples []textclf.Example, n int) []textclf.Example {
	out := append([]textclf.Example(nil), examples...)
	step := len(examples) / n
	for i := range n {
		ex := examples[i*step]
		if i%10 == 0 {
			ex.Body = strings.Replace(ex.Body, ".", "!", 1)
		} else {
			ex.Body = strings.ReplaceAll(ex.Body, " ", "  ") + "\n"
		}
		out = append(out, ex)
	}
	return out
}

// Re-uploaded complaints once fell on both sides of the split, and the
// held-out macro-F1 measured memory: 1,396 records counted twice raised it
// from 0.554 to 0.755. Run leaves exact copies out and keeps near copies on
// their original's side, so the score is the one without the copies.
func TestCopiesDoNotInflateTheHoldoutScore(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three models on the sample complaints")
	}
	files, err := filepath.Glob(filepath.Join(sampleDir, "*.jsonl"))
	require.NoError(t, err)
	examples, err := ReadFiles(files...)
	require.NoError(t, err)
	doubled := resubmitted(examples, 1396)
	opts := textclf.DefaultOptions()
	spec := Spec{HoldoutFraction: 0.2, Seed: 11, Options: opts}
	ctx := context.Background()

	// The score the copies inflate: a plain stratified split of all records.
	train, holdout := textclf.StratifiedSplit(doubled, spec.HoldoutFraction, spec.Seed)
	opts.Seed = spec.Seed
	model, err := textclf.Train(ctx, train, opts, nil)
	require.NoError(t, err)
	inflated := textclf.Evaluate(model, holdout).MacroF1

	run := func(examples []textclf.Example) Result {
		spec := spec
		spec.OutDir = t.TempDir()
		res, err := Run(ctx, examples, spec, nil)
		require.NoError(t, err)
		return res
	}
	base, fixed := run(examples), run(doubled)
	t.Logf("held-out macro-F1: %d records %.3f; with %d copies, plain split %.3f, Run %.3f (%d left out, %d near copies grouped)",
		len(examples), base.Holdout.MacroF1, len(doubled)-len(examples), inflated, fixed.Holdout.MacroF1, fixed.Copies, fixed.NearCopies)
	assert.Greater(t, inflated, base.Holdout.MacroF1+0.05, "copies on both sides of a plain split inflate the score")
	assert.InDelta(t, base.Holdout.MacroF1, fixed.Holdout.MacroF1, 0.03, "Run's score is the one without copies")
	// Every copy is found: left out, or (an edited one) grouped. A body
	// without a full stop is unchanged by the edit, an exact copy.
	assert.Equal(t, 1396, fixed.Copies+fixed.NearCopies-base.NearCopies)
	assert.GreaterOrEqual(t, fixed.Copies, 1396-140)
	assert.Equal(t, base.TrainRecords+base.HoldoutRecords+fixed.NearCopies-base.NearCopies, fixed.TrainRecords+fixed.HoldoutRecords)
}
