package service

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dure-platform/dure/internal/codec"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/uiauth"
)

// CodecEndpoint is the control plane's payload codec endpoint for the Web
// UI. It encodes and decodes only for an operator: the holder of an
// operator or platform-admin API token, or, with users, a Web UI user who
// operates the namespace (the UI passes the user's access token). It
// decodes only what was encrypted. withoutCredential drops the credential,
// for a Web UI without a login that only loopback reaches.
func (b *Base) CodecEndpoint(origins []string, users *uiauth.Verifier, withoutCredential bool) http.Handler {
	logger := b.Logger.With("component", "codec")
	authenticate := func(r *http.Request) error {
		credential, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if credential = strings.TrimSpace(credential); !ok || credential == "" {
			return errors.New("no bearer credential")
		}
		tok, tokenErr := b.Store.Authenticate(r.Context(), credential)
		if tokenErr == nil {
			if tok.Role.PlatformWide() && tok.Role.Can(tenancy.PermReadWorkflows) {
				return nil
			}
			return fmt.Errorf("a %s token reads no workflow payloads", tok.Role)
		}
		if users == nil {
			return errors.New("not an operator's token")
		}
		user, err := users.Verify(r.Context(), credential)
		if err != nil {
			return errors.New("neither an operator's token nor a valid access token")
		}
		if !user.Operates(b.Config.Namespace) {
			return fmt.Errorf("%s does not operate namespace %s", user.Subject, b.Config.Namespace)
		}
		return nil
	}
	opts := codec.EndpointOptions{
		Origins:          origins,
		RequireEncrypted: true,
		Authenticate: func(r *http.Request) error {
			err := authenticate(r)
			if err != nil {
				logger.Warn("codec request refused", "reason", err, "remote", r.RemoteAddr)
			}
			return err
		},
	}
	if withoutCredential {
		logger.Warn("the codec endpoint asks no credential (codec-without-credential): only loopback must reach it")
		opts.Authenticate = nil
	}
	return b.Codec.Handler(opts)
}
