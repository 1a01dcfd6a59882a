package hypervisor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/dure-platform/dure/internal/tenancy"
)

// VMSpec describes a VM. Zero VCPUs or MemoryMiB are errors for EnsureVM;
// EnsureDataVM fills in the data VM's 2 vCPU / 4096 MiB.
type VMSpec struct {
	Name      string `json:"name"`
	TenantID  string `json:"tenant_id,omitempty"` // recorded in the domain's metadata
	Role      string `json:"role,omitempty"`      // tenant-data, training, inference, ...
	VCPUs     int    `json:"vcpus"`
	MemoryMiB int    `json:"memory_mib"`
	// Network and Portgroup place the VM's one interface; a network with
	// VLAN portgroups needs a portgroup. Empty Network: no interface.
	Network   string `json:"network,omitempty"`
	Portgroup string `json:"portgroup,omitempty"`
	// GPUs are whole GPUs passed through, by node device name
	// (pci_0000_3b_00_0, as `virsh nodedev-list --cap pci` prints them).
	GPUs []string `json:"gpus,omitempty"`
	// VGPUs are NVIDIA vGPUs (mediated devices).
	VGPUs []VGPU `json:"vgpus,omitempty"`
	// Autostart starts the VM when the host boots.
	Autostart bool `json:"autostart,omitempty"`
}

// VGPU is one mediated device: an existing one by UUID, or one the host will
// create (EnsureMdev) of Type on Parent.
type VGPU struct {
	UUID string `json:"uuid"`
	Type string `json:"type"` // mdev type id, e.g. nvidia-473 (GRID A100-8C)
	// Parent is the physical GPU's node device name; empty lets the platform
	// pick a GPU with a free instance (or the existing mdev's parent).
	Parent string `json:"parent,omitempty"`
}

// VMInfo is the result of EnsureVM and EnsureDataVM.
type VMInfo struct {
	Name    string   `json:"name"`
	UUID    string   `json:"uuid"`
	State   string   `json:"state"`
	Created bool     `json:"created"` // this call defined the domain
	Started bool     `json:"started"` // this call started it
	GPUs    []string `json:"gpus,omitempty"`
	VGPUs   []VGPU   `json:"vgpus,omitempty"` // with the parents the platform chose
}

// Data VM defaults from the VM plan (tenant data VMs: 2 vCPU, 4 GB).
const (
	DataVMVCPUs     = 2
	DataVMMemoryMiB = 4096
	RoleTenantData  = "tenant-data"
)

var (
	roleName    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	mdevType    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	pciDevName  = regexp.MustCompile(`^pci_[0-9a-f]{4}_[0-9a-f]{2}_[0-9a-f]{2}_[0-7]$`)
)

func (s VMSpec) normalize() (VMSpec, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: vm %s: %s", ErrInvalidSpec, s.Name, fmt.Sprintf(format, args...))
	}
	if !objectName.MatchString(s.Name) {
		return s, fmt.Errorf("%w: vm name %q: use up to 64 letters, digits, '_', '.', '-'", ErrInvalidSpec, s.Name)
	}
	if s.TenantID != "" {
		if err := tenancy.ValidateTenantID(s.TenantID); err != nil {
			return s, fmt.Errorf("%w: vm %s: %w", ErrInvalidSpec, s.Name, err)
		}
	}
	if s.Role != "" && !roleName.MatchString(s.Role) {
		return s, bad("role %q", s.Role)
	}
	if s.VCPUs < 1 || s.VCPUs > 512 {
		return s, bad("%d vCPUs", s.VCPUs)
	}
	if s.MemoryMiB < 128 || s.MemoryMiB > 16<<20 {
		return s, bad("%d MiB of memory", s.MemoryMiB)
	}
	if s.Network != "" && !objectName.MatchString(s.Network) {
		return s, bad("network name %q", s.Network)
	}
	if s.Portgroup != "" && (s.Network == "" || !portgroupName.MatchString(s.Portgroup)) {
		return s, bad("portgroup %q (needs a network)", s.Portgroup)
	}
	seen := map[string]bool{}
	for _, g := range s.GPUs {
		if !pciDevName.MatchString(g) {
			return s, bad("gpu %q is not a PCI node device name like pci_0000_3b_00_0", g)
		}
		if seen[g] {
			return s, bad("gpu %s twice", g)
		}
		seen[g] = true
	}
	s.VGPUs = slices.Clone(s.VGPUs)
	for i, v := range s.VGPUs {
		v, err := v.normalize()
		if err != nil {
			return s, fmt.Errorf("vm %s: %w", s.Name, err)
		}
		if seen[v.UUID] {
			return s, bad("vgpu %s twice", v.UUID)
		}
		seen[v.UUID] = true
		s.VGPUs[i] = v
	}
	return s, nil
}

func (v VGPU) normalize() (VGPU, error) {
	v.UUID = strings.ToLower(v.UUID)
	if !uuidPattern.MatchString(v.UUID) {
		return v, fmt.Errorf("%w: vgpu uuid %q", ErrInvalidSpec, v.UUID)
	}
	if !mdevType.MatchString(v.Type) {
		return v, fmt.Errorf("%w: vgpu %s type %q", ErrInvalidSpec, v.UUID, v.Type)
	}
	if v.Parent != "" && !pciDevName.MatchString(v.Parent) {
		return v, fmt.Errorf("%w: vgpu %s parent %q is not a PCI node device name", ErrInvalidSpec, v.UUID, v.Parent)
	}
	return v, nil
}

// hash identifies the request, so a second EnsureVM can tell "same VM" from
// "another VM under the same name". It covers the request as made (an
// automatically chosen vGPU parent is not part of it).
func (s VMSpec) hash() string {
	b, _ := json.Marshal(s) // plain struct: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// EnsureDataVM defines and starts a tenant's data VM on the tenant's own
// portgroup: 2 vCPU and 4096 MiB unless given, named "data-<tenant>" unless
// named, autostarted with the host. It carries no GPU, and a portgroup other
// than the tenant's is refused: raw tenant data stays on the tenant's VLAN.
func (c *Conn) EnsureDataVM(ctx context.Context, spec VMSpec) (VMInfo, error) {
	if err := tenancy.ValidateTenantID(spec.TenantID); err != nil {
		return VMInfo{}, fmt.Errorf("%w: data vm: %w", ErrInvalidSpec, err)
	}
	own := TenantPortgroup(spec.TenantID)
	if spec.Name == "" {
		spec.Name = dataVMName(spec.TenantID)
	}
	if spec.VCPUs == 0 {
		spec.VCPUs = DataVMVCPUs
	}
	if spec.MemoryMiB == 0 {
		spec.MemoryMiB = DataVMMemoryMiB
	}
	if spec.Role == "" {
		spec.Role = RoleTenantData
	}
	if spec.Network == "" {
		spec.Network = DefaultNetwork
	}
	if spec.Portgroup == "" {
		spec.Portgroup = own
	}
	if spec.Portgroup != own {
		return VMInfo{}, fmt.Errorf("%w: data vm %s of tenant %s must sit on portgroup %s, not %s", ErrInvalidSpec, spec.Name, spec.TenantID, own, spec.Portgroup)
	}
	if len(spec.GPUs)+len(spec.VGPUs) > 0 {
		return VMInfo{}, fmt.Errorf("%w: data vm %s: GPUs belong to the shared pool, not to data VMs", ErrInvalidSpec, spec.Name)
	}
	spec.Autostart = true
	return c.EnsureVM(ctx, spec)
}

// EnsureVM defines and starts a VM, checking first what a real host would
// refuse or what would break isolation: the network and portgroup must
// exist; GPUs must be free (no other defined domain holds them, no vGPUs on
// them); vGPU types must have free instances. A VM that exists with the same
// spec is started if stopped; with another spec it is ErrSpecMismatch. A
// start that fails undefines the VM again, so nothing half-made stays.
func (c *Conn) EnsureVM(ctx context.Context, spec VMSpec) (VMInfo, error) {
	spec, err := spec.normalize()
	if err != nil {
		return VMInfo{}, err
	}
	hash := spec.hash()
	var info VMInfo
	err = c.mutate(ctx, func(lv *libvirt.Libvirt) error {
		// The common case on a retry: the VM is there. One lookup, no scan.
		ref, err := lv.DomainLookupByName(spec.Name)
		switch {
		case err == nil:
			d, err := readDomain(lv, ref)
			if err != nil {
				return err
			}
			info, err = c.ensureRunning(lv, d, hash, spec.Autostart)
			return err
		case !hasCode(err, libvirt.ErrNoDomain):
			return fmt.Errorf("look up vm %s: %w", spec.Name, mapError(err))
		}
		if spec.Network != "" {
			if err := checkAttachment(lv, spec); err != nil {
				return err
			}
		}
		plan := domainPlan{spec: spec, specHash: hash, domainType: c.DomainType(), cpuMode: c.cfg.CPUMode}
		if len(spec.GPUs)+len(spec.VGPUs) > 0 {
			host, err := readHost(lv)
			if err != nil {
				return err
			}
			if plan.gpus, plan.vgpus, err = host.place(spec); err != nil {
				return err
			}
		}
		dom, err := c.defineAndStart(lv, plan)
		if err != nil {
			return err
		}
		if spec.Autostart {
			if err := lv.DomainSetAutostart(dom, 1); err != nil {
				return fmt.Errorf("autostart vm %s: %w", spec.Name, mapError(err))
			}
		}
		info = VMInfo{Name: spec.Name, UUID: uuidString(dom.UUID), State: "running", Created: true, Started: true,
			GPUs: spec.GPUs, VGPUs: plan.vgpus}
		c.log.Info("vm created", "vm", spec.Name, "tenant", spec.TenantID, "role", spec.Role,
			"vcpus", spec.VCPUs, "memory_mib", spec.MemoryMiB, "network", spec.Network, "portgroup", spec.Portgroup,
			"gpus", spec.GPUs, "vgpus", len(plan.vgpus))
		return nil
	})
	return info, err
}

// defineAndStart defines the planned domain and starts it; a start that
// fails undefines it again, so a retry begins from a clean host.
func (c *Conn) defineAndStart(lv *libvirt.Libvirt, plan domainPlan) (libvirt.Domain, error) {
	name := plan.spec.Name
	doc, err := domainXML(plan)
	if err != nil {
		return libvirt.Domain{}, err
	}
	c.observe("domain", doc)
	dom, err := lv.DomainDefineXMLFlags(doc, libvirt.DomainDefineValidate)
	if err != nil {
		return dom, fmt.Errorf("define vm %s: %w", name, mapError(err))
	}
	if err := lv.DomainCreate(dom); err != nil {
		if uerr := undefine(lv, dom); uerr != nil {
			c.log.Warn("undefine after failed start", "vm", name, "err", uerr)
		}
		return dom, fmt.Errorf("start vm %s: %w", name, mapError(err))
	}
	return dom, nil
}

// checkAttachment: libvirt's test driver starts a VM on a network that does
// not exist; qemu would not, and a missing portgroup would silently put the
// VM on the parking VLAN.
func checkAttachment(lv *libvirt.Libvirt, spec VMSpec) error {
	nets, err := listNetworks(lv)
	if err != nil {
		return err
	}
	n := findNetwork(nets, spec.Network)
	if n == nil {
		return fmt.Errorf("%w: vm %s: no network %s", ErrNetworkNotFound, spec.Name, spec.Network)
	}
	if spec.Portgroup == "" {
		if len(n.portgroups) > 0 {
			return fmt.Errorf("%w: vm %s: network %s carries VLAN portgroups; name one", ErrInvalidSpec, spec.Name, spec.Network)
		}
		return nil
	}
	if _, ok := n.portgroups[spec.Portgroup]; !ok || spec.Portgroup == ParkingPortgroup {
		return fmt.Errorf("%w: vm %s: network %s has no portgroup %s", ErrNetworkNotFound, spec.Name, spec.Network, spec.Portgroup)
	}
	return nil
}

// ensureRunning handles "the VM is already there".
func (c *Conn) ensureRunning(lv *libvirt.Libvirt, d *domState, hash string, autostart bool) (VMInfo, error) {
	if d.meta == nil {
		return VMInfo{}, fmt.Errorf("%w: domain %s exists and carries no dure metadata", ErrNotManaged, d.name)
	}
	if d.meta.Spec != hash {
		return VMInfo{}, fmt.Errorf("%w: vm %s was defined from another spec (%s, asked %s); destroy it first", ErrSpecMismatch, d.name, d.meta.Spec, hash)
	}
	info := VMInfo{Name: d.name, UUID: uuidString(d.ref.UUID)}
	for _, g := range d.meta.GPUs {
		info.GPUs = append(info.GPUs, g.Device)
	}
	for _, v := range d.meta.VGPUs {
		info.VGPUs = append(info.VGPUs, VGPU(v))
	}
	state, _, err := lv.DomainGetState(d.ref, 0)
	if err != nil {
		return info, fmt.Errorf("state of vm %s: %w", d.name, mapError(err))
	}
	switch libvirt.DomainState(state) {
	case libvirt.DomainRunning, libvirt.DomainBlocked:
	case libvirt.DomainPaused:
		if err := lv.DomainResume(d.ref); err != nil {
			return info, fmt.Errorf("resume vm %s: %w", d.name, mapError(err))
		}
		info.Started = true
	case libvirt.DomainShutoff, libvirt.DomainCrashed, libvirt.DomainNostate:
		if err := lv.DomainCreate(d.ref); err != nil {
			return info, fmt.Errorf("start vm %s: %w", d.name, mapError(err))
		}
		info.Started = true
	default:
		return info, fmt.Errorf("vm %s is %s; try again when it settles", d.name, stateName(state))
	}
	if autostart {
		// A first attempt may have died between start and autostart.
		if err := lv.DomainSetAutostart(d.ref, 1); err != nil {
			return info, fmt.Errorf("autostart vm %s: %w", d.name, mapError(err))
		}
	}
	info.State = "running"
	if info.Started {
		c.log.Info("vm started", "vm", d.name)
	}
	return info, nil
}

// DestroyVM powers a platform VM off (hard) and undefines it. Absent is
// fine; a domain the platform did not define is refused (ErrNotManaged).
func (c *Conn) DestroyVM(ctx context.Context, name string) error {
	if !objectName.MatchString(name) {
		return fmt.Errorf("%w: vm name %q", ErrInvalidSpec, name)
	}
	return c.mutate(ctx, func(lv *libvirt.Libvirt) error {
		dom, err := lv.DomainLookupByName(name)
		if hasCode(err, libvirt.ErrNoDomain) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up vm %s: %w", name, mapError(err))
		}
		d, err := readDomain(lv, dom)
		if err != nil {
			return err
		}
		if d.meta == nil {
			return fmt.Errorf("%w: domain %s carries no dure metadata; not destroying it", ErrNotManaged, name)
		}
		// "not running" is the normal case for a stopped VM.
		if err := lv.DomainDestroy(dom); err != nil && !hasCode(err, libvirt.ErrOperationInvalid) {
			return fmt.Errorf("stop vm %s: %w", name, mapError(err))
		}
		if err := undefine(lv, dom); err != nil {
			return fmt.Errorf("undefine vm %s: %w", name, mapError(err))
		}
		c.log.Info("vm destroyed", "vm", name)
		return nil
	})
}

// undefine removes a domain with everything libvirt keeps beside it. Drivers
// that know fewer flags (the test driver: no NVRAM, no checkpoints) say
// "unsupported flags"; retry with fewer.
func undefine(lv *libvirt.Libvirt, dom libvirt.Domain) error {
	flagSets := []libvirt.DomainUndefineFlagsValues{
		libvirt.DomainUndefineManagedSave | libvirt.DomainUndefineSnapshotsMetadata |
			libvirt.DomainUndefineNvram | libvirt.DomainUndefineCheckpointsMetadata,
		libvirt.DomainUndefineManagedSave | libvirt.DomainUndefineSnapshotsMetadata,
		0,
	}
	var err error
	for _, flags := range flagSets {
		err = lv.DomainUndefineFlags(dom, flags)
		if err == nil || hasCode(err, libvirt.ErrNoDomain) {
			return nil
		}
		if !hasCode(err, libvirt.ErrInvalidArg) && !hasCode(err, libvirt.ErrNoSupport) {
			return err
		}
	}
	return err
}

// domState is one domain as libvirt has it now.
type domState struct {
	name     string
	ref      libvirt.Domain
	def      *libvirtxml.Domain
	meta     *vmMetadata // nil: not the platform's
	attached []attachment
}

// attachment is an interface's place: network and portgroup.
type attachment struct{ network, portgroup string }

// interfaceSources reads every interface's network and portgroup. A running
// qemu domain reports its network interfaces as type='bridge' (the actual
// connection) with network= and portgroup= still on <source>; libvirtxml
// keeps only the bridge there, so read the attributes themselves.
func interfaceSources(doc string) ([]attachment, error) {
	var d struct {
		Interfaces []struct {
			Source struct {
				Network   string `xml:"network,attr"`
				Portgroup string `xml:"portgroup,attr"`
			} `xml:"source"`
		} `xml:"devices>interface"`
	}
	if err := xml.Unmarshal([]byte(doc), &d); err != nil {
		return nil, err
	}
	var out []attachment
	for _, i := range d.Interfaces {
		if i.Source.Network != "" {
			out = append(out, attachment{i.Source.Network, i.Source.Portgroup})
		}
	}
	return out, nil
}

func listDomains(lv *libvirt.Libvirt) ([]domState, error) {
	refs, _, err := lv.ConnectListAllDomains(1, 0) // 0: running and defined alike
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", mapError(err))
	}
	out := make([]domState, 0, len(refs))
	for _, ref := range refs {
		d, err := readDomain(lv, ref)
		if hasCode(err, libvirt.ErrNoDomain) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, nil
}

func readDomain(lv *libvirt.Libvirt, ref libvirt.Domain) (*domState, error) {
	doc, err := lv.DomainGetXMLDesc(ref, 0)
	if err != nil {
		return nil, fmt.Errorf("read domain %s: %w", ref.Name, mapError(err))
	}
	def := &libvirtxml.Domain{}
	if err := def.Unmarshal(doc); err != nil {
		return nil, fmt.Errorf("parse domain %s: %w", ref.Name, err)
	}
	meta, err := readMetadata(def.Metadata)
	if err != nil {
		return nil, fmt.Errorf("domain %s: %w", ref.Name, err)
	}
	attached, err := interfaceSources(doc)
	if err != nil {
		return nil, fmt.Errorf("parse domain %s interfaces: %w", ref.Name, err)
	}
	return &domState{name: ref.Name, ref: ref, def: def, meta: meta, attached: attached}, nil
}

// networkUsers lists the domains with an interface on network (and on
// portgroup, when given).
func networkUsers(doms []domState, network, portgroup string) []string {
	var users []string
	for _, d := range doms {
		for _, a := range d.attached {
			if a.network == network && (portgroup == "" || a.portgroup == portgroup) {
				users = append(users, d.name)
				break
			}
		}
	}
	return users
}

func uuidString(u libvirt.UUID) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func stateName(state int32) string {
	names := []string{"without state", "running", "blocked", "paused", "shutting down", "shut off", "crashed", "suspended by guest power management"}
	if state >= 0 && int(state) < len(names) {
		return names[state]
	}
	return fmt.Sprintf("in state %d", state)
}
