package devstack

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/server/common/headers"
	"google.golang.org/grpc"

	"github.com/dure-platform/dure/internal/roles"
)

// stampSender writes the caller the authorizer let through into the header of
// every signal and update, replacing whatever the client put there, so that a
// workflow learns who sent a decision from the server and never from the
// decision's own fields. A caller the server named nobody (no authorizer)
// arrives with no sender, and workflows refuse its decisions.
//
// It runs after the authorization interceptor, which hands the principal on
// when frontend.enablePrincipalPropagation is on.
func stampSender(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	var header **commonpb.Header
	switch r := req.(type) {
	case *workflowservice.SignalWorkflowExecutionRequest:
		header = &r.Header
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		header = &r.Header
	case *workflowservice.UpdateWorkflowExecutionRequest:
		if r.GetRequest().GetInput() != nil {
			header = &r.Request.Input.Header
		}
	}
	if header != nil {
		setSender(header, headers.GetPrincipal(ctx).GetName())
	}
	return handler(ctx, req)
}

func setSender(header **commonpb.Header, name string) {
	if *header == nil {
		*header = &commonpb.Header{}
	}
	if (*header).Fields == nil {
		(*header).Fields = map[string]*commonpb.Payload{}
	}
	delete((*header).Fields, roles.HeaderSender)
	if name == "" {
		return
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(name)
	if err != nil {
		return
	}
	(*header).Fields[roles.HeaderSender] = p
}
