package cephadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// fakeCeph stands in for the ceph and radosgw-admin CLIs: it keeps a small
// model of the cluster (pools, zonegroup targets, zone pools, committed
// period, user metadata) and answers the commands Cluster sends.
type fakeCeph struct {
	mu          sync.Mutex
	pools       map[string]*poolDetail
	zgTargets   map[string][]string  // placement id -> tags
	zonePools   map[string][3]string // placement id -> data, index, extra
	committed   map[string][]string  // the period's zonegroup targets
	noRealm     bool
	denyDelete  bool // mon_allow_pool_delete = false
	users       map[string]map[string]any
	dropZoneAdd int // drop this many zone placement writes (lost updates)
	failOn      map[string]error
	calls       []string
	stdin       map[string][]byte
	// rgwObjects answers "radosgw-admin object stat": bucket -> key -> the
	// manifest's first stripe (marker and key).
	rgwObjects map[string]map[string]fakeRGWObject
	// radosObjects answers "rados stat": pool -> "name" or "name@locator".
	radosObjects map[string]map[string]bool
}

type fakeRGWObject struct {
	Marker string
	First  rgwObjectKey
}

func newFakeCeph() *fakeCeph {
	return &fakeCeph{
		pools:     map[string]*poolDetail{},
		zgTargets: map[string][]string{"default-placement": {}},
		zonePools: map[string][3]string{"default-placement": {"default.rgw.buckets.data", "default.rgw.buckets.index", "default.rgw.buckets.non-ec"}},
		committed: map[string][]string{"default-placement": {}},
		users:     map[string]map[string]any{},
		failOn:    map[string]error{},
		stdin:     map[string][]byte{},

		rgwObjects:   map[string]map[string]fakeRGWObject{},
		radosObjects: map[string]map[string]bool{},
	}
}

// mutations are the calls that change the cluster (reads filtered out).
func (f *fakeCeph) mutations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.Contains(c, " ls") || strings.HasSuffix(c, " get") || strings.Contains(c, " get ") {
			continue
		}
		out = append(out, c)
	}
	return out
}

func flag(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func cmdErr(cmd string, code int, stderr string) error {
	return &CommandError{Command: cmd, ExitCode: code, Stderr: stderr}
}

func (f *fakeCeph) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if name == "ceph" && len(args) >= 2 && args[0] == "--connect-timeout" {
		args = args[2:]
	}
	cmd := strings.Join(append([]string{name}, args...), " ")
	f.calls = append(f.calls, cmd)
	if stdin != nil {
		f.stdin[cmd] = stdin
	}
	for prefix, err := range f.failOn {
		if strings.HasPrefix(cmd, prefix) {
			return nil, err
		}
	}
	switch {
	case strings.HasPrefix(cmd, "ceph osd pool ls detail"):
		var out []poolDetail
		for _, n := range slices.Sorted(maps.Keys(f.pools)) {
			out = append(out, *f.pools[n])
		}
		return json.Marshal(out)
	case strings.HasPrefix(cmd, "ceph osd pool ls"):
		return json.Marshal(slices.Sorted(maps.Keys(f.pools)))
	case strings.HasPrefix(cmd, "ceph osd pool create "):
		var pg int
		fmt.Sscan(args[4], &pg)
		if _, ok := f.pools[args[3]]; !ok {
			f.pools[args[3]] = &poolDetail{Name: args[3], PGNum: pg, Applications: map[string]json.RawMessage{}}
		}
		return nil, nil
	case strings.HasPrefix(cmd, "ceph osd pool application enable "):
		p, ok := f.pools[args[4]]
		if !ok {
			return nil, cmdErr(cmd, 2, "Error ENOENT: unrecognized pool '"+args[4]+"'")
		}
		p.Applications[args[5]] = json.RawMessage(`{}`)
		return nil, nil
	case strings.HasPrefix(cmd, "ceph osd pool set-quota "):
		p, ok := f.pools[args[3]]
		if !ok {
			return nil, cmdErr(cmd, 2, "Error ENOENT: unrecognized pool '"+args[3]+"'")
		}
		fmt.Sscan(args[5], &p.QuotaMaxBytes)
		return nil, nil
	case strings.HasPrefix(cmd, "ceph osd pool delete "):
		if f.denyDelete {
			return nil, cmdErr(cmd, 1, "Error EPERM: pool deletion is disabled; you must first set the mon_allow_pool_delete config option to true before you can destroy a pool")
		}
		delete(f.pools, args[3])
		return nil, nil
	case strings.HasPrefix(cmd, "radosgw-admin zonegroup get"):
		doc := struct {
			APIName string           `json:"api_name"`
			Targets []map[string]any `json:"placement_targets"`
		}{APIName: "default"}
		for _, id := range slices.Sorted(maps.Keys(f.zgTargets)) {
			doc.Targets = append(doc.Targets, map[string]any{"name": id, "tags": f.zgTargets[id], "storage_classes": []string{"STANDARD"}})
		}
		return json.Marshal(doc)
	case strings.HasPrefix(cmd, "radosgw-admin zone get"):
		var doc struct {
			Pools []map[string]any `json:"placement_pools"`
		}
		for _, id := range slices.Sorted(maps.Keys(f.zonePools)) {
			p := f.zonePools[id]
			doc.Pools = append(doc.Pools, map[string]any{"key": id, "val": map[string]any{
				"index_pool": p[1], "data_extra_pool": p[2],
				"storage_classes": map[string]any{"STANDARD": map[string]any{"data_pool": p[0]}},
			}})
		}
		return json.Marshal(doc)
	case strings.HasPrefix(cmd, "radosgw-admin zonegroup placement add"):
		tags := []string{}
		if t := flag(args, "--tags"); t != "" {
			tags = strings.Split(t, ",")
		}
		f.zgTargets[flag(args, "--placement-id")] = tags
		return nil, nil
	case strings.HasPrefix(cmd, "radosgw-admin zonegroup placement rm"):
		delete(f.zgTargets, flag(args, "--placement-id"))
		return nil, nil
	case strings.HasPrefix(cmd, "radosgw-admin zone placement add"):
		id := flag(args, "--placement-id")
		if _, ok := f.zgTargets[id]; !ok {
			return nil, cmdErr(cmd, 22, "ERROR: placement id '"+id+"' is not configured in zonegroup placement targets")
		}
		if f.dropZoneAdd > 0 {
			f.dropZoneAdd--
			return nil, nil
		}
		f.zonePools[id] = [3]string{flag(args, "--data-pool"), flag(args, "--index-pool"), flag(args, "--data-extra-pool")}
		return nil, nil
	case strings.HasPrefix(cmd, "radosgw-admin zone placement rm"):
		delete(f.zonePools, flag(args, "--placement-id"))
		return nil, nil
	case cmd == "radosgw-admin period get":
		if f.noRealm {
			return nil, cmdErr(cmd, 2, "Error initializing realm (2) No such file or directory")
		}
		var targets []map[string]any
		for _, id := range slices.Sorted(maps.Keys(f.committed)) {
			targets = append(targets, map[string]any{"name": id, "tags": f.committed[id]})
		}
		return json.Marshal(map[string]any{"period_map": map[string]any{"zonegroups": []any{
			map[string]any{"name": "default", "placement_targets": targets},
		}}})
	case cmd == "radosgw-admin period update --commit":
		if f.noRealm {
			return nil, cmdErr(cmd, 2, "Error initializing realm (2) No such file or directory\n\nfailure: (2002) Unknown error 2002:")
		}
		f.committed = maps.Clone(f.zgTargets)
		return nil, nil
	case strings.HasPrefix(cmd, "radosgw-admin object stat "):
		objs, ok := f.rgwObjects[flag(args, "--bucket")]
		if !ok {
			return nil, cmdErr(cmd, 2, "could not get bucket info for bucket="+flag(args, "--bucket")+"\nERROR: could not init bucket: (2) No such file or directory")
		}
		o, ok := objs[flag(args, "--object")]
		if !ok {
			return nil, cmdErr(cmd, 1, "ERROR: failed to stat object, returned error: (2) No such file or directory")
		}
		loc := map[string]any{"obj": map[string]any{
			"bucket": map[string]any{"marker": o.Marker},
			"key":    map[string]any{"name": o.First.Name, "instance": o.First.Instance, "ns": o.First.NS},
		}}
		return json.Marshal(map[string]any{"name": flag(args, "--object"), "manifest": map[string]any{"begin_iter": map[string]any{"location": loc}}})
	case cmd == "rados lspools":
		var out strings.Builder
		for _, n := range slices.Sorted(maps.Keys(f.pools)) {
			out.WriteString(n + "\n")
		}
		return []byte(out.String()), nil
	case name == "rados" && len(args) >= 4 && args[0] == "-p" && args[len(args)-2] == "stat":
		pool, oid := args[1], args[len(args)-1]
		if _, ok := f.pools[pool]; !ok {
			return nil, cmdErr(cmd, 1, "error opening pool "+pool+": (2) No such file or directory")
		}
		if loc := flag(args, "--object-locator"); loc != "" {
			oid += "@" + loc
		}
		if !f.radosObjects[pool][oid] {
			return nil, cmdErr(cmd, 1, " error stat-ing "+pool+"/"+args[len(args)-1]+": (2) No such file or directory")
		}
		return []byte(pool + "/" + args[len(args)-1] + " mtime 2026-01-01T00:00:00.000000+0000, size 1\n"), nil
	case strings.HasPrefix(cmd, "radosgw-admin metadata get user:"):
		u, ok := f.users[strings.TrimPrefix(args[2], "user:")]
		if !ok {
			return nil, cmdErr(cmd, 2, "ERROR: can't get key: (2) No such file or directory")
		}
		return json.Marshal(u)
	case strings.HasPrefix(cmd, "radosgw-admin metadata put user:"):
		var doc map[string]any
		if err := json.Unmarshal(stdin, &doc); err != nil {
			return nil, cmdErr(cmd, 22, "ERROR: failed to decode JSON input")
		}
		f.users[strings.TrimPrefix(args[2], "user:")] = doc
		return nil, nil
	}
	return nil, cmdErr(cmd, 22, "fake ceph: unknown command")
}

// fakeRestarter counts RGW restarts.
type fakeRestarter struct{ n int }

func (r *fakeRestarter) RestartRGW(context.Context) error { r.n++; return nil }
