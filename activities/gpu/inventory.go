package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Errors of the inventory. Wrapped errors say which call and GPU; test them
// with errors.Is.
var (
	// ErrNoNVML: NVML could not be initialised (no driver library, driver not
	// loaded, no permission). Nothing else was called: after a failed init
	// any NVML call kills the process.
	ErrNoNVML = errors.New("no NVML: driver library not found")
	// ErrNotSupported: the call does not apply to this GPU or driver
	// (utilization while MIG is on, row remapping before Ampere, ...).
	// The inventory leaves the field out rather than failing.
	ErrNotSupported = errors.New("nvml: not supported")
	// ErrNotFound: no such device, e.g. an empty MIG device slot.
	ErrNotFound = errors.New("nvml: not found")
	// ErrGPULost: the GPU fell off the bus or needs a reset.
	ErrGPULost = errors.New("nvml: gpu lost or needs a reset")
	// ErrClosed: the session was closed; NVML is shut down.
	ErrClosed = errors.New("nvml: session closed")
)

// NVMLError is a failed NVML call with NVML's return code. It unwraps to
// ErrNotSupported, ErrNotFound or ErrGPULost where the code means one of them.
type NVMLError struct {
	Op   string // the call, e.g. "get utilization rates"
	Code int    // nvmlReturn_t
	Msg  string // NVML's text for Code
	Kind error  // ErrNotSupported, ErrNotFound, ErrGPULost or nil
}

func (e *NVMLError) Error() string { return fmt.Sprintf("nvml %s: %s (%d)", e.Op, e.Msg, e.Code) }

func (e *NVMLError) Unwrap() error { return e.Kind }

// NVML is the part of the NVML library the inventory uses. The real one
// (OpenSystem) and go-nvml's mock servers (Wrap) satisfy it, and so does a
// test fake. Only Init may be called before a successful Init: Open enforces
// that by handing out a Session only after Init succeeded.
type NVML interface {
	Init() error
	Shutdown() error
	DeviceGetCount() (int, error)
	DeviceGetHandleByIndex(index int) (Device, error)
}

// Device is what the inventory reads of one GPU or MIG device.
type Device interface {
	Name() (string, error)
	UUID() (string, error)
	// PCIBusID is NVML's bus id, "00000000:3B:00.0"; ParsePCIAddress reads it.
	PCIBusID() (string, error)
	MemoryInfo() (total, used uint64, err error)
	// UtilizationRates are percentages over NVML's last sample period.
	UtilizationRates() (gpu, memory uint32, err error)
	// Temperature is the GPU core temperature in °C.
	Temperature() (uint32, error)
	MIGMode() (current, pending bool, err error)
	MIGDeviceCount() (int, error)
	MIGDeviceByIndex(index int) (Device, error)
	GPUInstanceID() (int, error)
	ComputeInstanceID() (int, error)
	RemappedRows() (pending, failed bool, err error)
	// ClocksEventReasons is NVML's bit mask of why clocks are held down.
	ClocksEventReasons() (uint64, error)
}

// Source lists a host's GPUs: NVML (Session), a configured list (Static) or
// a simulation (Simulated). Implementations are safe for concurrent use.
type Source interface {
	Inventory(ctx context.Context) ([]GPU, error)
}

// Source kinds reported in HostInventory.Source.
const (
	KindNVML      = "nvml"
	KindStatic    = "static"
	KindSimulated = "simulated"
)

// HostInventory is one host's GPUs, the result of the GPUInventory activity.
type HostInventory struct {
	Host string `json:"host"`
	// Source says where the GPUs come from: "nvml", "static" or "simulated".
	Source      string    `json:"source"`
	CollectedAt time.Time `json:"collected_at"`
	GPUs        []GPU     `json:"gpus"`
}

// GPU is one physical GPU.
type GPU struct {
	Index int    `json:"index"` // NVML index, as nvidia-smi numbers GPUs
	Name  string `json:"name"`
	UUID  string `json:"uuid"` // GPU-8c1f...
	// PCIBusID is the address as sysfs and libvirt print it, 0000:3b:00.0.
	PCIBusID string `json:"pci_bus_id"`
	// NodeDevice is libvirt's node device name for the same GPU,
	// pci_0000_3b_00_0, so the pool can line NVML's GPUs up with the
	// hypervisor's.
	NodeDevice       string `json:"node_device"`
	MemoryTotalBytes uint64 `json:"memory_total_bytes"`
	MemoryUsedBytes  uint64 `json:"memory_used_bytes"`
	// UtilizationPercent and MemoryUtilizationPercent are absent where NVML
	// does not measure them, e.g. on a GPU with MIG enabled.
	UtilizationPercent       *uint32 `json:"utilization_percent,omitempty"`
	MemoryUtilizationPercent *uint32 `json:"memory_utilization_percent,omitempty"`
	TemperatureCelsius       *uint32 `json:"temperature_celsius,omitempty"`
	MIG                      MIG     `json:"mig"`
	// VGPU is the vGPU (mdev) split the GPU is offered to the pool with.
	// NVML does not report it; a configured inventory (LoadStatic) may set
	// it per GPU, and HostRegistrar's PoolSpec applies where it is empty.
	VGPU   VGPU   `json:"vgpu,omitzero"`
	Health Health `json:"health"`
}

// VGPU is a vGPU (mdev) profile and how many slices it makes of one GPU.
type VGPU struct {
	Profile string `json:"profile,omitempty"`
	Slices  int    `json:"slices,omitempty"`
}

// ID is the GPU's name in the pool, "host/index" (gpupool.GPUConfig.ID).
func (g GPU) ID(host string) string { return fmt.Sprintf("%s/%d", host, g.Index) }

// MIG modes.
const (
	MIGUnsupported = "unsupported"
	MIGDisabled    = "disabled"
	MIGEnabled     = "enabled"
)

// MIG is a GPU's Multi-Instance GPU state.
type MIG struct {
	Mode string `json:"mode"` // "unsupported", "disabled", "enabled"
	// PendingMode is set when a mode change waits for a GPU reset.
	PendingMode string        `json:"pending_mode,omitempty"`
	Instances   []MIGInstance `json:"instances,omitempty"`
}

// MIGInstance is one MIG device (a GPU instance with a compute instance).
type MIGInstance struct {
	Index             int    `json:"index"` // MIG device slot on its GPU
	UUID              string `json:"uuid"`  // MIG-...
	Name              string `json:"name,omitempty"`
	Profile           string `json:"profile,omitempty"` // 1g.10gb, from the name
	GPUInstanceID     int    `json:"gpu_instance_id"`
	ComputeInstanceID int    `json:"compute_instance_id"`
	MemoryTotalBytes  uint64 `json:"memory_total_bytes"`
	MemoryUsedBytes   uint64 `json:"memory_used_bytes"`
}

// Health states.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
)

// Health says whether the pool should hand the GPU out.
type Health struct {
	Status  string   `json:"status"` // "ok" or "degraded"
	Reasons []string `json:"reasons,omitempty"`
}

// OK reports whether the GPU is healthy.
func (h Health) OK() bool { return h.Status == HealthOK }

func (h *Health) degrade(format string, args ...any) {
	h.Status = HealthDegraded
	h.Reasons = append(h.Reasons, fmt.Sprintf(format, args...))
}

// clocksHeldDown names the clock event reasons (nvmlClocksEventReason*)
// that mean the hardware or the driver is holding the GPU below its clocks
// for its own protection: a GPU running at a fraction of its speed should not
// take new leases. Idle, application clocks, power cap and sync boost are
// normal operation and left out. The mask is a sample: the reasons clear when
// the cause does, and so does the degraded state.
func clocksHeldDown(mask uint64) []string {
	var out []string
	for _, c := range [...]struct {
		bit    uint64
		reason string
	}{
		{0x8, "clocks held down: hw slowdown"},
		{0x40, "clocks held down: hw thermal slowdown"},
		{0x80, "clocks held down: hw power brake"},
		{0x20, "clocks held down: sw thermal slowdown"},
	} {
		if mask&c.bit != 0 {
			out = append(out, c.reason)
		}
	}
	return out
}

// Session is an initialised NVML. It exists only after Init succeeded, so no
// NVML call can happen without one; Close shuts NVML down and waits for
// calls in flight, since calls after shutdown would reach an unloaded
// library.
type Session struct {
	lib NVML
	log *slog.Logger

	mu     sync.RWMutex // read: a call in flight; write: Close
	closed bool
}

// Open initialises lib. If Init fails it returns ErrNoNVML and calls nothing
// else, not even Shutdown. A nil logger means slog.Default().
func Open(lib NVML, logger *slog.Logger) (*Session, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := lib.Init(); err != nil {
		return nil, fmt.Errorf("%w (%w)", ErrNoNVML, err)
	}
	return &Session{lib: lib, log: logger}, nil
}

// Kind is KindNVML.
func (s *Session) Kind() string { return KindNVML }

// Close shuts NVML down once; later calls return nil.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.lib.Shutdown(); err != nil {
		return fmt.Errorf("nvml shutdown: %w", err)
	}
	return nil
}

// Inventory reads every GPU. Only a failure to count GPUs fails it: a GPU
// that does not answer is listed as degraded with the reason, so the pool
// stops leasing it instead of losing sight of the whole host.
func (s *Session) Inventory(ctx context.Context) ([]GPU, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	n, err := s.lib.DeviceGetCount()
	if err != nil {
		return nil, fmt.Errorf("count gpus: %w", err)
	}
	gpus := make([]GPU, 0, n)
	for i := range n {
		// NVML calls cannot be interrupted; stop between GPUs instead.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read gpus: %w", err)
		}
		g := s.readGPU(i)
		if !g.Health.OK() {
			// Debug: the collector reads on every scrape; the activity and
			// nvmlcheck report degraded GPUs themselves.
			s.log.Debug("gpu degraded", "gpu", i, "uuid", g.UUID, "reasons", g.Health.Reasons)
		}
		gpus = append(gpus, g)
	}
	return gpus, nil
}

// reader collects a GPU's fields and turns failed calls into health
// reasons: a call that does not apply is skipped, any other failure degrades
// the GPU, and once the GPU is lost the remaining calls are not made.
type reader struct {
	g    *GPU
	lost bool
}

// ok reports whether the call succeeded; what failed and why goes into the
// GPU's health.
func (r *reader) ok(what string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrNotSupported):
		return false
	case errors.Is(err, ErrGPULost):
		r.lost = true
	}
	r.g.Health.degrade("%s: %v", what, err)
	return false
}

func (s *Session) readGPU(index int) GPU {
	g := GPU{Index: index, MIG: MIG{Mode: MIGUnsupported}, Health: Health{Status: HealthOK}}
	r := &reader{g: &g}
	d, err := s.lib.DeviceGetHandleByIndex(index)
	if err != nil {
		g.Health.degrade("get handle: %v", err)
		return g
	}
	steps := []func(){
		func() {
			if v, err := d.Name(); r.ok("read name", err) {
				g.Name = v
			}
		},
		func() {
			if v, err := d.UUID(); r.ok("read uuid", err) {
				g.UUID = v
			}
		},
		func() {
			v, err := d.PCIBusID()
			if !r.ok("read pci bus id", err) {
				return
			}
			a, err := ParsePCIAddress(v)
			if err != nil {
				g.Health.degrade("read pci bus id: %v", err)
				return
			}
			g.PCIBusID, g.NodeDevice = a.String(), a.NodeDevice()
		},
		func() {
			if total, used, err := d.MemoryInfo(); r.ok("read memory", err) {
				g.MemoryTotalBytes, g.MemoryUsedBytes = total, used
			}
		},
		func() {
			if gpu, mem, err := d.UtilizationRates(); r.ok("read utilization", err) {
				g.UtilizationPercent, g.MemoryUtilizationPercent = &gpu, &mem
			}
		},
		func() {
			if t, err := d.Temperature(); r.ok("read temperature", err) {
				g.TemperatureCelsius = &t
			}
		},
		func() { s.readMIG(d, r) },
		func() {
			pending, failed, err := d.RemappedRows()
			if !r.ok("read remapped rows", err) {
				return
			}
			if failed {
				g.Health.degrade("row remapping failed: memory errors could not be remapped")
			}
			if pending {
				g.Health.degrade("row remapping pending: reset the gpu")
			}
		},
		func() {
			mask, err := d.ClocksEventReasons()
			if !r.ok("read clocks event reasons", err) {
				return
			}
			for _, reason := range clocksHeldDown(mask) {
				g.Health.degrade("%s", reason)
			}
		},
	}
	for _, step := range steps {
		if r.lost {
			break
		}
		step()
	}
	return g
}

func (s *Session) readMIG(d Device, r *reader) {
	g := r.g
	cur, pending, err := d.MIGMode()
	if !r.ok("read mig mode", err) {
		return
	}
	g.MIG.Mode = migMode(cur)
	if pending != cur {
		g.MIG.PendingMode = migMode(pending)
	}
	if !cur {
		return
	}
	n, err := d.MIGDeviceCount()
	if !r.ok("count mig devices", err) {
		return
	}
	for i := range n {
		md, err := d.MIGDeviceByIndex(i)
		if errors.Is(err, ErrNotFound) { // an empty slot: fewer instances than the maximum
			continue
		}
		if !r.ok(fmt.Sprintf("get mig device %d", i), err) {
			if r.lost {
				return
			}
			continue
		}
		g.MIG.Instances = append(g.MIG.Instances, readMIGInstance(i, md, r))
	}
}

func readMIGInstance(index int, d Device, r *reader) MIGInstance {
	m := MIGInstance{Index: index}
	what := func(field string) string { return fmt.Sprintf("read mig device %d %s", index, field) }
	if v, err := d.UUID(); r.ok(what("uuid"), err) {
		m.UUID = v
	}
	if v, err := d.Name(); r.ok(what("name"), err) {
		m.Name = v
		m.Profile = migProfile(v)
	}
	if v, err := d.GPUInstanceID(); r.ok(what("gpu instance id"), err) {
		m.GPUInstanceID = v
	}
	if v, err := d.ComputeInstanceID(); r.ok(what("compute instance id"), err) {
		m.ComputeInstanceID = v
	}
	if total, used, err := d.MemoryInfo(); r.ok(what("memory"), err) {
		m.MemoryTotalBytes, m.MemoryUsedBytes = total, used
	}
	return m
}

func migMode(on bool) string {
	if on {
		return MIGEnabled
	}
	return MIGDisabled
}

// migProfile takes the profile from a MIG device's name, "NVIDIA H100 80GB
// HBM3 MIG 1g.10gb" -> "1g.10gb".
func migProfile(name string) string {
	_, p, ok := strings.Cut(name, " MIG ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(p)
}

// ReadHost reads src into a HostInventory stamped with now.
func ReadHost(ctx context.Context, host string, src Source) (HostInventory, error) {
	if src == nil {
		return HostInventory{}, fmt.Errorf("gpu inventory of %s: %w", host, ErrNoNVML)
	}
	gpus, err := src.Inventory(ctx)
	if err != nil {
		return HostInventory{}, fmt.Errorf("gpu inventory of %s: %w", host, err)
	}
	if gpus == nil {
		gpus = []GPU{} // "gpus": [] rather than null for a host without GPUs
	}
	return HostInventory{Host: host, Source: kindOf(src), CollectedAt: time.Now().UTC(), GPUs: gpus}, nil
}

// kindOf names a source for HostInventory.Source.
func kindOf(src Source) string {
	if k, ok := src.(interface{ Kind() string }); ok {
		return k.Kind()
	}
	return fmt.Sprintf("%T", src)
}
