package cephadmin

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestCluster(t *testing.T, f *fakeCeph, rgw RGWRestarter) *Cluster {
	t.Helper()
	c, err := NewCluster(ClusterConfig{Runner: f, RGW: rgw})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addPool(f *fakeCeph, name string, quota int64, app bool) {
	p := &poolDetail{Name: name, PGNum: 8, QuotaMaxBytes: quota, Applications: map[string]json.RawMessage{}}
	if app {
		p.Applications["rgw"] = json.RawMessage(`{}`)
	}
	f.pools[name] = p
}

func TestEnsurePool(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(f *fakeCeph)
		pool        string
		pg          int
		quota       int64
		wantCreated bool
		wantCalls   []string
		wantErr     error
	}{
		{
			name: "creates, tags and sets the quota of a missing pool",
			pool: "tenant-suwon-pool", pg: 8, quota: 1 << 20, wantCreated: true,
			wantCalls: []string{
				"ceph osd pool create tenant-suwon-pool 8 8 replicated",
				"ceph osd pool application enable tenant-suwon-pool rgw",
				"ceph osd pool set-quota tenant-suwon-pool max_bytes 1048576",
			},
		},
		{
			name:  "leaves a pool that is as wanted alone",
			setup: func(f *fakeCeph) { addPool(f, "p", 100, true) },
			pool:  "p", pg: 8, quota: 100,
		},
		{
			name:  "converges the quota of an existing pool",
			setup: func(f *fakeCeph) { addPool(f, "p", 100, true) },
			pool:  "p", pg: 8, quota: 200,
			wantCalls: []string{"ceph osd pool set-quota p max_bytes 200"},
		},
		{
			name:  "tags an existing untagged pool",
			setup: func(f *fakeCeph) { addPool(f, "p", 0, false) },
			pool:  "p", pg: 8, quota: 0,
			wantCalls: []string{"ceph osd pool application enable p rgw"},
		},
		{name: "refuses an empty name", pool: "", pg: 8, wantErr: ErrInvalidArgument},
		{name: "refuses an option-like name", pool: "--yes-i-really-mean-it", pg: 8, wantErr: ErrInvalidArgument},
		{name: "refuses zero placement groups", pool: "p", pg: 0, wantErr: ErrInvalidArgument},
		{name: "refuses a negative quota", pool: "p", pg: 8, quota: -1, wantErr: ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCeph()
			if tt.setup != nil {
				tt.setup(f)
			}
			created, err := newTestCluster(t, f, nil).EnsurePool(t.Context(), tt.pool, tt.pg, tt.quota)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if got := f.mutations(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestEnsurePoolReportsCreationWhenLaterStepFails(t *testing.T) {
	f := newFakeCeph()
	f.failOn["ceph osd pool set-quota"] = cmdErr("ceph osd pool set-quota", 1, "Error EIO")
	created, err := newTestCluster(t, f, nil).EnsurePool(t.Context(), "p", 8, 10)
	if err == nil || !created {
		t.Fatalf("created=%v err=%v: a caller must learn the pool was made even though the call failed", created, err)
	}
}

func TestDeletePool(t *testing.T) {
	tests := []struct {
		name        string
		exists      bool
		deny        bool
		wantDeleted bool
		wantErr     error
	}{
		{name: "deletes an existing pool", exists: true, wantDeleted: true},
		{name: "a missing pool is not an error", exists: false},
		{name: "disabled deletion is a clear error", exists: true, deny: true, wantErr: ErrPoolDeleteDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCeph()
			f.denyDelete = tt.deny
			if tt.exists {
				addPool(f, "p", 0, true)
			}
			c := newTestCluster(t, f, nil)
			deleted, err := c.DeletePool(t.Context(), "p")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if deleted != tt.wantDeleted {
				t.Errorf("deleted = %v, want %v", deleted, tt.wantDeleted)
			}
			if exists, _ := c.PoolExists(t.Context(), "p"); exists != (tt.exists && tt.deny) {
				t.Errorf("pool exists = %v after delete", exists)
			}
		})
	}
}

func TestPoolQuota(t *testing.T) {
	f := newFakeCeph()
	addPool(f, "p", 42, true)
	c := newTestCluster(t, f, nil)
	if q, err := c.PoolQuota(t.Context(), "p"); err != nil || q != 42 {
		t.Errorf("quota = %d, %v", q, err)
	}
	if _, err := c.PoolQuota(t.Context(), "missing"); !errors.Is(err, ErrNoSuchPool) {
		t.Errorf("err = %v, want ErrNoSuchPool", err)
	}
}

var suwonTarget = PlacementTarget{ID: "tenant-suwon", DataPool: "tenant-suwon-pool", IndexPool: "tenant-suwon.index",
	DataExtraPool: "tenant-suwon.non-ec", Tags: []string{"tenant-suwon"}}

const (
	zgAdd   = "radosgw-admin zonegroup placement add --rgw-zonegroup default --placement-id tenant-suwon --tags tenant-suwon"
	zoneAdd = "radosgw-admin zone placement add --rgw-zone default --placement-id tenant-suwon --data-pool tenant-suwon-pool --index-pool tenant-suwon.index --data-extra-pool tenant-suwon.non-ec"
	commit  = "radosgw-admin period update --commit"
	zoneRm  = "radosgw-admin zone placement rm --rgw-zone default --placement-id tenant-suwon"
	zgRm    = "radosgw-admin zonegroup placement rm --rgw-zonegroup default --placement-id tenant-suwon"
)

func TestEnsurePlacementTarget(t *testing.T) {
	present := func(f *fakeCeph) {
		f.zgTargets["tenant-suwon"] = []string{"tenant-suwon"}
		f.zonePools["tenant-suwon"] = [3]string{"tenant-suwon-pool", "tenant-suwon.index", "tenant-suwon.non-ec"}
	}
	tests := []struct {
		name         string
		setup        func(f *fakeCeph)
		noRestarter  bool
		wantCreated  bool
		wantCalls    []string
		wantRestarts int
		wantErr      error
	}{
		{
			name: "adds to zonegroup then zone and commits", wantCreated: true,
			wantCalls: []string{zgAdd, zoneAdd, commit},
		},
		{
			name:  "does nothing when stored and committed",
			setup: func(f *fakeCeph) { present(f); f.committed["tenant-suwon"] = []string{"tenant-suwon"} },
		},
		{
			name:      "commits what an earlier call stored but did not commit",
			setup:     present,
			wantCalls: []string{commit},
		},
		{
			name:        "completes a half-made target and reports it created",
			setup:       func(f *fakeCeph) { f.zgTargets["tenant-suwon"] = []string{"tenant-suwon"} },
			wantCreated: true,
			wantCalls:   []string{zoneAdd, commit},
		},
		{
			name: "fixes the tags of an existing target",
			setup: func(f *fakeCeph) {
				present(f)
				f.zgTargets["tenant-suwon"] = []string{}
				f.committed["tenant-suwon"] = []string{}
			},
			wantCalls: []string{zgAdd, commit},
		},
		{
			name:        "re-applies a zone write lost to a concurrent writer",
			setup:       func(f *fakeCeph) { f.dropZoneAdd = 1 },
			wantCreated: true,
			wantCalls:   []string{zgAdd, zoneAdd, zoneAdd, commit},
		},
		{
			name:         "restarts RGW when the cluster has no realm",
			setup:        func(f *fakeCeph) { f.noRealm = true },
			wantCreated:  true,
			wantCalls:    []string{zgAdd, zoneAdd, commit},
			wantRestarts: 1,
		},
		{
			name:        "without realm or restarter the change cannot be applied",
			setup:       func(f *fakeCeph) { f.noRealm = true },
			noRestarter: true,
			wantCreated: true,
			wantCalls:   []string{zgAdd, zoneAdd, commit},
			wantErr:     ErrNoRealm,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCeph()
			if tt.setup != nil {
				tt.setup(f)
			}
			r := &fakeRestarter{}
			var rgw RGWRestarter = r
			if tt.noRestarter {
				rgw = nil
			}
			created, err := newTestCluster(t, f, rgw).EnsurePlacementTarget(t.Context(), suwonTarget)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if got := f.mutations(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.wantCalls, "\n"))
			}
			if r.n != tt.wantRestarts {
				t.Errorf("restarts = %d, want %d", r.n, tt.wantRestarts)
			}
		})
	}
}

func TestEnsurePlacementTargetValidates(t *testing.T) {
	bad := []PlacementTarget{
		{ID: "", DataPool: "a", IndexPool: "b", DataExtraPool: "c"},
		{ID: "a,b", DataPool: "a", IndexPool: "b", DataExtraPool: "c"},
		{ID: "t", DataPool: "", IndexPool: "b", DataExtraPool: "c"},
		{ID: "t", DataPool: "a", IndexPool: "b", DataExtraPool: "c", Tags: []string{"x,y"}},
	}
	for _, pt := range bad {
		f := newFakeCeph()
		if _, err := newTestCluster(t, f, nil).EnsurePlacementTarget(t.Context(), pt); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: err = %v, want ErrInvalidArgument", pt, err)
		}
		if len(f.calls) != 0 {
			t.Errorf("%+v: ran %q", pt, f.calls)
		}
	}
}

func TestRemovePlacementTarget(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(f *fakeCeph)
		wantRemoved bool
		wantCalls   []string
	}{
		{
			name: "removes from zone then zonegroup and commits",
			setup: func(f *fakeCeph) {
				f.zgTargets["tenant-suwon"] = []string{"tenant-suwon"}
				f.zonePools["tenant-suwon"] = [3]string{"a", "b", "c"}
				f.committed["tenant-suwon"] = []string{"tenant-suwon"}
			},
			wantRemoved: true,
			wantCalls:   []string{zoneRm, zgRm, commit},
		},
		{name: "nothing to do when absent everywhere"},
		{
			name:      "commits a removal an earlier call stored but did not commit",
			setup:     func(f *fakeCeph) { f.committed["tenant-suwon"] = []string{"tenant-suwon"} },
			wantCalls: []string{commit},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCeph()
			if tt.setup != nil {
				tt.setup(f)
			}
			removed, err := newTestCluster(t, f, nil).RemovePlacementTarget(t.Context(), "tenant-suwon")
			if err != nil {
				t.Fatal(err)
			}
			if removed != tt.wantRemoved {
				t.Errorf("removed = %v, want %v", removed, tt.wantRemoved)
			}
			if got := f.mutations(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
			if _, ok := f.committed["tenant-suwon"]; ok {
				t.Error("the committed period still has the target")
			}
		})
	}
}

func TestPlacementTargetReadBack(t *testing.T) {
	f := newFakeCeph()
	c := newTestCluster(t, f, nil)
	if _, err := c.EnsurePlacementTarget(t.Context(), suwonTarget); err != nil {
		t.Fatal(err)
	}
	got, found, err := c.PlacementTarget(t.Context(), "tenant-suwon")
	if err != nil || !found || got.DataPool != suwonTarget.DataPool || got.IndexPool != suwonTarget.IndexPool ||
		got.DataExtraPool != suwonTarget.DataExtraPool || !slices.Equal(got.Tags, suwonTarget.Tags) {
		t.Errorf("read back %+v found=%v err=%v", got, found, err)
	}
}

func TestCommitPeriodNoRealm(t *testing.T) {
	f := newFakeCeph()
	f.noRealm = true
	err := newTestCluster(t, f, nil).CommitPeriod(t.Context())
	var ce *CommandError
	if !errors.Is(err, ErrNoRealm) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want ErrNoRealm wrapping the command error", err)
	}
}

func TestSetUserPlacement(t *testing.T) {
	f := newFakeCeph()
	f.users["suwon"] = map[string]any{
		"key": "user:suwon", "ver": map[string]any{"tag": "t", "ver": 1},
		"data": map[string]any{
			"user_id": "suwon", "default_placement": "", "placement_tags": []any{},
			"keys": []any{map[string]any{"user": "suwon", "access_key": "AK", "secret_key": tenantSecret}},
		},
	}
	c := newTestCluster(t, f, nil)
	if err := c.SetUserPlacement(t.Context(), "suwon", "tenant-suwon", []string{"tenant-suwon"}); err != nil {
		t.Fatal(err)
	}
	data := f.users["suwon"]["data"].(map[string]any)
	if data["default_placement"] != "tenant-suwon" || len(data["placement_tags"].([]any)) != 1 || data["placement_tags"].([]any)[0] != "tenant-suwon" {
		t.Errorf("user after put: %v", data)
	}
	if keys := data["keys"].([]any); len(keys) != 1 {
		t.Errorf("keys lost: %v", keys)
	}
	for _, call := range f.calls {
		if strings.Contains(call, tenantSecret) {
			t.Errorf("secret on a command line: %s", call)
		}
	}
	if !strings.Contains(string(f.stdin["radosgw-admin metadata put user:suwon"]), "tenant-suwon") {
		t.Error("the document did not go through stdin")
	}
	if err := c.SetUserPlacement(t.Context(), "nobody", "x", nil); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("missing user: err = %v, want ErrNoSuchUser", err)
	}
}

func TestExecRunner(t *testing.T) {
	ctx := t.Context()
	r := ExecRunner{Env: []string{"CEPH_CONF=/etc/dure/ceph.conf"}}
	out, err := r.Run(ctx, nil, "sh", "-c", `printf %s "$CEPH_CONF"`)
	if err != nil || string(out) != "/etc/dure/ceph.conf" {
		t.Errorf("env: %q, %v", out, err)
	}
	out, err = r.Run(ctx, []byte("from stdin"), "cat")
	if err != nil || string(out) != "from stdin" {
		t.Errorf("stdin: %q, %v", out, err)
	}
	_, err = r.Run(ctx, nil, "sh", "-c", "echo partial; echo 'Error ENOENT: gone' >&2; exit 2")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 2 || ce.Stderr != "Error ENOENT: gone" || !strings.Contains(err.Error(), "sh -c") {
		t.Errorf("failure: %#v", err)
	}
	_, err = r.Run(ctx, nil, "/nonexistent/ceph")
	if !errors.As(err, &ce) || ce.ExitCode != -1 {
		t.Errorf("missing program: %v", err)
	}
	start := time.Now()
	_, err = ExecRunner{Timeout: 200 * time.Millisecond}.Run(ctx, nil, "sleep", "10")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: err %v after %v", err, time.Since(start))
	}
}

func TestNoRealmRecognition(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{cmdErr("x", 2, "Error initializing realm (2) No such file or directory"), true},
		{cmdErr("x", 22, "failed to init realm: (2) No such file or directory"), true},
		{cmdErr("x", 1, "couldn't init storage provider"), false},
		{errors.New("realm"), false},
	}
	for _, tt := range tests {
		if got := noRealm(tt.err); got != tt.want {
			t.Errorf("noRealm(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestLoadEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.env", `# comment
CEPH_CONF=/tmp/c/ceph.conf
export DURE_CEPH_RGW_ENDPOINT="http://127.0.0.1:7480"
DURE_CEPH_RGW_NAME='client.rgw.gw'
DURE_CEPH_ADMIN_UID=dure-platform-admin

DURE_CEPH_ADMIN_ACCESS_KEY=AK
DURE_CEPH_ADMIN_SECRET_KEY=`+testSecretKey+`
`)
	e, err := LoadEnv(good)
	if err != nil {
		t.Fatal(err)
	}
	want := Env{CephConf: "/tmp/c/ceph.conf", RGWEndpoint: "http://127.0.0.1:7480", RGWName: "client.rgw.gw",
		AdminUID: "dure-platform-admin", AdminAccessKey: "AK", AdminSecretKey: testSecretKey}
	if e != want {
		t.Errorf("env = %#v", e)
	}
	if s := e.String() + e.GoString(); strings.Contains(s, testSecretKey) {
		t.Errorf("String leaks the secret: %s", s)
	}
	if _, err := LoadEnv(write("partial.env", "CEPH_CONF=/x\n")); err == nil || !strings.Contains(err.Error(), "DURE_CEPH_ADMIN_SECRET_KEY") {
		t.Errorf("partial env: %v", err)
	}
	if _, err := LoadEnv(write("bad.env", "just words\n")); err == nil {
		t.Error("malformed line accepted")
	}
	if _, err := LoadEnv(filepath.Join(dir, "missing.env")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	t.Setenv(EnvFileVar, good)
	if EnvFilePath() != good {
		t.Errorf("EnvFilePath ignores $%s", EnvFileVar)
	}
	t.Setenv(EnvFileVar, "")
	if EnvFilePath() != DefaultEnvFile {
		t.Errorf("EnvFilePath default = %s", EnvFilePath())
	}
}

func TestEnsurePoolsReadsOnce(t *testing.T) {
	f := newFakeCeph()
	addPool(f, "b", 0, true)
	created, err := newTestCluster(t, f, nil).EnsurePools(t.Context(), []PoolSpec{
		{Name: "a", PGNum: 8, QuotaBytes: 100}, {Name: "b", PGNum: 8}, {Name: "c", PGNum: 8},
	})
	if err != nil || !slices.Equal(created, []string{"a", "c"}) {
		t.Fatalf("created %v err %v", created, err)
	}
	if n := strings.Count(strings.Join(f.calls, "\n"), "pool ls detail"); n != 1 {
		t.Errorf("pool table read %d times, want once", n)
	}
	if f.pools["a"].QuotaMaxBytes != 100 || !slices.Equal(slices.Sorted(maps.Keys(f.pools)), []string{"a", "b", "c"}) {
		t.Errorf("pools = %v", f.pools)
	}
	if _, err := newTestCluster(t, f, nil).EnsurePools(t.Context(), []PoolSpec{{Name: "d", PGNum: 0}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("pg 0: %v", err)
	}
}

func TestEnsurePlacementTargetsCommitsOnce(t *testing.T) {
	f := newFakeCeph()
	f.zgTargets["tenant-suwon"] = []string{"tenant-suwon"}
	f.zonePools["tenant-suwon"] = [3]string{"tenant-suwon-pool", "tenant-suwon.index", "tenant-suwon.non-ec"}
	f.committed["tenant-suwon"] = []string{"tenant-suwon"}
	other := PlacementTarget{ID: "platform-staging", DataPool: "staging-pool", IndexPool: "staging.index", DataExtraPool: "staging.non-ec", Tags: []string{"platform-staging"}}
	third := other
	third.ID, third.Tags = "platform-x", []string{"platform-x"}
	created, err := newTestCluster(t, f, nil).EnsurePlacementTargets(t.Context(), []PlacementTarget{suwonTarget, other, third})
	if err != nil || !slices.Equal(created, []string{"platform-staging", "platform-x"}) {
		t.Fatalf("created %v err %v", created, err)
	}
	if n := strings.Count(strings.Join(f.mutations(), "\n"), "period update --commit"); n != 1 {
		t.Errorf("%d commits, want 1", n)
	}
	if tags := f.committed["platform-x"]; !slices.Equal(tags, []string{"platform-x"}) {
		t.Errorf("committed platform-x = %v", tags)
	}
}
