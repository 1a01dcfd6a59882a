// Package training runs the trainer on a GPU host's task queue and registers what
// it produces. The trainer contract lives in internal/trainjob, shared with
// `dure train-job`.
package training

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/activities/quality"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/internal/trainjob"
	"github.com/dure-platform/dure/workflows"
)

// Activities holds the platform's S3 client and registry.
type Activities struct {
	// CodeVersion is recorded with every registered model.
	CodeVersion string
	S3          *minio.Client
	Registry    *registry.Registry
	// WorkDir holds datasets and model files while a job runs.
	WorkDir string
	// Options are the classifier's hyperparameters.
	Options textclf.Options

	// TrainerCommand runs the trainer as its own process: the program and
	// its leading arguments, to which the train-job flags are appended,
	// e.g. {"/usr/local/bin/dure", "train-job"}. Empty runs trainjob in
	// this process, which a `go test` binary must do since it is no dure.
	TrainerCommand []string
	// Checkpoints keeps checkpoints beyond one attempt; nil stores them in
	// the S3 bucket "checkpoints".
	Checkpoints CheckpointStore
	// CheckpointEvery and CheckpointInterval set the cadence; zero takes
	// trainjob's defaults.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// KillGrace is how long a cancelled trainer process has, after
	// SIGTERM, to write its checkpoint before SIGKILL; zero means 30s.
	KillGrace time.Duration
	// Logger defaults to slog.Default.
	Logger *slog.Logger
}

// ListDatasets returns the published datasets, all of them or those named.
func (a *Activities) ListDatasets(ctx context.Context, ids []string) ([]workflows.Dataset, error) {
	// want says which to keep; missing, which are still to be found. (One
	// map for both once let every dataset listed after the last wanted one
	// through.)
	want, missing := map[string]bool{}, map[string]bool{}
	for _, id := range ids {
		want[id], missing[id] = true, true
	}
	var out []workflows.Dataset
	for obj := range a.S3.ListObjects(ctx, objstore.BucketAITraining, minio.ListObjectsOptions{Prefix: quality.DatasetPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list datasets: %w", obj.Err)
		}
		if !strings.HasSuffix(obj.Key, "/manifest.json") {
			continue
		}
		var m quality.Manifest
		if err := objstore.GetJSON(ctx, a.S3, objstore.BucketAITraining, obj.Key, &m); err != nil {
			return nil, err
		}
		if len(want) > 0 && !want[m.DatasetID] {
			continue
		}
		delete(missing, m.DatasetID)
		out = append(out, workflows.Dataset{DatasetID: m.DatasetID, TenantID: m.TenantID, DataKey: m.DataKey, ManifestKey: obj.Key, Records: m.Records})
	}
	if len(missing) > 0 {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown datasets: %v", slices.Sorted(maps.Keys(missing))), workflows.ErrBadInput, nil)
	}
	return out, nil
}

// scratchPattern names the scratch folders of TrainModel's attempts.
const scratchPattern = "train-*"

// CleanWorkDir removes the scratch folders that attempts killed with their
// agent left in dir (datasets and model files), makes dir if it is missing,
// and says how many it removed. Run it when the GPU host agent starts,
// before it takes any training.
func CleanWorkDir(dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, scratchPattern))
	if err != nil {
		return 0, err
	}
	for _, d := range leftovers {
		if err := os.RemoveAll(d); err != nil {
			return 0, err
		}
	}
	return len(leftovers), nil
}

// TrainModel downloads the datasets, trains (resuming from the newest
// checkpoint an earlier attempt left), evaluates on the held-out split and
// uploads the candidate artifact. Progress goes to the activity's heartbeat.
func (a *Activities) TrainModel(ctx context.Context, in workflows.TrainModelInput) (workflows.TrainModelResult, error) {
	dir, err := os.MkdirTemp(a.WorkDir, strings.TrimSuffix(scratchPattern, "*")+in.CandidateID+"-")
	if err != nil {
		return workflows.TrainModelResult{}, fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(dir)

	files := make([]string, len(in.Datasets))
	for i, ds := range in.Datasets {
		files[i] = filepath.Join(dir, fmt.Sprintf("data-%03d.jsonl", i))
		if err := a.S3.FGetObject(ctx, objstore.BucketAITraining, ds.DataKey, files[i], minio.GetObjectOptions{}); err != nil {
			return workflows.TrainModelResult{}, fmt.Errorf("download dataset %s: %w", ds.DatasetID, err)
		}
	}
	job := Job{
		CandidateID: in.CandidateID, DataFiles: files, HoldoutFraction: in.HoldoutFraction, Seed: in.Seed,
		Dir: dir, Heartbeat: func(e trainjob.Event) { activity.RecordHeartbeat(ctx, e) },
	}
	out, err := a.runJob(ctx, job)
	if err != nil {
		return workflows.TrainModelResult{}, err
	}
	key := registry.CandidateKey(in.CandidateID)
	if _, err := a.S3.FPutObject(ctx, objstore.BucketModelRegistry, key, filepath.Join(out.ModelDir, registry.ArtifactName), minio.PutObjectOptions{}); err != nil {
		return workflows.TrainModelResult{}, fmt.Errorf("upload candidate: %w", err)
	}
	// The model is safe; its checkpoints are not needed any more.
	if err := a.checkpointStore().Delete(ctx, in.CandidateID); err != nil {
		a.logger().Warn("deleting checkpoints", "candidate", in.CandidateID, "err", err)
	}
	res := out.Result
	return workflows.TrainModelResult{CandidateKey: key, ResumedFromEpoch: out.ResumedFromEpoch, Metrics: workflows.ModelMetrics{
		HoldoutMacroF1: res.Holdout.MacroF1, HoldoutAccuracy: res.Holdout.Accuracy,
		TrainRecords: res.TrainRecords, HoldoutRecords: res.HoldoutRecords, Classes: res.Classes,
	}}, nil
}

// RegisterModel records the candidate as the next model version.
func (a *Activities) RegisterModel(ctx context.Context, in workflows.RegisterModelInput) (workflows.RegisteredModel, error) {
	refs := make([]registry.DatasetRef, len(in.Datasets))
	for i, d := range in.Datasets {
		refs[i] = registry.DatasetRef{DatasetID: d.DatasetID, TenantID: d.TenantID, Records: d.Records}
	}
	v, err := a.Registry.Register(ctx, registry.Version{
		CandidateID: in.CandidateID,
		Metrics: map[string]float64{
			"holdout_macro_f1": in.Metrics.HoldoutMacroF1, "holdout_accuracy": in.Metrics.HoldoutAccuracy,
			"train_records": float64(in.Metrics.TrainRecords), "holdout_records": float64(in.Metrics.HoldoutRecords),
		},
		Datasets: refs, Params: in.Params, Trainer: "dure-textclf", CodeVersion: a.CodeVersion,
	})
	if err != nil {
		return workflows.RegisteredModel{}, err
	}
	activity.GetLogger(ctx).Info("model registered", "version", v.Version, "tenants", v.Tenants)
	return workflows.RegisteredModel{Version: v.Version}, nil
}

// ChampionLineage returns the champion version and its datasets (version 0 and
// none when no model serves yet).
func (a *Activities) ChampionLineage(ctx context.Context) (workflows.ChampionLineage, error) {
	v, err := a.Registry.Alias(ctx, workflows.AliasChampion)
	if errors.Is(err, registry.ErrNotFound) {
		return workflows.ChampionLineage{}, nil
	}
	if err != nil {
		return workflows.ChampionLineage{}, err
	}
	meta, err := a.Registry.Get(ctx, v)
	if err != nil {
		return workflows.ChampionLineage{}, err
	}
	out := workflows.ChampionLineage{Version: v}
	for _, d := range meta.Datasets {
		out.DatasetIDs = append(out.DatasetIDs, d.DatasetID)
	}
	return out, nil
}
