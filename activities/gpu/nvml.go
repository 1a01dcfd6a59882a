//go:build cgo

package gpu

import (
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// OpenSystem initialises the host's NVML (libnvidia-ml.so.1, loaded at run
// time). Without a driver it returns ErrNoNVML and has made no other call.
func OpenSystem(logger *slog.Logger) (*Session, error) {
	return Open(Wrap(nvml.New()), logger)
}

// Wrap adapts go-nvml's Interface, the real library or one of its mock
// servers (pkg/nvml/mock/dgxh100, ...), to NVML.
func Wrap(lib nvml.Interface) NVML { return &nvmlLib{lib: lib} }

type nvmlLib struct {
	lib nvml.Interface
	// eventReasons: the driver has nvmlDeviceGetCurrentClocksEventReasons
	// (R535+). Older drivers only have the throttle-reasons call with the
	// same bits, and calling a symbol the library lacks kills the process.
	eventReasons atomic.Bool
}

func (l *nvmlLib) Init() error {
	if err := check("init", l.lib.Init()); err != nil {
		return err
	}
	l.eventReasons.Store(l.lib.Extensions().LookupSymbol("nvmlDeviceGetCurrentClocksEventReasons") == nil)
	return nil
}

func (l *nvmlLib) Shutdown() error { return check("shutdown", l.lib.Shutdown()) }

func (l *nvmlLib) DeviceGetCount() (int, error) {
	n, ret := l.lib.DeviceGetCount()
	return n, check("get device count", ret)
}

func (l *nvmlLib) DeviceGetHandleByIndex(index int) (Device, error) {
	d, ret := l.lib.DeviceGetHandleByIndex(index)
	if err := check("get device handle", ret); err != nil {
		return nil, err
	}
	return &nvmlDevice{d: d, lib: l}, nil
}

type nvmlDevice struct {
	d   nvml.Device
	lib *nvmlLib
}

func (d *nvmlDevice) Name() (string, error) {
	v, ret := d.d.GetName()
	return v, check("get name", ret)
}

func (d *nvmlDevice) UUID() (string, error) {
	v, ret := d.d.GetUUID()
	return v, check("get uuid", ret)
}

func (d *nvmlDevice) PCIBusID() (string, error) {
	p, ret := d.d.GetPciInfo()
	if err := check("get pci info", ret); err != nil {
		return "", err
	}
	if id := cString(p.BusId[:]); id != "" {
		return id, nil
	}
	// Older drivers fill only the legacy 4-digit-domain form.
	if id := cString(p.BusIdLegacy[:]); id != "" {
		return id, nil
	}
	return "", &NVMLError{Op: "get pci info", Code: int(nvml.ERROR_NO_DATA), Msg: "no bus id in pci info"}
}

func (d *nvmlDevice) MemoryInfo() (total, used uint64, err error) {
	m, ret := d.d.GetMemoryInfo()
	return m.Total, m.Used, check("get memory info", ret)
}

func (d *nvmlDevice) UtilizationRates() (gpu, memory uint32, err error) {
	u, ret := d.d.GetUtilizationRates()
	return u.Gpu, u.Memory, check("get utilization rates", ret)
}

func (d *nvmlDevice) Temperature() (uint32, error) {
	// nvmlDeviceGetTemperatureV is newer than the drivers still in use;
	// the plain call exists on every driver.
	t, ret := d.d.GetTemperature(nvml.TEMPERATURE_GPU)
	return t, check("get temperature", ret)
}

func (d *nvmlDevice) MIGMode() (current, pending bool, err error) {
	cur, pend, ret := d.d.GetMigMode()
	return cur == nvml.DEVICE_MIG_ENABLE, pend == nvml.DEVICE_MIG_ENABLE, check("get mig mode", ret)
}

func (d *nvmlDevice) MIGDeviceCount() (int, error) {
	n, ret := d.d.GetMaxMigDeviceCount()
	return n, check("get max mig device count", ret)
}

func (d *nvmlDevice) MIGDeviceByIndex(index int) (Device, error) {
	m, ret := d.d.GetMigDeviceHandleByIndex(index)
	if err := check("get mig device handle", ret); err != nil {
		return nil, err
	}
	return &nvmlDevice{d: m, lib: d.lib}, nil
}

func (d *nvmlDevice) GPUInstanceID() (int, error) {
	v, ret := d.d.GetGpuInstanceId()
	return v, check("get gpu instance id", ret)
}

func (d *nvmlDevice) ComputeInstanceID() (int, error) {
	v, ret := d.d.GetComputeInstanceId()
	return v, check("get compute instance id", ret)
}

func (d *nvmlDevice) RemappedRows() (pending, failed bool, err error) {
	_, _, pending, failed, ret := d.d.GetRemappedRows()
	return pending, failed, check("get remapped rows", ret)
}

func (d *nvmlDevice) ClocksEventReasons() (uint64, error) {
	if d.lib.eventReasons.Load() {
		v, ret := d.d.GetCurrentClocksEventReasons()
		return v, check("get clocks event reasons", ret)
	}
	v, ret := d.d.GetCurrentClocksThrottleReasons() //nolint:staticcheck // the only call older drivers have
	return v, check("get clocks throttle reasons", ret)
}

// check turns an NVML return code into an error, nil for SUCCESS.
func check(op string, ret nvml.Return) error {
	if ret == nvml.SUCCESS {
		return nil
	}
	// ret.Error() is safe even after a failed Init: without the library
	// go-nvml answers from its own table, with it nvmlErrorString needs no
	// initialisation.
	e := &NVMLError{Op: op, Code: int(ret), Msg: ret.Error()}
	switch ret {
	case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_FUNCTION_NOT_FOUND:
		e.Kind = ErrNotSupported
	case nvml.ERROR_NOT_FOUND, nvml.ERROR_INVALID_ARGUMENT:
		// MIG slots without a device answer NOT_FOUND on current drivers and
		// INVALID_ARGUMENT on some older ones.
		e.Kind = ErrNotFound
	case nvml.ERROR_GPU_IS_LOST, nvml.ERROR_RESET_REQUIRED:
		e.Kind = ErrGPULost
	}
	return e
}

// cString reads a NUL-terminated C char array.
func cString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}
