package hypervisor

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// MetadataNamespace marks the domains the platform defined. Its element
// records the request's hash (to tell "same VM again" from "different VM,
// same name") and the GPUs promised to the domain, which the host may not
// have created yet (a vGPU's type is not part of libvirt's own hostdev XML).
const MetadataNamespace = "https://github.com/dure-platform/dure/xmlns/hypervisor/1"

// networkDefinition turns a normalized Network into libvirt's document.
func networkDefinition(n Network) *libvirtxml.Network {
	def := &libvirtxml.Network{Name: n.Name}
	switch n.Kind {
	case UplinkOVS:
		def.Forward = &libvirtxml.NetworkForward{Mode: "bridge"}
		def.Bridge = &libvirtxml.NetworkBridge{Name: n.Bridge}
		def.VirtualPort = &libvirtxml.NetworkVirtualPort{
			Params: &libvirtxml.NetworkVirtualPortParams{OpenVSwitch: &libvirtxml.NetworkVirtualPortParamsOpenVSwitch{}},
		}
	case UplinkLinuxBridge:
		def.Forward = &libvirtxml.NetworkForward{Mode: "bridge"}
		def.Bridge = &libvirtxml.NetworkBridge{Name: n.Bridge}
	case UplinkSRIOV:
		// managed: libvirt binds each VF to vfio-pci when a VM takes it.
		def.Forward = &libvirtxml.NetworkForward{Mode: "hostdev", Managed: "yes",
			PFs: []libvirtxml.NetworkForwardPF{{Dev: n.Bridge}}}
	case UplinkMacvtapPassthrough:
		def.Forward = &libvirtxml.NetworkForward{Mode: "passthrough",
			PFs: []libvirtxml.NetworkForwardPF{{Dev: n.Bridge}}}
	}
	if n.Kind.CanTagVLANs() {
		def.PortGroups = append(def.PortGroups, libvirtxml.NetworkPortGroup{
			Name: ParkingPortgroup, Default: "yes", VLAN: vlanElement(ParkingVLAN),
		})
	}
	for _, pg := range n.Portgroups {
		def.PortGroups = append(def.PortGroups, libvirtxml.NetworkPortGroup{Name: pg.Name, VLAN: vlanElement(pg.VLAN)})
	}
	return def
}

func vlanElement(tag int) *libvirtxml.NetworkVLAN {
	return &libvirtxml.NetworkVLAN{Tags: []libvirtxml.NetworkVLANTag{{ID: uint(tag)}}}
}

func networkXML(n Network) (string, error) {
	doc, err := networkDefinition(n).Marshal()
	if err != nil {
		return "", fmt.Errorf("write network %s: %w", n.Name, err)
	}
	return doc, nil
}

func portgroupXML(pg Portgroup) (string, error) {
	out, err := xml.Marshal(libvirtxml.NetworkPortGroup{Name: pg.Name, VLAN: vlanElement(pg.VLAN)})
	if err != nil {
		return "", fmt.Errorf("write portgroup %s: %w", pg.Name, err)
	}
	return string(out), nil
}

// pciAddr is a PCI address as libvirt's node devices and hostdevs give it.
type pciAddr struct{ Domain, Bus, Slot, Function uint }

func (a pciAddr) String() string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", a.Domain, a.Bus, a.Slot, a.Function)
}

// vmMetadata is the platform's element in a domain's <metadata>. Written
// with the "dure" prefix (writeMetadata), read by namespace (readMetadata).
type vmMetadata struct {
	Tenant string     `xml:"tenant,attr,omitempty"`
	Role   string     `xml:"role,attr,omitempty"`
	Spec   string     `xml:"spec,attr"`
	GPUs   []metaGPU  `xml:"gpu"`
	VGPUs  []metaVGPU `xml:"vgpu"`
}

type metaGPU struct {
	Device string `xml:"device,attr"`
}

type metaVGPU struct {
	UUID   string `xml:"uuid,attr"`
	Type   string `xml:"type,attr"`
	Parent string `xml:"parent,attr"`
}

// writeMetadata renders m as <dure:vm xmlns:dure="...">. encoding/xml would
// invent a prefix per element; a fixed one keeps `virsh dumpxml` readable.
func writeMetadata(m vmMetadata) (string, error) {
	type gpu struct {
		XMLName xml.Name `xml:"dure:gpu"`
		metaGPU
	}
	type vgpu struct {
		XMLName xml.Name `xml:"dure:vgpu"`
		metaVGPU
	}
	out := struct {
		XMLName xml.Name `xml:"dure:vm"`
		NS      string   `xml:"xmlns:dure,attr"`
		Tenant  string   `xml:"tenant,attr,omitempty"`
		Role    string   `xml:"role,attr,omitempty"`
		Spec    string   `xml:"spec,attr"`
		GPUs    []gpu
		VGPUs   []vgpu
	}{NS: MetadataNamespace, Tenant: m.Tenant, Role: m.Role, Spec: m.Spec}
	for _, g := range m.GPUs {
		out.GPUs = append(out.GPUs, gpu{metaGPU: g})
	}
	for _, v := range m.VGPUs {
		out.VGPUs = append(out.VGPUs, vgpu{metaVGPU: v})
	}
	b, err := xml.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("write domain metadata: %w", err)
	}
	return string(b), nil
}

// readMetadata finds the platform's element among whatever metadata a domain
// carries; nil when there is none (the domain is not the platform's).
func readMetadata(md *libvirtxml.DomainMetadata) (*vmMetadata, error) {
	if md == nil {
		return nil, nil
	}
	dec := xml.NewDecoder(bytes.NewReader([]byte(md.XML)))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read domain metadata: %w", err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Space != MetadataNamespace || start.Name.Local != "vm" {
			continue
		}
		var m vmMetadata
		if err := dec.DecodeElement(&m, &start); err != nil {
			return nil, fmt.Errorf("read domain metadata: %w", err)
		}
		return &m, nil
	}
}

// domainPlan is everything a domain document needs, checked and resolved.
type domainPlan struct {
	spec       VMSpec // normalized
	specHash   string
	domainType string
	cpuMode    string // Config.CPUMode
	gpus       []pciGPU
	vgpus      []VGPU // parents resolved
}

type pciGPU struct {
	Device string
	Addr   pciAddr
}

func domainDefinition(p domainPlan) (*libvirtxml.Domain, error) {
	s := p.spec
	meta := vmMetadata{Tenant: s.TenantID, Role: s.Role, Spec: p.specHash}
	for _, g := range p.gpus {
		meta.GPUs = append(meta.GPUs, metaGPU{Device: g.Device})
	}
	for _, v := range p.vgpus {
		meta.VGPUs = append(meta.VGPUs, metaVGPU{UUID: v.UUID, Type: v.Type, Parent: v.Parent})
	}
	metaXML, err := writeMetadata(meta)
	if err != nil {
		return nil, err
	}
	d := &libvirtxml.Domain{
		Type:        p.domainType,
		Name:        s.Name,
		Description: describeVM(s),
		Metadata:    &libvirtxml.DomainMetadata{XML: metaXML},
		Memory:      &libvirtxml.DomainMemory{Value: uint(s.MemoryMiB), Unit: "MiB"},
		VCPU:        &libvirtxml.DomainVCPU{Placement: "static", Value: uint(s.VCPUs)},
		OS:          &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		OnPoweroff:  "destroy",
		OnReboot:    "restart",
		OnCrash:     "destroy",
		Devices:     &libvirtxml.DomainDeviceList{},
	}
	if p.domainType == "kvm" || p.domainType == "qemu" {
		// q35: PCI Express, which a passed-through H100 expects.
		d.OS.Type.Machine = "q35"
		d.Features = &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}, APIC: &libvirtxml.DomainFeatureAPIC{}}
		if mode := guestCPUMode(p.domainType, p.cpuMode); mode != "" {
			d.CPU = &libvirtxml.DomainCPU{Mode: mode}
		}
		if len(p.gpus)+len(p.vgpus) > 0 {
			// VFIO pins all guest memory; a balloon could not return any.
			d.Devices.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "none"}
		}
	}
	if s.Network != "" {
		src := &libvirtxml.DomainInterfaceSourceNetwork{Network: s.Network, PortGroup: s.Portgroup}
		d.Devices.Interfaces = append(d.Devices.Interfaces, libvirtxml.DomainInterface{
			Source: &libvirtxml.DomainInterfaceSource{Network: src},
			Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		})
	}
	for _, g := range p.gpus {
		a := g.Addr
		d.Devices.Hostdevs = append(d.Devices.Hostdevs, libvirtxml.DomainHostdev{
			// managed: libvirt detaches the GPU from its host driver and binds
			// vfio-pci on start, and gives it back on stop.
			Managed: "yes",
			SubsysPCI: &libvirtxml.DomainHostdevSubsysPCI{Source: &libvirtxml.DomainHostdevSubsysPCISource{
				Address: &libvirtxml.DomainAddressPCI{Domain: &a.Domain, Bus: &a.Bus, Slot: &a.Slot, Function: &a.Function},
			}},
		})
	}
	for _, v := range p.vgpus {
		d.Devices.Hostdevs = append(d.Devices.Hostdevs, libvirtxml.DomainHostdev{
			SubsysMDev: &libvirtxml.DomainHostdevSubsysMDev{
				Model:  "vfio-pci",
				Source: &libvirtxml.DomainHostdevSubsysMDevSource{Address: &libvirtxml.DomainAddressMDev{UUID: v.UUID}},
			},
		})
	}
	return d, nil
}

// guestCPUMode picks the <cpu mode>; "" writes none. TCG cannot pass the
// host CPU through, so it gets QEMU's default unless asked otherwise.
func guestCPUMode(domainType, configured string) string {
	switch {
	case configured == "none" || domainType == "test":
		return ""
	case configured == "" || configured == "host-passthrough":
		if domainType == "kvm" {
			return "host-passthrough"
		}
		return ""
	}
	return configured
}

func describeVM(s VMSpec) string {
	switch {
	case s.TenantID != "" && s.Role != "":
		return fmt.Sprintf("dure %s VM of tenant %s", s.Role, s.TenantID)
	case s.Role != "":
		return fmt.Sprintf("dure %s VM", s.Role)
	}
	return "dure VM"
}

func domainXML(p domainPlan) (string, error) {
	d, err := domainDefinition(p)
	if err != nil {
		return "", err
	}
	doc, err := d.Marshal()
	if err != nil {
		return "", fmt.Errorf("write domain %s: %w", p.spec.Name, err)
	}
	return doc, nil
}

// mdevXML describes a mediated device to create on parent.
func mdevXML(v VGPU) (string, error) {
	dev := libvirtxml.NodeDevice{
		// libvirt names new mdevs itself, but the schema wants a name: give
		// the one it will choose (mdev_<uuid>_<parent address>).
		Name:   mdevNodeName(v),
		Parent: v.Parent,
		Capability: libvirtxml.NodeDeviceCapability{MDev: &libvirtxml.NodeDeviceMDevCapability{
			Type: &libvirtxml.NodeDeviceMDevCapabilityType{ID: v.Type},
			UUID: v.UUID,
		}},
	}
	doc, err := dev.Marshal()
	if err != nil {
		return "", fmt.Errorf("write mdev %s: %w", v.UUID, err)
	}
	return doc, nil
}

func mdevNodeName(v VGPU) string {
	return "mdev_" + strings.ReplaceAll(v.UUID, "-", "_") + "_" + strings.TrimPrefix(v.Parent, "pci_")
}
