// Package apiclient is the operator CLI's client of the gateway's API. The CLI
// holds no privilege of its own: every call carries the caller's token and the
// gateway decides.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Client calls the gateway with one token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// TokenFromFile reads a token written by onboarding or rotation.
func TokenFromFile(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// StatusError is a refusal or failure answered by the gateway.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("gateway answered %d: %s", e.Code, e.Message)
}

// Do sends a request with a JSON body (nil for none) and decodes a JSON answer
// into out (nil to discard it).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var (
		rd   io.Reader
		size int64
	)
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd, size = bytes.NewReader(raw), int64(len(raw))
	}
	return c.send(ctx, method, path, "application/json", rd, size, out)
}

// send sends body (size bytes; nil for none) and decodes a JSON answer into
// out (nil to discard it).
func (c *Client) send(ctx context.Context, method, path, contentType string, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
		req.ContentLength = size
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("call gateway: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		return &StatusError{Code: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// Upload is an object stored in a tenant's raw bucket.
type Upload struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

// Upload stores size bytes of body as uploads/NAME in the tenant's bucket.
func (c *Client) Upload(ctx context.Context, tenant, name string, body io.Reader, size int64) (Upload, error) {
	var out Upload
	err := c.send(ctx, http.MethodPut, "/v1/tenants/"+url.PathEscape(tenant)+"/uploads/"+url.PathEscape(name),
		"application/x-ndjson", body, size, &out)
	return out, err
}

// Classification is the gateway's answer to classify.
type Classification struct {
	Department   string  `json:"department"`
	Score        float64 `json:"score"`
	ModelVersion int     `json:"model_version"`
	Replica      string  `json:"replica"`
}

// Classify routes a complaint to a department.
func (c *Client) Classify(ctx context.Context, title, body string) (Classification, error) {
	var out Classification
	err := c.Do(ctx, http.MethodPost, "/v1/classify", map[string]string{"title": title, "body": body}, &out)
	return out, err
}

// Decide approves or rejects an ingested batch.
func (c *Client) Decide(ctx context.Context, tenant, workflowID string, approve bool, reason string) (string, error) {
	if !approve && reason == "" {
		return "", errors.New("a rejection needs a reason")
	}
	var out struct {
		Decision string `json:"decision"`
	}
	err := c.Do(ctx, http.MethodPost, "/v1/tenants/"+url.PathEscape(tenant)+"/workflows/"+url.PathEscape(workflowID)+"/decision",
		map[string]any{"approve": approve, "reason": reason}, &out)
	return out.Decision, err
}

// Token is a token as the gateway lists it; Token holds the plaintext only in
// the answer to a rotation.
type Token struct {
	ID        string     `json:"id"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Token     string     `json:"token,omitempty"`
}

// Tokens lists a tenant's tokens.
func (c *Client) Tokens(ctx context.Context, tenant string) ([]Token, error) {
	var out []Token
	err := c.Do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/tokens", nil, &out)
	return out, err
}

// RotateToken replaces a token; the answer carries the new plaintext once.
func (c *Client) RotateToken(ctx context.Context, tenant, id string) (Token, error) {
	var out Token
	err := c.Do(ctx, http.MethodPost, "/v1/tenants/"+url.PathEscape(tenant)+"/tokens/"+url.PathEscape(id)+"/rotate", nil, &out)
	return out, err
}

// RevokeToken revokes a token.
func (c *Client) RevokeToken(ctx context.Context, tenant, id string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/tenants/"+url.PathEscape(tenant)+"/tokens/"+url.PathEscape(id), nil, nil)
}

// Models lists model versions: all of them (operators) or those trained on a
// tenant's data (tenant admins).
func (c *Client) Models(ctx context.Context, tenant string) ([]map[string]any, error) {
	path := "/v1/models"
	if tenant != "" {
		path = "/v1/tenants/" + url.PathEscape(tenant) + "/models"
	}
	var out []map[string]any
	err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// S3Key is a tenant's S3 key pair and where to use it.
type S3Key struct {
	Endpoint  string `json:"endpoint"`
	Region    string `json:"region"`
	Bucket    string `json:"bucket"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// S3Key fetches the tenant's S3 key pair (tenant-admin).
func (c *Client) S3Key(ctx context.Context, tenant string) (S3Key, error) {
	var out S3Key
	err := c.Do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/s3-credentials", nil, &out)
	return out, err
}

// RotateS3Key replaces the tenant's S3 key pair and returns the new one.
func (c *Client) RotateS3Key(ctx context.Context, tenant string) (S3Key, error) {
	var out S3Key
	err := c.Do(ctx, http.MethodPost, "/v1/tenants/"+url.PathEscape(tenant)+"/s3-credentials/rotate", nil, &out)
	return out, err
}
