package workers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/workflows"
)

// HistoryIndex names the file beside recorded histories that says which
// execution each one is: workflows read their own ID (a training names its
// lease by it), so a replay must run under the ID it was recorded with.
const HistoryIndex = "index.json"

// RecordedExecution is one entry of the index: a history file and the
// execution it was recorded from.
type RecordedExecution struct {
	WorkflowType string `json:"workflow_type"`
	WorkflowID   string `json:"workflow_id"`
	RunID        string `json:"run_id"`
}

// ReadHistoryIndex reads dir's index: history file name to execution.
func ReadHistoryIndex(dir string) (map[string]RecordedExecution, error) {
	raw, err := os.ReadFile(filepath.Join(dir, HistoryIndex))
	if err != nil {
		return nil, err
	}
	index := map[string]RecordedExecution{}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", HistoryIndex, err)
	}
	return index, nil
}

// ReplayHistory replays a recorded history, its payloads in clear, on
// today's workflow code as the control-plane worker runs it: every
// workflow, and the interceptor that hands decisions their sender. It fails
// where today's code would not repeat the recorded run.
func ReplayHistory(file string, exec RecordedExecution) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
		Interceptors: []interceptor.WorkerInterceptor{workflows.DecisionSenders(converter.GetDefaultDataConverter())},
	})
	if err != nil {
		return err
	}
	RegisterWorkflows(r)
	return r.ReplayWorkflowHistoryWithOptions(nil, history, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: exec.WorkflowID, RunID: exec.RunID},
	})
}
