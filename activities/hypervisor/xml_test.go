package hypervisor

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// These tests need no daemon: they check the documents the adapter writes,
// against libvirt's own schemas (virt-xml-validate).

func TestNetworkXML(t *testing.T) {
	tests := []struct {
		name       string
		in         Network
		wantKind   UplinkKind
		wantGroups map[string][]int
	}{
		{
			name:     "openvswitch tenant",
			in:       Network{Name: "dure", Bridge: "br-dure", Portgroups: []Portgroup{{Name: "tenant-suwon", VLAN: 20}}},
			wantKind: UplinkOVS,
			wantGroups: map[string][]int{
				ParkingPortgroup: {ParkingVLAN}, "tenant-suwon": {20},
			},
		},
		{
			name:     "sriov",
			in:       Network{Name: "dure-vf", Kind: UplinkSRIOV, Bridge: "ens1f0", Portgroups: []Portgroup{{Name: "ai-storage", VLAN: 60}}},
			wantKind: UplinkSRIOV,
			wantGroups: map[string][]int{
				ParkingPortgroup: {ParkingVLAN}, "ai-storage": {60},
			},
		},
		{
			name:     "macvtap passthrough",
			in:       Network{Name: "dure-pt", Kind: UplinkMacvtapPassthrough, Bridge: "ens2f1", Portgroups: []Portgroup{{Name: "dmz", VLAN: 10}}},
			wantKind: UplinkMacvtapPassthrough,
			wantGroups: map[string][]int{
				ParkingPortgroup: {ParkingVLAN}, "dmz": {10},
			},
		},
		{
			name:       "linux bridge without vlans",
			in:         Network{Name: "dev", Kind: UplinkLinuxBridge, Bridge: "br0"},
			wantKind:   UplinkLinuxBridge,
			wantGroups: map[string][]int{},
		},
		{
			name:     "platform plan",
			in:       Network{Name: "dure", Bridge: "br-dure", Portgroups: PlatformPortgroups()},
			wantKind: UplinkOVS,
			wantGroups: map[string][]int{
				ParkingPortgroup: {ParkingVLAN}, "dmz": {10}, "ai-internal": {50}, "ai-service": {55}, "ai-storage": {60}, "mgmt": {100},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := tt.in.normalize()
			if err != nil {
				t.Fatalf("normalize: %v", err)
			}
			doc, err := networkXML(n)
			if err != nil {
				t.Fatal(err)
			}
			var def libvirtxml.Network
			if err := def.Unmarshal(doc); err != nil {
				t.Fatalf("parse back: %v\n%s", err, doc)
			}
			if kind, dev := uplinkOf(&def); kind != tt.wantKind || dev != tt.in.Bridge {
				t.Errorf("uplink = %s %s, want %s %s\n%s", kind, dev, tt.wantKind, tt.in.Bridge, doc)
			}
			got := portgroupVLANs(&def)
			if len(got) != len(tt.wantGroups) {
				t.Errorf("portgroups = %v, want %v", got, tt.wantGroups)
			}
			for name, tags := range tt.wantGroups {
				if !slices.Equal(got[name], tags) {
					t.Errorf("portgroup %s tags = %v, want %v", name, got[name], tags)
				}
			}
			for _, pg := range def.PortGroups {
				if (pg.Default == "yes") != (pg.Name == ParkingPortgroup) {
					t.Errorf("portgroup %s default=%q: only the parking portgroup may be the default", pg.Name, pg.Default)
				}
			}
			validateXML(t, "network", doc)
		})
	}
}

func TestNetworkRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   Network
		want error
	}{
		{"vlan on a linux bridge", Network{Name: "n", Kind: UplinkLinuxBridge, Bridge: "br0", Portgroups: []Portgroup{{"tenant-suwon", 20}}}, ErrVLANUnsupported},
		{"vlan 0", Network{Name: "n", Bridge: "br0", Portgroups: []Portgroup{{"a", 0}}}, ErrInvalidSpec},
		{"vlan 4095", Network{Name: "n", Bridge: "br0", Portgroups: []Portgroup{{"a", 4095}}}, ErrInvalidSpec},
		{"parking vlan", Network{Name: "n", Bridge: "br0", Portgroups: []Portgroup{{"a", ParkingVLAN}}}, ErrVLANInUse},
		{"one vlan twice", Network{Name: "n", Bridge: "br0", Portgroups: []Portgroup{{"a", 20}, {"b", 20}}}, ErrVLANInUse},
		{"one portgroup twice", Network{Name: "n", Bridge: "br0", Portgroups: []Portgroup{{"a", 20}, {"a", 21}}}, ErrInvalidSpec},
		{"parking portgroup name", Network{Name: "n", Bridge: "br0", Portgroups: []Portgroup{{ParkingPortgroup, 20}}}, ErrInvalidSpec},
		{"portgroup name", Network{Name: "n", Bridge: "br0", Portgroups: []Portgroup{{"Tenant A", 20}}}, ErrInvalidSpec},
		{"network name", Network{Name: "a/b", Bridge: "br0"}, ErrInvalidSpec},
		{"no uplink", Network{Name: "n"}, ErrInvalidSpec},
		{"uplink name too long", Network{Name: "n", Bridge: "br-0123456789abc"}, ErrInvalidSpec},
		{"unknown kind", Network{Name: "n", Kind: "vxlan", Bridge: "br0"}, ErrInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.in.normalize(); !errors.Is(err, tt.want) {
				t.Fatalf("normalize = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTenantNetworkRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   TenantNetwork
		want error
	}{
		{"platform vlan", TenantNetwork{TenantID: "suwon", VLAN: 50, Bridge: "br-dure"}, ErrVLANInUse},
		{"dmz vlan", TenantNetwork{TenantID: "suwon", VLAN: 10, Bridge: "br-dure"}, ErrVLANInUse},
		{"parking vlan", TenantNetwork{TenantID: "suwon", VLAN: ParkingVLAN, Bridge: "br-dure"}, ErrVLANInUse},
		{"linux bridge", TenantNetwork{TenantID: "suwon", VLAN: 20, Bridge: "br0", Kind: UplinkLinuxBridge}, ErrVLANUnsupported},
		{"tenant id", TenantNetwork{TenantID: "Suwon City", VLAN: 20, Bridge: "br-dure"}, ErrInvalidSpec},
		{"no vlan", TenantNetwork{TenantID: "suwon", Bridge: "br-dure"}, ErrInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.in.network(); !errors.Is(err, tt.want) {
				t.Fatalf("network() = %v, want %v", err, tt.want)
			}
		})
	}
	n, err := TenantNetwork{TenantID: "suwon", VLAN: 20, Bridge: "br-dure"}.network()
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != DefaultNetwork || n.Kind != UplinkOVS || !slices.Equal(n.Portgroups, []Portgroup{{"tenant-suwon", 20}}) {
		t.Errorf("tenant network = %+v", n)
	}
}

func TestDomainXML(t *testing.T) {
	h100 := pciGPU{Device: "pci_0000_3b_00_0", Addr: pciAddr{0, 0x3b, 0, 0}}
	vgpu := VGPU{UUID: "6d1c2b3a-0000-4000-8000-0000000000a1", Type: "nvidia-473", Parent: "pci_0000_af_00_0"}
	data := VMSpec{Name: "data-suwon", TenantID: "suwon", Role: RoleTenantData, VCPUs: 2, MemoryMiB: 4096,
		Network: DefaultNetwork, Portgroup: "tenant-suwon", Autostart: true}
	training := VMSpec{Name: "training-1", Role: "training", VCPUs: 8, MemoryMiB: 32768,
		Network: DefaultNetwork, Portgroup: "ai-internal", GPUs: []string{h100.Device}}
	inference := VMSpec{Name: "inference-1", Role: "inference", VCPUs: 4, MemoryMiB: 16384,
		Network: DefaultNetwork, Portgroup: "ai-service", VGPUs: []VGPU{{UUID: vgpu.UUID, Type: vgpu.Type}}}

	tests := []struct {
		name       string
		plan       domainPlan
		wantPCI    []string
		wantMdev   []string
		wantKVMCPU bool
	}{
		{name: "data vm test driver", plan: domainPlan{spec: data, domainType: "test"}},
		{name: "data vm kvm", plan: domainPlan{spec: data, domainType: "kvm"}, wantKVMCPU: true},
		{name: "data vm tcg", plan: domainPlan{spec: data, domainType: "qemu"}},
		{name: "training passthrough", plan: domainPlan{spec: training, domainType: "kvm", gpus: []pciGPU{h100}}, wantPCI: []string{"0000:3b:00.0"}, wantKVMCPU: true},
		{name: "inference vgpu", plan: domainPlan{spec: inference, domainType: "kvm", vgpus: []VGPU{vgpu}}, wantMdev: []string{vgpu.UUID}, wantKVMCPU: true},
		{name: "gpus on the test driver", plan: domainPlan{spec: training, domainType: "test", gpus: []pciGPU{h100}, vgpus: []VGPU{vgpu}}, wantPCI: []string{"0000:3b:00.0"}, wantMdev: []string{vgpu.UUID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := tt.plan.spec.normalize()
			if err != nil {
				t.Fatal(err)
			}
			tt.plan.spec, tt.plan.specHash = spec, spec.hash()
			doc, err := domainXML(tt.plan)
			if err != nil {
				t.Fatal(err)
			}
			var d libvirtxml.Domain
			if err := d.Unmarshal(doc); err != nil {
				t.Fatalf("parse back: %v\n%s", err, doc)
			}
			if d.Type != tt.plan.domainType || d.Name != spec.Name {
				t.Errorf("type/name = %s/%s", d.Type, d.Name)
			}
			if d.Memory.Value != uint(spec.MemoryMiB) || d.Memory.Unit != "MiB" || d.VCPU.Value != uint(spec.VCPUs) {
				t.Errorf("memory %d %s, vcpus %d; want %d MiB, %d", d.Memory.Value, d.Memory.Unit, d.VCPU.Value, spec.MemoryMiB, spec.VCPUs)
			}
			if len(d.Devices.Interfaces) != 1 || d.Devices.Interfaces[0].Source.Network.Network != spec.Network ||
				d.Devices.Interfaces[0].Source.Network.PortGroup != spec.Portgroup {
				t.Errorf("interfaces = %+v", d.Devices.Interfaces)
			}
			var pci, mdev []string
			for _, hd := range d.Devices.Hostdevs {
				switch {
				case hd.SubsysPCI != nil:
					a := hd.SubsysPCI.Source.Address
					pci = append(pci, pciAddr{*a.Domain, *a.Bus, *a.Slot, *a.Function}.String())
					if hd.Managed != "yes" {
						t.Errorf("pci hostdev managed=%q, want yes", hd.Managed)
					}
				case hd.SubsysMDev != nil:
					mdev = append(mdev, hd.SubsysMDev.Source.Address.UUID)
					if hd.SubsysMDev.Model != "vfio-pci" {
						t.Errorf("mdev model %q", hd.SubsysMDev.Model)
					}
				}
			}
			if !slices.Equal(pci, tt.wantPCI) || !slices.Equal(mdev, tt.wantMdev) {
				t.Errorf("hostdevs pci %v mdev %v, want %v %v", pci, mdev, tt.wantPCI, tt.wantMdev)
			}
			if (d.CPU != nil && d.CPU.Mode == "host-passthrough") != tt.wantKVMCPU {
				t.Errorf("cpu = %+v", d.CPU)
			}
			meta, err := readMetadata(d.Metadata)
			if err != nil || meta == nil {
				t.Fatalf("metadata: %v %v\n%s", meta, err, doc)
			}
			if meta.Spec != tt.plan.specHash || meta.Tenant != spec.TenantID || meta.Role != spec.Role ||
				len(meta.GPUs) != len(tt.plan.gpus) || len(meta.VGPUs) != len(tt.plan.vgpus) {
				t.Errorf("metadata = %+v", meta)
			}
			for i, v := range tt.plan.vgpus {
				if VGPU(meta.VGPUs[i]) != v {
					t.Errorf("metadata vgpu %d = %+v, want %+v", i, meta.VGPUs[i], v)
				}
			}
			if !strings.Contains(doc, `xmlns:dure="`+MetadataNamespace+`"`) {
				t.Errorf("metadata not under the dure prefix:\n%s", doc)
			}
			validateXML(t, "domain", doc)
		})
	}
}

func TestReadMetadataIgnoresOthers(t *testing.T) {
	md := &libvirtxml.DomainMetadata{XML: `<app:x xmlns:app="urn:other"><app:vm spec="no"/></app:x>` +
		`<d:vm xmlns:d="` + MetadataNamespace + `" spec="abc" tenant="suwon"><d:vgpu uuid="u" type="t" parent="p"/></d:vm>`}
	m, err := readMetadata(md)
	if err != nil || m == nil {
		t.Fatalf("readMetadata = %v, %v", m, err)
	}
	if m.Spec != "abc" || m.Tenant != "suwon" || len(m.VGPUs) != 1 || m.VGPUs[0].Parent != "p" {
		t.Errorf("metadata = %+v", m)
	}
	if m, err := readMetadata(&libvirtxml.DomainMetadata{XML: `<app:vm xmlns:app="urn:other" spec="x"/>`}); m != nil || err != nil {
		t.Errorf("foreign metadata read as ours: %+v %v", m, err)
	}
	if m, err := readMetadata(nil); m != nil || err != nil {
		t.Errorf("no metadata: %+v %v", m, err)
	}
}

func TestMdevXML(t *testing.T) {
	doc, err := mdevXML(VGPU{UUID: "6d1c2b3a-0000-4000-8000-0000000000a1", Type: "nvidia-473", Parent: "pci_0000_af_00_0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<parent>pci_0000_af_00_0</parent>", `<capability type="mdev">`, `<type id="nvidia-473">`, "<uuid>6d1c2b3a-0000-4000-8000-0000000000a1</uuid>"} {
		if !strings.Contains(doc, want) {
			t.Errorf("mdev xml lacks %s:\n%s", want, doc)
		}
	}
	validateXML(t, "nodedev", doc)
}

func TestVMSpecRefusals(t *testing.T) {
	ok := VMSpec{Name: "vm-1", VCPUs: 2, MemoryMiB: 4096}
	with := func(f func(*VMSpec)) VMSpec { s := ok; f(&s); return s }
	uuid := "6d1c2b3a-0000-4000-8000-0000000000a1"
	tests := []struct {
		name string
		in   VMSpec
	}{
		{"name with slash", with(func(s *VMSpec) { s.Name = "a/b" })},
		{"empty name", with(func(s *VMSpec) { s.Name = "" })},
		{"no vcpus", with(func(s *VMSpec) { s.VCPUs = 0 })},
		{"too little memory", with(func(s *VMSpec) { s.MemoryMiB = 64 })},
		{"bad tenant", with(func(s *VMSpec) { s.TenantID = "A" })},
		{"bad role", with(func(s *VMSpec) { s.Role = "Training!" })},
		{"portgroup without network", with(func(s *VMSpec) { s.Portgroup = "tenant-suwon" })},
		{"gpu by address", with(func(s *VMSpec) { s.GPUs = []string{"0000:3b:00.0"} })},
		{"gpu twice", with(func(s *VMSpec) { s.GPUs = []string{"pci_0000_3b_00_0", "pci_0000_3b_00_0"} })},
		{"vgpu uuid", with(func(s *VMSpec) { s.VGPUs = []VGPU{{UUID: "nope", Type: "nvidia-473"}} })},
		{"vgpu type", with(func(s *VMSpec) { s.VGPUs = []VGPU{{UUID: uuid, Type: "a b"}} })},
		{"vgpu parent", with(func(s *VMSpec) { s.VGPUs = []VGPU{{UUID: uuid, Type: "nvidia-473", Parent: "gpu0"}} })},
		{"vgpu twice", with(func(s *VMSpec) {
			s.VGPUs = []VGPU{{UUID: uuid, Type: "nvidia-473"}, {UUID: strings.ToUpper(uuid), Type: "nvidia-473"}}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.in.normalize(); !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("normalize = %v, want ErrInvalidSpec", err)
			}
		})
	}
	if _, err := ok.normalize(); err != nil {
		t.Fatalf("valid spec refused: %v", err)
	}
}

func TestSpecHash(t *testing.T) {
	a := VMSpec{Name: "vm", VCPUs: 2, MemoryMiB: 4096, VGPUs: []VGPU{{UUID: "6D1C2B3A-0000-4000-8000-0000000000A1", Type: "nvidia-473"}}}
	na, err := a.normalize()
	if err != nil {
		t.Fatal(err)
	}
	b := a
	b.VGPUs = []VGPU{{UUID: "6d1c2b3a-0000-4000-8000-0000000000a1", Type: "nvidia-473"}}
	nb, _ := b.normalize()
	if na.hash() != nb.hash() {
		t.Error("UUID case changes the hash")
	}
	if a.VGPUs[0].UUID != "6D1C2B3A-0000-4000-8000-0000000000A1" {
		t.Error("normalize changed the caller's slice")
	}
	c := nb
	c.MemoryMiB = 8192
	if c.hash() == nb.hash() {
		t.Error("memory change keeps the hash")
	}
}

// A running qemu domain reports a network interface as type='bridge'; the
// network and portgroup must still count as used.
func TestInterfaceSources(t *testing.T) {
	live := `<domain type='kvm'><name>vm</name><devices>
<interface type='bridge'><source network='dure' portgroup='tenant-suwon' portid='e70af5f5-2f76-4814-9440-aa2fc70c3b53' bridge='br-dure'/><target dev='vnet3'/></interface>
<interface type='network'><source network='dure' portgroup='ai-service'/></interface>
<interface type='bridge'><source bridge='br0'/></interface>
</devices></domain>`
	got, err := interfaceSources(live)
	if err != nil {
		t.Fatal(err)
	}
	want := []attachment{{"dure", "tenant-suwon"}, {"dure", "ai-service"}}
	if !slices.Equal(got, want) {
		t.Errorf("attachments %v, want %v", got, want)
	}
	doms := []domState{{name: "vm", attached: got}}
	if u := networkUsers(doms, "dure", "tenant-suwon"); !slices.Equal(u, []string{"vm"}) {
		t.Errorf("users of tenant-suwon: %v", u)
	}
	if u := networkUsers(doms, "dure", "tenant-yongin"); len(u) != 0 {
		t.Errorf("users of tenant-yongin: %v", u)
	}
}
