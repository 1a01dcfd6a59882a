package hypervisor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// NVIDIAVendorID is NVIDIA's PCI vendor id as libvirt prints it.
const NVIDIAVendorID = "0x10de"

// GPU is one NVIDIA GPU of the host with what holds it.
type GPU struct {
	Device    string `json:"device"`  // node device name, pci_0000_3b_00_0
	Address   string `json:"address"` // 0000:3b:00.0
	VendorID  string `json:"vendor_id"`
	ProductID string `json:"product_id"`
	Product   string `json:"product"`
	// Driver is the host driver bound now: vfio-pci (ready for
	// passthrough), nvidia (vGPU host). Empty where libvirt does not say
	// (the test driver).
	Driver     string `json:"driver,omitempty"`
	IOMMUGroup int    `json:"iommu_group"`
	NUMANode   int    `json:"numa_node"` // -1: unknown
	// AssignedTo is the domain holding the whole GPU (passthrough).
	AssignedTo string     `json:"assigned_to,omitempty"`
	MdevTypes  []MdevType `json:"mdev_types,omitempty"`
	// Mdevs are the vGPUs on this GPU: created ones and those promised to
	// defined domains that the host has not created yet.
	Mdevs []Mdev `json:"mdevs,omitempty"`
}

// MdevType is a vGPU profile a GPU offers.
type MdevType struct {
	ID   string `json:"id"`   // nvidia-473
	Name string `json:"name"` // GRID A100-8C
	// Available is what the host reports (created mdevs already deducted).
	Available int `json:"available"`
	// Pending counts instances promised to defined domains, not yet created.
	Pending int `json:"pending"`
	// Free is what the platform may still promise: Available - Pending, or 0
	// when the GPU is passed through or already runs another profile.
	Free int `json:"free"`
}

// Mdev is one vGPU.
type Mdev struct {
	UUID   string `json:"uuid"`
	Type   string `json:"type"`
	Device string `json:"device,omitempty"` // node device name; empty until created
	Domain string `json:"domain,omitempty"` // the domain using it
}

// Created reports whether the host has made the mediated device.
func (m Mdev) Created() bool { return m.Device != "" }

// Passthrough reports whether the whole GPU can go to a VM now.
func (g GPU) Passthrough() bool { return g.AssignedTo == "" && len(g.Mdevs) == 0 }

// GPUInventory lists the host's NVIDIA GPUs (PCI display controllers of
// vendor 0x10de: NVSwitches and other NVIDIA functions are left out) with
// their vGPU profiles, vGPUs and the domains holding them. libvirt's node
// device API has no vendor filter, so the filtering happens here.
func (c *Conn) GPUInventory(ctx context.Context) ([]GPU, error) {
	var out []GPU
	err := c.mutate(ctx, func(lv *libvirt.Libvirt) error { // serialised: a consistent picture
		host, err := readHost(lv)
		if err != nil {
			return err
		}
		out = host.inventory()
		return nil
	})
	return out, err
}

// EnsureMdev creates a vGPU (mediated device) on the host, persistently
// where libvirt can (mdevctl), so EnsureVM can attach it. An mdev that exists
// with the same type is fine. The same checks as EnsureVM apply (free
// instances, one profile per GPU, no passthrough). Hosts that cannot create
// mdevs, the test driver included, give ErrMdevCreateUnsupported.
func (c *Conn) EnsureMdev(ctx context.Context, v VGPU) (VGPU, error) {
	v, err := v.normalize()
	if err != nil {
		return v, err
	}
	err = c.mutate(ctx, func(lv *libvirt.Libvirt) error {
		host, err := readHost(lv)
		if err != nil {
			return err
		}
		if m, ok := host.mdevs[v.UUID]; ok {
			if m.Type != v.Type || (v.Parent != "" && v.Parent != m.parent) {
				return fmt.Errorf("%w: mdev %s exists as %s on %s", ErrSpecMismatch, v.UUID, m.Type, m.parent)
			}
			v.Parent = m.parent
			return nil
		}
		if p, ok := host.pending[v.UUID]; ok {
			// Promised to a defined domain already: create exactly that one.
			if p.Type != v.Type || (v.Parent != "" && v.Parent != p.parent) {
				return fmt.Errorf("%w: vgpu %s is promised to domain %s as %s on %s", ErrSpecMismatch, v.UUID, p.Domain, p.Type, p.parent)
			}
			v.Parent = p.parent
		} else {
			placed, err := host.placeVGPU(v)
			if err != nil {
				return err
			}
			v = placed
		}
		doc, err := mdevXML(v)
		if err != nil {
			return err
		}
		c.observe("nodedev", doc)
		if err := createMdev(lv, doc); err != nil {
			return fmt.Errorf("create vgpu %s (%s on %s): %w", v.UUID, v.Type, v.Parent, err)
		}
		c.log.Info("vgpu created", "uuid", v.UUID, "type", v.Type, "parent", v.Parent)
		return nil
	})
	return v, err
}

// createMdev defines and starts a persistent mdev; drivers without
// persistent node devices get a transient one.
func createMdev(lv *libvirt.Libvirt, doc string) error {
	dev, err := lv.NodeDeviceDefineXML(doc, 0)
	if err == nil {
		if err := lv.NodeDeviceCreate(dev.Name, 0); err != nil {
			_ = lv.NodeDeviceUndefine(dev.Name, 0)
			return mapMdevCreateError(err)
		}
		return nil
	}
	if !hasCode(err, libvirt.ErrNoSupport) {
		return mapMdevCreateError(err)
	}
	if _, err := lv.NodeDeviceCreateXML(doc, 0); err != nil {
		return mapMdevCreateError(err)
	}
	return nil
}

// hostState is the host's GPUs and who holds what, read in one pass.
type hostState struct {
	gpus    map[string]*GPU      // NVIDIA GPUs by node device name
	order   []string             // node device names, sorted
	others  map[string]string    // other PCI devices: name -> what they are
	mdevs   map[string]*hostMdev // created mdevs by UUID
	pending map[string]*hostMdev // promised to domains, not created, by UUID
}

type hostMdev struct {
	Mdev
	parent string
}

// readHost reads the host's GPUs, their mdevs and which domains hold them.
func readHost(lv *libvirt.Libvirt) (*hostState, error) {
	doms, err := listDomains(lv)
	if err != nil {
		return nil, err
	}
	refs, _, err := lv.ConnectListAllNodeDevices(1, 0)
	if err != nil {
		return nil, fmt.Errorf("list node devices: %w", mapError(err))
	}
	devs := make([]libvirtxml.NodeDevice, 0, len(refs))
	for _, ref := range refs {
		// Names say the kind; skip USB, net, SCSI, ... without a round trip.
		if !strings.HasPrefix(ref.Name, "pci_") && !strings.HasPrefix(ref.Name, "mdev_") {
			continue
		}
		doc, err := lv.NodeDeviceGetXMLDesc(ref.Name, 0)
		if hasCode(err, libvirt.ErrNoNodeDevice) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read node device %s: %w", ref.Name, mapError(err))
		}
		var dev libvirtxml.NodeDevice
		if err := dev.Unmarshal(doc); err != nil {
			return nil, fmt.Errorf("parse node device %s: %w", ref.Name, err)
		}
		devs = append(devs, dev)
	}
	return newHostState(devs, doms), nil
}

// newHostState combines node devices and domains into who holds what.
func newHostState(devs []libvirtxml.NodeDevice, doms []domState) *hostState {
	h := &hostState{gpus: map[string]*GPU{}, others: map[string]string{}, mdevs: map[string]*hostMdev{}, pending: map[string]*hostMdev{}}
	byAddr := map[pciAddr]*GPU{}
	for i := range devs {
		dev := &devs[i]
		switch {
		case dev.Capability.PCI != nil:
			g, addr, ok := gpuFromNodeDevice(dev)
			if !ok {
				pci := dev.Capability.PCI
				h.others[dev.Name] = fmt.Sprintf("vendor %s class %s", pci.Vendor.ID, pci.Class)
				continue
			}
			h.gpus[g.Device] = g
			byAddr[addr] = g
		case dev.Capability.MDev != nil:
			m := dev.Capability.MDev
			hm := &hostMdev{Mdev: Mdev{UUID: strings.ToLower(m.UUID), Device: dev.Name}, parent: dev.Parent}
			if m.Type != nil {
				hm.Type = m.Type.ID
			}
			h.mdevs[hm.UUID] = hm
		}
	}
	for name := range h.gpus {
		h.order = append(h.order, name)
	}
	slices.Sort(h.order)

	for _, d := range doms {
		promised := map[string]metaVGPU{}
		if d.meta != nil {
			for _, v := range d.meta.VGPUs {
				promised[v.UUID] = v
			}
		}
		if d.def.Devices == nil {
			continue
		}
		for _, hd := range d.def.Devices.Hostdevs {
			switch {
			case hd.SubsysPCI != nil && hd.SubsysPCI.Source != nil && hd.SubsysPCI.Source.Address != nil:
				a := hd.SubsysPCI.Source.Address
				addr := pciAddr{deref(a.Domain), deref(a.Bus), deref(a.Slot), deref(a.Function)}
				if g, ok := byAddr[addr]; ok && g.AssignedTo == "" {
					g.AssignedTo = d.name
				}
			case hd.SubsysMDev != nil && hd.SubsysMDev.Source != nil && hd.SubsysMDev.Source.Address != nil:
				uuid := strings.ToLower(hd.SubsysMDev.Source.Address.UUID)
				if m, ok := h.mdevs[uuid]; ok {
					m.Domain = d.name
					continue
				}
				// Not created yet. The platform's metadata says type and
				// parent; a foreign domain's promise still blocks the UUID.
				p := &hostMdev{Mdev: Mdev{UUID: uuid, Domain: d.name}}
				if v, ok := promised[uuid]; ok {
					p.Type, p.parent = v.Type, v.Parent
				}
				h.pending[uuid] = p
			}
		}
	}
	for _, m := range h.mdevs {
		if g, ok := h.gpus[m.parent]; ok {
			g.Mdevs = append(g.Mdevs, m.Mdev)
		}
	}
	for _, p := range h.pending {
		if g, ok := h.gpus[p.parent]; ok {
			g.Mdevs = append(g.Mdevs, p.Mdev)
		}
	}
	for _, g := range h.gpus {
		slices.SortFunc(g.Mdevs, func(a, b Mdev) int { return cmp.Compare(a.UUID, b.UUID) })
		h.refreshFree(g)
	}
	return h
}

// gpuFromNodeDevice keeps NVIDIA display controllers (class 0x03xxxx): an
// HGX board's NVSwitches are NVIDIA PCI devices too, of class 0x0680.
func gpuFromNodeDevice(dev *libvirtxml.NodeDevice) (*GPU, pciAddr, bool) {
	pci := dev.Capability.PCI
	if !strings.EqualFold(pci.Vendor.ID, NVIDIAVendorID) || !strings.HasPrefix(strings.ToLower(pci.Class), "0x03") {
		return nil, pciAddr{}, false
	}
	addr := pciAddr{deref(pci.Domain), deref(pci.Bus), deref(pci.Slot), deref(pci.Function)}
	g := &GPU{
		Device: dev.Name, Address: addr.String(),
		VendorID: pci.Vendor.ID, ProductID: pci.Product.ID, Product: pci.Product.Name,
		IOMMUGroup: -1, NUMANode: -1,
	}
	if dev.Driver != nil {
		g.Driver = dev.Driver.Name
	}
	if pci.IOMMUGroup != nil {
		g.IOMMUGroup = pci.IOMMUGroup.Number
	}
	if pci.NUMA != nil {
		g.NUMANode = pci.NUMA.Node
	}
	for _, sub := range pci.Capabilities {
		if sub.MDevTypes == nil {
			continue
		}
		for _, t := range sub.MDevTypes.Types {
			g.MdevTypes = append(g.MdevTypes, MdevType{ID: t.ID, Name: t.Name, Available: int(t.AvailableInstances)})
		}
	}
	return g, addr, true
}

func deref(p *uint) uint {
	if p == nil {
		return 0
	}
	return *p
}

// refreshFree recomputes Pending and Free of g's profiles.
func (h *hostState) refreshFree(g *GPU) {
	for i := range g.MdevTypes {
		t := &g.MdevTypes[i]
		t.Pending = 0
		for _, m := range g.Mdevs {
			if !m.Created() && m.Type == t.ID {
				t.Pending++
			}
		}
		t.Free = max(t.Available-t.Pending, 0)
		if g.AssignedTo != "" || h.otherProfile(g, t.ID) != "" {
			t.Free = 0
		}
	}
}

// otherProfile returns a vGPU type other than typ that g already carries.
// NVIDIA's time-sliced vGPU runs a single profile per physical GPU; the host
// shows 0 instances of every other profile once one exists, but only for
// created mdevs, so promised ones are checked here.
func (h *hostState) otherProfile(g *GPU, typ string) string {
	for _, m := range g.Mdevs {
		if m.Type != "" && m.Type != typ {
			return m.Type
		}
	}
	return ""
}

func (h *hostState) inventory() []GPU {
	out := make([]GPU, 0, len(h.order))
	for _, name := range h.order {
		g := *h.gpus[name]
		g.MdevTypes = slices.Clone(g.MdevTypes)
		g.Mdevs = slices.Clone(g.Mdevs)
		out = append(out, g)
	}
	return out
}

func (h *hostState) gpu(name string) (*GPU, error) {
	if g, ok := h.gpus[name]; ok {
		return g, nil
	}
	if what, ok := h.others[name]; ok {
		return nil, fmt.Errorf("%w: %s is not an NVIDIA GPU (%s)", ErrGPUNotFound, name, what)
	}
	return nil, fmt.Errorf("%w: no PCI device %s on this host", ErrGPUNotFound, name)
}

// place checks a spec's GPUs and vGPUs against the host and resolves vGPU
// parents. It records its own choices, so a spec asking for two vGPUs is
// counted twice.
func (h *hostState) place(spec VMSpec) ([]pciGPU, []VGPU, error) {
	var gpus []pciGPU
	for _, name := range spec.GPUs {
		g, err := h.gpu(name)
		if err != nil {
			return nil, nil, err
		}
		if g.AssignedTo != "" {
			return nil, nil, fmt.Errorf("%w: %s (%s) is passed through to domain %s", ErrGPUInUse, name, g.Product, g.AssignedTo)
		}
		if len(g.Mdevs) > 0 {
			return nil, nil, fmt.Errorf("%w: %s (%s) carries %d vGPU(s) (%s); it cannot be passed through whole", ErrGPUInUse, name, g.Product, len(g.Mdevs), describeMdevs(g.Mdevs))
		}
		var addr pciAddr
		if _, err := fmt.Sscanf(g.Address, "%x:%x:%x.%x", &addr.Domain, &addr.Bus, &addr.Slot, &addr.Function); err != nil {
			return nil, nil, fmt.Errorf("gpu %s address %q: %w", name, g.Address, err)
		}
		g.AssignedTo = spec.Name
		h.refreshFree(g)
		gpus = append(gpus, pciGPU{Device: name, Addr: addr})
	}
	var vgpus []VGPU
	for _, v := range spec.VGPUs {
		if m, ok := h.mdevs[v.UUID]; ok {
			if m.Type != v.Type {
				return nil, nil, fmt.Errorf("%w: mdev %s is of type %s, not %s", ErrInvalidSpec, v.UUID, m.Type, v.Type)
			}
			if v.Parent != "" && v.Parent != m.parent {
				return nil, nil, fmt.Errorf("%w: mdev %s sits on %s, not %s", ErrInvalidSpec, v.UUID, m.parent, v.Parent)
			}
			if m.Domain != "" {
				return nil, nil, fmt.Errorf("%w: vgpu %s is attached to domain %s", ErrGPUInUse, v.UUID, m.Domain)
			}
			if g, ok := h.gpus[m.parent]; ok && g.AssignedTo != "" {
				return nil, nil, fmt.Errorf("%w: vgpu %s sits on %s, which is passed through to %s", ErrGPUInUse, v.UUID, m.parent, g.AssignedTo)
			}
			m.Domain = spec.Name
			v.Parent = m.parent
			vgpus = append(vgpus, v)
			continue
		}
		if p, ok := h.pending[v.UUID]; ok {
			return nil, nil, fmt.Errorf("%w: vgpu %s is promised to domain %s", ErrGPUInUse, v.UUID, p.Domain)
		}
		placed, err := h.placeVGPU(v)
		if err != nil {
			return nil, nil, err
		}
		h.promise(placed, spec.Name)
		vgpus = append(vgpus, placed)
	}
	return gpus, vgpus, nil
}

// placeVGPU finds the GPU for a vGPU that does not exist yet: the named
// parent, or the GPU with the fewest free instances of the type that still
// has one (packing keeps other GPUs whole for passthrough).
func (h *hostState) placeVGPU(v VGPU) (VGPU, error) {
	if v.Parent != "" {
		g, err := h.gpu(v.Parent)
		if err != nil {
			return v, err
		}
		return v, h.canHost(g, v.Type)
	}
	type candidate struct {
		g    *GPU
		free int
	}
	var fits []candidate
	var refusals []error
	for _, name := range h.order {
		g := h.gpus[name]
		if offered(g, v.Type) == nil {
			continue
		}
		if err := h.canHost(g, v.Type); err != nil {
			refusals = append(refusals, err)
			continue
		}
		fits = append(fits, candidate{g, offered(g, v.Type).Free})
	}
	if len(fits) == 0 {
		if len(refusals) == 0 {
			return v, fmt.Errorf("%w: no GPU on this host offers vgpu type %s", ErrMdevTypeUnsupported, v.Type)
		}
		for _, err := range refusals {
			if errors.Is(err, ErrNoMdevInstances) {
				return v, err
			}
		}
		return v, refusals[0]
	}
	best := slices.MinFunc(fits, func(a, b candidate) int { return cmp.Compare(a.free, b.free) })
	v.Parent = best.g.Device
	return v, nil
}

func offered(g *GPU, typ string) *MdevType {
	for i := range g.MdevTypes {
		if g.MdevTypes[i].ID == typ {
			return &g.MdevTypes[i]
		}
	}
	return nil
}

// canHost says whether g can take one more vGPU of typ.
func (h *hostState) canHost(g *GPU, typ string) error {
	t := offered(g, typ)
	if t == nil {
		ids := make([]string, 0, len(g.MdevTypes))
		for _, t := range g.MdevTypes {
			ids = append(ids, t.ID)
		}
		return fmt.Errorf("%w: %s (%s) offers %s, not %s", ErrMdevTypeUnsupported, g.Device, g.Product, strings.Join(ids, ", "), typ)
	}
	if g.AssignedTo != "" {
		return fmt.Errorf("%w: %s is passed through to domain %s", ErrGPUInUse, g.Device, g.AssignedTo)
	}
	if other := h.otherProfile(g, typ); other != "" {
		return fmt.Errorf("%w: %s runs vgpu type %s; one profile per GPU, so not %s (%s)", ErrMdevTypeMix, g.Device, other, typ, t.Name)
	}
	if t.Free <= 0 {
		return fmt.Errorf("%w: %s type %s (%s): host reports %d available, %d promised to defined domains",
			ErrNoMdevInstances, g.Device, typ, t.Name, t.Available, t.Pending)
	}
	return nil
}

// promise records a planned vGPU so later checks in the same call count it.
func (h *hostState) promise(v VGPU, domain string) {
	p := &hostMdev{Mdev: Mdev{UUID: v.UUID, Type: v.Type, Domain: domain}, parent: v.Parent}
	h.pending[v.UUID] = p
	if g, ok := h.gpus[v.Parent]; ok {
		g.Mdevs = append(g.Mdevs, p.Mdev)
		h.refreshFree(g)
	}
}

func describeMdevs(ms []Mdev) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		s := m.Type + " " + m.UUID
		if m.Domain != "" {
			s += " of " + m.Domain
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
