package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendQueryAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, l.Append(Event{Action: ActionGrant, Tenant: "suwon", Actor: "onboarding", Subject: "token:abc"}))
	require.NoError(t, l.Append(Event{Action: ActionDenied, Tenant: "seongnam", Actor: "token:def", Detail: "classify"}))
	require.NoError(t, l.Append(Event{Action: ActionRevoke, Tenant: "suwon", Actor: "admin", Subject: "token:abc"}))

	suwon, err := l.Query("suwon")
	require.NoError(t, err)
	require.Len(t, suwon, 2)
	assert.Equal(t, ActionGrant, suwon[0].Action)
	assert.Equal(t, int64(3), suwon[1].Seq)

	reopened, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, reopened.Append(Event{Action: ActionApprove, Tenant: "yongin", Actor: "kim"}))
	all, err := reopened.Query("")
	require.NoError(t, err)
	assert.Len(t, all, 4)
	assert.NoError(t, reopened.Verify())
}

func TestTamperingIsDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	require.NoError(t, err)
	for _, who := range []string{"a", "b", "c"} {
		require.NoError(t, l.Append(Event{Action: ActionGrant, Tenant: "suwon", Actor: who}))
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)

	edited := strings.Replace(string(raw), `"actor":"b"`, `"actor":"x"`, 1)
	require.NoError(t, os.WriteFile(path, []byte(edited), 0o600))
	assert.ErrorIs(t, l.Verify(), ErrTampered)

	lines := strings.SplitAfter(string(raw), "\n")
	require.NoError(t, os.WriteFile(path, []byte(lines[0]+lines[2]), 0o600))
	_, err = Open(path)
	assert.ErrorIs(t, err, ErrTampered, "a deleted line breaks the chain")
}
