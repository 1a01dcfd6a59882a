package gpu

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Lease is a pool lease holding (part of) a GPU.
type Lease struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
}

// LeaseLookup says who holds the host's GPUs, by GPU index. It is asked
// once per scrape with the GPUs just read.
type LeaseLookup func(ctx context.Context, host string, gpus []GPU) (map[int][]Lease, error)

// CollectorOptions tune a Collector; the zero value works.
type CollectorOptions struct {
	// Leases feeds dure_gpu_lease_info; nil exports no lease series.
	Leases LeaseLookup
	// Timeout bounds one scrape's inventory read and lease lookup; zero
	// means 5 s, below Prometheus' default scrape timeout of 10 s.
	Timeout time.Duration
	// Logger receives failed reads; nil means slog.Default().
	Logger *slog.Logger
}

// Collector exports a host's GPUs to Prometheus, read fresh on each scrape
// so the numbers are never older than the scrape.
type Collector struct {
	host    string
	src     Source
	leases  LeaseLookup
	timeout time.Duration
	log     *slog.Logger

	up, util, memUsed, memTotal, temp, healthy, leaseInfo *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector exports src's GPUs as the GPUs of host.
func NewCollector(host string, src Source, opts CollectorOptions) *Collector {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	gpuLabels := []string{"host", "gpu", "uuid", "pci"}
	desc := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(slices.Clone(gpuLabels), extra...), nil)
	}
	return &Collector{
		host: host, src: src, leases: opts.Leases, timeout: opts.Timeout, log: opts.Logger,
		up: prometheus.NewDesc("dure_gpu_inventory_up",
			"1 if the host's GPU inventory could be read in this scrape, else 0.", []string{"host", "source"}, nil),
		util:      desc("dure_gpu_utilization_ratio", "Fraction of the last sample period in which a kernel ran on the GPU (absent with MIG on)."),
		memUsed:   desc("dure_gpu_memory_used_bytes", "GPU memory in use."),
		memTotal:  desc("dure_gpu_memory_total_bytes", "GPU memory installed."),
		temp:      desc("dure_gpu_temperature_celsius", "GPU core temperature."),
		healthy:   desc("dure_gpu_healthy", "1 if the GPU is healthy, 0 if degraded (see the inventory for reasons)."),
		leaseInfo: desc("dure_gpu_lease_info", "1 for each pool lease holding the GPU.", "tenant", "lease"),
	}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.util, c.memUsed, c.memTotal, c.temp, c.healthy, c.leaseInfo} {
		ch <- d
	}
}

// Collect reads the inventory and sends one series per GPU and metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	// Collect has no context of its own: bound the read so a hung GPU does
	// not hold the scrape past Prometheus' timeout.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	kind := kindOf(c.src)
	gpus, err := c.src.Inventory(ctx)
	if err != nil {
		c.log.Warn("gpu metrics: inventory read failed", "host", c.host, "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0, c.host, kind)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1, c.host, kind)

	var held map[int][]Lease
	if c.leases != nil {
		if held, err = c.leases(ctx, c.host, gpus); err != nil {
			// The GPU series are still right; only the lease series are missing.
			c.log.Warn("gpu metrics: lease lookup failed", "host", c.host, "err", err)
		}
	}
	for _, g := range gpus {
		labels := []string{c.host, strconv.Itoa(g.Index), g.UUID, g.PCIBusID}
		gauge := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(slices.Clone(labels), extra...)...)
		}
		if g.UtilizationPercent != nil {
			gauge(c.util, float64(*g.UtilizationPercent)/100)
		}
		gauge(c.memUsed, float64(g.MemoryUsedBytes))
		gauge(c.memTotal, float64(g.MemoryTotalBytes))
		if g.TemperatureCelsius != nil {
			gauge(c.temp, float64(*g.TemperatureCelsius))
		}
		healthy := 0.0
		if g.Health.OK() {
			healthy = 1
		}
		gauge(c.healthy, healthy)
		for _, l := range uniqueLeases(held[g.Index]) {
			gauge(c.leaseInfo, 1, l.Tenant, l.ID)
		}
	}
}

// uniqueLeases sorts and de-duplicates, since a registry refuses two series
// with the same labels and a lookup may list a lease once per slice.
func uniqueLeases(ls []Lease) []Lease {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b Lease) int { return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Tenant, b.Tenant)) })
	return slices.Compact(ls)
}
