package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/dure-platform/dure/internal/service"
)

// runAudit checks the audit log: `dure audit verify` reads the whole keyed
// chain from the metadata database and the newest anchors of its head from
// the audit bucket, and fails when an entry was changed, removed or cut off.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{errors.New("usage: dure audit verify [--anchors N] [settings...]")}
	}
	var anchorCount int
	cfg, _, err := serviceFlags("dure audit verify", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&anchorCount, "anchors", 1000, "how many of the newest anchors to check the chain against")
	})
	if err != nil {
		return err
	}
	if cfg.MetadataURL == "" {
		cfg.DevDefaults() // the embedded default's database and keys in the data dir
	}
	if cfg.S3Endpoint == "" {
		cfg.S3Endpoint = cfg.Addr(cfg.S3Port)
	}
	cfg.CodecKeyFile = "" // no workflow payloads are read
	b, err := service.OpenBase(ctx, cfg, newLogger(stderr, slog.LevelWarn), service.LoadKeys)
	if err != nil {
		return err
	}
	defer b.Close()
	platform, _, err := b.OwnerClient(ctx, service.OwnerPlatform)
	if err != nil {
		return err
	}
	installation, err := b.DB.InstallationID(ctx)
	if err != nil {
		return err
	}
	anchors, err := service.AuditAnchors{S3: platform, Log: b.Audit, Installation: installation}.Latest(ctx, anchorCount)
	if err != nil {
		return err
	}
	head, err := b.Audit.Head(ctx)
	if err != nil {
		return err
	}
	if err := b.Audit.Verify(ctx, anchors...); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	out := map[string]any{"ok": true, "entries": head.Seq, "anchors_checked": len(anchors)}
	if len(anchors) > 0 {
		out["latest_anchor"] = anchors[len(anchors)-1]
	}
	return json.NewEncoder(stdout).Encode(out)
}
