package tenancy

import (
	"errors"
	"fmt"
	"slices"
)

// Permission is one thing a role may do.
type Permission string

const (
	PermClassify       Permission = "classify"
	PermUpload         Permission = "upload"
	PermReadUploads    Permission = "read-uploads"
	PermReadDatasets   Permission = "read-datasets"
	PermReadWorkflows  Permission = "read-workflows"
	PermReadModels     Permission = "read-models"
	PermApproveData    Permission = "approve-data"
	PermPromoteModel   Permission = "promote-model"
	PermManageTenants  Permission = "manage-tenants"
	PermManageTokens   Permission = "manage-tokens"
	PermReadAuditTrail Permission = "read-audit"
	// PermManageS3Keys lets a tenant's own admin read and rotate the
	// tenant's S3 key pair; no platform role holds it.
	PermManageS3Keys Permission = "manage-s3-keys"
)

// rolePermissions is the platform's role table. Platform roles act across
// tenants; tenant roles act only within their own tenant.
var rolePermissions = map[Role][]Permission{
	RolePlatformAdmin: {PermManageTenants, PermManageTokens, PermReadUploads, PermReadDatasets, PermReadWorkflows,
		PermReadModels, PermApproveData, PermPromoteModel, PermReadAuditTrail},
	RoleOperator: {PermReadUploads, PermReadDatasets, PermReadWorkflows, PermReadModels, PermApproveData,
		PermPromoteModel, PermReadAuditTrail},
	RoleTenantAdmin: {PermClassify, PermUpload, PermReadUploads, PermReadDatasets, PermReadWorkflows, PermReadModels,
		PermManageTokens, PermReadAuditTrail, PermManageS3Keys},
	RoleTenantUploader: {PermUpload, PermReadUploads, PermReadWorkflows},
	RoleTenantClient:   {PermClassify},
}

// Roles lists every role.
func Roles() []Role {
	return []Role{RolePlatformAdmin, RoleOperator, RoleTenantAdmin, RoleTenantUploader, RoleTenantClient}
}

// Valid tells whether r is a known role.
func (r Role) Valid() bool {
	_, ok := rolePermissions[r]
	return ok
}

// PlatformWide tells whether the role acts across tenants.
func (r Role) PlatformWide() bool { return r == RolePlatformAdmin || r == RoleOperator }

// Can tells whether the role holds a permission.
func (r Role) Can(p Permission) bool { return slices.Contains(rolePermissions[r], p) }

// ErrForbidden is returned when an authenticated caller may not do something.
var ErrForbidden = errors.New("forbidden")

// Authorize checks that a token may use perm on resources of resourceTenant
// (empty for platform-wide resources). A tenant role never reaches another
// tenant's resources, nor platform-wide ones.
func Authorize(tok Token, perm Permission, resourceTenant string) error {
	if !tok.Role.Can(perm) {
		return fmt.Errorf("%w: role %s may not %s", ErrForbidden, tok.Role, perm)
	}
	if tok.Role.PlatformWide() {
		return nil
	}
	if resourceTenant == "" || resourceTenant != tok.Tenant {
		return fmt.Errorf("%w: a %s token of %s may not reach resources of %q", ErrForbidden, tok.Role, tok.Tenant, resourceTenant)
	}
	return nil
}
