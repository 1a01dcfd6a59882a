package devstack

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/server/common/headers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/dure-platform/dure/internal/roles"
)

// A client once named whoever it liked as the decider; the header the
// workflow reads is the frontend's, whatever the client sent in it.
func TestStampSenderReplacesWhatTheClientSent(t *testing.T) {
	forged, err := converter.GetDefaultDataConverter().ToPayload("operator:boss")
	require.NoError(t, err)
	forgedHeader := func() *commonpb.Header {
		return &commonpb.Header{Fields: map[string]*commonpb.Payload{roles.HeaderSender: forged}}
	}
	authenticated := headers.SetPrincipal(metadata.NewIncomingContext(context.Background(), metadata.MD{}),
		&commonpb.Principal{Type: "tls", Name: "operator:kim"})

	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"an authenticated caller", authenticated, "operator:kim"},
		{"a caller no one named", context.Background(), ""},
	} {
		signal := &workflowservice.SignalWorkflowExecutionRequest{Header: forgedHeader()}
		update := &workflowservice.UpdateWorkflowExecutionRequest{Request: &updatepb.Request{Input: &updatepb.Input{Header: forgedHeader()}}}
		start := &workflowservice.SignalWithStartWorkflowExecutionRequest{}
		for _, req := range []any{signal, update, start} {
			_, err := stampSender(tc.ctx, req, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) { return nil, nil })
			require.NoError(t, err)
		}
		for kind, h := range map[string]*commonpb.Header{"signal": signal.Header, "update": update.Request.Input.Header, "signal-with-start": start.Header} {
			p, ok := h.GetFields()[roles.HeaderSender]
			if tc.want == "" {
				assert.False(t, ok, "%s, %s: no sender", tc.name, kind)
				continue
			}
			var got string
			require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &got))
			assert.Equal(t, tc.want, got, "%s, %s", tc.name, kind)
		}
	}
}
