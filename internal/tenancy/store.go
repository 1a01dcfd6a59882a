// Package tenancy keeps the platform's records of tenants, their storage
// identities and their API tokens. Tokens are stored as SHA-256 hashes only; the
// plaintext is returned once, when the token is issued.
package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Role is what a token or identity may do.
type Role string

const (
	RolePlatformAdmin  Role = "platform-admin"
	RoleOperator       Role = "operator"
	RoleTenantAdmin    Role = "tenant-admin"
	RoleTenantUploader Role = "tenant-uploader"
	RoleTenantClient   Role = "tenant-client"
)

// Tenant is one municipality.
type Tenant struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Bucket      string `json:"bucket"`
	S3AccessKey string `json:"s3_access_key"`
	QuotaBytes  int64  `json:"quota_bytes"`
	// PIIPolicy names how the quality gate masks this tenant's personal data:
	// tag (default), partial or pseudonym.
	PIIPolicy string    `json:"pii_policy,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// S3Credential is an object-storage identity. Owner is a tenant id or a platform
// service name (e.g. "quality-gate").
type S3Credential struct {
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
	Owner     string `json:"owner"`
	// Role is the S3 server's account role (user, userplus, admin).
	Role string `json:"role"`
}

// String keeps the secret out of logs printed with %v.
func (c S3Credential) String() string {
	return fmt.Sprintf("S3Credential{AccessKey:%s, Owner:%s, Role:%s}", c.AccessKey, c.Owner, c.Role)
}

// Token is the stored form of an API token: its id and the hash of its secret.
type Token struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	Role      Role       `json:"role"`
	Hash      string     `json:"hash"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Live tells whether the token may still be used at now.
func (t Token) Live(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Sentinel errors callers can test with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrInvalidID       = errors.New("invalid tenant id")
)

var tenantIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`)

// ReservedIDs name the platform's own identities; no tenant may take them, or
// its records would be confused with the platform's.
var ReservedIDs = []string{"platform", "quality-gate", "operator", "admin"}

// ValidateTenantID checks that id can name buckets, pools and users everywhere.
func ValidateTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) {
		return fmt.Errorf("%w %q: use 3-32 lowercase letters, digits or '-', starting with a letter", ErrInvalidID, id)
	}
	if slices.Contains(ReservedIDs, id) || strings.HasPrefix(id, "dure") {
		return fmt.Errorf("%w %q: reserved for the platform", ErrInvalidID, id)
	}
	return nil
}

type records struct {
	Tenants       map[string]Tenant       `json:"tenants"`
	BucketQuotas  map[string]int64        `json:"bucket_quotas"`
	VLANs         map[string]int          `json:"vlans,omitempty"`
	GPUQuotas     map[string]int          `json:"gpu_quotas,omitempty"`
	S3Credentials map[string]S3Credential `json:"s3_credentials"`
	Tokens        map[string]Token        `json:"tokens"`
}

// Store is a JSON file of records, rewritten atomically on every change. It suits
// one control-plane process; a deployment with several would put it in a database.
type Store struct {
	path string
	now  func() time.Time
	mu   sync.RWMutex
	data records
}

// Open loads the store at path, creating an empty one if the file is absent.
func Open(path string) (*Store, error) {
	s := &Store{path: path, now: time.Now, data: records{
		Tenants: map[string]Tenant{}, BucketQuotas: map[string]int64{}, S3Credentials: map[string]S3Credential{}, Tokens: map[string]Token{},
	}}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read tenant store: %w", err)
	}
	if err := json.Unmarshal(raw, &s.data); err != nil {
		return nil, fmt.Errorf("parse tenant store %s: %w", path, err)
	}
	if s.data.BucketQuotas == nil {
		s.data.BucketQuotas = map[string]int64{}
	}
	return s, nil
}

func (s *Store) saveLocked() error {
	raw, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return fmt.Errorf("encode tenant store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("create store dir: %w", err)
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("write tenant store: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("replace tenant store: %w", err)
	}
	return nil
}

func (s *Store) update(change func(*records) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := change(&s.data); err != nil {
		return err
	}
	return s.saveLocked()
}

// PutTenant creates or replaces a tenant record.
func (s *Store) PutTenant(t Tenant) error {
	if err := ValidateTenantID(t.ID); err != nil {
		return err
	}
	return s.update(func(r *records) error {
		if old, ok := r.Tenants[t.ID]; ok && !old.CreatedAt.IsZero() {
			t.CreatedAt = old.CreatedAt
		}
		if t.CreatedAt.IsZero() {
			t.CreatedAt = s.now().UTC()
		}
		r.Tenants[t.ID] = t
		return nil
	})
}

// DeleteTenant removes a tenant record; a missing one is not an error.
func (s *Store) DeleteTenant(id string) error {
	return s.update(func(r *records) error {
		delete(r.Tenants, id)
		return nil
	})
}

// Tenant returns one tenant.
func (s *Store) Tenant(id string) (Tenant, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.data.Tenants[id]
	if !ok {
		return Tenant{}, fmt.Errorf("tenant %q: %w", id, ErrNotFound)
	}
	return t, nil
}

// Tenants lists tenants sorted by id.
func (s *Store) Tenants() []Tenant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Tenant, 0, len(s.data.Tenants))
	for _, t := range s.data.Tenants {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Tenant) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// SetBucketQuota records a bucket's size limit in bytes (0 removes it). The
// embedded S3 server enforces it; Ceph RGW enforces its own.
func (s *Store) SetBucketQuota(bucket string, maxBytes int64) error {
	return s.update(func(r *records) error {
		if maxBytes <= 0 {
			delete(r.BucketQuotas, bucket)
		} else {
			r.BucketQuotas[bucket] = maxBytes
		}
		return nil
	})
}

// BucketQuota returns a bucket's size limit, if it has one.
func (s *Store) BucketQuota(bucket string) (int64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	q, ok := s.data.BucketQuotas[bucket]
	return q, ok
}

// EnsureS3Credential returns the owner's credential, creating one with a random
// key pair and the given S3 role when the owner has none. Calling it again returns
// the same credential, which keeps provisioning idempotent.
func (s *Store) EnsureS3Credential(owner, role string) (S3Credential, error) {
	var cred S3Credential
	err := s.update(func(r *records) error {
		for _, c := range r.S3Credentials {
			if c.Owner == owner {
				cred = c
				return nil
			}
		}
		access, err := randomString(10, strings.ToUpper)
		if err != nil {
			return err
		}
		secret, err := randomString(30, nil)
		if err != nil {
			return err
		}
		cred = S3Credential{AccessKey: "DURE" + access, SecretKey: secret, Owner: owner, Role: role}
		r.S3Credentials[cred.AccessKey] = cred
		return nil
	})
	return cred, err
}

// PutS3Credential stores a credential with a known key pair (the S3 root account).
func (s *Store) PutS3Credential(c S3Credential) error {
	return s.update(func(r *records) error {
		r.S3Credentials[c.AccessKey] = c
		return nil
	})
}

// S3CredentialByAccessKey finds a credential by its access key.
func (s *Store) S3CredentialByAccessKey(access string) (S3Credential, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.data.S3Credentials[access]
	if !ok {
		return S3Credential{}, fmt.Errorf("s3 access key %q: %w", access, ErrNotFound)
	}
	return c, nil
}

// S3CredentialFor finds the credential owned by a tenant or service.
func (s *Store) S3CredentialFor(owner string) (S3Credential, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.data.S3Credentials {
		if c.Owner == owner {
			return c, nil
		}
	}
	return S3Credential{}, fmt.Errorf("s3 credential of %q: %w", owner, ErrNotFound)
}

// S3Credentials lists every credential.
func (s *Store) S3Credentials() []S3Credential {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]S3Credential, 0, len(s.data.S3Credentials))
	for _, c := range s.data.S3Credentials {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b S3Credential) int { return strings.Compare(a.AccessKey, b.AccessKey) })
	return out
}

// DeleteS3CredentialsOf removes every credential the owner holds.
func (s *Store) DeleteS3CredentialsOf(owner string) error {
	return s.update(func(r *records) error {
		for k, c := range r.S3Credentials {
			if c.Owner == owner {
				delete(r.S3Credentials, k)
			}
		}
		return nil
	})
}

const tokenPrefix = "dure_"

// IssueToken creates a token that does not expire; see IssueTokenTTL.
func (s *Store) IssueToken(tenant string, role Role) (plaintext string, tok Token, err error) {
	return s.IssueTokenTTL(tenant, role, 0)
}

// IssueTokenTTL creates a token for a tenant and role, valid for ttl (0: until
// revoked), and returns its plaintext, which is not kept: only its hash is
// stored. Platform roles take no tenant; tenant roles need one.
func (s *Store) IssueTokenTTL(tenant string, role Role, ttl time.Duration) (plaintext string, tok Token, err error) {
	if !role.Valid() {
		return "", Token{}, fmt.Errorf("unknown role %q", role)
	}
	if role.PlatformWide() != (tenant == "") {
		return "", Token{}, fmt.Errorf("role %s %s a tenant", role, map[bool]string{true: "takes no", false: "needs"}[role.PlatformWide()])
	}
	id, err := randomString(8, strings.ToLower)
	if err != nil {
		return "", Token{}, err
	}
	secret, err := randomString(32, nil)
	if err != nil {
		return "", Token{}, err
	}
	tok = Token{ID: id, Tenant: tenant, Role: role, Hash: hashSecret(secret), CreatedAt: s.now().UTC()}
	if ttl > 0 {
		expires := tok.CreatedAt.Add(ttl)
		tok.ExpiresAt = &expires
	}
	err = s.update(func(r *records) error {
		r.Tokens[id] = tok
		return nil
	})
	if err != nil {
		return "", Token{}, err
	}
	return tokenPrefix + id + "_" + secret, tok, nil
}

// Authenticate resolves a presented token to its stored record. Any failure
// returns ErrUnauthenticated, so callers cannot tell a wrong secret from an
// unknown id.
func (s *Store) Authenticate(plaintext string) (Token, error) {
	rest, ok := strings.CutPrefix(plaintext, tokenPrefix)
	if !ok {
		return Token{}, ErrUnauthenticated
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok {
		return Token{}, ErrUnauthenticated
	}
	s.mu.RLock()
	tok, found := s.data.Tokens[id]
	s.mu.RUnlock()
	want := tok.Hash
	if !found {
		want = hashSecret("") // keep the comparison's cost the same for unknown ids
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(want)) != 1 || !found || !tok.Live(s.now()) {
		return Token{}, ErrUnauthenticated
	}
	return tok, nil
}

// RevokeToken marks a token revoked; it fails authentication from then on.
func (s *Store) RevokeToken(id string) error {
	return s.update(func(r *records) error {
		tok, ok := r.Tokens[id]
		if !ok {
			return fmt.Errorf("token %q: %w", id, ErrNotFound)
		}
		now := s.now().UTC()
		tok.RevokedAt = &now
		r.Tokens[id] = tok
		return nil
	})
}

// RotateToken issues a new token with the same tenant and role and revokes the
// old one.
func (s *Store) RotateToken(id string) (plaintext string, tok Token, err error) {
	s.mu.RLock()
	old, ok := s.data.Tokens[id]
	s.mu.RUnlock()
	if !ok {
		return "", Token{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	var ttl time.Duration
	if old.ExpiresAt != nil {
		ttl = old.ExpiresAt.Sub(old.CreatedAt)
	}
	plaintext, tok, err = s.IssueTokenTTL(old.Tenant, old.Role, ttl)
	if err != nil {
		return "", Token{}, err
	}
	return plaintext, tok, s.RevokeToken(id)
}

// Tokens lists the tokens of one tenant (all tenants when tenant is empty).
func (s *Store) Tokens(tenant string) []Token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Token
	for _, t := range s.data.Tokens {
		if tenant == "" || t.Tenant == tenant {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomString returns n characters of URL-safe base64 (without '-' and '_', which
// the token format uses as separators), optionally case-folded.
func randomString(n int, fold func(string) string) (string, error) {
	var b strings.Builder
	for b.Len() < n {
		buf := make([]byte, n)
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		for _, r := range base64.RawURLEncoding.EncodeToString(buf) {
			if r != '-' && r != '_' && b.Len() < n {
				b.WriteRune(r)
			}
		}
	}
	if fold != nil {
		return fold(b.String()), nil
	}
	return b.String(), nil
}
