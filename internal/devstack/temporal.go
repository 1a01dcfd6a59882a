// Package devstack runs the embedded infrastructure behind `dure dev` and the
// integration tests: a Temporal server on a SQLite file (or on PostgreSQL, for
// `dure temporal`) with its Web UI, and an S3 server whose identities come from
// the platform's tenant records.
//
// Only cmd/ and tests/ import this package; it links the Temporal server, which is
// large and slow to build, so domain packages must stay free of it.
package devstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/dure-platform/dure/internal/uiauth"
)

// TemporalConfig says where the embedded Temporal server keeps its state and listens.
type TemporalConfig struct {
	// DatabaseFile is the SQLite file; empty keeps everything in memory. Unused
	// when Postgres is set.
	DatabaseFile string
	// Postgres, when set, keeps the server's state in PostgreSQL instead of SQLite.
	Postgres *TemporalPostgres
	// Host is the IP every service binds to (127.0.0.1 in dev).
	Host string
	// FrontendPort is the gRPC port clients and workers dial.
	FrontendPort int
	// UIPort serves the Temporal Web UI; 0 disables it.
	UIPort int
	// Namespace is created at start when it does not exist yet.
	Namespace string
	// NamespaceRetention is how long the namespace keeps closed workflows when
	// this start creates it (default 24h); an existing namespace is left as it is.
	NamespaceRetention time.Duration
	// CodecEndpoint, when set, tells the UI where to decode encrypted payloads.
	CodecEndpoint string
	// Logger receives dure's own lines and the server's warnings and errors.
	Logger *slog.Logger
	// TLS, when set, makes the frontend and the server's own services speak
	// mutual TLS: a client without a certificate of TLS.ClientCAFile is
	// refused before any call.
	TLS *TemporalTLS
	// UILogin, when set, makes the Web UI log its users in; UIUsers checks
	// the access tokens it then forwards, and the frontend takes the UI's
	// calls as that user's. Without them the UI has no login and acts as
	// an operator for whoever reaches it.
	UILogin *UILogin
	UIUsers *uiauth.Verifier
}

// UILogin is the OpenID Connect provider the Web UI logs users in with.
type UILogin struct {
	ProviderURL, ClientID, ClientSecret, CallbackURL string
}

// TemporalTLS are the server's certificates.
type TemporalTLS struct {
	// CertFile and KeyFile are the server's certificate, for the frontend
	// and between its own services; ServerName is a name it carries, which
	// the server's own clients check (default: the host).
	CertFile, KeyFile string
	ServerName        string
	// ClientCAFile signs the certificates clients must present (and the
	// server's own).
	ClientCAFile string
	// InternalCertFile and InternalKeyFile are the client certificate of
	// the server's system worker.
	InternalCertFile, InternalKeyFile string
	// UICertFile and UIKeyFile are the Web UI's (CN web-ui): the authorizer
	// lets it do what its user may.
	UICertFile, UIKeyFile string
}

// serverName is the name the server's own clients verify.
func (t TemporalTLS) serverName(host string) string {
	if t.ServerName != "" {
		return t.ServerName
	}
	return host
}

// clientConfig is what a client of this server presents and trusts.
func (t TemporalTLS) clientConfig(host string) (*tls.Config, error) {
	pem, err := os.ReadFile(t.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("temporal tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("temporal tls: %s holds no certificate", t.ClientCAFile)
	}
	cert, err := tls.LoadX509KeyPair(t.InternalCertFile, t.InternalKeyFile)
	if err != nil {
		return nil, fmt.Errorf("temporal tls: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: t.serverName(host)}, nil
}

// rootTLS is the server's TLS configuration: client certificates required
// on the frontend and between its services.
func (t TemporalTLS) rootTLS(host string) config.RootTLS {
	server := config.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFiles: []string{t.ClientCAFile}, RequireClientAuth: true}
	client := config.ClientTLS{ServerName: t.serverName(host), RootCAFiles: []string{t.ClientCAFile}}
	return config.RootTLS{
		Internode:    config.GroupTLS{Server: server, Client: client},
		Frontend:     config.GroupTLS{Server: server, Client: client},
		SystemWorker: config.WorkerTLS{CertFile: t.InternalCertFile, KeyFile: t.InternalKeyFile, Client: client},
	}
}

// Temporal is a running embedded Temporal server (+ UI).
type Temporal struct {
	server   temporal.Server
	ui       *uiserver.Server
	logLevel *slog.LevelVar
	address  string
	uiURL    string
	schema   []SchemaChange
}

// FrontendAddress is the host:port that SDK clients dial.
func (t *Temporal) FrontendAddress() string { return t.address }

// UIURL is the Web UI's base URL, empty when the UI is disabled.
func (t *Temporal) UIURL() string { return t.uiURL }

// SchemaChanges says what this start did to the PostgreSQL schema (one entry per
// database); empty on SQLite.
func (t *Temporal) SchemaChanges() []SchemaChange { return t.schema }

// StartTemporal starts the server and, when configured, the UI, and returns once the
// frontend accepts connections.
func StartTemporal(ctx context.Context, cfg TemporalConfig) (*Temporal, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	began := time.Now()
	// The server is chatty at info level; dure's own log says what matters.
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	serverLog := newServerLogger(slog.New(cfg.Logger.Handler()).With("component", "temporal"), level)

	if err := checkFree(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.FrontendPort))); err != nil {
		return nil, err
	}
	if cfg.UIPort > 0 {
		if err := checkFree(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.UIPort))); err != nil {
			return nil, err
		}
	}
	var (
		persistence config.Persistence
		schema      []SchemaChange
	)
	if cfg.Postgres != nil {
		pg := cfg.Postgres.withDefaults()
		if err := pg.validate(); err != nil {
			return nil, err
		}
		changes, err := preparePostgres(ctx, pg, serverLog)
		if err != nil {
			return nil, err
		}
		schema = changes
		cfg.Logger.Info("temporal schema ready on postgresql", describeChanges(schema)...)
		persistence = pg.persistence()
	} else {
		sqlCfg, err := prepareSQLite(cfg)
		if err != nil {
			return nil, err
		}
		persistence = sqlitePersistence(sqlCfg)
	}
	// Asked for after the schema work, which can take a second on PostgreSQL, so
	// that the ports are still free when the services bind them.
	ports, err := freePorts(cfg.Host, 3) // history, matching, worker
	if err != nil {
		return nil, err
	}
	serverCfg := serverConfig(cfg, persistence, ports)

	dyn := dynamicconfig.StaticClient{
		// No outbound network here, and none wanted from a dev stack.
		dynamicconfig.EnableServerVersionCheck.Key(): false,
		// Schedules, Updates and the UI's Start Workflow need these on.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		// The authorizer's principal reaches stampSender, and history records
		// who sent each signal.
		dynamicconfig.EnablePrincipalPropagation.Key(): true,
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range serverCfg.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(cfg.Host, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	opts := []temporal.ServerOption{
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(serverCfg),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(serverLog),
		temporal.WithDynamicConfigClient(dyn),
		temporal.WithCustomMetricsHandler(metrics.NoopMetricsHandler),
		temporal.WithChainedFrontendGrpcInterceptors(stampSender),
	}
	claims := certClaims{}
	if cfg.UIUsers != nil {
		claims.users = cfg.UIUsers
	}
	if cfg.TLS != nil {
		// With client certificates, each caller's role decides what it may call.
		opts = append(opts,
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claims }),
			temporal.WithAuthorizer(roleAuthorizer{logger: cfg.Logger.With("component", "temporal-authorizer")}))
	}
	srv, err := temporal.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("create temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	t := &Temporal{server: srv, logLevel: level, address: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.FrontendPort)), schema: schema}
	if err := waitForTCP(ctx, t.address, 30*time.Second); err != nil {
		_ = t.Stop()
		return nil, err
	}
	if cfg.Postgres != nil {
		retention := cfg.NamespaceRetention
		if retention == 0 {
			retention = defaultNamespaceRetention
		}
		if err := registerNamespace(ctx, t.address, cfg, retention, serverLog.logger); err != nil {
			_ = t.Stop()
			return nil, err
		}
		cfg.Logger.Info("temporal server ready on postgresql", "frontend", t.address, "namespace", cfg.Namespace, "took", time.Since(began).Round(time.Millisecond))
	}
	if cfg.UIPort > 0 {
		if err := t.startUI(ctx, cfg); err != nil {
			_ = t.Stop()
			return nil, err
		}
	}
	return t, nil
}

func (t *Temporal) startUI(ctx context.Context, cfg TemporalConfig) error {
	uiCfg := &uiconfig.Config{
		TemporalGRPCAddress: t.address,
		Host:                cfg.Host,
		Port:                cfg.UIPort,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespace,
		DisableNewsFetch:    true,
		HideLogs:            true,
		Distribution:        "dure",
		// The UI and the codec endpoint are served over plain HTTP on loopback.
		CORS:  uiconfig.CORS{CookieInsecure: true},
		Codec: uiconfig.Codec{Endpoint: cfg.CodecEndpoint},
	}
	if t := cfg.TLS; t != nil {
		uiCfg.TLS = uiconfig.TLS{CaFile: t.ClientCAFile, CertFile: t.UICertFile, KeyFile: t.UIKeyFile,
			ServerName: t.serverName(cfg.Host), EnableHostVerification: true}
	}
	if l := cfg.UILogin; l != nil {
		// The UI forwards its user's access token to the frontend and, for
		// the codec endpoint, from the browser.
		uiCfg.Auth = uiconfig.Auth{Enabled: true, Providers: []uiconfig.AuthProvider{{
			Label: "dure operators", Type: "oidc", ProviderURL: l.ProviderURL, ClientID: l.ClientID,
			ClientSecret: l.ClientSecret, CallbackURL: l.CallbackURL, Scopes: []string{"openid", "profile", "email"},
		}}}
		uiCfg.Codec.PassAccessToken = true
		uiCfg.CORS.CookieInsecure = false
	}
	t.ui = uiserver.NewServer(uioptions.WithConfigProvider(uiCfg))
	go func() {
		if err := t.ui.Start(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("temporal ui stopped", "err", err)
		}
	}()
	t.uiURL = fmt.Sprintf("http://%s", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.UIPort)))
	return waitForTCP(ctx, net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.UIPort)), 10*time.Second)
}

// quiet raises the server's log level for an orderly shutdown, whose expected
// errors (cancelled polls, services stopping in turn) say nothing.
func (t *Temporal) quiet() { t.logLevel.Set(slog.LevelError + 4) }

// Stop shuts the UI and the server down.
func (t *Temporal) Stop() error {
	if t.ui != nil {
		t.ui.Stop()
	}
	t.quiet()
	return t.server.Stop()
}

func prepareSQLite(cfg TemporalConfig) (*config.SQL, error) {
	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		DatabaseName:      "dure-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	fresh := true
	if cfg.DatabaseFile != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.DatabaseFile), 0o700); err != nil {
			return nil, fmt.Errorf("create temporal data dir: %w", err)
		}
		_, statErr := os.Stat(cfg.DatabaseFile)
		fresh = errors.Is(statErr, os.ErrNotExist)
		sqlCfg.DatabaseName = cfg.DatabaseFile
		sqlCfg.ConnectAttributes = map[string]string{"mode": "rwc", "_journal_mode": "WAL", "_busy_timeout": "5000"}
	}
	if fresh {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("set up temporal schema: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if cfg.NamespaceRetention > 0 {
		ns.Detail.Config.Retention = durationpb.New(cfg.NamespaceRetention)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("create namespace %q: %w", cfg.Namespace, err)
	}
	return sqlCfg, nil
}

const clusterName = "active"

// defaultNamespaceRetention matches what sqliteschema.NewNamespaceConfig sets.
const defaultNamespaceRetention = 24 * time.Hour

func sqlitePersistence(sqlCfg *config.SQL) config.Persistence {
	return config.Persistence{
		DefaultStore:     "sqlite",
		VisibilityStore:  "sqlite",
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{"sqlite": {SQL: sqlCfg}},
	}
}

// clusterID is fixed so that a restarted server recognises its own database. The
// server stores it on the first start and reads it back on later ones.
const clusterID = "5d3b8a52-6f1e-4d0c-9a8e-0d0e0a5e7d01"

func serverConfig(cfg TemporalConfig, persistence config.Persistence, ports []int) *config.Config {
	svc := func(grpc, membership int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: cfg.Host}}
	}
	frontendAddr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.FrontendPort))
	return &config.Config{
		Persistence: persistence,
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontendAddr, ClusterID: clusterID},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": svc(cfg.FrontendPort, 0),
			"history":  svc(ports[0], 0),
			"matching": svc(ports[1], 0),
			"worker":   svc(ports[2], 0),
		},
		Archival:          config.Archival{History: config.HistoryArchival{State: "disabled"}, Visibility: config.VisibilityArchival{State: "disabled"}},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{History: config.HistoryArchivalNamespaceDefaults{State: "disabled"}, Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"}}},
		PublicClient:      config.PublicClient{HostPort: frontendAddr},
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second},
			TLS:        tlsOf(cfg),
		},
	}
}

func tlsOf(cfg TemporalConfig) config.RootTLS {
	if cfg.TLS == nil {
		return config.RootTLS{}
	}
	return cfg.TLS.rootTLS(cfg.Host)
}

// freePorts asks the kernel for n unused TCP ports on host.
func freePorts(host string, n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort returns one unused TCP port on host.
func FreePort(host string) (int, error) {
	ports, err := freePorts(host, 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// checkFree fails when something already listens on addr.
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is not free (is another dure running?): %w", addr, err)
	}
	return l.Close()
}

func waitForTCP(ctx context.Context, addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept connections within %s: %w", addr, limit, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
