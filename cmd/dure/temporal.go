package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/devstack"
	"github.com/dure-platform/dure/internal/uiauth"
)

// runTemporal runs a Temporal server (frontend, history, matching, worker,
// and the Web UI) on PostgreSQL, or on a SQLite file for a small site: the
// same server code as `dure dev`'s, with the schema set up and updated by the
// server's own SQL tooling at start.
func runTemporal(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, fs, err := serviceFlags("dure temporal", args, stderr, nil)
	if err != nil {
		return err
	}
	if err := checkRole(&cfg, config.RoleTemporal); err != nil {
		return err
	}
	logger := serviceLogger(fs, stderr, string(config.RoleTemporal))
	tcfg := devstack.TemporalConfig{
		Host: cfg.Host, FrontendPort: cfg.TemporalPort, UIPort: cfg.UIPort, Namespace: cfg.Namespace,
		CodecEndpoint: cfg.UICodecEndpoint, Logger: logger,
	}
	if t := cfg.TemporalServerTLS; t.Enabled() {
		// temporal-tls-server-name is the name the frontend's certificate
		// carries, for the server's own clients as for everyone's.
		tcfg.TLS = &devstack.TemporalTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile,
			InternalCertFile: t.InternalCertFile, InternalKeyFile: t.InternalKeyFile,
			UICertFile: t.UICertFile, UIKeyFile: t.UIKeyFile, ServerName: cfg.TemporalTLS.ServerName}
	}
	if l := cfg.UILogin; l.Enabled() {
		var secret string
		if l.ClientSecretFile != "" {
			if secret, err = config.ReadSecretFile(l.ClientSecretFile); err != nil {
				return fmt.Errorf("ui-oidc-client-secret-file: %w", err)
			}
		}
		tcfg.UILogin = &devstack.UILogin{ProviderURL: l.ProviderURL, ClientID: l.ClientID, ClientSecret: secret, CallbackURL: l.CallbackURL}
	}
	if cfg.UIUsersJWKSURL != "" {
		tcfg.UIUsers = uiauth.NewVerifier(cfg.UIUsersJWKSURL)
	}
	if file, ok := strings.CutPrefix(cfg.TemporalDatabase, "sqlite:"); ok {
		tcfg.DatabaseFile = file
	} else {
		pg, err := temporalPostgres(cfg)
		if err != nil {
			return usageError{err}
		}
		tcfg.Postgres = &pg
	}
	t, err := devstack.StartTemporal(ctx, tcfg)
	if err != nil {
		return err
	}
	logger.Info("temporal running", "frontend", t.FrontendAddress(), "ui", t.UIURL(), "namespace", cfg.Namespace)
	<-ctx.Done()
	logger.Info("shutting down")
	return t.Stop()
}

// temporalPostgres reads the server's PostgreSQL settings: the URL names the
// server, the role and the workflow-state database; the password is in a file.
func temporalPostgres(cfg config.Config) (devstack.TemporalPostgres, error) {
	password, err := config.ReadSecretFile(cfg.TemporalDatabasePasswordFile)
	if err != nil {
		return devstack.TemporalPostgres{}, fmt.Errorf("temporal-database-password-file: %w", err)
	}
	pg, err := devstack.TemporalPostgresFromURL(cfg.TemporalDatabase, password)
	if err != nil {
		return devstack.TemporalPostgres{}, fmt.Errorf("temporal-database: %w", err)
	}
	if u, err := url.Parse(cfg.TemporalDatabase); err == nil {
		pg.Database = strings.TrimPrefix(u.Path, "/")
	}
	pg.VisibilityDatabase = cfg.TemporalVisibilityDatabase
	return pg, nil
}
