package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dure-platform/dure/activities/cephadmin"
	"github.com/dure-platform/dure/internal/config"
	"github.com/dure-platform/dure/internal/devstack"
	"github.com/dure-platform/dure/internal/roles"
)

// These tests read docker-compose.yaml and infra/prometheus/prometheus.yml as
// an operator's `docker compose up` would, and check that every dure service
// in it would pass its own start-up check (`dure config check`), that the
// ports the services, their healthchecks, Prometheus, the replicas setting,
// Temporal and its UI name agree, and that every Temporal client presents
// its own role's certificate.

const (
	composePath    = "../../docker-compose.yaml"
	prometheusPath = "../../infra/prometheus/prometheus.yml"
	secretsMount   = "/run/secrets/"
)

// composeVars stands in for the operator's environment (or .env) when the
// compose file is interpolated; a ${VAR:?...} missing here fails the tests.
var composeVars = map[string]string{"DURE_S3_ENDPOINT": "rgw.example.test:7480"}

// composeFile is the part of a compose file these tests read.
type composeFile struct {
	Services map[string]*composeService `yaml:"services"`
	Secrets  map[string]composeSecret   `yaml:"secrets"`
}

type composeSecret struct {
	File string `yaml:"file"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Secrets     []string          `yaml:"secrets"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// promConfig is the part of a Prometheus configuration these tests read.
type promConfig struct {
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// loadCompose reads and interpolates the compose file and the Prometheus
// configuration, fresh for each caller (so a test may change what it got).
func loadCompose(t *testing.T) (*composeFile, *promConfig) {
	t.Helper()
	raw, err := os.ReadFile(composePath)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	require.NoError(t, interpolateNode(&doc, composeVars))
	var c composeFile
	require.NoError(t, doc.Decode(&c), "docker-compose.yaml has a shape these tests do not read")
	require.NotEmpty(t, c.Services)

	raw, err = os.ReadFile(prometheusPath)
	require.NoError(t, err)
	var p promConfig
	require.NoError(t, yaml.Unmarshal(raw, &p))
	return &c, &p
}

// interpolateNode applies compose's variable interpolation to every scalar
// value (not to keys, nor twice through an alias).
func interpolateNode(n *yaml.Node, vars map[string]string) error {
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := interpolate(n.Value, vars)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		n.Value = v
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := interpolateNode(n.Content[i], vars); err != nil {
				return err
			}
		}
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := interpolateNode(c, vars); err != nil {
				return err
			}
		}
	}
	return nil
}

// interpolate expands $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default},
// ${NAME:?message} and ${NAME?message} as compose does.
func interpolate(s string, vars map[string]string) (string, error) {
	var b strings.Builder
	isName := func(c byte, first bool) bool {
		return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9'
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ in %q", s)
			}
			expr := s[i+2 : i+end]
			i += end
			j := 0
			for j < len(expr) && isName(expr[j], j == 0) {
				j++
			}
			name, op := expr[:j], expr[j:]
			v, set := vars[name]
			switch {
			case op == "":
				b.WriteString(v)
			case strings.HasPrefix(op, ":-"):
				if v == "" {
					v = op[2:]
				}
				b.WriteString(v)
			case strings.HasPrefix(op, "-"):
				if !set {
					v = op[1:]
				}
				b.WriteString(v)
			case strings.HasPrefix(op, ":?"), strings.HasPrefix(op, "?"):
				if !set || v == "" && op[0] == ':' {
					return "", fmt.Errorf("${%s} is required (%s): add it to composeVars", name, strings.TrimLeft(op, ":?"))
				}
				b.WriteString(v)
			default:
				return "", fmt.Errorf("unsupported interpolation ${%s}", expr)
			}
		case isName(next, true):
			j := i + 1
			for j < len(s) && isName(s[j], false) {
				j++
			}
			b.WriteString(vars[s[i+1:j]])
			i = j - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

func TestComposeInterpolate(t *testing.T) {
	vars := map[string]string{"A": "a", "EMPTY": ""}
	for in, want := range map[string]string{
		"x${A}y": "xay", "$A": "a", "$$A": "$A", "${B:-d}": "d", "${EMPTY:-d}": "d", "${EMPTY-d}": "",
		"${B-d}": "d", "${A:?no}": "a", `"$$(cat f)"`: `"$(cat f)"`, "100$": "100$",
	} {
		got, err := interpolate(in, vars)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"${B:?set B}", "${EMPTY:?set it}", "${B?set B}", "${A"} {
		_, err := interpolate(in, vars)
		assert.Error(t, err, in)
	}
}

// dureServices are the services built from the Dockerfile, by name.
func dureServices(c *composeFile) map[string]*composeService {
	out := map[string]*composeService{}
	for name, s := range c.Services {
		if s.Build != nil {
			out[name] = s
		}
	}
	return out
}

// serviceRole names the role a dure service's command runs, and the
// `dure config check` arguments that check it with the command's own flags.
func serviceRole(argv []string) (config.Role, []string, error) {
	if len(argv) == 0 {
		return "", nil, fmt.Errorf("no command")
	}
	known := slices.ContainsFunc(commands(), func(c command) bool { return c.name == argv[0] })
	if !known {
		return "", nil, fmt.Errorf("%q is not a dure command", argv[0])
	}
	switch argv[0] {
	case "worker":
		role := flagValue(argv[1:], "role")
		r, err := config.ParseRole(role)
		if err != nil || !slices.Contains(config.WorkerRoles(), r) {
			return "", nil, fmt.Errorf("worker --role %q is not a worker role", role)
		}
		return r, append([]string{"config", "check"}, argv[1:]...), nil
	case "gateway", "inference", "temporal":
		r := config.Role(argv[0])
		return r, append([]string{"config", "check", "--role", string(r)}, argv[1:]...), nil
	}
	return "", nil, fmt.Errorf("dure %s is not a service role", argv[0])
}

// flagValue finds --name V or --name=V in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// pemSettings are the settings that name PEM files, by what each holds:
// `dure config check` only checks that they exist.
var pemSettings = map[string]string{
	"temporal-tls-ca": "CERTIFICATE", "temporal-tls-cert": "CERTIFICATE", "temporal-tls-key": "PRIVATE KEY",
	"temporal-server-cert": "CERTIFICATE", "temporal-server-key": "PRIVATE KEY", "temporal-client-ca": "CERTIFICATE",
	"temporal-internal-cert": "CERTIFICATE", "temporal-internal-key": "PRIVATE KEY",
	"temporal-ui-cert": "CERTIFICATE", "temporal-ui-key": "PRIVATE KEY",
}

// testSecretContent is what a secret file holds, by the setting that names it.
func testSecretContent(env string) (string, bool) {
	for setting, block := range pemSettings {
		if env == config.EnvName(setting) {
			return "-----BEGIN " + block + "-----\n(compose test: stat only)\n-----END " + block + "-----\n", true
		}
	}
	switch {
	case env == config.EnvName("ceph-env-file"):
		return "# a Ceph env file as infra/ceph/up.sh writes it\n" +
			"export CEPH_CONF=/etc/ceph/ceph.conf\n" +
			"DURE_CEPH_RGW_ENDPOINT=http://rgw.example.test:7480\n" +
			"DURE_CEPH_ADMIN_UID=dure-platform-admin\n" +
			"DURE_CEPH_ADMIN_ACCESS_KEY='TESTACCESSKEY0000000'\n" +
			"DURE_CEPH_ADMIN_SECRET_KEY=\"test-secret-key-0000000000000000000000000\"\n", true
	case strings.HasSuffix(env, "_KEY_FILE"):
		return strings.Repeat("0123456789abcdef", 4) + "\n", true
	case strings.HasSuffix(env, "_PASSWORD_FILE"):
		return "compose-test-password\n", true
	case strings.HasSuffix(env, "_TOKEN_FILE"):
		return "compose-test-token\n", true
	}
	return "", false
}

// configCheck runs `dure config check` in-process for a service, with its
// environment applied and each /run/secrets/NAME replaced by a temporary file
// holding what that setting needs. The process's own DURE_* variables are
// cleared for the run.
func configCheck(t *testing.T, c *composeFile, name string, s *composeService) (string, error) {
	t.Helper()
	_, args, err := serviceRole(s.Command)
	require.NoError(t, err, "service %s: command %q", name, s.Command)

	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DURE_") {
			t.Setenv(k, "")
			require.NoError(t, os.Unsetenv(k))
		}
	}
	dir := t.TempDir()
	written := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		v := s.Environment[k]
		if secret, ok := strings.CutPrefix(v, secretsMount); ok {
			require.Contains(t, s.Secrets, secret, "service %s: %s names secret %s, which it does not mount", name, k, secret)
			require.Contains(t, c.Secrets, secret, "service %s: secret %s is not declared", name, secret)
			content, known := testSecretContent(k)
			require.True(t, known, "service %s: %s names a secret of a kind this test does not know", name, k)
			if prev, ok := written[secret]; ok {
				require.Equal(t, prev, content, "secret %s serves two kinds of setting", secret)
			}
			written[secret] = content
			v = filepath.Join(dir, secret)
			require.NoError(t, os.WriteFile(v, []byte(content), 0o600))
		}
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), args, &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

func TestComposeServicesPassConfigCheck(t *testing.T) {
	c, _ := loadCompose(t)
	services := dureServices(c)
	roles := map[config.Role][]string{}
	for _, name := range slices.Sorted(maps.Keys(services)) {
		s := services[name]
		role, _, err := serviceRole(s.Command)
		require.NoError(t, err, "service %s: command %q", name, s.Command)
		roles[role] = append(roles[role], name)
		t.Run(name, func(t *testing.T) {
			out, err := configCheck(t, c, name, s)
			require.NoError(t, err, "dure %s\n%s", strings.Join(s.Command, " "), out)
			assert.Contains(t, out, "ok: the configuration of "+string(role)+" is complete")
		})
	}
	// One process per role, two GPU hosts and two replicas; Temporal is
	// dure's own server, whose authorizer and sender stamp decisions need.
	assert.Equal(t, map[config.Role][]string{
		config.RoleTemporal:     {"temporal"},
		config.RoleControlPlane: {"control-plane"},
		config.RoleQualityGate:  {"quality-gate"},
		config.RoleGPUHost:      {"gpu-1", "gpu-2"},
		config.RoleGateway:      {"gateway"},
		config.RoleInference:    {"inference-1", "inference-2"},
	}, roles)
}

func TestComposeTestSecretsAreValid(t *testing.T) {
	// The stand-in Ceph env file must be one the control plane would load.
	content, ok := testSecretContent(config.EnvName("ceph-env-file"))
	require.True(t, ok)
	path := filepath.Join(t.TempDir(), "ceph.env")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	env, err := cephadmin.LoadEnv(path)
	require.NoError(t, err)
	assert.Equal(t, "/etc/ceph/ceph.conf", env.CephConf)
	assert.Equal(t, "TESTACCESSKEY0000000", env.AdminAccessKey)
	assert.Empty(t, env.RGWName, "the control plane must not manage a local RGW")
}

func TestComposeConfigCheckFailsOnBrokenEnv(t *testing.T) {
	for _, tc := range []struct {
		name, service, want string
		change              func(*composeService)
	}{
		{"no metadata URL", "control-plane", "metadata-url", func(s *composeService) { delete(s.Environment, "DURE_METADATA_URL") }},
		{"password in the metadata URL", "gateway", "not in the URL", func(s *composeService) {
			s.Environment["DURE_METADATA_URL"] = "postgres://dure:secret@postgres:5432/dure"
		}},
		{"no Ceph env file", "control-plane", "ceph-env-file", func(s *composeService) { delete(s.Environment, "DURE_CEPH_ENV_FILE") }},
		{"no state key", "inference-1", "state-key-file", func(s *composeService) { delete(s.Environment, "DURE_STATE_KEY_FILE") }},
		{"S3 endpoint without port", "quality-gate", "s3-endpoint", func(s *composeService) { s.Environment["DURE_S3_ENDPOINT"] = "rgw" }},
		{"bad ops port", "gpu-1", "DURE_OPS_PORT", func(s *composeService) { s.Environment["DURE_OPS_PORT"] = "ops" }},
		{"unknown flag", "gateway", "no-such-flag", func(s *composeService) { s.Command = append(s.Command, "--no-such-flag") }},
		{"no Temporal database", "temporal", "temporal-database", func(s *composeService) { delete(s.Environment, "DURE_TEMPORAL_DATABASE") }},
		{"server TLS without the UI's certificate", "temporal", "temporal-ui-cert", func(s *composeService) {
			delete(s.Environment, "DURE_TEMPORAL_UI_CERT")
		}},
		{"server TLS without the internal key", "temporal", "temporal-internal-key", func(s *composeService) {
			delete(s.Environment, "DURE_TEMPORAL_INTERNAL_KEY")
		}},
		{"client certificate without its key", "quality-gate", "temporal-tls-cert", func(s *composeService) {
			delete(s.Environment, "DURE_TEMPORAL_TLS_KEY")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := loadCompose(t)
			s := c.Services[tc.service]
			require.NotNil(t, s, tc.service)
			tc.change(s)
			out, err := configCheck(t, c, tc.service, s)
			require.Error(t, err, out)
			assert.Contains(t, err.Error()+out, tc.want)
		})
	}
}

// replicasOf parses a DURE_REPLICAS value with the flag that reads it.
func replicasOf(v string) ([]config.Replica, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("replicas", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	err := fs.Set("replicas", v)
	return cfg.Replicas, err
}

// settingOr is a service's DURE_* setting, or the built-in default.
func settingOr(s *composeService, setting, def string) string {
	if v, ok := s.Environment[config.EnvName(setting)]; ok {
		return v
	}
	return def
}

// containerPorts are the container ports a service publishes on the host.
func containerPorts(s *composeService) []string {
	var out []string
	for _, p := range s.Ports {
		parts := strings.Split(strings.TrimSuffix(p, "/tcp"), ":")
		out = append(out, parts[len(parts)-1])
	}
	return out
}

// hostPortFor is the host port that publishes a container port, or "".
func hostPortFor(s *composeService, containerPort string) string {
	for _, p := range s.Ports {
		parts := strings.Split(strings.TrimSuffix(p, "/tcp"), ":")
		if len(parts) >= 2 && parts[len(parts)-1] == containerPort {
			return parts[len(parts)-2]
		}
	}
	return ""
}

// composePortProblems lists every disagreement between the ports and
// addresses the compose file and the Prometheus configuration name.
func composePortProblems(c *composeFile, p *promConfig) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	def := config.Default()

	targets := map[string]string{} // target -> job
	for _, sc := range p.ScrapeConfigs {
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			bad("prometheus job %s scrapes %s, not /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				targets[target] = sc.JobName
			}
		}
	}
	byImage := func(prefix string) (string, *composeService) {
		for name, s := range c.Services {
			if strings.HasPrefix(s.Image, prefix) {
				return name, s
			}
		}
		return "", nil
	}

	type replica struct{ name, port string }
	inference := map[string]replica{} // service -> replica
	replicaSettings := map[string][]config.Replica{}
	controlPlane, controlPlaneOps := "", ""
	for _, name := range slices.Sorted(maps.Keys(dureServices(c))) {
		s := c.Services[name]
		role, _, err := serviceRole(s.Command)
		if err != nil {
			bad("service %s: %v", name, err)
			continue
		}
		if role == config.RoleTemporal {
			// `dure temporal` has no ops port: its healthcheck and the rest
			// are checked with the Temporal clients below.
			continue
		}
		ops := settingOr(s, "ops-port", strconv.Itoa(def.OpsPort))
		if s.Healthcheck == nil {
			bad("service %s has no healthcheck", name)
		} else {
			i := slices.IndexFunc(s.Healthcheck.Test, func(a string) bool { return strings.HasPrefix(a, "http://") })
			if i < 0 {
				bad("service %s: healthcheck %q probes no URL", name, s.Healthcheck.Test)
			} else if u, err := url.Parse(s.Healthcheck.Test[i]); err != nil || u.Port() != ops || u.Path != "/healthz" ||
				(u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
				bad("service %s: healthcheck %s is not its own ops port %s /healthz", name, s.Healthcheck.Test[i], ops)
			}
		}
		if _, ok := targets[net.JoinHostPort(name, ops)]; !ok {
			bad("prometheus scrapes no %s", net.JoinHostPort(name, ops))
		}
		switch role {
		case config.RoleInference:
			rn := flagValue(s.Command[1:], "replica-name")
			if rn == "" {
				rn = settingOr(s, "replica-name", "")
			}
			inference[name] = replica{rn, settingOr(s, "inference-port", strconv.Itoa(def.InferencePort))}
		case config.RoleGateway:
			gp := settingOr(s, "gateway-port", strconv.Itoa(def.GatewayPort))
			if !slices.Contains(containerPorts(s), gp) {
				bad("service %s: publishes %q, not its gateway port %s", name, s.Ports, gp)
			}
		case config.RoleControlPlane:
			controlPlane, controlPlaneOps = name, ops
		}
		if role == config.RoleGateway || role == config.RoleControlPlane {
			rs, err := replicasOf(settingOr(s, "replicas", ""))
			if err != nil {
				bad("service %s: DURE_REPLICAS: %v", name, err)
			}
			replicaSettings[name] = rs
		}
	}

	// Replicas: each URL names an inference service, by its replica name, on
	// its inference port; every inference service is named.
	var settings [][]config.Replica
	for _, name := range slices.Sorted(maps.Keys(replicaSettings)) {
		rs := replicaSettings[name]
		settings = append(settings, rs)
		seen := map[string]bool{}
		for _, r := range rs {
			u, _ := url.Parse(r.URL)
			inf, ok := inference[u.Hostname()]
			switch {
			case !ok:
				bad("service %s: replica %s at %s is no inference service", name, r.Name, r.URL)
			case inf.name != r.Name:
				bad("service %s: replica %s at %s is replica %q there", name, r.Name, r.URL, inf.name)
			case u.Port() != inf.port:
				bad("service %s: replica %s at %s, but %s listens on %s", name, r.Name, r.URL, u.Hostname(), inf.port)
			}
			seen[u.Hostname()] = true
		}
		for inf := range inference {
			if !seen[inf] {
				bad("service %s: DURE_REPLICAS leaves out %s", name, inf)
			}
		}
	}
	for i := 1; i < len(settings); i++ {
		if !slices.Equal(settings[0], settings[i]) {
			bad("the gateway and the control plane name different replicas")
		}
	}

	// Temporal: one `dure temporal` service; every address names it and its
	// frontend port, which its healthcheck probes.
	temporal, server := roleService(c, config.RoleTemporal)
	if server == nil {
		bad("no service runs `dure temporal`")
	} else {
		port := settingOr(server, "temporal-port", strconv.Itoa(def.TemporalPort))
		frontend := net.JoinHostPort(temporal, port)
		if server.Healthcheck == nil || !probesLoopback(server.Healthcheck.Test, port) {
			bad("service %s: healthcheck does not probe its frontend port %s on loopback", temporal, port)
		}
		if ip, hostPort := publishedOn(server, port); hostPort != "" && ip != "127.0.0.1" {
			bad("service %s: publishes its frontend port %s on %q, not on 127.0.0.1 only", temporal, port, ip)
		}
		for _, name := range slices.Sorted(maps.Keys(c.Services)) {
			if addr, ok := c.Services[name].Environment["DURE_TEMPORAL_ADDRESS"]; ok && addr != frontend {
				bad("service %s: Temporal at %s, but the frontend is %s", name, addr, frontend)
			}
		}
	}

	// The UI hands its codec endpoint to the operator's browser, which calls
	// it: it must be the control plane's ops port as published on the host's
	// loopback, and the control plane must let the UI's origin call it. The UI
	// has no login, so it is published on loopback alone.
	if server != nil {
		codec := server.Environment[config.EnvName("ui-codec-endpoint")]
		u, err := url.Parse(codec)
		cp := c.Services[controlPlane]
		if err != nil || cp == nil || u.Hostname() != "127.0.0.1" || hostPortFor(cp, controlPlaneOps) != u.Port() || u.Path != "/codec" {
			bad("service %s: codec endpoint %q is not http://127.0.0.1:PORT/codec with the host port that publishes %s's ops port %s",
				temporal, codec, controlPlane, controlPlaneOps)
		}
		port := settingOr(server, "ui-port", strconv.Itoa(def.UIPort))
		switch ip, hostPort := publishedOn(server, port); {
		case hostPort == "":
			bad("service %s: publishes %q, not its UI port %s", temporal, server.Ports, port)
		case ip != "127.0.0.1":
			bad("service %s: publishes its UI port %s on %q, not on 127.0.0.1 only: the UI has no login", temporal, port, ip)
		}
		if cp != nil {
			origins := strings.Split(cp.Environment["DURE_CODEC_ORIGINS"], ",")
			if !slices.Contains(origins, "http://127.0.0.1:"+hostPortFor(server, port)) {
				bad("service %s: DURE_CODEC_ORIGINS %q does not let the UI at http://127.0.0.1:%s call the codec",
					controlPlane, cp.Environment["DURE_CODEC_ORIGINS"], hostPortFor(server, port))
			}
			if ip, _ := publishedOn(cp, controlPlaneOps); cp.Environment["DURE_CODEC_WITHOUT_CREDENTIAL"] == "true" && ip != "127.0.0.1" {
				bad("service %s: serves the codec without a credential, but publishes its ops port %s on %q, not on 127.0.0.1 only",
					controlPlane, controlPlaneOps, ip)
			}
		}
	}

	// Prometheus reads infra/prometheus/prometheus.yml.
	promName, prom := byImage("prom/prometheus:")
	if prom == nil {
		bad("no prom/prometheus service")
	} else {
		cfgPath := "/etc/prometheus/prometheus.yml"
		for _, a := range prom.Command {
			if v, ok := strings.CutPrefix(a, "--config.file="); ok {
				cfgPath = v
			}
		}
		if !slices.ContainsFunc(prom.Volumes, func(v string) bool {
			return strings.HasPrefix(v, "./infra/prometheus/prometheus.yml:"+cfgPath)
		}) {
			bad("service %s does not mount infra/prometheus/prometheus.yml at %s", promName, cfgPath)
		}
	}

	// depends_on names services, and waits for health only where there is a check.
	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			switch {
			case !ok:
				bad("service %s depends on unknown %s", name, dep)
			case d.Condition == "service_healthy" && target.Healthcheck == nil:
				bad("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
	}
	return problems
}

// roleService is the one dure service that runs role, or nil.
func roleService(c *composeFile, role config.Role) (string, *composeService) {
	for _, name := range slices.Sorted(maps.Keys(dureServices(c))) {
		if r, _, err := serviceRole(c.Services[name].Command); err == nil && r == role {
			return name, c.Services[name]
		}
	}
	return "", nil
}

// publishedOn is the host IP ("" for every interface) and the host port that
// publish a container port; hostPort is "" when it is not published.
func publishedOn(s *composeService, containerPort string) (ip, hostPort string) {
	for _, p := range s.Ports {
		parts := strings.Split(strings.TrimSuffix(p, "/tcp"), ":")
		if len(parts) >= 2 && parts[len(parts)-1] == containerPort {
			if len(parts) == 3 {
				ip = parts[0]
			}
			return ip, parts[len(parts)-2]
		}
	}
	return "", ""
}

// loopbackProbe finds the ports a healthcheck argument connects to on
// loopback, over HTTP or with bash's /dev/tcp.
var loopbackProbe = regexp.MustCompile(`(?:/dev/tcp/(?:127\.0\.0\.1|localhost)/|://(?:127\.0\.0\.1|localhost):)([0-9]+)\b`)

// probesLoopback tells whether a healthcheck connects to port on loopback.
func probesLoopback(test []string, port string) bool {
	return slices.ContainsFunc(test, func(a string) bool {
		return slices.ContainsFunc(loopbackProbe.FindAllStringSubmatch(a, -1), func(m []string) bool { return m[1] == port })
	})
}

func TestComposePortsAgree(t *testing.T) {
	c, p := loadCompose(t)
	assert.Empty(t, composePortProblems(c, p))
}

func TestComposePortProblemsAreFound(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		change     func(*composeFile, *promConfig)
	}{
		{"healthcheck on another port", "healthcheck", func(c *composeFile, _ *promConfig) {
			hc := *c.Services["gateway"].Healthcheck
			hc.Test = slices.Clone(hc.Test)
			hc.Test[len(hc.Test)-1] = "http://127.0.0.1:9091/healthz"
			c.Services["gateway"].Healthcheck = &hc
		}},
		{"ops port moved, healthcheck and scrape not", "prometheus scrapes no quality-gate:9191", func(c *composeFile, _ *promConfig) {
			c.Services["quality-gate"].Environment["DURE_OPS_PORT"] = "9191"
		}},
		{"service not scraped", "prometheus scrapes no gpu-2:9090", func(_ *composeFile, p *promConfig) {
			for i := range p.ScrapeConfigs {
				for j := range p.ScrapeConfigs[i].StaticConfigs {
					p.ScrapeConfigs[i].StaticConfigs[j].Targets = slices.DeleteFunc(slices.Clone(p.ScrapeConfigs[i].StaticConfigs[j].Targets),
						func(s string) bool { return s == "gpu-2:9090" })
				}
			}
		}},
		{"replica on an unknown host", "no inference service", func(c *composeFile, _ *promConfig) {
			c.Services["gateway"].Environment["DURE_REPLICAS"] = "inference-1=http://inference-1:8091,inference-2=http://inference-3:8091"
		}},
		{"replica on the wrong port", "listens on 8091", func(c *composeFile, _ *promConfig) {
			c.Services["control-plane"].Environment["DURE_REPLICAS"] = "inference-1=http://inference-1:8092,inference-2=http://inference-2:8091"
		}},
		{"replica name swapped", "is replica", func(c *composeFile, _ *promConfig) {
			c.Services["gateway"].Environment["DURE_REPLICAS"] = "inference-2=http://inference-1:8091,inference-1=http://inference-2:8091"
		}},
		{"inference port moved", "listens on 8099", func(c *composeFile, _ *promConfig) {
			c.Services["inference-2"].Environment["DURE_INFERENCE_PORT"] = "8099"
		}},
		{"gateway port not published", "not its gateway port", func(c *composeFile, _ *promConfig) {
			c.Services["gateway"].Environment["DURE_GATEWAY_PORT"] = "8081"
		}},
		{"Temporal on another port", "the frontend is temporal:7233", func(c *composeFile, _ *promConfig) {
			c.Services["gpu-1"].Environment["DURE_TEMPORAL_ADDRESS"] = "temporal:7234"
		}},
		{"Temporal frontend moved", "the frontend is temporal:7234", func(c *composeFile, _ *promConfig) {
			c.Services["temporal"].Environment["DURE_TEMPORAL_PORT"] = "7234"
		}},
		{"Temporal healthcheck on another port", "healthcheck does not probe its frontend port 7233", func(c *composeFile, _ *promConfig) {
			hc := *c.Services["temporal"].Healthcheck
			hc.Test = []string{"CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/72330"}
			c.Services["temporal"].Healthcheck = &hc
		}},
		{"no dure temporal", "no service runs `dure temporal`", func(c *composeFile, _ *promConfig) {
			delete(c.Services, "temporal")
		}},
		{"Temporal frontend on every interface", "frontend port 7233", func(c *composeFile, _ *promConfig) {
			c.Services["temporal"].Ports = []string{"7233:7233", "127.0.0.1:8233:8233"}
		}},
		{"UI on every interface", "the UI has no login", func(c *composeFile, _ *promConfig) {
			c.Services["temporal"].Ports = []string{"127.0.0.1:7233:7233", "8233:8233"}
		}},
		{"UI port not published", "not its UI port", func(c *composeFile, _ *promConfig) {
			c.Services["temporal"].Environment["DURE_UI_PORT"] = "8234"
		}},
		{"UI codec on the wrong port", "codec endpoint", func(c *composeFile, _ *promConfig) {
			c.Services["temporal"].Environment["DURE_UI_CODEC_ENDPOINT"] = "http://127.0.0.1:9092/codec"
		}},
		{"UI codec at another path", "codec endpoint", func(c *composeFile, _ *promConfig) {
			c.Services["temporal"].Environment["DURE_UI_CODEC_ENDPOINT"] = "http://127.0.0.1:9091/decode"
		}},
		{"UI codec at a name the browser does not reach", "codec endpoint", func(c *composeFile, _ *promConfig) {
			c.Services["temporal"].Environment["DURE_UI_CODEC_ENDPOINT"] = "http://control-plane:9091/codec"
		}},
		{"UI not allowed to call the codec", "DURE_CODEC_ORIGINS", func(c *composeFile, _ *promConfig) {
			c.Services["control-plane"].Environment["DURE_CODEC_ORIGINS"] = "http://127.0.0.1:8080"
		}},
		{"codec without a credential on every interface", "without a credential", func(c *composeFile, _ *promConfig) {
			c.Services["control-plane"].Ports = []string{"9091:9090"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, p := loadCompose(t)
			tc.change(c, p)
			problems := composePortProblems(c, p)
			require.NotEmpty(t, problems)
			assert.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// composeTLSProblems lists what breaks Temporal's mutual TLS: the server's
// certificates, a client without its own role's certificate or with another
// CA, a key mounted where its role does not run, the CA's key as a secret,
// or a client that does not wait for the server.
func composeTLSProblems(c *composeFile) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	// file is the host file of the secret a setting of s names.
	file := func(name string, s *composeService, setting string) string {
		v, ok := s.Environment[config.EnvName(setting)]
		if !ok {
			return ""
		}
		secret, ok := strings.CutPrefix(v, secretsMount)
		if !ok || !slices.Contains(s.Secrets, secret) {
			bad("service %s: %s %q is no secret it mounts", name, config.EnvName(setting), v)
			return ""
		}
		return c.Secrets[secret].File
	}
	for name, sec := range c.Secrets {
		if path.Base(sec.File) == "ca-key.pem" {
			bad("secret %s is the CA's key, which stays on the host", name)
		}
	}

	temporal, server := roleService(c, config.RoleTemporal)
	ca := ""
	if server != nil {
		ca = file(temporal, server, "temporal-client-ca")
		if ca == "" {
			bad("service %s: no temporal-client-ca: the frontend must require client certificates", temporal)
		}
		for setting, want := range map[string]string{
			"temporal-server-cert": devstack.PKIRoleServer + ".pem", "temporal-server-key": devstack.PKIRoleServer + "-key.pem",
			"temporal-internal-cert": devstack.PKIRoleInternal + ".pem", "temporal-internal-key": devstack.PKIRoleInternal + "-key.pem",
			"temporal-ui-cert": roles.WebUI + ".pem", "temporal-ui-key": roles.WebUI + "-key.pem",
		} {
			if got := path.Base(file(temporal, server, setting)); got != want {
				bad("service %s: %s is %q, not %s", temporal, config.EnvName(setting), got, want)
			}
		}
	}

	// waits tells whether a service starts only once the server is healthy,
	// itself or through what it waits for.
	var waits func(name string, seen map[string]bool) bool
	waits = func(name string, seen map[string]bool) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		for dep, d := range c.Services[name].DependsOn {
			if d.Condition == "service_healthy" && (dep == temporal || c.Services[dep] != nil && waits(dep, seen)) {
				return true
			}
		}
		return false
	}

	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		s := c.Services[name]
		role, _, err := serviceRole(s.Command)
		own := map[string]bool{}
		switch {
		case s.Build != nil && err == nil && role == config.RoleTemporal:
			for _, r := range []string{devstack.PKIRoleServer, devstack.PKIRoleInternal, roles.WebUI} {
				own[r+"-key.pem"] = true
			}
		case s.Environment["DURE_TEMPORAL_ADDRESS"] != "":
			if err != nil {
				bad("service %s dials Temporal, but %v", name, err)
				continue
			}
			own[string(role)+"-key.pem"] = true
			cert, key := file(name, s, "temporal-tls-cert"), file(name, s, "temporal-tls-key")
			switch {
			case cert == "" || key == "":
				bad("service %s: no client certificate and key: the frontend refuses it", name)
			case path.Base(cert) != string(role)+".pem" || path.Base(key) != string(role)+"-key.pem":
				bad("service %s: client certificate %s (key %s) is not its role's %s.pem", name, path.Base(cert), path.Base(key), role)
			}
			if got := file(name, s, "temporal-tls-ca"); ca != "" && got != ca {
				bad("service %s: temporal-tls-ca is %q, not %s, the CA of the frontend's and every client's certificate", name, got, ca)
			}
			if !waits(name, map[string]bool{}) {
				bad("service %s dials Temporal but does not wait for %s to be healthy", name, temporal)
			}
		}
		for _, secret := range s.Secrets {
			if f := path.Base(c.Secrets[secret].File); strings.HasSuffix(f, "-key.pem") && !own[f] {
				bad("service %s mounts %s, another role's key", name, f)
			}
		}
	}
	return problems
}

func TestComposeTLSAgrees(t *testing.T) {
	c, _ := loadCompose(t)
	assert.Empty(t, composeTLSProblems(c))
}

func TestComposeTLSProblemsAreFound(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		change     func(*composeFile)
	}{
		{"gateway with the control plane's certificate", "service gateway: client certificate control-plane.pem", func(c *composeFile) {
			s := c.Services["gateway"]
			s.Environment["DURE_TEMPORAL_TLS_CERT"] = "/run/secrets/control_plane_cert"
			s.Environment["DURE_TEMPORAL_TLS_KEY"] = "/run/secrets/control_plane_key"
			s.Secrets = append(slices.Clone(s.Secrets), "control_plane_cert", "control_plane_key")
		}},
		{"client without a certificate", "service gpu-2: no client certificate", func(c *composeFile) {
			delete(c.Services["gpu-2"].Environment, "DURE_TEMPORAL_TLS_CERT")
			delete(c.Services["gpu-2"].Environment, "DURE_TEMPORAL_TLS_KEY")
		}},
		{"certificate not mounted", "is no secret it mounts", func(c *composeFile) {
			s := c.Services["quality-gate"]
			s.Secrets = slices.DeleteFunc(slices.Clone(s.Secrets), func(x string) bool { return x == "quality_gate_cert" })
		}},
		{"client trusts another CA", "service gpu-1: temporal-tls-ca", func(c *composeFile) {
			c.Secrets["other_ca"] = composeSecret{File: "./secrets/pki/other-ca.pem"}
			s := c.Services["gpu-1"]
			s.Environment["DURE_TEMPORAL_TLS_CA"] = "/run/secrets/other_ca"
			s.Secrets = append(slices.Clone(s.Secrets), "other_ca")
		}},
		{"another role's key mounted", "service quality-gate mounts control-plane-key.pem", func(c *composeFile) {
			s := c.Services["quality-gate"]
			s.Secrets = append(slices.Clone(s.Secrets), "control_plane_key")
		}},
		{"the CA's key as a secret", "the CA's key", func(c *composeFile) {
			c.Secrets["ca_key"] = composeSecret{File: "./secrets/pki/ca-key.pem"}
		}},
		{"UI with the server's certificate", "DURE_TEMPORAL_UI_CERT", func(c *composeFile) {
			c.Services["temporal"].Environment["DURE_TEMPORAL_UI_CERT"] = "/run/secrets/temporal_server_cert"
		}},
		{"frontend without client certificates", "temporal-client-ca", func(c *composeFile) {
			delete(c.Services["temporal"].Environment, "DURE_TEMPORAL_CLIENT_CA")
		}},
		{"control plane does not wait for Temporal", "service control-plane dials Temporal but does not wait", func(c *composeFile) {
			delete(c.Services["control-plane"].DependsOn, "temporal")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := loadCompose(t)
			tc.change(c)
			problems := composeTLSProblems(c)
			require.NotEmpty(t, problems)
			assert.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

func TestComposeImageAndSecretsFiles(t *testing.T) {
	c, _ := loadCompose(t)
	dockerfile, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	assert.Contains(t, string(dockerfile), `ENTRYPOINT ["dure"]`, "compose commands leave out the binary's name")
	for name, s := range dureServices(c) {
		assert.Equal(t, ".", s.Build.Context, "service %s builds from the repository root", name)
		assert.Contains(t, []string{"", "Dockerfile"}, s.Build.Dockerfile, "service %s", name)
	}

	// Secret files live in the git-ignored secrets folder by default.
	gitignore, err := os.ReadFile("../../.gitignore")
	require.NoError(t, err)
	assert.Contains(t, strings.Fields(string(gitignore)), "/secrets/")
	for name, s := range c.Secrets {
		assert.True(t, strings.HasPrefix(s.File, "./secrets/"), "secret %s is read from %s", name, s.File)
	}
	// Every secret a service mounts is declared.
	for name, s := range c.Services {
		for _, secret := range s.Secrets {
			assert.Contains(t, c.Secrets, secret, "service %s mounts undeclared secret %s", name, secret)
		}
	}
}
