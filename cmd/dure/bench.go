package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/dure-platform/dure/internal/gpupool"
)

// runBench runs a named benchmark and prints its figures.
func runBench(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "gpupool" {
		return usageError{fmt.Errorf("usage: dure bench gpupool [--json] [--seed N]")}
	}
	fs := flag.NewFlagSet("dure bench gpupool", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "end with one JSON line: {\"policy\":{...},\"fifo\":{...}}")
	tc := gpupool.DefaultTrace()
	fs.Uint64Var(&tc.Seed, "seed", tc.Seed, "trace seed")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "simulating %s of bursty jobs from %d tenants on %d GPUs, policy and FIFO...\n",
		tc.Horizon, len(tc.Tenants), tc.Hosts*tc.GPUsPerHost)
	report, err := gpupool.RunTrace(tc)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, report.Table())
	if *asJSON {
		return json.NewEncoder(stdout).Encode(report)
	}
	return nil
}
