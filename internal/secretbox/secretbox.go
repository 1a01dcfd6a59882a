// Package secretbox seals the secrets the platform keeps in its shared metadata
// database (S3 secret keys, per-tenant masking keys) with AES-256-GCM, under a
// key that comes from a file or the environment and never from the database.
// Whoever reads the database without that key sees ciphertext only.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of every key this package reads or makes.
const KeySize = 32

// sealedPrefix versions the sealed format, so a later format can live beside it.
const sealedPrefix = "v1:"

// ErrOpen means a sealed value could not be opened: a wrong key, a value
// moved to another row, or tampering.
var ErrOpen = errors.New("sealed value does not open with this key")

// Box seals and opens values with one key.
type Box struct {
	aead  cipher.AEAD
	keyID string
}

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	aead, id, err := NewAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, keyID: id}, nil
}

// NewAEAD returns AES-256-GCM for a 32-byte key, and the key's id: a hash
// prefix that names the key without revealing it.
func NewAEAD(key []byte) (cipher.AEAD, string, error) {
	if len(key) != KeySize {
		return nil, "", fmt.Errorf("key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, "", fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, "", fmt.Errorf("gcm: %w", err)
	}
	sum := sha256.Sum256(key)
	return aead, hex.EncodeToString(sum[:4]), nil
}

// KeyID names the key without revealing it (a hash prefix).
func (b *Box) KeyID() string { return b.keyID }

// Seal encrypts plaintext. binding names what the value belongs to (a row's
// key, such as "s3:ACCESSKEY"); Open must be given the same binding, so a
// sealed value copied into another row does not open there.
func (b *Box) Seal(plaintext []byte, binding string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	sealed := b.aead.Seal(nonce, nonce, plaintext, []byte(binding))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value sealed for binding.
func (b *Box) Open(sealed, binding string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: unknown format", ErrOpen)
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return nil, fmt.Errorf("%w: malformed", ErrOpen)
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(binding))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// LoadKey reads a key file holding 32 hex-encoded bytes. Production services
// use it: a missing key is an error, never a reason to make a new one.
func LoadKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	return ParseKey(string(raw))
}

// ParseKey decodes a key given as hex (from a file or an environment variable).
func ParseKey(text string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("a key must be %d hex-encoded bytes", KeySize)
	}
	return key, nil
}

// LoadOrCreateKey reads the key at path, or makes a random one there (mode
// 0600) when the file does not exist: the embedded default's way of having
// keys without asking anyone for them.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := LoadKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return key, nil
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key dir: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write their own key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write key: %w", err)
	}
	return key, f.Close()
}

// DeriveKey makes a key for one purpose from a key of the platform's, so one
// key file serves several purposes without one use revealing another's key.
func DeriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("dure/" + purpose + "/v1"))
	return m.Sum(nil)
}
