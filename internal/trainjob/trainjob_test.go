package trainjob

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/textclf"
)

const sampleDir = "../../data/complaints"

// eventLog collects Main's JSON lines and runs onEvent for each.
type eventLog struct {
	t       *testing.T
	buf     bytes.Buffer
	events  []Event
	onEvent func(Event)
}

func (l *eventLog) Write(p []byte) (int, error) {
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // incomplete: keep for the next write
			return len(p), nil
		}
		var e Event
		require.NoError(l.t, json.Unmarshal(line, &e), string(line))
		l.events = append(l.events, e)
		if l.onEvent != nil {
			l.onEvent(e)
		}
	}
}

func (l *eventLog) find(name string) []Event {
	var out []Event
	for _, e := range l.events {
		if e.Event == name {
			out = append(out, e)
		}
	}
	return out
}

// writeTestManifest uses one tenant's complaints with a tight tolerance so
// that training lasts several epochs.
func writeTestManifest(t *testing.T, dir string) string {
	t.Helper()
	data, err := filepath.Abs(filepath.Join(sampleDir, "suwon.jsonl"))
	require.NoError(t, err)
	opts := textclf.DefaultOptions()
	opts.Tolerance, opts.Epochs, opts.HashBits = 0.005, 12, 16
	seed := int64(3)
	path := filepath.Join(dir, "manifest.json")
	require.NoError(t, WriteManifest(path, Manifest{Data: []string{data}, HoldoutFraction: 0.25, Seed: &seed, Options: &opts}))
	return path
}

func TestMainResumesAfterCancel(t *testing.T) {
	dir := t.TempDir()
	manifest := writeTestManifest(t, dir)
	args := func(name string) []string {
		return []string{"--manifest", manifest, "--out", filepath.Join(dir, name),
			"--checkpoint-dir", filepath.Join(dir, name+"-ckpt"), "--checkpoint-every-epochs", "2"}
	}

	full := &eventLog{t: t}
	require.NoError(t, Main(context.Background(), args("full"), full, os.Stderr))
	require.Greater(t, len(full.find("epoch")), 4)
	require.NotEmpty(t, full.find("checkpoint"))
	require.Empty(t, full.find("resumed"))

	// First attempt: stop right after the first checkpoint, as SIGTERM or
	// a lost host would.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &eventLog{t: t, onEvent: func(e Event) {
		if e.Event == "checkpoint" {
			cancel()
		}
	}}
	err := Main(ctx, args("split"), first, os.Stderr)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, first.find("cancelled"), 1)
	ckpt := first.find("checkpoint")[0]
	assert.Equal(t, 2, ckpt.Epoch)
	assert.Positive(t, ckpt.Bytes)

	second := &eventLog{t: t}
	require.NoError(t, Main(context.Background(), args("split"), second, os.Stderr))
	resumed := second.find("resumed")
	require.Len(t, resumed, 1)
	assert.Equal(t, ckpt.Epoch, resumed[0].Epoch)
	assert.Equal(t, ckpt.Epoch+1, second.find("epoch")[0].Epoch, "resumes after the checkpointed epoch")

	assert.Equal(t, full.find("evaluated"), second.find("evaluated"), "same held-out metrics")
	want, err := os.ReadFile(filepath.Join(dir, "full", textclf.ModelFile))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "split", textclf.ModelFile))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "resumed model is byte-identical")
}

func TestLatestCheckpointSkipsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	manifest := writeTestManifest(t, dir)
	ckptDir := filepath.Join(dir, "ckpt")
	log := &eventLog{t: t}
	require.NoError(t, Main(context.Background(), []string{"--manifest", manifest, "--out", filepath.Join(dir, "m"),
		"--checkpoint-dir", ckptDir, "--checkpoint-every-epochs", "1"}, log, os.Stderr))
	saved := log.find("checkpoint")
	require.Greater(t, len(saved), keepCheckpoints)
	names, err := checkpointFiles(ckptDir)
	require.NoError(t, err)
	require.Len(t, names, keepCheckpoints, "older checkpoints are pruned")

	newest := saved[len(saved)-1]
	require.NoError(t, os.WriteFile(newest.Path, []byte("DURECKPT garbage"), 0o600))
	c, path, err := LatestCheckpoint(ckptDir)
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, saved[len(saved)-2].Path, path)
	assert.Equal(t, saved[len(saved)-2].Epoch, c.Epoch)

	c, _, err = LatestCheckpoint(filepath.Join(dir, "missing"))
	require.NoError(t, err)
	assert.Nil(t, c)
}

func TestMainRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"data":["x.jsonl"],"sede":1}`), 0o600))
	for name, args := range map[string][]string{
		"no out":        {"--data", "x.jsonl"},
		"no data":       {"--out", dir},
		"both":          {"--out", dir, "--data", "x.jsonl", "--manifest", bad},
		"unknown field": {"--out", dir, "--manifest", bad},
		"missing file":  {"--out", dir, "--data", filepath.Join(dir, "none.jsonl")},
		"bad flag":      {"--out", dir, "--checkpoint-every-epochs", "x"},
	} {
		err := Main(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		assert.ErrorIs(t, err, ErrUsage, name)
	}
}
