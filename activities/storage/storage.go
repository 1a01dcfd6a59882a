// Package storage provisions tenants' object storage: an S3 identity per tenant
// and its raw-upload bucket, readable only by the tenant and the quality gate.
package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// IdentityProvisioner creates and removes S3 users. The embedded S3 reads users
// from the platform's records (StoreProvisioner); Ceph RGW gets them through its
// Admin Ops API.
//
// EnsureUser also applies the tenant's storage quota, which S3 servers attach to
// the user or its buckets.
type IdentityProvisioner interface {
	EnsureUser(ctx context.Context, tenantID string, quotaBytes int64) (cred tenancy.S3Credential, created bool, err error)
	DeleteUser(ctx context.Context, tenantID string) error
	// RotateKey gives the tenant a new key pair; the old one stops working.
	RotateKey(ctx context.Context, tenantID string) (tenancy.S3Credential, error)
	// DisableBucketCreation leaves the tenant its bucket and no way to make
	// another, so it cannot squat a name the platform gives a later tenant.
	DisableBucketCreation(ctx context.Context, tenantID string) error
}

// Credentials resolves the S3 credential of a tenant or platform service.
type Credentials interface {
	S3CredentialFor(ctx context.Context, owner string) (tenancy.S3Credential, error)
}

// Activities holds the clients the storage activities use.
type Activities struct {
	Provisioner IdentityProvisioner
	Credentials Credentials
	Endpoint    objstore.Endpoint
	// Platform is the administrative identity, used to empty buckets on removal.
	Platform tenancy.S3Credential
	// QualityGate names the identity granted read access to every tenant bucket,
	// as bucket policies name principals on this S3 server.
	QualityGate string
	// Principal names a tenant in a bucket policy; nil uses its access key (the
	// embedded S3 server), RGWPrincipal suits Ceph RGW.
	Principal func(tenantID string, cred tenancy.S3Credential) string
}

// EnsureStorageIdentity creates the tenant's S3 user unless it exists, and sets
// its quota.
func (a *Activities) EnsureStorageIdentity(ctx context.Context, in workflows.TenantStorageInput) (workflows.StorageIdentity, error) {
	tenantID := in.TenantID
	if err := tenancy.ValidateTenantID(tenantID); err != nil {
		return workflows.StorageIdentity{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrBadInput, err)
	}
	cred, created, err := a.Provisioner.EnsureUser(ctx, tenantID, in.QuotaBytes)
	if err != nil {
		return workflows.StorageIdentity{}, fmt.Errorf("ensure s3 user for %s: %w", tenantID, err)
	}
	activity.GetLogger(ctx).Info("s3 identity ready", "tenant", tenantID, "access_key", cred.AccessKey, "created", created)
	return workflows.StorageIdentity{TenantID: tenantID, AccessKey: cred.AccessKey, Created: created}, nil
}

// DeleteStorageIdentity removes the tenant's S3 user (compensation, offboarding).
func (a *Activities) DeleteStorageIdentity(ctx context.Context, tenantID string) error {
	if err := tenancy.ValidateTenantID(tenantID); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrBadInput, err)
	}
	return a.Provisioner.DeleteUser(ctx, tenantID)
}

// RotateStorageKey replaces the tenant's S3 key pair. Only the new access
// key is returned: the secret stays in the sealed records, where the tenant
// admin fetches it through the gateway.
func (a *Activities) RotateStorageKey(ctx context.Context, tenantID string) (workflows.StorageIdentity, error) {
	if err := tenancy.ValidateTenantID(tenantID); err != nil {
		return workflows.StorageIdentity{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrBadInput, err)
	}
	cred, err := a.Provisioner.RotateKey(ctx, tenantID)
	if errors.Is(err, tenancy.ErrNotFound) {
		return workflows.StorageIdentity{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("tenant %s has no S3 identity", tenantID), workflows.ErrBadInput, err)
	}
	if err != nil {
		return workflows.StorageIdentity{}, fmt.Errorf("rotate s3 key of %s: %w", tenantID, err)
	}
	if a.Principal == nil {
		// This S3 server names principals by access key: the bucket policy
		// must name the new one. The platform sets it, as the old key that
		// owned the bucket is gone.
		platform, err := objstore.Client(a.Endpoint, a.Platform.AccessKey, a.Platform.SecretKey)
		if err != nil {
			return workflows.StorageIdentity{}, err
		}
		if err := a.setTenantPolicy(ctx, platform, tenantID, cred); err != nil {
			return workflows.StorageIdentity{}, err
		}
	}
	activity.GetLogger(ctx).Info("s3 key rotated", "tenant", tenantID, "access_key", cred.AccessKey)
	return workflows.StorageIdentity{TenantID: tenantID, AccessKey: cred.AccessKey}, nil
}

// EnsureTenantBucket creates the tenant's bucket as the tenant itself, so the
// tenant owns it, and lets the quality gate read it.
func (a *Activities) EnsureTenantBucket(ctx context.Context, in workflows.TenantBucketInput) (workflows.TenantBucket, error) {
	bucket := objstore.TenantBucket(in.TenantID)
	cred, err := a.Credentials.S3CredentialFor(ctx, in.TenantID)
	if err != nil {
		return workflows.TenantBucket{}, err
	}
	client, err := objstore.Client(a.Endpoint, cred.AccessKey, cred.SecretKey)
	if err != nil {
		return workflows.TenantBucket{}, err
	}
	exists, err := client.BucketExists(ctx, bucket)
	if objstore.IsAccessDenied(err) {
		// The name is taken, by an identity other than this tenant's.
		return workflows.TenantBucket{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("bucket %s exists and belongs to another identity", bucket), workflows.ErrBadInput, err)
	}
	if err != nil {
		return workflows.TenantBucket{}, fmt.Errorf("check bucket %s: %w", bucket, err)
	}
	if !exists {
		if err := objstore.EnsureBucket(ctx, client, bucket, a.Endpoint.Region); err != nil {
			return workflows.TenantBucket{}, err
		}
	}
	if err := a.setTenantPolicy(ctx, client, in.TenantID, cred); err != nil {
		return workflows.TenantBucket{}, err
	}
	if err := a.Provisioner.DisableBucketCreation(ctx, in.TenantID); err != nil {
		return workflows.TenantBucket{}, fmt.Errorf("disable bucket creation of %s: %w", in.TenantID, err)
	}
	return workflows.TenantBucket{Bucket: bucket, Created: !exists}, nil
}

// setTenantPolicy lets the tenant use its bucket and the quality gate read it.
func (a *Activities) setTenantPolicy(ctx context.Context, client *minio.Client, tenantID string, cred tenancy.S3Credential) error {
	bucket := objstore.TenantBucket(tenantID)
	owner := cred.AccessKey
	if a.Principal != nil {
		owner = a.Principal(tenantID, cred)
	}
	policy, err := tenantBucketPolicy(bucket, owner, a.QualityGate)
	if err != nil {
		return err
	}
	if err := client.SetBucketPolicy(ctx, bucket, policy); err != nil {
		return fmt.Errorf("set policy on %s: %w", bucket, err)
	}
	return nil
}

// DeleteTenantBucket empties and removes the tenant's bucket.
func (a *Activities) DeleteTenantBucket(ctx context.Context, tenantID string) error {
	client, err := objstore.Client(a.Endpoint, a.Platform.AccessKey, a.Platform.SecretKey)
	if err != nil {
		return err
	}
	bucket := objstore.TenantBucket(tenantID)
	for obj := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			if objstore.IsNotFound(obj.Err) {
				return nil
			}
			return fmt.Errorf("list %s: %w", bucket, obj.Err)
		}
		if err := client.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("remove %s/%s: %w", bucket, obj.Key, err)
		}
		activity.RecordHeartbeat(ctx, obj.Key)
	}
	if err := client.RemoveBucket(ctx, bucket); err != nil && !objstore.IsNotFound(err) {
		return fmt.Errorf("remove bucket %s: %w", bucket, err)
	}
	return nil
}

// tenantBucketPolicy gives the tenant full use of its bucket and the quality gate
// list and get. The owner is named too because an S3 server that evaluates a
// bucket policy (versitygw does) consults no ACL once a policy exists.
func tenantBucketPolicy(bucket, tenantKey, qualityGateKey string) (string, error) {
	if qualityGateKey == "" || tenantKey == "" {
		return "", errors.New("no quality-gate identity configured")
	}
	return ReadGrantPolicy(bucket, tenantKey, qualityGateKey)
}

// ReadGrantPolicy is a bucket policy that gives owner full use of bucket and
// reader list and get: how one identity's bucket is opened to another.
func ReadGrantPolicy(bucket, owner, reader string) (string, error) {
	if owner == "" || reader == "" {
		return "", errors.New("bucket policy: owner and reader are required")
	}
	type statement struct {
		Effect    string              `json:"Effect"`
		Principal map[string][]string `json:"Principal"`
		Action    []string            `json:"Action"`
		Resource  []string            `json:"Resource"`
	}
	resources := []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{
		Version: "2012-10-17",
		Statement: []statement{
			{Effect: "Allow", Principal: map[string][]string{"AWS": {owner}}, Action: []string{"s3:*"}, Resource: resources},
			{Effect: "Allow", Principal: map[string][]string{"AWS": {reader}}, Action: []string{"s3:GetObject", "s3:ListBucket"}, Resource: resources},
		},
	}
	raw, err := json.Marshal(doc)
	return string(raw), err
}

// StoreProvisioner keeps S3 users in the platform's records, which the embedded
// S3 server reads for every request.
type StoreProvisioner struct {
	Store *tenancy.Store
}

// Roles of the embedded S3 server (versitygw): a tenant's identity makes its
// own bucket during onboarding ("userplus"), then keeps only "user", which
// makes none.
const (
	S3RoleTenant          = "userplus"
	S3RoleTenantNoBuckets = "user"
)

// EnsureUser returns the tenant's credential, creating it if needed, and
// records the quota of the tenant's bucket, which the embedded S3 enforces.
func (p StoreProvisioner) EnsureUser(ctx context.Context, tenantID string, quotaBytes int64) (tenancy.S3Credential, bool, error) {
	if err := p.Store.SetBucketQuota(ctx, objstore.TenantBucket(tenantID), quotaBytes); err != nil {
		return tenancy.S3Credential{}, false, err
	}
	cred, err := p.Store.S3CredentialFor(ctx, tenantID)
	if err == nil || !errors.Is(err, tenancy.ErrNotFound) {
		return cred, false, err
	}
	cred, err = p.Store.EnsureS3Credential(ctx, tenantID, S3RoleTenant)
	return cred, err == nil, err
}

// RotateKey replaces the tenant's key pair in the records the embedded S3
// reads for every request, so the old pair is refused at once.
func (p StoreProvisioner) RotateKey(ctx context.Context, tenantID string) (tenancy.S3Credential, error) {
	old, err := p.Store.S3CredentialFor(ctx, tenantID)
	if err != nil {
		return tenancy.S3Credential{}, err
	}
	return p.Store.ReplaceS3Credential(ctx, tenantID, old.Role)
}

// DisableBucketCreation gives the tenant's identity the embedded S3's plain
// user role, which creates no buckets.
func (p StoreProvisioner) DisableBucketCreation(ctx context.Context, tenantID string) error {
	cred, err := p.Store.S3CredentialFor(ctx, tenantID)
	if err != nil || cred.Role == S3RoleTenantNoBuckets {
		return err
	}
	cred.Role = S3RoleTenantNoBuckets
	return p.Store.PutS3Credential(ctx, cred)
}

// DeleteUser removes the tenant's credentials (requests signed with them fail
// at once) and its quota record.
func (p StoreProvisioner) DeleteUser(ctx context.Context, tenantID string) error {
	if err := p.Store.DeleteS3CredentialsOf(ctx, tenantID); err != nil {
		return err
	}
	return p.Store.SetBucketQuota(ctx, objstore.TenantBucket(tenantID), 0)
}
