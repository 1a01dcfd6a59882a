package tenancy

import (
	"errors"
	"fmt"
)

// VLANPlan says which VLAN IDs tenants get: the pilot plan first (20, 21, 22),
// then the next free ID of a range.
type VLANPlan struct {
	Preferred  []int
	RangeStart int
	RangeEnd   int // inclusive
}

// DefaultVLANPlan follows the network plan: tenants A/B/C on 20/21/22, later
// tenants from 200-299 (clear of 10, 50, 55, 60 and 100, which the platform uses).
func DefaultVLANPlan() VLANPlan {
	return VLANPlan{Preferred: []int{20, 21, 22}, RangeStart: 200, RangeEnd: 299}
}

// reservedVLANs carry platform traffic and never go to a tenant.
var reservedVLANs = map[int]string{10: "DMZ", 50: "AI internal", 55: "AI service", 60: "AI storage", 100: "management"}

// Sentinel errors of VLAN allocation.
var (
	ErrVLANTaken     = errors.New("vlan already belongs to another tenant")
	ErrVLANReserved  = errors.New("vlan is reserved for platform traffic")
	ErrVLANExhausted = errors.New("no free vlan left in the plan")
)

// AllocateVLAN gives a tenant its VLAN: the one it already has, the requested
// one if free, or the next free one of the plan. Two tenants never share one.
func (s *Store) AllocateVLAN(tenant string, requested int, plan VLANPlan) (int, error) {
	var vlan int
	err := s.update(func(r *records) error {
		if r.VLANs == nil {
			r.VLANs = map[string]int{}
		}
		owners := map[int]string{}
		for t, v := range r.VLANs {
			owners[v] = t
		}
		if v, ok := r.VLANs[tenant]; ok {
			if requested != 0 && requested != v {
				return fmt.Errorf("tenant %s already has vlan %d, not %d", tenant, v, requested)
			}
			vlan = v
			return nil
		}
		if requested != 0 {
			if err := checkVLAN(requested, owners); err != nil {
				return err
			}
			vlan = requested
		} else {
			candidates := append([]int(nil), plan.Preferred...)
			for v := plan.RangeStart; v <= plan.RangeEnd; v++ {
				candidates = append(candidates, v)
			}
			for _, v := range candidates {
				if checkVLAN(v, owners) == nil {
					vlan = v
					break
				}
			}
			if vlan == 0 {
				return ErrVLANExhausted
			}
		}
		r.VLANs[tenant] = vlan
		return nil
	})
	return vlan, err
}

func checkVLAN(v int, owners map[int]string) error {
	if v < 1 || v > 4094 {
		return fmt.Errorf("vlan %d outside 1-4094", v)
	}
	if name, ok := reservedVLANs[v]; ok {
		return fmt.Errorf("%w: %d (%s)", ErrVLANReserved, v, name)
	}
	if owner, ok := owners[v]; ok {
		return fmt.Errorf("%w: %d (%s)", ErrVLANTaken, v, owner)
	}
	return nil
}

// ReleaseVLAN frees a tenant's VLAN.
func (s *Store) ReleaseVLAN(tenant string) error {
	return s.update(func(r *records) error {
		delete(r.VLANs, tenant)
		return nil
	})
}

// VLAN returns a tenant's VLAN, 0 when it has none.
func (s *Store) VLAN(tenant string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.data.VLANs[tenant]
}

// SetGPUQuota records a tenant's nominal vGPU quota (0 removes it).
func (s *Store) SetGPUQuota(tenant string, vgpus int) error {
	if vgpus < 0 {
		return fmt.Errorf("gpu quota must not be negative")
	}
	return s.update(func(r *records) error {
		if r.GPUQuotas == nil {
			r.GPUQuotas = map[string]int{}
		}
		if vgpus == 0 {
			delete(r.GPUQuotas, tenant)
		} else {
			r.GPUQuotas[tenant] = vgpus
		}
		return nil
	})
}

// GPUQuotas returns every tenant's vGPU quota.
func (s *Store) GPUQuotas() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]int, len(s.data.GPUQuotas))
	for t, q := range s.data.GPUQuotas {
		out[t] = q
	}
	return out
}
