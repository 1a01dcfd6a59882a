package secretbox

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newKey(t *testing.T) []byte {
	key := make([]byte, KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return key
}

func TestSealOpensOnlyWithItsKeyAndBinding(t *testing.T) {
	box, err := New(newKey(t))
	require.NoError(t, err)
	sealed, err := box.Seal([]byte("s3-secret"), "s3-secret:AKIA1")
	require.NoError(t, err)
	assert.NotContains(t, sealed, "s3-secret")
	again, err := box.Seal([]byte("s3-secret"), "s3-secret:AKIA1")
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "a fresh nonce each time")

	plain, err := box.Open(sealed, "s3-secret:AKIA1")
	require.NoError(t, err)
	assert.Equal(t, "s3-secret", string(plain))

	_, err = box.Open(sealed, "s3-secret:AKIA2")
	assert.ErrorIs(t, err, ErrOpen, "a value moved to another row does not open")
	other, err := New(newKey(t))
	require.NoError(t, err)
	_, err = other.Open(sealed, "s3-secret:AKIA1")
	assert.ErrorIs(t, err, ErrOpen, "another key does not open it")
	for _, bad := range []string{"", "v1:", "v1:!!!", "v2:" + strings.TrimPrefix(sealed, "v1:"), sealed[:len(sealed)-2]} {
		_, err := box.Open(bad, "s3-secret:AKIA1")
		assert.ErrorIs(t, err, ErrOpen, "%q", bad)
	}
	_, err = New([]byte("short"))
	assert.Error(t, err)
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "state.key")
	_, err := LoadKey(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "production never makes a key")

	made, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	loaded, err := LoadKey(path)
	require.NoError(t, err)
	assert.Equal(t, made, loaded)
	again, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	assert.Equal(t, made, again, "an existing key is kept")

	require.NoError(t, os.WriteFile(path, []byte("not hex\n"), 0o600))
	_, err = LoadKey(path)
	assert.Error(t, err)
	_, err = LoadOrCreateKey(path)
	assert.Error(t, err, "a damaged key file is an error, never replaced")
}
