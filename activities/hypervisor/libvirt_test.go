package hypervisor

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// These tests run against the real libvirtd (infra/libvirt/up.sh) and its
// test driver on the GPU host of infra/libvirt/test-node-gpus.xml. Every
// test has its own connection and so its own host; each ends with nothing
// left on it.

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var pilots = []TenantNetwork{
	{TenantID: "suwon", VLAN: 20, Bridge: "br-dure"},
	{TenantID: "seongnam", VLAN: 21, Bridge: "br-dure"},
	{TenantID: "yongin", VLAN: 22, Bridge: "br-dure"},
}

func TestTenantNetworks(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	if c.Driver() != "TEST" || c.DomainType() != "test" {
		t.Fatalf("driver %s, domain type %s: want the test driver", c.Driver(), c.DomainType())
	}

	for round := range 2 {
		for i, tn := range pilots {
			info, err := c.EnsureTenantNetwork(ctx, tn)
			if err != nil {
				t.Fatalf("round %d: ensure %s: %v", round, tn.TenantID, err)
			}
			wantCreated := round == 0 && i == 0
			wantAdded := []string(nil)
			if round == 0 {
				wantAdded = []string{TenantPortgroup(tn.TenantID)}
			}
			if info.Network != DefaultNetwork || info.Created != wantCreated || !slices.Equal(info.Added, wantAdded) {
				t.Errorf("round %d %s: info %+v, want created=%v added=%v", round, tn.TenantID, info, wantCreated, wantAdded)
			}
		}
	}
	if _, nets := objectNames(t, c); !slices.Equal(nets, []string{DefaultNetwork}) {
		t.Fatalf("networks = %v, want just %s", nets, DefaultNetwork)
	}
	def, raw := networkDoc(t, c, DefaultNetwork)
	if kind, dev := uplinkOf(def); kind != UplinkOVS || dev != "br-dure" {
		t.Errorf("uplink %s %s", kind, dev)
	}
	want := map[string][]int{ParkingPortgroup: {ParkingVLAN}, "tenant-suwon": {20}, "tenant-seongnam": {21}, "tenant-yongin": {22}}
	if got := portgroupVLANs(def); len(got) != len(want) {
		t.Errorf("portgroups %v, want %v", got, want)
	} else {
		for name, tags := range want {
			if !slices.Equal(got[name], tags) {
				t.Errorf("portgroup %s: %v, want %v", name, got[name], tags)
			}
		}
	}
	validateXML(t, "network", raw) // after live updates, as libvirt keeps it

	// A stopped network (host rebooted, operator): the next tenant's
	// portgroup goes into its config and the network is started again.
	var autostart int32
	err := c.withClient(ctx, func(lv *libvirt.Libvirt) error {
		n, err := lv.NetworkLookupByName(DefaultNetwork)
		if err != nil {
			return err
		}
		if autostart, err = lv.NetworkGetAutostart(n); err != nil {
			return err
		}
		return lv.NetworkDestroy(n)
	})
	if err != nil || autostart != 1 {
		t.Fatalf("autostart %d, stop: %v", autostart, err)
	}
	osan := TenantNetwork{TenantID: "osan", VLAN: 200, Bridge: "br-dure"}
	if info, err := c.EnsureTenantNetwork(ctx, osan); err != nil || !slices.Equal(info.Added, []string{"tenant-osan"}) {
		t.Fatalf("ensure on a stopped network: %+v %v", info, err)
	}
	def, _ = networkDoc(t, c, DefaultNetwork)
	if got := portgroupVLANs(def)["tenant-osan"]; !slices.Equal(got, []int{200}) {
		t.Errorf("tenant-osan: %v", got)
	}
	if err := c.DeleteTenantNetwork(ctx, osan); err != nil {
		t.Fatal(err)
	}

	// Offboarding: the portgroup goes; the network with the last one.
	if err := c.DeleteTenantNetwork(ctx, pilots[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTenantNetwork(ctx, pilots[1]); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	def, _ = networkDoc(t, c, DefaultNetwork)
	if _, ok := portgroupVLANs(def)["tenant-seongnam"]; ok {
		t.Error("tenant-seongnam still there")
	}
	for _, tn := range []TenantNetwork{pilots[0], pilots[2]} {
		if err := c.DeleteTenantNetwork(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if _, nets := objectNames(t, c); len(nets) != 0 {
		t.Errorf("networks left after the last tenant: %v", nets)
	}
}

func TestPlatformAndUplinkKinds(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	for _, n := range []Network{
		{Name: "dure", Bridge: "br-dure", Portgroups: PlatformPortgroups()},
		{Name: "dure-vf", Kind: UplinkSRIOV, Bridge: "ens1f0", Portgroups: []Portgroup{{Name: "tenant-osan", VLAN: 200}}},
		{Name: "dure-pt", Kind: UplinkMacvtapPassthrough, Bridge: "ens2f0", Portgroups: []Portgroup{{Name: "tenant-hwaseong", VLAN: 201}}},
		{Name: "dev", Kind: UplinkLinuxBridge, Bridge: "br0"},
	} {
		if _, err := c.EnsureNetwork(ctx, n); err != nil {
			t.Fatalf("ensure %s: %v", n.Name, err)
		}
		def, _ := networkDoc(t, c, n.Name)
		wantKind := n.Kind
		if wantKind == "" {
			wantKind = UplinkOVS
		}
		if kind, dev := uplinkOf(def); kind != wantKind || dev != n.Bridge {
			t.Errorf("%s: uplink %s %s", n.Name, kind, dev)
		}
		t.Cleanup(func() {
			if err := c.DeleteNetwork(ctx, n.Name); err != nil {
				t.Errorf("delete %s: %v", n.Name, err)
			}
		})
	}
	// A tenant cannot take a platform VLAN, nor one another uplink carries.
	if _, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "suwon", VLAN: 55, Bridge: "br-dure"}); !errors.Is(err, ErrVLANInUse) {
		t.Errorf("tenant on vlan 55: %v", err)
	}
	if _, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "suwon", VLAN: 200, Bridge: "br-dure"}); !errors.Is(err, ErrVLANInUse) {
		t.Errorf("tenant on vlan 200 (carried by the SR-IOV network): %v", err)
	}
}

// refusalCase runs setup, then the call that must be refused.
type refusalCase struct {
	name  string
	setup func(t *testing.T, ctx context.Context, c *Conn)
	call  func(ctx context.Context, c *Conn) error
	want  error
}

func runRefusals(t *testing.T, cases []refusalCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c := dialTest(t) // a fresh host per case
			ctx := testCtx(t)
			if tt.setup != nil {
				tt.setup(t, ctx, c)
			}
			doms, nets := objectNames(t, c)
			err := tt.call(ctx, c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			t.Logf("refused: %v", err)
			// A refusal changes nothing.
			if d2, n2 := objectNames(t, c); !slices.Equal(doms, d2) || !slices.Equal(nets, n2) {
				t.Errorf("refusal changed the host: domains %v -> %v, networks %v -> %v", doms, d2, nets, n2)
			}
		})
	}
}

// tenantNet sets up a tenant network and removes it at cleanup.
func tenantNet(t *testing.T, ctx context.Context, c *Conn, tn TenantNetwork) {
	t.Helper()
	if _, err := c.EnsureTenantNetwork(ctx, tn); err != nil {
		t.Fatalf("ensure %s: %v", tn.TenantID, err)
	}
	t.Cleanup(func() {
		if err := c.DeleteTenantNetwork(context.Background(), tn); err != nil {
			t.Errorf("delete tenant network %s: %v", tn.TenantID, err)
		}
	})
}

// platformNet sets up the shared network with the platform VLANs.
func platformNet(t *testing.T, ctx context.Context, c *Conn) {
	t.Helper()
	if _, err := c.EnsureNetwork(ctx, Network{Name: DefaultNetwork, Bridge: "br-dure", Portgroups: PlatformPortgroups()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.DeleteNetwork(context.Background(), DefaultNetwork); err != nil {
			t.Errorf("delete network: %v", err)
		}
	})
}

// vm ensures a VM and destroys it at cleanup.
func vm(t *testing.T, ctx context.Context, c *Conn, spec VMSpec) VMInfo {
	t.Helper()
	info, err := c.EnsureVM(ctx, spec)
	if err != nil {
		t.Fatalf("ensure vm %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		if err := c.DestroyVM(context.Background(), spec.Name); err != nil {
			t.Errorf("destroy %s: %v", spec.Name, err)
		}
	})
	return info
}

func dataVM(t *testing.T, ctx context.Context, c *Conn, spec VMSpec) VMInfo {
	t.Helper()
	info, err := c.EnsureDataVM(ctx, spec)
	if err != nil {
		t.Fatalf("ensure data vm of %s: %v", spec.TenantID, err)
	}
	t.Cleanup(func() {
		if err := c.DestroyVM(context.Background(), info.Name); err != nil {
			t.Errorf("destroy %s: %v", info.Name, err)
		}
	})
	return info
}

func TestNetworkRefusalsOnTheDaemon(t *testing.T) {
	runRefusals(t, []refusalCase{
		{
			name:  "two tenants on one vlan",
			setup: func(t *testing.T, ctx context.Context, c *Conn) { tenantNet(t, ctx, c, pilots[0]) },
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "seongnam", VLAN: 20, Bridge: "br-dure"})
				return err
			},
			want: ErrVLANInUse,
		},
		{
			name:  "two tenants on one vlan across networks",
			setup: func(t *testing.T, ctx context.Context, c *Conn) { tenantNet(t, ctx, c, pilots[0]) },
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "seongnam", VLAN: 20, Bridge: "br-other", Network: "dure-b"})
				return err
			},
			want: ErrVLANInUse,
		},
		{
			name:  "tenant asks another vlan",
			setup: func(t *testing.T, ctx context.Context, c *Conn) { tenantNet(t, ctx, c, pilots[0]) },
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "suwon", VLAN: 23, Bridge: "br-dure"})
				return err
			},
			want: ErrSpecMismatch,
		},
		{
			name:  "shared network on another uplink",
			setup: func(t *testing.T, ctx context.Context, c *Conn) { tenantNet(t, ctx, c, pilots[0]) },
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "seongnam", VLAN: 21, Bridge: "br-other"})
				return err
			},
			want: ErrSpecMismatch,
		},
		{
			name: "vlan on a plain linux bridge",
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "suwon", VLAN: 20, Bridge: "virbr1", Kind: UplinkLinuxBridge})
				return err
			},
			want: ErrVLANUnsupported,
		},
		{
			name: "vlan carried by a network the platform did not make",
			setup: func(t *testing.T, ctx context.Context, c *Conn) {
				rawDefineNetwork(t, c, `<network><name>legacy</name><forward mode='bridge'/><bridge name='br-legacy'/>`+
					`<virtualport type='openvswitch'/><vlan><tag id='30'/></vlan></network>`)
				t.Cleanup(func() { rawRemoveNetwork(t, c, "legacy") })
			},
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "suwon", VLAN: 30, Bridge: "br-dure"})
				return err
			},
			want: ErrVLANInUse,
		},
		{
			name: "platform vlan",
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureTenantNetwork(ctx, TenantNetwork{TenantID: "suwon", VLAN: 100, Bridge: "br-dure"})
				return err
			},
			want: ErrVLANInUse,
		},
		{
			name: "portgroup still used by a vm",
			setup: func(t *testing.T, ctx context.Context, c *Conn) {
				tenantNet(t, ctx, c, pilots[0])
				dataVM(t, ctx, c, VMSpec{TenantID: "suwon"})
			},
			call: func(ctx context.Context, c *Conn) error { return c.DeleteTenantNetwork(ctx, pilots[0]) },
			want: ErrNetworkInUse,
		},
		{
			name: "network still used by a vm",
			setup: func(t *testing.T, ctx context.Context, c *Conn) {
				tenantNet(t, ctx, c, pilots[0])
				dataVM(t, ctx, c, VMSpec{TenantID: "suwon"})
			},
			call: func(ctx context.Context, c *Conn) error { return c.DeleteNetwork(ctx, DefaultNetwork) },
			want: ErrNetworkInUse,
		},
	})
}

func TestDataVMLifecycle(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	tenantNet(t, ctx, c, pilots[0])
	tenantNet(t, ctx, c, pilots[1])

	info, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "data-suwon" || !info.Created || !info.Started || info.State != "running" || len(info.UUID) != 36 {
		t.Errorf("first ensure: %+v", info)
	}
	d := domainDoc(t, c, "data-suwon")
	if d.VCPU.Value != DataVMVCPUs || d.Memory.Value != DataVMMemoryMiB*1024 {
		t.Errorf("vcpus %d memory %d %s", d.VCPU.Value, d.Memory.Value, d.Memory.Unit)
	}
	if ifs := d.Devices.Interfaces; len(ifs) != 1 || ifs[0].Source.Network.Network != DefaultNetwork || ifs[0].Source.Network.PortGroup != "tenant-suwon" {
		t.Errorf("interfaces %+v", ifs)
	}
	if meta, _ := readMetadata(d.Metadata); meta == nil || meta.Tenant != "suwon" || meta.Role != RoleTenantData {
		t.Errorf("metadata %+v", meta)
	}
	err = c.withClient(ctx, func(lv *libvirt.Libvirt) error {
		dom, err := lv.DomainLookupByName("data-suwon")
		if err != nil {
			return err
		}
		on, err := lv.DomainGetAutostart(dom)
		if err == nil && on != 1 {
			t.Errorf("data vm not autostarted")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	again, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.Started || again.UUID != info.UUID {
		t.Errorf("second ensure: %+v", again)
	}
	if doms, _ := objectNames(t, c); !slices.Equal(doms, []string{"data-suwon"}) {
		t.Errorf("domains %v after ensuring twice", doms)
	}

	// Stopped (host reboot without autostart, operator): ensure starts it.
	err = c.withClient(ctx, func(lv *libvirt.Libvirt) error {
		dom, err := lv.DomainLookupByName("data-suwon")
		if err != nil {
			return err
		}
		return lv.DomainDestroy(dom)
	})
	if err != nil {
		t.Fatal(err)
	}
	restarted, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"})
	if err != nil || restarted.Created || !restarted.Started {
		t.Fatalf("ensure of a stopped vm: %+v %v", restarted, err)
	}
	if st := domainState(t, c, "data-suwon"); st != libvirt.DomainRunning {
		t.Errorf("state %d, want running", st)
	}

	// A second tenant's VM sits on its own VLAN next to the first.
	other, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "seongnam", Name: "seongnam-data-1"})
	if err != nil {
		t.Fatal(err)
	}
	if pg := domainDoc(t, c, other.Name).Devices.Interfaces[0].Source.Network.PortGroup; pg != "tenant-seongnam" {
		t.Errorf("seongnam vm on %s", pg)
	}

	for _, name := range []string{"data-suwon", "seongnam-data-1"} {
		if err := c.DestroyVM(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := c.DestroyVM(ctx, name); err != nil {
			t.Fatalf("second destroy: %v", err)
		}
	}
	if doms, _ := objectNames(t, c); len(doms) != 0 {
		t.Errorf("domains left: %v", doms)
	}
}

func TestVMRefusalsOnTheDaemon(t *testing.T) {
	withTenant := func(t *testing.T, ctx context.Context, c *Conn) { tenantNet(t, ctx, c, pilots[0]) }
	runRefusals(t, []refusalCase{
		{
			name: "network missing",
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"})
				return err
			},
			want: ErrNetworkNotFound,
		},
		{
			name:  "portgroup missing",
			setup: withTenant,
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureVM(ctx, VMSpec{Name: "vm", VCPUs: 2, MemoryMiB: 4096, Network: DefaultNetwork, Portgroup: "tenant-nobody"})
				return err
			},
			want: ErrNetworkNotFound,
		},
		{
			name:  "parking portgroup",
			setup: withTenant,
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureVM(ctx, VMSpec{Name: "vm", VCPUs: 2, MemoryMiB: 4096, Network: DefaultNetwork, Portgroup: ParkingPortgroup})
				return err
			},
			want: ErrNetworkNotFound,
		},
		{
			name:  "no portgroup on a vlan network",
			setup: withTenant,
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureVM(ctx, VMSpec{Name: "vm", VCPUs: 2, MemoryMiB: 4096, Network: DefaultNetwork})
				return err
			},
			want: ErrInvalidSpec,
		},
		{
			name: "data vm on another tenant's vlan",
			setup: func(t *testing.T, ctx context.Context, c *Conn) {
				tenantNet(t, ctx, c, pilots[0])
				tenantNet(t, ctx, c, pilots[1])
			},
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon", Portgroup: "tenant-seongnam"})
				return err
			},
			want: ErrInvalidSpec,
		},
		{
			name:  "data vm with a gpu",
			setup: withTenant,
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon", GPUs: []string{h100a}})
				return err
			},
			want: ErrInvalidSpec,
		},
		{
			name: "same name, other spec",
			setup: func(t *testing.T, ctx context.Context, c *Conn) {
				withTenant(t, ctx, c)
				dataVM(t, ctx, c, VMSpec{TenantID: "suwon"})
			},
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon", MemoryMiB: 8192})
				return err
			},
			want: ErrSpecMismatch,
		},
		{
			name: "ensure over a domain the platform did not define",
			setup: func(t *testing.T, ctx context.Context, c *Conn) {
				withTenant(t, ctx, c)
				rawDefineDomain(t, c, `<domain type='test'><name>data-suwon</name><memory unit='MiB'>1024</memory><os><type>hvm</type></os></domain>`, true)
				t.Cleanup(func() { rawRemoveDomain(t, c, "data-suwon") })
			},
			call: func(ctx context.Context, c *Conn) error {
				_, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"})
				return err
			},
			want: ErrNotManaged,
		},
		{
			name: "destroy of a domain the platform did not define",
			setup: func(t *testing.T, ctx context.Context, c *Conn) {
				rawDefineDomain(t, c, `<domain type='test'><name>someones-vm</name><memory unit='MiB'>1024</memory><os><type>hvm</type></os></domain>`, true)
				t.Cleanup(func() { rawRemoveDomain(t, c, "someones-vm") })
			},
			call: func(ctx context.Context, c *Conn) error { return c.DestroyVM(ctx, "someones-vm") },
			want: ErrNotManaged,
		},
	})
}

func TestPassthroughVMs(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	platformNet(t, ctx, c)
	training := func(name string, gpus ...string) VMSpec {
		return VMSpec{Name: name, Role: "training", VCPUs: 8, MemoryMiB: 32768, Network: DefaultNetwork, Portgroup: "ai-internal", GPUs: gpus}
	}

	info := vm(t, ctx, c, training("training-1", h100a))
	if !info.Created || !slices.Equal(info.GPUs, []string{h100a}) {
		t.Errorf("training-1: %+v", info)
	}
	hd := domainDoc(t, c, "training-1").Devices.Hostdevs
	if len(hd) != 1 || hd[0].SubsysPCI == nil || hd[0].Managed != "yes" || *hd[0].SubsysPCI.Source.Address.Bus != 0x3b {
		t.Fatalf("hostdevs %+v", hd)
	}

	// The test driver would happily give the same H100 to a second VM.
	if _, err := c.EnsureVM(ctx, training("training-2", h100a)); !errors.Is(err, ErrGPUInUse) {
		t.Fatalf("same gpu twice: %v", err)
	}
	// A stopped (defined) VM still holds its GPU.
	err := c.withClient(ctx, func(lv *libvirt.Libvirt) error {
		dom, err := lv.DomainLookupByName("training-1")
		if err != nil {
			return err
		}
		return lv.DomainDestroy(dom)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureVM(ctx, training("training-2", h100a)); !errors.Is(err, ErrGPUInUse) {
		t.Fatalf("gpu of a stopped vm: %v", err)
	}
	vm(t, ctx, c, training("training-2", h100b))
	if again, err := c.EnsureVM(ctx, training("training-1", h100a)); err != nil || !again.Started || again.Created {
		t.Fatalf("restart training-1: %+v %v", again, err)
	}

	for _, tt := range []struct {
		gpu  string
		want error
	}{
		{a100vgpu, ErrGPUInUse}, // carries an mdev
		{connectx, ErrGPUNotFound},
		{nvswitch, ErrGPUNotFound},
		{"pci_0000_99_00_0", ErrGPUNotFound},
	} {
		if _, err := c.EnsureVM(ctx, training("training-3", tt.gpu)); !errors.Is(err, tt.want) {
			t.Errorf("passthrough of %s: %v, want %v", tt.gpu, err, tt.want)
		}
	}

	inv, err := c.GPUInventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assigned := map[string]string{}
	for _, g := range inv {
		assigned[g.Device] = g.AssignedTo
	}
	if assigned[h100a] != "training-1" || assigned[h100b] != "training-2" || assigned[a100free] != "" {
		t.Errorf("assignments %v", assigned)
	}

	if err := c.DestroyVM(ctx, "training-1"); err != nil {
		t.Fatal(err)
	}
	// Freed: the GPU goes to the next VM.
	vm(t, ctx, c, training("training-3", h100a))
}

func TestVGPUVMs(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	platformNet(t, ctx, c)
	inference := func(name string, vgpus ...VGPU) VMSpec {
		return VMSpec{Name: name, Role: "inference", VCPUs: 4, MemoryMiB: 16384, Network: DefaultNetwork, Portgroup: "ai-service", VGPUs: vgpus}
	}

	info, err := c.EnsureVM(ctx, inference("inference-1", VGPU{UUID: uuidN(1), Type: type8C}))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.VGPUs) != 1 || info.VGPUs[0].Parent != a100free {
		t.Errorf("inference-1 vgpus %+v", info.VGPUs)
	}
	d := domainDoc(t, c, "inference-1")
	if hd := d.Devices.Hostdevs; len(hd) != 1 || hd[0].SubsysMDev == nil || hd[0].SubsysMDev.Source.Address.UUID != uuidN(1) {
		t.Fatalf("hostdevs %+v", hd)
	}
	if again, err := c.EnsureVM(ctx, inference("inference-1", VGPU{UUID: uuidN(1), Type: type8C})); err != nil || again.Created ||
		len(again.VGPUs) != 1 || again.VGPUs[0].Parent != a100free {
		t.Errorf("ensure again: %+v %v", again, err)
	}

	// The A100 now runs 8C: a 20C on it is refused (one profile per GPU).
	if _, err := c.EnsureVM(ctx, inference("big-1", VGPU{UUID: uuidN(11), Type: type20C, Parent: a100free})); !errors.Is(err, ErrMdevTypeMix) {
		t.Fatalf("second profile: %v", err)
	}
	// ... and it cannot be passed through whole.
	if _, err := c.EnsureVM(ctx, VMSpec{Name: "training-x", VCPUs: 8, MemoryMiB: 32768, GPUs: []string{a100free}}); !errors.Is(err, ErrGPUInUse) {
		t.Fatalf("passthrough of a vgpu host: %v", err)
	}
	if err := c.DestroyVM(ctx, "inference-1"); err != nil {
		t.Fatal(err)
	}

	// 20C has two instances; the host has created none, the platform counts
	// what it promised to defined domains.
	vm(t, ctx, c, inference("big-1", VGPU{UUID: uuidN(11), Type: type20C}))
	vm(t, ctx, c, inference("big-2", VGPU{UUID: uuidN(12), Type: type20C}))
	if _, err := c.EnsureVM(ctx, inference("big-3", VGPU{UUID: uuidN(13), Type: type20C})); !errors.Is(err, ErrNoMdevInstances) {
		t.Fatalf("third 20C: %v", err)
	}
	if _, err := c.EnsureVM(ctx, inference("big-3", VGPU{UUID: uuidN(11), Type: type20C})); !errors.Is(err, ErrGPUInUse) {
		t.Fatalf("vgpu uuid of big-1 again: %v", err)
	}

	// The existing mdev (created on the host, type 4C) attaches once.
	vm(t, ctx, c, inference("inference-0", VGPU{UUID: existingMd, Type: type4C}))
	if _, err := c.EnsureVM(ctx, inference("inference-9", VGPU{UUID: existingMd, Type: type4C})); !errors.Is(err, ErrGPUInUse) {
		t.Fatalf("existing mdev twice: %v", err)
	}
	if _, err := c.EnsureVM(ctx, inference("inference-9", VGPU{UUID: uuidN(20), Type: type5C, Parent: a100vgpu})); !errors.Is(err, ErrMdevTypeMix) {
		t.Fatalf("5C next to 4C: %v", err)
	}

	inv, err := c.GPUInventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range inv {
		if g.Device == a100free {
			if got := freeOf(g, type20C); got != 0 || len(g.Mdevs) != 2 {
				t.Errorf("a100free: 20C free %d, mdevs %+v", got, g.Mdevs)
			}
		}
		if g.Device == a100vgpu && (len(g.Mdevs) != 1 || g.Mdevs[0].Domain != "inference-0") {
			t.Errorf("a100vgpu mdevs %+v", g.Mdevs)
		}
	}
}

func TestEnsureMdev(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	// Exists already with that type: nothing to do.
	v, err := c.EnsureMdev(ctx, VGPU{UUID: existingMd, Type: type4C})
	if err != nil || v.Parent != a100vgpu {
		t.Fatalf("existing mdev: %+v %v", v, err)
	}
	if _, err := c.EnsureMdev(ctx, VGPU{UUID: existingMd, Type: type8C}); !errors.Is(err, ErrSpecMismatch) {
		t.Errorf("existing mdev, other type: %v", err)
	}
	// The test driver cannot create mdevs (nor can a host without mdev support).
	_, err = c.EnsureMdev(ctx, VGPU{UUID: uuidN(1), Type: type8C})
	if !errors.Is(err, ErrMdevCreateUnsupported) {
		t.Fatalf("create: %v", err)
	}
	t.Logf("refused: %v", err)
	// The usual checks come first.
	if _, err := c.EnsureMdev(ctx, VGPU{UUID: uuidN(2), Type: type5C, Parent: a100vgpu}); !errors.Is(err, ErrMdevTypeMix) {
		t.Errorf("5C next to 4C: %v", err)
	}
}

func TestGPUInventoryOnTheDaemon(t *testing.T) {
	c := dialTest(t)
	inv, err := c.GPUInventory(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range inv {
		names = append(names, g.Device)
		if g.VendorID != NVIDIAVendorID || g.AssignedTo != "" {
			t.Errorf("%+v", g)
		}
	}
	if want := sortedCopy([]string{h100a, h100b, a100vgpu, a100free}); !slices.Equal(names, want) {
		t.Fatalf("gpus %v, want %v", names, want)
	}
	for _, g := range inv {
		switch g.Device {
		case a100vgpu:
			if len(g.Mdevs) != 1 || !g.Mdevs[0].Created() || freeOf(g, type4C) != 9 || freeOf(g, type5C) != 0 {
				t.Errorf("a100vgpu %+v", g)
			}
		case a100free:
			if freeOf(g, type8C) != 5 || freeOf(g, type20C) != 2 || !g.Passthrough() {
				t.Errorf("a100free %+v", g)
			}
		}
	}
}

// Temporal may run the same activity twice at once (a retry racing a slow
// first attempt), and two activities may want the same GPU.
func TestConcurrentEnsure(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	tenantNet(t, ctx, c, pilots[0])
	platformNet2 := Network{Name: "dure-ai", Bridge: "br-ai", Portgroups: []Portgroup{{Name: "ai-internal", VLAN: 50}}}
	if _, err := c.EnsureNetwork(ctx, platformNet2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteNetwork(context.Background(), platformNet2.Name) })

	const n = 8
	var wg sync.WaitGroup
	infos := make([]VMInfo, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { infos[i], errs[i] = c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"}) })
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("ensure %d: %v", i, errs[i])
		}
		if infos[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d calls created the vm, want 1", created)
	}
	t.Cleanup(func() { _ = c.DestroyVM(context.Background(), "data-suwon") })

	for i := range n {
		wg.Go(func() {
			name := "training-" + string(rune('a'+i))
			_, errs[i] = c.EnsureVM(ctx, VMSpec{Name: name, VCPUs: 8, MemoryMiB: 32768, Network: "dure-ai", Portgroup: "ai-internal", GPUs: []string{h100a}})
		})
	}
	wg.Wait()
	won := 0
	for i := range n {
		switch {
		case errs[i] == nil:
			won++
			name := "training-" + string(rune('a'+i))
			t.Cleanup(func() { _ = c.DestroyVM(context.Background(), name) })
		case !errors.Is(errs[i], ErrGPUInUse):
			t.Errorf("ensure %d: %v", i, errs[i])
		}
	}
	if won != 1 {
		t.Errorf("%d vms got the H100, want 1", won)
	}
}

func TestReconnect(t *testing.T) {
	c := dialTest(t)
	ctx := testCtx(t)
	c.mu.Lock()
	lv := c.lv
	c.mu.Unlock()
	if err := lv.Disconnect(); err != nil { // as if libvirtd restarted
		t.Fatal(err)
	}
	// The next call dials again (and, with a test URI, gets a fresh host).
	tenantNet(t, ctx, c, pilots[0])
	if c.lv == lv {
		t.Error("no new connection")
	}
}

func TestDialFailures(t *testing.T) {
	ctx := testCtx(t)
	_, err := Dial(ctx, Config{URI: "test:///default", Socket: t.TempDir() + "/no-such-sock", DialTimeout: time.Second})
	if !errors.Is(err, ErrLibvirtUnavailable) {
		t.Errorf("dial of a missing socket: %v", err)
	}
	// The daemon answers but cannot open the driver: a configuration error,
	// not an outage to retry.
	_, err = Dial(ctx, Config{URI: "test:///no/such/node.xml"})
	requireDaemon(t, err)
	if err == nil || errors.Is(err, ErrLibvirtUnavailable) {
		t.Errorf("dial of a missing node file: %v", err)
	}
}
