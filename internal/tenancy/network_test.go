package tenancy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllocateVLANFollowsThePlan(t *testing.T) {
	s, _ := openTemp(t)
	plan := VLANPlan{Preferred: []int{20, 21, 22}, RangeStart: 200, RangeEnd: 201}
	for i, tenant := range []string{"suwon", "seongnam", "yongin", "osan", "hwaseong"} {
		v, err := s.AllocateVLAN(tenant, 0, plan)
		require.NoError(t, err)
		assert.Equal(t, []int{20, 21, 22, 200, 201}[i], v, tenant)
	}
	_, err := s.AllocateVLAN("anseong", 0, plan)
	assert.ErrorIs(t, err, ErrVLANExhausted)

	again, err := s.AllocateVLAN("suwon", 0, plan)
	require.NoError(t, err)
	assert.Equal(t, 20, again, "allocation is idempotent")

	_, err = s.AllocateVLAN("anseong", 21, plan)
	assert.ErrorIs(t, err, ErrVLANTaken, "never two tenants on one VLAN")
	_, err = s.AllocateVLAN("anseong", 50, plan)
	assert.ErrorIs(t, err, ErrVLANReserved)

	require.NoError(t, s.ReleaseVLAN("osan"))
	v, err := s.AllocateVLAN("anseong", 0, plan)
	require.NoError(t, err)
	assert.Equal(t, 200, v, "a released VLAN is reused")
}

func TestGPUQuotas(t *testing.T) {
	s, _ := openTemp(t)
	require.NoError(t, s.SetGPUQuota("suwon", 3))
	require.NoError(t, s.SetGPUQuota("yongin", 2))
	assert.Equal(t, map[string]int{"suwon": 3, "yongin": 2}, s.GPUQuotas())
	require.NoError(t, s.SetGPUQuota("suwon", 0))
	assert.Equal(t, map[string]int{"yongin": 2}, s.GPUQuotas())
	assert.Error(t, s.SetGPUQuota("suwon", -1))
}
