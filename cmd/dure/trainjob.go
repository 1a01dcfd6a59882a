package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/internal/trainjob"
)

// runTrainJob is `dure train-job`; the contract (flags, events, exit codes
// 0 done, 1 failed or cancelled, 2 bad arguments or input) lives in
// trainjob.Main so that the Training activity's tests can run it as a child
// process without building this binary.
func runTrainJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := trainjob.Main(ctx, args, stdout, stderr)
	if errors.Is(err, trainjob.ErrUsage) {
		return usageError{err}
	}
	return err
}

// runEval scores a saved model on labelled data or, with --splits,
// cross-validates training options against the reference configuration on
// the same splits in this process.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "model directory written by train-job")
	var data stringList
	fs.Var(&data, "data", "JSONL file with title, body, department (repeatable)")
	splits := fs.Int("splits", 0, "cross-validate on this many stratified splits instead of loading --model")
	holdout := fs.Float64("holdout", 0.2, "with --splits: fraction of each split held out")
	seed := fs.Int64("seed", 42, "with --splits: seed of the first split (then seed+1, …)")
	optionsFile := fs.String("options", "", "with --splits: JSON file of training options (default: the built-in defaults)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(data) == 0 || (*modelDir == "") == (*splits == 0) {
		return usageError{errors.New("eval needs --data FILE.jsonl (repeatable) and either --model DIR or --splits N")}
	}
	examples, err := trainjob.ReadFiles(data...)
	if err != nil {
		return usageError{err}
	}
	if *splits != 0 {
		return crossValidate(ctx, examples, *splits, *holdout, *seed, *optionsFile, stdout, stderr)
	}
	model, err := textclf.LoadDir(*modelDir)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(textclf.Evaluate(model, examples))
}

// crossValidation is `dure eval --splits` output: the candidate options and
// the reference on identical splits, and their ratios.
type crossValidation struct {
	Options   textclf.Options         `json:"options"`
	Model     textclf.CrossValidation `json:"model"`
	Reference textclf.CrossValidation `json:"reference"`
	// Ratio is model ÷ reference for the mean accuracy and macro-F1.
	Ratio struct {
		Accuracy float64 `json:"accuracy"`
		MacroF1  float64 `json:"macro_f1"`
	} `json:"ratio"`
}

func crossValidate(ctx context.Context, examples []textclf.Example, splits int, holdout float64, seed int64, optionsFile string, stdout, stderr io.Writer) error {
	opts := textclf.DefaultOptions()
	if optionsFile != "" {
		var err error
		if opts, err = textclf.LoadOptions(optionsFile); err != nil {
			return usageError{err}
		}
	}
	var out crossValidation
	out.Options = opts
	for _, run := range []struct {
		name   string
		opts   textclf.Options
		result *textclf.CrossValidation
	}{
		{"model", opts, &out.Model},
		{"reference", textclf.ReferenceOptions(), &out.Reference},
	} {
		cv, err := textclf.CrossValidate(ctx, examples, run.opts, splits, holdout, seed, func(done int, s textclf.SplitScore) {
			fmt.Fprintf(stderr, "%s split %d/%d (seed %d): accuracy %.4f, macro-F1 %.4f\n",
				run.name, done, splits, s.Seed, s.Accuracy, s.MacroF1)
		})
		if errors.Is(err, textclf.ErrBadSplits) || errors.Is(err, textclf.ErrBadOptions) {
			return usageError{err}
		}
		if err != nil {
			return err
		}
		*run.result = cv
	}
	out.Ratio.Accuracy = out.Model.Accuracy / out.Reference.Accuracy
	out.Ratio.MacroF1 = out.Model.MacroF1 / out.Reference.MacroF1
	return json.NewEncoder(stdout).Encode(out)
}
