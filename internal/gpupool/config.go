package gpupool

import (
	"errors"
	"fmt"
	"maps"
	"slices"
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
	// ErrInvalidHost refuses a host registration that does not fit the pool
	// (a GPU id used elsewhere, a profile with another slice count, slices
	// that do not divide UnitsPerGPU, ...). Nothing changes.
	ErrInvalidHost = errors.New("gpupool: invalid host registration")
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

// HostConfig is one hypervisor host and its GPUs: an entry of the configured
// inventory, and what a host's agent registers (Pool.RegisterHost).
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

// Config is the inventory and the rules' parameters. It is part of State:
// Tenants holds the current quotas after SetQuota and AddTenant, Hosts the
// current inventory after RegisterHost, and Profiles every profile seen.
type Config struct {
	// Hosts may be empty: the pool then waits for hosts to register, and
	// needs UnitsPerGPU or Profiles to count what they bring.
	Hosts   []HostConfig   `json:"hosts"`
	Tenants []TenantConfig `json:"tenants"`
	// UnitsPerGPU is the accounting unit: one GPU is UnitsPerGPU units and a
	// slice of a GPU split into S slices is UnitsPerGPU/S units, so whole GPUs
	// and slices of different profiles share one quota. Every GPU's slice
	// count must divide it. 0 picks the least common multiple of the slice
	// counts (of Hosts and Profiles), which makes one unit one slice when all
	// GPUs share a profile. It is fixed from then on, so a GPU registered
	// later must have a slice count that divides it.
	UnitsPerGPU int `json:"units_per_gpu,omitempty"`
	// Profiles maps vGPU profiles to their slices per GPU. The profiles of
	// the GPUs in Hosts, and of every GPU registered later, are added and
	// kept for the pool's life: a profile always has one slice count, so a
	// queued slice request keeps its size while hosts come and go. Declaring
	// a profile here lets slice requests for it queue before any GPU with it
	// has registered.
	Profiles map[string]int `json:"profiles,omitempty"`
	// LeaseTTL is how long a lease lives without a heartbeat.
	LeaseTTL time.Duration `json:"lease_ttl"`
	// PreemptGrace is how long a preempted holder has to checkpoint and
	// release before the lease is revoked.
	PreemptGrace time.Duration `json:"preempt_grace"`
	// HostTTL is how long a registered host stays live without registering
	// again (RegisterHost); past it the host is lost. 0 means hosts never
	// expire. A host listed in Hosts that has never registered is static and
	// never expires either: the TTL applies from a host's first registration.
	HostTTL time.Duration `json:"host_ttl,omitempty"`
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

// topology is the inventory, indexed. It is immutable: New and Restore build
// it from State.Config, and a registration that changes the inventory builds
// a new one.
type topology struct {
	gpus        []gpuInfo
	hosts       []string
	hostGPUs    [][]int
	byID        map[string]int
	byHost      map[string]int
	profiles    map[string]int // profile -> slices per GPU, kept for the pool's life
	unitsPerGPU int
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// validateConfig checks the parameters that do not depend on the inventory.
func validateConfig(c Config) error {
	if c.LeaseTTL <= 0 {
		return fmt.Errorf("%w: lease TTL must be positive", ErrInvalidConfig)
	}
	if c.PreemptGrace <= 0 {
		return fmt.Errorf("%w: preemption grace must be positive", ErrInvalidConfig)
	}
	if c.HostTTL < 0 {
		return fmt.Errorf("%w: negative host TTL", ErrInvalidConfig)
	}
	if c.UnitsPerGPU < 0 {
		return fmt.Errorf("%w: negative units per GPU", ErrInvalidConfig)
	}
	// In name order, so that the same configuration always fails alike.
	//workflowcheck:ignore
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		if s := c.Profiles[name]; name == "" || s < 1 {
			return fmt.Errorf("%w: profile %q needs a name and a positive slice count", ErrInvalidConfig, name)
		}
	}
	// Without hosts nothing says how many units a GPU is worth, and the
	// count cannot change once leases are counted in it.
	if len(c.Hosts) == 0 && c.UnitsPerGPU == 0 && len(c.Profiles) == 0 {
		return fmt.Errorf("%w: a pool without hosts needs units per GPU (or profiles) to count the GPUs that register", ErrInvalidConfig)
	}
	return nil
}

// newTopology indexes hosts. units is the pool's units per GPU, or 0 to
// derive it; known are the profiles' slice counts so far, which GPUs must
// agree with. Its errors wrap bad: ErrInvalidConfig for a configuration,
// ErrInvalidHost for a registration.
func newTopology(hosts []HostConfig, units int, known map[string]int, bad error) (*topology, error) {
	t := &topology{
		byID:     map[string]int{},
		byHost:   map[string]int{},
		profiles: maps.Clone(known),
	}
	if t.profiles == nil {
		t.profiles = map[string]int{}
	}
	lcm := 1
	// The least common multiple is the same in any order.
	//workflowcheck:ignore
	for _, s := range t.profiles {
		lcm = lcm / gcd(lcm, s) * s
	}
	for hi, h := range hosts {
		if h.Name == "" {
			return nil, fmt.Errorf("%w: host %d has no name", bad, hi)
		}
		if _, dup := t.byHost[h.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate host %q", bad, h.Name)
		}
		if len(h.GPUs) == 0 {
			return nil, fmt.Errorf("%w: host %q has no GPUs", bad, h.Name)
		}
		t.byHost[h.Name] = hi
		t.hosts = append(t.hosts, h.Name)
		var idx []int
		for _, g := range h.GPUs {
			if g.ID == "" {
				return nil, fmt.Errorf("%w: GPU on host %q has no id", bad, h.Name)
			}
			if _, dup := t.byID[g.ID]; dup {
				return nil, fmt.Errorf("%w: duplicate GPU %q", bad, g.ID)
			}
			if _, clash := t.byHost[g.ID]; clash {
				return nil, fmt.Errorf("%w: GPU %q has a host's name", bad, g.ID)
			}
			s := 1
			switch {
			case g.Profile == "" && g.Slices != 0:
				return nil, fmt.Errorf("%w: GPU %q has slices but no profile", bad, g.ID)
			case g.Profile != "" && g.Slices < 1:
				return nil, fmt.Errorf("%w: GPU %q: profile %q needs a positive slice count", bad, g.ID, g.Profile)
			case g.Profile != "":
				s = g.Slices
				if prev, ok := t.profiles[g.Profile]; ok && prev != s {
					return nil, fmt.Errorf("%w: profile %q has %d slices per GPU, GPU %q says %d", bad, g.Profile, prev, g.ID, s)
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
			return nil, fmt.Errorf("%w: host %q has a GPU's name", bad, h)
		}
	}
	t.unitsPerGPU = lcm
	if units != 0 {
		for _, g := range t.gpus {
			if units%g.slices != 0 {
				return nil, fmt.Errorf("%w: %d units per GPU is not divisible by the %d slices of %q", bad, units, g.slices, g.id)
			}
		}
		//workflowcheck:ignore sorted
		for _, p := range slices.Sorted(maps.Keys(t.profiles)) {
			if s := t.profiles[p]; units%s != 0 {
				return nil, fmt.Errorf("%w: %d units per GPU is not divisible by the %d slices of profile %q", bad, units, s, p)
			}
		}
		t.unitsPerGPU = units
	}
	for i := range t.gpus {
		t.gpus[i].sliceUnits = t.unitsPerGPU / t.gpus[i].slices
	}
	return t, nil
}

// profileMap is the profiles as Config keeps them: nil when there are none,
// as after a JSON round trip with omitempty.
func (t *topology) profileMap() map[string]int {
	if len(t.profiles) == 0 {
		return nil
	}
	return maps.Clone(t.profiles)
}

// capacity is the pool's size in units, drained GPUs and lost hosts
// included: quotas are a promise about the inventory, and drains and lost
// hosts are expected back.
func (t *topology) capacity() int { return len(t.gpus) * t.unitsPerGPU }

// validateTenants checks names and signs, and that quotas do not promise
// more than the inventory holds: a change may not raise their sum beyond the
// capacity. A sum already beyond it, because the inventory shrank since, may
// stay or be lowered. Before any host is known nothing can be checked, so
// quotas are taken as given. before is the sum the change starts from.
func (t *topology) validateTenants(ts []TenantConfig, before int) error {
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
	if len(t.hosts) > 0 && sum > t.capacity() && sum > before {
		return fmt.Errorf("%w: quotas sum to %d units, capacity is %d", ErrInvalidQuota, sum, t.capacity())
	}
	return nil
}

// quotaSum is the sum of the tenants' quotas.
func quotaSum(ts []TenantConfig) int {
	sum := 0
	for _, tc := range ts {
		sum += tc.Quota
	}
	return sum
}

// weight is the tenant's fair-share weight.
func (tc TenantConfig) weight() int {
	if tc.Weight > 0 {
		return tc.Weight
	}
	return tc.Quota
}
