package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/demo"
	"github.com/dure-platform/dure/internal/devstack"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	cfg.CodeVersion = version
	fs := flag.NewFlagSet("dure dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	withDemo := fs.Bool("demo", false, "onboard the pilot tenants and walk the whole flow")
	exitAfterDemo := fs.Bool("exit-after-demo", false, "with --demo: exit after the demo and print its summary as JSON")
	verbose := fs.Bool("v", false, "debug logging")
	if err := config.Parse(fs, args); err != nil {
		return usageError{err}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := newLogger(stderr, level)
	// Training runs as its own process, as a GPU container would.
	if exe, err := os.Executable(); err == nil {
		cfg.TrainerCommand = []string{exe, "train-job"}
	}

	logger.Info("starting dure dev", "data_dir", cfg.DataDir)
	stack, err := devstack.Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() {
		logger.Info("shutting down")
		if err := stack.Close(); err != nil {
			logger.Warn("shutdown", "err", err)
		}
	}()
	logger.Info("dure is up",
		"temporal", stack.TemporalAddress(),
		"temporal_ui", stack.TemporalUIURL(),
		"namespace", stack.Config.Namespace,
		"s3", "http://"+stack.S3Endpoint.Address,
		"gateway", stack.GatewayURL,
		"inference", stack.ReplicaURLs,
		"metrics", stack.OpsURL+"/metrics",
		"codec", stack.OpsURL+"/codec",
		"data_dir", stack.Config.DataDir,
		"tokens", stack.TokenDir)

	if *withDemo {
		operator, err := stack.DialOperator(ctx, "demo")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer operator.Close()
		runner := &demo.Runner{
			Temporal: stack.Client, Operator: operator, Store: stack.Store, S3: stack.S3Endpoint, GatewayURL: stack.GatewayURL,
			SampleDir: stack.Config.SampleDataDir, TokenDir: stack.TokenDir, Logger: logger.With("component", "demo"),
		}
		sum, err := runner.Run(ctx)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if *exitAfterDemo {
			return json.NewEncoder(stdout).Encode(sum)
		}
		logger.Info("demo finished; the platform keeps running", "summary", sum)
	}
	logger.Info("press Ctrl-C to stop")
	<-ctx.Done()
	return nil
}
