package gpupool

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by the pool. Callers test them with errors.Is; the returned
// errors wrap them with the offending name or value.
var (
	ErrInvalidConfig  = errors.New("gpupool: invalid config")
	ErrInvalidRequest = errors.New("gpupool: invalid request")
	// ErrUnsatisfiable refuses a request early that no GPU in the inventory
	// could ever hold (too many GPUs for one host, unknown profile, ...).
	ErrUnsatisfiable  = errors.New("gpupool: request can never be placed")
	ErrUnknownTenant  = errors.New("gpupool: unknown tenant")
	ErrUnknownLease   = errors.New("gpupool: unknown lease")
	ErrUnknownRequest = errors.New("gpupool: unknown request")
	ErrDuplicateID    = errors.New("gpupool: id already queued or leased")
	ErrInvalidQuota   = errors.New("gpupool: invalid quota")
	ErrUnknownTarget  = errors.New("gpupool: unknown GPU or host")
	// ErrLeaseExpired answers a heartbeat that came after the lease's expiry
	// time; the next Tick removes the lease.
	ErrLeaseExpired = errors.New("gpupool: lease expired")
)

// GPUConfig is one physical GPU.
type GPUConfig struct {
	// ID is unique in the pool, e.g. "gpu-host-1/0".
	ID    string `json:"id"`
	Model string `json:"model,omitempty"`
	// Profile is the vGPU (mdev) profile the GPU is split with, e.g.
	// "a100-10c". Empty means passthrough only: the GPU is leased whole.
	Profile string `json:"profile,omitempty"`
	// Slices is how many vGPU slices Profile makes of this GPU; 0 when Profile
	// is empty. Every GPU with the same profile must have the same count.
	Slices int `json:"slices,omitempty"`
}

// HostConfig is one hypervisor host and its GPUs.
type HostConfig struct {
	Name string      `json:"name"`
	GPUs []GPUConfig `json:"gpus"`
}

// TenantConfig is a tenant's nominal quota and fair-share weight.
type TenantConfig struct {
	Name string `json:"name"`
	// Quota is the capacity, in units, that the tenant can always get back
	// (see Config.UnitsPerGPU). Capacity beyond it is borrowed and preemptible.
	Quota int `json:"quota"`
	// Weight divides idle capacity among tenants that borrow; 0 means Quota,
	// so borrowed capacity is shared in proportion to quotas.
	Weight int `json:"weight,omitempty"`
}

// Config is the inventory and the rules' parameters. It is part of State, and
// Tenants holds the current quotas after SetQuota and AddTenant.
type Config struct {
	Hosts   []HostConfig   `json:"hosts"`
	Tenants []TenantConfig `json:"tenants"`
	// UnitsPerGPU is the accounting unit: one GPU is UnitsPerGPU units and a
	// slice of a GPU split into S slices is UnitsPerGPU/S units, so whole GPUs
	// and slices of different profiles share one quota. Every GPU's slice
	// count must divide it. 0 picks the least common multiple of the slice
	// counts, which makes one unit one slice when all GPUs share a profile.
	UnitsPerGPU int `json:"units_per_gpu,omitempty"`
	// LeaseTTL is how long a lease lives without a heartbeat.
	LeaseTTL time.Duration `json:"lease_ttl"`
	// PreemptGrace is how long a preempted holder has to checkpoint and
	// release before the lease is revoked.
	PreemptGrace time.Duration `json:"preempt_grace"`
}

// gpuInfo is one GPU as the scheduler sees it.
type gpuInfo struct {
	id, host, model, profile string
	hostIdx                  int
	// slices is the GPU's slice count; 1 for a passthrough-only GPU, so a
	// whole lease always occupies all of a GPU's slices.
	slices     int
	sliceUnits int
}

// topology is the fixed inventory, indexed. It never changes after New, so
// Restore rebuilds it from State.Config.
type topology struct {
	gpus        []gpuInfo
	hosts       []string
	hostGPUs    [][]int
	byID        map[string]int
	byHost      map[string]int
	profiles    map[string]int // profile -> slices per GPU
	unitsPerGPU int
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newTopology(c Config) (*topology, error) {
	if len(c.Hosts) == 0 {
		return nil, fmt.Errorf("%w: no hosts", ErrInvalidConfig)
	}
	if c.LeaseTTL <= 0 {
		return nil, fmt.Errorf("%w: lease TTL must be positive", ErrInvalidConfig)
	}
	if c.PreemptGrace <= 0 {
		return nil, fmt.Errorf("%w: preemption grace must be positive", ErrInvalidConfig)
	}
	t := &topology{
		byID:     map[string]int{},
		byHost:   map[string]int{},
		profiles: map[string]int{},
	}
	lcm := 1
	for hi, h := range c.Hosts {
		if h.Name == "" {
			return nil, fmt.Errorf("%w: host %d has no name", ErrInvalidConfig, hi)
		}
		if _, dup := t.byHost[h.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate host %q", ErrInvalidConfig, h.Name)
		}
		if len(h.GPUs) == 0 {
			return nil, fmt.Errorf("%w: host %q has no GPUs", ErrInvalidConfig, h.Name)
		}
		t.byHost[h.Name] = hi
		t.hosts = append(t.hosts, h.Name)
		var idx []int
		for _, g := range h.GPUs {
			if g.ID == "" {
				return nil, fmt.Errorf("%w: GPU on host %q has no id", ErrInvalidConfig, h.Name)
			}
			if _, dup := t.byID[g.ID]; dup {
				return nil, fmt.Errorf("%w: duplicate GPU %q", ErrInvalidConfig, g.ID)
			}
			if _, clash := t.byHost[g.ID]; clash {
				return nil, fmt.Errorf("%w: GPU %q has a host's name", ErrInvalidConfig, g.ID)
			}
			s := 1
			switch {
			case g.Profile == "" && g.Slices != 0:
				return nil, fmt.Errorf("%w: GPU %q has slices but no profile", ErrInvalidConfig, g.ID)
			case g.Profile != "" && g.Slices < 1:
				return nil, fmt.Errorf("%w: GPU %q: profile %q needs a positive slice count", ErrInvalidConfig, g.ID, g.Profile)
			case g.Profile != "":
				s = g.Slices
				if prev, ok := t.profiles[g.Profile]; ok && prev != s {
					return nil, fmt.Errorf("%w: profile %q has %d slices on one GPU and %d on %q", ErrInvalidConfig, g.Profile, prev, s, g.ID)
				}
				t.profiles[g.Profile] = s
			}
			lcm = lcm / gcd(lcm, s) * s
			t.byID[g.ID] = len(t.gpus)
			idx = append(idx, len(t.gpus))
			t.gpus = append(t.gpus, gpuInfo{id: g.ID, host: h.Name, model: g.Model, profile: g.Profile, hostIdx: hi, slices: s})
		}
		t.hostGPUs = append(t.hostGPUs, idx)
	}
	for _, h := range t.hosts {
		if _, clash := t.byID[h]; clash {
			return nil, fmt.Errorf("%w: host %q has a GPU's name", ErrInvalidConfig, h)
		}
	}
	t.unitsPerGPU = lcm
	if c.UnitsPerGPU != 0 {
		if c.UnitsPerGPU < 0 {
			return nil, fmt.Errorf("%w: negative units per GPU", ErrInvalidConfig)
		}
		for _, g := range t.gpus {
			if c.UnitsPerGPU%g.slices != 0 {
				return nil, fmt.Errorf("%w: %d units per GPU is not divisible by the %d slices of %q", ErrInvalidConfig, c.UnitsPerGPU, g.slices, g.id)
			}
		}
		t.unitsPerGPU = c.UnitsPerGPU
	}
	for i := range t.gpus {
		t.gpus[i].sliceUnits = t.unitsPerGPU / t.gpus[i].slices
	}
	return t, nil
}

// capacity is the pool's size in units, drained GPUs included: quotas are a
// promise about the inventory, and drains are temporary.
func (t *topology) capacity() int { return len(t.gpus) * t.unitsPerGPU }

// validateTenants checks names, signs and that the quotas fit the inventory.
func (t *topology) validateTenants(ts []TenantConfig) error {
	seen := map[string]bool{}
	sum := 0
	for _, tc := range ts {
		if tc.Name == "" {
			return fmt.Errorf("%w: tenant without a name", ErrInvalidQuota)
		}
		if seen[tc.Name] {
			return fmt.Errorf("%w: duplicate tenant %q", ErrInvalidQuota, tc.Name)
		}
		seen[tc.Name] = true
		if tc.Quota < 0 || tc.Weight < 0 {
			return fmt.Errorf("%w: tenant %q: quota and weight must not be negative", ErrInvalidQuota, tc.Name)
		}
		sum += tc.Quota
	}
	if sum > t.capacity() {
		return fmt.Errorf("%w: quotas sum to %d units, capacity is %d", ErrInvalidQuota, sum, t.capacity())
	}
	return nil
}

// weight is the tenant's fair-share weight.
func (tc TenantConfig) weight() int {
	if tc.Weight > 0 {
		return tc.Weight
	}
	return tc.Quota
}
