// Package service assembles dure's roles (control-plane, quality-gate and
// GPU host workers, gateway, inference replica) from a configuration. Each
// production process (`dure worker`, `dure gateway`, `dure inference`) runs
// one role; `dure dev` runs all of them in one process around an embedded
// Temporal and S3 server. Both are built from the same functions here, so the
// embedded default is never a second implementation.
package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/codec"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/secretbox"
	"github.com/dure-platform/dure/internal/tenancy"
)

// The platform's own S3 identities, by owner name in the tenant store.
const (
	// OwnerPlatform owns the model registry and checkpoints and administers
	// the embedded S3 server.
	OwnerPlatform = "platform"
	// OwnerQualityGate owns staging, quarantine and ai-training, and may read
	// every tenant's raw bucket.
	OwnerQualityGate = "quality-gate"
)

// Keys says where a service's keys come from.
type Keys int

const (
	// LoadKeys reads every key from its file: production services never
	// make their own.
	LoadKeys Keys = iota
	// CreateKeys makes missing key files: the embedded default's way.
	CreateKeys
)

// Base is what every service opens first: the shared metadata database and
// the records, audit log and keys in it, the payload codec, the S3 endpoint
// and a metrics registry.
type Base struct {
	Config  config.Config
	Logger  *slog.Logger
	DB      *metadb.DB
	Store   *tenancy.Store
	Audit   *audit.Log
	Codec   *codec.AESGCM
	Metrics *prometheus.Registry
	S3      objstore.Endpoint
}

// OpenBase opens the metadata database (applying its migrations) and loads
// the keys. The codec key is optional for roles that never talk to Temporal.
func OpenBase(ctx context.Context, cfg config.Config, logger *slog.Logger, keys Keys) (*Base, error) {
	load := secretbox.LoadKey
	if keys == CreateKeys {
		load = secretbox.LoadOrCreateKey
	}
	stateKey, err := load(cfg.StateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("state key: %w", err)
	}
	box, err := secretbox.New(stateKey)
	if err != nil {
		return nil, fmt.Errorf("state key: %w", err)
	}
	password, err := config.ReadSecretFile(cfg.MetadataPasswordFile)
	if err != nil {
		return nil, fmt.Errorf("metadata database password: %w", err)
	}
	if password == "" {
		password = os.Getenv("DURE_METADATA_PASSWORD")
	}
	dbCfg := metadb.Config{URL: cfg.MetadataURL, Password: password, Schema: cfg.MetadataSchema}
	db, err := metadb.Open(ctx, dbCfg)
	if err != nil {
		return nil, err
	}
	b := &Base{
		Config: cfg, Logger: logger, DB: db,
		Store: tenancy.NewStore(db, box), Audit: audit.New(db, secretbox.DeriveKey(stateKey, "audit")),
		Metrics: prometheus.NewRegistry(),
		S3:      objstore.Endpoint{Address: cfg.S3Endpoint, Region: cfg.S3Region, Secure: cfg.S3TLS},
	}
	b.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.CodecKeyFile != "" {
		key, err := load(cfg.CodecKeyFile)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("codec key: %w", err)
		}
		if b.Codec, err = codec.New(key); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	logger.Info("metadata database open", "url", dbCfg.Redacted(), "engine", db.Dialect(), "schema_version", metadb.SchemaVersion())
	return b, nil
}

// Close closes the database.
func (b *Base) Close() error { return b.DB.Close() }

// DialTemporal connects to the frontend with the payload codec, over TLS
// (mutual when a client certificate is configured) when TLS is set up.
func (b *Base) DialTemporal(ctx context.Context, component string) (client.Client, error) {
	return DialTemporal(ctx, b.Config, b.Codec, b.Logger.With("component", component))
}

// DialTemporal connects to cfg's Temporal frontend, encrypting every payload
// with c; the operator CLI dials this way, with no metadata database.
func DialTemporal(ctx context.Context, cfg config.Config, c *codec.AESGCM, logger *slog.Logger) (client.Client, error) {
	if c == nil {
		return nil, errors.New("no codec key: workflow payloads could not be encrypted")
	}
	opts := client.Options{
		HostPort:         cfg.TemporalAddress,
		Namespace:        cfg.Namespace,
		DataConverter:    c.DataConverter(),
		FailureConverter: c.FailureConverter(),
		Logger:           sdklog.NewStructuredLogger(logger),
	}
	if t := cfg.TemporalTLS; t.Enabled() {
		tlsCfg, err := ClientTLS(t)
		if err != nil {
			return nil, err
		}
		opts.ConnectionOptions.TLS = tlsCfg
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("dial temporal at %s: %w", cfg.TemporalAddress, err)
	}
	return tc, nil
}

// ClientTLS is the TLS configuration of a Temporal client: the CA that signs
// the frontend's certificate and, for mutual TLS, the client's own.
func ClientTLS(t config.TLSFiles) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal tls ca: %s holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Credential returns an S3 identity of the platform (OwnerPlatform,
// OwnerQualityGate) or of a tenant. The control plane provisions the
// platform's at its start; a service that starts before it waits up to
// limit for them to appear.
func (b *Base) Credential(ctx context.Context, owner string, limit time.Duration) (tenancy.S3Credential, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	logged := false
	for {
		cred, err := b.Store.S3CredentialFor(ctx, owner)
		if err == nil || !errors.Is(err, tenancy.ErrNotFound) {
			return cred, err
		}
		if !logged {
			b.Logger.Info("waiting for the control plane to provision an S3 identity", "owner", owner)
			logged = true
		}
		select {
		case <-ctx.Done():
			return tenancy.S3Credential{}, fmt.Errorf("s3 identity of %s: not provisioned within %s (is the control plane running?)", owner, limit)
		case <-time.After(time.Second):
		}
	}
}

// S3Client returns a client for one identity.
func (b *Base) S3Client(cred tenancy.S3Credential) (*minio.Client, error) {
	return objstore.Client(b.S3, cred.AccessKey, cred.SecretKey)
}

// OwnerClient returns a client for the identity an owner holds, waiting for
// it to be provisioned as Credential does.
func (b *Base) OwnerClient(ctx context.Context, owner string) (*minio.Client, tenancy.S3Credential, error) {
	cred, err := b.Credential(ctx, owner, 5*time.Minute)
	if err != nil {
		return nil, tenancy.S3Credential{}, err
	}
	c, err := b.S3Client(cred)
	return c, cred, err
}

// Ready reports whether the metadata database answers.
func (b *Base) Ready(ctx context.Context) error {
	if err := b.DB.Ping(ctx); err != nil {
		return fmt.Errorf("metadata database: %w", err)
	}
	return nil
}

// TokenDir is where the control plane writes each new token's plaintext,
// once, for its holder to collect (mode 0600).
func TokenDir(dataDir string) string { return filepath.Join(dataDir, "tokens") }
