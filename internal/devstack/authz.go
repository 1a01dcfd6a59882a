package devstack

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"

	"github.com/dure-platform/dure/internal/roles"
	"github.com/dure-platform/dure/internal/uiauth"
	"github.com/dure-platform/dure/workflows"
)

// systemPrincipals may call anything: the server's own services, and `dure
// dev`'s one process, which runs every role with one certificate.
var systemPrincipals = []string{PKIRoleServer, PKIRoleInternal, PKIRoleServices}

// webUIWithoutLogin is who the Web UI acts as when it has no login of its
// own (dure dev's default): an operator console for whoever reaches it.
const webUIWithoutLogin = roles.Operator + ":" + roles.WebUI

// webUIUser is the Web UI's user, from the access token the UI forwards.
type webUIUser struct {
	Subject string
}

// uiUsers checks the access tokens of the Web UI's users.
type uiUsers interface {
	Verify(ctx context.Context, token string) (uiauth.User, error)
}

// certClaims maps a client certificate to its principal: the CN. A caller
// without a certificate has none, and the authorizer refuses it. The Web
// UI's certificate stands for the user whose access token it forwards, when
// users checks them; without them the UI has no login and acts as an
// operator.
type certClaims struct {
	users uiUsers
}

// uiRoles are the namespace roles a user's permissions name.
var uiRoles = map[string]authorization.Role{
	"read": authorization.RoleReader, "write": authorization.RoleWriter,
	"worker": authorization.RoleWorker, "admin": authorization.RoleAdmin,
}

func (m certClaims) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	if info == nil || info.TLSSubject == nil {
		return &authorization.Claims{}, nil
	}
	claims := &authorization.Claims{Subject: info.TLSSubject.CommonName, AuthType: "tls"}
	if claims.Subject != roles.WebUI {
		return claims, nil
	}
	if m.users == nil {
		claims.Subject = webUIWithoutLogin
		return claims, nil
	}
	if info.AuthToken == "" {
		return claims, nil
	}
	user, err := m.users.Verify(context.Background(), info.AuthToken)
	if err != nil {
		return nil, err
	}
	claims.AuthType, claims.Extensions = "tls+jwt", webUIUser{Subject: user.Subject}
	claims.Namespaces = map[string]authorization.Role{}
	for ns, perms := range user.Permissions {
		for _, p := range perms {
			claims.Namespaces[ns] |= uiRoles[p]
		}
	}
	return claims, nil
}

// roleAuthorizer decides each call by the caller's role, says why it
// refused in the server's log, and names the caller it let through, so that
// history records who sent each signal and update.
type roleAuthorizer struct {
	logger *slog.Logger
}

var deny = authorization.Result{Decision: authorization.DecisionDeny}

// Authorize lets each role call what that role does, and nothing else:
//
//  1. Health checks are anyone's.
//  2. The server itself and `dure dev`'s process may call anything.
//  3. The Web UI acts for its user: a user who may write the namespace is
//     an operator (operator:SUBJECT), one who may read it only reads;
//     without a user it only learns what the server is.
//  4. Only an operator starts onboarding or offboarding, or signals a
//     batch's approval or rejection; an operator may do anything but
//     administer the cluster.
//  5. The decide Update comes from operators and the gateway alone (the
//     gateway has authenticated the operator's token).
//  6. Workers (control plane, quality gate, GPU hosts) poll and answer
//     their task queues.
//  7. The control plane also starts, queries and updates workflows and
//     schedules (the GPU pool, retraining), but decides nothing.
//  8. A GPU host also registers its inventory with the GPU pool and reads
//     the pool's allocation.
//  9. The gateway also reads a workflow's state and result, sends decide,
//     and starts a tenant's key rotation.
//  10. Everyone else is refused.
func (a roleAuthorizer) Authorize(_ context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	if authorization.IsHealthCheckAPI(target.APIName) {
		return authorization.Result{Decision: authorization.DecisionAllow}, nil
	}
	if claims == nil {
		claims = &authorization.Claims{}
	}
	principal := claims.Subject
	method := target.APIName[strings.LastIndex(target.APIName, "/")+1:]
	allowed := false
	if principal == roles.WebUI {
		principal, allowed = a.webUI(claims, target, method)
	} else {
		allowed = a.allowed(principal, target.APIName, method, target.Request)
	}
	if !allowed {
		a.logger.Warn("temporal call refused", "principal", principal, "method", method, "namespace", target.Namespace)
		return deny, nil
	}
	return authorization.Result{
		Decision:  authorization.DecisionAllow,
		Principal: &commonpb.Principal{Type: claims.AuthType, Name: principal},
	}, nil
}

// webUI decides a call of the Web UI by its user's role in the namespace,
// and names the user.
func (a roleAuthorizer) webUI(claims *authorization.Claims, target *authorization.CallTarget, method string) (string, bool) {
	user, ok := claims.Extensions.(webUIUser)
	if !ok {
		return roles.WebUI, serverInfoMethods[method]
	}
	role := claims.Namespaces[target.Namespace]
	switch {
	case role&(authorization.RoleWriter|authorization.RoleAdmin) != 0:
		operator := roles.OperatorNamed(user.Subject)
		return operator, a.allowed(operator, target.APIName, method, target.Request)
	case role&authorization.RoleReader != 0:
		return "viewer:" + user.Subject, serverInfoMethods[method] || api.GetMethodMetadata(target.APIName).Access == api.AccessReadOnly
	}
	return "web-ui-user:" + user.Subject, serverInfoMethods[method]
}

func (a roleAuthorizer) allowed(principal, apiName, method string, req any) bool {
	role := roles.Of(principal)
	switch {
	case slices.Contains(systemPrincipals, principal):
		return true
	case decides(req):
		return role == roles.Operator || (role == roles.Gateway && isUpdate(req, workflows.UpdateDecide))
	case role == roles.Operator:
		return api.GetMethodMetadata(apiName).Access != api.AccessAdmin
	case startsPlatformWorkflow(req):
		return false
	}
	worker := workerMethods[method]
	switch role {
	case roles.ControlPlane:
		return worker || controlPlaneMethods[method]
	case roles.QualityGate:
		return worker
	case roles.GPUHost:
		return worker || method == "QueryWorkflow" || method == "PollWorkflowExecutionUpdate" ||
			(method == "UpdateWorkflowExecution" && isUpdate(req, workflows.UpdateGPURegisterHost))
	case roles.Gateway:
		return gatewayMethods[method] || (method == "StartWorkflowExecution" && startsType(req, workflows.TypeTenantKeyRotation))
	}
	return false
}

// decides tells whether a call carries a batch's decision.
func decides(req any) bool {
	switch r := req.(type) {
	case *workflowservice.SignalWorkflowExecutionRequest:
		return r.GetSignalName() == workflows.SignalApprove || r.GetSignalName() == workflows.SignalReject
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		return r.GetSignalName() == workflows.SignalApprove || r.GetSignalName() == workflows.SignalReject
	case *workflowservice.UpdateWorkflowExecutionRequest:
		return r.GetRequest().GetInput().GetName() == workflows.UpdateDecide
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
	return startsType(req, workflows.TypeTenantOnboarding) || startsType(req, workflows.TypeTenantOffboarding)
}

// serverInfoMethods tell a client what the server and namespace are.
var serverInfoMethods = setOf("GetSystemInfo", "DescribeNamespace", "GetClusterInfo", "ListNamespaces")

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

// controlPlaneMethods are the control plane's calls as a client; it reads
// histories to learn who sent a decision.
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
