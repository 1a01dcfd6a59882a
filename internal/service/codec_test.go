package service

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/uiauth"
)

// The codec endpoint once decrypted any payload for anyone and encrypted
// anything: on the control plane it answers operators alone, by token or
// by the Web UI login's access token, and decodes only ciphertext.
func TestCodecEndpointAnswersOperatorsOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := config.Config{Namespace: "default", MetadataURL: "sqlite:" + filepath.Join(dir, "meta.db"),
		StateKeyFile: filepath.Join(dir, "state.key"), CodecKeyFile: filepath.Join(dir, "codec.key")}
	b, err := OpenBase(ctx, cfg, slog.New(slog.DiscardHandler), CreateKeys)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Store.PutTenant(ctx, tenancy.Tenant{ID: "suwon", DisplayName: "수원시", Bucket: "tenant-suwon"}))
	token := func(tenant string, role tenancy.Role) string {
		plain, _, err := b.Store.IssueToken(ctx, tenant, role)
		require.NoError(t, err)
		return plain
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k", Algorithm: "ES256", Use: "sig"}}})
	}))
	t.Cleanup(jwks.Close)
	accessToken := func(permission string) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
		require.NoError(t, err)
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{Subject: "kim", Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}).
			Claims(map[string]any{"permissions": []string{permission}}).Serialize()
		require.NoError(t, err)
		return tok
	}

	enc, err := b.Codec.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"k"`)}})
	require.NoError(t, err)
	encrypted, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	plaintext, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"in clear"`)}}})
	require.NoError(t, err)

	endpoint := b.CodecEndpoint(nil, uiauth.NewVerifier(jwks.URL), false)
	post := func(h http.Handler, credential string, body []byte) int {
		req := httptest.NewRequest(http.MethodPost, "/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if credential != "" {
			req.Header.Set("Authorization", "Bearer "+credential)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, tc := range []struct {
		name       string
		credential string
		want       int
	}{
		{"no credential", "", http.StatusUnauthorized},
		{"a made-up token", "operator", http.StatusUnauthorized},
		{"a tenant admin's token", token("suwon", tenancy.RoleTenantAdmin), http.StatusUnauthorized},
		{"a tenant client's token", token("suwon", tenancy.RoleTenantClient), http.StatusUnauthorized},
		{"an operator's token", token("", tenancy.RoleOperator), http.StatusOK},
		{"a platform admin's token", token("", tenancy.RolePlatformAdmin), http.StatusOK},
		{"a UI user who operates the namespace", accessToken("default:write"), http.StatusOK},
		{"a UI user who only reads it", accessToken("default:read"), http.StatusUnauthorized},
		{"a UI user of another namespace", accessToken("other:admin"), http.StatusUnauthorized},
	} {
		assert.Equal(t, tc.want, post(endpoint, tc.credential, encrypted), tc.name)
	}
	assert.Equal(t, http.StatusBadRequest, post(endpoint, token("", tenancy.RoleOperator), plaintext), "plaintext is refused")
	assert.Equal(t, http.StatusOK, post(b.CodecEndpoint(nil, nil, true), "", encrypted), "codec-without-credential")
}
