package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dure-platform/dure/internal/metadb"
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
// one if free, or the next free one of the plan. Two tenants never share one,
// even when several control planes allocate at once.
func (s *Store) AllocateVLAN(ctx context.Context, tenant string, requested int, plan VLANPlan) (int, error) {
	var vlan int
	err := s.db.InTx(ctx, func(tx *metadb.Tx) error {
		if err := tx.Lock(ctx, "vlans"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT tenant, vlan FROM vlans")
		if err != nil {
			return fmt.Errorf("read vlans: %w", err)
		}
		owners := map[int]string{}
		for rows.Next() {
			var (
				t string
				v int
			)
			if err := rows.Scan(&t, &v); err != nil {
				_ = rows.Close()
				return err
			}
			owners[v] = t
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for v, t := range owners {
			if t != tenant {
				continue
			}
			if requested != 0 && requested != v {
				return fmt.Errorf("tenant %s already has vlan %d, not %d", tenant, v, requested)
			}
			vlan = v
			return nil
		}
		if vlan, err = pickVLAN(requested, plan, owners); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO vlans (tenant, vlan) VALUES (?, ?)", tenant, vlan)
		return err
	})
	return vlan, err
}

// pickVLAN chooses the requested VLAN if it is free, or the first free one of the plan.
func pickVLAN(requested int, plan VLANPlan, owners map[int]string) (int, error) {
	if requested != 0 {
		return requested, checkVLAN(requested, owners)
	}
	candidates := append([]int(nil), plan.Preferred...)
	for v := plan.RangeStart; v <= plan.RangeEnd; v++ {
		candidates = append(candidates, v)
	}
	for _, v := range candidates {
		if checkVLAN(v, owners) == nil {
			return v, nil
		}
	}
	return 0, ErrVLANExhausted
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
func (s *Store) ReleaseVLAN(ctx context.Context, tenant string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM vlans WHERE tenant = ?", tenant); err != nil {
		return fmt.Errorf("release vlan of %s: %w", tenant, err)
	}
	return nil
}

// VLAN returns a tenant's VLAN, 0 when it has none.
func (s *Store) VLAN(ctx context.Context, tenant string) (int, error) {
	var v int
	err := s.db.QueryRow(ctx, "SELECT vlan FROM vlans WHERE tenant = ?", tenant).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read vlan of %s: %w", tenant, err)
	}
	return v, nil
}

// SetGPUQuota records a tenant's nominal vGPU quota (0 removes it).
func (s *Store) SetGPUQuota(ctx context.Context, tenant string, vgpus int) error {
	if vgpus < 0 {
		return fmt.Errorf("gpu quota must not be negative")
	}
	var err error
	if vgpus == 0 {
		_, err = s.db.Exec(ctx, "DELETE FROM gpu_quotas WHERE tenant = ?", tenant)
	} else {
		_, err = s.db.Exec(ctx, `INSERT INTO gpu_quotas (tenant, vgpus) VALUES (?, ?)
ON CONFLICT (tenant) DO UPDATE SET vgpus = excluded.vgpus`, tenant, vgpus)
	}
	if err != nil {
		return fmt.Errorf("set gpu quota of %s: %w", tenant, err)
	}
	return nil
}

// GPUQuotas returns every tenant's vGPU quota.
func (s *Store) GPUQuotas(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Query(ctx, "SELECT tenant, vgpus FROM gpu_quotas")
	if err != nil {
		return nil, fmt.Errorf("read gpu quotas: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			t string
			q int
		)
		if err := rows.Scan(&t, &q); err != nil {
			return nil, err
		}
		out[t] = q
	}
	return out, rows.Err()
}
