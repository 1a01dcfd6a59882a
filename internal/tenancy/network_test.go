package tenancy

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/metadb"
)

func TestAllocateVLANFollowsThePlan(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, other *Store, _ metadb.Config) {
		ctx := context.Background()
		plan := VLANPlan{Preferred: []int{20, 21, 22}, RangeStart: 200, RangeEnd: 201}
		for i, tenant := range []string{"suwon", "seongnam", "yongin", "osan", "hwaseong"} {
			v, err := s.AllocateVLAN(ctx, tenant, 0, plan)
			require.NoError(t, err)
			assert.Equal(t, []int{20, 21, 22, 200, 201}[i], v, tenant)
		}
		_, err := s.AllocateVLAN(ctx, "anseong", 0, plan)
		assert.ErrorIs(t, err, ErrVLANExhausted)

		again, err := other.AllocateVLAN(ctx, "suwon", 0, plan)
		require.NoError(t, err)
		assert.Equal(t, 20, again, "allocation is idempotent")
		v, err := other.VLAN(ctx, "seongnam")
		require.NoError(t, err)
		assert.Equal(t, 21, v)

		_, err = s.AllocateVLAN(ctx, "anseong", 21, plan)
		assert.ErrorIs(t, err, ErrVLANTaken, "never two tenants on one VLAN")
		_, err = s.AllocateVLAN(ctx, "anseong", 50, plan)
		assert.ErrorIs(t, err, ErrVLANReserved)

		require.NoError(t, s.ReleaseVLAN(ctx, "osan"))
		v, err = s.AllocateVLAN(ctx, "anseong", 0, plan)
		require.NoError(t, err)
		assert.Equal(t, 200, v, "a released VLAN is reused")
	})
}

// Control planes onboarding different tenants at once never hand out one VLAN twice.
func TestConcurrentAllocationsNeverShareAVLAN(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, other *Store, _ metadb.Config) {
		ctx := context.Background()
		plan := DefaultVLANPlan()
		const tenants = 12
		got := make([]int, tenants)
		var wg sync.WaitGroup
		for i := range tenants {
			store := []*Store{s, other}[i%2]
			wg.Go(func() {
				v, err := store.AllocateVLAN(ctx, fmt.Sprintf("city-%02d", i), 0, plan)
				assert.NoError(t, err)
				got[i] = v
			})
		}
		wg.Wait()
		seen := map[int]bool{}
		for _, v := range got {
			assert.False(t, seen[v], "vlan %d given twice", v)
			seen[v] = true
		}
	})
}

func TestGPUQuotas(t *testing.T) {
	eachEngine(t, func(t *testing.T, s, other *Store, _ metadb.Config) {
		ctx := context.Background()
		require.NoError(t, s.SetGPUQuota(ctx, "suwon", 3))
		require.NoError(t, other.SetGPUQuota(ctx, "yongin", 2))
		q, err := s.GPUQuotas(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"suwon": 3, "yongin": 2}, q)
		require.NoError(t, s.SetGPUQuota(ctx, "suwon", 0))
		q, err = other.GPUQuotas(ctx)
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"yongin": 2}, q)
		assert.Error(t, s.SetGPUQuota(ctx, "suwon", -1))
	})
}
