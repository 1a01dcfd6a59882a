package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"

	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/internal/trainjob"
)

// Exit codes of `dure train-job`, part of the trainer contract: 0 done, 1 failed,
// 2 bad arguments or input.
func runTrainJob(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure train-job", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data stringList
	fs.Var(&data, "data", "JSONL file with title, body, department (repeatable)")
	out := fs.String("out", "", "directory to write the model to")
	holdout := fs.Float64("holdout", 0.2, "fraction held out for evaluation")
	seed := fs.Int64("seed", 1, "random seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(data) == 0 || *out == "" {
		return usageError{errors.New("train-job needs --data FILE.jsonl (repeatable) and --out DIR")}
	}
	examples, err := trainjob.ReadFiles(data...)
	if err != nil {
		return usageError{err}
	}
	enc := json.NewEncoder(stdout)
	res, err := trainjob.Run(ctx, examples, trainjob.Spec{
		OutDir: *out, HoldoutFraction: *holdout, Seed: *seed, Options: textclf.DefaultOptions(),
	}, func(e trainjob.Event) { _ = enc.Encode(e) })
	if err != nil {
		return err
	}
	return enc.Encode(map[string]any{"event": "done", "result": res})
}

func runEval(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "model directory written by train-job")
	data := fs.String("data", "", "JSONL file with title, body, department")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *modelDir == "" || *data == "" {
		return usageError{errors.New("eval needs --model DIR and --data FILE.jsonl")}
	}
	model, err := textclf.LoadDir(*modelDir)
	if err != nil {
		return err
	}
	f, err := os.Open(*data)
	if err != nil {
		return err
	}
	defer f.Close()
	examples, err := textclf.ReadJSONL(f)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(textclf.Evaluate(model, examples))
}
