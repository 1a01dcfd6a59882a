// Package tenancy keeps the platform's records of tenants, their storage
// identities, their API tokens and their keys, in the shared metadata database
// (internal/metadb), so every service on every host sees the same records.
// Tokens are stored as SHA-256 hashes only (the plaintext is returned once, when
// the token is issued); S3 secret keys and masking keys are sealed with a key
// that never enters the database (internal/secretbox).
package tenancy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/secretbox"
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

// Store reads and writes the platform's records. It holds no state of its
// own: every call goes to the database, so what one service changes the next
// call of any other service sees.
type Store struct {
	db  *metadb.DB
	box *secretbox.Box
	now func() time.Time
}

// NewStore returns the records kept in db; box seals the secrets among them.
func NewStore(db *metadb.DB, box *secretbox.Box) *Store {
	return &Store{db: db, box: box, now: time.Now}
}

// PutTenant creates or replaces a tenant record, keeping its creation time.
func (s *Store) PutTenant(ctx context.Context, t Tenant) error {
	if err := ValidateTenantID(t.ID); err != nil {
		return err
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	_, err := s.db.Exec(ctx, `INSERT INTO tenants (id, display_name, bucket, s3_access_key, quota_bytes, pii_policy, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, bucket = excluded.bucket,
	s3_access_key = excluded.s3_access_key, quota_bytes = excluded.quota_bytes, pii_policy = excluded.pii_policy`,
		t.ID, t.DisplayName, t.Bucket, t.S3AccessKey, t.QuotaBytes, t.PIIPolicy, metadb.Micros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("put tenant %s: %w", t.ID, err)
	}
	return nil
}

// DeleteTenant removes a tenant record; a missing one is not an error.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM tenants WHERE id = ?", id); err != nil {
		return fmt.Errorf("delete tenant %s: %w", id, err)
	}
	return nil
}

const tenantColumns = "id, display_name, bucket, s3_access_key, quota_bytes, pii_policy, created_at"

func scanTenant(row interface{ Scan(...any) error }) (Tenant, error) {
	var (
		t       Tenant
		created int64
	)
	err := row.Scan(&t.ID, &t.DisplayName, &t.Bucket, &t.S3AccessKey, &t.QuotaBytes, &t.PIIPolicy, &created)
	t.CreatedAt = metadb.FromMicros(created)
	return t, err
}

// Tenant returns one tenant.
func (s *Store) Tenant(ctx context.Context, id string) (Tenant, error) {
	t, err := scanTenant(s.db.QueryRow(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, fmt.Errorf("tenant %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("read tenant %q: %w", id, err)
	}
	return t, nil
}

// Tenants lists tenants sorted by id.
func (s *Store) Tenants(ctx context.Context) ([]Tenant, error) {
	rows, err := s.db.Query(ctx, "SELECT "+tenantColumns+" FROM tenants ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return collect(rows, scanTenant)
}

// SetBucketQuota records a bucket's size limit in bytes (0 removes it). The
// embedded S3 server enforces it; Ceph RGW enforces its own.
func (s *Store) SetBucketQuota(ctx context.Context, bucket string, maxBytes int64) error {
	var err error
	if maxBytes <= 0 {
		_, err = s.db.Exec(ctx, "DELETE FROM bucket_quotas WHERE bucket = ?", bucket)
	} else {
		_, err = s.db.Exec(ctx, `INSERT INTO bucket_quotas (bucket, max_bytes) VALUES (?, ?)
ON CONFLICT (bucket) DO UPDATE SET max_bytes = excluded.max_bytes`, bucket, maxBytes)
	}
	if err != nil {
		return fmt.Errorf("set quota of bucket %s: %w", bucket, err)
	}
	return nil
}

// BucketQuota returns a bucket's size limit, if it has one.
func (s *Store) BucketQuota(ctx context.Context, bucket string) (int64, bool, error) {
	var q int64
	err := s.db.QueryRow(ctx, "SELECT max_bytes FROM bucket_quotas WHERE bucket = ?", bucket).Scan(&q)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("read quota of bucket %s: %w", bucket, err)
	}
	return q, true, nil
}

// EnsureS3Credential returns the owner's credential, creating one with a random
// key pair and the given S3 role when the owner has none. Calling it again, from
// any service, returns the same credential, which keeps provisioning idempotent.
func (s *Store) EnsureS3Credential(ctx context.Context, owner, role string) (S3Credential, error) {
	if cred, err := s.S3CredentialFor(ctx, owner); err == nil || !errors.Is(err, ErrNotFound) {
		return cred, err
	}
	cred, err := newS3Credential(owner, role)
	if err != nil {
		return S3Credential{}, err
	}
	sealed, err := s.sealS3Secret(cred)
	if err != nil {
		return S3Credential{}, err
	}
	// Two services ensuring at once: the owner's uniqueness keeps one row, and
	// the loser reads the winner's.
	_, err = s.db.Exec(ctx, `INSERT INTO s3_credentials (access_key, owner, role, secret_sealed) VALUES (?, ?, ?, ?)
ON CONFLICT (owner) DO NOTHING`, cred.AccessKey, owner, role, sealed)
	if err != nil {
		return S3Credential{}, fmt.Errorf("store s3 credential of %s: %w", owner, err)
	}
	return s.S3CredentialFor(ctx, owner)
}

// ReplaceS3Credential gives the owner a new random key pair in place of the
// one it holds, in one step: the old pair stops working as the new one
// starts.
func (s *Store) ReplaceS3Credential(ctx context.Context, owner, role string) (S3Credential, error) {
	cred, err := newS3Credential(owner, role)
	if err != nil {
		return S3Credential{}, err
	}
	return cred, s.PutS3Credential(ctx, cred)
}

func newS3Credential(owner, role string) (S3Credential, error) {
	access, err := randomString(10, strings.ToUpper)
	if err != nil {
		return S3Credential{}, err
	}
	secret, err := randomString(30, nil)
	if err != nil {
		return S3Credential{}, err
	}
	return S3Credential{AccessKey: "DURE" + access, SecretKey: secret, Owner: owner, Role: role}, nil
}

// PutS3Credential stores a credential with a known key pair (the S3 root
// account, or one an outside S3 server made), replacing the owner's previous one.
func (s *Store) PutS3Credential(ctx context.Context, c S3Credential) error {
	sealed, err := s.sealS3Secret(c)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *metadb.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM s3_credentials WHERE owner = ? OR access_key = ?", c.Owner, c.AccessKey); err != nil {
			return fmt.Errorf("replace s3 credential of %s: %w", c.Owner, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO s3_credentials (access_key, owner, role, secret_sealed) VALUES (?, ?, ?, ?)",
			c.AccessKey, c.Owner, c.Role, sealed); err != nil {
			return fmt.Errorf("store s3 credential of %s: %w", c.Owner, err)
		}
		return nil
	})
}

// s3SecretBinding ties a sealed secret to its access key, so it opens in no other row.
func s3SecretBinding(accessKey string) string { return "s3-secret:" + accessKey }

func (s *Store) sealS3Secret(c S3Credential) (string, error) {
	sealed, err := s.box.Seal([]byte(c.SecretKey), s3SecretBinding(c.AccessKey))
	if err != nil {
		return "", fmt.Errorf("seal s3 secret of %s: %w", c.Owner, err)
	}
	return sealed, nil
}

const credentialColumns = "access_key, owner, role, secret_sealed"

func (s *Store) scanCredential(row interface{ Scan(...any) error }) (S3Credential, error) {
	var (
		c      S3Credential
		sealed string
	)
	if err := row.Scan(&c.AccessKey, &c.Owner, &c.Role, &sealed); err != nil {
		return S3Credential{}, err
	}
	secret, err := s.box.Open(sealed, s3SecretBinding(c.AccessKey))
	if err != nil {
		return S3Credential{}, fmt.Errorf("s3 secret of %s: %w", c.Owner, err)
	}
	c.SecretKey = string(secret)
	return c, nil
}

func (s *Store) oneCredential(ctx context.Context, what, where string, arg any) (S3Credential, error) {
	c, err := s.scanCredential(s.db.QueryRow(ctx, "SELECT "+credentialColumns+" FROM s3_credentials WHERE "+where+" = ?", arg))
	if errors.Is(err, sql.ErrNoRows) {
		return S3Credential{}, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return S3Credential{}, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

// S3CredentialByAccessKey finds a credential by its access key.
func (s *Store) S3CredentialByAccessKey(ctx context.Context, access string) (S3Credential, error) {
	return s.oneCredential(ctx, fmt.Sprintf("s3 access key %q", access), "access_key", access)
}

// S3CredentialFor finds the credential owned by a tenant or service.
func (s *Store) S3CredentialFor(ctx context.Context, owner string) (S3Credential, error) {
	return s.oneCredential(ctx, fmt.Sprintf("s3 credential of %q", owner), "owner", owner)
}

// S3Credentials lists every credential, by access key.
func (s *Store) S3Credentials(ctx context.Context) ([]S3Credential, error) {
	rows, err := s.db.Query(ctx, "SELECT "+credentialColumns+" FROM s3_credentials ORDER BY access_key")
	if err != nil {
		return nil, fmt.Errorf("list s3 credentials: %w", err)
	}
	return collect(rows, s.scanCredential)
}

// DeleteS3CredentialsOf removes the credential the owner holds.
func (s *Store) DeleteS3CredentialsOf(ctx context.Context, owner string) error {
	if _, err := s.db.Exec(ctx, "DELETE FROM s3_credentials WHERE owner = ?", owner); err != nil {
		return fmt.Errorf("delete s3 credential of %s: %w", owner, err)
	}
	return nil
}

const tokenPrefix = "dure_"

// IssueToken creates a token that does not expire; see IssueTokenTTL.
func (s *Store) IssueToken(ctx context.Context, tenant string, role Role) (plaintext string, tok Token, err error) {
	return s.IssueTokenTTL(ctx, tenant, role, 0)
}

// IssueTokenTTL creates a token for a tenant and role, valid for ttl (0: until
// revoked), and returns its plaintext, which is not kept: only its hash is
// stored. Platform roles take no tenant; tenant roles need one.
func (s *Store) IssueTokenTTL(ctx context.Context, tenant string, role Role, ttl time.Duration) (plaintext string, tok Token, err error) {
	err = s.db.InTx(ctx, func(tx *metadb.Tx) error {
		plaintext, tok, err = s.issue(ctx, tx, tenant, role, ttl)
		return err
	})
	return plaintext, tok, err
}

func (s *Store) issue(ctx context.Context, tx *metadb.Tx, tenant string, role Role, ttl time.Duration) (string, Token, error) {
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
	// Stored times are exact to the microsecond; the returned record matches them.
	tok := Token{ID: id, Tenant: tenant, Role: role, Hash: hashSecret(secret), CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	if ttl > 0 {
		expires := tok.CreatedAt.Add(ttl)
		tok.ExpiresAt = &expires
	}
	_, err = tx.Exec(ctx, "INSERT INTO api_tokens (id, tenant, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		tok.ID, tok.Tenant, string(tok.Role), tok.Hash, metadb.Micros(tok.CreatedAt), metadb.NullMicros(tok.ExpiresAt))
	if err != nil {
		return "", Token{}, fmt.Errorf("store token: %w", err)
	}
	return tokenPrefix + id + "_" + secret, tok, nil
}

const tokenColumns = "id, tenant, role, hash, created_at, expires_at, revoked_at"

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var (
		t                Token
		role             string
		created          int64
		expires, revoked sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.Tenant, &role, &t.Hash, &created, &expires, &revoked); err != nil {
		return Token{}, err
	}
	t.Role, t.CreatedAt = Role(role), metadb.FromMicros(created)
	t.ExpiresAt, t.RevokedAt = metadb.FromNullMicros(expires), metadb.FromNullMicros(revoked)
	return t, nil
}

// Token returns one token's record.
func (s *Store) Token(ctx context.Context, id string) (Token, error) {
	t, err := scanToken(s.db.QueryRow(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("read token %q: %w", id, err)
	}
	return t, nil
}

// Authenticate resolves a presented token to its stored record. Any failure
// of the token returns ErrUnauthenticated, so callers cannot tell a wrong
// secret from an unknown id; a failing database returns its own error.
func (s *Store) Authenticate(ctx context.Context, plaintext string) (Token, error) {
	rest, ok := strings.CutPrefix(plaintext, tokenPrefix)
	if !ok {
		return Token{}, ErrUnauthenticated
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) > 64 {
		return Token{}, ErrUnauthenticated
	}
	tok, err := s.Token(ctx, id)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Token{}, err
	}
	want := tok.Hash
	if !found {
		want = hashSecret("") // keep the comparison's cost the same for unknown ids
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(want)) != 1 || !found || !tok.Live(s.now()) {
		return Token{}, ErrUnauthenticated
	}
	return tok, nil
}

// ErrRevoked means a token was revoked already.
var ErrRevoked = errors.New("token already revoked")

// RevokeToken marks a token revoked; it fails authentication from then on.
// Revoking a revoked token changes nothing and is not an error.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *metadb.Tx) error {
		err := s.revoke(ctx, tx, id)
		if errors.Is(err, ErrRevoked) {
			return nil
		}
		return err
	})
}

// revoke revokes a live token, and says ErrRevoked when it was not live.
func (s *Store) revoke(ctx context.Context, tx *metadb.Tx, id string) error {
	res, err := tx.Exec(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", metadb.Micros(s.now()), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var exists int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM api_tokens WHERE id = ?", id).Scan(&exists); err != nil {
		return err
	}
	if exists == 0 {
		return fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	return fmt.Errorf("token %q: %w", id, ErrRevoked)
}

// RotateToken issues a new token with the same tenant, role and lifetime and
// revokes the old one, in one transaction: of two rotations racing on one
// token, exactly one succeeds and the other gets ErrRevoked, so a rotation
// never leaves two live successors.
func (s *Store) RotateToken(ctx context.Context, id string) (plaintext string, tok Token, err error) {
	err = s.db.InTx(ctx, func(tx *metadb.Tx) error {
		old, err := scanToken(tx.QueryRow(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := s.revoke(ctx, tx, id); err != nil {
			return err
		}
		var ttl time.Duration
		if old.ExpiresAt != nil {
			ttl = old.ExpiresAt.Sub(old.CreatedAt)
		}
		plaintext, tok, err = s.issue(ctx, tx, old.Tenant, old.Role, ttl)
		return err
	})
	if err != nil {
		return "", Token{}, err
	}
	return plaintext, tok, nil
}

// Tokens lists the tokens of one tenant (all tenants when tenant is empty),
// oldest first.
func (s *Store) Tokens(ctx context.Context, tenant string) ([]Token, error) {
	q, args := "SELECT "+tokenColumns+" FROM api_tokens ORDER BY created_at, id", []any{}
	if tenant != "" {
		q, args = "SELECT "+tokenColumns+" FROM api_tokens WHERE tenant = ? ORDER BY created_at, id", []any{tenant}
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return collect(rows, scanToken)
}

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
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
