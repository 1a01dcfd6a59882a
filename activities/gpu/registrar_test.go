package gpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/gpupool"
	"github.com/dure-platform/dure/workflows"
)

// fakePool hands each register_host update to the test, which answers it.
type fakePool struct {
	calls   chan client.UpdateWorkflowOptions
	answers chan poolAnswer
}

type poolAnswer struct {
	reg workflows.GPUHostRegistration
	err error
}

func newFakePool() *fakePool {
	return &fakePool{calls: make(chan client.UpdateWorkflowOptions), answers: make(chan poolAnswer)}
}

func (p *fakePool) UpdateWorkflow(ctx context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	select {
	case p.calls <- opts:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case a := <-p.answers:
		if a.err != nil {
			return nil, a.err
		}
		return fakeHandle{reg: a.reg}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type fakeHandle struct{ reg workflows.GPUHostRegistration }

func (fakeHandle) WorkflowID() string { return workflows.GPUPoolWorkflowID }
func (fakeHandle) RunID() string      { return "" }
func (fakeHandle) UpdateID() string   { return "" }
func (h fakeHandle) Get(_ context.Context, v any) error {
	*v.(*workflows.GPUHostRegistration) = h.reg
	return nil
}

// fakeClock lets the test see every wait and end it.
type fakeClock struct {
	waits   chan time.Duration
	proceed chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{waits: make(chan time.Duration), proceed: make(chan struct{})}
}

func (c *fakeClock) wait(ctx context.Context, d time.Duration) error {
	select {
	case c.waits <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.proceed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mutableSource is an inventory the test changes between reads.
type mutableSource struct {
	mu   sync.Mutex
	gpus []GPU
	err  error
}

func (s *mutableSource) Inventory(context.Context) ([]GPU, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]GPU(nil), s.gpus...), s.err
}

func (s *mutableSource) set(gpus []GPU, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gpus, s.err = gpus, err
}

func liveAnswer(ttl int) poolAnswer {
	return poolAnswer{reg: workflows.GPUHostRegistration{Host: &gpupool.HostView{State: gpupool.HostLive}, HostTTLSeconds: ttl}}
}

// syncBuffer is a log sink the registrar's goroutine writes while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHostRegistrarRegistersRenewsRetriesAndStops(t *testing.T) {
	src := &mutableSource{gpus: Simulated("gpu-a", 2, DefaultModel).GPUs}
	pool, clock := newFakePool(), newFakeClock()
	var logs syncBuffer
	r := &HostRegistrar{Host: "gpu-a", Source: src, Pool: pool, MaxBackoff: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), wait: clock.wait}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// expectUpdate takes the next update, checks it and answers it.
	expectUpdate := func(step string, gpus int, a poolAnswer) gpupool.HostConfig {
		t.Helper()
		opts := <-pool.calls
		if opts.WorkflowID != workflows.GPUPoolWorkflowID || opts.UpdateName != workflows.UpdateGPURegisterHost ||
			opts.WaitForStage != client.WorkflowUpdateStageCompleted || len(opts.Args) != 1 {
			t.Fatalf("%s: update options = %+v", step, opts)
		}
		host, ok := opts.Args[0].(gpupool.HostConfig)
		if !ok || host.Name != "gpu-a" || len(host.GPUs) != gpus {
			t.Fatalf("%s: registered %+v, want gpu-a with %d GPUs", step, opts.Args[0], gpus)
		}
		pool.answers <- a
		return host
	}
	expectWait := func(step string, want time.Duration) {
		t.Helper()
		if d := <-clock.waits; d != want {
			t.Fatalf("%s: waits %v, want %v", step, d, want)
		}
		clock.proceed <- struct{}{}
	}

	// At start, then every third of the pool's 90 s TTL, the same GPUs.
	first := expectUpdate("start", 2, liveAnswer(90))
	want := gpupool.GPUConfig{ID: "gpu-a/1", Model: "H100", Profile: "H100-20C", Slices: 4}
	if first.GPUs[1] != want {
		t.Errorf("GPU = %+v, want %+v", first.GPUs[1], want)
	}
	expectWait("after start", 30*time.Second)
	if renewal := expectUpdate("renewal", 2, liveAnswer(90)); !reflect.DeepEqual(renewal, first) {
		t.Errorf("renewal %+v differs from %+v", renewal, first)
	}

	// A GPU appears: the next registration carries it.
	src.set(Simulated("gpu-a", 3, DefaultModel).GPUs, nil)
	expectWait("after renewal", 30*time.Second)
	expectUpdate("change", 3, liveAnswer(90))

	// The pool is unreachable three times: 1 s, 2 s, then the 3 s cap.
	unreachable := poolAnswer{err: errors.New("connection refused")}
	expectWait("after change", 30*time.Second)
	expectUpdate("down 1", 3, unreachable)
	expectWait("retry 1", time.Second)
	expectUpdate("down 2", 3, unreachable)
	expectWait("retry 2", 2*time.Second)
	expectUpdate("down 3", 3, unreachable)
	expectWait("retry 3", 3*time.Second)
	expectUpdate("down 4", 3, unreachable)
	expectWait("retry 4", 3*time.Second)
	expectUpdate("back", 3, liveAnswer(90))

	// The inventory cannot be read: no update, backoff from the start.
	src.set(nil, errors.New("nvml: driver not loaded"))
	expectWait("after recovery", 30*time.Second)
	expectWait("read failed", time.Second)
	src.set(Simulated("gpu-a", 3, DefaultModel).GPUs, nil)

	// A refusal is not retried early: the next try comes at the interval.
	refused := poolAnswer{err: temporal.NewApplicationError("gpupool: invalid host registration: duplicate GPU", "")}
	expectUpdate("refused", 3, refused)
	expectWait("after refusal", 30*time.Second)
	expectUpdate("accepted", 3, liveAnswer(90))

	// Stopping: Run returns nil while it waits.
	<-clock.waits
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after cancellation", err)
	}

	out := logs.String()
	for _, line := range []string{
		`msg="registered with the gpu pool" host=gpu-a gpus=2 state=live host_ttl=1m30s every=30s`,
		`msg="gpu host registration renewed"`,
		`msg="gpu inventory changed; registered again" host=gpu-a gpus=3 added=[gpu-a/2] removed=[]`,
		`msg="gpu host registration failed" host=gpu-a attempt=4`,
		`msg="gpu pool reachable again" host=gpu-a failed_attempts=4`,
		`msg="gpu pool refused the host's registration"`,
		`msg="gpu host registration stopped"`,
	} {
		if !strings.Contains(out, line) {
			t.Errorf("log lacks %s:\n%s", line, out)
		}
	}
}

func TestHostRegistrarInterval(t *testing.T) {
	tests := []struct {
		every, ttl, want time.Duration
	}{
		{0, 90 * time.Second, 30 * time.Second},
		{10 * time.Second, 90 * time.Second, 10 * time.Second},
		{0, 0, DefaultRegisterEvery},
		{0, -1, DefaultRegisterEvery},
	}
	for _, tt := range tests {
		r := &HostRegistrar{Every: tt.every}
		if got := r.interval(tt.ttl); got != tt.want {
			t.Errorf("Every %v, TTL %v: interval %v, want %v", tt.every, tt.ttl, got, tt.want)
		}
	}
}

func TestHostRegistrarRunsOnTheClock(t *testing.T) {
	// The real clock, with a millisecond interval: registrations keep
	// coming until the context ends.
	pool := newFakePool()
	r := &HostRegistrar{Host: "local", Source: DefaultSimulated("local"), Pool: pool, Every: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	for range 3 {
		<-pool.calls
		pool.answers <- liveAnswer(0)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestHostRegistrarNeedsItsParts(t *testing.T) {
	for _, r := range []*HostRegistrar{
		{Source: DefaultSimulated("x"), Pool: newFakePool()},
		{Host: "x", Pool: newFakePool()},
		{Host: "x", Source: DefaultSimulated("x")},
	} {
		if err := r.Run(context.Background()); err == nil {
			t.Errorf("%+v: Run = nil, want an error", r)
		}
	}
}

func TestPoolHost(t *testing.T) {
	inv := HostInventory{Host: "gpu-b", GPUs: []GPU{
		{Index: 0, Name: "NVIDIA A100-SXM4-80GB"},
		{Index: 3, Name: "NVIDIA A100-SXM4-80GB", VGPU: VGPU{Profile: "A100-40C", Slices: 2}},
	}}
	tests := []struct {
		name string
		spec PoolSpec
		want []gpupool.GPUConfig
	}{
		{"defaults", DefaultPoolSpec(), []gpupool.GPUConfig{
			{ID: "gpu-b/0", Model: "H100", Profile: "H100-20C", Slices: 4},
			{ID: "gpu-b/3", Model: "H100", Profile: "A100-40C", Slices: 2},
		}},
		{"passthrough, model from the inventory", PoolSpec{}, []gpupool.GPUConfig{
			{ID: "gpu-b/0", Model: "NVIDIA A100-SXM4-80GB"},
			{ID: "gpu-b/3", Model: "NVIDIA A100-SXM4-80GB", Profile: "A100-40C", Slices: 2},
		}},
		{"configured split", PoolSpec{Model: "a100", VGPU: VGPU{Profile: "A100-20C", Slices: 4}}, []gpupool.GPUConfig{
			{ID: "gpu-b/0", Model: "a100", Profile: "A100-20C", Slices: 4},
			{ID: "gpu-b/3", Model: "a100", Profile: "A100-40C", Slices: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := PoolHost(inv, tt.spec)
			if h.Name != "gpu-b" || !reflect.DeepEqual(h.GPUs, tt.want) {
				t.Errorf("PoolHost = %+v, want gpu-b with %+v", h, tt.want)
			}
		})
	}
	if h := PoolHost(HostInventory{Host: "empty", GPUs: []GPU{}}, DefaultPoolSpec()); h.Name != "empty" || len(h.GPUs) != 0 {
		t.Errorf("empty inventory: %+v", h)
	}
}

func TestPoolHostMatchesTheDevStack(t *testing.T) {
	// The dev stack's pool: host "local", eight H100s in four H100-20C
	// slices, ids "local/<i>". The simulated inventory converts to exactly
	// that, and the pool takes it.
	inv, err := ReadHost(context.Background(), "local", DefaultSimulated("local"))
	if err != nil {
		t.Fatal(err)
	}
	h := PoolHost(inv, DefaultPoolSpec())
	want := gpupool.HostConfig{Name: "local"}
	for i := range 8 {
		want.GPUs = append(want.GPUs, gpupool.GPUConfig{ID: fmt.Sprintf("local/%d", i), Model: "H100", Profile: "H100-20C", Slices: 4})
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("PoolHost = %+v\nwant %+v", h, want)
	}
	p, err := gpupool.New(gpupool.Config{UnitsPerGPU: 4, LeaseTTL: time.Minute, PreemptGrace: time.Minute, HostTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.RegisterHost(time.Now(), h); err != nil {
		t.Fatalf("the pool refused the dev host: %v", err)
	}
	if p.Capacity() != 32 {
		t.Errorf("capacity %d, want 32 units", p.Capacity())
	}
}

func TestStaticVGPUIsValidated(t *testing.T) {
	base := GPU{Index: 0, UUID: "GPU-a", PCIBusID: "3b:00.0"}
	ok := base
	ok.VGPU = VGPU{Profile: "A100-20C", Slices: 4}
	if _, err := NewStatic([]GPU{ok}); err != nil {
		t.Errorf("valid vgpu refused: %v", err)
	}
	for _, v := range []VGPU{{Profile: "A100-20C"}, {Slices: 4}, {Profile: "x", Slices: -1}} {
		g := base
		g.VGPU = v
		if _, err := NewStatic([]GPU{g}); err == nil || !strings.Contains(err.Error(), "vgpu needs") {
			t.Errorf("vgpu %+v: err = %v", v, err)
		}
	}
}
