package devstack

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"
)

// Principals of the Temporal frontend: the CN of a client certificate.
const (
	PrincipalOperator     = PKIRoleOperator
	PrincipalControlPlane = "control-plane"
	PrincipalQualityGate  = "quality-gate"
	PrincipalGPUHost      = "gpu-host"
	PrincipalGateway      = "gateway"
)

// systemPrincipals may call anything: the server's own services and Web UI,
// and `dure dev`'s one process, which runs every role with one certificate.
var systemPrincipals = []string{PKIRoleServer, PKIRoleInternal, PKIRoleServices}

// Names the authorizer looks inside requests for.
const (
	signalApprove = "approve"
	signalReject  = "reject"
	updateDecide  = "decide"
	// updateRegisterHost is the GPUPool's register_host.
	updateRegisterHost = "register_host"
)

// certClaims maps a client certificate to its principal: the CN. A caller
// without a certificate has none, and the authorizer refuses it.
type certClaims struct{}

func (certClaims) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	if info == nil || info.TLSSubject == nil {
		return &authorization.Claims{}, nil
	}
	return &authorization.Claims{Subject: info.TLSSubject.CommonName, AuthType: "tls"}, nil
}

// roleAuthorizer decides each call by the caller's role, and says why it
// refused, in the server's log.
type roleAuthorizer struct {
	logger *slog.Logger
}

var (
	allow = authorization.Result{Decision: authorization.DecisionAllow}
	deny  = authorization.Result{Decision: authorization.DecisionDeny}
)

// Authorize lets each role call what that role does, and nothing else:
//
//  1. Health checks are anyone's.
//  2. The server itself, its Web UI and `dure dev`'s process may call
//     anything.
//  3. Only an operator starts onboarding or offboarding, or signals a
//     batch's approval or rejection; an operator may do anything but
//     administer the cluster.
//  4. The decide Update comes from operators and the gateway alone (the
//     gateway has authenticated the operator's token).
//  5. Workers (control plane, quality gate, GPU hosts) poll and answer
//     their task queues.
//  6. The control plane also starts, queries and updates workflows and
//     schedules (the GPU pool, retraining), but decides nothing.
//  7. A GPU host also registers its inventory with the GPU pool and reads
//     the pool's allocation.
//  8. The gateway also reads a workflow's state and result, sends decide,
//     and starts a tenant's key rotation.
//  9. Everyone else is refused.
func (a roleAuthorizer) Authorize(_ context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	if authorization.IsHealthCheckAPI(target.APIName) {
		return allow, nil
	}
	principal := ""
	if claims != nil {
		principal = claims.Subject
	}
	method := target.APIName[strings.LastIndex(target.APIName, "/")+1:]
	if a.allowed(principal, target.APIName, method, target.Request) {
		return allow, nil
	}
	a.logger.Warn("temporal call refused", "principal", principal, "method", method, "namespace", target.Namespace)
	return deny, nil
}

func (a roleAuthorizer) allowed(principal, apiName, method string, req any) bool {
	switch {
	case slices.Contains(systemPrincipals, principal):
		return true
	case decides(method, req):
		return principal == PrincipalOperator || (principal == PrincipalGateway && isUpdate(req, updateDecide))
	case principal == PrincipalOperator:
		return api.GetMethodMetadata(apiName).Access != api.AccessAdmin
	case startsPlatformWorkflow(req):
		return false
	}
	worker := workerMethods[method]
	switch principal {
	case PrincipalControlPlane:
		return worker || controlPlaneMethods[method]
	case PrincipalQualityGate:
		return worker
	case PrincipalGPUHost:
		return worker || method == "QueryWorkflow" || method == "PollWorkflowExecutionUpdate" ||
			(method == "UpdateWorkflowExecution" && isUpdate(req, updateRegisterHost))
	case PrincipalGateway:
		return gatewayMethods[method] || (method == "StartWorkflowExecution" && startsType(req, "TenantKeyRotation"))
	}
	return false
}

// decides tells whether a call carries a batch's decision.
func decides(method string, req any) bool {
	switch r := req.(type) {
	case *workflowservice.SignalWorkflowExecutionRequest:
		return r.GetSignalName() == signalApprove || r.GetSignalName() == signalReject
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		return r.GetSignalName() == signalApprove || r.GetSignalName() == signalReject
	case *workflowservice.UpdateWorkflowExecutionRequest:
		return r.GetRequest().GetInput().GetName() == updateDecide
	}
	return false
}

func isUpdate(req any, name string) bool {
	r, ok := req.(*workflowservice.UpdateWorkflowExecutionRequest)
	return ok && r.GetRequest().GetInput().GetName() == name
}

func startsType(req any, workflowType string) bool {
	switch r := req.(type) {
	case *workflowservice.StartWorkflowExecutionRequest:
		return r.GetWorkflowType().GetName() == workflowType
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		return r.GetWorkflowType().GetName() == workflowType
	}
	return false
}

// startsPlatformWorkflow tells whether a call starts onboarding or
// offboarding, which only platform principals (operators) may.
func startsPlatformWorkflow(req any) bool {
	return startsType(req, "TenantOnboarding") || startsType(req, "TenantOffboarding")
}

// workerMethods are what an SDK worker calls to serve its task queues.
var workerMethods = setOf(
	"GetSystemInfo", "DescribeNamespace", "GetClusterInfo",
	"PollWorkflowTaskQueue", "RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed",
	"PollActivityTaskQueue", "RecordActivityTaskHeartbeat", "RecordActivityTaskHeartbeatById",
	"RespondActivityTaskCompleted", "RespondActivityTaskCompletedById", "RespondActivityTaskFailed",
	"RespondActivityTaskFailedById", "RespondActivityTaskCanceled", "RespondActivityTaskCanceledById",
	"PollNexusTaskQueue", "RespondNexusTaskCompleted", "RespondNexusTaskFailed",
	"RespondQueryTaskCompleted", "ResetStickyTaskQueue", "ShutdownWorker",
	"RecordWorkerHeartbeat", "FetchWorkerConfig", "DescribeTaskQueue", "GetWorkerBuildIdCompatibility",
	"GetWorkerVersioningRules",
)

// controlPlaneMethods are the control plane's calls as a client.
var controlPlaneMethods = setOf(
	"StartWorkflowExecution", "SignalWorkflowExecution", "SignalWithStartWorkflowExecution",
	"UpdateWorkflowExecution", "PollWorkflowExecutionUpdate", "QueryWorkflow",
	"DescribeWorkflowExecution", "GetWorkflowExecutionHistory", "ListWorkflowExecutions", "CountWorkflowExecutions",
	"RequestCancelWorkflowExecution",
	"CreateSchedule", "DescribeSchedule", "UpdateSchedule", "PatchSchedule", "ListSchedules",
	"GetSearchAttributes",
)

// gatewayMethods are the gateway's calls as a client.
var gatewayMethods = setOf(
	"GetSystemInfo", "DescribeNamespace", "GetClusterInfo",
	"DescribeWorkflowExecution", "GetWorkflowExecutionHistory", "QueryWorkflow", "PollWorkflowExecutionUpdate",
)

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
