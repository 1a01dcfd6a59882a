package hypervisor

import (
	"errors"
	"slices"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// Placement rules, on the node file's GPU host, without a daemon. The
// daemon tests repeat the important ones end to end.

const (
	h100a      = "pci_0000_3b_00_0"
	h100b      = "pci_0000_86_00_0"
	a100vgpu   = "pci_0000_5e_00_0" // carries mdev existingMdev (nvidia-471)
	a100free   = "pci_0000_af_00_0"
	nvswitch   = "pci_0000_c1_00_0"
	connectx   = "pci_0000_d8_00_0"
	existingMd = "8a5e1c2e-1111-4a7e-9c5b-00000000a100"

	type4C  = "nvidia-471" // on both A100s
	type5C  = "nvidia-472" // 0 available on a100vgpu
	type8C  = "nvidia-473"
	type20C = "nvidia-475" // 2 instances on a100free
)

func uuidN(n int) string {
	const base = "00000000-0000-4000-8000-0000000000"
	return base + string("0123456789abcdef"[n/16]) + string("0123456789abcdef"[n%16])
}

// fakeDomain is a domain as listDomains would return it.
type fakeDomain struct {
	name  string
	ours  bool
	gpus  []pciAddr
	vgpus []metaVGPU // promised (metadata) and attached by UUID
	mdevs []string   // attached by UUID without metadata
}

func (f fakeDomain) state() domState {
	def := &libvirtxml.Domain{Name: f.name, Devices: &libvirtxml.DomainDeviceList{}}
	for _, a := range f.gpus {
		a := a
		def.Devices.Hostdevs = append(def.Devices.Hostdevs, libvirtxml.DomainHostdev{SubsysPCI: &libvirtxml.DomainHostdevSubsysPCI{
			Source: &libvirtxml.DomainHostdevSubsysPCISource{Address: &libvirtxml.DomainAddressPCI{Domain: &a.Domain, Bus: &a.Bus, Slot: &a.Slot, Function: &a.Function}},
		}})
	}
	uuids := slices.Clone(f.mdevs)
	for _, v := range f.vgpus {
		uuids = append(uuids, v.UUID)
	}
	for _, u := range uuids {
		def.Devices.Hostdevs = append(def.Devices.Hostdevs, libvirtxml.DomainHostdev{SubsysMDev: &libvirtxml.DomainHostdevSubsysMDev{
			Source: &libvirtxml.DomainHostdevSubsysMDevSource{Address: &libvirtxml.DomainAddressMDev{UUID: u}},
		}})
	}
	d := domState{name: f.name, def: def}
	if f.ours {
		d.meta = &vmMetadata{Spec: "x", VGPUs: f.vgpus}
	}
	return d
}

func hostWith(t *testing.T, doms ...fakeDomain) *hostState {
	t.Helper()
	states := make([]domState, 0, len(doms))
	for _, d := range doms {
		states = append(states, d.state())
	}
	return newHostState(nodeDevices(t), states)
}

func TestGPUInventoryFromNodeFile(t *testing.T) {
	h := hostWith(t,
		fakeDomain{name: "training-1", ours: true, gpus: []pciAddr{{0, 0x3b, 0, 0}}},
		fakeDomain{name: "inference-1", ours: true, vgpus: []metaVGPU{{UUID: uuidN(1), Type: type8C, Parent: a100free}}},
		fakeDomain{name: "inference-0", ours: true, mdevs: []string{existingMd}},
	)
	inv := h.inventory()
	var names []string
	for _, g := range inv {
		names = append(names, g.Device)
	}
	if want := []string{h100a, a100vgpu, h100b, a100free}; !slices.Equal(names, sortedCopy(want)) {
		t.Fatalf("gpus = %v, want %v (NVSwitch and NIC left out)", names, sortedCopy(want))
	}
	byName := map[string]GPU{}
	for _, g := range inv {
		byName[g.Device] = g
	}
	if g := byName[h100a]; g.AssignedTo != "training-1" || g.Passthrough() || g.Address != "0000:3b:00.0" || g.Driver != "vfio-pci" || g.IOMMUGroup != 12 {
		t.Errorf("h100a = %+v", g)
	}
	if g := byName[h100b]; !g.Passthrough() || g.ProductID != "0x2330" || g.VendorID != NVIDIAVendorID {
		t.Errorf("h100b = %+v", g)
	}
	g := byName[a100vgpu]
	if len(g.Mdevs) != 1 || g.Mdevs[0].UUID != existingMd || !g.Mdevs[0].Created() || g.Mdevs[0].Domain != "inference-0" || g.Passthrough() {
		t.Errorf("a100vgpu mdevs = %+v", g.Mdevs)
	}
	if got := freeOf(g, type4C); got != 9 {
		t.Errorf("a100vgpu 4C free = %d, want 9", got)
	}
	g = byName[a100free]
	if len(g.Mdevs) != 1 || g.Mdevs[0].Created() || g.Mdevs[0].Domain != "inference-1" {
		t.Errorf("a100free mdevs = %+v", g.Mdevs)
	}
	want := map[string][3]int{type4C: {10, 0, 0}, type8C: {5, 1, 4}, type20C: {2, 0, 0}} // available, pending, free
	for _, mt := range g.MdevTypes {
		if got := [3]int{mt.Available, mt.Pending, mt.Free}; got != want[mt.ID] {
			t.Errorf("a100free %s (%s) = %v, want %v (one profile per GPU)", mt.ID, mt.Name, got, want[mt.ID])
		}
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func freeOf(g GPU, typ string) int {
	for _, t := range g.MdevTypes {
		if t.ID == typ {
			return t.Free
		}
	}
	return -1
}

func TestPlacement(t *testing.T) {
	tests := []struct {
		name        string
		doms        []fakeDomain
		spec        VMSpec
		want        error
		wantParents []string // resolved vGPU parents
	}{
		{name: "free h100", spec: VMSpec{GPUs: []string{h100a}}},
		{name: "two h100s", spec: VMSpec{GPUs: []string{h100a, h100b}}},
		{name: "h100 held by a running or defined domain",
			doms: []fakeDomain{{name: "training-1", ours: true, gpus: []pciAddr{{0, 0x3b, 0, 0}}}},
			spec: VMSpec{GPUs: []string{h100a}}, want: ErrGPUInUse},
		{name: "h100 held by a foreign domain",
			doms: []fakeDomain{{name: "someone", gpus: []pciAddr{{0, 0x3b, 0, 0}}}},
			spec: VMSpec{GPUs: []string{h100a}}, want: ErrGPUInUse},
		{name: "passthrough of a gpu carrying vgpus", spec: VMSpec{GPUs: []string{a100vgpu}}, want: ErrGPUInUse},
		{name: "passthrough of a gpu with promised vgpus",
			doms: []fakeDomain{{name: "inference-1", ours: true, vgpus: []metaVGPU{{UUID: uuidN(1), Type: type8C, Parent: a100free}}}},
			spec: VMSpec{GPUs: []string{a100free}}, want: ErrGPUInUse},
		{name: "nic is no gpu", spec: VMSpec{GPUs: []string{connectx}}, want: ErrGPUNotFound},
		{name: "nvswitch is no gpu", spec: VMSpec{GPUs: []string{nvswitch}}, want: ErrGPUNotFound},
		{name: "absent device", spec: VMSpec{GPUs: []string{"pci_0000_99_00_0"}}, want: ErrGPUNotFound},

		{name: "vgpu parent picked", spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type8C}}}, wantParents: []string{a100free}},
		{name: "vgpu packs onto the fuller gpu", spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type4C}}}, wantParents: []string{a100vgpu}},
		{name: "vgpu avoids a gpu running another profile",
			doms: []fakeDomain{{name: "big", ours: true, vgpus: []metaVGPU{{UUID: uuidN(9), Type: type20C, Parent: a100free}}}},
			spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type4C}}}, wantParents: []string{a100vgpu}},
		{name: "existing mdev", spec: VMSpec{VGPUs: []VGPU{{UUID: existingMd, Type: type4C}}}, wantParents: []string{a100vgpu}},
		{name: "existing mdev of another type", spec: VMSpec{VGPUs: []VGPU{{UUID: existingMd, Type: type8C}}}, want: ErrInvalidSpec},
		{name: "existing mdev on another parent", spec: VMSpec{VGPUs: []VGPU{{UUID: existingMd, Type: type4C, Parent: a100free}}}, want: ErrInvalidSpec},
		{name: "existing mdev attached elsewhere",
			doms: []fakeDomain{{name: "inference-0", mdevs: []string{existingMd}}},
			spec: VMSpec{VGPUs: []VGPU{{UUID: existingMd, Type: type4C}}}, want: ErrGPUInUse},
		{name: "uuid promised to another domain",
			doms: []fakeDomain{{name: "inference-1", ours: true, vgpus: []metaVGPU{{UUID: uuidN(1), Type: type8C, Parent: a100free}}}},
			spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type8C}}}, want: ErrGPUInUse},
		{name: "uuid used by a foreign domain",
			doms: []fakeDomain{{name: "someone", mdevs: []string{uuidN(1)}}},
			spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type8C}}}, want: ErrGPUInUse},
		{name: "profile with no instances", spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type5C, Parent: a100vgpu}}}, want: ErrMdevTypeMix},
		{name: "instances promised to defined domains",
			doms: []fakeDomain{
				{name: "big-1", ours: true, vgpus: []metaVGPU{{UUID: uuidN(1), Type: type20C, Parent: a100free}}},
				{name: "big-2", ours: true, vgpus: []metaVGPU{{UUID: uuidN(2), Type: type20C, Parent: a100free}}},
			},
			spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(3), Type: type20C}}}, want: ErrNoMdevInstances},
		{name: "instances taken within one spec",
			spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type20C}, {UUID: uuidN(2), Type: type20C}, {UUID: uuidN(3), Type: type20C}}},
			want: ErrNoMdevInstances},
		{name: "second profile on a gpu",
			doms: []fakeDomain{{name: "inference-1", ours: true, vgpus: []metaVGPU{{UUID: uuidN(1), Type: type8C, Parent: a100free}}}},
			spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(2), Type: type20C, Parent: a100free}}}, want: ErrMdevTypeMix},
		{name: "profile not offered by the parent", spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type8C, Parent: a100vgpu}}}, want: ErrMdevTypeUnsupported},
		{name: "profile offered nowhere", spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: "nvidia-999"}}}, want: ErrMdevTypeUnsupported},
		{name: "vgpu on a passed-through gpu",
			doms: []fakeDomain{{name: "training-1", ours: true, gpus: []pciAddr{{0, 0xaf, 0, 0}}}},
			spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type8C, Parent: a100free}}}, want: ErrGPUInUse},
		{name: "vgpu parent is a nic", spec: VMSpec{VGPUs: []VGPU{{UUID: uuidN(1), Type: type8C, Parent: connectx}}}, want: ErrGPUNotFound},
		{name: "passthrough and vgpu of one gpu in one spec",
			spec: VMSpec{GPUs: []string{a100free}, VGPUs: []VGPU{{UUID: uuidN(1), Type: type8C, Parent: a100free}}}, want: ErrGPUInUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			spec.Name, spec.VCPUs, spec.MemoryMiB = "vm-under-test", 4, 16384
			spec, err := spec.normalize()
			if err != nil {
				t.Fatal(err)
			}
			h := hostWith(t, tt.doms...)
			gpus, vgpus, err := h.place(spec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("place = %v, want %v", err, tt.want)
			}
			if err != nil {
				t.Logf("refused: %v", err)
				return
			}
			if len(gpus) != len(spec.GPUs) {
				t.Errorf("gpus = %+v", gpus)
			}
			var parents []string
			for _, v := range vgpus {
				parents = append(parents, v.Parent)
			}
			if tt.wantParents != nil && !slices.Equal(parents, tt.wantParents) {
				t.Errorf("parents = %v, want %v", parents, tt.wantParents)
			}
		})
	}
}
