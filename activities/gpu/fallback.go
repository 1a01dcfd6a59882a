package gpu

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// DefaultModel is the GPU a dev machine simulates.
const DefaultModel = "NVIDIA H100 80GB HBM3"

// DefaultSimulatedGPUs is how many GPUs the dev default simulates: one
// DGX-class host.
const DefaultSimulatedGPUs = 8

// Static is a fixed inventory: a configured host (LoadStatic, or built in
// Go) or a simulated one (Simulated). It stands in for NVML where there is
// no driver: dev machines, CI, and hosts whose GPUs are all passed through
// to VMs and so invisible to the host's NVML.
type Static struct {
	// SourceKind is HostInventory.Source: KindStatic or KindSimulated.
	SourceKind string
	GPUs       []GPU
}

// Kind is the source's kind; empty means KindStatic.
func (s Static) Kind() string {
	if s.SourceKind == "" {
		return KindStatic
	}
	return s.SourceKind
}

// Inventory returns a copy of the GPUs, so callers may change it.
func (s Static) Inventory(ctx context.Context) ([]GPU, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]GPU, len(s.GPUs))
	for i, g := range s.GPUs {
		out[i] = g.clone()
	}
	return out, nil
}

func (g GPU) clone() GPU {
	g.UtilizationPercent = clonePtr(g.UtilizationPercent)
	g.MemoryUtilizationPercent = clonePtr(g.MemoryUtilizationPercent)
	g.TemperatureCelsius = clonePtr(g.TemperatureCelsius)
	g.MIG.Instances = slices.Clone(g.MIG.Instances)
	g.Health.Reasons = slices.Clone(g.Health.Reasons)
	return g
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// NewStatic checks a configured inventory and fills what can be derived:
// the PCI address in sysfs form and its libvirt node device name, an "ok"
// health and a MIG mode where they are left empty.
func NewStatic(gpus []GPU) (Static, error) {
	out := make([]GPU, len(gpus))
	seen := map[int]bool{}
	uuids := map[string]bool{}
	for i, g := range gpus {
		g = g.clone()
		if seen[g.Index] {
			return Static{}, fmt.Errorf("gpu %d: index listed twice", g.Index)
		}
		seen[g.Index] = true
		if g.UUID == "" {
			return Static{}, fmt.Errorf("gpu %d: uuid is required", g.Index)
		}
		if uuids[g.UUID] {
			return Static{}, fmt.Errorf("gpu %d: uuid %s listed twice", g.Index, g.UUID)
		}
		uuids[g.UUID] = true
		pci := g.PCIBusID
		if pci == "" {
			pci = g.NodeDevice
		}
		if pci == "" {
			return Static{}, fmt.Errorf("gpu %d: pci_bus_id is required", g.Index)
		}
		a, err := ParsePCIAddress(pci)
		if err != nil {
			return Static{}, fmt.Errorf("gpu %d: %w", g.Index, err)
		}
		g.PCIBusID, g.NodeDevice = a.String(), a.NodeDevice()
		if (g.VGPU.Profile == "") != (g.VGPU.Slices == 0) || g.VGPU.Slices < 0 {
			return Static{}, fmt.Errorf("gpu %d: vgpu needs both a profile and a positive slice count", g.Index)
		}
		if g.Health.Status == "" {
			g.Health.Status = HealthOK
		}
		if g.MIG.Mode == "" {
			g.MIG.Mode = MIGDisabled
		}
		out[i] = g
	}
	return Static{SourceKind: KindStatic, GPUs: out}, nil
}

// LoadStatic reads a configured inventory from a JSON file shaped like
// HostInventory ({"gpus": [...]}; other fields are ignored), so what
// `nvmlcheck` printed on a real host can be saved and served later.
func LoadStatic(path string) (Static, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Static{}, fmt.Errorf("load gpu inventory: %w", err)
	}
	var doc struct {
		GPUs []GPU `json:"gpus"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Static{}, fmt.Errorf("load gpu inventory %s: %w", path, err)
	}
	if doc.GPUs == nil {
		return Static{}, fmt.Errorf("load gpu inventory %s: %w", path, errors.New(`no "gpus" list`))
	}
	s, err := NewStatic(doc.GPUs)
	if err != nil {
		return Static{}, fmt.Errorf("load gpu inventory %s: %w", path, err)
	}
	return s, nil
}

// Simulated is a deterministic host of n GPUs of model: the same host and
// index always give the same UUID, PCI address, utilization, memory use and
// temperature, so dev runs, demos and tests see a stable pool. The memory
// size comes from the model name ("80GB"), 80 GiB if it says none.
func Simulated(host string, n int, model string) Static {
	if model == "" {
		model = DefaultModel
	}
	total := modelMemory(model)
	// The GPUs' PCI buses on a DGX H100, so simulated GPUs look like a real
	// host's.
	dgxBuses := [...]uint8{0x1b, 0x43, 0x52, 0x61, 0x9d, 0xc3, 0xd1, 0xdf}
	gpus := make([]GPU, 0, max(n, 0))
	for i := range max(n, 0) {
		sum := sha256.Sum256([]byte(host + "/" + strconv.Itoa(i)))
		// Spread 5..94 %, a mix of busy and idle GPUs for dashboards and the pool.
		util := uint32(5 + binary.BigEndian.Uint32(sum[16:20])%90)
		memUtil := util / 2
		temp := 30 + util*45/100
		var a PCIAddress
		if i < len(dgxBuses) {
			a.Bus = dgxBuses[i]
		} else { // past the DGX layout: one bus per GPU in further domains
			a.Domain, a.Bus = uint32(1+i/256), uint8(i%256)
		}
		gpus = append(gpus, GPU{
			Index:                    i,
			Name:                     model,
			UUID:                     fmt.Sprintf("GPU-%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
			PCIBusID:                 a.String(),
			NodeDevice:               a.NodeDevice(),
			MemoryTotalBytes:         total,
			MemoryUsedBytes:          total / 100 * uint64(util),
			UtilizationPercent:       &util,
			MemoryUtilizationPercent: &memUtil,
			TemperatureCelsius:       &temp,
			MIG:                      MIG{Mode: MIGDisabled},
			Health:                   Health{Status: HealthOK},
		})
	}
	return Static{SourceKind: KindSimulated, GPUs: gpus}
}

// modelMemory reads the memory size from a model name, "NVIDIA H100 80GB
// HBM3" -> 80 GiB; 80 GiB where the name gives none.
func modelMemory(model string) uint64 {
	for rest := model; ; {
		i := strings.Index(rest, "GB")
		if i < 0 {
			return 80 << 30
		}
		digits := strings.TrimRight(rest[:i], " ")
		j := len(digits)
		for j > 0 && digits[j-1] >= '0' && digits[j-1] <= '9' {
			j--
		}
		if gb, err := strconv.ParseUint(digits[j:], 10, 32); err == nil && gb > 0 {
			return gb << 30
		}
		rest = rest[i+2:]
	}
}

// DefaultSimulated is the dev default: one 8-GPU H100 80GB host.
func DefaultSimulated(host string) Static {
	return Simulated(host, DefaultSimulatedGPUs, DefaultModel)
}
