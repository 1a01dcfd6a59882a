// Package testkit holds what the end-to-end tests share: the sample data's
// departments and phrases, and the check that workflow histories hold no
// complaint text or secret.
package testkit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/dure-platform/dure/internal/objstore"
)

// KnownDepartments are the 17 departments of the sample complaints.
func KnownDepartments() []string {
	return []string{"기타", "육아/교육", "교통/건축/국토", "보건복지", "인권/성평등", "정치개혁", "안전/환경", "행정",
		"외교/통일/국방", "일자리", "문화/예술/체육/언론", "경제민주화", "반려동물", "미래", "농산어촌", "성장동력", "저출산/고령화대책"}
}

// SampleNeedles returns up to n phrases of the shipped sample complaints
// (repo is the repository's root), long enough to be found only where
// complaint text went.
func SampleNeedles(t *testing.T, repo string, n int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "data", "complaints", "suwon.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	var out []string
	for sc.Scan() && len(out) < n {
		var rec struct{ Title, Body string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		if r := []rune(rec.Body); len(r) > 40 {
			out = append(out, string(r[10:30]))
		}
		if r := []rune(rec.Title); len(r) >= 12 {
			out = append(out, string(r[:12]))
		}
	}
	require.NotEmpty(t, out)
	return out
}

// AssertHistoriesClean reads every workflow history of the namespace as
// stored (c must not decode payloads) and fails on any needle found in it; it
// also checks that payloads went through the encryption codec and that at
// least minExecutions workflows ran.
func AssertHistoriesClean(ctx context.Context, t *testing.T, c client.Client, namespace string, needles []string, minExecutions int) {
	t.Helper()
	resp, err := c.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace, PageSize: 1000,
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(resp.Executions), minExecutions)
	encrypted := 0
	for _, ex := range resp.Executions {
		iter := c.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			raw, err := proto.Marshal(ev)
			require.NoError(t, err)
			for _, n := range needles {
				require.False(t, bytes.Contains(raw, []byte(n)), "workflow %s event %d holds sample text or a token in clear", ex.Execution.WorkflowId, ev.EventId)
			}
			encrypted += bytes.Count(raw, []byte("binary/encrypted"))
		}
	}
	assert.Greater(t, encrypted, 0, "payloads must go through the encryption codec")
}

// Logger writes to the test's log.
func Logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// WaitForCheckpoint waits until a training run (its candidate id) has a
// checkpoint in S3.
func WaitForCheckpoint(ctx context.Context, t *testing.T, s3 *minio.Client, candidate string) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for obj := range s3.ListObjects(ctx, objstore.BucketCheckpoints, minio.ListObjectsOptions{Prefix: candidate + "/", Recursive: true}) {
			if obj.Err == nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no checkpoint of %s appeared", candidate)
		case <-tick.C:
		}
	}
}
