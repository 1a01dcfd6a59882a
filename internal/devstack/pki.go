package devstack

import (
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/pki"
	"github.com/dure-platform/dure/internal/roles"
)

// Certificate roles of the embedded default's local CA.
const (
	// PKIRoleServer is the Temporal frontend's (and its own services').
	PKIRoleServer = "temporal"
	// PKIRoleInternal is the client certificate of the server's system
	// worker.
	PKIRoleInternal = "temporal-internal"
	// PKIRoleServices is the client certificate of dure's workers, gateway
	// and replicas in the one process of `dure dev`.
	PKIRoleServices = "dure-dev"
	// PKIRoleOperator is the client certificate of the operator CLI.
	PKIRoleOperator = "operator"
)

// DevPKI makes (once) a local CA in dir, the Temporal server's certificates
// for host, and client certificates for dure's services, the Web UI and
// operators,
// and returns the server's TLS settings and the services' client settings.
func DevPKI(dir, host string) (TemporalTLS, config.TLSFiles, error) {
	ca, err := pki.OpenAuthority(dir)
	if err != nil {
		return TemporalTLS{}, config.TLSFiles{}, err
	}
	server, err := ca.Issue(PKIRoleServer, host, "localhost")
	if err != nil {
		return TemporalTLS{}, config.TLSFiles{}, err
	}
	internal, err := ca.Issue(PKIRoleInternal)
	if err != nil {
		return TemporalTLS{}, config.TLSFiles{}, err
	}
	services, err := ca.Issue(PKIRoleServices)
	if err != nil {
		return TemporalTLS{}, config.TLSFiles{}, err
	}
	ui, err := ca.Issue(roles.WebUI)
	if err != nil {
		return TemporalTLS{}, config.TLSFiles{}, err
	}
	if _, err := ca.Issue(PKIRoleOperator); err != nil {
		return TemporalTLS{}, config.TLSFiles{}, err
	}
	return TemporalTLS{
			CertFile: server.CertFile, KeyFile: server.KeyFile, ServerName: host, ClientCAFile: ca.CAFile(),
			InternalCertFile: internal.CertFile, InternalKeyFile: internal.KeyFile,
			UICertFile: ui.CertFile, UIKeyFile: ui.KeyFile,
		},
		config.TLSFiles{CAFile: ca.CAFile(), CertFile: services.CertFile, KeyFile: services.KeyFile, ServerName: host},
		nil
}
