package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/activities/storage"
	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/codec"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/pki"
	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/internal/roles"
	"github.com/dure-platform/dure/internal/service"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// Stack is the whole platform in one process: embedded Temporal and S3, and
// every role of internal/service (workers, two inference replicas, the
// gateway) plus one ops endpoint.
type Stack struct {
	Config      config.Config
	Base        *service.Base
	Store       *tenancy.Store
	Codec       *codec.AESGCM
	Client      client.Client
	S3Endpoint  objstore.Endpoint
	Platform    tenancy.S3Credential
	QualityGate tenancy.S3Credential
	Registry    *registry.Registry
	Audit       *audit.Log

	GatewayURL  string
	ReplicaURLs map[string]string
	OpsURL      string
	TokenDir    string

	temporal *Temporal
	s3       *S3
	// closers stop what Start started, newest first.
	closers []func() error
	// adminToken loads models on the replicas; clientToken is the
	// gateway's, the only caller they classify for.
	adminToken  string
	clientToken string
	logger      *slog.Logger
}

// TemporalUIURL is the Web UI's address, empty when it is off or external.
func (s *Stack) TemporalUIURL() string {
	if s.temporal == nil {
		return ""
	}
	return s.temporal.UIURL()
}

// TemporalAddress is the frontend the workers dial.
func (s *Stack) TemporalAddress() string {
	if s.temporal == nil {
		return s.Config.TemporalAddress
	}
	return s.temporal.FrontendAddress()
}

// S3Client returns a client for one identity.
// DialOperator connects to the embedded Temporal server as the operator
// called name, with a certificate of the local CA (operator:NAME): history
// records such a client's decisions as that operator's.
func (s *Stack) DialOperator(ctx context.Context, name string) (client.Client, error) {
	if s.temporal == nil {
		return nil, errors.New("no embedded Temporal server: operators of an external one hold certificates of its CA")
	}
	return s.dialAs(ctx, roles.OperatorNamed(name))
}

// dialAs connects to the embedded Temporal server with a certificate of the
// local CA for principal.
func (s *Stack) dialAs(ctx context.Context, principal string) (client.Client, error) {
	ca, err := pki.OpenAuthority(filepath.Join(s.Config.DataDir, "pki"))
	if err != nil {
		return nil, err
	}
	cert, err := ca.Issue(principal)
	if err != nil {
		return nil, err
	}
	cfg := s.Base.Config
	cfg.TemporalTLS.CertFile, cfg.TemporalTLS.KeyFile = cert.CertFile, cert.KeyFile
	return service.DialTemporal(ctx, cfg, s.Codec, s.logger.With("component", "temporal-client", "principal", principal))
}

func (s *Stack) S3Client(cred tenancy.S3Credential) (*minio.Client, error) {
	return objstore.Client(s.S3Endpoint, cred.AccessKey, cred.SecretKey)
}

// Start brings the platform up. On error everything already started is stopped.
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *Stack, err error) {
	if err := cfg.Resolve(); err != nil {
		return nil, err
	}
	cfg.DevDefaults()
	service.PrivateFiles()
	if len(cfg.InferencePorts) == 0 {
		return nil, errors.New("at least one inference port is needed")
	}
	s := &Stack{Config: cfg, logger: logger, ReplicaURLs: map[string]string{}, TokenDir: service.TokenDir(cfg.DataDir)}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"state", s.openState},
		{"s3", s.startS3},
		{"buckets", s.createPlatformBuckets},
		{"ops", s.startOps},
		{"temporal", s.startTemporal},
		{"inference", s.startInference},
		{"workers", s.startWorkers},
		{"gateway", s.startGateway},
	}
	for _, step := range steps {
		if err := step.run(ctx); err != nil {
			return nil, fmt.Errorf("start %s: %w", step.name, err)
		}
	}
	return s, nil
}

// openState opens the metadata database in the data dir (making its keys on
// first start) and the platform's two S3 identities of the embedded server.
func (s *Stack) openState(ctx context.Context) error {
	if err := os.MkdirAll(s.Config.DataDir, 0o700); err != nil {
		return err
	}
	// Older builds kept the platform's records in JSON files of the data dir;
	// starting on a fresh database would strand their tenants' buckets.
	if _, err := os.Stat(filepath.Join(s.Config.DataDir, "platform", "tenants.json")); err == nil {
		return fmt.Errorf("%s was written by an older dure that kept its records in platform/tenants.json; "+
			"start with another --data-dir (or remove this one) to begin on the metadata database", s.Config.DataDir)
	}
	base, err := service.OpenBase(ctx, s.Config, s.logger, service.CreateKeys)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, base.Close)
	s.Base, s.Store, s.Codec, s.Audit = base, base.Store, base.Codec, base.Audit
	if s.Platform, err = s.Store.EnsureS3Credential(ctx, service.OwnerPlatform, "admin"); err != nil {
		return err
	}
	// The quality gate creates (and so owns) staging, quarantine and ai-training.
	s.QualityGate, err = s.Store.EnsureS3Credential(ctx, service.OwnerQualityGate, storage.S3RoleTenant)
	return err
}

func (s *Stack) startS3(ctx context.Context) error {
	port, err := portOrFree(s.Config.Host, s.Config.S3Port)
	if err != nil {
		return err
	}
	s.s3, err = StartS3(ctx, S3Config{
		RootDir: filepath.Join(s.Config.DataDir, "s3"), Host: s.Config.Host, Port: port,
		Region: s.Config.S3Region, Root: s.Platform, Identities: s.Store, Quotas: s.Store,
	})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, s.s3.Stop)
	s.S3Endpoint = objstore.Endpoint{Address: s.s3.Endpoint(), Region: s.Config.S3Region}
	s.Config.S3Endpoint = s.S3Endpoint.Address
	s.Base.Config.S3Endpoint, s.Base.S3 = s.S3Endpoint.Address, s.S3Endpoint
	return nil
}

func (s *Stack) createPlatformBuckets(ctx context.Context) error {
	owned := map[tenancy.S3Credential][]string{
		s.QualityGate: {objstore.BucketStaging, objstore.BucketQuarantine, objstore.BucketAITraining},
		s.Platform:    {objstore.BucketModelRegistry, objstore.BucketCheckpoints, objstore.BucketAudit},
	}
	for cred, buckets := range owned {
		c, err := s.S3Client(cred)
		if err != nil {
			return err
		}
		for _, b := range buckets {
			if err := objstore.EnsureBucket(ctx, c, b, s.Config.S3Region); err != nil {
				return err
			}
		}
	}
	platform, err := s.S3Client(s.Platform)
	if err != nil {
		return err
	}
	s.Registry = registry.New(platform, s.Base.DB)
	return nil
}

// startOps serves /metrics, /healthz and the payload codec endpoint for the
// Web UI; it starts before Temporal, whose UI is told the codec's address.
func (s *Stack) startOps(context.Context) error {
	uiOrigin := fmt.Sprintf("http://%s", s.Config.Addr(s.Config.UIPort))
	ops := service.Ops{Metrics: s.Base.Metrics, Extra: map[string]http.Handler{
		// The dev UI has no login and is an operator console for whoever
		// reaches loopback; its codec endpoint asks for no more.
		"/codec/": http.StripPrefix("/codec", s.Codec.Handler(codec.EndpointOptions{Origins: []string{uiOrigin}})),
	}}
	srv, err := s.listen("ops", s.Config.OpsPort, ops.Handler())
	if err != nil {
		return err
	}
	s.OpsURL = srv.URL()
	return nil
}

func (s *Stack) startTemporal(ctx context.Context) error {
	if s.Config.TemporalAddress == "" {
		port, err := portOrFree(s.Config.Host, s.Config.TemporalPort)
		if err != nil {
			return err
		}
		serverTLS, clientTLS, err := DevPKI(filepath.Join(s.Config.DataDir, "pki"), s.Config.Host)
		if err != nil {
			return err
		}
		t, err := StartTemporal(ctx, TemporalConfig{
			DatabaseFile:  filepath.Join(s.Config.DataDir, "temporal", "temporal.db"),
			Host:          s.Config.Host,
			FrontendPort:  port,
			UIPort:        s.Config.UIPort,
			Namespace:     s.Config.Namespace,
			CodecEndpoint: s.OpsURL + "/codec",
			Logger:        s.logger,
			TLS:           &serverTLS,
		})
		if err != nil {
			return err
		}
		s.temporal = t
		s.closers = append(s.closers, t.Stop)
		s.Base.Config.TemporalAddress = t.FrontendAddress()
		s.Base.Config.TemporalTLS, s.Config.TemporalTLS = clientTLS, clientTLS
	}
	c, err := s.Base.DialTemporal(ctx, "worker")
	if err != nil {
		return err
	}
	s.Client = c
	s.closers = append(s.closers, func() error { c.Close(); return nil })
	return nil
}

// startInference runs the replicas, which the control plane promotes models
// on and the gateway routes to.
func (s *Stack) startInference(ctx context.Context) error {
	var err error
	if s.adminToken, err = randomHex(24); err != nil {
		return err
	}
	if s.clientToken, err = randomHex(24); err != nil {
		return err
	}
	var replicas []config.Replica
	for i, port := range s.Config.InferencePorts {
		name := fmt.Sprintf("inference-%d", i+1)
		inf, err := service.StartInference(ctx, s.Base, name, s.adminToken, s.clientToken, 0)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, inf.Close)
		srv, err := s.listen(name, port, inf.Replica.Handler())
		if err != nil {
			return err
		}
		s.ReplicaURLs[name] = srv.URL()
		replicas = append(replicas, config.Replica{Name: name, URL: srv.URL()})
	}
	s.Config.Replicas, s.Base.Config.Replicas = replicas, replicas
	return nil
}

func (s *Stack) startWorkers(ctx context.Context) error {
	deps := service.ControlPlaneDeps{
		Provisioner:          storage.StoreProvisioner{Store: s.Store},
		QualityGatePrincipal: s.QualityGate.AccessKey,
		ReplicaAdminToken:    s.adminToken,
		TokenDir:             s.TokenDir,
	}
	hv, closeHV, err := service.OpenHypervisor(ctx, s.Config, s.logger)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, closeHV)
	deps.Hypervisor = hv
	control, err := service.StartControlPlane(ctx, s.Base, s.Client, deps)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, control.Close)
	gate, err := service.StartQualityGate(ctx, s.Base, s.Client)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, gate.Close)
	// NVML where a driver answers, else a simulated 8-GPU host: the dev default.
	inventory, closeInventory, err := service.OpenInventory(ctx, workflows.DefaultGPUHost, service.InventoryAuto, "", s.logger)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, closeInventory)
	host, err := service.StartGPUHost(ctx, s.Base, s.Client, workflows.DefaultGPUHost, service.GPUHostDeps{
		Inventory: inventory, TrainerCommand: s.Config.TrainerCommand,
	})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, host.Close)
	return nil
}

func (s *Stack) startGateway(ctx context.Context) error {
	urls := make([]string, 0, len(s.Config.Replicas))
	for _, r := range s.Config.Replicas {
		urls = append(urls, r.URL)
	}
	// The gateway speaks to Temporal as the gateway, as in a deployment:
	// the decisions it sends are recorded as the operators it vouches for.
	tc := s.Client
	if s.temporal != nil {
		c, err := s.dialAs(ctx, roles.Gateway)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, func() error { c.Close(); return nil })
		tc = c
	}
	h, err := service.NewGateway(ctx, s.Base, tc, urls, s.clientToken)
	if err != nil {
		return err
	}
	srv, err := s.listen("gateway", s.Config.GatewayPort, h)
	if err != nil {
		return err
	}
	s.GatewayURL = srv.URL()
	return nil
}

// listen serves h on the configured host and port, until Close.
func (s *Stack) listen(name string, port int, h http.Handler) (*service.Server, error) {
	srv, err := service.Listen(name, s.Config.Addr(port), h, s.logger)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, srv.Close)
	return srv, nil
}

// Close stops everything in the reverse order of Start.
func (s *Stack) Close() error {
	if s.temporal != nil {
		// Stopping workers cancels their long polls, which the server logs as errors.
		s.temporal.quiet()
	}
	var errs []error
	for _, c := range slices.Backward(s.closers) {
		errs = append(errs, c())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// portOrFree returns port, or a free one when port is 0.
func portOrFree(host string, port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	return FreePort(host)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
