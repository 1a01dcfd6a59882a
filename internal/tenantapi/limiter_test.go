package tenantapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRefusalLimiter(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	l := newRefusalLimiter(time.Minute, func() time.Time { return now })

	_, ok := l.admit("suwon")
	assert.True(t, ok, "the first refusal is recorded")
	for range 99 {
		_, ok = l.admit("suwon")
		assert.False(t, ok)
	}
	_, ok = l.admit("yongin")
	assert.True(t, ok, "tenants have their own windows")

	now = now.Add(61 * time.Second)
	n, ok := l.admit("suwon")
	assert.True(t, ok)
	assert.Equal(t, 99, n, "the next recorded refusal counts those held back")
	_, ok = l.admit("suwon")
	assert.False(t, ok)

	for i := range maxLimitedTenants + 10 {
		l.admit(fmt.Sprintf("t%d", i))
	}
	assert.LessOrEqual(t, len(l.keys), maxLimitedTenants, "memory stays bounded whatever the keys")
}
