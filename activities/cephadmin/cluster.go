package cephadmin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// RGWRestarter restarts the RADOS Gateways and returns once they answer again.
type RGWRestarter interface {
	RestartRGW(ctx context.Context) error
}

// ClusterConfig configures a Cluster.
type ClusterConfig struct {
	// Runner runs ceph and radosgw-admin; it must point them at the cluster
	// (ExecRunner with CEPH_CONF in its Env, for example).
	Runner Runner
	// Zonegroup and Zone hold the tenants' placement targets ("default").
	Zonegroup string
	Zone      string
	// RGW restarts the gateways when zone changes cannot be committed as a
	// period (a cluster without a realm). Nil: such changes fail with ErrNoRealm.
	RGW    RGWRestarter
	Logger *slog.Logger
}

// Cluster administers what the Admin Ops API cannot reach: pools, and RGW
// placement targets (zonegroup and zone configuration), through the ceph and
// radosgw-admin command-line tools.
type Cluster struct {
	run       Runner
	zonegroup string
	zone      string
	rgw       RGWRestarter
	log       *slog.Logger
	// zoneMu serializes this process's read-modify-write cycles on the zone and
	// zonegroup objects, which radosgw-admin rewrites whole. Writers in other
	// processes are caught by reading back after each write (see
	// EnsurePlacementTarget); run tenant onboarding from one worker to avoid them.
	zoneMu sync.Mutex
}

// NewCluster returns a Cluster for cfg.
func NewCluster(cfg ClusterConfig) (*Cluster, error) {
	if cfg.Runner == nil {
		return nil, errors.New("ceph: a Runner is required")
	}
	c := &Cluster{
		run:       cfg.Runner,
		zonegroup: cmp.Or(cfg.Zonegroup, "default"),
		zone:      cmp.Or(cfg.Zone, "default"),
		rgw:       cfg.RGW,
		log:       cfg.Logger,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// ceph runs the ceph CLI. --connect-timeout makes it give up on monitors that
// do not answer instead of waiting forever.
func (c *Cluster) ceph(ctx context.Context, args ...string) ([]byte, error) {
	return c.run.Run(ctx, nil, "ceph", append([]string{"--connect-timeout", "30"}, args...)...)
}

func (c *Cluster) radosgwAdmin(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	return c.run.Run(ctx, stdin, "radosgw-admin", args...)
}

// Pools lists the cluster's pools.
func (c *Cluster) Pools(ctx context.Context) ([]string, error) {
	out, err := c.ceph(ctx, "osd", "pool", "ls", "--format", "json")
	if err != nil {
		return nil, fmt.Errorf("ceph: list pools: %w", err)
	}
	var pools []string
	if err := json.Unmarshal(out, &pools); err != nil {
		return nil, fmt.Errorf("ceph: list pools: decode: %w", err)
	}
	return pools, nil
}

// PoolExists reports whether the pool exists.
func (c *Cluster) PoolExists(ctx context.Context, name string) (bool, error) {
	pools, err := c.Pools(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(pools, name), nil
}

// poolDetail is a pool as "ceph osd pool ls detail" describes it.
type poolDetail struct {
	Name          string                     `json:"pool_name"`
	PGNum         int                        `json:"pg_num"`
	QuotaMaxBytes int64                      `json:"quota_max_bytes"`
	Applications  map[string]json.RawMessage `json:"application_metadata"`
}

func (c *Cluster) poolDetails(ctx context.Context) (map[string]poolDetail, error) {
	out, err := c.ceph(ctx, "osd", "pool", "ls", "detail", "--format", "json")
	if err != nil {
		return nil, fmt.Errorf("ceph: list pools: %w", err)
	}
	var pools []poolDetail
	if err := json.Unmarshal(out, &pools); err != nil {
		return nil, fmt.Errorf("ceph: list pools: decode: %w", err)
	}
	byName := make(map[string]poolDetail, len(pools))
	for _, p := range pools {
		byName[p.Name] = p
	}
	return byName, nil
}

func (c *Cluster) poolDetail(ctx context.Context, name string) (poolDetail, bool, error) {
	pools, err := c.poolDetails(ctx)
	if err != nil {
		return poolDetail{}, false, err
	}
	p, ok := pools[name]
	return p, ok, nil
}

// PoolSpec is a pool as EnsurePools makes it.
type PoolSpec struct {
	Name       string
	PGNum      int
	QuotaBytes int64 // max_bytes quota; 0: none
}

func (s PoolSpec) validate() error {
	if err := validatePoolName(s.Name); err != nil {
		return err
	}
	if s.PGNum <= 0 {
		return fmt.Errorf("ceph: pool %s: pg num %d: %w", s.Name, s.PGNum, ErrInvalidArgument)
	}
	if s.QuotaBytes < 0 {
		return fmt.Errorf("ceph: pool %s: quota %d: %w", s.Name, s.QuotaBytes, ErrInvalidArgument)
	}
	return nil
}

// EnsurePool makes a replicated pool for RGW with pgNum placement groups and a
// max_bytes quota (0: none). An existing pool keeps its placement groups but
// gets the application tag and quota converged. created reports whether this
// call made the pool.
func (c *Cluster) EnsurePool(ctx context.Context, name string, pgNum int, quotaBytes int64) (created bool, err error) {
	made, err := c.EnsurePools(ctx, []PoolSpec{{Name: name, PGNum: pgNum, QuotaBytes: quotaBytes}})
	return len(made) > 0, err
}

// EnsurePools does what EnsurePool does for each spec, in order, and returns
// the names of the pools it created (also on error).
//
// It reads the pool table once and changes only what differs: every change is
// a monitor proposal (about a second each) and every ceph CLI start costs
// about half a second, so an idempotent re-run stays cheap.
func (c *Cluster) EnsurePools(ctx context.Context, specs []PoolSpec) (created []string, err error) {
	for _, s := range specs {
		if err := s.validate(); err != nil {
			return nil, err
		}
	}
	pools, err := c.poolDetails(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		made, err := c.ensurePool(ctx, s, pools)
		if made {
			created = append(created, s.Name)
		}
		if err != nil {
			return created, err
		}
	}
	return created, nil
}

func (c *Cluster) ensurePool(ctx context.Context, s PoolSpec, pools map[string]poolDetail) (created bool, err error) {
	name := s.Name
	p, exists := pools[name]
	if !exists {
		pg := strconv.Itoa(s.PGNum)
		// "already exists" is a success for ceph, so a concurrent creator is
		// harmless (both may then report created).
		if _, err := c.ceph(ctx, "osd", "pool", "create", name, pg, pg, "replicated"); err != nil {
			return false, fmt.Errorf("ceph: create pool %s: %w", name, err)
		}
		created = true
		c.log.InfoContext(ctx, "ceph pool created", "pool", name, "pg_num", s.PGNum)
	}
	// Without the application tag the cluster reports a health warning and
	// tools do not know who owns the pool.
	if _, ok := p.Applications["rgw"]; !ok {
		if _, err := c.ceph(ctx, "osd", "pool", "application", "enable", name, "rgw"); err != nil {
			return created, fmt.Errorf("ceph: tag pool %s for rgw: %w", name, err)
		}
	}
	if p.QuotaMaxBytes != s.QuotaBytes {
		if _, err := c.ceph(ctx, "osd", "pool", "set-quota", name, "max_bytes", strconv.FormatInt(s.QuotaBytes, 10)); err != nil {
			return created, fmt.Errorf("ceph: set quota of pool %s: %w", name, err)
		}
		c.log.InfoContext(ctx, "ceph pool quota set", "pool", name, "max_bytes", s.QuotaBytes)
	}
	return created, nil
}

// PoolQuota returns the pool's max_bytes quota (0: none).
func (c *Cluster) PoolQuota(ctx context.Context, name string) (int64, error) {
	p, exists, err := c.poolDetail(ctx, name)
	if err != nil {
		return 0, err
	}
	if !exists {
		return 0, fmt.Errorf("ceph: quota of pool %s: %w", name, ErrNoSuchPool)
	}
	return p.QuotaMaxBytes, nil
}

// DeletePool deletes the pool and all its data. Deleting a pool that does not
// exist is not an error; deleted reports whether this call removed one.
func (c *Cluster) DeletePool(ctx context.Context, name string) (deleted bool, err error) {
	if err := validatePoolName(name); err != nil {
		return false, err
	}
	exists, err := c.PoolExists(ctx, name)
	if err != nil || !exists {
		return false, err
	}
	_, err = c.ceph(ctx, "osd", "pool", "delete", name, name, "--yes-i-really-really-mean-it")
	switch {
	case commandFailed(err, "mon_allow_pool_delete"):
		return false, fmt.Errorf("ceph: delete pool %s: %w: %w", name, ErrPoolDeleteDisabled, err)
	case err != nil:
		return false, fmt.Errorf("ceph: delete pool %s: %w", name, err)
	}
	c.log.InfoContext(ctx, "ceph pool deleted", "pool", name)
	return true, nil
}

// PlacementTarget is an RGW placement target: the zonegroup entry (id and tags)
// and the zone's pools for it.
type PlacementTarget struct {
	ID            string
	DataPool      string
	IndexPool     string
	DataExtraPool string
	// Tags restrict the target to users holding one of them.
	Tags []string
}

type zonegroupDoc struct {
	// APIName is what S3 clients name the zonegroup in a CreateBucket
	// LocationConstraint.
	APIName          string `json:"api_name"`
	PlacementTargets []struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	} `json:"placement_targets"`
}

type zoneDoc struct {
	PlacementPools []struct {
		Key string `json:"key"`
		Val struct {
			IndexPool      string `json:"index_pool"`
			DataExtraPool  string `json:"data_extra_pool"`
			StorageClasses map[string]struct {
				DataPool string `json:"data_pool"`
			} `json:"storage_classes"`
		} `json:"val"`
	} `json:"placement_pools"`
}

func (z zonegroupDoc) target(id string) (tags []string, ok bool) {
	for _, t := range z.PlacementTargets {
		if t.Name == id {
			return t.Tags, true
		}
	}
	return nil, false
}

func (z zoneDoc) pools(id string) (data, index, extra string, ok bool) {
	for _, p := range z.PlacementPools {
		if p.Key == id {
			return p.Val.StorageClasses["STANDARD"].DataPool, p.Val.IndexPool, p.Val.DataExtraPool, true
		}
	}
	return "", "", "", false
}

func (c *Cluster) zonegroupDoc(ctx context.Context) (zonegroupDoc, error) {
	var doc zonegroupDoc
	out, err := c.radosgwAdmin(ctx, nil, "zonegroup", "get", "--rgw-zonegroup", c.zonegroup)
	if err != nil {
		return doc, fmt.Errorf("radosgw-admin: get zonegroup %s: %w", c.zonegroup, err)
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return doc, fmt.Errorf("radosgw-admin: get zonegroup %s: decode: %w", c.zonegroup, err)
	}
	return doc, nil
}

func (c *Cluster) zoneDoc(ctx context.Context) (zoneDoc, error) {
	var doc zoneDoc
	out, err := c.radosgwAdmin(ctx, nil, "zone", "get", "--rgw-zone", c.zone)
	if err != nil {
		return doc, fmt.Errorf("radosgw-admin: get zone %s: %w", c.zone, err)
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return doc, fmt.Errorf("radosgw-admin: get zone %s: decode: %w", c.zone, err)
	}
	return doc, nil
}

// PlacementTarget reads a placement target back; found is false unless both
// the zonegroup and the zone have it.
func (c *Cluster) PlacementTarget(ctx context.Context, id string) (t PlacementTarget, found bool, err error) {
	zg, err := c.zonegroupDoc(ctx)
	if err != nil {
		return t, false, err
	}
	z, err := c.zoneDoc(ctx)
	if err != nil {
		return t, false, err
	}
	tags, inZG := zg.target(id)
	data, index, extra, inZone := z.pools(id)
	t = PlacementTarget{ID: id, DataPool: data, IndexPool: index, DataExtraPool: extra, Tags: tags}
	return t, inZG && inZone, nil
}

// LocationConstraint returns what an S3 CreateBucket names as its
// LocationConstraint to put the bucket on placement target id:
// "<zonegroup api name>:<placement id>" (RGW splits it at the colon, checks
// the zonegroup part and takes the rest as the placement rule). It fails with
// ErrInvalidArgument when the zonegroup has no such target.
func (c *Cluster) LocationConstraint(ctx context.Context, placementID string) (string, error) {
	if err := (PlacementTarget{ID: placementID}).validateID(); err != nil {
		return "", err
	}
	zg, err := c.zonegroupDoc(ctx)
	if err != nil {
		return "", err
	}
	if _, ok := zg.target(placementID); !ok {
		return "", fmt.Errorf("rgw placement %s is not in zonegroup %s: %w", placementID, c.zonegroup, ErrInvalidArgument)
	}
	// RGW fills api_name with the zonegroup's name when it is created without
	// one; the fallback covers documents that leave it out.
	return cmp.Or(zg.APIName, c.zonegroup) + ":" + placementID, nil
}

func (t PlacementTarget) validate() error {
	if err := t.validateID(); err != nil {
		return err
	}
	for _, p := range []string{t.DataPool, t.IndexPool, t.DataExtraPool} {
		if err := validatePoolName(p); err != nil {
			return err
		}
	}
	for _, tag := range t.Tags {
		if tag == "" || strings.ContainsAny(tag, " \t\n,") {
			return fmt.Errorf("rgw placement %s: tag %q: %w", t.ID, tag, ErrInvalidArgument)
		}
	}
	return nil
}

// EnsurePlacementTarget makes the placement target exist with these pools and
// tags, and makes the running gateways use it (ReloadRGW). created reports
// whether the target was missing (wholly or in part) before this call, which
// is what a saga must undo; it stays true when the call then fails, since a
// failed write may have left part of the target behind.
func (c *Cluster) EnsurePlacementTarget(ctx context.Context, t PlacementTarget) (created bool, err error) {
	made, err := c.EnsurePlacementTargets(ctx, []PlacementTarget{t})
	return len(made) > 0, err
}

// EnsurePlacementTargets does what EnsurePlacementTarget does for several
// targets with one read of the configuration per pass and at most one reload
// of the gateways, and returns the ids of the targets that were missing
// (wholly or in part) before the call.
func (c *Cluster) EnsurePlacementTargets(ctx context.Context, targets []PlacementTarget) (created []string, err error) {
	for _, t := range targets {
		if err := t.validate(); err != nil {
			return nil, err
		}
	}
	c.zoneMu.Lock()
	defer c.zoneMu.Unlock()

	const attempts = 3
	changed := false
	for range attempts {
		zg, err := c.zonegroupDoc(ctx)
		if err != nil {
			return created, err
		}
		z, err := c.zoneDoc(ctx)
		if err != nil {
			return created, err
		}
		pending := 0
		for _, t := range targets {
			tags, inZG := zg.target(t.ID)
			data, index, extra, inZone := z.pools(t.ID)
			zgOK := inZG && sameSet(tags, t.Tags)
			zoneOK := inZone && data == t.DataPool && index == t.IndexPool && extra == t.DataExtraPool
			if zgOK && zoneOK {
				continue
			}
			pending++
			changed = true
			if (!inZG || !inZone) && !slices.Contains(created, t.ID) {
				created = append(created, t.ID)
			}
			if err := c.writePlacementTarget(ctx, t, zgOK, zoneOK); err != nil {
				return created, err
			}
		}
		if pending == 0 {
			if !changed {
				// Already stored; a previous call may have failed before the
				// gateways picked it up.
				return created, c.reloadIfNotCommitted(ctx, targets)
			}
			if err := c.ReloadRGW(ctx); err != nil {
				return created, err
			}
			for _, t := range targets {
				c.log.InfoContext(ctx, "rgw placement target ready", "placement", t.ID, "tags", t.Tags, "data_pool", t.DataPool)
			}
			return created, nil
		}
		// Loop to read back: another process rewriting the zone at the same
		// moment can drop our change, which the next read shows.
	}
	ids := make([]string, 0, len(targets))
	for _, t := range targets {
		ids = append(ids, t.ID)
	}
	return created, fmt.Errorf("radosgw-admin: placement %s did not persist after %d attempts (concurrent zone changes?)", strings.Join(ids, ", "), attempts)
}

// writePlacementTarget stores the parts of t that differ: the zonegroup entry
// unless zgOK, the zone's pools unless zoneOK.
func (c *Cluster) writePlacementTarget(ctx context.Context, t PlacementTarget, zgOK, zoneOK bool) error {
	// The zonegroup first: radosgw-admin refuses zone pools for a target
	// the zonegroup does not have. "add" also updates an existing entry.
	if !zgOK {
		args := []string{"zonegroup", "placement", "add", "--rgw-zonegroup", c.zonegroup, "--placement-id", t.ID}
		if len(t.Tags) > 0 {
			args = append(args, "--tags", strings.Join(t.Tags, ","))
		}
		if _, err := c.radosgwAdmin(ctx, nil, args...); err != nil {
			return fmt.Errorf("radosgw-admin: add placement %s to zonegroup %s: %w", t.ID, c.zonegroup, err)
		}
	}
	if !zoneOK {
		if _, err := c.radosgwAdmin(ctx, nil, "zone", "placement", "add", "--rgw-zone", c.zone,
			"--placement-id", t.ID, "--data-pool", t.DataPool, "--index-pool", t.IndexPool,
			"--data-extra-pool", t.DataExtraPool); err != nil {
			return fmt.Errorf("radosgw-admin: add placement %s to zone %s: %w", t.ID, c.zone, err)
		}
	}
	return nil
}

// reloadIfNotCommitted reloads the gateways unless the committed period already
// has every target with its tags. A cluster without a realm has no period to
// compare with; its gateways are assumed current (restart them with
// RestartRGW after a failed change).
func (c *Cluster) reloadIfNotCommitted(ctx context.Context, targets []PlacementTarget) error {
	committed, err := c.committedZonegroup(ctx)
	if errors.Is(err, ErrNoRealm) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range targets {
		if tags, ok := committed.target(t.ID); !ok || !sameSet(tags, t.Tags) {
			return c.ReloadRGW(ctx)
		}
	}
	return nil
}

// committedZonegroup returns this zonegroup as the current period has it.
func (c *Cluster) committedZonegroup(ctx context.Context) (zonegroupDoc, error) {
	out, err := c.radosgwAdmin(ctx, nil, "period", "get")
	if err != nil {
		if noRealm(err) {
			return zonegroupDoc{}, fmt.Errorf("radosgw-admin: get period: %w: %w", ErrNoRealm, err)
		}
		return zonegroupDoc{}, fmt.Errorf("radosgw-admin: get period: %w", err)
	}
	var period struct {
		Map struct {
			Zonegroups []struct {
				Name string `json:"name"`
				zonegroupDoc
			} `json:"zonegroups"`
		} `json:"period_map"`
	}
	if err := json.Unmarshal(out, &period); err != nil {
		return zonegroupDoc{}, fmt.Errorf("radosgw-admin: get period: decode: %w", err)
	}
	for _, zg := range period.Map.Zonegroups {
		if zg.Name == c.zonegroup {
			return zg.zonegroupDoc, nil
		}
	}
	return zonegroupDoc{}, nil
}

// RemovePlacementTarget removes the placement target from the zone and the
// zonegroup and reloads the gateways. Buckets still placed on it become
// unusable: remove them (DeleteUser with purge) first. removed reports whether
// anything was there.
func (c *Cluster) RemovePlacementTarget(ctx context.Context, id string) (removed bool, err error) {
	if err := (PlacementTarget{ID: id}).validateID(); err != nil {
		return false, err
	}
	c.zoneMu.Lock()
	defer c.zoneMu.Unlock()

	zg, err := c.zonegroupDoc(ctx)
	if err != nil {
		return false, err
	}
	z, err := c.zoneDoc(ctx)
	if err != nil {
		return false, err
	}
	_, inZG := zg.target(id)
	_, _, _, inZone := z.pools(id)
	if inZone {
		if _, err := c.radosgwAdmin(ctx, nil, "zone", "placement", "rm", "--rgw-zone", c.zone, "--placement-id", id); err != nil {
			return false, fmt.Errorf("radosgw-admin: remove placement %s from zone %s: %w", id, c.zone, err)
		}
		removed = true
	}
	if inZG {
		if _, err := c.radosgwAdmin(ctx, nil, "zonegroup", "placement", "rm", "--rgw-zonegroup", c.zonegroup, "--placement-id", id); err != nil {
			return removed, fmt.Errorf("radosgw-admin: remove placement %s from zonegroup %s: %w", id, c.zonegroup, err)
		}
		removed = true
	}
	if !removed {
		// Gone from the stored configuration; make sure the committed period
		// (what the gateways run with) agrees.
		committed, err := c.committedZonegroup(ctx)
		if errors.Is(err, ErrNoRealm) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if _, still := committed.target(id); !still {
			return false, nil
		}
	}
	if err := c.ReloadRGW(ctx); err != nil {
		return removed, err
	}
	c.log.InfoContext(ctx, "rgw placement target removed", "placement", id)
	return removed, nil
}

func (t PlacementTarget) validateID() error {
	if t.ID == "" || strings.ContainsAny(t.ID, " \t\n,:/") {
		return fmt.Errorf("rgw placement id %q: %w", t.ID, ErrInvalidArgument)
	}
	return nil
}

// ReloadRGW makes the running gateways load the stored zone and zonegroup
// configuration. With a realm, committing the period does it in place (the
// gateways pause for well under a second and keep their connections); without
// one (radosgw-admin answers ENOENT for the realm) the gateways must restart,
// which the configured RGWRestarter does.
func (c *Cluster) ReloadRGW(ctx context.Context) error {
	err := c.CommitPeriod(ctx)
	if !errors.Is(err, ErrNoRealm) {
		return err
	}
	if c.rgw == nil {
		return fmt.Errorf("ceph: zone changes need an RGW restart and no restarter is configured: %w", err)
	}
	c.log.InfoContext(ctx, "rgw has no realm; restarting it to load zone changes")
	return c.RestartRGW(ctx)
}

// CommitPeriod commits the realm's staged period ("radosgw-admin period update
// --commit"), which makes the gateways reload. It fails with ErrNoRealm on a
// cluster without a realm.
func (c *Cluster) CommitPeriod(ctx context.Context) error {
	_, err := c.radosgwAdmin(ctx, nil, "period", "update", "--commit")
	switch {
	case err == nil:
		c.log.InfoContext(ctx, "rgw period committed")
		return nil
	case noRealm(err):
		return fmt.Errorf("radosgw-admin: commit period: %w: %w", ErrNoRealm, err)
	default:
		return fmt.Errorf("radosgw-admin: commit period: %w", err)
	}
}

// noRealm recognizes radosgw-admin's answer on a cluster without a realm
// (Pacific: "Error initializing realm (2) No such file or directory", exit 2).
func noRealm(err error) bool {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return false
	}
	s := strings.ToLower(ce.Stderr)
	return strings.Contains(s, "realm") && (ce.ExitCode == 2 || strings.Contains(s, "no such file"))
}

// RestartRGW restarts the gateways through the configured RGWRestarter.
func (c *Cluster) RestartRGW(ctx context.Context) error {
	if c.rgw == nil {
		return errors.New("ceph: no RGW restarter configured")
	}
	return c.rgw.RestartRGW(ctx)
}

// SetUserPlacement sets a user's default placement and placement tags through
// the metadata API (radosgw-admin metadata get/put user:UID), for RGW releases
// whose Admin Ops "modify user" ignores them. The document passes through
// stdin: it holds the user's secret keys and must not reach a command line or
// a log.
func (c *Cluster) SetUserPlacement(ctx context.Context, uid, defaultPlacement string, tags []string) error {
	if err := validateUID(uid); err != nil {
		return err
	}
	out, err := c.radosgwAdmin(ctx, nil, "metadata", "get", "user:"+uid)
	if err != nil {
		if commandFailed(err, "No such file") || commandFailed(err, "ENOENT") {
			return fmt.Errorf("radosgw-admin: user %s: %w", uid, ErrNoSuchUser)
		}
		return fmt.Errorf("radosgw-admin: get metadata of user %s: %w", uid, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("radosgw-admin: metadata of user %s: decode: %w", uid, err)
	}
	data, ok := doc["data"].(map[string]any)
	if !ok {
		return fmt.Errorf("radosgw-admin: metadata of user %s: no data section", uid)
	}
	data["default_placement"] = defaultPlacement
	if tags == nil {
		tags = []string{}
	}
	data["placement_tags"] = tags
	in, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("radosgw-admin: metadata of user %s: encode: %w", uid, err)
	}
	if _, err := c.radosgwAdmin(ctx, in, "metadata", "put", "user:"+uid); err != nil {
		return fmt.Errorf("radosgw-admin: put metadata of user %s: %w", uid, err)
	}
	c.log.InfoContext(ctx, "rgw user placement set", "uid", uid, "placement", defaultPlacement, "tags", tags)
	return nil
}

func validatePoolName(name string) error {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, " \t\n/") || strings.HasPrefix(name, "-") {
		return fmt.Errorf("ceph: pool name %q: %w", name, ErrInvalidArgument)
	}
	return nil
}
