// Command dure runs the platform and its operator tools.
//
//	dure dev [--demo] [--exit-after-demo]     the whole platform in one process
//	dure temporal                             a Temporal server (+ UI) on PostgreSQL or SQLite
//	dure worker --role control-plane|quality-gate|gpu-host
//	dure gateway | dure inference             the serving layer, one process each
//	dure config check --role ROLE             validate a service's configuration
//	dure onboard | ingest | train | promote   start workflows as an operator
//	dure upload | classify                    a tenant's calls through the gateway
//	dure train-job --data F.jsonl --out DIR   train the built-in classifier
//	dure train-job --manifest M.json --checkpoint-dir D --out DIR   the same, resumable
//	dure eval --model DIR --data F.jsonl      evaluate a model
//	dure eval --splits N --data F.jsonl       cross-validate options against the reference
//	dure anonymize < lines.jsonl              mask personal data in {"text":...} lines
//	dure bench gpupool [--json]               the GPU pool policy against FIFO
//	dure decide | tokens | models             operator commands through the gateway
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/dure-platform/dure/internal/service"
)

// version names the build; `make build` sets it from git with -ldflags -X.
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"dev", "run the whole platform on its embedded default (Temporal, S3, workers, gateway)", runDev},
		{"temporal", "run a Temporal server and its Web UI on PostgreSQL (or a SQLite file)", runTemporal},
		{"worker", "run a worker role: --role control-plane, quality-gate or gpu-host", runWorker},
		{"gateway", "run the API gateway", runGateway},
		{"inference", "run one inference replica", runInference},
		{"config", "check a service's configuration: config check --role ROLE", runConfig},
		{"onboard", "onboard a tenant (TenantOnboarding) and print what was created", runOnboard},
		{"ingest", "ingest an uploaded object (DataIngestion); --wait prints the screened counts", runIngest},
		{"train", "train the shared classifier on the approved datasets (Training)", runTrain},
		{"promote", "promote a model version to every replica (ModelPromotion)", runPromote},
		{"upload", "upload a file of complaints to a tenant's bucket through the gateway", runUpload},
		{"classify", "classify a complaint through the gateway", runClassify},
		{"train-job", "train the built-in classifier from JSONL files", runTrainJob},
		{"eval", "evaluate a model on JSONL files, or cross-validate training options (--splits)", runEval},
		{"anonymize", "mask personal data in JSON lines {\"text\":...} from stdin", runAnonymize},
		{"bench", "run a benchmark: gpupool (policy vs FIFO on a simulated trace)", runBench},
		{"decide", "approve or reject an ingested batch (operator token)", runDecide},
		{"tokens", "list, rotate or revoke a tenant's tokens (tenant-admin or platform-admin token)", runTokens},
		{"models", "list registered model versions and their lineage", runModels},
		{"s3-keys", "show or rotate your tenant's S3 key pair (tenant-admin token)", runS3Keys},
		{"audit", "verify the audit log's keyed chain against its anchors: audit verify", runAudit},
	}
}

func main() {
	// Keys, tokens, databases and uploads: whatever dure writes is its user's alone.
	service.PrivateFiles()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dure:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Exit codes (part of the train-job contract): 1 for a failure, 2 for bad
// arguments or input, 3 when cancelled (SIGTERM or Ctrl-C) after saving what it
// could.
func exitCode(err error) int {
	if errors.Is(err, context.Canceled) {
		return 3
	}
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// usageError marks errors the caller can fix by changing the arguments or input.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// parseFlags parses and marks a parse failure as a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return usageError{errors.New("no command given")}
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return usageError{fmt.Errorf("unknown command %q", args[0])}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dure <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
