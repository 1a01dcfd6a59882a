package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parse(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	cfg := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	err := Parse(fs, args)
	return cfg, err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// One name per setting: a flag wins over the environment, which wins over
// the file, which wins over the default.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "dure.yaml", `
gateway-port: 8181
ops-port: 9191
namespace: from-file
replicas:
  - inference-1=http://10.55.0.11:8091
  - inference-2=http://10.55.0.12:8091
gpu-host-ttl: 45s
s3-tls: true
`)
	t.Setenv("DURE_OPS_PORT", "9292")
	t.Setenv("DURE_NAMESPACE", "from-env")
	cfg, err := parse(t, "--config", file, "--namespace", "from-flag")
	require.NoError(t, err)
	assert.Equal(t, 8181, cfg.GatewayPort, "file over default")
	assert.Equal(t, 9292, cfg.OpsPort, "environment over file")
	assert.Equal(t, "from-flag", cfg.Namespace, "flag over environment")
	assert.Equal(t, []Replica{{"inference-1", "http://10.55.0.11:8091"}, {"inference-2", "http://10.55.0.12:8091"}}, cfg.Replicas)
	assert.Equal(t, 45*time.Second, cfg.GPUHostTTL)
	assert.True(t, cfg.S3TLS)
	assert.Equal(t, Default().UIPort, cfg.UIPort, "untouched settings keep their defaults")

	t.Setenv("DURE_CONFIG", file)
	cfg, err = parse(t)
	require.NoError(t, err)
	assert.Equal(t, 8181, cfg.GatewayPort, "DURE_CONFIG names the file too")
}

func TestParseRefusesWhatItCannotUse(t *testing.T) {
	for _, tc := range []struct {
		name, file, env, want string
	}{
		{"misspelt key", "gatway-port: 1\n", "", `unknown setting "gatway-port"`},
		{"mapping value", "replicas:\n  a: b\n", "", "not a mapping"},
		{"bad value in file", "gateway-port: eighty\n", "", "gateway-port"},
		{"bad value in env", "", "DURE_GATEWAY_PORT=eighty", "DURE_GATEWAY_PORT"},
		{"bad replica", "replicas: inference-1=ftp://x\n", "", "http(s) base URL"},
		{"replica twice", "replicas: a=http://x:1,a=http://y:1\n", "", "named twice"},
		{"not yaml", ": : :\n", "", "config file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{}
			if tc.file != "" {
				args = append(args, "--config", writeFile(t, "dure.yaml", tc.file))
			}
			if k, v, ok := strings.Cut(tc.env, "="); ok {
				t.Setenv(k, v)
			}
			_, err := parse(t, args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := parse(t, "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Error(t, err, "a named file that is missing is an error")
}

// A production configuration of each role, complete, passes; each missing or
// broken piece is reported, all of them at once.
func TestCheck(t *testing.T) {
	key := writeFile(t, "key", strings.Repeat("ab", 32)+"\n")
	password := writeFile(t, "password", "secret\n")
	token := writeFile(t, "token", "replica-admin\n")
	cephEnv := writeFile(t, "ceph.env", "CEPH_CONF=/etc/ceph/ceph.conf\n")
	base := func() Config {
		cfg := Default()
		cfg.TemporalAddress = "temporal:7233"
		cfg.MetadataURL = "postgres://dure@db:5432/dure?sslmode=require"
		cfg.MetadataPasswordFile = password
		cfg.StateKeyFile, cfg.CodecKeyFile = key, key
		cfg.S3Endpoint = "rgw:7480"
		cfg.Replicas = []Replica{{"inference-1", "http://inference-1:8091"}}
		cfg.ReplicaAdminTokenFile = token
		cfg.ReplicaClientTokenFile = token
		cfg.CephEnvFile = cephEnv
		cfg.GPUHost = "gpu-1"
		cfg.ReplicaName = "inference-1"
		cfg.TemporalDatabase = "postgres://dure@db:5432/temporal"
		return cfg
	}
	for _, role := range Roles() {
		cfg := base()
		assert.NoError(t, cfg.Check(role), role)
	}

	cfg := base()
	cfg.MetadataURL = "postgres://dure:inline@db/dure"
	cfg.StateKeyFile = filepath.Join(t.TempDir(), "absent.key")
	cfg.S3Endpoint = "rgw"
	cfg.CephEnvFile = ""
	cfg.GPUHostTTL = time.Second
	err := cfg.Check(RoleControlPlane)
	require.Error(t, err)
	for _, want := range []string{"metadata-url", "state-key-file", "s3-endpoint", "ceph-env-file", "gpu-host-ttl"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "inline", "a password never reaches an error")

	cfg = base()
	cfg.GPUInventory = "libvirt"
	assert.ErrorContains(t, cfg.Check(RoleGPUHost), "libvirt-uri")
	cfg.GPUInventory = "cuda"
	assert.ErrorContains(t, cfg.Check(RoleGPUHost), "gpu-inventory")

	cfg = base()
	cfg.TemporalAddress = ""
	assert.NoError(t, cfg.Check(RoleInference), "a replica needs no Temporal")
	assert.ErrorContains(t, cfg.Check(RoleGateway), "temporal-address")

	_, err = ParseRole("scheduler")
	assert.ErrorContains(t, err, "unknown role")
}
