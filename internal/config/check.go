package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/secretbox"
	"github.com/dure-platform/dure/internal/textclf"
)

// Role is one kind of dure service.
type Role string

// The roles, one `dure` subcommand each (the worker roles through
// `dure worker --role`).
const (
	RoleTemporal     Role = "temporal"
	RoleControlPlane Role = "control-plane"
	RoleQualityGate  Role = "quality-gate"
	RoleGPUHost      Role = "gpu-host"
	RoleGateway      Role = "gateway"
	RoleInference    Role = "inference"
)

// Roles lists every service role.
func Roles() []Role {
	return []Role{RoleTemporal, RoleControlPlane, RoleQualityGate, RoleGPUHost, RoleGateway, RoleInference}
}

// WorkerRoles are the roles `dure worker --role` runs.
func WorkerRoles() []Role { return []Role{RoleControlPlane, RoleQualityGate, RoleGPUHost} }

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("unknown role %q (one of %s)", s, strings.Join(names, ", "))
}

// Check validates what a production service of this role needs, without
// starting anything or connecting anywhere: required settings are set, values
// parse, and the key and secret files exist and hold what they must. Every
// problem is reported, not only the first.
func (c *Config) Check(role Role) error {
	var errs []error
	need := func(ok bool, setting, why string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s (%s) is required: %s", setting, EnvName(setting), why))
		}
	}
	port := func(p int, setting string) {
		if p <= 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: %d is not a port", setting, p))
		}
	}
	key := func(path, setting string) {
		need(path != "", setting, "services never make their own keys")
		if path != "" {
			if _, err := secretbox.LoadKey(path); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", setting, err))
			}
		}
	}
	secret := func(path, setting string) {
		if path == "" {
			return
		}
		if v, err := ReadSecretFile(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", setting, err))
		} else if v == "" {
			errs = append(errs, fmt.Errorf("%s: %s is empty", setting, path))
		}
	}
	hostPort := func(v, setting string) {
		if v == "" {
			return
		}
		if _, p, err := net.SplitHostPort(v); err != nil || p == "" {
			errs = append(errs, fmt.Errorf("%s: want host:port, got %q", setting, v))
		}
	}
	database := func(url, passwordFile, schema, setting string) {
		need(url != "", setting, "every service shares it")
		if url != "" {
			if err := (metadb.Config{URL: url, Schema: schema}).Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", setting, err))
			}
		}
		secret(passwordFile, setting+"-password-file")
	}

	switch role {
	case RoleTemporal:
		database(c.TemporalDatabase, c.TemporalDatabasePasswordFile, "", "temporal-database")
		if t := c.TemporalServerTLS; t.Enabled() {
			for setting, f := range map[string]string{"temporal-server-cert": t.CertFile, "temporal-server-key": t.KeyFile,
				"temporal-client-ca": t.ClientCAFile, "temporal-internal-cert": t.InternalCertFile, "temporal-internal-key": t.InternalKeyFile} {
				need(f != "", setting, "mutual TLS needs the server's certificate, its clients' CA and its own client certificate")
				if f != "" {
					if _, err := os.Stat(f); err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", setting, err))
					}
				}
			}
		}
		port(c.TemporalPort, "temporal-port")
		if c.UIPort != 0 {
			port(c.UIPort, "ui-port")
			if t := c.TemporalServerTLS; t.Enabled() {
				for setting, f := range map[string]string{"temporal-ui-cert": t.UICertFile, "temporal-ui-key": t.UIKeyFile} {
					need(f != "", setting, "the Web UI acts for its users with a certificate of its own (CN web-ui), never the server's")
					if f != "" {
						if _, err := os.Stat(f); err != nil {
							errs = append(errs, fmt.Errorf("%s: %w", setting, err))
						}
					}
				}
			}
		}
		if l := c.UILogin; l.Enabled() || c.UIUsersJWKSURL != "" {
			why := "a Web UI login and the frontend's check of the tokens it forwards go together"
			need(l.ProviderURL != "", "ui-oidc-provider-url", why)
			need(l.ClientID != "", "ui-oidc-client-id", why)
			need(l.CallbackURL != "", "ui-oidc-callback-url", why)
			need(c.UIUsersJWKSURL != "", "ui-users-jwks-url", why)
			secret(l.ClientSecretFile, "ui-oidc-client-secret-file")
		}
	case RoleControlPlane, RoleQualityGate, RoleGPUHost, RoleGateway, RoleInference:
		need(c.TemporalAddress != "" || role == RoleInference, "temporal-address", "services dial the Temporal frontend")
		hostPort(c.TemporalAddress, "temporal-address")
		if c.TemporalTLS.CertFile != "" || c.TemporalTLS.KeyFile != "" {
			need(c.TemporalTLS.CertFile != "" && c.TemporalTLS.KeyFile != "", "temporal-tls-cert", "a client certificate needs its key, and a key its certificate")
		}
		for setting, f := range map[string]string{"temporal-tls-ca": c.TemporalTLS.CAFile, "temporal-tls-cert": c.TemporalTLS.CertFile, "temporal-tls-key": c.TemporalTLS.KeyFile} {
			if f != "" {
				if _, err := os.Stat(f); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", setting, err))
				}
			}
		}
		database(c.MetadataURL, c.MetadataPasswordFile, c.MetadataSchema, "metadata-url")
		key(c.StateKeyFile, "state-key-file")
		need(c.S3Endpoint != "", "s3-endpoint", "production keeps every byte on the S3 (Ceph RGW) endpoint")
		hostPort(c.S3Endpoint, "s3-endpoint")
		if role != RoleInference {
			key(c.CodecKeyFile, "codec-key-file")
		}
		port(c.OpsPort, "ops-port")
	default:
		errs = append(errs, fmt.Errorf("unknown role %q", role))
	}

	switch role {
	case RoleControlPlane:
		need(c.CephEnvFile != "", "ceph-env-file", "tenants and platform buckets are provisioned on Ceph")
		if c.CephEnvFile != "" {
			if _, err := os.Stat(c.CephEnvFile); err != nil {
				errs = append(errs, fmt.Errorf("ceph-env-file: %w", err))
			}
		}
		need(len(c.Replicas) > 0, "replicas", "promotion loads models on them")
		need(c.ReplicaAdminTokenFile != "", "replica-admin-token-file", "replicas load models only for its holder")
		secret(c.ReplicaAdminTokenFile, "replica-admin-token-file")
		if c.MultipartMaxAge < time.Hour {
			errs = append(errs, fmt.Errorf("multipart-max-age: %s would abort uploads still in progress (at least 1h)", c.MultipartMaxAge))
		}
		if c.GPUHostTTL < 3*time.Second {
			errs = append(errs, fmt.Errorf("gpu-host-ttl: %s is too short for hosts to renew in time (at least 3s)", c.GPUHostTTL))
		}
	case RoleQualityGate:
		if c.GateMemoryBudgetMiB < 4 {
			errs = append(errs, fmt.Errorf("gate-memory-budget-mib: %d is below the 4 MiB a screening needs", c.GateMemoryBudgetMiB))
		}
	case RoleGPUHost:
		need(c.GPUHost != "", "gpu-host", "the host's name in the GPU pool and its task queue")
		if c.TrainerOptionsFile != "" {
			if _, err := textclf.LoadOptions(c.TrainerOptionsFile); err != nil {
				errs = append(errs, fmt.Errorf("trainer-options-file: %w", err))
			}
		}
		if c.CheckpointEveryEpochs < 0 {
			errs = append(errs, fmt.Errorf("checkpoint-every-epochs: %d is negative", c.CheckpointEveryEpochs))
		}
		switch c.GPUInventory {
		case "nvml", "simulated", "auto":
		case "libvirt":
			need(c.LibvirtURI != "", "libvirt-uri", "a libvirt inventory reads the hypervisor's node devices")
		default:
			errs = append(errs, fmt.Errorf("gpu-inventory: %q is not nvml, libvirt, simulated or auto", c.GPUInventory))
		}
	case RoleGateway:
		port(c.GatewayPort, "gateway-port")
		need(len(c.Replicas) > 0, "replicas", "the gateway routes classify requests to them")
		need(c.ReplicaClientTokenFile != "", "replica-client-token-file", "replicas answer only the gateway")
		secret(c.ReplicaClientTokenFile, "replica-client-token-file")
	case RoleInference:
		port(c.InferencePort, "inference-port")
		need(c.ReplicaName != "", "replica-name", "it names the replica in answers, metrics and promotion")
		need(c.ReplicaAdminTokenFile != "", "replica-admin-token-file", "it guards model loading")
		secret(c.ReplicaAdminTokenFile, "replica-admin-token-file")
		need(c.ReplicaClientTokenFile != "", "replica-client-token-file", "a replica classifies for the gateway only")
		secret(c.ReplicaClientTokenFile, "replica-client-token-file")
	}
	return errors.Join(errs...)
}
