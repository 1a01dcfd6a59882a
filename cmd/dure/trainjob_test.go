package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTrainJobManifestWithCheckpoints(t *testing.T) {
	dir := t.TempDir()
	data, err := filepath.Abs(filepath.Join("..", "..", "data", "complaints", "suwon.jsonl"))
	require.NoError(t, err)
	manifest := filepath.Join(dir, "job.json")
	require.NoError(t, os.WriteFile(manifest, []byte(`{"data":["`+data+`"],"holdout_fraction":0.25,"seed":2,
		"options":{"tolerance":0.005,"epochs":6,"hash_bits":16}}`), 0o600))
	args := []string{"train-job", "--manifest", manifest, "--out", filepath.Join(dir, "model"),
		"--checkpoint-dir", filepath.Join(dir, "ckpt"), "--checkpoint-every-epochs", "2"}

	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), args, &out, &errOut), errOut.String())
	count := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var e struct{ Event string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), sc.Text())
		count[e.Event]++
	}
	assert.Positive(t, count["checkpoint"])
	assert.Equal(t, 1, count["done"])
	assert.Zero(t, count["resumed"])

	// Running again finds the checkpoints and resumes instead of starting over.
	out.Reset()
	require.NoError(t, run(context.Background(), args, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), `"event":"resumed"`)
}

func TestTrainJobManifestErrorsExitTwo(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "job.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"data":["x.jsonl"],"epochs":3}`), 0o600))
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"train-job", "--manifest", bad, "--out", t.TempDir()}, &out, &errOut)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err), "an unknown manifest field is bad input")
}
