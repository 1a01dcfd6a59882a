package hypervisor

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/dure-platform/dure/internal/tenancy"
)

// UplinkKind says what a network's traffic leaves the host on, which decides
// whether libvirt can tag it with VLANs.
type UplinkKind string

const (
	// UplinkOVS is an Open vSwitch bridge (<virtualport type='openvswitch'/>):
	// libvirt sets the port's tag. The production choice.
	UplinkOVS UplinkKind = "openvswitch"
	// UplinkSRIOV is a pool of SR-IOV virtual functions of one physical
	// function (<forward mode='hostdev'>): libvirt programs the VF's VLAN.
	UplinkSRIOV UplinkKind = "sriov"
	// UplinkMacvtapPassthrough gives each VM a whole NIC or VF through macvtap
	// in passthrough mode (<forward mode='passthrough'>): libvirt tags there too.
	UplinkMacvtapPassthrough UplinkKind = "macvtap-passthrough"
	// UplinkLinuxBridge is a plain Linux bridge: libvirt cannot tag its ports
	// (it rejects <vlan> on such networks), so it carries no VLAN portgroups.
	// Put the VLAN on the host instead (a bridge per VLAN sub-interface) or
	// use Open vSwitch.
	UplinkLinuxBridge UplinkKind = "linux-bridge"
)

// CanTagVLANs reports whether libvirt can put guest traffic on a VLAN over
// this kind of uplink without the guest knowing.
func (k UplinkKind) CanTagVLANs() bool {
	switch k {
	case UplinkOVS, UplinkSRIOV, UplinkMacvtapPassthrough:
		return true
	}
	return false
}

const (
	// DefaultNetwork is the shared network tenant portgroups go on when a
	// request names none.
	DefaultNetwork = "dure"
	// ParkingPortgroup is every VLAN-capable network's default portgroup. An
	// interface that names no portgroup lands on ParkingVLAN, where nothing
	// else is: on Open vSwitch an untagged port would be a trunk carrying
	// every tenant's VLAN.
	ParkingPortgroup = "unassigned"
	// ParkingVLAN is the VLAN of ParkingPortgroup; no one else may use it.
	ParkingVLAN = 4094
)

// Portgroup is one VLAN of a network.
type Portgroup struct {
	Name string `json:"name"`
	VLAN int    `json:"vlan"`
}

// PlatformPortgroups returns the platform's own VLANs from the network plan:
// DMZ 10, AI internal 50, AI service 55, AI storage 60, management 100.
// Tenants (20, 21, 22 for the pilots) get theirs through EnsureTenantNetwork.
func PlatformPortgroups() []Portgroup {
	return []Portgroup{
		{Name: "dmz", VLAN: 10},
		{Name: "ai-internal", VLAN: 50},
		{Name: "ai-service", VLAN: 55},
		{Name: "ai-storage", VLAN: 60},
		{Name: "mgmt", VLAN: 100},
	}
}

// Network is a shared libvirt network on one uplink with its VLAN portgroups.
type Network struct {
	Name string     `json:"name"`
	Kind UplinkKind `json:"kind,omitempty"` // empty means UplinkOVS
	// Bridge is the uplink device: the Open vSwitch or Linux bridge, the
	// SR-IOV physical function, or the NIC for macvtap passthrough.
	Bridge     string      `json:"bridge"`
	Portgroups []Portgroup `json:"portgroups,omitempty"`
}

// TenantNetwork puts a tenant on its VLAN: portgroup "tenant-<id>" of a
// shared network.
type TenantNetwork struct {
	TenantID string     `json:"tenant_id"`
	VLAN     int        `json:"vlan"`
	Bridge   string     `json:"bridge"`
	Kind     UplinkKind `json:"kind,omitempty"`    // empty means UplinkOVS
	Network  string     `json:"network,omitempty"` // empty means DefaultNetwork
}

// NetworkInfo is the result of EnsureNetwork and EnsureTenantNetwork.
type NetworkInfo struct {
	Network    string      `json:"network"`
	Portgroups []Portgroup `json:"portgroups,omitempty"` // the ones asked for
	Created    bool        `json:"created"`              // this call defined the network
	Added      []string    `json:"added,omitempty"`      // portgroups this call added
}

// TenantPortgroup names a tenant's portgroup.
func TenantPortgroup(tenantID string) string { return "tenant-" + tenantID }

var (
	objectName    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	portgroupName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	ifaceName     = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,15}$`) // IFNAMSIZ-1
)

func (n Network) normalize() (Network, error) {
	if !objectName.MatchString(n.Name) {
		return n, fmt.Errorf("%w: network name %q: use up to 64 letters, digits, '_', '.', '-'", ErrInvalidSpec, n.Name)
	}
	if n.Kind == "" {
		n.Kind = UplinkOVS
	}
	switch n.Kind {
	case UplinkOVS, UplinkSRIOV, UplinkMacvtapPassthrough, UplinkLinuxBridge:
	default:
		return n, fmt.Errorf("%w: network %s: unknown uplink kind %q", ErrInvalidSpec, n.Name, n.Kind)
	}
	if !ifaceName.MatchString(n.Bridge) {
		return n, fmt.Errorf("%w: network %s: uplink device %q is not an interface name", ErrInvalidSpec, n.Name, n.Bridge)
	}
	if len(n.Portgroups) > 0 && !n.Kind.CanTagVLANs() {
		return n, fmt.Errorf("%w: network %s on %s %s: libvirt tags VLANs only on Open vSwitch, SR-IOV hostdev and macvtap passthrough uplinks; use Open vSwitch or a per-VLAN host bridge",
			ErrVLANUnsupported, n.Name, n.Kind, n.Bridge)
	}
	names := map[string]bool{}
	vlans := map[int]string{}
	for _, pg := range n.Portgroups {
		if !portgroupName.MatchString(pg.Name) || pg.Name == ParkingPortgroup {
			return n, fmt.Errorf("%w: network %s: portgroup name %q", ErrInvalidSpec, n.Name, pg.Name)
		}
		if err := checkVLANRange(pg.VLAN); err != nil {
			return n, fmt.Errorf("network %s portgroup %s: %w", n.Name, pg.Name, err)
		}
		if pg.VLAN == ParkingVLAN {
			return n, fmt.Errorf("%w: vlan %d is the parking vlan of unassigned ports", ErrVLANInUse, pg.VLAN)
		}
		if names[pg.Name] {
			return n, fmt.Errorf("%w: network %s: portgroup %s twice", ErrInvalidSpec, n.Name, pg.Name)
		}
		if other, dup := vlans[pg.VLAN]; dup {
			return n, fmt.Errorf("%w: vlan %d asked for both %s and %s", ErrVLANInUse, pg.VLAN, other, pg.Name)
		}
		names[pg.Name], vlans[pg.VLAN] = true, pg.Name
	}
	return n, nil
}

func checkVLANRange(vlan int) error {
	if vlan < 1 || vlan > 4094 {
		return fmt.Errorf("%w: vlan %d outside 1-4094", ErrInvalidSpec, vlan)
	}
	return nil
}

func (tn TenantNetwork) network() (Network, error) {
	if err := tenancy.ValidateTenantID(tn.TenantID); err != nil {
		return Network{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if err := checkVLANRange(tn.VLAN); err != nil {
		return Network{}, fmt.Errorf("tenant %s: %w", tn.TenantID, err)
	}
	for _, pg := range PlatformPortgroups() {
		if pg.VLAN == tn.VLAN {
			return Network{}, fmt.Errorf("%w: vlan %d is reserved for %s by the network plan, not for tenant %s", ErrVLANInUse, tn.VLAN, pg.Name, tn.TenantID)
		}
	}
	name := tn.Network
	if name == "" {
		name = DefaultNetwork
	}
	return Network{
		Name:       name,
		Kind:       tn.Kind,
		Bridge:     tn.Bridge,
		Portgroups: []Portgroup{{Name: TenantPortgroup(tn.TenantID), VLAN: tn.VLAN}},
	}.normalize()
}

// EnsureTenantNetwork gives a tenant its VLAN: portgroup "tenant-<id>"
// tagged tn.VLAN on the shared network, which it defines and starts when
// missing. Running it again changes nothing. A VLAN another tenant or the
// platform carries is ErrVLANInUse; the same tenant on another VLAN is
// ErrSpecMismatch (delete first).
func (c *Conn) EnsureTenantNetwork(ctx context.Context, tn TenantNetwork) (NetworkInfo, error) {
	n, err := tn.network()
	if err != nil {
		return NetworkInfo{}, err
	}
	return c.EnsureNetwork(ctx, n)
}

// DeleteTenantNetwork removes the tenant's portgroup, and the shared network
// with it once no other portgroup is left. Refused (ErrNetworkInUse) while a
// domain has an interface on it. Absent is fine.
func (c *Conn) DeleteTenantNetwork(ctx context.Context, tn TenantNetwork) error {
	if err := tenancy.ValidateTenantID(tn.TenantID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	name := tn.Network
	if name == "" {
		name = DefaultNetwork
	}
	return c.deletePortgroup(ctx, name, TenantPortgroup(tn.TenantID))
}

// EnsureNetwork defines and starts a network with the given portgroups, or
// adds the missing portgroups to the existing one. Portgroups already there
// and not asked for are left alone (other tenants).
func (c *Conn) EnsureNetwork(ctx context.Context, n Network) (NetworkInfo, error) {
	n, err := n.normalize()
	if err != nil {
		return NetworkInfo{}, err
	}
	var info NetworkInfo
	err = c.mutate(ctx, func(lv *libvirt.Libvirt) error {
		nets, err := listNetworks(lv)
		if err != nil {
			return err
		}
		info, err = c.ensureNetwork(lv, nets, n)
		return err
	})
	return info, err
}

func (c *Conn) ensureNetwork(lv *libvirt.Libvirt, nets []netState, n Network) (NetworkInfo, error) {
	info := NetworkInfo{Network: n.Name, Portgroups: n.Portgroups}
	owners := vlanOwners(nets)
	existing := findNetwork(nets, n.Name)
	if existing == nil {
		for _, pg := range n.Portgroups {
			if owner, taken := owners[pg.VLAN]; taken {
				return info, fmt.Errorf("%w: vlan %d for portgroup %s of %s is carried by %s", ErrVLANInUse, pg.VLAN, pg.Name, n.Name, owner)
			}
		}
		doc, err := networkXML(n)
		if err != nil {
			return info, err
		}
		c.observe("network", doc)
		net, err := lv.NetworkDefineXMLFlags(doc, uint32(libvirt.NetworkDefineValidate))
		if err != nil {
			return info, fmt.Errorf("define network %s: %w", n.Name, mapError(err))
		}
		if err := lv.NetworkCreate(net); err != nil {
			// Leave nothing half-made behind: the retry starts clean.
			_ = lv.NetworkUndefine(net)
			return info, fmt.Errorf("start network %s: %w", n.Name, mapError(err))
		}
		if err := lv.NetworkSetAutostart(net, 1); err != nil {
			return info, fmt.Errorf("autostart network %s: %w", n.Name, mapError(err))
		}
		info.Created = true
		for _, pg := range n.Portgroups {
			info.Added = append(info.Added, pg.Name)
		}
		c.log.Info("network created", "network", n.Name, "kind", n.Kind, "bridge", n.Bridge, "portgroups", n.Portgroups)
		return info, nil
	}

	kind, dev := uplinkOf(existing.def)
	if kind != n.Kind || dev != n.Bridge {
		return info, fmt.Errorf("%w: network %s runs on %s %s, not %s %s", ErrSpecMismatch, n.Name, kind, dev, n.Kind, n.Bridge)
	}
	for _, pg := range n.Portgroups {
		if have, ok := existing.portgroups[pg.Name]; ok {
			if !slices.Equal(have, []int{pg.VLAN}) {
				return info, fmt.Errorf("%w: portgroup %s of %s carries vlan %v, not %d", ErrSpecMismatch, pg.Name, n.Name, have, pg.VLAN)
			}
			continue
		}
		if owner, taken := owners[pg.VLAN]; taken {
			return info, fmt.Errorf("%w: vlan %d for portgroup %s of %s is carried by %s", ErrVLANInUse, pg.VLAN, pg.Name, n.Name, owner)
		}
		doc, err := portgroupXML(pg)
		if err != nil {
			return info, err
		}
		if err := lv.NetworkUpdateCompat(existing.ref, libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionPortgroup, -1, doc, existing.updateFlags()); err != nil {
			return info, fmt.Errorf("add portgroup %s to network %s: %w", pg.Name, n.Name, mapError(err))
		}
		owners[pg.VLAN] = describeOwner(n.Name, pg.Name)
		info.Added = append(info.Added, pg.Name)
		c.log.Info("portgroup added", "network", n.Name, "portgroup", pg.Name, "vlan", pg.VLAN)
	}
	if !existing.active {
		if err := lv.NetworkCreate(existing.ref); err != nil {
			return info, fmt.Errorf("start network %s: %w", n.Name, mapError(err))
		}
		c.log.Info("network started", "network", n.Name)
	}
	if existing.persistent {
		// A first attempt may have died between start and autostart.
		if err := lv.NetworkSetAutostart(existing.ref, 1); err != nil {
			return info, fmt.Errorf("autostart network %s: %w", n.Name, mapError(err))
		}
	}
	return info, nil
}

// DeleteNetwork stops and undefines a network. Refused (ErrNetworkInUse)
// while a domain has an interface on it. Absent is fine.
func (c *Conn) DeleteNetwork(ctx context.Context, name string) error {
	if !objectName.MatchString(name) {
		return fmt.Errorf("%w: network name %q", ErrInvalidSpec, name)
	}
	return c.mutate(ctx, func(lv *libvirt.Libvirt) error {
		nets, err := listNetworks(lv)
		if err != nil {
			return err
		}
		existing := findNetwork(nets, name)
		if existing == nil {
			return nil
		}
		doms, err := listDomains(lv)
		if err != nil {
			return err
		}
		if users := networkUsers(doms, name, ""); len(users) > 0 {
			return fmt.Errorf("%w: network %s is used by domains %s", ErrNetworkInUse, name, strings.Join(users, ", "))
		}
		return c.removeNetwork(lv, existing)
	})
}

func (c *Conn) deletePortgroup(ctx context.Context, network, portgroup string) error {
	return c.mutate(ctx, func(lv *libvirt.Libvirt) error {
		nets, err := listNetworks(lv)
		if err != nil {
			return err
		}
		existing := findNetwork(nets, network)
		if existing == nil {
			return nil
		}
		doms, err := listDomains(lv)
		if err != nil {
			return err
		}
		if _, ok := existing.portgroups[portgroup]; ok {
			if users := networkUsers(doms, network, portgroup); len(users) > 0 {
				return fmt.Errorf("%w: portgroup %s of %s is used by domains %s", ErrNetworkInUse, portgroup, network, strings.Join(users, ", "))
			}
			doc := fmt.Sprintf("<portgroup name='%s'/>", portgroup) // name matched portgroupName
			// Live and persistent definitions one at a time, each allowed to
			// lack the portgroup already: a retry after a partial removal,
			// or the test driver, which drops config updates made while the
			// network was stopped from its persistent definition.
			for _, f := range []libvirt.NetworkUpdateFlags{libvirt.NetworkUpdateAffectLive, libvirt.NetworkUpdateAffectConfig} {
				if existing.updateFlags()&f == 0 {
					continue
				}
				err := lv.NetworkUpdateCompat(existing.ref, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionPortgroup, -1, doc, f)
				if err != nil && !isMissingPortgroup(err) {
					return fmt.Errorf("remove portgroup %s from network %s: %w", portgroup, network, mapError(err))
				}
			}
			delete(existing.portgroups, portgroup)
			c.log.Info("portgroup removed", "network", network, "portgroup", portgroup)
		}
		// The shared network goes with its last portgroup, so offboarding the
		// last tenant of a host leaves nothing behind. A retry after a
		// failure between the two steps lands here too.
		for name := range existing.portgroups {
			if name != ParkingPortgroup {
				return nil
			}
		}
		if existing.def.VLAN != nil || len(networkUsers(doms, network, "")) > 0 {
			return nil
		}
		return c.removeNetwork(lv, existing)
	})
}

func isMissingPortgroup(err error) bool {
	le, ok := libvirtError(err)
	return ok && le.Code == uint32(libvirt.ErrOperationInvalid) && strings.Contains(le.Message, "couldn't find a portgroup")
}

func (c *Conn) removeNetwork(lv *libvirt.Libvirt, n *netState) error {
	if n.active {
		if err := lv.NetworkDestroy(n.ref); err != nil && !hasCode(err, libvirt.ErrOperationInvalid) {
			return fmt.Errorf("stop network %s: %w", n.name, mapError(err))
		}
	}
	if n.persistent {
		if err := lv.NetworkUndefine(n.ref); err != nil && !hasCode(err, libvirt.ErrNoNetwork) {
			return fmt.Errorf("undefine network %s: %w", n.name, mapError(err))
		}
	}
	c.log.Info("network removed", "network", n.name)
	return nil
}

// netState is one network as libvirt has it now.
type netState struct {
	name       string
	ref        libvirt.Network
	def        *libvirtxml.Network
	active     bool
	persistent bool
	portgroups map[string][]int // name -> VLAN tags
}

func (n *netState) updateFlags() libvirt.NetworkUpdateFlags {
	var f libvirt.NetworkUpdateFlags
	if n.active {
		f |= libvirt.NetworkUpdateAffectLive
	}
	if n.persistent {
		f |= libvirt.NetworkUpdateAffectConfig
	}
	return f
}

func listNetworks(lv *libvirt.Libvirt) ([]netState, error) {
	refs, _, err := lv.ConnectListAllNetworks(1, 0)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", mapError(err))
	}
	out := make([]netState, 0, len(refs))
	for _, ref := range refs {
		doc, err := lv.NetworkGetXMLDesc(ref, 0)
		if err != nil {
			if hasCode(err, libvirt.ErrNoNetwork) {
				continue // removed meanwhile
			}
			return nil, fmt.Errorf("read network %s: %w", ref.Name, mapError(err))
		}
		def := &libvirtxml.Network{}
		if err := def.Unmarshal(doc); err != nil {
			return nil, fmt.Errorf("parse network %s: %w", ref.Name, err)
		}
		active, err := lv.NetworkIsActive(ref)
		if err != nil {
			return nil, fmt.Errorf("network %s state: %w", ref.Name, mapError(err))
		}
		persistent, err := lv.NetworkIsPersistent(ref)
		if err != nil {
			return nil, fmt.Errorf("network %s state: %w", ref.Name, mapError(err))
		}
		st := netState{name: ref.Name, ref: ref, def: def, active: active == 1, persistent: persistent == 1, portgroups: map[string][]int{}}
		for _, pg := range def.PortGroups {
			st.portgroups[pg.Name] = vlanTags(pg.VLAN)
		}
		out = append(out, st)
	}
	return out, nil
}

func findNetwork(nets []netState, name string) *netState {
	for i := range nets {
		if nets[i].name == name {
			return &nets[i]
		}
	}
	return nil
}

func vlanTags(v *libvirtxml.NetworkVLAN) []int {
	if v == nil {
		return nil
	}
	tags := make([]int, 0, len(v.Tags))
	for _, t := range v.Tags {
		tags = append(tags, int(t.ID))
	}
	return tags
}

func describeOwner(network, portgroup string) string {
	if portgroup == "" {
		return "network " + network
	}
	return fmt.Sprintf("portgroup %s of network %s", portgroup, network)
}

// vlanOwners maps every VLAN any network on the host carries to who carries
// it, whoever defined the network. Parking portgroups are everyone's and
// nobody's, so they are left out; ParkingVLAN is refused up front instead.
func vlanOwners(nets []netState) map[int]string {
	owners := map[int]string{}
	for _, n := range nets {
		for _, tag := range vlanTags(n.def.VLAN) {
			owners[tag] = describeOwner(n.name, "")
		}
		for _, pg := range n.def.PortGroups {
			if pg.Name == ParkingPortgroup {
				continue
			}
			for _, tag := range vlanTags(pg.VLAN) {
				owners[tag] = describeOwner(n.name, pg.Name)
			}
		}
	}
	return owners
}

// uplinkOf reads back what a network runs on, in the terms of Network.
func uplinkOf(def *libvirtxml.Network) (UplinkKind, string) {
	if def.Forward == nil {
		return "isolated", ""
	}
	bridge := ""
	if def.Bridge != nil {
		bridge = def.Bridge.Name
	}
	firstDev := func() string {
		if len(def.Forward.PFs) > 0 {
			return def.Forward.PFs[0].Dev
		}
		if len(def.Forward.Interfaces) > 0 {
			return def.Forward.Interfaces[0].Dev
		}
		return def.Forward.Dev
	}
	switch def.Forward.Mode {
	case "bridge":
		if bridge == "" {
			return "macvtap-bridge", firstDev()
		}
		if vp := def.VirtualPort; vp != nil && vp.Params != nil && vp.Params.OpenVSwitch != nil {
			return UplinkOVS, bridge
		}
		return UplinkLinuxBridge, bridge
	case "hostdev":
		return UplinkSRIOV, firstDev()
	case "passthrough":
		return UplinkMacvtapPassthrough, firstDev()
	}
	return UplinkKind(def.Forward.Mode), bridge
}
