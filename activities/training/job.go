package training

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/trainjob"
	"github.com/dure-platform/dure/workflows"
)

// Job is one attempt at training a candidate from local files.
type Job struct {
	CandidateID     string
	DataFiles       []string
	HoldoutFraction float64
	Seed            int64
	// Dir is the attempt's scratch directory; the model and checkpoints go
	// below it.
	Dir string
	// Heartbeat receives every progress event.
	Heartbeat func(trainjob.Event)
}

// JobOutput is what a finished job produced.
type JobOutput struct {
	Result           trainjob.Result
	ModelDir         string
	ResumedFromEpoch int
}

// defaultKillGrace bounds how long a cancelled trainer may take to write its
// last checkpoint; the pilot's takes well under a second.
const defaultKillGrace = 30 * time.Second

// checkpointUploadTimeout bounds one upload; uploads outlive the attempt's
// context so that the checkpoint written on cancellation still reaches S3.
const checkpointUploadTimeout = 2 * time.Minute

// runJob restores the candidate's newest checkpoint, runs the trainer (as a
// child process when TrainerCommand is set) and copies every checkpoint it
// writes to the checkpoint store, so a later attempt can resume.
func (a *Activities) runJob(ctx context.Context, job Job) (JobOutput, error) {
	log := a.logger().With("candidate", job.CandidateID)
	store := a.checkpointStore()
	ckptDir := filepath.Join(job.Dir, "checkpoints")
	if err := os.MkdirAll(ckptDir, 0o750); err != nil {
		return JobOutput{}, fmt.Errorf("checkpoint dir: %w", err)
	}
	// A failed restore costs the epochs already done, not the training:
	// carry on from scratch.
	if name, err := store.Latest(ctx, job.CandidateID, ckptDir); err != nil {
		if ctx.Err() != nil {
			return JobOutput{}, fmt.Errorf("restore checkpoint: %w", err)
		}
		log.Warn("restoring checkpoint failed; starting from scratch", "err", err)
	} else if name != "" {
		log.Info("restored checkpoint", "file", name)
	}

	out := JobOutput{ModelDir: filepath.Join(job.Dir, "model")}
	onEvent := func(e trainjob.Event) {
		switch e.Event {
		case "resumed":
			out.ResumedFromEpoch = e.Epoch
			log.Info("trainer resumed", "epoch", e.Epoch)
		case "checkpoint":
			upCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointUploadTimeout)
			defer cancel()
			if err := store.Put(upCtx, job.CandidateID, e.Path); err != nil {
				// The next checkpoint may succeed; a lost one only costs time.
				log.Warn("uploading checkpoint", "epoch", e.Epoch, "err", err)
			}
		}
		if job.Heartbeat != nil {
			job.Heartbeat(e)
		}
	}
	every, interval := a.CheckpointEvery, a.CheckpointInterval
	if every == 0 {
		every = trainjob.DefaultCheckpointEvery
	}
	if interval == 0 {
		interval = trainjob.DefaultCheckpointInterval
	}
	spec := trainjob.Spec{
		OutDir: out.ModelDir, HoldoutFraction: job.HoldoutFraction, Seed: job.Seed, Options: a.Options,
		CheckpointDir: ckptDir, CheckpointEvery: every, CheckpointInterval: interval,
	}
	var err error
	if len(a.TrainerCommand) == 0 {
		out.Result, err = a.runInProcess(ctx, job, spec, onEvent)
	} else {
		out.Result, err = a.runProcess(ctx, job, spec, onEvent)
	}
	if err != nil {
		return JobOutput{}, err
	}
	return out, nil
}

func (a *Activities) runInProcess(ctx context.Context, job Job, spec trainjob.Spec, onEvent func(trainjob.Event)) (trainjob.Result, error) {
	examples, err := trainjob.ReadFiles(job.DataFiles...)
	if err != nil {
		return trainjob.Result{}, err
	}
	return trainjob.Run(ctx, examples, spec, onEvent)
}

// runProcess runs TrainerCommand with the train-job flags and follows its
// JSON lines. On cancellation the trainer gets SIGTERM, so that it saves a
// checkpoint, then SIGKILL after KillGrace.
func (a *Activities) runProcess(ctx context.Context, job Job, spec trainjob.Spec, onEvent func(trainjob.Event)) (trainjob.Result, error) {
	manifest := filepath.Join(job.Dir, "manifest.json")
	opts := spec.Options
	if err := trainjob.WriteManifest(manifest, trainjob.Manifest{
		Data: job.DataFiles, HoldoutFraction: spec.HoldoutFraction, Seed: &spec.Seed, Options: &opts,
	}); err != nil {
		return trainjob.Result{}, err
	}
	args := append(append([]string(nil), a.TrainerCommand[1:]...),
		"--manifest", manifest, "--out", spec.OutDir, "--checkpoint-dir", spec.CheckpointDir,
		"--checkpoint-every-epochs", strconv.Itoa(spec.CheckpointEvery),
		"--checkpoint-interval", spec.CheckpointInterval.String())
	cmd := exec.CommandContext(ctx, a.TrainerCommand[0], args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	dieWithParent(cmd)
	cmd.WaitDelay = a.KillGrace
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = defaultKillGrace
	}
	var stderr tailBuffer
	cmd.Stderr = &stderr
	// An io.Pipe rather than StdoutPipe: Wait then owns the copying, so
	// WaitDelay also frees us from a trainer that ignores SIGTERM while
	// holding its stdout open.
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		return trainjob.Result{}, fmt.Errorf("start trainer: %w", err)
	}
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		waited <- err
	}()
	res, done, scanErr := followEvents(pr, onEvent)
	// Drain so that a trainer blocked on a full pipe can still exit.
	_, _ = io.Copy(io.Discard, pr)
	waitErr := <-waited
	switch {
	case ctx.Err() != nil:
		return trainjob.Result{}, fmt.Errorf("trainer stopped: %w", ctx.Err())
	case waitErr != nil:
		var exit *exec.ExitError
		msg := fmt.Sprintf("trainer failed: %v: %s", waitErr, bytes.TrimSpace(stderr.Bytes()))
		if errors.As(waitErr, &exit) && exit.ExitCode() == trainjob.ExitUsage {
			return trainjob.Result{}, temporal.NewNonRetryableApplicationError(msg, workflows.ErrBadInput, waitErr)
		}
		return trainjob.Result{}, errors.New(msg)
	case scanErr != nil:
		return trainjob.Result{}, fmt.Errorf("trainer output: %w", scanErr)
	case !done:
		return trainjob.Result{}, errors.New("trainer exited 0 without a done event")
	}
	return res, nil
}

// followEvents reads the trainer's JSON lines until EOF and returns the done
// event's result. Lines that are not events (a replacement trainer's
// library chatter) are skipped.
func followEvents(r io.Reader, onEvent func(trainjob.Event)) (trainjob.Result, bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var res trainjob.Result
	done := false
	for sc.Scan() {
		var line struct {
			trainjob.Event
			Result *trainjob.Result `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Event.Event == "" {
			continue
		}
		if line.Event.Event == "done" && line.Result != nil {
			res, done = *line.Result, true
			continue
		}
		onEvent(line.Event)
	}
	return res, done, sc.Err()
}

// tailBuffer keeps the last few KiB written to it, enough for an error
// message without holding a chatty trainer's whole stderr.
type tailBuffer struct{ b []byte }

const tailBytes = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailBytes {
		t.b = append(t.b[:0], t.b[len(t.b)-tailBytes:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte { return t.b }

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func (a *Activities) checkpointStore() CheckpointStore {
	if a.Checkpoints != nil {
		return a.Checkpoints
	}
	return S3Checkpoints{Client: a.S3}
}
