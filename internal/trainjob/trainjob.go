// Package trainjob is the trainer's contract, shared by `dure train-job` and the
// Training workflow's activity: labelled complaints and hyperparameters in, a model
// directory and held-out metrics out, progress as events along the way.
package trainjob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/dure-platform/dure/internal/textclf"
)

// Spec configures one training run.
type Spec struct {
	OutDir          string
	HoldoutFraction float64
	Seed            int64
	Options         textclf.Options

	// CheckpointDir, if set, receives a checkpoint every CheckpointEvery
	// epochs and every CheckpointInterval (either may be zero), and a last
	// one when ctx is cancelled. A run resumes from the newest valid
	// checkpoint it finds there.
	CheckpointDir      string
	CheckpointEvery    int
	CheckpointInterval time.Duration
}

// Event is one line of progress, printed as JSON by `dure train-job`.
type Event struct {
	// Event is one of loaded, resumed, epoch, checkpoint, cancelled,
	// evaluated, saved; `dure train-job` ends with done.
	Event   string `json:"event"`
	Records int    `json:"records,omitempty"`
	// Copies counts the records left out as copies of another; NearCopies
	// the near copies kept on their original's side of the split.
	Copies     int     `json:"copies,omitempty"`
	NearCopies int     `json:"near_copies,omitempty"`
	Train      int     `json:"train,omitempty"`
	Holdout    int     `json:"holdout,omitempty"`
	Epoch      int     `json:"epoch,omitempty"`
	Epochs     int     `json:"epochs,omitempty"`
	Loss       float64 `json:"loss,omitempty"`
	MacroF1    float64 `json:"macro_f1,omitempty"`
	Accur      float64 `json:"accuracy,omitempty"`
	Dir        string  `json:"dir,omitempty"`
	Path       string  `json:"path,omitempty"`
	Bytes      int64   `json:"bytes,omitempty"`
	Error      string  `json:"error,omitempty"`
}

// Result summarises a finished run.
type Result struct {
	Holdout        textclf.Metrics `json:"holdout"`
	TrainRecords   int             `json:"train_records"`
	HoldoutRecords int             `json:"holdout_records"`
	Classes        int             `json:"classes"`
	// Copies were left out; NearCopies kept beside their originals.
	Copies     int `json:"copies,omitempty"`
	NearCopies int `json:"near_copies,omitempty"`
}

// ReadFiles loads labelled complaints from JSONL files.
func ReadFiles(paths ...string) ([]textclf.Example, error) {
	var all []textclf.Example
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", p, err)
		}
		ex, err := textclf.ReadJSONL(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, ex...)
	}
	return all, nil
}

// Run leaves out copied records, splits off a stratified holdout that no
// near copy straddles, trains on the rest, evaluates, and writes the model
// to spec.OutDir.
func Run(ctx context.Context, examples []textclf.Example, spec Spec, emit func(Event)) (Result, error) {
	if emit == nil {
		emit = func(Event) {}
	}
	if spec.HoldoutFraction <= 0 || spec.HoldoutFraction >= 1 {
		return Result{}, fmt.Errorf("holdout fraction %v must be in (0, 1)", spec.HoldoutFraction)
	}
	dups, err := groupCopies(examples)
	if err != nil {
		return Result{}, err
	}
	train, holdout := textclf.StratifiedGroupSplit(dups.kept, dups.groups, spec.HoldoutFraction, spec.Seed)
	emit(Event{Event: "loaded", Records: len(examples), Copies: dups.exact, NearCopies: dups.near, Train: len(train), Holdout: len(holdout)})

	opts := spec.Options
	opts.Seed = spec.Seed
	onEpoch := func(p textclf.Progress) {
		emit(Event{Event: "epoch", Epoch: p.Epoch, Epochs: p.Epochs, Loss: p.Loss})
	}
	cp, err := checkpointing(spec, emit)
	if err != nil {
		return Result{}, err
	}
	model, err := textclf.TrainCheckpointed(ctx, train, opts, cp, onEpoch)
	if errors.Is(err, textclf.ErrCheckpointMismatch) {
		// Left by a run on other data or options (the directory is
		// reused, or the manifest changed): start over rather than fail.
		emit(Event{Event: "checkpoint_ignored", Epoch: cp.Resume.Epoch, Error: err.Error()})
		cp.Resume = nil
		model, err = textclf.TrainCheckpointed(ctx, train, opts, cp, onEpoch)
	}
	if err != nil {
		if ctx.Err() != nil {
			emit(Event{Event: "cancelled", Error: err.Error()})
		}
		return Result{}, fmt.Errorf("train: %w", err)
	}
	metrics := textclf.Evaluate(model, holdout)
	emit(Event{Event: "evaluated", Holdout: metrics.N, MacroF1: metrics.MacroF1, Accur: metrics.Accuracy})

	res := Result{Holdout: metrics, TrainRecords: len(train), HoldoutRecords: len(holdout), Classes: len(model.Labels()),
		Copies: dups.exact, NearCopies: dups.near}
	meta := map[string]any{
		"holdout_fraction": spec.HoldoutFraction, "seed": spec.Seed, "options": opts,
		"train_records": res.TrainRecords, "holdout_records": res.HoldoutRecords,
		"copies_left_out": res.Copies, "near_copies": res.NearCopies,
		"holdout_macro_f1": metrics.MacroF1, "holdout_accuracy": metrics.Accuracy,
	}
	if err := textclf.SaveDir(spec.OutDir, model, meta); err != nil {
		return Result{}, fmt.Errorf("save model: %w", err)
	}
	emit(Event{Event: "saved", Dir: spec.OutDir})
	return res, nil
}
