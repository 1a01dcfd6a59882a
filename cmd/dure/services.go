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
	"github.com/dure-platform/dure/internal/uiauth"
)

// serviceFlags parses a command's settings (flags, DURE_* environment, config
// file) and makes their paths absolute.
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

// checkRole validates the settings for role, so a service that would fail
// later refuses to start now, with every problem listed.
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

// running is one service process while it runs: its settings and shared
// state, what it started (stopped in reverse order), and what its ops
// endpoint serves.
type running struct {
	cfg     config.Config
	base    *service.Base
	logger  *slog.Logger
	closers []func() error
	// tc is the Temporal client, for roles that dial it.
	tc client.Client
	// ready answers /healthz; extra are more ops routes; info is logged
	// once the service runs.
	ready func(context.Context) error
	extra map[string]http.Handler
	info  []any
}

func (r *running) add(c func() error) { r.closers = append(r.closers, c) }

func (r *running) close() {
	for _, c := range slices.Backward(r.closers) {
		if err := c(); err != nil {
			r.logger.Warn("shutdown", "err", err)
		}
	}
}

// dialTemporal connects the service to Temporal; from then on /healthz also
// reports the frontend's health.
func (r *running) dialTemporal(ctx context.Context, component string) error {
	tc, err := r.base.DialTemporal(ctx, component)
	if err != nil {
		return err
	}
	r.tc = tc
	r.add(func() error { tc.Close(); return nil })
	r.ready = func(ctx context.Context) error {
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		return r.base.Ready(ctx)
	}
	return nil
}

// listen serves h on port until the service stops.
func (r *running) listen(name string, port int, h http.Handler) (*service.Server, error) {
	srv, err := service.Listen(name, r.cfg.Addr(port), h, r.logger)
	if err != nil {
		return nil, err
	}
	r.add(srv.Close)
	return srv, nil
}

// serviceCommand is what differs between the service commands.
type serviceCommand struct {
	name string
	// flags adds the command's own flags; role then names the role to check
	// the settings for, once they are parsed.
	flags func(*flag.FlagSet)
	role  func(config.Config) (config.Role, error)
	// start starts the role; the service then runs until its context ends.
	start func(context.Context, *running) error
}

// runService is every service's life: parse and check the settings, open
// the shared state, start the role, serve the ops endpoint, run until
// SIGTERM or Ctrl-C, stop what was started in reverse order.
func runService(ctx context.Context, cmd serviceCommand, args []string, stderr io.Writer) error {
	cfg, fs, err := serviceFlags("dure "+cmd.name, args, stderr, cmd.flags)
	if err != nil {
		return err
	}
	role, err := cmd.role(cfg)
	if err != nil {
		return usageError{err}
	}
	if err := checkRole(&cfg, role); err != nil {
		return err
	}
	if role == config.RoleInference {
		cfg.CodecKeyFile = "" // a replica never dials Temporal: it needs no payload key
	}
	r := &running{cfg: cfg, logger: serviceLogger(fs, stderr, string(role))}
	defer r.close()
	if r.base, err = service.OpenBase(ctx, cfg, r.logger, service.LoadKeys); err != nil {
		return err
	}
	r.add(r.base.Close)
	r.ready = r.base.Ready
	if err := cmd.start(ctx, r); err != nil {
		return err
	}
	ops := service.Ops{Metrics: r.base.Metrics, Ready: r.ready, Extra: r.extra}
	srv, err := r.listen("ops", cfg.OpsPort, ops.Handler())
	if err != nil {
		return err
	}
	r.logger.Info(string(role)+" running", append(r.info, "ops", srv.URL())...)
	<-ctx.Done()
	r.logger.Info("shutting down")
	return nil
}

// runWorker runs one worker role: the control plane, the quality gate or a
// GPU host agent.
func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	var roleName string
	return runService(ctx, serviceCommand{
		name:  "worker",
		flags: func(fs *flag.FlagSet) { fs.StringVar(&roleName, "role", "", "control-plane, quality-gate or gpu-host") },
		role: func(config.Config) (config.Role, error) {
			role, err := config.ParseRole(roleName)
			if err != nil || !slices.Contains(config.WorkerRoles(), role) {
				return "", fmt.Errorf("--role must be control-plane, quality-gate or gpu-host, not %q", roleName)
			}
			return role, nil
		},
		start: func(ctx context.Context, r *running) error {
			if err := r.dialTemporal(ctx, roleName); err != nil {
				return err
			}
			r.info = []any{"temporal", r.cfg.TemporalAddress, "namespace", r.cfg.Namespace, "s3", r.cfg.S3Endpoint}
			switch config.Role(roleName) {
			case config.RoleControlPlane:
				return startControlPlane(ctx, r)
			case config.RoleQualityGate:
				w, err := service.StartQualityGate(ctx, r.base, r.tc)
				if err != nil {
					return err
				}
				r.add(w.Close)
				return nil
			default:
				return startGPUHost(ctx, r)
			}
		},
	}, args, stderr)
}

// runGateway runs the API gateway.
func runGateway(ctx context.Context, args []string, _, stderr io.Writer) error {
	return runService(ctx, serviceCommand{
		name: "gateway",
		role: func(config.Config) (config.Role, error) { return config.RoleGateway, nil },
		start: func(ctx context.Context, r *running) error {
			if err := r.dialTemporal(ctx, "gateway"); err != nil {
				return err
			}
			urls := make([]string, 0, len(r.cfg.Replicas))
			for _, rep := range r.cfg.Replicas {
				urls = append(urls, rep.URL)
			}
			clientToken, err := config.ReadSecretFile(r.cfg.ReplicaClientTokenFile)
			if err != nil {
				return err
			}
			h, err := service.NewGateway(ctx, r.base, r.tc, urls, clientToken)
			if err != nil {
				return err
			}
			srv, err := r.listen("gateway", r.cfg.GatewayPort, h)
			if err != nil {
				return err
			}
			r.info = []any{"url", srv.URL(), "replicas", urls}
			return nil
		},
	}, args, stderr)
}

// runInference runs one inference replica.
func runInference(ctx context.Context, args []string, _, stderr io.Writer) error {
	return runService(ctx, serviceCommand{
		name: "inference",
		role: func(config.Config) (config.Role, error) { return config.RoleInference, nil },
		start: func(ctx context.Context, r *running) error {
			adminToken, err := config.ReadSecretFile(r.cfg.ReplicaAdminTokenFile)
			if err != nil {
				return err
			}
			clientToken, err := config.ReadSecretFile(r.cfg.ReplicaClientTokenFile)
			if err != nil {
				return err
			}
			inf, err := service.StartInference(ctx, r.base, r.cfg.ReplicaName, adminToken, clientToken, 0)
			if err != nil {
				return err
			}
			r.add(inf.Close)
			srv, err := r.listen(r.cfg.ReplicaName, r.cfg.InferencePort, inf.Replica.Handler())
			if err != nil {
				return err
			}
			r.info = []any{"replica", r.cfg.ReplicaName, "url", srv.URL(), "model_version", inf.Replica.Version()}
			return nil
		},
	}, args, stderr)
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

func startControlPlane(ctx context.Context, r *running) error {
	if r.cfg.CephEnvFile == "" {
		return errNoCeph
	}
	adminToken, err := config.ReadSecretFile(r.cfg.ReplicaAdminTokenFile)
	if err != nil {
		return err
	}
	deps, closeDeps, err := service.ProductionControlPlane(ctx, r.base)
	if err != nil {
		return err
	}
	r.add(closeDeps)
	deps.ReplicaAdminToken = adminToken
	w, err := service.StartControlPlane(ctx, r.base, r.tc, deps)
	if err != nil {
		return err
	}
	r.add(w.Close)
	// The Web UI decodes payloads here; the management network reaches it.
	var users *uiauth.Verifier
	if r.cfg.UIUsersJWKSURL != "" {
		users = uiauth.NewVerifier(r.cfg.UIUsersJWKSURL)
	}
	r.extra = map[string]http.Handler{"/codec/": http.StripPrefix("/codec", r.base.CodecEndpoint(r.cfg.CodecOrigins, users, r.cfg.CodecWithoutCredential))}
	return nil
}

func startGPUHost(ctx context.Context, r *running) error {
	cfg := r.cfg
	inventory, closeInventory, err := service.OpenInventory(ctx, cfg.GPUHost, cfg.GPUInventory, cfg.LibvirtURI, r.logger)
	if err != nil {
		return err
	}
	r.add(closeInventory)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	w, err := service.StartGPUHost(ctx, r.base, r.tc, cfg.GPUHost, service.GPUHostDeps{
		Inventory: inventory, TrainerCommand: []string{exe, "train-job"},
	})
	if err != nil {
		return err
	}
	r.add(w.Close)
	r.info = append(r.info, "gpu_host", cfg.GPUHost, "inventory", cfg.GPUInventory)
	return nil
}
