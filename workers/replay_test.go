package workers

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/workflows"
)

// The histories in testdata/histories were recorded from real runs
// (tests/histories_test.go with DURE_RECORD_HISTORIES set) and stay
// committed: each replays on today's code, so a change that would break a
// run in flight (DataIngestion waits 72 h, GPUPool never ends) fails here.
// A change that must behave differently gates itself with
// workflow.GetVersion and keeps the old path; histories recorded before it
// stay here to prove it.
func TestRecordedHistoriesReplay(t *testing.T) {
	dir := filepath.Join("testdata", "histories")
	index, err := ReadHistoryIndex(dir)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	covered := map[string]int{}
	for _, f := range files {
		name := filepath.Base(f)
		if name == HistoryIndex {
			continue
		}
		exec, ok := index[name]
		require.True(t, ok, "%s is in %s", name, HistoryIndex)
		covered[exec.WorkflowType]++
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, ReplayHistory(f, exec))
		})
	}
	for _, wt := range []string{workflows.TypeTenantOnboarding, workflows.TypeTenantOffboarding, workflows.TypeDataIngestion,
		workflows.TypeTraining, workflows.TypeModelPromotion, workflows.TypeRetraining, workflows.TypeGPUPool, workflows.TypeTenantKeyRotation} {
		assert.Positive(t, covered[wt], "a recorded history of %s", wt)
	}
	assert.GreaterOrEqual(t, covered[workflows.TypeGPUPool], 2, "GPUPool's runs on both sides of a continue-as-new")
}
