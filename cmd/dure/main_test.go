package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"nope"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, errOut.String(), "train-job")
}

func TestAnonymize(t *testing.T) {
	in := strings.Join([]string{
		`{"text":"담당 연락처 010-1234-5678 입니다"}`,
		`{"text":"메일은 kim.minsu@example.com 으로"}`,
		`not json`,
		`{"text":"개인정보 없음"}`,
	}, "\n")
	var out, errOut bytes.Buffer
	err := anonymize(strings.NewReader(in), &out, &errOut)
	require.Error(t, err, "a bad line is reported")
	assert.Contains(t, errOut.String(), "line 3")

	var lines []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		lines = append(lines, m)
	}
	require.Len(t, lines, 4, "one output line per input line")

	phone := lines[0]
	assert.NotContains(t, phone["masked"], "010-1234-5678")
	spans := phone["spans"].([]any)
	require.Len(t, spans, 1)
	span := spans[0].(map[string]any)
	assert.Equal(t, "PHONE", span["type"])
	assert.Equal(t, float64(len([]rune("담당 연락처 "))), span["start"], "offsets count code points")
	assert.Equal(t, "010-1234-5678", span["text"])

	assert.NotContains(t, lines[1]["masked"], "kim.minsu@example.com")
	assert.Contains(t, lines[2], "error")
	assert.Equal(t, "개인정보 없음", lines[3]["masked"])
	assert.Empty(t, lines[3]["spans"])
}

func TestTrainJobThenEval(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join("..", "..", "data", "complaints")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"train-job",
		"--data", filepath.Join(data, "suwon.jsonl"), "--data", filepath.Join(data, "yongin.jsonl"),
		"--out", filepath.Join(dir, "model")}, &out, &errOut)
	require.NoError(t, err, errOut.String())

	events := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var e struct{ Event string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), sc.Text())
		events[e.Event]++
	}
	for _, want := range []string{"loaded", "evaluated", "saved", "done"} {
		assert.Positive(t, events[want], "event %s", want)
	}

	out.Reset()
	err = run(context.Background(), []string{"eval", "--model", filepath.Join(dir, "model"),
		"--data", filepath.Join(data, "seongnam.jsonl")}, &out, &errOut)
	require.NoError(t, err, errOut.String())
	var m struct {
		N        int            `json:"n"`
		Accuracy float64        `json:"accuracy"`
		MacroF1  float64        `json:"macro_f1"`
		PerClass map[string]any `json:"per_class"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &m))
	assert.Equal(t, 969, m.N)
	assert.Greater(t, m.Accuracy, 0.4, "a model trained on two cities routes the third")
	assert.Len(t, m.PerClass, 17)
}

func TestEvalCrossValidatesAgainstReference(t *testing.T) {
	data := filepath.Join("..", "..", "data", "complaints", "suwon.jsonl")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"eval", "--data", data, "--splits", "2", "--seed", "5"}, &out, &errOut)
	require.NoError(t, err, errOut.String())
	var cv struct {
		Model, Reference struct {
			Accuracy float64 `json:"accuracy"`
			Splits   []struct {
				Seed int64 `json:"seed"`
			} `json:"splits"`
		}
		Ratio struct {
			Accuracy float64 `json:"accuracy"`
			MacroF1  float64 `json:"macro_f1"`
		}
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &cv), out.String())
	require.Len(t, cv.Model.Splits, 2)
	require.Len(t, cv.Reference.Splits, 2)
	assert.Equal(t, int64(6), cv.Reference.Splits[1].Seed)
	assert.InDelta(t, cv.Model.Accuracy/cv.Reference.Accuracy, cv.Ratio.Accuracy, 1e-12)
	assert.Positive(t, cv.Ratio.MacroF1)
	assert.Equal(t, 4, strings.Count(errOut.String(), "split "), "progress: one line per split and configuration")

	badOptions := filepath.Join(t.TempDir(), "options.json")
	require.NoError(t, os.WriteFile(badOptions, []byte(`{"class_weight":"inverse"}`), 0o600))
	misspelt := filepath.Join(t.TempDir(), "misspelt.json")
	require.NoError(t, os.WriteFile(misspelt, []byte(`{"class_wieght":"none"}`), 0o600))
	for _, args := range [][]string{
		{"eval", "--data", data},
		{"eval", "--data", data, "--splits", "2", "--options", badOptions},
		{"eval", "--data", data, "--splits", "2", "--options", misspelt},
		{"eval", "--data", data, "--splits", "2", "--model", t.TempDir()},
		{"eval", "--data", data, "--splits", "2", "--holdout", "1"},
		{"eval", "--data", data, "--splits", "2", "--options", filepath.Join(t.TempDir(), "missing.json")},
	} {
		err := run(context.Background(), args, &out, &errOut)
		assert.Equal(t, 2, exitCode(err), "%v: %v", args, err)
	}
}

func TestTrainJobRejectsBadArguments(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"train-job", "--out", t.TempDir()}, &out, &errOut)
	assert.ErrorContains(t, err, "--data")

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"title\":\"a\",\"body\":\"b\",\"department\":\"행정\"}\n{broken\n"), 0o600))
	err = run(context.Background(), []string{"train-job", "--data", bad, "--out", t.TempDir()}, &out, &errOut)
	assert.ErrorContains(t, err, "2", "the error names the bad line")
}

func TestBenchGPUPoolJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"bench", "gpupool", "--json"}, &out, &errOut), errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var report map[string]map[string]float64
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &report), "the last line is one JSON object")
	for _, sched := range []string{"policy", "fifo"} {
		for _, key := range []string{"utilization_of_ideal", "jain", "quota_violations", "wait_mean_s", "wait_p99_s"} {
			assert.Contains(t, report[sched], key, "%s.%s", sched, key)
		}
	}
	assert.Zero(t, report["policy"]["quota_violations"])
	assert.Greater(t, report["policy"]["utilization_of_ideal"], report["fifo"]["utilization_of_ideal"])
}
