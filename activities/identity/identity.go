// Package identity issues and revokes tenants' API tokens and keeps the tenant
// records. A token's plaintext is written once to a file only its owner can read;
// it never enters workflow history or logs.
package identity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/dure-platform/dure/internal/audit"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// Activities holds the tenant store and where new tokens are written.
type Activities struct {
	Store    *tenancy.Store
	TokenDir string
	Audit    *audit.Log
}

// TokenFile is where the plaintext of a tenant's token of a role is written.
func TokenFile(dir, tenantID, role string) string {
	return filepath.Join(dir, tenantID+"."+role+".token")
}

// IssueTenantToken issues a token unless the tenant's token file of that role
// still holds a live token of the tenant and role, which keeps onboarding
// idempotent. A file holding a rotated, revoked or expired token is replaced.
func (a *Activities) IssueTenantToken(ctx context.Context, in workflows.IssueTokenInput) (workflows.IssuedToken, error) {
	role := tenancy.Role(in.Role)
	path := TokenFile(a.TokenDir, in.TenantID, in.Role)
	held, err := a.fileToken(ctx, path)
	if err != nil {
		return workflows.IssuedToken{}, err
	}
	if held != nil && held.Tenant == in.TenantID && held.Role == role {
		return workflows.IssuedToken{Role: in.Role, TokenID: held.ID, TokenFile: path}, nil
	}
	plain, tok, err := a.Store.IssueToken(ctx, in.TenantID, role)
	if err != nil {
		return workflows.IssuedToken{}, fmt.Errorf("issue token: %w", err)
	}
	if err := os.MkdirAll(a.TokenDir, 0o700); err != nil {
		return workflows.IssuedToken{}, fmt.Errorf("token dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(plain+"\n"), 0o600); err != nil {
		_ = a.Store.RevokeToken(ctx, tok.ID)
		return workflows.IssuedToken{}, fmt.Errorf("write token file: %w", err)
	}
	if err := a.Audit.Append(ctx, audit.Event{Action: audit.ActionGrant, Tenant: in.TenantID, Actor: actor(ctx),
		Subject: "token:" + tok.ID, Detail: "role " + in.Role}); err != nil {
		return workflows.IssuedToken{}, err
	}
	activity.GetLogger(ctx).Info("api token issued", "tenant", in.TenantID, "role", in.Role, "token_id", tok.ID)
	return workflows.IssuedToken{Role: in.Role, TokenID: tok.ID, TokenFile: path, Created: true}, nil
}

// fileToken returns the live token a token file holds, or nil when the file
// is absent or its token no longer authenticates.
func (a *Activities) fileToken(ctx context.Context, path string) (*tenancy.Token, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	tok, err := a.Store.Authenticate(ctx, strings.TrimSpace(string(raw)))
	if errors.Is(err, tenancy.ErrUnauthenticated) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &tok, nil
}

// PruneTokenFiles removes the token files whose token no longer
// authenticates (rotated, revoked or expired), so no file keeps a token that
// was replaced. The control plane runs it at start.
func (a *Activities) PruneTokenFiles(ctx context.Context) (int, error) {
	files, err := filepath.Glob(filepath.Join(a.TokenDir, "*.token"))
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, f := range files {
		tok, err := a.fileToken(ctx, f)
		if err != nil {
			return removed, err
		}
		if tok != nil {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// RevokeToken revokes one token (compensation, offboarding, rotation).
func (a *Activities) RevokeToken(ctx context.Context, tokenID string) error {
	var tenant string
	if tok, err := a.Store.Token(ctx, tokenID); err == nil {
		tenant = tok.Tenant
	}
	if err := a.Store.RevokeToken(ctx, tokenID); err != nil {
		return fmt.Errorf("revoke token %s: %w", tokenID, err)
	}
	if err := a.Audit.Append(ctx, audit.Event{Action: audit.ActionRevoke, Tenant: tenant, Actor: actor(ctx), Subject: "token:" + tokenID}); err != nil {
		return err
	}
	activity.GetLogger(ctx).Info("api token revoked", "token_id", tokenID)
	return nil
}

// RevokeTenantTokens revokes every live token of a tenant and removes the token
// files, returning how many were revoked.
func (a *Activities) RevokeTenantTokens(ctx context.Context, tenantID string) (int, error) {
	toks, err := a.Store.Tokens(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range toks {
		if t.RevokedAt != nil {
			continue
		}
		if err := a.RevokeToken(ctx, t.ID); err != nil {
			return n, err
		}
		n++
	}
	for _, role := range workflows.TenantRoles {
		if err := os.Remove(TokenFile(a.TokenDir, tenantID, role)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, err
		}
	}
	return n, nil
}

// DeleteTenantRecord removes the tenant record (offboarding's last step).
func (a *Activities) DeleteTenantRecord(ctx context.Context, tenantID string) error {
	if _, err := a.Store.Tenant(ctx, tenantID); errors.Is(err, tenancy.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := a.Store.DeleteTenant(ctx, tenantID); err != nil {
		return err
	}
	return a.Audit.Append(ctx, audit.Event{Action: audit.ActionTenantGone, Tenant: tenantID, Actor: actor(ctx)})
}

// RecordTenant writes the tenant record that makes the tenant visible.
func (a *Activities) RecordTenant(ctx context.Context, in workflows.RecordTenantInput) error {
	_, err := a.Store.Tenant(ctx, in.TenantID)
	existed := err == nil
	err = a.Store.PutTenant(ctx, tenancy.Tenant{
		ID: in.TenantID, DisplayName: in.DisplayName, Bucket: in.Bucket,
		S3AccessKey: in.AccessKey, QuotaBytes: in.QuotaBytes, PIIPolicy: in.PIIPolicy,
	})
	if err != nil || existed {
		return err
	}
	return a.Audit.Append(ctx, audit.Event{Action: audit.ActionTenantAdded, Tenant: in.TenantID, Actor: actor(ctx),
		Detail: fmt.Sprintf("bucket %s, quota %d bytes", in.Bucket, in.QuotaBytes)})
}

// actor names the workflow on whose behalf an activity acts.
func actor(ctx context.Context) string {
	info := activity.GetInfo(ctx)
	return "workflow:" + info.WorkflowType.Name + "/" + info.WorkflowExecution.ID
}

// AuditDecision records an ingestion decision in the audit log.
func (a *Activities) AuditDecision(ctx context.Context, d workflows.DecisionAudit) error {
	action := map[string]string{workflows.DecisionApproved: audit.ActionApprove, workflows.DecisionRejected: audit.ActionReject}[d.Decision]
	if action == "" {
		action = d.Decision
	}
	who := d.Operator
	if who == "" {
		who = actor(ctx)
	}
	return a.Audit.Append(ctx, audit.Event{Action: action, Tenant: d.TenantID, Actor: who, Subject: "workflow:" + d.WorkflowID,
		Detail: fmt.Sprintf("%d records; %s", d.Records, d.Reason)})
}
