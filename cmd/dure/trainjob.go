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
