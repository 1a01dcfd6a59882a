package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dure-platform/dure/internal/apiclient"
)

// apiFlags are the flags every gateway-backed command takes.
type apiFlags struct {
	gateway   string
	tokenFile string
	tenant    string
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	gw := os.Getenv("DURE_GATEWAY")
	if gw == "" {
		gw = "http://127.0.0.1:8080"
	}
	fs.StringVar(&f.gateway, "gateway", gw, "gateway base URL (env DURE_GATEWAY)")
	fs.StringVar(&f.tokenFile, "token-file", os.Getenv("DURE_TOKEN_FILE"), "file holding your API token (env DURE_TOKEN_FILE)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant id")
}

func (f *apiFlags) client() (*apiclient.Client, error) {
	if f.tokenFile == "" {
		return nil, usageError{errors.New("--token-file (or DURE_TOKEN_FILE) is required")}
	}
	tok, err := apiclient.TokenFromFile(f.tokenFile)
	if err != nil {
		return nil, err
	}
	return &apiclient.Client{BaseURL: f.gateway, Token: tok}, nil
}

// runDecide approves or rejects an ingested batch as the token's holder.
func runDecide(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure decide", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var api apiFlags
	api.register(fs)
	workflowID := fs.String("workflow", "", "DataIngestion workflow id")
	approve := fs.Bool("approve", false, "approve the batch")
	reject := fs.Bool("reject", false, "reject the batch (needs --reason)")
	reason := fs.String("reason", "", "why")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if api.tenant == "" || *workflowID == "" || *approve == *reject {
		return usageError{errors.New("decide needs --tenant, --workflow and exactly one of --approve or --reject")}
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	verdict, err := c.Decide(ctx, api.tenant, *workflowID, *approve, *reason)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"workflow_id": *workflowID, "decision": verdict})
}

// runTokens lists, rotates or revokes a tenant's tokens.
func runTokens(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("usage: dure tokens list|rotate|revoke --tenant T [--id ID]")}
	}
	fs := flag.NewFlagSet("dure tokens "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var api apiFlags
	api.register(fs)
	id := fs.String("id", "", "token id (rotate, revoke)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if api.tenant == "" || (args[0] != "list" && *id == "") {
		return usageError{errors.New("tokens needs --tenant, and --id to rotate or revoke")}
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	switch args[0] {
	case "list":
		toks, err := c.Tokens(ctx, api.tenant)
		if err != nil {
			return err
		}
		return enc.Encode(toks)
	case "rotate":
		tok, err := c.RotateToken(ctx, api.tenant, *id)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "the new token is shown once; store it now")
		return enc.Encode(tok)
	case "revoke":
		if err := c.RevokeToken(ctx, api.tenant, *id); err != nil {
			return err
		}
		return enc.Encode(map[string]string{"revoked": *id})
	}
	return usageError{fmt.Errorf("unknown tokens command %q", args[0])}
}

// runModels lists registered model versions.
func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var api apiFlags
	api.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	models, err := c.Models(ctx, api.tenant)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(models)
}

// runS3Keys shows or rotates a tenant's S3 key pair (tenant-admin token).
func runS3Keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "rotate") {
		return usageError{errors.New("usage: dure s3-keys show|rotate --tenant T --token-file F")}
	}
	fs := flag.NewFlagSet("dure s3-keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var api apiFlags
	api.register(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if api.tenant == "" {
		return usageError{errors.New("s3-keys needs --tenant")}
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	var key apiclient.S3Key
	if args[0] == "show" {
		key, err = c.S3Key(ctx, api.tenant)
	} else {
		key, err = c.RotateS3Key(ctx, api.tenant)
		fmt.Fprintln(stderr, "the old key no longer works; store the new one now")
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(key)
}
