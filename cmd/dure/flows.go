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
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/internal/codec"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/demo"
	"github.com/dure-platform/dure/internal/devstack"
	"github.com/dure-platform/dure/internal/secretbox"
	"github.com/dure-platform/dure/internal/service"
	"github.com/dure-platform/dure/workflows"
)

// temporalCommand parses the settings of a command that starts workflows:
// the Temporal frontend (dev: 127.0.0.1:7233) and the payload key (dev: the
// data dir's), read, never made.
func temporalCommand(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (config.Config, error) {
	cfg, _, err := serviceFlags(name, args, stderr, extra)
	if err != nil {
		return cfg, err
	}
	if cfg.TemporalAddress == "" {
		cfg.TemporalAddress = cfg.Addr(cfg.TemporalPort)
	}
	if cfg.CodecKeyFile == "" {
		cfg.CodecKeyFile = filepath.Join(cfg.DataDir, "keys", "codec.key")
	}
	// `dure dev` gives operators a certificate of its local CA.
	dev := filepath.Join(cfg.DataDir, "pki")
	if !cfg.TemporalTLS.Enabled() {
		if _, err := os.Stat(filepath.Join(dev, devstack.PKIRoleOperator+".pem")); err == nil {
			cfg.TemporalTLS = config.TLSFiles{
				CAFile:   filepath.Join(dev, "ca.pem"),
				CertFile: filepath.Join(dev, devstack.PKIRoleOperator+".pem"),
				KeyFile:  filepath.Join(dev, devstack.PKIRoleOperator+"-key.pem"),
			}
		}
	}
	return cfg, nil
}

func dialTemporal(ctx context.Context, cfg config.Config, stderr io.Writer) (client.Client, error) {
	key, err := secretbox.LoadKey(cfg.CodecKeyFile)
	if err != nil {
		return nil, fmt.Errorf("codec key (codec-key-file): %w", err)
	}
	c, err := codec.New(key)
	if err != nil {
		return nil, err
	}
	return service.DialTemporal(ctx, cfg, c, newLogger(stderr, slog.LevelWarn))
}

// startAndWait starts a workflow on the control-plane queue (attaching to a
// run of that id still in progress) and waits for its result.
func startAndWait(ctx context.Context, tc client.Client, id, workflow string, in, out any) error {
	return startReusing(ctx, tc, id, workflow, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, in, out)
}

// startReusing is startAndWait with the policy for an ID whose last run is
// closed: ALLOW_DUPLICATE_FAILED_ONLY makes a finished run the answer, for a
// workflow whose ID names its intent.
func startReusing(ctx context.Context, tc client.Client, id, workflow string, reuse enumspb.WorkflowIdReusePolicy, in, out any) error {
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueueControlPlane,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    reuse,
	}, workflow, in)
	if err != nil {
		return fmt.Errorf("start %s: %w", workflow, err)
	}
	if err := run.Get(ctx, out); err != nil {
		return fmt.Errorf("%s %s: %w", workflow, id, err)
	}
	return nil
}

// runOnboard onboards a tenant and prints what was created.
func runOnboard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var in workflows.TenantOnboardingInput
	cfg, err := temporalCommand("dure onboard", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&in.TenantID, "tenant", "", "tenant id (lowercase letters, digits, '-')")
		fs.StringVar(&in.DisplayName, "display-name", "", "the tenant's name, e.g. 수원시")
		fs.Int64Var(&in.StorageQuotaBytes, "storage-quota-bytes", 0, "storage quota (0: the platform default)")
		fs.IntVar(&in.VGPUQuota, "vgpu-quota", 0, "vGPU quota in the GPU pool")
		fs.IntVar(&in.VLAN, "vlan", 0, "VLAN id (0: the next free one of the plan)")
		fs.BoolVar(&in.DataVM, "data-vm", false, "create a tenant data VM")
		fs.StringVar(&in.PIIPolicy, "pii-policy", "", "masking policy: tag, partial or pseudonym")
	})
	if err != nil {
		return err
	}
	if in.TenantID == "" || in.DisplayName == "" {
		return usageError{errors.New("onboard needs --tenant and --display-name")}
	}
	tc, err := dialTemporal(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer tc.Close()
	var res workflows.TenantOnboardingResult
	if err := startAndWait(ctx, tc, workflows.TenantOnboardingID(in.TenantID), workflows.TypeTenantOnboarding, in, &res); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// runIngest starts the ingestion of an uploaded object and, with --wait,
// waits until it is screened and prints the counts an operator decides on.
func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		in   workflows.DataIngestionInput
		wait bool
	)
	cfg, err := temporalCommand("dure ingest", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&in.TenantID, "tenant", "", "tenant id")
		fs.StringVar(&in.ObjectKey, "object", "", "object key in the tenant's bucket, e.g. uploads/suwon.jsonl")
		fs.IntVar(&in.ApprovalTimeoutSeconds, "approval-timeout-seconds", 0, "how long the batch waits for a decision (0: the default)")
		fs.BoolVar(&wait, "wait", false, "wait until the batch is screened and print its counts")
	})
	if err != nil {
		return err
	}
	if in.TenantID == "" || in.ObjectKey == "" {
		return usageError{errors.New("ingest needs --tenant and --object")}
	}
	tc, err := dialTemporal(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer tc.Close()
	id := workflows.DataIngestionID(in.TenantID, in.ObjectKey)
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueueControlPlane,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.TypeDataIngestion, in)
	if err != nil {
		return fmt.Errorf("start DataIngestion: %w", err)
	}
	out := struct {
		WorkflowID string                    `json:"workflow_id"`
		RunID      string                    `json:"run_id"`
		State      *workflows.IngestionState `json:"state,omitempty"`
	}{WorkflowID: id, RunID: run.GetRunID()}
	if wait {
		st, err := demo.AwaitScreened(ctx, tc, id, run.GetRunID(), 500*time.Millisecond, func(workflows.IngestionState) {
			fmt.Fprintf(stderr, "%s: screening\n", id)
		})
		if err != nil {
			return err
		}
		out.State = &st
	}
	return json.NewEncoder(stdout).Encode(out)
}

// runTrain trains the shared classifier on the approved datasets and prints
// the registered version.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		in       workflows.TrainingInput
		datasets stringList
	)
	cfg, err := temporalCommand("dure train", args, stderr, func(fs *flag.FlagSet) {
		fs.Var(&datasets, "dataset", "dataset id to train on (repeatable; default: every approved dataset)")
		fs.Int64Var(&in.Seed, "seed", 0, "split seed")
	})
	if err != nil {
		return err
	}
	in.DatasetIDs = datasets
	tc, err := dialTemporal(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer tc.Close()
	var res workflows.TrainingResult
	// Named datasets train once: asked again, the command answers the
	// version they gave. Every approved dataset is "the data so far",
	// trained anew once the last such run is over.
	id, reuse := workflows.TrainingID(in), enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	if len(in.DatasetIDs) == 0 {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	fmt.Fprintf(stderr, "training as workflow %s (progress in the Temporal UI)\n", id)
	if err := startReusing(ctx, tc, id, workflows.TypeTraining, reuse, in, &res); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// runPromote promotes a registered version to every replica.
func runPromote(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var in workflows.ModelPromotionInput
	cfg, err := temporalCommand("dure promote", args, stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&in.Version, "version", 0, "model version to promote")
	})
	if err != nil {
		return err
	}
	if in.Version < 1 {
		return usageError{errors.New("promote needs --version")}
	}
	tc, err := dialTemporal(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer tc.Close()
	var res workflows.ModelPromotionResult
	if err := startAndWait(ctx, tc, workflows.ModelPromotionID(in.Version), workflows.TypeModelPromotion, in, &res); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// runUpload stores a file in the tenant's bucket through the gateway.
func runUpload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure upload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var api apiFlags
	api.register(fs)
	file := fs.String("file", "", "file to upload (JSONL or CSV complaints)")
	name := fs.String("name", "", "object name under uploads/ (default: the file's name)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if api.tenant == "" || *file == "" {
		return usageError{errors.New("upload needs --tenant and --file")}
	}
	if *name == "" {
		*name = filepath.Base(*file)
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	f, err := os.Open(*file)
	if err != nil {
		return usageError{err}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	up, err := c.Upload(ctx, api.tenant, *name, f, info.Size())
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(up)
}

// runClassify routes one complaint through the gateway.
func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var api apiFlags
	api.register(fs)
	title := fs.String("title", "", "the complaint's title")
	body := fs.String("body", "", "the complaint's text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *title == "" && *body == "" {
		return usageError{errors.New("classify needs --title or --body")}
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	res, err := c.Classify(ctx, *title, *body)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}
