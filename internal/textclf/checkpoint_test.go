package textclf

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip encodes and decodes c, as a checkpoint file would.
func roundTrip(t *testing.T, c *Checkpoint) *Checkpoint {
	t.Helper()
	var buf bytes.Buffer
	_, err := c.WriteTo(&buf)
	require.NoError(t, err)
	got, err := ReadCheckpoint(&buf)
	require.NoError(t, err)
	return got
}

// sampleOptions trains the pilot data with a tolerance tight enough that
// training runs for several epochs, so there is something to interrupt.
func sampleOptions() Options {
	o := DefaultOptions()
	o.Tolerance = 0.005
	o.Epochs = 12
	o.HashBits = 18
	return o
}

func TestResumeGivesByteIdenticalModel(t *testing.T) {
	examples := loadSample(t)
	opts := sampleOptions()
	var epochs int
	want, err := Train(context.Background(), examples, opts, func(p Progress) { epochs = p.Epoch })
	require.NoError(t, err)
	require.Greater(t, epochs, 3, "training must last long enough to interrupt")
	wantBytes := modelBytes(t, want)

	for _, stopAfter := range []int{2, epochs - 1} {
		t.Run("", func(t *testing.T) {
			// Stop the first run after epoch stopAfter, as SIGTERM would;
			// the solver saves its state on the way out.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var last *Checkpoint
			_, err := TrainCheckpointed(ctx, examples, opts, CheckpointConfig{
				Save: func(_ context.Context, c *Checkpoint) error { last = roundTrip(t, c); return nil },
			}, func(p Progress) {
				if p.Epoch == stopAfter {
					cancel()
				}
			})
			require.ErrorIs(t, err, context.Canceled)
			require.NotNil(t, last)
			require.Equal(t, stopAfter, last.Epoch)

			var resumedAt []int
			got, err := TrainCheckpointed(context.Background(), examples, opts, CheckpointConfig{Resume: last},
				func(p Progress) { resumedAt = append(resumedAt, p.Epoch) })
			require.NoError(t, err)
			require.NotEmpty(t, resumedAt)
			assert.Equal(t, stopAfter+1, resumedAt[0], "no finished epoch is repeated")
			assert.Equal(t, wantBytes, modelBytes(t, got), "resumed model differs from the uninterrupted one")
		})
	}
}

func TestCheckpointEveryAndWorkers(t *testing.T) {
	examples := toyExamples()
	opts := toyOptions()
	opts.Tolerance = 1e-6
	opts.Epochs = 8
	want := modelBytes(t, trainToy(t, opts))

	var saved []*Checkpoint
	opts.Workers = 1 // workers must not change the result either
	m, err := TrainCheckpointed(context.Background(), examples, opts, CheckpointConfig{
		Every: 3,
		Save:  func(_ context.Context, c *Checkpoint) error { saved = append(saved, roundTrip(t, c)); return nil },
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, want, modelBytes(t, m), "checkpointing must not change the model")
	require.NotEmpty(t, saved)
	for i, c := range saved {
		assert.Equal(t, 3*(i+1), c.Epoch)
		got, err := TrainCheckpointed(context.Background(), examples, opts, CheckpointConfig{Resume: c}, nil)
		require.NoError(t, err)
		assert.Equal(t, want, modelBytes(t, got), "resume from epoch %d", c.Epoch)
	}
}

func TestCheckpointSaveErrorStopsTraining(t *testing.T) {
	opts := toyOptions()
	opts.Tolerance = 1e-6
	boom := errors.New("disk full")
	_, err := TrainCheckpointed(context.Background(), toyExamples(), opts, CheckpointConfig{
		Interval: time.Nanosecond,
		Save:     func(context.Context, *Checkpoint) error { return boom },
	}, nil)
	assert.ErrorIs(t, err, boom)
}

func TestResumeRejectsOtherRun(t *testing.T) {
	opts := toyOptions()
	opts.Tolerance = 1e-6
	var c *Checkpoint
	_, err := TrainCheckpointed(context.Background(), toyExamples(), opts, CheckpointConfig{
		Every: 1,
		Save: func(_ context.Context, got *Checkpoint) error {
			if c == nil {
				c = roundTrip(t, got)
			}
			return nil
		},
	}, nil)
	require.NoError(t, err)
	require.NotNil(t, c)

	other := opts
	other.C = 2
	_, err = TrainCheckpointed(context.Background(), toyExamples(), other, CheckpointConfig{Resume: c}, nil)
	assert.ErrorIs(t, err, ErrCheckpointMismatch, "other hyperparameters")
	_, err = TrainCheckpointed(context.Background(), toyExamples()[1:], opts, CheckpointConfig{Resume: c}, nil)
	assert.ErrorIs(t, err, ErrCheckpointMismatch, "other data")

	// A larger epoch budget is fine: it only bounds the loop.
	more := opts
	more.Epochs = 50
	_, err = TrainCheckpointed(context.Background(), toyExamples(), more, CheckpointConfig{Resume: c}, nil)
	assert.NoError(t, err)
}

func TestReadCheckpointRejectsCorruption(t *testing.T) {
	opts := toyOptions()
	opts.Tolerance = 1e-6
	var raw []byte
	_, err := TrainCheckpointed(context.Background(), toyExamples(), opts, CheckpointConfig{
		Every: 1,
		Save: func(_ context.Context, c *Checkpoint) error {
			var buf bytes.Buffer
			_, err := c.WriteTo(&buf)
			raw = buf.Bytes()
			return err
		},
	}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, raw)

	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 1
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": raw[:len(raw)-10],
		"flipped":   flipped,
		"model":     append([]byte(magic), raw[len(magic):]...),
	} {
		_, err := ReadCheckpoint(bytes.NewReader(b))
		assert.ErrorIs(t, err, ErrBadCheckpoint, name)
	}
}
