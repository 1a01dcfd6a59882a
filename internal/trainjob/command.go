package trainjob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dure-platform/dure/internal/textclf"
)

// Exit codes of `dure train-job`, the process contract a replacement trainer
// (a PyTorch image, say) must keep.
const (
	ExitDone   = 0 // model and metrics written; the last line is {"event":"done"}
	ExitFailed = 1 // failed or cancelled; a cancelled run first writes a checkpoint and {"event":"cancelled"}
	ExitUsage  = 2 // bad arguments, manifest or data: retrying will not help
)

// ErrUsage marks errors the caller can fix by changing the arguments or input.
var ErrUsage = errors.New("bad train-job input")

// Default checkpoint cadence. A checkpoint of the pilot model is ~10 MB and
// takes tens of milliseconds to write, against ~0.3 s per epoch.
const (
	DefaultCheckpointEvery    = 5
	DefaultCheckpointInterval = time.Minute
)

// Manifest describes a job for `dure train-job --manifest`. Relative data paths
// are relative to the manifest's directory.
type Manifest struct {
	Data            []string `json:"data"`
	HoldoutFraction float64  `json:"holdout_fraction,omitempty"`
	Seed            *int64   `json:"seed,omitempty"`
	// Options are the classifier's hyperparameters; zero fields take
	// defaults. Absent means textclf.DefaultOptions.
	Options *textclf.Options `json:"options,omitempty"`
}

// ReadManifest parses a manifest file, rejecting unknown fields so that a typo
// in a hyperparameter name is not silently ignored.
func ReadManifest(path string) (Manifest, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest %s: %w", path, err)
	}
	if len(m.Data) == 0 {
		return Manifest{}, fmt.Errorf("manifest %s lists no data files", path)
	}
	for i, p := range m.Data {
		if !filepath.IsAbs(p) {
			m.Data[i] = filepath.Join(filepath.Dir(path), p)
		}
	}
	return m, nil
}

// WriteManifest writes m as JSON to path.
func WriteManifest(path string, m Manifest) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Main is `dure train-job`: it parses args, trains and prints events as JSON
// lines on stdout. Errors the caller can fix wrap ErrUsage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dure train-job", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data stringList
	fs.Var(&data, "data", "JSONL file with title, body, department (repeatable)")
	manifest := fs.String("manifest", "", "JSON manifest: {\"data\": [files], \"holdout_fraction\", \"seed\", \"options\"}")
	out := fs.String("out", "", "directory to write the model to")
	holdout := fs.Float64("holdout", 0.2, "fraction held out for evaluation (a manifest's value wins)")
	seed := fs.Int64("seed", 1, "random seed (a manifest's value wins)")
	ckptDir := fs.String("checkpoint-dir", "", "directory for checkpoints; the job resumes from the newest valid one")
	every := fs.Int("checkpoint-every-epochs", DefaultCheckpointEvery, "checkpoint every N epochs (0: off)")
	interval := fs.Duration("checkpoint-interval", DefaultCheckpointInterval, "also checkpoint when this much time has passed (0: off)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if (len(data) == 0) == (*manifest == "") || *out == "" {
		return fmt.Errorf("%w: train-job needs --out DIR and either --manifest FILE.json or --data FILE.jsonl (repeatable)", ErrUsage)
	}
	if *every < 0 || *interval < 0 {
		return fmt.Errorf("%w: checkpoint cadence must not be negative", ErrUsage)
	}
	spec := Spec{
		OutDir: *out, HoldoutFraction: *holdout, Seed: *seed, Options: textclf.DefaultOptions(),
		CheckpointDir: *ckptDir, CheckpointEvery: *every, CheckpointInterval: *interval,
	}
	if *manifest != "" {
		m, err := ReadManifest(*manifest)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUsage, err)
		}
		data = m.Data
		if m.HoldoutFraction != 0 {
			spec.HoldoutFraction = m.HoldoutFraction
		}
		if m.Seed != nil {
			spec.Seed = *m.Seed
		}
		if m.Options != nil {
			spec.Options = *m.Options
		}
	}
	if spec.HoldoutFraction <= 0 || spec.HoldoutFraction >= 1 {
		return fmt.Errorf("%w: holdout fraction %v must be in (0, 1)", ErrUsage, spec.HoldoutFraction)
	}
	examples, err := ReadFiles(data...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	enc := json.NewEncoder(stdout)
	res, err := Run(ctx, examples, spec, func(e Event) { _ = enc.Encode(e) })
	if err != nil {
		return err
	}
	return enc.Encode(map[string]any{"event": "done", "result": res})
}
