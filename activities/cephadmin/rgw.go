package cephadmin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LocalRGW restarts a radosgw daemon that runs on this host without a service
// manager, as infra/ceph/up.sh starts it for development and CI. Gateways run
// by systemd or cephadm need a restarter that asks those instead.
type LocalRGW struct {
	// Name is the gateway's Ceph entity name, e.g. client.rgw.gw.
	Name string
	// Runner runs ceph-conf (to find the pid file) and radosgw; it must carry
	// the cluster's CEPH_CONF.
	Runner Runner
	// Endpoint is the gateway's base URL, polled until it answers.
	Endpoint string
	// HTTPClient polls Endpoint (default: 2 s timeout per request).
	HTTPClient *http.Client
	// StopTimeout bounds the wait for SIGTERM before SIGKILL (default 10 s).
	// RGW keeps no local state, and on Pacific its shutdown can hang after an
	// in-place realm reload.
	StopTimeout  time.Duration
	StartTimeout time.Duration // default 60 s
	Logger       *slog.Logger
}

// RestartRGW stops the gateway (SIGTERM, then SIGKILL after StopTimeout),
// starts it again and waits until it answers HTTP.
func (r *LocalRGW) RestartRGW(ctx context.Context) error {
	if r.Name == "" || r.Runner == nil || r.Endpoint == "" {
		return errors.New("rgw restart: Name, Runner and Endpoint are required")
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	out, err := r.Runner.Run(ctx, nil, "ceph-conf", "--name", r.Name, "--lookup", "pid_file")
	if err != nil {
		return fmt.Errorf("rgw restart: find pid file of %s: %w", r.Name, err)
	}
	pidFile := strings.TrimSpace(string(out))
	if pid, ok := runningPID(pidFile, "radosgw"); ok {
		if err := stopProcess(ctx, pid, durationOr(r.StopTimeout, 10*time.Second)); err != nil {
			return fmt.Errorf("rgw restart: stop %s: %w", r.Name, err)
		}
	}
	// radosgw forks into the background; Run returns once the parent exits.
	if _, err := r.Runner.Run(ctx, nil, "radosgw", "-n", r.Name); err != nil {
		return fmt.Errorf("rgw restart: start %s: %w", r.Name, err)
	}
	client := r.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	err = poll(ctx, 100*time.Millisecond, durationOr(r.StartTimeout, 60*time.Second), func() bool {
		return answers(ctx, client, r.Endpoint)
	})
	if err != nil {
		return fmt.Errorf("rgw restart: %s does not answer on %s: %w", r.Name, r.Endpoint, err)
	}
	log.InfoContext(ctx, "rgw restarted", "name", r.Name, "duration", time.Since(start))
	return nil
}

func durationOr(d, fallback time.Duration) time.Duration {
	if d <= 0 {
		return fallback
	}
	return d
}

// runningPID reads a pid file and checks that the process is alive and runs
// program, so a stale pid file whose pid was reused is not acted on.
func runningPID(pidFile, program string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), program) {
		return 0, false
	}
	return pid, alive(pid)
}

// alive reports whether pid runs. A zombie counts as gone: a daemon that forked
// away from us is reaped by whatever init the host has, possibly never.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// Format: "pid (comm) S ..."; comm may hold spaces, so look after the ')'.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

func stopProcess(ctx context.Context, pid int, timeout time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	gone := func() bool { return !alive(pid) }
	if err := poll(ctx, 100*time.Millisecond, timeout, gone); err == nil {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return poll(ctx, 100*time.Millisecond, 10*time.Second, gone)
}

// answers reports whether an HTTP GET of url succeeds (RGW answers its root
// with 200 and an empty bucket list for anonymous users).
func answers(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// poll calls cond every interval until it returns true, the timeout passes or
// ctx ends.
func poll(ctx context.Context, interval, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
