package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/dure-platform/dure/activities/gpu"
	"github.com/dure-platform/dure/activities/hypervisor"
	"github.com/dure-platform/dure/activities/identity"
	"github.com/dure-platform/dure/activities/network"
	"github.com/dure-platform/dure/activities/quality"
	"github.com/dure-platform/dure/activities/serving"
	"github.com/dure-platform/dure/activities/storage"
	"github.com/dure-platform/dure/activities/training"
	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/codec"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/gateway"
	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/internal/inference"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/pii"
	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/tenantapi"
	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/internal/validate"
	"github.com/dure-platform/dure/workers"
	"github.com/dure-platform/dure/workflows"
)

// maxUploadBytes bounds one upload through the gateway.
const maxUploadBytes = 1 << 30

// Platform service identities in the tenant store.
const (
	OwnerPlatform    = "platform"
	OwnerQualityGate = "quality-gate"
)

// Stack is the whole platform in one process: embedded Temporal and S3, the
// workers, two inference replicas, the gateway and the ops endpoint.
type Stack struct {
	Config      config.Config
	Store       *tenancy.Store
	Codec       *codec.AESGCM
	Client      client.Client
	S3Endpoint  objstore.Endpoint
	Platform    tenancy.S3Credential
	QualityGate tenancy.S3Credential
	Registry    *registry.Registry
	Metrics     *prometheus.Registry
	Audit       *audit.Log

	GatewayURL  string
	ReplicaURLs map[string]string
	OpsURL      string
	TokenDir    string

	temporal          *Temporal
	s3                *S3
	workers           []worker.Worker
	servers           []*http.Server
	servingActivities *serving.Activities
	tenantAPI         *tenantAPIBackend
	piiPolicies       tenantPolicies
	hypervisor        *hypervisor.Conn
	nvml              *gpu.Session
	logger            *slog.Logger
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
func (s *Stack) S3Client(cred tenancy.S3Credential) (*minio.Client, error) {
	return objstore.Client(s.S3Endpoint, cred.AccessKey, cred.SecretKey)
}

// Start brings the platform up. On error everything already started is stopped.
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *Stack, err error) {
	if err := cfg.Resolve(); err != nil {
		return nil, err
	}
	s := &Stack{Config: cfg, logger: logger, ReplicaURLs: map[string]string{}, TokenDir: filepath.Join(cfg.DataDir, "tokens")}
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
		{"serving", s.startServing},
		{"temporal", s.startTemporal},
		{"workers", s.startWorkers},
		{"schedules", s.ensureSchedules},
		{"gpu pool", s.ensureGPUPool},
	}
	for _, step := range steps {
		if err := step.run(ctx); err != nil {
			return nil, fmt.Errorf("start %s: %w", step.name, err)
		}
	}
	return s, nil
}

func (s *Stack) openState(context.Context) error {
	if err := os.MkdirAll(s.Config.DataDir, 0o750); err != nil {
		return err
	}
	store, err := tenancy.Open(filepath.Join(s.Config.DataDir, "platform", "tenants.json"))
	if err != nil {
		return err
	}
	s.Store = store
	if s.Audit, err = audit.Open(filepath.Join(s.Config.DataDir, "platform", "audit.jsonl")); err != nil {
		return err
	}
	key, err := codec.LoadOrCreateKey(s.Config.CodecKeyFile)
	if err != nil {
		return err
	}
	if s.Codec, err = codec.New(key); err != nil {
		return err
	}
	if s.Platform, err = store.EnsureS3Credential(OwnerPlatform, "admin"); err != nil {
		return err
	}
	// The quality gate creates (and so owns) staging, quarantine and ai-training.
	s.QualityGate, err = store.EnsureS3Credential(OwnerQualityGate, storage.S3RoleTenant)
	if err != nil {
		return err
	}
	master, err := codec.LoadOrCreateKey(filepath.Join(s.Config.DataDir, "keys", "pii.key"))
	if err != nil {
		return err
	}
	s.piiPolicies = tenantPolicies{store: store, master: master}
	return s.ensurePlatformTokens()
}

// ensurePlatformTokens gives the dev stack's operators an operator and a
// platform-admin token, written once (mode 0600) to the token dir.
func (s *Stack) ensurePlatformTokens() error {
	for _, role := range []tenancy.Role{tenancy.RoleOperator, tenancy.RolePlatformAdmin} {
		path := identity.TokenFile(s.TokenDir, "platform", string(role))
		if _, err := os.Stat(path); err == nil {
			continue
		}
		plain, tok, err := s.Store.IssueToken("", role)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(s.TokenDir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(plain+"\n"), 0o600); err != nil {
			return err
		}
		if err := s.Audit.Append(audit.Event{Action: audit.ActionGrant, Actor: "dure dev", Subject: "token:" + tok.ID, Detail: "role " + string(role)}); err != nil {
			return err
		}
	}
	return nil
}

// tenantPolicies gives each tenant the masking policy named in its record,
// with a pseudonym key derived from the platform's master key and the tenant id,
// so one person maps to one token within a tenant and to different ones across.
type tenantPolicies struct {
	store  *tenancy.Store
	master []byte
}

func (p tenantPolicies) PolicyFor(tenantID string) (pii.Policy, error) {
	var name string
	if t, err := p.store.Tenant(tenantID); err == nil {
		name = t.PIIPolicy
	}
	key, err := pii.TenantKey(p.master, tenantID)
	if err != nil {
		return nil, err
	}
	return pii.ParsePolicy(name, key)
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
	s.S3Endpoint = objstore.Endpoint{Address: s.s3.Endpoint(), Region: s.Config.S3Region}
	return nil
}

func (s *Stack) startTemporal(ctx context.Context) error {
	addr := s.Config.TemporalAddress
	if addr == "" {
		port, err := portOrFree(s.Config.Host, s.Config.TemporalPort)
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
		})
		if err != nil {
			return err
		}
		s.temporal = t
		addr = t.FrontendAddress()
	}
	c, err := client.DialContext(ctx, client.Options{
		HostPort:         addr,
		Namespace:        s.Config.Namespace,
		DataConverter:    s.Codec.DataConverter(),
		FailureConverter: s.Codec.FailureConverter(),
		Logger:           sdklog.NewStructuredLogger(s.logger.With("component", "worker")),
	})
	if err != nil {
		return fmt.Errorf("dial temporal at %s: %w", addr, err)
	}
	s.Client = c
	s.tenantAPI.temporal = c
	return nil
}

func (s *Stack) createPlatformBuckets(ctx context.Context) error {
	owned := map[tenancy.S3Credential][]string{
		s.QualityGate: {objstore.BucketStaging, objstore.BucketQuarantine, objstore.BucketAITraining},
		s.Platform:    {objstore.BucketModelRegistry, objstore.BucketCheckpoints},
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
	s.Registry = registry.New(platform)
	return nil
}

func (s *Stack) startServing(ctx context.Context) error {
	s.Metrics = prometheus.NewRegistry()
	s.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	adminToken, err := randomHex(24)
	if err != nil {
		return err
	}
	loader := registryLoader{registry: s.Registry}
	var replicaURLs []string
	replicaAdmin := map[string]string{}
	for i, port := range s.Config.InferencePorts {
		name := fmt.Sprintf("inference-%d", i+1)
		rep, err := inference.NewReplica(name, loader, adminToken, s.Metrics, s.logger.With("component", name))
		if err != nil {
			return err
		}
		url, err := s.serve(ctx, name, port, rep.Handler())
		if err != nil {
			return err
		}
		replicaURLs = append(replicaURLs, url)
		replicaAdmin[name] = url
	}
	s.ReplicaURLs = replicaAdmin
	gw, err := gateway.New(storeAuthenticator{store: s.Store}, replicaURLs, gateway.Options{}, s.Metrics, s.logger.With("component", "gateway"))
	if err != nil {
		return err
	}
	platform, err := s.S3Client(s.Platform)
	if err != nil {
		return err
	}
	s.tenantAPI = &tenantAPIBackend{store: s.Store, endpoint: s.S3Endpoint, platform: platform, registry: s.Registry, dc: s.Codec.DataConverter()}
	api := tenantapi.New(s.Store, s.tenantAPI, s.Audit, s.logger.With("component", "tenant-api"), maxUploadBytes)
	front := http.NewServeMux()
	front.Handle("/v1/tenants/", api.Handler())
	front.Handle("/v1/models", api.Handler())
	front.Handle("/v1/models/", api.Handler())
	front.Handle("/", gw.Handler())
	if s.GatewayURL, err = s.serve(ctx, "gateway", s.Config.GatewayPort, front); err != nil {
		return err
	}

	ops := http.NewServeMux()
	ops.Handle("/metrics", promhttp.HandlerFor(s.Metrics, promhttp.HandlerOpts{Registry: s.Metrics}))
	uiOrigin := fmt.Sprintf("http://%s", s.Config.Addr(s.Config.UIPort))
	ops.Handle("/codec/", http.StripPrefix("/codec", s.Codec.Handler(uiOrigin)))
	ops.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	if s.OpsURL, err = s.serve(ctx, "ops", s.Config.OpsPort, ops); err != nil {
		return err
	}

	s.servingActivities = &serving.Activities{Replicas: replicaAdmin, AdminToken: adminToken, Registry: s.Registry}
	return nil
}

func (s *Stack) startWorkers(context.Context) error {
	platform, err := s.S3Client(s.Platform)
	if err != nil {
		return err
	}
	gate, err := s.S3Client(s.QualityGate)
	if err != nil {
		return err
	}
	trainer := &training.Activities{
		S3: platform, Registry: s.Registry, WorkDir: filepath.Join(s.Config.DataDir, "work"),
		Options: textclf.DefaultOptions(), TrainerCommand: s.Config.TrainerCommand, CodeVersion: s.Config.CodeVersion,
	}
	if err := os.MkdirAll(trainer.WorkDir, 0o750); err != nil {
		return err
	}
	var hv network.Hypervisor
	if s.Config.LibvirtURI != "" {
		conn, err := hypervisor.Dial(context.Background(), hypervisor.Config{URI: s.Config.LibvirtURI, Logger: s.logger.With("component", "hypervisor")})
		if err != nil {
			return err
		}
		s.hypervisor = conn
		hv = hypervisor.Tenants{Conn: conn, Bridge: s.Config.LibvirtBridge}
	}
	control := worker.New(s.Client, workflows.TaskQueueControlPlane, worker.Options{})
	workers.RegisterControlPlane(control, workers.ControlPlane{
		Storage: &storage.Activities{
			Provisioner: storage.StoreProvisioner{Store: s.Store}, Credentials: s.Store,
			Endpoint: s.S3Endpoint, Platform: s.Platform, QualityGate: s.QualityGate.AccessKey,
		},
		Identity: &identity.Activities{Store: s.Store, TokenDir: s.TokenDir, Audit: s.Audit},
		Network:  &network.Activities{Store: s.Store, Plan: tenancy.DefaultVLANPlan(), Hypervisor: hv},
		GPUQuota: &gpu.QuotaActivities{Store: s.Store, Pool: s.Client},
		GPULease: &gpu.LeaseActivities{Pool: s.Client},
		Training: trainer,
		Serving:  s.servingActivities,
	})
	gateWorker := worker.New(s.Client, workflows.TaskQueueQualityGate, worker.Options{})
	workers.RegisterQualityGate(gateWorker, &quality.Activities{
		S3: gate, Detector: pii.NewDetector(), Rules: validate.DefaultRules(), Policies: s.piiPolicies,
	})
	gpuWorker := worker.New(s.Client, workflows.GPUHostTaskQueue(workflows.DefaultGPUHost), worker.Options{})
	workers.RegisterGPUHost(gpuWorker, trainer, &gpu.Activities{Host: workflows.DefaultGPUHost, Source: s.gpuSource()})

	for _, w := range []worker.Worker{control, gateWorker, gpuWorker} {
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		s.workers = append(s.workers, w)
	}
	return nil
}

// ensureSchedules creates the retraining schedule, or brings an existing one's
// cron spec in line with the configuration, so starting twice changes nothing.
func (s *Stack) ensureSchedules(ctx context.Context) error {
	if s.Config.RetrainCron == "" {
		return nil
	}
	spec := client.ScheduleSpec{CronExpressions: []string{s.Config.RetrainCron}}
	sc := s.Client.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID:   workflows.RetrainingScheduleID,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{
			ID: "retraining", Workflow: "Retraining", TaskQueue: workflows.TaskQueueControlPlane,
			Args: []any{workflows.RetrainingInput{}},
		},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return err
	}
	return sc.GetHandle(ctx, workflows.RetrainingScheduleID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			in.Description.Schedule.Spec = &spec
			return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
		},
	})
}

// gpuSource reads the host's GPUs through NVML, or simulates one 8-GPU host
// where there is no driver (the dev default), and exports them as metrics.
func (s *Stack) gpuSource() gpu.Source {
	var src gpu.Source = gpu.DefaultSimulated(workflows.DefaultGPUHost)
	session, err := gpu.OpenSystem(s.logger)
	if err == nil {
		s.nvml = session
		src = session
	} else {
		s.logger.Info("no NVML on this host: using a simulated 8-GPU inventory", "reason", err)
	}
	s.Metrics.MustRegister(gpu.NewCollector(workflows.DefaultGPUHost, src, gpu.CollectorOptions{Logger: s.logger, Leases: s.poolLeases}))
	return src
}

// poolLeases says, for the metrics, who holds each GPU of a host, as the GPUPool
// workflow's allocation query answers (its GPU ids are "<host>/<index>").
func (s *Stack) poolLeases(ctx context.Context, host string, _ []gpu.GPU) (map[int][]gpu.Lease, error) {
	resp, err := s.Client.QueryWorkflow(ctx, workflows.GPUPoolWorkflowID, "", workflows.QueryGPUAllocation)
	if err != nil {
		return nil, fmt.Errorf("query gpu pool: %w", err)
	}
	var alloc workflows.GPUAllocation
	if err := resp.Get(&alloc); err != nil {
		return nil, err
	}
	out := map[int][]gpu.Lease{}
	for _, g := range alloc.GPUs {
		_, index, ok := strings.Cut(g.GPU, "/")
		i, err := strconv.Atoi(index)
		if g.Host != host || !ok || err != nil {
			continue
		}
		for _, l := range g.Leases {
			out[i] = append(out[i], gpu.Lease{ID: l.Lease, Tenant: l.Tenant})
		}
	}
	return out, nil
}

// ensureGPUPool starts the GPUPool entity workflow unless it runs already. The
// dev stack's inventory is one host ("local", whose task queue runs the
// trainer) of eight H100s, each split into four vGPU slices; tenant quotas are
// in slices. The platform's shared training holds no quota: it borrows.
func (s *Stack) ensureGPUPool(ctx context.Context) error {
	tenants := []gpupool.TenantConfig{{Name: workflows.DefaultGPUTenant, Quota: 0}}
	for tenant, q := range s.Store.GPUQuotas() {
		tenants = append(tenants, gpupool.TenantConfig{Name: tenant, Quota: q})
	}
	slices.SortFunc(tenants, func(a, b gpupool.TenantConfig) int { return strings.Compare(a.Name, b.Name) })
	host := gpupool.HostConfig{Name: workflows.DefaultGPUHost}
	for i := range 8 {
		host.GPUs = append(host.GPUs, gpupool.GPUConfig{ID: fmt.Sprintf("%s/%d", host.Name, i), Model: "H100", Profile: "H100-20C", Slices: 4})
	}
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.GPUPoolWorkflowID, TaskQueue: workflows.TaskQueueControlPlane,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, "GPUPool", workflows.GPUPoolInput{
		Hosts: []gpupool.HostConfig{host}, UnitsPerGPU: 4, Tenants: tenants,
	})
	return err
}

// serve starts an HTTP server and returns its base URL.
func (s *Stack) serve(_ context.Context, name string, port int, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", s.Config.Addr(port))
	if err != nil {
		return "", fmt.Errorf("%s: listen: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("server stopped", "server", name, "err", err)
		}
	}()
	return "http://" + l.Addr().String(), nil
}

// Close stops everything in the reverse order of Start.
func (s *Stack) Close() error {
	var errs []error
	if s.temporal != nil {
		// Stopping workers cancels their long polls, which the server logs as errors.
		s.temporal.quiet()
	}
	for _, w := range s.workers {
		w.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.hypervisor != nil {
		errs = append(errs, s.hypervisor.Close())
	}
	if s.nvml != nil {
		errs = append(errs, s.nvml.Close())
	}
	if s.temporal != nil {
		errs = append(errs, s.temporal.Stop())
	}
	if s.s3 != nil {
		errs = append(errs, s.s3.Stop())
	}
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

// registryLoader loads model versions for the inference replicas.
type registryLoader struct {
	registry *registry.Registry
}

func (l registryLoader) LoadModel(ctx context.Context, version int) (inference.Classifier, error) {
	rc, err := l.registry.OpenArtifact(ctx, version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	m, err := textclf.Load(rc)
	if err != nil {
		return nil, fmt.Errorf("load model version %d: %w", version, err)
	}
	return classifier{m}, nil
}

type classifier struct{ m *textclf.Model }

func (c classifier) Classify(title, body string) (string, float64) {
	p := c.m.Predict(title, body)
	return p.Label, p.Score
}

// storeAuthenticator checks gateway bearer tokens against the tenant store.
type storeAuthenticator struct {
	store *tenancy.Store
}

func (a storeAuthenticator) Authenticate(_ context.Context, token string) (gateway.Principal, error) {
	tok, err := a.store.Authenticate(token)
	if err != nil {
		return gateway.Principal{}, gateway.ErrUnauthenticated
	}
	return gateway.Principal{Tenant: tok.Tenant, Role: string(tok.Role), TokenID: tok.ID}, nil
}
