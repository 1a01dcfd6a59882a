package gpu

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func TestGPUInventoryActivity(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	a := &Activities{Host: "gpu-host-1", Source: DefaultSimulated("gpu-host-1")}
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.GPUInventory)
	if err != nil {
		t.Fatal(err)
	}
	// The result crosses Temporal as JSON: decode it as a workflow would.
	var inv HostInventory
	if err := val.Get(&inv); err != nil {
		t.Fatal(err)
	}
	if inv.Host != "gpu-host-1" || inv.Source != KindSimulated || len(inv.GPUs) != 8 || inv.CollectedAt.IsZero() {
		t.Fatalf("inventory = %+v", inv)
	}
	want, _ := a.Source.Inventory(context.Background())
	for i, g := range inv.GPUs {
		if g.UUID != want[i].UUID || g.NodeDevice != want[i].NodeDevice || *g.UtilizationPercent != *want[i].UtilizationPercent {
			t.Errorf("gpu %d = %+v, want %+v", i, g, want[i])
		}
	}
}

// slowSource answers after a delay, as a GPU stuck in the driver would.
type slowSource struct{ delay time.Duration }

func (s slowSource) Inventory(ctx context.Context) ([]GPU, error) {
	select {
	case <-time.After(s.delay):
		return DefaultSimulated("h").GPUs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestGPUInventoryHeartbeatsWhenSlow(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	var beats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, _ converter.EncodedValues) { beats.Add(1) })
	a := &Activities{Host: "h", Source: slowSource{delay: 200 * time.Millisecond}, HeartbeatEvery: 20 * time.Millisecond}
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.GPUInventory)
	if err != nil {
		t.Fatal(err)
	}
	var inv HostInventory
	if err := val.Get(&inv); err != nil || len(inv.GPUs) != 8 {
		t.Fatalf("inventory = %+v, %v", inv, err)
	}
	if beats.Load() == 0 {
		t.Error("a slow read did not heartbeat")
	}
}

func TestGPUInventoryFastDoesNotHeartbeat(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	var beats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, _ converter.EncodedValues) { beats.Add(1) })
	a := &Activities{Host: "h", Source: DefaultSimulated("h"), HeartbeatEvery: time.Hour}
	env.RegisterActivity(a)
	if _, err := env.ExecuteActivity(a.GPUInventory); err != nil {
		t.Fatal(err)
	}
	if beats.Load() != 0 {
		t.Errorf("%d heartbeats for a fast read", beats.Load())
	}
}

type failingSource struct{ err error }

func (s failingSource) Inventory(context.Context) ([]GPU, error) { return nil, s.err }

func TestGPUInventoryErrors(t *testing.T) {
	tests := []struct {
		name         string
		src          Source
		nonRetryable bool
	}{
		{name: "no source", src: nil, nonRetryable: true},
		{name: "read fails", src: failingSource{errors.New("count gpus: ERROR_UNKNOWN")}, nonRetryable: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			a := &Activities{Host: "h", Source: tt.src}
			env.RegisterActivity(a)
			_, err := env.ExecuteActivity(a.GPUInventory)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("err = %v, want an application error", err)
			}
			if appErr.NonRetryable() != tt.nonRetryable {
				t.Errorf("non-retryable = %v, want %v (%v)", appErr.NonRetryable(), tt.nonRetryable, err)
			}
		})
	}
}
