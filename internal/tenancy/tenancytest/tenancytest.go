// Package tenancytest gives tests a tenant store of their own, on a SQLite
// metadata database in the test's temporary directory.
package tenancytest

import (
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/metadb/metadbtest"
	"github.com/dure-platform/dure/internal/secretbox"
	"github.com/dure-platform/dure/internal/tenancy"
)

// NewStore returns an empty store that lives as long as the test.
func NewStore(t *testing.T) *tenancy.Store {
	t.Helper()
	key := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db := metadbtest.Open(t, metadb.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "dure.db")})
	return tenancy.NewStore(db, box)
}
