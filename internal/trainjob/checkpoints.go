package trainjob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dure-platform/dure/internal/textclf"
)

// Checkpoint files are named by the epoch they hold, zero-padded so that
// names sort like epochs: ckpt-000012.bin.
const (
	checkpointPrefix = "ckpt-"
	checkpointSuffix = ".bin"
	// keepCheckpoints is how many checkpoints stay on disk: the newest, and
	// one to fall back on should the newest turn out corrupt.
	keepCheckpoints = 2
)

// CheckpointName is the file name of the checkpoint after epoch.
func CheckpointName(epoch int) string {
	return fmt.Sprintf("%s%06d%s", checkpointPrefix, epoch, checkpointSuffix)
}

// CheckpointEpoch parses a name made by CheckpointName.
func CheckpointEpoch(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, checkpointPrefix)
	if !ok {
		return 0, false
	}
	if digits, ok = strings.CutSuffix(digits, checkpointSuffix); !ok {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 0
}

// checkpointFiles lists dir's checkpoint names, newest first.
func checkpointFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var names []string
	for _, e := range entries {
		if _, ok := CheckpointEpoch(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	slices.Reverse(names)
	return names, nil
}

// LatestCheckpoint returns the newest checkpoint in dir that decodes, and
// its path; nil when there is none. Corrupt files are skipped, not fatal:
// the price is repeating a few epochs.
func LatestCheckpoint(dir string) (*textclf.Checkpoint, string, error) {
	names, err := checkpointFiles(dir)
	if err != nil {
		return nil, "", err
	}
	for _, name := range names {
		path := filepath.Join(dir, name)
		c, err := readCheckpointFile(path)
		if errors.Is(err, textclf.ErrBadCheckpoint) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return c, path, nil
	}
	return nil, "", nil
}

func readCheckpointFile(path string) (*textclf.Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	defer f.Close()
	c, err := textclf.ReadCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// writeCheckpoint writes c to dir atomically (a reader, such as the
// activity's uploader, never sees half a file) and prunes older ones.
func writeCheckpoint(dir string, c *textclf.Checkpoint) (string, int64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", 0, fmt.Errorf("checkpoint dir: %w", err)
	}
	path := filepath.Join(dir, CheckpointName(c.Epoch))
	tmp, err := os.CreateTemp(dir, ".ckpt-*.tmp")
	if err != nil {
		return "", 0, fmt.Errorf("checkpoint: %w", err)
	}
	n, err := c.WriteTo(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", 0, fmt.Errorf("write checkpoint: %w", err)
	}
	names, err := checkpointFiles(dir)
	if err != nil {
		return "", 0, err
	}
	for _, old := range names[min(keepCheckpoints, len(names)):] {
		_ = os.Remove(filepath.Join(dir, old)) // best effort: stale files only cost disk
	}
	return path, n, nil
}

// checkpointing builds the solver's checkpoint settings for spec, loading the
// checkpoint to resume from.
func checkpointing(spec Spec, emit func(Event)) (textclf.CheckpointConfig, error) {
	if spec.CheckpointDir == "" {
		return textclf.CheckpointConfig{}, nil
	}
	resume, path, err := LatestCheckpoint(spec.CheckpointDir)
	if err != nil {
		return textclf.CheckpointConfig{}, err
	}
	if resume != nil {
		emit(Event{Event: "resumed", Epoch: resume.Epoch, Loss: resume.Loss, Path: path})
	}
	return textclf.CheckpointConfig{
		Every: spec.CheckpointEvery, Interval: spec.CheckpointInterval, Resume: resume,
		Save: func(_ context.Context, c *textclf.Checkpoint) error {
			path, n, err := writeCheckpoint(spec.CheckpointDir, c)
			if err != nil {
				return err
			}
			emit(Event{Event: "checkpoint", Epoch: c.Epoch, Loss: c.Loss, Path: path, Bytes: n})
			return nil
		},
	}, nil
}
