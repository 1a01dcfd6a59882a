// Package uiauth checks the access tokens of the Temporal Web UI's users:
// JWTs from the identity provider the UI logs its users in with, signed
// with keys the provider publishes as a JWKS. The Temporal frontend learns
// from them who the UI acts for, and the codec endpoint whom it decodes for.
//
// Permissions are read as Temporal's own JWT claim mapper reads them: a
// "permissions" claim listing NAMESPACE:ROLE, where ROLE is read, write,
// worker or admin.
package uiauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// User is the holder of a valid access token.
type User struct {
	Subject string
	// Permissions are the user's roles in each namespace.
	Permissions map[string][]string
}

// Can tells whether the user holds role in namespace.
func (u User) Can(namespace, role string) bool {
	for _, r := range u.Permissions[namespace] {
		if r == role {
			return true
		}
	}
	return false
}

// Operates tells whether the user may change the namespace's workflows:
// write or admin, what an operator holds.
func (u User) Operates(namespace string) bool {
	return u.Can(namespace, "write") || u.Can(namespace, "admin")
}

// Verifier checks tokens against the keys at a JWKS URL, fetched when a
// token names a key it has not seen, at most once a refetch interval.
type Verifier struct {
	keysURL string
	client  *http.Client
	refetch time.Duration

	mu      sync.Mutex
	keys    jose.JSONWebKeySet
	fetched time.Time
}

// Algorithms a token may be signed with.
var algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// clockSkew is how far the provider's clock may be from ours.
const clockSkew = time.Minute

// NewVerifier checks tokens signed with the keys published at keysURL.
func NewVerifier(keysURL string) *Verifier {
	return &Verifier{keysURL: keysURL, client: &http.Client{Timeout: 10 * time.Second}, refetch: 30 * time.Second}
}

// Verify returns the user a bearer token (with or without its "Bearer "
// prefix) stands for, or why it stands for no one.
func (v *Verifier) Verify(ctx context.Context, token string) (User, error) {
	token = strings.TrimSpace(token)
	if t, ok := strings.CutPrefix(token, "Bearer "); ok {
		token = strings.TrimSpace(t)
	}
	if token == "" {
		return User{}, errors.New("no access token")
	}
	parsed, err := jwt.ParseSigned(token, algorithms)
	if err != nil {
		return User{}, fmt.Errorf("access token: %w", err)
	}
	kid := ""
	if len(parsed.Headers) > 0 {
		kid = parsed.Headers[0].KeyID
	}
	keys, err := v.keySet(ctx, kid)
	if err != nil {
		return User{}, err
	}
	var (
		claims jwt.Claims
		extra  struct {
			Permissions []string `json:"permissions"`
		}
	)
	if err := parsed.Claims(keys, &claims, &extra); err != nil {
		return User{}, fmt.Errorf("access token: %w", err)
	}
	if claims.Expiry == nil {
		return User{}, errors.New("access token: it never expires")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, clockSkew); err != nil {
		return User{}, fmt.Errorf("access token: %w", err)
	}
	if claims.Subject == "" {
		return User{}, errors.New("access token: it names no subject")
	}
	user := User{Subject: claims.Subject, Permissions: map[string][]string{}}
	for _, p := range extra.Permissions {
		ns, role, ok := strings.Cut(p, ":")
		if ok && ns != "" && role != "" {
			user.Permissions[ns] = append(user.Permissions[ns], strings.ToLower(role))
		}
	}
	return user, nil
}

// keySet returns the provider's keys, fetched again when kid is not among
// them and the last fetch is older than the refetch interval.
func (v *Verifier) keySet(ctx context.Context, kid string) (jose.JSONWebKeySet, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	known := len(v.keys.Key(kid)) > 0 || (kid == "" && len(v.keys.Keys) > 0)
	if known || time.Since(v.fetched) < v.refetch {
		return v.keys, nil
	}
	keys, err := v.fetch(ctx)
	if err != nil {
		return v.keys, err
	}
	v.keys, v.fetched = keys, time.Now()
	return v.keys, nil
}

func (v *Verifier) fetch(ctx context.Context) (jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.keysURL, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("token keys: %w", err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("token keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("token keys: %s answered %s", v.keysURL, resp.Status)
	}
	var keys jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&keys); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("token keys: %w", err)
	}
	return keys, nil
}
