package codec

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/dure-platform/dure/internal/secretbox"
)

func testCodec(t *testing.T, fill byte) *AESGCM {
	t.Helper()
	c, err := New(bytes.Repeat([]byte{fill}, secretbox.KeySize))
	require.NoError(t, err)
	return c
}

func TestRoundTripHidesPlaintext(t *testing.T) {
	dc := testCodec(t, 1).DataConverter()
	secret := map[string]string{"title": "수원시 민원 010-1234-5678"}
	payload, err := dc.ToPayload(secret)
	require.NoError(t, err)
	assert.NotContains(t, string(payload.GetData()), "010-1234-5678")
	assert.Equal(t, encodingEncrypted, string(payload.GetMetadata()[metadataEncoding]))

	var back map[string]string
	require.NoError(t, dc.FromPayload(payload, &back))
	assert.Equal(t, secret, back)
}

func TestDecodeRejectsOtherKeyAndTampering(t *testing.T) {
	a, b := testCodec(t, 1), testCodec(t, 2)
	p, err := converter.GetDefaultDataConverter().ToPayload("x")
	require.NoError(t, err)
	enc, err := a.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)

	_, err = b.Decode(enc)
	assert.ErrorContains(t, err, "encrypted with key")

	enc[0].Data[len(enc[0].Data)-1] ^= 0xff
	_, err = a.Decode(enc)
	assert.ErrorContains(t, err, "decrypt")
}

func TestNewRejectsShortKey(t *testing.T) {
	_, err := New([]byte("short"))
	assert.Error(t, err)
}

func TestLoadOrCreateKeyIsStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "codec.key")
	k1, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	k2, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	assert.Equal(t, k1, k2)
	assert.Len(t, k1, secretbox.KeySize)
}

func TestHandlerCORS(t *testing.T) {
	h := testCodec(t, 1).Handler(EndpointOptions{Origins: []string{"http://127.0.0.1:8233"}})
	tests := []struct {
		origin string
		want   int
	}{
		{"http://127.0.0.1:8233", http.StatusNoContent},
		{"http://evil.example", http.StatusForbidden},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodOptions, "/codec/decode", strings.NewReader(""))
		req.Header.Set("Origin", tt.origin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, tt.want, rec.Code, tt.origin)
	}
}

// A 300 MB POST once grew the process by 600 MB: bodies are capped, whether
// their length is declared or not.
func TestHandlerCapsBodies(t *testing.T) {
	h := testCodec(t, 1).Handler(EndpointOptions{})
	big := strings.Repeat("x", MaxCodecBody+1)

	req := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader(big))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, "declared length")

	req = httptest.NewRequest(http.MethodPost, "/decode", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.GreaterOrEqual(t, rec.Code, 400, "undeclared length is cut at the cap")
}

// The endpoint once encrypted and decrypted for anyone who reached it: with
// an authenticator, a request without an accepted credential gets nothing.
func TestHandlerRequiresACredential(t *testing.T) {
	c := testCodec(t, 1)
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"k"`)}})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	h := c.Handler(EndpointOptions{Authenticate: func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer good" {
			return errors.New("not an operator")
		}
		return nil
	}})
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer bad", http.StatusUnauthorized},
		{"Bearer good", http.StatusOK},
	} {
		for _, path := range []string{"/decode", "/encode"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code, "%s with %q", path, tc.auth)
			if tc.want != http.StatusOK {
				assert.NotContains(t, rec.Body.String(), `"k"`)
			}
		}
	}
}

// Decode passed unencrypted payloads through, so a client without the key
// wrote plaintext into history unnoticed; production refuses them.
func TestHandlerRefusesPlaintextWhenEncryptionIsRequired(t *testing.T) {
	c := testCodec(t, 1)
	plain := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"in clear"`)}}}
	body, err := protojson.Marshal(plain)
	require.NoError(t, err)
	for _, tc := range []struct {
		require bool
		want    int
	}{{false, http.StatusOK}, {true, http.StatusBadRequest}} {
		req := httptest.NewRequest(http.MethodPost, "/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		c.Handler(EndpointOptions{RequireEncrypted: tc.require}).ServeHTTP(rec, req)
		assert.Equal(t, tc.want, rec.Code, "require encrypted: %v", tc.require)
	}
}
