package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/service"
)

// serviceFlags parses a service's settings (flags, DURE_* environment, config
// file) and checks them for role, so a service that would fail later refuses
// to start now, with every problem listed.
func serviceFlags(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (config.Config, *flag.FlagSet, error) {
	cfg := config.Default()
	cfg.CodeVersion = version
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	fs.Bool("v", false, "debug logging")
	if extra != nil {
		extra(fs)
	}
	if err := config.Parse(fs, args); err != nil {
		return cfg, fs, usageError{err}
	}
	if err := cfg.Resolve(); err != nil {
		return cfg, fs, usageError{err}
	}
	return cfg, fs, nil
}

func checkRole(cfg *config.Config, role config.Role) error {
	if err := cfg.Check(role); err != nil {
		return usageError{fmt.Errorf("configuration of %s:\n  %s", role, strings.ReplaceAll(err.Error(), "\n", "\n  "))}
	}
	return nil
}

func serviceLogger(fs *flag.FlagSet, stderr io.Writer, role string) *slog.Logger {
	level := slog.LevelInfo
	if fs.Lookup("v").Value.String() == "true" {
		level = slog.LevelDebug
	}
	return newLogger(stderr, level).With("service", role)
}

// running holds what a service started, to stop it in reverse order.
type running struct {
	closers []func() error
}

func (r *running) add(c func() error) { r.closers = append(r.closers, c) }

func (r *running) close(logger *slog.Logger) {
	for _, c := range slices.Backward(r.closers) {
		if err := c(); err != nil {
			logger.Warn("shutdown", "err", err)
		}
	}
}

// serveOps starts a service's ops endpoint.
func serveOps(b *service.Base, r *running, ready func(context.Context) error, extra map[string]http.Handler) (*service.Server, error) {
	ops := service.Ops{Metrics: b.Metrics, Ready: ready, Extra: extra}
	srv, err := service.Listen("ops", b.Config.Addr(b.Config.OpsPort), ops.Handler(), b.Logger)
	if err != nil {
		return nil, err
	}
	r.add(srv.Close)
	return srv, nil
}

// temporalReady reports the frontend's health and the metadata database's.
func temporalReady(b *service.Base, tc client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		return b.Ready(ctx)
	}
}

// runWorker runs one worker role: the control plane, the quality gate or a
// GPU host agent.
func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	var roleName string
	cfg, fs, err := serviceFlags("dure worker", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&roleName, "role", "", "control-plane, quality-gate or gpu-host")
	})
	if err != nil {
		return err
	}
	role, err := config.ParseRole(roleName)
	if err != nil || !slices.Contains(config.WorkerRoles(), role) {
		return usageError{fmt.Errorf("--role must be control-plane, quality-gate or gpu-host, not %q", roleName)}
	}
	if err := checkRole(&cfg, role); err != nil {
		return err
	}
	logger := serviceLogger(fs, stderr, string(role))
	var r running
	defer r.close(logger)
	b, err := service.OpenBase(ctx, cfg, logger, service.LoadKeys)
	if err != nil {
		return err
	}
	r.add(b.Close)
	tc, err := b.DialTemporal(ctx, string(role))
	if err != nil {
		return err
	}
	r.add(func() error { tc.Close(); return nil })

	extra := map[string]http.Handler{}
	switch role {
	case config.RoleControlPlane:
		if err := startControlPlane(ctx, b, tc, &r); err != nil {
			return err
		}
		// The Web UI decodes payloads here; the management network reaches it.
		extra["/codec/"] = http.StripPrefix("/codec", b.Codec.Handler(cfg.CodecOrigins...))
	case config.RoleQualityGate:
		w, err := service.StartQualityGate(ctx, b, tc)
		if err != nil {
			return err
		}
		r.add(w.Close)
	case config.RoleGPUHost:
		if err := startGPUHost(ctx, b, tc, &r); err != nil {
			return err
		}
	}
	ops, err := serveOps(b, &r, temporalReady(b, tc), extra)
	if err != nil {
		return err
	}
	logger.Info("worker running", "role", role, "temporal", cfg.TemporalAddress, "namespace", cfg.Namespace,
		"s3", cfg.S3Endpoint, "ops", ops.URL())
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

// runGateway runs the API gateway.
func runGateway(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, fs, err := serviceFlags("dure gateway", args, stderr, nil)
	if err != nil {
		return err
	}
	if err := checkRole(&cfg, config.RoleGateway); err != nil {
		return err
	}
	logger := serviceLogger(fs, stderr, string(config.RoleGateway))
	var r running
	defer r.close(logger)
	b, err := service.OpenBase(ctx, cfg, logger, service.LoadKeys)
	if err != nil {
		return err
	}
	r.add(b.Close)
	tc, err := b.DialTemporal(ctx, "gateway")
	if err != nil {
		return err
	}
	r.add(func() error { tc.Close(); return nil })
	urls := make([]string, 0, len(cfg.Replicas))
	for _, rep := range cfg.Replicas {
		urls = append(urls, rep.URL)
	}
	h, err := service.NewGateway(ctx, b, tc, urls)
	if err != nil {
		return err
	}
	srv, err := service.Listen("gateway", cfg.Addr(cfg.GatewayPort), h, logger)
	if err != nil {
		return err
	}
	r.add(srv.Close)
	ops, err := serveOps(b, &r, temporalReady(b, tc), nil)
	if err != nil {
		return err
	}
	logger.Info("gateway running", "url", srv.URL(), "replicas", urls, "ops", ops.URL())
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

// runInference runs one inference replica.
func runInference(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, fs, err := serviceFlags("dure inference", args, stderr, nil)
	if err != nil {
		return err
	}
	if err := checkRole(&cfg, config.RoleInference); err != nil {
		return err
	}
	logger := serviceLogger(fs, stderr, cfg.ReplicaName)
	var r running
	defer r.close(logger)
	adminToken, err := config.ReadSecretFile(cfg.ReplicaAdminTokenFile)
	if err != nil {
		return err
	}
	// A replica never dials Temporal: it needs no payload key.
	cfg.CodecKeyFile = ""
	b, err := service.OpenBase(ctx, cfg, logger, service.LoadKeys)
	if err != nil {
		return err
	}
	r.add(b.Close)
	inf, err := service.StartInference(ctx, b, cfg.ReplicaName, adminToken, 0)
	if err != nil {
		return err
	}
	r.add(inf.Close)
	srv, err := service.Listen(cfg.ReplicaName, cfg.Addr(cfg.InferencePort), inf.Replica.Handler(), logger)
	if err != nil {
		return err
	}
	r.add(srv.Close)
	ops, err := serveOps(b, &r, b.Ready, nil)
	if err != nil {
		return err
	}
	logger.Info("inference replica running", "url", srv.URL(), "model_version", inf.Replica.Version(), "ops", ops.URL())
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

// runConfig validates configuration: `dure config check --role R`.
func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{errors.New("usage: dure config check --role ROLE [--config FILE] [settings...]")}
	}
	var roleName string
	cfg, _, err := serviceFlags("dure config check", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&roleName, "role", "", "the role to check for: "+roleList())
	})
	if err != nil {
		return err
	}
	role, err := config.ParseRole(roleName)
	if err != nil {
		return usageError{err}
	}
	if err := checkRole(&cfg, role); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ok: the configuration of %s is complete\n", role)
	return nil
}

func roleList() string {
	names := make([]string, 0, len(config.Roles()))
	for _, r := range config.Roles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// errNoCeph is returned when the control plane has no Ceph cluster to
// provision on.
var errNoCeph = errors.New("the control plane provisions storage on Ceph: set ceph-env-file")

func startControlPlane(ctx context.Context, b *service.Base, tc client.Client, r *running) error {
	if b.Config.CephEnvFile == "" {
		return errNoCeph
	}
	adminToken, err := config.ReadSecretFile(b.Config.ReplicaAdminTokenFile)
	if err != nil {
		return err
	}
	deps, closeDeps, err := service.ProductionControlPlane(ctx, b)
	if err != nil {
		return err
	}
	r.add(closeDeps)
	deps.ReplicaAdminToken = adminToken
	w, err := service.StartControlPlane(ctx, b, tc, deps)
	if err != nil {
		return err
	}
	r.add(w.Close)
	return nil
}

func startGPUHost(ctx context.Context, b *service.Base, tc client.Client, r *running) error {
	inventory, closeInventory, err := service.OpenInventory(ctx, b.Config.GPUHost, b.Config.GPUInventory, b.Config.LibvirtURI, b.Logger)
	if err != nil {
		return err
	}
	r.add(closeInventory)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	w, err := service.StartGPUHost(ctx, b, tc, b.Config.GPUHost, service.GPUHostDeps{
		Inventory: inventory, TrainerCommand: []string{exe, "train-job"},
	})
	if err != nil {
		return err
	}
	r.add(w.Close)
	return nil
}
