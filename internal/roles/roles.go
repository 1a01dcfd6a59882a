// Package roles names who calls the Temporal frontend: the role a client
// certificate's CN carries, as the frontend's authorizer decides by it and a
// decision in workflow history records it.
package roles

import "strings"

// Roles of client certificates.
const (
	// Operator is a platform operator. An operator's own certificate names
	// the person too: operator:NAME.
	Operator     = "operator"
	ControlPlane = "control-plane"
	QualityGate  = "quality-gate"
	GPUHost      = "gpu-host"
	Gateway      = "gateway"
	// WebUI is the Temporal Web UI's; what it may do depends on the user it
	// acts for.
	WebUI = "web-ui"
)

// HeaderSender is the header of a signal or an update in which the Temporal
// frontend names the caller it authenticated, replacing whatever the client
// sent.
const HeaderSender = "dure-sender"

// Of is the role a principal (a certificate's CN) has: Operator for
// operator:NAME, else the principal itself.
func Of(principal string) string {
	if name, ok := strings.CutPrefix(principal, Operator+":"); ok && name != "" {
		return Operator
	}
	return principal
}

// OperatorNamed is the principal of the operator called name.
func OperatorNamed(name string) string { return Operator + ":" + name }
