package tenancy

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/secretbox"
)

// KeyPurposeMasking names the key the quality gate derives a tenant's
// pseudonyms from (internal/pii).
const KeyPurposeMasking = "masking"

// TenantKey returns a tenant's 32-byte key for a purpose, making a random one
// on first use. Every service that asks gets the same key, so one person maps
// to one pseudonym within a tenant on every quality-gate host.
func (s *Store) TenantKey(ctx context.Context, tenant, purpose string) ([]byte, error) {
	binding := "tenant-key:" + tenant + ":" + purpose
	read := func() ([]byte, error) {
		var sealed string
		err := s.db.QueryRow(ctx, "SELECT key_sealed FROM tenant_keys WHERE tenant = ? AND purpose = ?", tenant, purpose).Scan(&sealed)
		if err != nil {
			return nil, err
		}
		key, err := s.box.Open(sealed, binding)
		if err != nil {
			return nil, fmt.Errorf("%s key of %s: %w", purpose, tenant, err)
		}
		return key, nil
	}
	key, err := read()
	if !errors.Is(err, sql.ErrNoRows) {
		return key, err
	}
	key = make([]byte, secretbox.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	sealed, err := s.box.Seal(key, binding)
	if err != nil {
		return nil, err
	}
	// Two services making the first key at once: one row wins, both read it.
	_, err = s.db.Exec(ctx, `INSERT INTO tenant_keys (tenant, purpose, key_sealed, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (tenant, purpose) DO NOTHING`, tenant, purpose, sealed, metadb.Micros(s.now()))
	if err != nil {
		return nil, fmt.Errorf("store %s key of %s: %w", purpose, tenant, err)
	}
	return read()
}
