// Command nvmlcheck prints this host's GPU inventory as the GPUInventory
// activity reports it (JSON), then the Prometheus metrics the GPU host
// exports, so an operator can check a GPU host before its worker joins the
// pool. It reads NVML directly: no Temporal, no pool.
//
//	go run ./infra/gpu/nvmlcheck                    # real NVML; exit 1 without a driver
//	go run ./infra/gpu/nvmlcheck -simulate-fallback # without a driver, the dev default
//	go run ./infra/gpu/nvmlcheck -min-gpus 8 -require-healthy
//
// Exit status: 0 ok, 1 the inventory could not be read or failed a check,
// 2 bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/dure-platform/dure/activities/gpu"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "nvmlcheck:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nvmlcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hostname, _ := os.Hostname()
	host := fs.String("host", hostname, "GPU host name, as the pool and the task queue dure-gpu-<host> name it")
	fallback := fs.Bool("simulate-fallback", false, "without NVML, report the dev default (8 simulated H100 80GB) instead of failing")
	minGPUs := fs.Int("min-gpus", 0, "fail if fewer GPUs are found")
	healthy := fs.Bool("require-healthy", false, "fail if any GPU is degraded")
	metrics := fs.Bool("metrics", true, "print the Prometheus exposition after the inventory")
	timeout := fs.Duration("timeout", 60*time.Second, "bound on reading the inventory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	var src gpu.Source
	session, err := gpu.OpenSystem(logger)
	switch {
	case err == nil:
		defer func() {
			if err := session.Close(); err != nil {
				logger.Warn("nvml shutdown", "err", err)
			}
		}()
		src = session
	case errors.Is(err, gpu.ErrNoNVML) && *fallback:
		fmt.Fprintf(stderr, "nvmlcheck: %v; using the simulated fallback (%d x %s)\n", err, gpu.DefaultSimulatedGPUs, gpu.DefaultModel)
		src = gpu.DefaultSimulated(*host)
	default:
		return fmt.Errorf("%w; is the NVIDIA driver installed and loaded? (-simulate-fallback reports a simulated host instead)", err)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	inv, err := gpu.ReadHost(ctx, *host, src)
	if err != nil {
		return err
	}
	logger.Info("inventory read", "source", inv.Source, "gpus", len(inv.GPUs), "took", time.Since(start))
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(inv); err != nil {
		return err
	}

	if *metrics {
		reg := prometheus.NewPedanticRegistry() // refuses inconsistent series, which is the point of a check
		if err := reg.Register(gpu.NewCollector(*host, src, gpu.CollectorOptions{Logger: logger})); err != nil {
			return err
		}
		mfs, err := reg.Gather()
		if err != nil {
			return fmt.Errorf("gather metrics: %w", err)
		}
		fmt.Fprintln(stdout)
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(stdout, mf); err != nil {
				return err
			}
		}
	}

	var problems []error
	if len(inv.GPUs) < *minGPUs {
		problems = append(problems, fmt.Errorf("found %d gpus, want at least %d", len(inv.GPUs), *minGPUs))
	}
	for _, g := range inv.GPUs {
		if g.UUID == "" || g.NodeDevice == "" || g.MemoryTotalBytes == 0 {
			problems = append(problems, fmt.Errorf("gpu %d: incomplete (uuid %q, pci %q, memory %d)", g.Index, g.UUID, g.NodeDevice, g.MemoryTotalBytes))
		}
		if !g.Health.OK() {
			logger.Warn("gpu degraded", "gpu", g.Index, "uuid", g.UUID, "reasons", g.Health.Reasons)
			if *healthy {
				problems = append(problems, fmt.Errorf("gpu %d degraded: %q", g.Index, g.Health.Reasons))
			}
		}
	}
	return errors.Join(problems...)
}
