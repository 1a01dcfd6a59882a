// Package config holds the settings every dure process shares. Each setting
// has one name, used three ways: the flag --NAME, the environment variable
// DURE_NAME (upper case, '-' as '_'), and the key NAME in a YAML config file
// (--config FILE or DURE_CONFIG). A flag wins over the environment, which
// wins over the file, which wins over the built-in default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the platform's configuration. Ports of 0 pick a free port.
type Config struct {
	DataDir string
	Host    string

	// TemporalAddress is the Temporal frontend services dial; empty in
	// `dure dev` runs the embedded server.
	TemporalAddress string
	Namespace       string
	TemporalTLS     TLSFiles
	// TemporalPort and UIPort are where the embedded (or `dure temporal`)
	// server listens; a UI port of 0 disables the UI.
	TemporalPort int
	UIPort       int
	// TemporalDatabase is the `dure temporal` role's persistence:
	// "sqlite:FILE" or a PostgreSQL URL without password.
	TemporalDatabase             string
	TemporalDatabasePasswordFile string
	// TemporalVisibilityDatabase is the PostgreSQL database of the
	// workflow list, beside TemporalDatabase's.
	TemporalVisibilityDatabase string
	// UICodecEndpoint is where the Web UI decodes payloads (the control
	// plane's /codec).
	UICodecEndpoint string
	// TemporalServerTLS are `dure temporal`'s certificates: with them its
	// frontend requires client certificates of their client CA.
	TemporalServerTLS ServerTLSFiles
	// UILogin is how `dure temporal`'s Web UI logs its users in; without
	// it the UI has no login and acts as an operator for whoever reaches it.
	UILogin UILogin
	// UIUsersJWKSURL is where the identity provider publishes the keys that
	// sign the UI users' access tokens: `dure temporal`'s frontend takes
	// the UI's calls as the logged-in user's, and the control plane's codec
	// endpoint decodes for users who operate the namespace.
	UIUsersJWKSURL string

	// MetadataURL is the shared metadata database ("sqlite:FILE" or a
	// PostgreSQL URL without password); MetadataPasswordFile holds the
	// password, and MetadataSchema the schema dure's tables live in.
	MetadataURL          string
	MetadataPasswordFile string
	MetadataSchema       string

	// CodecKeyFile holds the hex AES-256 key of workflow payloads;
	// StateKeyFile the key that seals secrets in the metadata database.
	CodecKeyFile string
	StateKeyFile string

	// S3Endpoint is the object store (Ceph RGW) as host:port; empty in
	// `dure dev` runs the embedded S3 server on S3Port.
	S3Endpoint string
	S3TLS      bool
	S3Region   string
	S3Port     int
	// CephEnvFile names the Ceph cluster the control plane provisions
	// tenants and platform buckets on (RGW Admin Ops endpoint and keys,
	// ceph.conf); see infra/ceph.
	CephEnvFile string

	GatewayPort int
	// Replicas are the inference replicas the gateway routes to and the
	// control plane promotes models on.
	Replicas []Replica
	// InferencePort and ReplicaName are one `dure inference` process's.
	InferencePort int
	ReplicaName   string
	// InferencePorts are `dure dev`'s replicas, one per port.
	InferencePorts []int
	// ReplicaAdminTokenFile holds the token the control plane loads models
	// on replicas with.
	ReplicaAdminTokenFile string
	// ReplicaClientTokenFile holds the token the gateway classifies on
	// replicas with; replicas answer no one else.
	ReplicaClientTokenFile string
	OpsPort                int
	// CodecOrigins are the Web UI origins whose pages may call the control
	// plane's /codec/ from an operator's browser.
	CodecOrigins []string
	// CodecWithoutCredential serves /codec/ without an operator credential,
	// for a Web UI without a login that only the host's loopback reaches
	// (the compose rehearsal): such a UI is an operator console for whoever
	// reaches it anyway.
	CodecWithoutCredential bool

	// GPUHost names a GPU host agent's host (its task queue is
	// dure-gpu-<name>); GPUInventory is nvml, libvirt, simulated or auto.
	GPUHost      string
	GPUInventory string
	// TrainerOptionsFile holds a GPU host's training hyperparameters (JSON,
	// over the defaults); CheckpointEveryEpochs its checkpoint cadence.
	TrainerOptionsFile    string
	CheckpointEveryEpochs int
	// GateMemoryBudgetMiB bounds the memory of one screening's duplicate
	// index on a quality gate; the rest waits on disk.
	GateMemoryBudgetMiB int
	// GPUHostTTL is how long the GPU pool waits for a host's renewal before
	// it declares the host lost (its leases end, its GPUs drain).
	GPUHostTTL time.Duration
	// MultipartMaxAge is how long a tenant's multipart upload may stay
	// incomplete before the control plane aborts it and frees its parts.
	MultipartMaxAge time.Duration
	// LibvirtURI, when set, is the hypervisor tenant networks and data VMs
	// are created on (qemu:///system on a KVM host); empty runs without one.
	LibvirtURI string
	// LibvirtBridge is the Open vSwitch bridge carrying tenant VLANs.
	LibvirtBridge string

	// RetrainCron is the Temporal Schedule's cron spec for Retraining.
	RetrainCron string
	// SampleDataDir holds the demo's sample complaints.
	SampleDataDir string
	// TrainerCommand runs `dure train-job` as its own process (the command
	// line up to its flags); empty trains inside the worker.
	TrainerCommand []string
	// CodeVersion names this build (set at link time by `make build`).
	CodeVersion string
}

// TLSFiles are the PEM files of a TLS client.
type TLSFiles struct {
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string
}

// Enabled tells whether any TLS setting is given.
func (t TLSFiles) Enabled() bool { return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// ServerTLSFiles are a Temporal server's PEM files: its own certificate, the
// CA its clients' certificates must come from, the client certificate of
// its system worker, and that of its Web UI (CN web-ui).
type ServerTLSFiles struct {
	CertFile, KeyFile                 string
	ClientCAFile                      string
	InternalCertFile, InternalKeyFile string
	UICertFile, UIKeyFile             string
}

// UILogin is the OpenID Connect provider the Web UI logs users in with.
type UILogin struct {
	// ProviderURL is the issuer, whose .well-known/openid-configuration the
	// UI reads.
	ProviderURL string
	ClientID    string
	// ClientSecretFile holds the UI's client secret.
	ClientSecretFile string
	// CallbackURL is the UI's own /auth/sso/callback as browsers reach it.
	CallbackURL string
}

// Enabled tells whether any login setting is given.
func (l UILogin) Enabled() bool {
	return l.ProviderURL != "" || l.ClientID != "" || l.ClientSecretFile != "" || l.CallbackURL != ""
}

// Enabled tells whether any server TLS setting is given.
func (t ServerTLSFiles) Enabled() bool {
	return t.CertFile != "" || t.KeyFile != "" || t.ClientCAFile != "" || t.InternalCertFile != "" || t.InternalKeyFile != "" ||
		t.UICertFile != "" || t.UIKeyFile != ""
}

// Replica is one inference replica: its name and base URL.
type Replica struct {
	Name string
	URL  string
}

// Default is the one-machine dev configuration.
func Default() Config {
	return Config{
		DataDir:        ".dure",
		Host:           "127.0.0.1",
		Namespace:      "default",
		TemporalPort:   7233,
		UIPort:         8233,
		S3Region:       "us-east-1",
		S3Port:         7070,
		GatewayPort:    8080,
		InferencePort:  8091,
		InferencePorts: []int{8091, 8092},

		TemporalVisibilityDatabase: "temporal_visibility",
		OpsPort:                    9090,
		GPUInventory:               "auto",
		GPUHostTTL:                 time.Minute,
		GateMemoryBudgetMiB:        64,
		MultipartMaxAge:            24 * time.Hour,
		SampleDataDir:              "data/complaints",
		RetrainCron:                "0 3 * * 1", // Mondays 03:00
		LibvirtBridge:              "br-dure",
	}
}

// RegisterFlags binds every setting to a flag of fs, with the built-in
// defaults; Parse then fills in the environment and the config file.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	str := func(p *string, name, usage string) { fs.StringVar(p, name, *p, usage) }
	num := func(p *int, name, usage string) { fs.IntVar(p, name, *p, usage) }
	fs.String("config", "", "YAML file of settings, keyed by these flags' names")
	str(&c.DataDir, "data-dir", "directory for local state (dev: everything; services: scratch space)")
	str(&c.Host, "host", "IP address every service binds to")

	str(&c.TemporalAddress, "temporal-address", "Temporal frontend host:port (dev: empty runs the embedded server)")
	str(&c.Namespace, "namespace", "Temporal namespace")
	str(&c.TemporalTLS.CAFile, "temporal-tls-ca", "PEM CA file that signs the Temporal frontend's certificate (enables TLS)")
	str(&c.TemporalTLS.CertFile, "temporal-tls-cert", "PEM client certificate for mutual TLS with Temporal")
	str(&c.TemporalTLS.KeyFile, "temporal-tls-key", "PEM key of the client certificate")
	str(&c.TemporalTLS.ServerName, "temporal-tls-server-name", "name the frontend's certificate carries, when it differs from the address")
	num(&c.TemporalPort, "temporal-port", "port of the embedded or `dure temporal` frontend")
	num(&c.UIPort, "ui-port", "Temporal Web UI port (0 disables the UI)")
	str(&c.TemporalDatabase, "temporal-database", "`dure temporal`'s database: sqlite:FILE or postgres://USER@HOST:PORT/DB?sslmode=...")
	str(&c.TemporalDatabasePasswordFile, "temporal-database-password-file", "file holding the Temporal database's password")
	str(&c.TemporalVisibilityDatabase, "temporal-visibility-database", "`dure temporal` on PostgreSQL: the database of the workflow list")
	str(&c.TemporalServerTLS.CertFile, "temporal-server-cert", "`dure temporal`: PEM certificate of the frontend (enables mutual TLS)")
	str(&c.TemporalServerTLS.KeyFile, "temporal-server-key", "`dure temporal`: PEM key of the frontend's certificate")
	str(&c.TemporalServerTLS.ClientCAFile, "temporal-client-ca", "`dure temporal`: PEM CA whose client certificates the frontend accepts")
	str(&c.TemporalServerTLS.InternalCertFile, "temporal-internal-cert", "`dure temporal`: PEM client certificate of the server's system worker")
	str(&c.TemporalServerTLS.InternalKeyFile, "temporal-internal-key", "`dure temporal`: PEM key of the internal client certificate")
	str(&c.TemporalServerTLS.UICertFile, "temporal-ui-cert", "`dure temporal`: PEM client certificate of the Web UI (CN web-ui)")
	str(&c.TemporalServerTLS.UIKeyFile, "temporal-ui-key", "`dure temporal`: PEM key of the Web UI's client certificate")
	str(&c.UILogin.ProviderURL, "ui-oidc-provider-url", "`dure temporal`: OpenID Connect issuer the Web UI logs users in with")
	str(&c.UILogin.ClientID, "ui-oidc-client-id", "`dure temporal`: the Web UI's client id at the provider")
	str(&c.UILogin.ClientSecretFile, "ui-oidc-client-secret-file", "`dure temporal`: file holding the Web UI's client secret")
	str(&c.UILogin.CallbackURL, "ui-oidc-callback-url", "`dure temporal`: the Web UI's https://HOST:PORT/auth/sso/callback as browsers reach it")
	str(&c.UIUsersJWKSURL, "ui-users-jwks-url", "`dure temporal` and control plane: the provider's JWKS URL, whose keys sign the Web UI users' access tokens")
	str(&c.UICodecEndpoint, "ui-codec-endpoint", "`dure temporal`: the codec endpoint the Web UI decodes payloads with (the control plane's http://HOST:OPS_PORT/codec)")

	str(&c.MetadataURL, "metadata-url", "shared metadata database: sqlite:FILE or postgres://USER@HOST:PORT/DB?sslmode=... (dev: a file in the data dir)")
	str(&c.MetadataPasswordFile, "metadata-password-file", "file holding the metadata database's password")
	str(&c.MetadataSchema, "metadata-schema", "PostgreSQL schema of dure's tables (empty: the server's search_path)")
	str(&c.CodecKeyFile, "codec-key-file", "hex AES-256 key file for workflow payloads (dev: DATA_DIR/keys/codec.key)")
	str(&c.StateKeyFile, "state-key-file", "hex AES-256 key file sealing secrets in the metadata database (dev: DATA_DIR/keys/state.key)")

	str(&c.S3Endpoint, "s3-endpoint", "S3 (Ceph RGW) host:port (dev: empty runs the embedded S3 server)")
	fs.BoolVar(&c.S3TLS, "s3-tls", c.S3TLS, "use HTTPS to reach the S3 endpoint")
	str(&c.S3Region, "s3-region", "S3 region")
	num(&c.S3Port, "s3-port", "embedded S3 port")
	str(&c.CephEnvFile, "ceph-env-file", "Ceph connection file (RGW Admin Ops endpoint and keys, CEPH_CONF): tenants and platform buckets are provisioned on Ceph")

	num(&c.GatewayPort, "gateway-port", "API gateway port")
	fs.Func("replicas", "inference replicas, NAME=URL,NAME=URL (gateway and control plane)", func(s string) error {
		r, err := parseReplicas(s)
		if err == nil {
			c.Replicas = r
		}
		return err
	})
	num(&c.InferencePort, "inference-port", "`dure inference` port")
	str(&c.ReplicaName, "replica-name", "`dure inference` replica name, as the replicas setting names it")
	fs.Func("inference-ports", "dev: comma-separated ports of the inference replicas", func(s string) error {
		ports, err := parsePorts(s)
		if err == nil {
			c.InferencePorts = ports
		}
		return err
	})
	str(&c.ReplicaAdminTokenFile, "replica-admin-token-file", "file holding the token that lets the control plane load models on replicas")
	str(&c.ReplicaClientTokenFile, "replica-client-token-file", "file holding the token the gateway classifies on replicas with (replicas answer no one else)")
	num(&c.OpsPort, "ops-port", "port for /metrics, /healthz (and, on the control plane, the payload codec endpoint)")
	fs.Func("codec-origins", "control plane: comma-separated Web UI origins allowed to call /codec/, e.g. https://temporal-ui.mgmt:8233", func(s string) error {
		c.CodecOrigins = nil
		for _, o := range strings.Split(s, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.CodecOrigins = append(c.CodecOrigins, strings.TrimRight(o, "/"))
			}
		}
		return nil
	})

	fs.BoolVar(&c.CodecWithoutCredential, "codec-without-credential", c.CodecWithoutCredential,
		"control plane: serve /codec/ without an operator credential, only for a Web UI without a login that loopback alone reaches")

	str(&c.GPUHost, "gpu-host", "GPU host agent: this host's name in the GPU pool")
	str(&c.GPUInventory, "gpu-inventory", "GPU host agent: nvml, libvirt (the hypervisor's node devices, passthrough GPUs included), simulated or auto (NVML when a driver answers)")
	str(&c.TrainerOptionsFile, "trainer-options-file", "GPU host agent: JSON file of training hyperparameters over the defaults (see dure eval --options)")
	num(&c.CheckpointEveryEpochs, "checkpoint-every-epochs", "GPU host agent: checkpoint every N epochs (0: the trainer's default)")
	num(&c.GateMemoryBudgetMiB, "gate-memory-budget-mib", "quality gate: MiB one screening's duplicate index may hold in memory; the rest spills to its work dir")
	fs.DurationVar(&c.MultipartMaxAge, "multipart-max-age", c.MultipartMaxAge, "control plane: how long a tenant's multipart upload may stay incomplete before it is aborted and its parts freed")
	fs.DurationVar(&c.GPUHostTTL, "gpu-host-ttl", c.GPUHostTTL, "control plane: how long a GPU host may go unrenewed before the pool drains it (set when the pool is first created)")
	str(&c.LibvirtURI, "libvirt-uri", "libvirt URI for tenant networks and data VMs, e.g. qemu:///system (empty: none)")
	str(&c.LibvirtBridge, "libvirt-bridge", "Open vSwitch bridge that carries tenant VLANs")

	str(&c.RetrainCron, "retrain-cron", "cron spec of the retraining schedule (empty: no schedule)")
	str(&c.SampleDataDir, "sample-data", "directory with the sample complaints used by --demo")
}

// Parse parses args into the flags RegisterFlags bound, then gives every flag
// not on the command line its DURE_* environment variable or, failing that,
// its key in the config file. A file key that names no flag is an error, so a
// misspelt setting never goes unnoticed.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })

	path := fs.Lookup("config").Value.String()
	if path == "" {
		path = os.Getenv(EnvName("config"))
	}
	file, err := readFile(path)
	if err != nil {
		return err
	}
	for key := range file {
		if key == "config" || fs.Lookup(key) == nil {
			return fmt.Errorf("config file %s: unknown setting %q", path, key)
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if onCommandLine[f.Name] || f.Name == "config" {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(f.Name), err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("config file %s: %s: %w", path, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// readFile reads a YAML mapping of setting names to scalars or lists of
// scalars (lists are joined with commas, as the flags take them).
func readFile(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	out := make(map[string]string, len(doc))
	for k, v := range doc {
		switch v := v.(type) {
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			out[k] = strings.Join(parts, ",")
		case map[string]any:
			return nil, fmt.Errorf("config file %s: %s: want a value or a list, not a mapping", path, k)
		case nil:
			out[k] = ""
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// Resolve makes paths absolute and fills in the embedded default's files
// under the data dir. The embedded S3 server changes the process's working
// directory, so every path must be fixed before it starts.
func (c *Config) Resolve() error {
	var err error
	if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	for _, p := range []*string{&c.CodecKeyFile, &c.StateKeyFile, &c.SampleDataDir, &c.MetadataPasswordFile, &c.TrainerOptionsFile,
		&c.TemporalDatabasePasswordFile, &c.ReplicaAdminTokenFile, &c.ReplicaClientTokenFile, &c.CephEnvFile,
		&c.TemporalTLS.CAFile, &c.TemporalTLS.CertFile, &c.TemporalTLS.KeyFile,
		&c.TemporalServerTLS.CertFile, &c.TemporalServerTLS.KeyFile, &c.TemporalServerTLS.ClientCAFile,
		&c.TemporalServerTLS.InternalCertFile, &c.TemporalServerTLS.InternalKeyFile,
		&c.TemporalServerTLS.UICertFile, &c.TemporalServerTLS.UIKeyFile, &c.UILogin.ClientSecretFile} {
		if *p == "" {
			continue
		}
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	for _, p := range []*string{&c.MetadataURL, &c.TemporalDatabase} {
		if file, ok := strings.CutPrefix(*p, "sqlite:"); ok && file != "" {
			abs, err := filepath.Abs(file)
			if err != nil {
				return err
			}
			*p = "sqlite:" + abs
		}
	}
	return nil
}

// DevDefaults fills in what `dure dev` keeps in its data dir: keys made on
// first start and a SQLite metadata database.
func (c *Config) DevDefaults() {
	if c.CodecKeyFile == "" {
		c.CodecKeyFile = filepath.Join(c.DataDir, "keys", "codec.key")
	}
	if c.StateKeyFile == "" {
		c.StateKeyFile = filepath.Join(c.DataDir, "keys", "state.key")
	}
	if c.MetadataURL == "" {
		c.MetadataURL = "sqlite:" + filepath.Join(c.DataDir, "platform", "dure.db")
	}
}

// Addr joins the configured host with a port.
func (c *Config) Addr(port int) string { return net.JoinHostPort(c.Host, strconv.Itoa(port)) }

// Replica returns the replica of that name.
func (c *Config) Replica(name string) (Replica, bool) {
	i := slices.IndexFunc(c.Replicas, func(r Replica) bool { return r.Name == name })
	if i < 0 {
		return Replica{}, false
	}
	return c.Replicas[i], true
}

func parsePorts(s string) ([]int, error) {
	var ports []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("bad port %q", f)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

func parseReplicas(s string) ([]Replica, error) {
	var out []Replica
	for _, f := range strings.Split(s, ",") {
		name, raw, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("want NAME=URL, got %q", f)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("replica %s: want an http(s) base URL, got %q", name, raw)
		}
		if slices.ContainsFunc(out, func(r Replica) bool { return r.Name == name }) {
			return nil, fmt.Errorf("replica %s named twice", name)
		}
		out = append(out, Replica{Name: name, URL: strings.TrimRight(raw, "/")})
	}
	return out, nil
}

// EnvName is the environment variable of a setting.
func EnvName(setting string) string {
	return "DURE_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// ReadSecretFile reads a one-line secret (a password, a token) from a file,
// without its trailing newline.
func ReadSecretFile(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	return strings.TrimRight(string(raw), "\r\n"), nil
}
