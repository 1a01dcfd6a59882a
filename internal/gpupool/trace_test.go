package gpupool

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunTrace(t *testing.T) {
	rep, err := RunTrace(DefaultTrace())
	require.NoError(t, err)
	t.Logf("\n%s", rep.Table())

	assert.Zero(t, rep.Policy.QuotaViolations)
	assert.GreaterOrEqual(t, rep.Policy.UtilizationOfIdeal, 0.90)
	assert.LessOrEqual(t, rep.Policy.UtilizationOfIdeal, 1.0)
	assert.Greater(t, rep.Policy.Jain, rep.FIFO.Jain)
	assert.Equal(t, rep.Policy.Jobs, rep.FIFO.Jobs, "both schedulers see the same trace")

	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	var shape map[string]map[string]any
	require.NoError(t, json.Unmarshal(raw, &shape))
	for _, side := range []string{"policy", "fifo"} {
		var keys []string
		for k := range shape[side] {
			keys = append(keys, k)
		}
		assert.ElementsMatch(t, []string{"utilization_of_ideal", "jain", "quota_violations", "wait_mean_s", "wait_p99_s"}, keys)
	}

	again, err := RunTrace(DefaultTrace())
	require.NoError(t, err)
	assert.Equal(t, rep, again, "the trace and both schedulers are deterministic")
}
