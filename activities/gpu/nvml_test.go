//go:build cgo

package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxa100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// testBuses are the PCI buses the tests give the mock's GPUs: the mock's
// PCI info carries no bus id.
var testBuses = [...]uint8{0x1b, 0x43, 0x52, 0x61, 0x9d, 0xc3, 0xd1, 0xdf}

func pciInfo(busID, legacy string) nvml.PciInfo {
	var p nvml.PciInfo
	for i, c := range []byte(busID) {
		p.BusId[i] = int8(c)
	}
	for i, c := range []byte(legacy) {
		p.BusIdLegacy[i] = int8(c)
	}
	return p
}

// fillMock sets what the mock devices leave unset (calling an unset
// function panics): GPU i runs at 10*i % on core and 5*i % on memory, at
// 40+i °C, with i GiB in use, healthy and idle.
func fillMock(srv *server.Server) *server.Server {
	for i, d := range srv.Devices {
		dev := d.(*server.Device)
		bus := testBuses[i]
		dev.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
			return pciInfo(fmt.Sprintf("00000000:%02X:00.0", bus), ""), nvml.SUCCESS
		}
		dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: uint32(10 * i), Memory: uint32(5 * i)}, nvml.SUCCESS
		}
		dev.GetTemperatureFunc = func(s nvml.TemperatureSensors) (uint32, nvml.Return) {
			if s != nvml.TEMPERATURE_GPU {
				return 0, nvml.ERROR_INVALID_ARGUMENT
			}
			return uint32(40 + i), nvml.SUCCESS
		}
		dev.GetRemappedRowsFunc = func() (int, int, bool, bool, nvml.Return) { return 0, 0, false, false, nvml.SUCCESS }
		dev.GetCurrentClocksEventReasonsFunc = func() (uint64, nvml.Return) { return nvml.ClocksEventReasonGpuIdle, nvml.SUCCESS }
		dev.MemoryInfo.Used = uint64(i) << 30
		dev.MemoryInfo.Free = dev.MemoryInfo.Total - dev.MemoryInfo.Used
	}
	return srv
}

func openMock(t *testing.T, lib nvml.Interface) *Session {
	t.Helper()
	s, err := Open(Wrap(lib), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func inventory(t *testing.T, lib nvml.Interface) []GPU {
	t.Helper()
	gpus, err := openMock(t, lib).Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return gpus
}

func u32(v uint32) *uint32 { return &v }

func TestInventoryDGXH100(t *testing.T) {
	srv := fillMock(dgxh100.New())
	gpus := inventory(t, srv)
	if len(gpus) != 8 {
		t.Fatalf("got %d gpus, want 8", len(gpus))
	}
	uuids := map[string]bool{}
	for i, g := range gpus {
		dev := srv.Devices[i].(*server.Device)
		want := GPU{
			Index:                    i,
			Name:                     "NVIDIA H100 80GB HBM3",
			UUID:                     dev.UUID,
			PCIBusID:                 fmt.Sprintf("0000:%02x:00.0", testBuses[i]),
			NodeDevice:               fmt.Sprintf("pci_0000_%02x_00_0", testBuses[i]),
			MemoryTotalBytes:         80 << 30,
			MemoryUsedBytes:          uint64(i) << 30,
			UtilizationPercent:       u32(uint32(10 * i)),
			MemoryUtilizationPercent: u32(uint32(5 * i)),
			TemperatureCelsius:       u32(uint32(40 + i)),
			MIG:                      MIG{Mode: MIGDisabled},
			Health:                   Health{Status: HealthOK},
		}
		diffGPU(t, g, want)
		uuids[g.UUID] = true
	}
	if len(uuids) != 8 {
		t.Errorf("uuids not unique: %v", uuids)
	}
}

func diffGPU(t *testing.T, got, want GPU) {
	t.Helper()
	g, w := fmt.Sprintf("%+v", flat(got)), fmt.Sprintf("%+v", flat(want))
	if g != w {
		t.Errorf("gpu %d:\n got  %s\n want %s", want.Index, g, w)
	}
}

// flat prints pointers' values, so diffs compare what they point to.
func flat(g GPU) map[string]any {
	deref := func(p *uint32) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return map[string]any{
		"index": g.Index, "name": g.Name, "uuid": g.UUID, "pci": g.PCIBusID, "node": g.NodeDevice,
		"mem": [2]uint64{g.MemoryTotalBytes, g.MemoryUsedBytes}, "util": deref(g.UtilizationPercent),
		"memutil": deref(g.MemoryUtilizationPercent), "temp": deref(g.TemperatureCelsius),
		"mig": fmt.Sprintf("%+v", g.MIG), "health": fmt.Sprintf("%+v", g.Health),
	}
}

func TestInventoryInjected(t *testing.T) {
	const target = 3
	tests := []struct {
		name        string
		tweak       func(t *testing.T, d *server.Device)
		wantReasons []string // substrings, in order; none: healthy
		check       func(t *testing.T, g GPU)
	}{
		{
			name: "healthy",
			check: func(t *testing.T, g GPU) {
				if *g.UtilizationPercent != 30 || *g.TemperatureCelsius != 43 || g.NodeDevice != "pci_0000_61_00_0" {
					t.Errorf("gpu = %+v", flat(g))
				}
			},
		},
		{
			name: "hot and busy",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: 100, Memory: 87}, nvml.SUCCESS }
				d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 83, nvml.SUCCESS }
			},
			check: func(t *testing.T, g GPU) {
				if *g.UtilizationPercent != 100 || *g.MemoryUtilizationPercent != 87 || *g.TemperatureCelsius != 83 {
					t.Errorf("gpu = %+v", flat(g))
				}
			},
		},
		{
			name: "pci bus id in legacy form only",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) { return pciInfo("", "0000:3B:00.0"), nvml.SUCCESS }
			},
			check: func(t *testing.T, g GPU) {
				if g.PCIBusID != "0000:3b:00.0" || g.NodeDevice != "pci_0000_3b_00_0" {
					t.Errorf("pci = %s %s", g.PCIBusID, g.NodeDevice)
				}
			},
		},
		{
			name: "pci info without a bus id",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) { return nvml.PciInfo{}, nvml.SUCCESS }
			},
			wantReasons: []string{"no bus id"},
		},
		{
			name: "utilization not measured (MIG)",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED }
			},
			check: func(t *testing.T, g GPU) {
				if g.UtilizationPercent != nil || g.MemoryUtilizationPercent != nil {
					t.Errorf("utilization should be absent: %+v", flat(g))
				}
			},
		},
		{
			name: "temperature read fails",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
			},
			wantReasons: []string{"read temperature"},
			check: func(t *testing.T, g GPU) {
				if g.TemperatureCelsius != nil {
					t.Errorf("temperature should be absent")
				}
			},
		},
		{
			name: "row remapping pending",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetRemappedRowsFunc = func() (int, int, bool, bool, nvml.Return) { return 0, 2, true, false, nvml.SUCCESS }
			},
			wantReasons: []string{"row remapping pending"},
		},
		{
			name: "row remapping failed",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetRemappedRowsFunc = func() (int, int, bool, bool, nvml.Return) { return 0, 8, false, true, nvml.SUCCESS }
			},
			wantReasons: []string{"row remapping failed"},
		},
		{
			name: "row remapping unsupported (pre-Ampere)",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetRemappedRowsFunc = func() (int, int, bool, bool, nvml.Return) { return 0, 0, false, false, nvml.ERROR_NOT_SUPPORTED }
			},
		},
		{
			name: "thermal slowdown",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetCurrentClocksEventReasonsFunc = func() (uint64, nvml.Return) {
					return nvml.ClocksThrottleReasonHwSlowdown | nvml.ClocksThrottleReasonHwThermalSlowdown | nvml.ClocksEventReasonSwPowerCap, nvml.SUCCESS
				}
			},
			wantReasons: []string{"hw slowdown", "hw thermal slowdown"},
		},
		{
			name: "power brake",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetCurrentClocksEventReasonsFunc = func() (uint64, nvml.Return) {
					return nvml.ClocksThrottleReasonHwPowerBrakeSlowdown, nvml.SUCCESS
				}
			},
			wantReasons: []string{"hw power brake"},
		},
		{
			name: "mig change pending a reset",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetMigModeFunc = func() (int, int, nvml.Return) { return nvml.DEVICE_MIG_DISABLE, nvml.DEVICE_MIG_ENABLE, nvml.SUCCESS }
			},
			check: func(t *testing.T, g GPU) {
				if g.MIG.Mode != MIGDisabled || g.MIG.PendingMode != MIGEnabled {
					t.Errorf("mig = %+v", g.MIG)
				}
			},
		},
		{
			name: "mig unsupported",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
			},
			check: func(t *testing.T, g GPU) {
				if g.MIG.Mode != MIGUnsupported {
					t.Errorf("mig = %+v", g.MIG)
				}
			},
		},
		{
			name: "gpu lost mid-read",
			tweak: func(t *testing.T, d *server.Device) {
				d.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) { return nvml.Memory{}, nvml.ERROR_GPU_IS_LOST }
				d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
					t.Error("read utilization of a lost gpu")
					return nvml.Utilization{}, nvml.ERROR_GPU_IS_LOST
				}
			},
			wantReasons: []string{"read memory: nvml get memory info: ERROR_GPU_IS_LOST"},
			check: func(t *testing.T, g GPU) {
				if len(g.Health.Reasons) != 1 {
					t.Errorf("a lost gpu should stop the read at the first failure: %q", g.Health.Reasons)
				}
				if g.UUID == "" || g.PCIBusID == "" {
					t.Errorf("what was read before the loss should stay: %+v", flat(g))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fillMock(dgxh100.New())
			if tt.tweak != nil {
				tt.tweak(t, srv.Devices[target].(*server.Device))
			}
			gpus := inventory(t, srv)
			for i, g := range gpus {
				if i != target && !g.Health.OK() {
					t.Errorf("gpu %d degraded: %q", i, g.Health.Reasons)
				}
			}
			g := gpus[target]
			if len(tt.wantReasons) == 0 {
				if !g.Health.OK() || len(g.Health.Reasons) != 0 {
					t.Errorf("health = %+v, want ok", g.Health)
				}
			} else {
				if g.Health.Status != HealthDegraded {
					t.Errorf("health = %+v, want degraded", g.Health)
				}
				if len(g.Health.Reasons) != len(tt.wantReasons) {
					t.Errorf("reasons = %q, want %q", g.Health.Reasons, tt.wantReasons)
				}
				for i, want := range tt.wantReasons {
					if i < len(g.Health.Reasons) && !strings.Contains(g.Health.Reasons[i], want) {
						t.Errorf("reason %d = %q, want it to say %q", i, g.Health.Reasons[i], want)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, g)
			}
		})
	}
}

func TestInventoryHandleFailureKeepsTheRest(t *testing.T) {
	srv := fillMock(dgxh100.New())
	srv.DeviceGetHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i == 5 {
			return nil, nvml.ERROR_GPU_IS_LOST
		}
		return srv.Devices[i], nvml.SUCCESS
	}
	gpus := inventory(t, srv)
	if len(gpus) != 8 {
		t.Fatalf("got %d gpus, want all 8 listed", len(gpus))
	}
	if g := gpus[5]; g.Health.OK() || g.Index != 5 || !strings.Contains(g.Health.Reasons[0], "GPU_IS_LOST") {
		t.Errorf("gpu 5 = %+v", flat(g))
	}
	if !gpus[4].Health.OK() || !gpus[6].Health.OK() {
		t.Error("neighbours of a lost gpu should stay healthy")
	}
}

func TestInventoryCountFailure(t *testing.T) {
	srv := fillMock(dgxh100.New())
	srv.DeviceGetCountFunc = func() (int, nvml.Return) { return 0, nvml.ERROR_UNKNOWN }
	_, err := openMock(t, srv).Inventory(context.Background())
	var ne *NVMLError
	if !errors.As(err, &ne) || ne.Code != int(nvml.ERROR_UNKNOWN) {
		t.Errorf("err = %v, want the NVML error", err)
	}
}

func TestInventoryStopsWhenCancelled(t *testing.T) {
	srv := fillMock(dgxh100.New())
	ctx, cancel := context.WithCancel(context.Background())
	srv.Devices[1].(*server.Device).GetNameFunc = func() (string, nvml.Return) {
		cancel() // the operator gives up while GPU 1 is read
		return "NVIDIA H100 80GB HBM3", nvml.SUCCESS
	}
	srv.Devices[2].(*server.Device).GetNameFunc = func() (string, nvml.Return) {
		t.Error("read GPU 2 after cancellation")
		return "", nvml.SUCCESS
	}
	if _, err := openMock(t, srv).Inventory(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestOldDriverUsesThrottleReasons(t *testing.T) {
	srv := fillMock(dgxh100.New())
	srv.LookupSymbolFunc = func(name string) error {
		if name == "nvmlDeviceGetCurrentClocksEventReasons" {
			return errors.New("undefined symbol")
		}
		return nil
	}
	for i, d := range srv.Devices {
		dev := d.(*server.Device)
		dev.GetCurrentClocksEventReasonsFunc = nil // calling it would panic, as the real one would crash
		dev.GetCurrentClocksThrottleReasonsFunc = func() (uint64, nvml.Return) {
			if i == 2 {
				return nvml.ClocksThrottleReasonSwThermalSlowdown, nvml.SUCCESS
			}
			return 0, nvml.SUCCESS
		}
	}
	gpus := inventory(t, srv)
	if g := gpus[2]; g.Health.OK() || !strings.Contains(g.Health.Reasons[0], "sw thermal slowdown") {
		t.Errorf("gpu 2 health = %+v", g.Health)
	}
	if !gpus[0].Health.OK() {
		t.Errorf("gpu 0 health = %+v", gpus[0].Health)
	}
}

// migDevice is a MIG device handle as NVML returns it for a GPU instance
// and its compute instance.
func migDevice(parent *server.Device, gi *server.GpuInstance, ci *server.ComputeInstance, name string) nvml.Device {
	prof := parent.Config.MIGProfiles.GpuInstanceProfiles[int(gi.Info.ProfileId)]
	return &mock.Device{
		GetUUIDFunc: func() (string, nvml.Return) {
			return fmt.Sprintf("MIG-%s-%d-%d", strings.TrimPrefix(parent.UUID, "GPU-")[:8], gi.Info.Id, ci.Info.Id), nvml.SUCCESS
		},
		GetNameFunc:              func() (string, nvml.Return) { return name, nvml.SUCCESS },
		GetGpuInstanceIdFunc:     func() (int, nvml.Return) { return int(gi.Info.Id), nvml.SUCCESS },
		GetComputeInstanceIdFunc: func() (int, nvml.Return) { return int(ci.Info.Id), nvml.SUCCESS },
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) {
			return nvml.Memory{Total: prof.MemorySizeMB << 20, Used: 1 << 20}, nvml.SUCCESS
		},
	}
}

func TestInventoryMIGDGXA100(t *testing.T) {
	srv := fillMock(dgxa100.New())
	dev := srv.Devices[0].(*server.Device)
	if ret, _ := dev.SetMigMode(nvml.DEVICE_MIG_ENABLE); ret != nvml.SUCCESS {
		t.Fatal(ret)
	}
	// Two instances, as an operator would make them with nvidia-smi mig -cgi.
	var handles []nvml.Device
	for _, p := range []struct {
		gi   int
		name string
	}{{nvml.GPU_INSTANCE_PROFILE_1_SLICE, "1g.5gb"}, {nvml.GPU_INSTANCE_PROFILE_3_SLICE, "3g.20gb"}} {
		info, ret := dev.GetGpuInstanceProfileInfo(p.gi)
		if ret != nvml.SUCCESS {
			t.Fatal(ret)
		}
		gi, ret := dev.CreateGpuInstance(&info)
		if ret != nvml.SUCCESS {
			t.Fatal(ret)
		}
		ciInfo, ret := gi.GetComputeInstanceProfileInfo(nvml.COMPUTE_INSTANCE_PROFILE_1_SLICE, nvml.COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
		if ret != nvml.SUCCESS {
			t.Fatal(ret)
		}
		ci, ret := gi.CreateComputeInstance(&ciInfo)
		if ret != nvml.SUCCESS {
			t.Fatal(ret)
		}
		handles = append(handles, migDevice(dev, gi.(*server.GpuInstance), ci.(*server.ComputeInstance), dev.Config.Name+" MIG "+p.name))
	}
	// NVML lists MIG devices in slots up to the maximum; the others are empty.
	dev.GetMaxMigDeviceCountFunc = func() (int, nvml.Return) { return 7, nvml.SUCCESS }
	dev.GetMigDeviceHandleByIndexFunc = func(i int) (nvml.Device, nvml.Return) {
		if i < len(handles) {
			return handles[i], nvml.SUCCESS
		}
		return nil, nvml.ERROR_NOT_FOUND
	}
	// With MIG on, NVML measures no whole-GPU utilization.
	dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{}, nvml.ERROR_NOT_SUPPORTED }

	gpus := inventory(t, srv)
	g := gpus[0]
	if g.MIG.Mode != MIGEnabled || g.MIG.PendingMode != "" || !g.Health.OK() || g.UtilizationPercent != nil {
		t.Fatalf("gpu 0 = %+v", flat(g))
	}
	if len(g.MIG.Instances) != 2 {
		t.Fatalf("mig instances = %+v, want 2", g.MIG.Instances)
	}
	for i, want := range []struct {
		profile string
		gi      int
		mem     uint64
	}{{"1g.5gb", 0, 4864 << 20}, {"3g.20gb", 1, 19968 << 20}} {
		m := g.MIG.Instances[i]
		if m.Index != i || m.Profile != want.profile || m.GPUInstanceID != want.gi || m.ComputeInstanceID != 0 ||
			m.MemoryTotalBytes != want.mem || m.MemoryUsedBytes != 1<<20 || !strings.HasPrefix(m.UUID, "MIG-") {
			t.Errorf("mig instance %d = %+v", i, m)
		}
	}
	for _, g := range gpus[1:] {
		if g.MIG.Mode != MIGDisabled || len(g.MIG.Instances) != 0 {
			t.Errorf("gpu %d mig = %+v", g.Index, g.MIG)
		}
	}
}

// TestMockInitFailureCallsNothingElse: the adapter, too, stops at a failed
// Init; every other function of the mock fails the test.
func TestMockInitFailureCallsNothingElse(t *testing.T) {
	srv := dgxh100.New()
	srv.InitFunc = func() nvml.Return { return nvml.ERROR_DRIVER_NOT_LOADED }
	fail := func(name string) { t.Errorf("%s called after a failed Init", name) }
	srv.ShutdownFunc = func() nvml.Return { fail("Shutdown"); return nvml.SUCCESS }
	srv.ExtensionsFunc = func() nvml.ExtendedInterface { fail("Extensions"); return srv }
	srv.DeviceGetCountFunc = func() (int, nvml.Return) { fail("DeviceGetCount"); return 0, nvml.SUCCESS }
	srv.DeviceGetHandleByIndexFunc = func(int) (nvml.Device, nvml.Return) {
		fail("DeviceGetHandleByIndex")
		return nil, nvml.SUCCESS
	}
	_, err := Open(Wrap(srv), nil)
	if !errors.Is(err, ErrNoNVML) || !strings.Contains(err.Error(), "ERROR_DRIVER_NOT_LOADED") {
		t.Errorf("err = %v, want ErrNoNVML saying the driver is not loaded", err)
	}
}

// TestOpenSystemWithoutDriver runs the real constructor: on a machine
// without the NVIDIA driver it must answer ErrNoNVML, not crash.
func TestOpenSystemWithoutDriver(t *testing.T) {
	s, err := OpenSystem(nil)
	if err == nil {
		_ = s.Close()
		t.Skip("an NVIDIA driver is present; TestOpenSystemWithDriver covers this host")
	}
	if !errors.Is(err, ErrNoNVML) {
		t.Fatalf("OpenSystem: err = %v, want ErrNoNVML", err)
	}
	t.Logf("OpenSystem: %v", err)
}

// TestOpenSystemWithDriver reads the real GPUs where there are some
// (infra/gpu/device-check.sh runs it on a GPU host).
func TestOpenSystemWithDriver(t *testing.T) {
	s, err := OpenSystem(nil)
	if err != nil {
		// CI machines have no GPU by design; the mock-server tests above
		// cover the adapter there, and infra/gpu/device-check.sh runs this
		// on a GPU host.
		msg := fmt.Sprintf("NO NVIDIA DRIVER: the real-GPU inventory test is SKIPPED (%v); run infra/gpu/device-check.sh on a GPU host", err)
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	gpus, err := s.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(gpus) == 0 {
		t.Fatal("the driver is loaded but lists no GPU")
	}
	var uuids []string
	for _, g := range gpus {
		t.Logf("gpu %d: %s %s %s mem %d/%d util %v temp %v mig %s health %s %q", g.Index, g.Name, g.UUID, g.NodeDevice,
			g.MemoryUsedBytes, g.MemoryTotalBytes, deref(g.UtilizationPercent), deref(g.TemperatureCelsius), g.MIG.Mode, g.Health.Status, g.Health.Reasons)
		if g.Name == "" || !strings.HasPrefix(g.UUID, "GPU-") || !strings.HasPrefix(g.NodeDevice, "pci_") || g.MemoryTotalBytes == 0 {
			t.Errorf("gpu %d incomplete: %+v", g.Index, flat(g))
		}
		uuids = append(uuids, g.UUID)
	}
	slices.Sort(uuids)
	if len(slices.Compact(uuids)) != len(gpus) {
		t.Errorf("uuids not unique: %v", uuids)
	}
}

func deref(p *uint32) any {
	if p == nil {
		return "n/a"
	}
	return *p
}
