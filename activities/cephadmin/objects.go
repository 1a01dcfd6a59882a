package cephadmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// maxParallelStats bounds the rados processes PoolsHoldingObject runs at once:
// each is a short-lived cluster client, and the point is to finish in about a
// second on a cluster with a few dozen pools without crowding small hosts.
const maxParallelStats = 4

// rgwObjectKey is an object key as radosgw-admin prints it.
type rgwObjectKey struct {
	Name     string `json:"name"`
	Instance string `json:"instance"`
	NS       string `json:"ns"`
}

// rgwObjectStat is the part of "radosgw-admin object stat" that says where the
// object's data starts: the location of the manifest's first stripe, with the
// bucket marker every RADOS object of the bucket is named after.
type rgwObjectStat struct {
	Manifest struct {
		BeginIter struct {
			Location struct {
				Obj struct {
					Bucket struct {
						Marker string `json:"marker"`
					} `json:"bucket"`
					Key rgwObjectKey `json:"key"`
				} `json:"obj"`
			} `json:"location"`
		} `json:"begin_iter"`
	} `json:"manifest"`
}

// RADOSObject names one RADOS object. Locator, when set, is the key RADOS
// hashes instead of the name to place the object; it must be given to find it.
type RADOSObject struct {
	Name    string
	Locator string
}

// rgwRADOSObject returns the RADOS object that holds an RGW object (the head,
// or a stripe named by key), following RGW's naming: "<marker>_<key>", with a
// leading underscore of the key doubled, and "<marker>__<ns>[:<instance>]_<key>"
// for namespaced (multipart, shadow) and versioned objects. Keys starting with
// an underscore keep "<marker>_<key>" as locator, so RADOS places them where
// the unescaped name would go.
func rgwRADOSObject(marker string, key rgwObjectKey) RADOSObject {
	instance := key.Instance
	if instance == "null" { // RGW's name for the version of an unversioned object
		instance = ""
	}
	var name string
	switch {
	case key.NS == "" && instance == "" && strings.HasPrefix(key.Name, "_"):
		name = "_" + key.Name
	case key.NS == "" && instance == "":
		name = key.Name
	default:
		name = "_" + key.NS
		if instance != "" {
			name += ":" + instance
		}
		name += "_" + key.Name
	}
	o := RADOSObject{Name: marker + "_" + name}
	if key.NS == "" && strings.HasPrefix(key.Name, "_") {
		o.Locator = marker + "_" + key.Name
	}
	return o
}

// ObjectRADOSObjects returns the RADOS objects that hold an RGW object: its
// head, and, when the data starts elsewhere (a multipart upload, whose head
// holds no data), the object holding the first part. It reads "radosgw-admin
// object stat", so the object must exist: ErrNoSuchBucket or ErrNoSuchObject
// otherwise.
func (c *Cluster) ObjectRADOSObjects(ctx context.Context, bucket, key string) ([]RADOSObject, error) {
	if bucket == "" || key == "" {
		return nil, fmt.Errorf("rgw object %q/%q: %w", bucket, key, ErrInvalidArgument)
	}
	out, err := c.radosgwAdmin(ctx, nil, "object", "stat", "--bucket", bucket, "--object", key)
	switch {
	case commandFailed(err, "could not init bucket"), commandFailed(err, "could not get bucket info"):
		return nil, fmt.Errorf("radosgw-admin: stat %s/%s: %w", bucket, key, ErrNoSuchBucket)
	case commandFailed(err, "failed to stat object", "No such file"):
		return nil, fmt.Errorf("radosgw-admin: stat %s/%s: %w", bucket, key, ErrNoSuchObject)
	case err != nil:
		return nil, fmt.Errorf("radosgw-admin: stat %s/%s: %w", bucket, key, err)
	}
	var st rgwObjectStat
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("radosgw-admin: stat %s/%s: decode: %w", bucket, key, err)
	}
	first := st.Manifest.BeginIter.Location.Obj
	marker := first.Bucket.Marker
	if marker == "" {
		return nil, fmt.Errorf("radosgw-admin: stat %s/%s: the answer names no bucket marker", bucket, key)
	}
	head := rgwObjectKey{Name: key}
	if first.Key.NS == "" && first.Key.Name == key {
		// The first stripe is the head itself; it carries the version
		// instance of a versioned object, which is part of the head's name.
		head.Instance = first.Key.Instance
	}
	objs := []RADOSObject{rgwRADOSObject(marker, head)}
	if first.Key.Name != "" {
		if o := rgwRADOSObject(marker, first.Key); o != objs[0] {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// PoolsHoldingObject returns the names of the RADOS pools that hold the RGW
// object bucket/key: every pool of the cluster in which its head (or, for a
// multipart upload, its first part; see ObjectRADOSObjects) exists, sorted.
// It asks each pool with "rados stat", which finds the object by name
// whatever pool the placement says it should be in, so a misplaced copy shows
// up too. Bucket index entries (omap keys in the index pool) are not RADOS
// objects of the key and are not counted.
//
// An object RGW knows but no pool holds is an error, never an empty answer,
// so a check of "in this pool and no other" cannot pass by finding nothing.
func (c *Cluster) PoolsHoldingObject(ctx context.Context, bucket, key string) ([]string, error) {
	objs, err := c.ObjectRADOSObjects(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	// "rados lspools" rather than Pools: a C++ client starts in a tenth of
	// the time the ceph CLI takes, and this runs once per object checked.
	out, err := c.run.Run(ctx, nil, "rados", "lspools")
	if err != nil {
		return nil, fmt.Errorf("rados: list pools: %w", err)
	}
	var pools []string
	for line := range strings.Lines(string(out)) {
		if name := strings.TrimRight(line, "\n"); name != "" {
			pools = append(pools, name)
		}
	}
	type probe struct {
		pool string
		obj  RADOSObject
	}
	var probes []probe
	for _, p := range pools {
		for _, o := range objs {
			probes = append(probes, probe{p, o})
		}
	}
	var (
		mu      sync.Mutex
		holding []string
		errs    []error
		wg      sync.WaitGroup
		slots   = make(chan struct{}, maxParallelStats)
	)
	for _, pr := range probes {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			found, err := c.radosObjectExists(ctx, pr.pool, pr.obj)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case found:
				holding = append(holding, pr.pool)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("locate %s/%s: %w", bucket, key, err)
	}
	slices.Sort(holding)
	holding = slices.Compact(holding)
	if len(holding) == 0 {
		return nil, fmt.Errorf("locate %s/%s: RGW has the object but no pool holds %s", bucket, key, objs[0].Name)
	}
	return holding, nil
}

// radosObjectExists stats one object in one pool (default namespace, where
// RGW keeps object data).
func (c *Cluster) radosObjectExists(ctx context.Context, pool string, o RADOSObject) (bool, error) {
	args := []string{"-p", pool}
	if o.Locator != "" {
		args = append(args, "--object-locator", o.Locator)
	}
	// The name is the last argument and starts with the bucket marker, so a
	// key such as "-x" cannot be read as an option.
	args = append(args, "stat", o.Name)
	_, err := c.run.Run(ctx, nil, "rados", args...)
	switch {
	case err == nil:
		return true, nil
	case commandFailed(err, "No such file or directory"):
		return false, nil
	default:
		return false, fmt.Errorf("rados: stat in pool %s: %w", pool, err)
	}
}
