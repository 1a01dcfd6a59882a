package topology

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/activities/cephadmin"
	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/pki"
)

// cluster is a production-shaped dure on one machine: each role a process of
// the real binary, configured only through DURE_* variables, as a deployment
// configures them.
type cluster struct {
	t   *testing.T
	bin string
	dir string
	// common are the settings every service shares.
	common map[string]string
	// roles holds each process's command line and own settings.
	roles map[string]role
	procs map[string]*process

	pg          metadb.Config
	temporalDBs []string
	// certs are the client certificates of each role, and "operator"'s.
	certs    map[string]pki.Bundle
	ceph     cephadmin.Env
	opsPorts map[string]int
}

type role struct {
	args []string
	env  map[string]string
}

// process is one running dure process; its output goes to a log file that a
// failing test prints.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// Process names; the GPU hosts are the pool's host names too.
const (
	procTemporal     = "temporal"
	procControlPlane = "control-plane"
	procQualityGate  = "quality-gate"
	procGPUA         = "gpu-a"
	procGPUB         = "gpu-b"
	procGateway      = "gateway"
	procInference1   = "inference-1"
	procInference2   = "inference-2"
)

// serviceOrder is the start order: Temporal first (the others dial it at
// start), the control plane next (it provisions the S3 identities the others
// wait for).
var serviceOrder = []string{procTemporal, procControlPlane, procQualityGate, procGPUA, procGPUB, procInference1, procInference2, procGateway}

func newCluster(t *testing.T, bin string, pg metadb.Config, ceph cephadmin.Env, libvirtURI string) *cluster {
	t.Helper()
	dir := t.TempDir()
	suffix := randomHex(t, 4)
	c := &cluster{t: t, bin: bin, dir: dir, pg: pg, ceph: ceph, procs: map[string]*process{}, opsPorts: map[string]int{}}

	keyFile := func(name string) string {
		path := filepath.Join(dir, "secrets", name)
		writeFile(t, path, randomHex(t, 32)+"\n")
		return path
	}
	pgPassword := filepath.Join(dir, "secrets", "postgres.password")
	writeFile(t, pgPassword, pg.Password+"\n")
	adminToken := keyFile("replica-admin.token")
	clientToken := keyFile("replica-client.token")
	u, err := url.Parse(ceph.RGWEndpoint)
	require.NoError(t, err)

	// Mutual TLS on the frontend: a certificate per service role, of one CA.
	ca, err := pki.OpenAuthority(filepath.Join(dir, "pki"))
	require.NoError(t, err)
	issue := func(role string, hosts ...string) pki.Bundle {
		b, err := ca.Issue(role, hosts...)
		require.NoError(t, err)
		return b
	}
	server, internal := issue("temporal", "127.0.0.1"), issue("temporal-internal")
	c.certs = map[string]pki.Bundle{}
	for _, role := range []string{procControlPlane, procQualityGate, "gpu-host", procGateway, "operator"} {
		c.certs[role] = issue(role)
	}

	temporalPort := freePort(t)
	c.common = map[string]string{
		"DURE_HOST":                   "127.0.0.1",
		"DURE_TEMPORAL_ADDRESS":       fmt.Sprintf("127.0.0.1:%d", temporalPort),
		"DURE_NAMESPACE":              "default",
		"DURE_METADATA_URL":           pg.URL,
		"DURE_METADATA_PASSWORD_FILE": pgPassword,
		"DURE_METADATA_SCHEMA":        "topology_" + suffix,
		"DURE_STATE_KEY_FILE":         keyFile("state.key"),
		"DURE_CODEC_KEY_FILE":         keyFile("codec.key"),
		"DURE_S3_ENDPOINT":            u.Host,
	}
	c.pg.Schema = c.common["DURE_METADATA_SCHEMA"]
	pgURL, err := url.Parse(pg.URL)
	require.NoError(t, err)
	temporalDB := "temporal_topology_" + suffix
	c.temporalDBs = []string{temporalDB, temporalDB + "_visibility"}
	pgURL.Path = "/" + temporalDB

	ports := map[string]int{procGateway: freePort(t), procInference1: freePort(t), procInference2: freePort(t)}
	replicas := fmt.Sprintf("%s=http://127.0.0.1:%d,%s=http://127.0.0.1:%d", procInference1, ports[procInference1], procInference2, ports[procInference2])
	trainerOptions := filepath.Join(dir, "trainer-options.json")
	// Every epoch runs (no early stop) and a checkpoint lands every ten, so a
	// training run lasts long enough to lose its host in the middle, and
	// writes a handful of checkpoints, not dozens.
	writeFile(t, trainerOptions, `{"epochs": 60, "tolerance": 1e-12}`)
	gpuHost := func(name string) role {
		return role{args: []string{"worker", "--role", "gpu-host"}, env: map[string]string{
			"DURE_GPU_HOST": name, "DURE_GPU_INVENTORY": "simulated",
			"DURE_TRAINER_OPTIONS_FILE": trainerOptions, "DURE_CHECKPOINT_EVERY_EPOCHS": "10",
		}}
	}
	c.roles = map[string]role{
		procTemporal: {args: []string{"temporal"}, env: map[string]string{
			"DURE_TEMPORAL_PORT": strconv.Itoa(temporalPort), "DURE_UI_PORT": "0",
			"DURE_TEMPORAL_SERVER_CERT": server.CertFile, "DURE_TEMPORAL_SERVER_KEY": server.KeyFile,
			"DURE_TEMPORAL_CLIENT_CA": server.CAFile, "DURE_TEMPORAL_TLS_SERVER_NAME": "127.0.0.1",
			"DURE_TEMPORAL_INTERNAL_CERT": internal.CertFile, "DURE_TEMPORAL_INTERNAL_KEY": internal.KeyFile,
			"DURE_TEMPORAL_DATABASE": pgURL.String(), "DURE_TEMPORAL_DATABASE_PASSWORD_FILE": pgPassword,
			"DURE_TEMPORAL_VISIBILITY_DATABASE": c.temporalDBs[1],
		}},
		procControlPlane: {args: []string{"worker", "--role", "control-plane"}, env: map[string]string{
			"DURE_CEPH_ENV_FILE": cephadmin.EnvFilePath(), "DURE_LIBVIRT_URI": libvirtURI,
			"DURE_REPLICAS": replicas, "DURE_REPLICA_ADMIN_TOKEN_FILE": adminToken,
			// Short, so that a GPU host lost mid-training is noticed in seconds.
			"DURE_GPU_HOST_TTL": "9s", "DURE_RETRAIN_CRON": "",
		}},
		procQualityGate: {args: []string{"worker", "--role", "quality-gate"}},
		procGPUA:        gpuHost(procGPUA),
		procGPUB:        gpuHost(procGPUB),
		procGateway: {args: []string{"gateway"}, env: map[string]string{
			"DURE_GATEWAY_PORT": strconv.Itoa(ports[procGateway]), "DURE_REPLICAS": replicas,
			"DURE_REPLICA_CLIENT_TOKEN_FILE": clientToken,
		}},
		procInference1: {args: []string{"inference"}, env: map[string]string{
			"DURE_REPLICA_NAME": procInference1, "DURE_INFERENCE_PORT": strconv.Itoa(ports[procInference1]),
			"DURE_REPLICA_ADMIN_TOKEN_FILE": adminToken, "DURE_REPLICA_CLIENT_TOKEN_FILE": clientToken,
		}},
		procInference2: {args: []string{"inference"}, env: map[string]string{
			"DURE_REPLICA_NAME": procInference2, "DURE_INFERENCE_PORT": strconv.Itoa(ports[procInference2]),
			"DURE_REPLICA_ADMIN_TOKEN_FILE": adminToken, "DURE_REPLICA_CLIENT_TOKEN_FILE": clientToken,
		}},
	}
	for name, r := range c.roles {
		if r.env == nil {
			r.env = map[string]string{}
		}
		certRole := name
		if name == procGPUA || name == procGPUB {
			certRole = "gpu-host"
		}
		if b, ok := c.certs[certRole]; ok {
			r.env["DURE_TEMPORAL_TLS_CA"], r.env["DURE_TEMPORAL_TLS_CERT"], r.env["DURE_TEMPORAL_TLS_KEY"] = b.CAFile, b.CertFile, b.KeyFile
		}
		port := freePort(t)
		c.opsPorts[name] = port
		r.env["DURE_OPS_PORT"] = strconv.Itoa(port)
		r.env["DURE_DATA_DIR"] = filepath.Join(dir, name)
		c.roles[name] = r
	}
	c.roles[procGateway].env["DURE_GATEWAY_PORT"] = strconv.Itoa(ports[procGateway])
	t.Cleanup(c.cleanup)
	return c
}

// GatewayURL is where tenants and operators call the platform.
func (c *cluster) GatewayURL() string {
	return "http://127.0.0.1:" + c.roles[procGateway].env["DURE_GATEWAY_PORT"]
}

// TokenDir is where the control plane writes new tokens.
func (c *cluster) TokenDir() string { return filepath.Join(c.dir, procControlPlane, "tokens") }

// TokenFile is the file of a tenant's (or "platform"'s) token of a role.
func (c *cluster) TokenFile(tenant, role string) string {
	return filepath.Join(c.TokenDir(), tenant+"."+role+".token")
}

func (c *cluster) environ(extra map[string]string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DURE_") {
			env = append(env, kv)
		}
	}
	for _, m := range []map[string]string{c.common, extra} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// start starts one process and waits until its ops endpoint says healthy.
func (c *cluster) start(ctx context.Context, name string) {
	c.t.Helper()
	r := c.roles[name]
	logPath := filepath.Join(c.dir, "logs", name+".log")
	require.NoError(c.t, os.MkdirAll(filepath.Dir(logPath), 0o755))
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(c.t, err)
	cmd := exec.Command(c.bin, r.args...)
	cmd.Env = c.environ(r.env)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a kill takes its trainer children too, as a
	// host going down would. And it dies with the test, even a killed one.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(c.t, cmd.Start(), "start %s", name)
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	c.procs[name] = p
	if name == procTemporal {
		c.waitTCP(ctx, p, c.common["DURE_TEMPORAL_ADDRESS"])
		return
	}
	c.waitHealthy(ctx, p, c.opsPorts[name])
}

// startAll starts every service in order.
func (c *cluster) startAll(ctx context.Context) {
	c.t.Helper()
	for _, name := range serviceOrder {
		c.start(ctx, name)
	}
}

// kill ends a process at once (SIGKILL to its group), as a crash or a lost
// host would, and waits until it is gone.
func (c *cluster) kill(name string) {
	c.t.Helper()
	p, ok := c.procs[name]
	if !ok {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	delete(c.procs, name)
}

// killAll kills every dure process.
func (c *cluster) killAll() {
	for _, name := range serviceOrder {
		c.kill(name)
	}
}

func (c *cluster) waitTCP(ctx context.Context, p *process, addr string) {
	c.t.Helper()
	c.poll(ctx, p, "accept connections on "+addr, func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	})
}

func (c *cluster) waitHealthy(ctx context.Context, p *process, port int) {
	c.t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	c.poll(ctx, p, "answer "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// poll waits for ready, failing with the process's log if it exits first or
// the context ends.
func (c *cluster) poll(ctx context.Context, p *process, what string, ready func() bool) {
	c.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !ready() {
		select {
		case <-p.done:
			c.t.Fatalf("%s exited before it could %s:\n%s", p.name, what, tail(p.log, 40))
		case <-ctx.Done():
			c.t.Fatalf("%s did not %s: %v\n%s", p.name, what, ctx.Err(), tail(p.log, 40))
		case <-tick.C:
		}
	}
}

// cli runs a dure command as an operator or tenant would, with the shared
// settings, and returns its standard output.
func (c *cluster) cli(ctx context.Context, args ...string) []byte {
	c.t.Helper()
	out, err := c.cliErr(ctx, args...)
	require.NoError(c.t, err)
	return out
}

func (c *cluster) cliErr(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	op := c.certs["operator"]
	cmd.Env = c.environ(map[string]string{"DURE_GATEWAY": c.GatewayURL(),
		"DURE_TEMPORAL_TLS_CA": op.CAFile, "DURE_TEMPORAL_TLS_CERT": op.CertFile, "DURE_TEMPORAL_TLS_KEY": op.KeyFile})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("dure %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// cliJSON runs a command and decodes its JSON answer.
func (c *cluster) cliJSON(ctx context.Context, out any, args ...string) {
	c.t.Helper()
	raw := c.cli(ctx, args...)
	require.NoError(c.t, json.Unmarshal(bytes.TrimSpace(raw), out), "dure %s printed %s", args[0], raw)
}

// logs prints every process's log tail when the test failed.
func (c *cluster) logs() {
	for _, name := range serviceOrder {
		path := filepath.Join(c.dir, "logs", name+".log")
		if _, err := os.Stat(path); err == nil {
			c.t.Logf("---- %s log (tail)\n%s", name, tail(path, 30))
		}
	}
}

func (c *cluster) cleanup() {
	if c.t.Failed() {
		c.logs()
	}
	c.killAll()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc, err := pgx.ParseConfig(c.pg.URL)
	if err != nil {
		return
	}
	pc.Password = c.pg.Password
	conn, err := pgx.ConnectConfig(ctx, pc)
	if err != nil {
		c.t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"DROP SCHEMA IF EXISTS " + c.pg.Schema + " CASCADE",
		"DROP DATABASE IF EXISTS " + c.temporalDBs[0] + " WITH (FORCE)",
		"DROP DATABASE IF EXISTS " + c.temporalDBs[1] + " WITH (FORCE)",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			c.t.Logf("cleanup: %s: %v", stmt, err)
		}
	}
}

func tail(path string, lines int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

// binary returns the dure binary under test: $DURE_BIN (CI builds it with
// `make build`), or one built now.
func binary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("DURE_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		require.NoError(t, err)
		return abs
	}
	out := filepath.Join(t.TempDir(), "dure")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/dure")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_CFLAGS=-O2 -g -Wno-deprecated-declarations")
	raw, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", raw)
	return out
}
