package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/dure-platform/dure/activities/cephadmin"
	"github.com/dure-platform/dure/internal/tenancy"
)

// CephProvisioner gives each tenant, on Ceph, its own RADOS pool, a placement
// target tagged for it alone, and an RGW user placed there with user and bucket
// quotas (activities/cephadmin). The credential is kept in the platform's
// records, from which the storage activities sign as the tenant.
type CephProvisioner struct {
	Tenants *cephadmin.TenantStorage
	Store   *tenancy.Store
	// Keys rotates RGW users' keys (cephadmin.AdminOps).
	Keys KeyRotator
}

// KeyRotator replaces an RGW user's S3 key and takes bucket creation away
// from it (cephadmin.AdminOps).
type KeyRotator interface {
	RotateKey(ctx context.Context, uid, oldAccessKey string) (cephadmin.Credential, error)
	DisableBucketCreation(ctx context.Context, uid string) error
}

// DisableBucketCreation sets the tenant's RGW user's max-buckets to -1.
func (p CephProvisioner) DisableBucketCreation(ctx context.Context, tenantID string) error {
	if p.Keys == nil {
		return errors.New("no user administrator configured")
	}
	return p.Keys.DisableBucketCreation(ctx, tenantID)
}

// RotateKey gives the tenant's RGW user a new key, removes the old one, and
// records the new pair.
func (p CephProvisioner) RotateKey(ctx context.Context, tenantID string) (tenancy.S3Credential, error) {
	old, err := p.Store.S3CredentialFor(ctx, tenantID)
	if err != nil {
		return tenancy.S3Credential{}, err
	}
	if p.Keys == nil {
		return tenancy.S3Credential{}, errors.New("no key rotator configured")
	}
	fresh, err := p.Keys.RotateKey(ctx, tenantID, old.AccessKey)
	if fresh.AccessKey != "" {
		// Even when the old key could not be removed, the new one is the
		// tenant's from now on.
		cred := tenancy.S3Credential{AccessKey: fresh.AccessKey, SecretKey: fresh.SecretKey, Owner: tenantID, Role: S3RoleCephUser}
		if perr := p.Store.PutS3Credential(ctx, cred); perr != nil {
			return tenancy.S3Credential{}, errors.Join(err, perr)
		}
		return cred, err
	}
	return tenancy.S3Credential{}, err
}

// S3RoleCephUser marks credentials that RGW, not the platform, authenticates.
const S3RoleCephUser = "rgw-user"

// EnsureUser provisions (or finds) the tenant's pool, placement and user.
func (p CephProvisioner) EnsureUser(ctx context.Context, tenantID string, quotaBytes int64) (tenancy.S3Credential, bool, error) {
	prov, err := p.Tenants.Onboard(ctx, cephadmin.TenantSpec{ID: tenantID, DisplayName: tenantID, QuotaBytes: quotaBytes})
	if err != nil {
		// Undo what this attempt created, so a retry starts clean and nothing is left behind.
		if cerr := p.Tenants.Compensate(ctx, prov); cerr != nil {
			return tenancy.S3Credential{}, false, fmt.Errorf("onboard %s on ceph: %w (and compensation failed: %v)", tenantID, err, cerr)
		}
		return tenancy.S3Credential{}, false, fmt.Errorf("onboard %s on ceph: %w", tenantID, err)
	}
	cred := tenancy.S3Credential{AccessKey: prov.Credential.AccessKey, SecretKey: prov.Credential.SecretKey, Owner: tenantID, Role: S3RoleCephUser}
	if err := p.Store.PutS3Credential(ctx, cred); err != nil {
		return tenancy.S3Credential{}, false, err
	}
	return cred, prov.CreatedUser, nil
}

// DeleteUser removes the tenant's user (with its data), placement and pools.
func (p CephProvisioner) DeleteUser(ctx context.Context, tenantID string) error {
	if _, err := p.Tenants.RemoveTenant(ctx, tenantID); err != nil {
		return fmt.Errorf("remove %s from ceph: %w", tenantID, err)
	}
	return p.Store.DeleteS3CredentialsOf(ctx, tenantID)
}

// RGWPrincipal names an RGW user in a bucket policy: RGW matches principals by
// user ARN, where the embedded S3 server matches access keys.
func RGWPrincipal(uid string) string { return "arn:aws:iam:::user/" + uid }
