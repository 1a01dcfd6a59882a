package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// TrainingInput selects the datasets to train on; empty means every published one.
type TrainingInput struct {
	DatasetIDs      []string `json:"dataset_ids,omitempty"`
	HoldoutFraction float64  `json:"holdout_fraction,omitempty"`
	Seed            int64    `json:"seed,omitempty"`
	// GPUHost picks the host whose task queue runs the trainer when no lease
	// is taken; with a lease the GPU pool picks the host.
	GPUHost string `json:"gpu_host,omitempty"`
	// GPUTenant is whose pool share the run uses (default "platform": idle
	// capacity, preempted when a city needs its quota back).
	GPUTenant string `json:"gpu_tenant,omitempty"`
	// SkipGPULease trains on GPUHost without asking the GPU pool.
	SkipGPULease bool `json:"skip_gpu_lease,omitempty"`
}

// ModelMetrics are measured on the held-out split.
type ModelMetrics struct {
	HoldoutMacroF1  float64 `json:"holdout_macro_f1"`
	HoldoutAccuracy float64 `json:"holdout_accuracy"`
	TrainRecords    int     `json:"train_records"`
	HoldoutRecords  int     `json:"holdout_records"`
	Classes         int     `json:"classes"`
}

// TrainModelInput is the trainer's contract: datasets and hyperparameters in, a
// candidate model artifact out.
type TrainModelInput struct {
	CandidateID     string    `json:"candidate_id"`
	Datasets        []Dataset `json:"datasets"`
	HoldoutFraction float64   `json:"holdout_fraction"`
	Seed            int64     `json:"seed"`
}

// TrainModelResult points at the candidate artifact.
type TrainModelResult struct {
	CandidateKey string       `json:"candidate_key"`
	Metrics      ModelMetrics `json:"metrics"`
	// ResumedFromEpoch is the checkpoint this attempt started from (0 for
	// a fresh start): an earlier attempt died after that many epochs.
	ResumedFromEpoch int `json:"resumed_from_epoch,omitempty"`
}

// RegisterModelInput records a candidate as a new immutable version.
type RegisterModelInput struct {
	CandidateID  string         `json:"candidate_id"`
	CandidateKey string         `json:"candidate_key"`
	Metrics      ModelMetrics   `json:"metrics"`
	Datasets     []Dataset      `json:"datasets"`
	Params       map[string]any `json:"params"`
}

// RegisteredModel is a version number in the registry.
type RegisteredModel struct {
	Version int `json:"version"`
}

// TrainingResult names the registered version and its quality.
type TrainingResult struct {
	Version  int          `json:"version"`
	Metrics  ModelMetrics `json:"metrics"`
	Datasets []string     `json:"datasets"`
	// ResumedFromEpoch is set when the trainer resumed from a checkpoint
	// after a crash, a lost worker or a preemption.
	ResumedFromEpoch int `json:"resumed_from_epoch,omitempty"`
	// GPUHost is the host whose trainer finished the model.
	GPUHost string `json:"gpu_host,omitempty"`
}

// Training defaults.
const (
	DefaultHoldoutFraction = 0.2
	DefaultSeed            = 1
	DefaultGPUHost         = "local"
)

// Training trains the shared classifier on approved datasets, evaluates it on a
// held-out split and registers it as a new model version.
func Training(ctx workflow.Context, in TrainingInput) (TrainingResult, error) {
	if in.HoldoutFraction == 0 {
		in.HoldoutFraction = DefaultHoldoutFraction
	}
	if in.HoldoutFraction < 0 || in.HoldoutFraction >= 1 {
		return TrainingResult{}, temporal.NewNonRetryableApplicationError("holdout_fraction must be in (0, 1)", ErrBadInput, nil)
	}
	if in.Seed == 0 {
		in.Seed = DefaultSeed
	}
	if in.GPUHost == "" {
		in.GPUHost = DefaultGPUHost
	}
	cctx := shortActivity(ctx, TaskQueueControlPlane)

	var datasets []Dataset
	if err := workflow.ExecuteActivity(cctx, ActivityListDatasets, in.DatasetIDs).Get(ctx, &datasets); err != nil {
		return TrainingResult{}, fmt.Errorf("list datasets: %w", err)
	}
	if len(datasets) == 0 {
		return TrainingResult{}, temporal.NewNonRetryableApplicationError("no approved datasets to train on", "NoData", nil)
	}

	params := TrainModelInput{
		CandidateID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
		Datasets:    datasets, HoldoutFraction: in.HoldoutFraction, Seed: in.Seed,
	}
	// CandidateID (the run ID) is stable across the activity's retries and
	// across leases, so a retry or a re-leased GPU finds the checkpoints under
	// checkpoints/<candidate_id>/ and loses at most one checkpoint interval.
	var trained TrainModelResult
	var err error
	if in.GPUTenant == "" && in.SkipGPULease {
		gctx := longActivity(ctx, GPUHostTaskQueue(in.GPUHost), 4*time.Hour)
		err = workflow.ExecuteActivity(gctx, ActivityTrainModel, params).Get(ctx, &trained)
	} else {
		if in.GPUTenant == "" {
			in.GPUTenant = DefaultGPUTenant
		}
		trained, in.GPUHost, err = trainOnLeasedGPU(ctx, in.GPUTenant, params)
	}
	if err != nil {
		return TrainingResult{}, fmt.Errorf("train: %w", err)
	}

	var reg RegisteredModel
	err = workflow.ExecuteActivity(cctx, ActivityRegisterModel, RegisterModelInput{
		CandidateID: params.CandidateID, CandidateKey: trained.CandidateKey, Metrics: trained.Metrics, Datasets: datasets,
		Params: map[string]any{"holdout_fraction": in.HoldoutFraction, "seed": in.Seed, "gpu_host": in.GPUHost},
	}).Get(ctx, &reg)
	if err != nil {
		return TrainingResult{}, fmt.Errorf("register model: %w", err)
	}
	ids := make([]string, len(datasets))
	for i, d := range datasets {
		ids[i] = d.DatasetID
	}
	return TrainingResult{Version: reg.Version, Metrics: trained.Metrics, Datasets: ids, ResumedFromEpoch: trained.ResumedFromEpoch, GPUHost: in.GPUHost}, nil
}
