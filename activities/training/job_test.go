package training

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/internal/trainjob"
)

// trainerEnv makes this test binary act as `dure train-job`, so that the
// child-process mode is tested without building the dure binary.
const trainerEnv = "DURE_TEST_AS_TRAINJOB"

func TestMain(m *testing.M) {
	if os.Getenv(trainerEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := trainjob.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		switch {
		case err == nil:
			os.Exit(trainjob.ExitDone)
		case errors.Is(err, trainjob.ErrUsage):
			fmt.Fprintln(os.Stderr, err)
			os.Exit(trainjob.ExitUsage)
		default:
			fmt.Fprintln(os.Stderr, err)
			os.Exit(trainjob.ExitFailed)
		}
	}
	os.Exit(m.Run())
}

// memStore is a CheckpointStore in a local directory.
type memStore struct {
	mu   sync.Mutex
	dir  string
	puts []string
}

func (s *memStore) Put(_ context.Context, candidateID, file string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	dst := filepath.Join(s.dir, candidateID, filepath.Base(file))
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	s.puts = append(s.puts, filepath.Base(file))
	return os.WriteFile(dst, raw, 0o600)
}

func (s *memStore) Latest(_ context.Context, candidateID, dir string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entries, err := os.ReadDir(filepath.Join(s.dir, candidateID))
	if errors.Is(err, os.ErrNotExist) || len(entries) == 0 {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	name := entries[len(entries)-1].Name() // ReadDir sorts by name, names sort by epoch
	raw, err := os.ReadFile(filepath.Join(s.dir, candidateID, name))
	if err != nil {
		return "", err
	}
	return name, os.WriteFile(filepath.Join(dir, name), raw, 0o600)
}

func (s *memStore) Delete(_ context.Context, candidateID string) error {
	return os.RemoveAll(filepath.Join(s.dir, candidateID))
}

func testActivities(t *testing.T, processMode bool) (*Activities, *memStore) {
	store := &memStore{dir: t.TempDir()}
	opts := textclf.DefaultOptions()
	// A tight tolerance so that training lasts several epochs.
	opts.Tolerance, opts.Epochs, opts.HashBits = 0.005, 12, 16
	a := &Activities{Options: opts, Checkpoints: store, CheckpointEvery: 2}
	if processMode {
		t.Setenv(trainerEnv, "1")
		a.TrainerCommand = []string{os.Args[0]}
	}
	return a, store
}

func testJob(t *testing.T, candidate string, heartbeat func(trainjob.Event)) Job {
	data, err := filepath.Abs("../../data/complaints/suwon.jsonl")
	require.NoError(t, err)
	return Job{CandidateID: candidate, DataFiles: []string{data}, HoldoutFraction: 0.2, Seed: 5,
		Dir: t.TempDir(), Heartbeat: heartbeat}
}

func events(log []trainjob.Event, name string) []trainjob.Event {
	var out []trainjob.Event
	for _, e := range log {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}

// TestKilledJobResumesFromCheckpoint kills the trainer after its first
// checkpoint, then retries on a fresh work directory (as another host would):
// the retry must restore the checkpoint from the store, resume after it, and
// end with the same model and metrics as an uninterrupted run.
func TestKilledJobResumesFromCheckpoint(t *testing.T) {
	for _, mode := range []struct {
		name    string
		process bool
	}{{"in-process", false}, {"child-process", true}} {
		t.Run(mode.name, func(t *testing.T) {
			a, store := testActivities(t, mode.process)

			var fullLog []trainjob.Event
			full, err := a.runJob(context.Background(), testJob(t, "full", func(e trainjob.Event) { fullLog = append(fullLog, e) }))
			require.NoError(t, err)
			require.Greater(t, len(events(fullLog, "epoch")), 4)
			assert.Zero(t, full.ResumedFromEpoch)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var firstLog []trainjob.Event
			_, err = a.runJob(ctx, testJob(t, "cand", func(e trainjob.Event) {
				firstLog = append(firstLog, e)
				if e.Event == "checkpoint" {
					cancel()
				}
			}))
			require.ErrorIs(t, err, context.Canceled)
			saved := events(firstLog, "checkpoint")
			require.NotEmpty(t, saved)
			assert.Contains(t, store.puts, trainjob.CheckpointName(saved[len(saved)-1].Epoch), "checkpoint reached the store")

			var retryLog []trainjob.Event
			retry, err := a.runJob(context.Background(), testJob(t, "cand", func(e trainjob.Event) { retryLog = append(retryLog, e) }))
			require.NoError(t, err)
			resumed := events(retryLog, "resumed")
			require.Len(t, resumed, 1)
			assert.GreaterOrEqual(t, resumed[0].Epoch, 1)
			assert.Equal(t, saved[len(saved)-1].Epoch, resumed[0].Epoch, "lost nothing past the last checkpoint")
			assert.Equal(t, resumed[0].Epoch, retry.ResumedFromEpoch)
			assert.Equal(t, resumed[0].Epoch+1, events(retryLog, "epoch")[0].Epoch)

			assert.Equal(t, full.Result, retry.Result, "same quality as an uninterrupted run")
			want, err := os.ReadFile(filepath.Join(full.ModelDir, textclf.ModelFile))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(retry.ModelDir, textclf.ModelFile))
			require.NoError(t, err)
			assert.True(t, slices.Equal(want, got), "byte-identical model")
		})
	}
}

func TestChildProcessBadInputIsNotRetryable(t *testing.T) {
	a, _ := testActivities(t, true)
	job := testJob(t, "bad", nil)
	job.DataFiles = []string{filepath.Join(t.TempDir(), "missing.jsonl")}
	_, err := a.runJob(context.Background(), job)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.jsonl")
	var nonRetryable interface{ NonRetryable() bool }
	if assert.ErrorAs(t, err, &nonRetryable) {
		assert.True(t, nonRetryable.NonRetryable())
	}
}

func TestFollowEventsSkipsNoise(t *testing.T) {
	in := `warming up
{"event":"epoch","epoch":1,"epochs":3,"loss":0.5}
{"event":"done","result":{"train_records":7,"holdout":{}}}
`
	var got []trainjob.Event
	res, done, err := followEvents(strings.NewReader(in), func(e trainjob.Event) { got = append(got, e) })
	require.NoError(t, err)
	assert.True(t, done)
	assert.Equal(t, 7, res.TrainRecords)
	require.Len(t, got, 1)
	assert.Equal(t, 1, got[0].Epoch)
}

// A GPU host agent killed mid-training left its attempt's datasets and
// model files behind; the next start removes them, and nothing else.
func TestCleanWorkDirRemovesKilledAttempts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	n, err := CleanWorkDir(dir)
	require.NoError(t, err)
	assert.Zero(t, n)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())

	attempt := filepath.Join(dir, "train-cand-1-123")
	require.NoError(t, os.MkdirAll(filepath.Join(attempt, "model"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(attempt, "data-000.jsonl"), []byte("{}\n"), 0o600))
	other := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(other, []byte("kept"), 0o600))

	n, err = CleanWorkDir(dir)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.NoDirExists(t, attempt)
	assert.FileExists(t, other)
}
