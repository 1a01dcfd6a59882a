package gpu

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSimulatedDefault(t *testing.T) {
	src := DefaultSimulated("gpu-host-1")
	gpus, err := src.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(gpus) != 8 {
		t.Fatalf("got %d gpus, want 8", len(gpus))
	}
	if src.Kind() != KindSimulated {
		t.Errorf("kind = %q", src.Kind())
	}
	if id := gpus[3].ID("gpu-host-1"); id != "gpu-host-1/3" {
		t.Errorf("pool id = %q", id)
	}
	uuids, pcis := map[string]bool{}, map[string]bool{}
	for i, g := range gpus {
		if g.Index != i || g.Name != "NVIDIA H100 80GB HBM3" || g.MemoryTotalBytes != 80<<30 || !g.Health.OK() || g.MIG.Mode != MIGDisabled {
			t.Errorf("gpu %d = %+v", i, g)
		}
		if !strings.HasPrefix(g.UUID, "GPU-") || len(g.UUID) != len("GPU-8c1f0e2a-0000-0000-0000-000000000000") {
			t.Errorf("gpu %d uuid %q is not NVML-shaped", i, g.UUID)
		}
		a, err := ParsePCIAddress(g.PCIBusID)
		if err != nil || a.NodeDevice() != g.NodeDevice {
			t.Errorf("gpu %d pci %q / %q: %v", i, g.PCIBusID, g.NodeDevice, err)
		}
		u := *g.UtilizationPercent
		if u < 5 || u > 94 || g.MemoryUsedBytes > g.MemoryTotalBytes || *g.TemperatureCelsius < 30 || *g.TemperatureCelsius > 75 {
			t.Errorf("gpu %d: util %d %%, mem %d, temp %d", i, u, g.MemoryUsedBytes, *g.TemperatureCelsius)
		}
		uuids[g.UUID], pcis[g.PCIBusID] = true, true
	}
	if len(uuids) != 8 || len(pcis) != 8 {
		t.Errorf("uuids or pci addresses repeat: %v %v", uuids, pcis)
	}
}

func TestSimulatedIsStable(t *testing.T) {
	a, _ := Simulated("gpu-host-1", 8, DefaultModel).Inventory(context.Background())
	b, _ := Simulated("gpu-host-1", 8, DefaultModel).Inventory(context.Background())
	if !reflect.DeepEqual(a, b) {
		t.Error("the same host simulates differently twice")
	}
	c, _ := Simulated("gpu-host-2", 8, DefaultModel).Inventory(context.Background())
	for i := range a {
		if a[i].UUID == c[i].UUID {
			t.Errorf("gpu %d has the same uuid on two hosts", i)
		}
	}
	// A bigger host keeps the first GPUs as they were.
	d, _ := Simulated("gpu-host-1", 10, DefaultModel).Inventory(context.Background())
	if !reflect.DeepEqual(a, d[:8]) {
		t.Error("growing the host changed its first GPUs")
	}
	if d[8].PCIBusID == d[9].PCIBusID {
		t.Error("gpus past the DGX layout share a pci address")
	}
}

func TestSimulatedModels(t *testing.T) {
	tests := []struct {
		model string
		n     int
		want  int
		mem   uint64
	}{
		{"NVIDIA A100-SXM4-40GB", 4, 4, 40 << 30},
		{"NVIDIA H200 141GB HBM3e", 2, 2, 141 << 30},
		{"NVIDIA L4", 1, 1, 80 << 30},
		{"", 1, 1, 80 << 30},
		{DefaultModel, 0, 0, 0},
		{DefaultModel, -3, 0, 0},
	}
	for _, tt := range tests {
		gpus, err := Simulated("h", tt.n, tt.model).Inventory(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(gpus) != tt.want {
			t.Errorf("%q x%d: %d gpus", tt.model, tt.n, len(gpus))
			continue
		}
		if len(gpus) > 0 && gpus[0].MemoryTotalBytes != tt.mem {
			t.Errorf("%q: memory %d, want %d", tt.model, gpus[0].MemoryTotalBytes, tt.mem)
		}
	}
}

func TestStaticReturnsCopies(t *testing.T) {
	src := DefaultSimulated("h")
	a, _ := src.Inventory(context.Background())
	*a[0].UtilizationPercent = 999
	a[0].Name = "changed"
	b, _ := src.Inventory(context.Background())
	if *b[0].UtilizationPercent == 999 || b[0].Name == "changed" {
		t.Error("a caller's change leaked into the source")
	}
}

func TestStaticCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DefaultSimulated("h").Inventory(ctx); err == nil {
		t.Error("want the context's error")
	}
}

func TestLoadStaticRoundTrip(t *testing.T) {
	// What nvmlcheck prints on one host serves as another's configuration.
	inv, err := ReadHost(context.Background(), "gpu-host-1", Simulated("gpu-host-1", 3, DefaultModel))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gpus.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := LoadStatic(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := src.Inventory(context.Background())
	if !reflect.DeepEqual(got, inv.GPUs) || src.Kind() != KindStatic {
		t.Errorf("loaded %+v (%s), want %+v", got, src.Kind(), inv.GPUs)
	}
}

func TestLoadStatic(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
		check              func(t *testing.T, gpus []GPU)
	}{
		{
			name: "minimal, libvirt name only",
			doc:  `{"gpus": [{"index": 0, "name": "NVIDIA A100-PCIE-40GB", "uuid": "GPU-a", "node_device": "pci_0000_3b_00_0", "memory_total_bytes": 42949672960}]}`,
			check: func(t *testing.T, gpus []GPU) {
				g := gpus[0]
				if g.PCIBusID != "0000:3b:00.0" || g.NodeDevice != "pci_0000_3b_00_0" || !g.Health.OK() || g.MIG.Mode != MIGDisabled {
					t.Errorf("gpu = %+v", g)
				}
			},
		},
		{
			name: "nvml form normalised",
			doc:  `{"gpus": [{"index": 1, "uuid": "GPU-b", "pci_bus_id": "00000000:DB:00.0", "health": {"status": "degraded", "reasons": ["fan"]}}]}`,
			check: func(t *testing.T, gpus []GPU) {
				if g := gpus[0]; g.PCIBusID != "0000:db:00.0" || g.NodeDevice != "pci_0000_db_00_0" || g.Health.OK() {
					t.Errorf("gpu = %+v", g)
				}
			},
		},
		{name: "empty host", doc: `{"host": "x", "gpus": []}`, check: func(t *testing.T, gpus []GPU) {
			if len(gpus) != 0 {
				t.Errorf("gpus = %v", gpus)
			}
		}},
		{name: "no list", doc: `{"host": "x"}`, wantErr: `no "gpus" list`},
		{name: "not json", doc: `gpus: []`, wantErr: "invalid character"},
		{name: "no uuid", doc: `{"gpus": [{"index": 0, "pci_bus_id": "3b:00.0"}]}`, wantErr: "uuid is required"},
		{name: "no pci", doc: `{"gpus": [{"index": 0, "uuid": "GPU-a"}]}`, wantErr: "pci_bus_id is required"},
		{name: "bad pci", doc: `{"gpus": [{"index": 0, "uuid": "GPU-a", "pci_bus_id": "3b"}]}`, wantErr: "no function"},
		{name: "index twice", doc: `{"gpus": [{"index": 0, "uuid": "GPU-a", "pci_bus_id": "3b:00.0"}, {"index": 0, "uuid": "GPU-b", "pci_bus_id": "3c:00.0"}]}`, wantErr: "index listed twice"},
		{name: "uuid twice", doc: `{"gpus": [{"index": 0, "uuid": "GPU-a", "pci_bus_id": "3b:00.0"}, {"index": 1, "uuid": "GPU-a", "pci_bus_id": "3c:00.0"}]}`, wantErr: "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gpus.json")
			if err := os.WriteFile(path, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			src, err := LoadStatic(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gpus, _ := src.Inventory(context.Background())
			tt.check(t, gpus)
		})
	}
	if _, err := LoadStatic(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}
