package uiauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// provider is an identity provider: a key, published as a JWKS, that signs
// access tokens.
type provider struct {
	key     *ecdsa.PrivateKey
	kid     string
	fetches atomic.Int32
	url     string
}

func newProvider(t *testing.T) *provider {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p := &provider{key: key, kid: "k1"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: "ES256", Use: "sig"}}})
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *provider) sign(t *testing.T, key *ecdsa.PrivateKey, claims jwt.Claims, permissions ...string) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	require.NoError(t, err)
	tok, err := jwt.Signed(signer).Claims(claims).Claims(map[string]any{"permissions": permissions}).Serialize()
	require.NoError(t, err)
	return tok
}

func TestVerify(t *testing.T) {
	p := newProvider(t)
	v := NewVerifier(p.url)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	valid := jwt.Claims{Subject: "kim", Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now)}
	expired := jwt.Claims{Subject: "kim", Expiry: jwt.NewNumericDate(now.Add(-time.Hour))}
	forever := jwt.Claims{Subject: "kim"}
	nobody := jwt.Claims{Expiry: jwt.NewNumericDate(now.Add(time.Hour))}

	for _, tc := range []struct {
		name    string
		token   string
		wantErr string
	}{
		{"valid", "Bearer " + p.sign(t, p.key, valid, "default:write"), ""},
		{"signed by another key", p.sign(t, other, valid, "default:write"), "error in cryptographic primitive"},
		{"expired", p.sign(t, p.key, expired, "default:write"), "expired"},
		{"without an expiry", p.sign(t, p.key, forever, "default:write"), "never expires"},
		{"without a subject", p.sign(t, p.key, nobody, "default:write"), "no subject"},
		{"not a token", "Bearer operator", "access token"},
		{"empty", "", "no access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, err := v.Verify(context.Background(), tc.token)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "kim", user.Subject)
			assert.True(t, user.Operates("default"))
			assert.False(t, user.Operates("other"))
		})
	}
	assert.Equal(t, int32(1), p.fetches.Load(), "the keys are fetched once, not for every token")
}

func TestPermissions(t *testing.T) {
	p := newProvider(t)
	v := NewVerifier(p.url)
	claims := jwt.Claims{Subject: "lee", Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}
	user, err := v.Verify(context.Background(), p.sign(t, p.key, claims, "default:read", "ops:admin", "junk"))
	require.NoError(t, err)
	assert.False(t, user.Operates("default"), "a reader does not operate")
	assert.True(t, user.Can("default", "read"))
	assert.True(t, user.Operates("ops"))
}
