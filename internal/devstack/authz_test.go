package devstack

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	commonpb "go.temporal.io/api/common/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
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
		{"someone-else", start("Training"), false},
		{PKIRoleServices, signal("approve"), true},
		{PKIRoleInternal, admin, true},

		{PrincipalOperator, start("TenantOnboarding"), true},
		{PrincipalOperator, signal("approve"), true},
		{PrincipalOperator, update("decide"), true},
		{PrincipalOperator, admin, false},

		{PrincipalGateway, update("decide"), true},
		{PrincipalGateway, signal("approve"), false},
		{PrincipalGateway, start("TenantKeyRotation"), true},
		{PrincipalGateway, start("TenantOnboarding"), false},
		{PrincipalGateway, start("Training"), false},
		{PrincipalGateway, poll, false},

		{PrincipalControlPlane, poll, true},
		{PrincipalControlPlane, start("GPUPool"), true},
		{PrincipalControlPlane, update("request"), true},
		{PrincipalControlPlane, update("decide"), false},
		{PrincipalControlPlane, signal("reject"), false},
		{PrincipalControlPlane, start("TenantOnboarding"), false},

		{PrincipalQualityGate, poll, true},
		{PrincipalQualityGate, start("DataIngestion"), false},
		{PrincipalQualityGate, signal("approve"), false},

		{PrincipalGPUHost, poll, true},
		{PrincipalGPUHost, update("register_host"), true},
		{PrincipalGPUHost, update("set_quota"), false},
		{PrincipalGPUHost, update("decide"), false},
		{PrincipalGPUHost, start("Training"), false},
	} {
		res, err := a.Authorize(context.Background(), &authorization.Claims{Subject: tc.principal}, tc.target)
		assert.NoError(t, err)
		want := authorization.DecisionDeny
		if tc.allowed {
			want = authorization.DecisionAllow
		}
		assert.Equal(t, want, res.Decision, "%q calling %s %v", tc.principal, tc.target.APIName, tc.target.Request)
	}
}
