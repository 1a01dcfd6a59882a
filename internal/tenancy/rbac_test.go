package tenancy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAuthorize(t *testing.T) {
	suwonClient := Token{Tenant: "suwon", Role: RoleTenantClient}
	suwonAdmin := Token{Tenant: "suwon", Role: RoleTenantAdmin}
	uploader := Token{Tenant: "suwon", Role: RoleTenantUploader}
	operator := Token{Role: RoleOperator}
	tests := []struct {
		name     string
		tok      Token
		perm     Permission
		resource string
		allowed  bool
	}{
		{"client classifies for its tenant", suwonClient, PermClassify, "suwon", true},
		{"client cannot upload", suwonClient, PermUpload, "suwon", false},
		{"client cannot cross tenants", suwonClient, PermClassify, "seongnam", false},
		{"uploader uploads", uploader, PermUpload, "suwon", true},
		{"uploader cannot read datasets", uploader, PermReadDatasets, "suwon", false},
		{"tenant admin reads own datasets", suwonAdmin, PermReadDatasets, "suwon", true},
		{"tenant admin cannot read other datasets", suwonAdmin, PermReadDatasets, "yongin", false},
		{"tenant admin cannot approve data", suwonAdmin, PermApproveData, "suwon", false},
		{"tenant admin cannot reach platform-wide resources", suwonAdmin, PermReadModels, "", false},
		{"operator approves any tenant", operator, PermApproveData, "yongin", true},
		{"operator cannot manage tenants", operator, PermManageTenants, "", false},
		{"platform admin manages tenants", Token{Role: RolePlatformAdmin}, PermManageTenants, "", true},
		{"unknown role holds nothing", Token{Tenant: "suwon", Role: "viewer"}, PermClassify, "suwon", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(tt.tok, tt.perm, tt.resource)
			if tt.allowed {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrForbidden)
			}
		})
	}
}
