// Package codec encrypts every Temporal payload with AES-256-GCM, so that workflow
// history holds ciphertext only, and serves the codec endpoint the Web UI uses to
// show decrypted payloads to operators who hold the key.
package codec

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/dure-platform/dure/internal/secretbox"
)

const (
	metadataEncoding = "encoding"
	metadataKeyID    = "encryption-key-id"
	// encodingEncrypted marks payloads this codec produced.
	encodingEncrypted = "binary/encrypted"
)

// AESGCM is a converter.PayloadCodec. The key id (a hash prefix of the key, never
// the key) travels with each payload so a rotated key is recognised.
type AESGCM struct {
	aead  cipher.AEAD
	keyID string
}

var _ converter.PayloadCodec = (*AESGCM)(nil)

// New returns a codec for a 32-byte key.
func New(key []byte) (*AESGCM, error) {
	aead, id, err := secretbox.NewAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	return &AESGCM{aead: aead, keyID: id}, nil
}

// KeyID names the key without revealing it.
func (c *AESGCM) KeyID() string { return c.keyID }

// Encode encrypts each payload (metadata and data together).
func (c *AESGCM) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("marshal payload: %w", err)
		}
		nonce := make([]byte, c.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				metadataEncoding: []byte(encodingEncrypted),
				metadataKeyID:    []byte(c.keyID),
			},
			Data: c.aead.Seal(nonce, nonce, plain, nil),
		}
	}
	return out, nil
}

// Decode decrypts payloads this codec encrypted and passes others through.
func (c *AESGCM) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metadataEncoding]) != encodingEncrypted {
			out[i] = p
			continue
		}
		if id := string(p.GetMetadata()[metadataKeyID]); id != c.keyID {
			return nil, fmt.Errorf("payload encrypted with key %q, this codec holds key %q", id, c.keyID)
		}
		data := p.GetData()
		if len(data) < c.aead.NonceSize() {
			return nil, errors.New("encrypted payload too short")
		}
		plain, err := c.aead.Open(nil, data[:c.aead.NonceSize()], data[c.aead.NonceSize():], nil)
		if err != nil {
			return nil, fmt.Errorf("decrypt payload: %w", err)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("unmarshal payload: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter wraps the default converter with this codec.
func (c *AESGCM) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter also encrypts error messages and stack traces, which would
// otherwise reach workflow history in clear.
func (c *AESGCM) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})
}

// MaxCodecBody bounds one request to the codec endpoint.
const MaxCodecBody = 4 << 20

// EndpointOptions say who may call the codec endpoint, and what it decodes.
type EndpointOptions struct {
	// Origins are the Web UI origins whose pages may call the endpoint from
	// a browser.
	Origins []string
	// Authenticate, when set, must accept a request's credential (the
	// Authorization header) before anything is encoded or decoded: without
	// it the endpoint would encrypt and decrypt for anyone who reaches it.
	Authenticate func(*http.Request) error
	// RequireEncrypted makes decode refuse payloads this codec did not
	// encrypt, which a client without the key wrote into history in clear.
	RequireEncrypted bool
}

// Handler serves POST {prefix}/encode and {prefix}/decode for the Web UI, with the
// CORS headers a browser needs to call it from the UI's origin.
func (c *AESGCM) Handler(opts EndpointOptions) http.Handler {
	var codec converter.PayloadCodec = c
	if opts.RequireEncrypted {
		codec = encryptedOnly{c}
	}
	inner := converter.NewPayloadCodecHTTPHandler(codec)
	allowed := map[string]bool{}
	for _, o := range opts.Origins {
		allowed[strings.TrimRight(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			if !allowed[origin] {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type,X-Namespace,Authorization")
			w.Header().Set("Access-Control-Allow-Methods", "POST,OPTIONS")
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if opts.Authenticate != nil {
			if err := opts.Authenticate(r); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dure codec"`)
				http.Error(w, "an operator credential is required: "+err.Error(), http.StatusUnauthorized)
				return
			}
		}
		// The UI sends a history's payloads, small by design (keys and
		// counts); a larger body is refused before it is read.
		if r.ContentLength > MaxCodecBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxCodecBody)
		inner.ServeHTTP(w, r)
	})
}

// encryptedOnly decodes only what the codec encrypted.
type encryptedOnly struct{ *AESGCM }

func (e encryptedOnly) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	for _, p := range payloads {
		if string(p.GetMetadata()[metadataEncoding]) != encodingEncrypted {
			return nil, errors.New("payload is not encrypted: a client without the payload key wrote it")
		}
	}
	return e.AESGCM.Decode(payloads)
}

// LoadOrCreateKey reads a hex key from path, creating a new random one (mode 0600)
// when the file does not exist yet. The dev stack keeps its key in the data dir.
func LoadOrCreateKey(path string) ([]byte, error) {
	return secretbox.LoadOrCreateKey(path)
}
