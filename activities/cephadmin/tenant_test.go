package cephadmin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeUsers stands in for AdminOps.
type fakeUsers struct {
	users        map[string]UserSpec
	userQuota    map[string]Quota
	bucketQuota  map[string]Quota
	calls        []string
	failOn       map[string]error
	placementNAs int // answer ErrPlacementNotApplied this many times
	cluster      *fakeCeph
}

func newFakeUsers(cluster *fakeCeph) *fakeUsers {
	return &fakeUsers{users: map[string]UserSpec{}, userQuota: map[string]Quota{}, bucketQuota: map[string]Quota{},
		failOn: map[string]error{}, cluster: cluster}
}

func (u *fakeUsers) EnsureUser(_ context.Context, spec UserSpec) (Credential, bool, error) {
	u.calls = append(u.calls, "EnsureUser "+spec.UID)
	if err := u.failOn["EnsureUser"]; err != nil {
		return Credential{}, false, err
	}
	_, exists := u.users[spec.UID]
	if exists && u.placementNAs > 0 {
		u.placementNAs--
		return Credential{}, false, ErrPlacementNotApplied
	}
	u.users[spec.UID] = spec
	return Credential{AccessKey: "AK" + spec.UID, SecretKey: tenantSecret}, !exists, nil
}

func (u *fakeUsers) DeleteUser(_ context.Context, uid string, purge bool) error {
	u.calls = append(u.calls, fmt.Sprintf("DeleteUser %s purge=%v", uid, purge))
	if err := u.failOn["DeleteUser"]; err != nil {
		return err
	}
	delete(u.users, uid)
	return nil
}

func (u *fakeUsers) SetUserQuota(_ context.Context, uid string, q Quota) error {
	u.calls = append(u.calls, "SetUserQuota "+uid)
	if err := u.failOn["SetUserQuota"]; err != nil {
		return err
	}
	u.userQuota[uid] = q
	return nil
}

func (u *fakeUsers) SetBucketQuota(_ context.Context, uid string, q Quota) error {
	u.calls = append(u.calls, "SetBucketQuota "+uid)
	if err := u.failOn["SetBucketQuota"]; err != nil {
		return err
	}
	u.bucketQuota[uid] = q
	return nil
}

func newTestStorage(t *testing.T) (*TenantStorage, *fakeUsers, *fakeCeph) {
	t.Helper()
	f := newFakeCeph()
	users := newFakeUsers(f)
	return NewTenantStorage(users, newTestCluster(t, f, nil), TenantStorageConfig{}), users, f
}

var suwon = TenantSpec{ID: "suwon", DisplayName: "수원시", QuotaBytes: 1 << 30}

func TestOnboard(t *testing.T) {
	s, users, f := newTestStorage(t)
	ctx := t.Context()
	p, err := s.Onboard(ctx, suwon)
	if err != nil {
		t.Fatal(err)
	}
	n := NamesFor("suwon")
	if !slices.Equal(p.CreatedPools, []string{"tenant-suwon-pool", "tenant-suwon.index", "tenant-suwon.non-ec"}) ||
		!p.CreatedPlacement || !p.CreatedUser || p.Credential.AccessKey != "AKsuwon" {
		t.Errorf("provisioned = %+v", p)
	}
	if got := f.pools[n.DataPool].QuotaMaxBytes; got != 2<<30 {
		t.Errorf("data pool quota = %d, want twice the tenant quota", got)
	}
	for _, pool := range []string{n.IndexPool, n.ExtraPool} {
		if q := f.pools[pool].QuotaMaxBytes; q != 0 {
			t.Errorf("%s quota = %d, want none", pool, q)
		}
	}
	if tags := f.committed[n.Placement]; !slices.Equal(tags, []string{"tenant-suwon"}) {
		t.Errorf("committed placement tags = %v", tags)
	}
	want := UserSpec{UID: "suwon", DisplayName: "수원시", DefaultPlacement: "tenant-suwon", PlacementTags: []string{"tenant-suwon"}, MaxBuckets: 10}
	if got := users.users["suwon"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("user = %+v, want %+v", got, want)
	}
	wantQ := Quota{Enabled: true, MaxSizeBytes: 1 << 30, MaxObjects: -1}
	if users.userQuota["suwon"] != wantQ || users.bucketQuota["suwon"] != wantQ {
		t.Errorf("quotas = %+v / %+v, want %+v", users.userQuota["suwon"], users.bucketQuota["suwon"], wantQ)
	}

	before := len(f.mutations())
	again, err := s.Onboard(ctx, suwon)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created() || again.Credential != p.Credential {
		t.Errorf("second onboard = %+v", again)
	}
	if extra := f.mutations()[before:]; len(extra) != 0 {
		t.Errorf("second onboard changed the cluster: %q", extra)
	}
}

func TestOnboardFailureReportsOnlyWhatItCreated(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		setup     func(users *fakeUsers, f *fakeCeph)
		want      Provisioned
		wantPools []string // pools left after Compensate
	}{
		{
			name: "second pool fails",
			setup: func(_ *fakeUsers, f *fakeCeph) {
				f.failOn["ceph osd pool create tenant-suwon.index"] = cmdErr("ceph osd pool create", 1, "Error EIO")
			},
			want: Provisioned{CreatedPools: []string{"tenant-suwon-pool"}},
		},
		{
			name: "placement fails",
			setup: func(_ *fakeUsers, f *fakeCeph) {
				f.failOn["radosgw-admin zonegroup placement add"] = cmdErr("radosgw-admin", 5, "EIO")
			},
			// The target was missing, so the failed call may have left part of
			// it: it is reported for compensation, which removes only that.
			want: Provisioned{CreatedPools: NamesFor("suwon").Pools(), CreatedPlacement: true},
		},
		{
			name:  "user fails",
			setup: func(u *fakeUsers, _ *fakeCeph) { u.failOn["EnsureUser"] = boom },
			want:  Provisioned{CreatedPools: NamesFor("suwon").Pools(), CreatedPlacement: true},
		},
		{
			name:  "quota fails",
			setup: func(u *fakeUsers, _ *fakeCeph) { u.failOn["SetBucketQuota"] = boom },
			want:  Provisioned{CreatedPools: NamesFor("suwon").Pools(), CreatedPlacement: true, CreatedUser: true},
		},
		{
			name: "pre-existing pools are not compensated",
			setup: func(u *fakeUsers, f *fakeCeph) {
				addPool(f, "tenant-suwon-pool", 2<<30, true)
				addPool(f, "tenant-suwon.index", 0, true)
				u.failOn["EnsureUser"] = boom
			},
			want:      Provisioned{CreatedPools: []string{"tenant-suwon.non-ec"}, CreatedPlacement: true},
			wantPools: []string{"tenant-suwon-pool", "tenant-suwon.index"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, users, f := newTestStorage(t)
			tt.setup(users, f)
			p, err := s.Onboard(t.Context(), suwon)
			if err == nil {
				t.Fatal("onboard succeeded")
			}
			if !slices.Equal(p.CreatedPools, tt.want.CreatedPools) || p.CreatedPlacement != tt.want.CreatedPlacement || p.CreatedUser != tt.want.CreatedUser {
				t.Errorf("provisioned = %+v, want %+v", p, tt.want)
			}
			clear(users.failOn)
			clear(f.failOn)
			if err := s.Compensate(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			var left []string
			for name := range f.pools {
				left = append(left, name)
			}
			slices.Sort(left)
			if !slices.Equal(left, tt.wantPools) {
				t.Errorf("pools after compensation = %v, want %v", left, tt.wantPools)
			}
			if _, ok := f.zgTargets["tenant-suwon"]; ok {
				t.Error("placement left after compensation")
			}
			if _, ok := users.users["suwon"]; ok {
				t.Error("user left after compensation")
			}
		})
	}
}

func TestEnsureUserFallsBackToMetadataPlacement(t *testing.T) {
	s, users, f := newTestStorage(t)
	users.users["suwon"] = UserSpec{UID: "suwon"}
	users.placementNAs = 1
	f.users["suwon"] = map[string]any{"data": map[string]any{"user_id": "suwon"}}
	if _, created, err := s.EnsureUser(t.Context(), suwon); err != nil || created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	data := f.users["suwon"]["data"].(map[string]any)
	if data["default_placement"] != "tenant-suwon" {
		t.Errorf("metadata placement = %v", data["default_placement"])
	}
}

func TestRemoveTenant(t *testing.T) {
	s, users, f := newTestStorage(t)
	ctx := t.Context()
	if _, err := s.Onboard(ctx, suwon); err != nil {
		t.Fatal(err)
	}
	users.calls = nil
	f.calls = nil
	r, err := s.RemoveTenant(ctx, "suwon")
	if err != nil {
		t.Fatal(err)
	}
	if !r.RemovedPlacement || !slices.Equal(r.DeletedPools, NamesFor("suwon").Pools()) {
		t.Errorf("removed = %+v", r)
	}
	if !slices.Equal(users.calls, []string{"DeleteUser suwon purge=true"}) {
		t.Errorf("user calls = %q", users.calls)
	}
	muts := f.mutations()
	if len(muts) == 0 || !strings.HasPrefix(muts[0], "radosgw-admin zone placement rm") {
		t.Errorf("the placement must go before the pools: %q", muts)
	}
	if len(f.pools) != 0 || len(users.users) != 0 {
		t.Errorf("left: pools %v users %v", f.pools, users.users)
	}
	again, err := s.RemoveTenant(ctx, "suwon")
	if err != nil || again.RemovedPlacement || len(again.DeletedPools) != 0 {
		t.Errorf("second removal = %+v, %v", again, err)
	}
}

func TestTenantSpecValidation(t *testing.T) {
	s, users, f := newTestStorage(t)
	for _, spec := range []TenantSpec{
		{ID: "Suwon", QuotaBytes: 1},
		{ID: "a", QuotaBytes: 1},
		{ID: "suwon/../x", QuotaBytes: 1},
		{ID: "suwon", QuotaBytes: 0},
		{ID: "suwon", QuotaBytes: 1, MaxObjects: -1},
	} {
		if _, err := s.Onboard(t.Context(), spec); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: err = %v, want ErrInvalidArgument", spec, err)
		}
	}
	if _, err := s.RemoveTenant(t.Context(), "-x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("remove bad id: %v", err)
	}
	if len(f.calls) != 0 || len(users.calls) != 0 {
		t.Errorf("invalid specs reached the cluster: %q %q", f.calls, users.calls)
	}
}

// rgwRunner plays ceph-conf and radosgw for LocalRGW.
type rgwRunner struct {
	pidFile string
	started atomic.Bool
}

func (r *rgwRunner) Run(_ context.Context, _ []byte, name string, args ...string) ([]byte, error) {
	switch name {
	case "ceph-conf":
		return []byte(r.pidFile + "\n"), nil
	case "radosgw":
		r.started.Store(true)
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %s", name)
}

func TestLocalRGWRestart(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash not found: the infra scripts this test stands in for need it: %v", err)
	}
	// A stand-in daemon whose command line says radosgw.
	daemon := exec.Command(bash, "-c", "exec -a radosgw sleep 60")
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { daemon.Wait(); close(exited) }()
	t.Cleanup(func() { daemon.Process.Kill() })
	waitCmdline(t, daemon.Process.Pid, "radosgw")

	pidFile := filepath.Join(t.TempDir(), "client.rgw.gw.pid")
	if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", daemon.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	runner := &rgwRunner{pidFile: pidFile}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !runner.started.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	rgw := &LocalRGW{Name: "client.rgw.gw", Runner: runner, Endpoint: srv.URL, StopTimeout: 5 * time.Second, StartTimeout: 5 * time.Second}
	if err := rgw.RestartRGW(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Error("the old daemon was not stopped")
	}
	if !runner.started.Load() {
		t.Error("radosgw was not started")
	}
}

func waitCmdline(t *testing.T, pid int, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(b), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d never ran %s", pid, want)
}

func TestLocalRGWRestartTimesOut(t *testing.T) {
	runner := &rgwRunner{pidFile: filepath.Join(t.TempDir(), "none.pid")}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	rgw := &LocalRGW{Name: "client.rgw.gw", Runner: runner, Endpoint: srv.URL, StartTimeout: 300 * time.Millisecond}
	start := time.Now()
	if err := rgw.RestartRGW(t.Context()); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v, want a deadline error", err, time.Since(start))
	}
}
