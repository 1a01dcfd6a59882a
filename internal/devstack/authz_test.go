package devstack

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"

	"github.com/dure-platform/dure/internal/roles"
	"github.com/dure-platform/dure/internal/uiauth"
	"github.com/dure-platform/dure/workflows"
)

func TestRoleAuthorizer(t *testing.T) {
	a := roleAuthorizer{logger: slog.New(slog.DiscardHandler)}
	call := func(method string, req any) *authorization.CallTarget {
		return &authorization.CallTarget{APIName: "/temporal.api.workflowservice.v1.WorkflowService/" + method, Namespace: "default", Request: req}
	}
	start := func(wfType string) *authorization.CallTarget {
		return call("StartWorkflowExecution", &workflowservice.StartWorkflowExecutionRequest{WorkflowType: &commonpb.WorkflowType{Name: wfType}})
	}
	signal := func(name string) *authorization.CallTarget {
		return call("SignalWorkflowExecution", &workflowservice.SignalWorkflowExecutionRequest{SignalName: name})
	}
	update := func(name string) *authorization.CallTarget {
		return call("UpdateWorkflowExecution", &workflowservice.UpdateWorkflowExecutionRequest{
			Request: &updatepb.Request{Input: &updatepb.Input{Name: name}}})
	}
	poll := call("PollActivityTaskQueue", &workflowservice.PollActivityTaskQueueRequest{})
	health := &authorization.CallTarget{APIName: "/grpc.health.v1.Health/Check"}
	admin := call("RegisterNamespace", &workflowservice.RegisterNamespaceRequest{})

	for _, tc := range []struct {
		principal string
		target    *authorization.CallTarget
		allowed   bool
	}{
		{"", health, true},
		{"", poll, false},
		{"someone-else", start(workflows.TypeTraining), false},
		{PKIRoleServices, signal("approve"), true},
		{PKIRoleInternal, admin, true},

		{roles.Operator, start(workflows.TypeTenantOnboarding), true},
		{roles.Operator, signal("approve"), true},
		{roles.Operator, update("decide"), true},
		{roles.Operator, admin, false},
		{"operator:kim", signal("reject"), true},
		{"operator:", signal("reject"), false},
		{webUIWithoutLogin, signal("approve"), true},

		{roles.Gateway, update("decide"), true},
		{roles.Gateway, signal("approve"), false},
		{roles.Gateway, start(workflows.TypeTenantKeyRotation), true},
		{roles.Gateway, start(workflows.TypeTenantOnboarding), false},
		{roles.Gateway, start(workflows.TypeTraining), false},
		{roles.Gateway, poll, false},

		{roles.ControlPlane, poll, true},
		{roles.ControlPlane, start(workflows.TypeGPUPool), true},
		{roles.ControlPlane, update("request"), true},
		{roles.ControlPlane, update("decide"), false},
		{roles.ControlPlane, signal("reject"), false},
		{roles.ControlPlane, start(workflows.TypeTenantOnboarding), false},

		{roles.QualityGate, poll, true},
		{roles.QualityGate, start(workflows.TypeDataIngestion), false},
		{roles.QualityGate, signal("approve"), false},

		{roles.GPUHost, poll, true},
		{roles.GPUHost, update("register_host"), true},
		{roles.GPUHost, update("set_quota"), false},
		{roles.GPUHost, update("decide"), false},
		{roles.GPUHost, start(workflows.TypeTraining), false},
	} {
		res, err := a.Authorize(context.Background(), &authorization.Claims{Subject: tc.principal}, tc.target)
		assert.NoError(t, err)
		want := authorization.DecisionDeny
		if tc.allowed {
			want = authorization.DecisionAllow
		}
		assert.Equal(t, want, res.Decision, "%q calling %s %v", tc.principal, tc.target.APIName, tc.target.Request)
		if tc.allowed && tc.principal != "" {
			assert.Equal(t, tc.principal, res.Principal.GetName(), "history names the caller")
		}
	}

	// The Web UI with a login acts for the user whose token it forwards.
	user := func(role authorization.Role) *authorization.Claims {
		return &authorization.Claims{Subject: roles.WebUI, Extensions: webUIUser{Subject: "kim"},
			Namespaces: map[string]authorization.Role{"default": role}}
	}
	describe := call("DescribeWorkflowExecution", &workflowservice.DescribeWorkflowExecutionRequest{})
	for _, tc := range []struct {
		claims    *authorization.Claims
		target    *authorization.CallTarget
		allowed   bool
		principal string
	}{
		{user(authorization.RoleWriter), signal("approve"), true, "operator:kim"},
		{user(authorization.RoleWriter), start(workflows.TypeTenantOnboarding), true, "operator:kim"},
		{user(authorization.RoleReader), describe, true, "viewer:kim"},
		{user(authorization.RoleReader), signal("approve"), false, ""},
		{user(authorization.RoleWorker), describe, false, ""},
		{&authorization.Claims{Subject: roles.WebUI}, call("DescribeNamespace", nil), true, roles.WebUI},
		{&authorization.Claims{Subject: roles.WebUI}, describe, false, ""},
	} {
		res, err := a.Authorize(context.Background(), tc.claims, tc.target)
		assert.NoError(t, err)
		assert.Equal(t, tc.allowed, res.Decision == authorization.DecisionAllow, "%v calling %s", tc.claims, tc.target.APIName)
		if tc.allowed {
			assert.Equal(t, tc.principal, res.Principal.GetName())
		}
	}
}

// fakeUsers accepts one token, for one user.
type fakeUsers struct{}

func (fakeUsers) Verify(_ context.Context, token string) (uiauth.User, error) {
	if token != "Bearer good" {
		return uiauth.User{}, errors.New("invalid token")
	}
	return uiauth.User{Subject: "kim", Permissions: map[string][]string{"default": {"write"}, "archive": {"read"}}}, nil
}

func TestCertClaims(t *testing.T) {
	cn := func(name string) *authorization.AuthInfo {
		return &authorization.AuthInfo{TLSSubject: &pkix.Name{CommonName: name}}
	}
	withToken := func(info *authorization.AuthInfo, token string) *authorization.AuthInfo {
		info.AuthToken = token
		return info
	}
	for _, tc := range []struct {
		name    string
		mapper  certClaims
		info    *authorization.AuthInfo
		subject string
		wantErr bool
	}{
		{"no certificate", certClaims{}, &authorization.AuthInfo{}, "", false},
		{"a role's certificate", certClaims{}, cn(roles.Gateway), roles.Gateway, false},
		{"the UI without a login", certClaims{}, cn(roles.WebUI), webUIWithoutLogin, false},
		{"the UI with a login, no user yet", certClaims{users: fakeUsers{}}, cn(roles.WebUI), roles.WebUI, false},
		{"the UI for a user", certClaims{users: fakeUsers{}}, withToken(cn(roles.WebUI), "Bearer good"), roles.WebUI, false},
		{"the UI with a forged token", certClaims{users: fakeUsers{}}, withToken(cn(roles.WebUI), "Bearer forged"), "", true},
		{"a token beside another role's certificate is not read", certClaims{users: fakeUsers{}}, withToken(cn(roles.Gateway), "Bearer forged"), roles.Gateway, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := tc.mapper.GetClaims(tc.info)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.subject, claims.Subject)
		})
	}
	claims, err := certClaims{users: fakeUsers{}}.GetClaims(withToken(cn(roles.WebUI), "Bearer good"))
	require.NoError(t, err)
	assert.Equal(t, webUIUser{Subject: "kim"}, claims.Extensions)
	assert.Equal(t, map[string]authorization.Role{"default": authorization.RoleWriter, "archive": authorization.RoleReader}, claims.Namespaces)
}
