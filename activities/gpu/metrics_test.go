package gpu

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// twoGPUs is a host with a busy healthy GPU and a degraded MIG GPU that
// reports no utilization.
func twoGPUs(t *testing.T) Static {
	t.Helper()
	util, temp0, temp1 := uint32(73), uint32(61), uint32(45)
	s, err := NewStatic([]GPU{
		{
			Index: 0, Name: DefaultModel, UUID: "GPU-aaaa", PCIBusID: "00000000:1B:00.0",
			MemoryTotalBytes: 80 << 30, MemoryUsedBytes: 40 << 30,
			UtilizationPercent: &util, TemperatureCelsius: &temp0,
		},
		{
			Index: 1, Name: DefaultModel, UUID: "GPU-bbbb", PCIBusID: "0000:43:00.0",
			MemoryTotalBytes: 80 << 30, MemoryUsedBytes: 0, TemperatureCelsius: &temp1,
			MIG:    MIG{Mode: MIGEnabled},
			Health: Health{Status: HealthDegraded, Reasons: []string{"row remapping pending: reset the gpu"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var quiet = slog.New(slog.DiscardHandler)

const gpuSeries = `
# HELP dure_gpu_healthy 1 if the GPU is healthy, 0 if degraded (see the inventory for reasons).
# TYPE dure_gpu_healthy gauge
dure_gpu_healthy{gpu="0",host="gpu-host-1",pci="0000:1b:00.0",uuid="GPU-aaaa"} 1
dure_gpu_healthy{gpu="1",host="gpu-host-1",pci="0000:43:00.0",uuid="GPU-bbbb"} 0
# HELP dure_gpu_inventory_up 1 if the host's GPU inventory could be read in this scrape, else 0.
# TYPE dure_gpu_inventory_up gauge
dure_gpu_inventory_up{host="gpu-host-1",source="static"} 1
# HELP dure_gpu_memory_total_bytes GPU memory installed.
# TYPE dure_gpu_memory_total_bytes gauge
dure_gpu_memory_total_bytes{gpu="0",host="gpu-host-1",pci="0000:1b:00.0",uuid="GPU-aaaa"} 8.589934592e+10
dure_gpu_memory_total_bytes{gpu="1",host="gpu-host-1",pci="0000:43:00.0",uuid="GPU-bbbb"} 8.589934592e+10
# HELP dure_gpu_memory_used_bytes GPU memory in use.
# TYPE dure_gpu_memory_used_bytes gauge
dure_gpu_memory_used_bytes{gpu="0",host="gpu-host-1",pci="0000:1b:00.0",uuid="GPU-aaaa"} 4.294967296e+10
dure_gpu_memory_used_bytes{gpu="1",host="gpu-host-1",pci="0000:43:00.0",uuid="GPU-bbbb"} 0
# HELP dure_gpu_temperature_celsius GPU core temperature.
# TYPE dure_gpu_temperature_celsius gauge
dure_gpu_temperature_celsius{gpu="0",host="gpu-host-1",pci="0000:1b:00.0",uuid="GPU-aaaa"} 61
dure_gpu_temperature_celsius{gpu="1",host="gpu-host-1",pci="0000:43:00.0",uuid="GPU-bbbb"} 45
# HELP dure_gpu_utilization_ratio Fraction of the last sample period in which a kernel ran on the GPU (absent with MIG on).
# TYPE dure_gpu_utilization_ratio gauge
dure_gpu_utilization_ratio{gpu="0",host="gpu-host-1",pci="0000:1b:00.0",uuid="GPU-aaaa"} 0.73
`

const leaseSeries = `
# HELP dure_gpu_lease_info 1 for each pool lease holding the GPU.
# TYPE dure_gpu_lease_info gauge
dure_gpu_lease_info{gpu="0",host="gpu-host-1",lease="infer-1",pci="0000:1b:00.0",tenant="seongnam",uuid="GPU-aaaa"} 1
dure_gpu_lease_info{gpu="0",host="gpu-host-1",lease="train-42",pci="0000:1b:00.0",tenant="suwon",uuid="GPU-aaaa"} 1
`

func TestCollector(t *testing.T) {
	leases := func(_ context.Context, host string, gpus []GPU) (map[int][]Lease, error) {
		if host != "gpu-host-1" || len(gpus) != 2 {
			t.Errorf("lookup(%q, %d gpus)", host, len(gpus))
		}
		// Duplicates (one entry per slice) must not break the scrape.
		return map[int][]Lease{0: {{ID: "train-42", Tenant: "suwon"}, {ID: "infer-1", Tenant: "seongnam"}, {ID: "train-42", Tenant: "suwon"}}}, nil
	}
	tests := []struct {
		name   string
		src    Source
		leases LeaseLookup
		want   string
	}{
		{name: "gpus and leases", src: twoGPUs(t), leases: leases, want: gpuSeries + leaseSeries},
		{name: "no lease lookup", src: twoGPUs(t), want: gpuSeries},
		{
			name: "lease lookup fails",
			src:  twoGPUs(t),
			leases: func(context.Context, string, []GPU) (map[int][]Lease, error) {
				return nil, errors.New("pool unreachable")
			},
			want: gpuSeries,
		},
		{
			name: "inventory fails",
			src:  failingSource{errors.New("count gpus: ERROR_UNKNOWN")},
			want: `
# HELP dure_gpu_inventory_up 1 if the host's GPU inventory could be read in this scrape, else 0.
# TYPE dure_gpu_inventory_up gauge
dure_gpu_inventory_up{host="gpu-host-1",source="gpu.failingSource"} 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector("gpu-host-1", tt.src, CollectorOptions{Leases: tt.leases, Logger: quiet})
			if err := testutil.CollectAndCompare(c, strings.NewReader(tt.want)); err != nil {
				t.Error(err)
			}
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

func TestCollectorSimulatedHost(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector("gpu-host-1", DefaultSimulated("gpu-host-1"), CollectorOptions{Logger: quiet}))
	for name, want := range map[string]int{
		"dure_gpu_utilization_ratio":   8,
		"dure_gpu_memory_used_bytes":   8,
		"dure_gpu_memory_total_bytes":  8,
		"dure_gpu_temperature_celsius": 8,
		"dure_gpu_healthy":             8,
		"dure_gpu_lease_info":          0,
		"dure_gpu_inventory_up":        1,
	} {
		got, err := testutil.GatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: %d series, want %d", name, got, want)
		}
	}
}

func TestCollectorTimesOut(t *testing.T) {
	c := NewCollector("h", slowSource{delay: 10e9}, CollectorOptions{Timeout: 10e6, Logger: quiet})
	if got := testutil.ToFloat64(onlyUp{c}); got != 0 {
		t.Errorf("up = %v after a timed-out read, want 0", got)
	}
}

// onlyUp exposes the collector's single series when the read fails, for
// testutil.ToFloat64, which wants exactly one.
type onlyUp struct{ *Collector }

func (o onlyUp) Describe(ch chan<- *prometheus.Desc) { ch <- o.up }
