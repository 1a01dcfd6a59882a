package cephadmin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLocationConstraint(t *testing.T) {
	f := newFakeCeph()
	f.zgTargets["platform-staging"] = []string{"platform-staging"}
	c := newTestCluster(t, f, nil)
	got, err := c.LocationConstraint(t.Context(), "platform-staging")
	if err != nil || got != "default:platform-staging" {
		t.Errorf("constraint = %q err %v", got, err)
	}
	if _, err := c.LocationConstraint(t.Context(), "platform-nowhere"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown placement: %v, want ErrInvalidArgument", err)
	}
}

func TestRGWBucketsMakeBucket(t *testing.T) {
	owner := Credential{AccessKey: "GATEACCESSKEY", SecretKey: tenantSecret}
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr error
	}{
		{"created", http.StatusOK, "", nil},
		{"already the owner's", http.StatusConflict, `<Error><Code>BucketAlreadyOwnedByYou</Code></Error>`, nil},
		{"placement tag missing", http.StatusForbidden, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><RequestId>tx1</RequestId></Error>`, ErrAccessDenied},
		{"unknown placement", http.StatusBadRequest, `<Error><Code>InvalidLocationConstraint</Code></Error>`, ErrInvalidArgument},
		{"someone else's", http.StatusConflict, `<Error><Code>BucketAlreadyExists</Code></Error>`, ErrConflict},
		{"gateway down", http.StatusServiceUnavailable, ``, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				seen = r.Method + " " + r.URL.Path + " " + string(body)
				if err := verifySigV4Body(r, body, owner.AccessKey, owner.SecretKey); err != nil {
					t.Errorf("signature: %v", err)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			var logs bytes.Buffer
			b, err := NewRGWBuckets(srv.URL, nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if err != nil {
				t.Fatal(err)
			}
			err = b.MakeBucket(t.Context(), owner, "staging", "default:platform-staging")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			want := `PUT /staging <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>default:platform-staging</LocationConstraint></CreateBucketConfiguration>`
			if seen != want {
				t.Errorf("request = %s\nwant %s", seen, want)
			}
			var apiErr *APIError
			if tt.wantErr != nil && errors.As(err, &apiErr) && !strings.HasPrefix(err.Error(), "rgw s3: create bucket staging: ") {
				t.Errorf("error text %q", err)
			}
			if strings.Contains(logs.String()+fmt.Sprint(err), tenantSecret) {
				t.Error("the secret key leaked into the log or the error")
			}
		})
	}
	t.Run("refuses an empty credential", func(t *testing.T) {
		b, _ := NewRGWBuckets("http://127.0.0.1:1", nil, nil)
		if err := b.MakeBucket(t.Context(), Credential{}, "staging", ""); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("err = %v", err)
		}
	})
}
