package cephadmin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Runner runs a program to completion and returns its standard output. Cluster
// runs ceph and radosgw-admin through it, so tests can substitute a fake and
// production can run the tools elsewhere (e.g. through a toolbox container).
type Runner interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) (stdout []byte, err error)
}

// ExecRunner runs programs on this host. A failed run returns a *CommandError.
type ExecRunner struct {
	// Env is added to this process's environment, e.g. "CEPH_CONF=/etc/ceph/ceph.conf".
	Env []string
	// Timeout bounds each run on top of ctx (default 2 minutes): ceph and
	// radosgw-admin wait forever for monitors that do not answer.
	Timeout time.Duration
}

const (
	defaultCommandTimeout = 2 * time.Minute
	stderrTail            = 2048
)

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), r.Env...)
	// A killed ceph CLI can leave children holding the pipes open; do not wait
	// for them forever.
	cmd.WaitDelay = 5 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	ce := &CommandError{
		Command:  strings.Join(append([]string{name}, args...), " "),
		ExitCode: -1,
		Stderr:   tail(strings.TrimSpace(stderr.String()), stderrTail),
		Err:      err,
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		ce.ExitCode = exitErr.ExitCode()
	}
	if ctx.Err() != nil {
		ce.Err = errors.Join(err, ctx.Err())
	}
	return stdout.Bytes(), ce
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
