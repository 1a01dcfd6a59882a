package workflows

import (
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/internal/roles"
)

// DecisionSenders is the worker interceptor that hands every decision on a
// batch (the approve and reject signals, the decide update) the sender the
// Temporal frontend authenticated, read from the header the frontend writes
// (roles.HeaderSender), in place of whatever the decision itself says. dc
// is the worker's data converter, which signal payloads are decoded and
// encoded again with.
func DecisionSenders(dc converter.DataConverter) interceptor.WorkerInterceptor {
	return &decisionSenders{dc: dc}
}

type decisionSenders struct {
	interceptor.WorkerInterceptorBase
	dc converter.DataConverter
}

func (s *decisionSenders) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &decisionSendersInbound{dc: s.dc}
	in.Next = next
	return in
}

type decisionSendersInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	dc converter.DataConverter
}

func (i *decisionSendersInbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	if in.SignalName != SignalApprove && in.SignalName != SignalReject {
		return i.Next.HandleSignal(ctx, in)
	}
	var d Decision
	if in.Arg != nil {
		if err := i.dc.FromPayloads(in.Arg, &d); err != nil {
			// The workflow cannot read it either, and ignores it.
			return i.Next.HandleSignal(ctx, in)
		}
	}
	d.Sender = senderOf(ctx)
	arg, err := i.dc.ToPayloads(d)
	if err != nil {
		return err
	}
	return i.Next.HandleSignal(ctx, &interceptor.HandleSignalInput{SignalName: in.SignalName, Arg: arg})
}

func (i *decisionSendersInbound) ValidateUpdate(ctx workflow.Context, in *interceptor.UpdateInput) error {
	stampUpdate(ctx, in)
	return i.Next.ValidateUpdate(ctx, in)
}

func (i *decisionSendersInbound) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	// Replay skips validation, so the sender is stamped here too.
	stampUpdate(ctx, in)
	return i.Next.ExecuteUpdate(ctx, in)
}

func stampUpdate(ctx workflow.Context, in *interceptor.UpdateInput) {
	if in.Name != UpdateDecide || len(in.Args) != 1 {
		return
	}
	if d, ok := in.Args[0].(Decision); ok {
		d.Sender = senderOf(ctx)
		in.Args[0] = d
	}
}

// senderOf is the sender the frontend wrote into the header of the signal
// or update being handled, or "" when it named none.
func senderOf(ctx workflow.Context) string {
	p, ok := interceptor.WorkflowHeader(ctx)[roles.HeaderSender]
	if !ok {
		return ""
	}
	var sender string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &sender); err != nil {
		return ""
	}
	return sender
}
