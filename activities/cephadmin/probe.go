package cephadmin

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// Probe checks that the ceph tools are installed and the cluster named by the
// env file answers, and returns its env; the error says what is missing.
func Probe(path string) (Env, error) {
	for _, tool := range []string{"ceph", "radosgw-admin", "rados"} {
		if _, err := exec.LookPath(tool); err != nil {
			return Env{}, fmt.Errorf("%s is not installed", tool)
		}
	}
	env, err := LoadEnv(path)
	if err != nil {
		return Env{}, err
	}
	// A gateway reloading its period, or busy with another test's pools,
	// can take seconds to answer: only a gateway silent for half a minute
	// counts as absent.
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(env.RGWEndpoint)
		if err == nil {
			resp.Body.Close()
			return env, nil
		}
		if time.Now().After(deadline) {
			return Env{}, fmt.Errorf("RGW at %s does not answer: %w", env.RGWEndpoint, err)
		}
		time.Sleep(time.Second)
	}
}

// TB is the part of testing.TB that RequireCluster needs.
type TB interface {
	Helper()
	Fatal(args ...any)
	Skip(args ...any)
}

// RequireCluster returns the test cluster's env for contract tests. Without a
// cluster it skips loudly, or fails when CI=true: in CI the tests must run.
func RequireCluster(t TB) Env {
	t.Helper()
	env, err := Probe(EnvFilePath())
	if err == nil {
		return env
	}
	msg := fmt.Sprintf(`
################################################################################
##  CEPH CONTRACT TESTS NOT RUN: %v
##  Boot a cluster with:  infra/ceph/up.sh /tmp/dure-ceph   (or .ci/ceph.sh)
##  then run the tests again (env file: $%s, default %s).
################################################################################`,
		err, EnvFileVar, DefaultEnvFile)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "\nCI=true: the contract tests must run in CI.")
	}
	fmt.Fprintln(os.Stderr, msg) // seen without -v too
	t.Skip(msg)
	return Env{}
}
