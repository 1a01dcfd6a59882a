package hypervisor

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/digitalocean/go-libvirt"
)

// The messages are libvirt 9.0's, as qemu:///system answered on a machine
// without VFIO, mdev support or Open vSwitch (and the test driver for mdev
// creation). qemu_test.go reproduces them live where qemu is installed.
func TestMapError(t *testing.T) {
	lerr := func(code libvirt.ErrorNumber, msg string) error {
		return libvirt.Error{Code: uint32(code), Message: msg}
	}
	tests := []struct {
		name string
		err  error
		want error // nil: passes through unclassified
	}{
		{"pci passthrough", lerr(libvirt.ErrConfigUnsupported, "unsupported configuration: host doesn't support passthrough of host PCI devices"), ErrPassthroughUnavailable},
		{"vfio missing", lerr(libvirt.ErrInternalError, "internal error: VFIO device assignment is currently not supported on this system"), ErrPassthroughUnavailable},
		{"mdev without vfio", lerr(libvirt.ErrConfigUnsupported, "unsupported configuration: Mediated host device assignment requires VFIO support"), ErrVGPUUnavailable},
		{"mdev not created", lerr(libvirt.ErrSystemError, "Cannot access /sys/bus/mdev/devices/6d1c2b3a-0000-4000-8000-0000000000a1: No such file or directory"), ErrVGPUUnavailable},
		{"ovs port", lerr(libvirt.ErrInternalError, "internal error: Unable to add port vnet1 to OVS bridge br-dure"), ErrUplinkUnavailable},
		{"bridge missing", lerr(libvirt.ErrSystemError, "Cannot get interface MTU on 'br-dure': No such device"), ErrUplinkUnavailable},
		{"pf without vfs", lerr(libvirt.ErrInternalError, "internal error: No usable Vf's present on SRIOV PF ens9f0"), ErrUplinkUnavailable},
		{"nic missing", lerr(libvirt.ErrSystemError, "Cannot get interface MAC on 'ens9f1': No such device"), ErrUplinkUnavailable},
		{"vlan on linux bridge iface", lerr(libvirt.ErrConfigUnsupported, "unsupported configuration: interface 52:54:00:90:8f:7f - vlan tag not supported for this connection type"), ErrVLANUnsupported},
		{"vlan on linux bridge network", lerr(libvirt.ErrConfigUnsupported, "unsupported configuration: <vlan> element specified for network lbnet, whose type doesn't support vlan configuration"), ErrVLANUnsupported},
		{"connection lost", fmt.Errorf("rpc: %w", libvirt.ErrInterrupted), ErrLibvirtUnavailable},
		{"socket closed", io.EOF, ErrLibvirtUnavailable},
		{"other libvirt error", lerr(libvirt.ErrOperationInvalid, "Requested operation is not valid: domain is already running"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapError(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("mapped error lost the original: %v", got)
			}
			if tt.want == nil {
				if got != tt.err {
					t.Errorf("mapError = %v, want it unchanged", got)
				}
				return
			}
			if !errors.Is(got, tt.want) {
				t.Errorf("mapError = %v, want %v", got, tt.want)
			}
			if le, ok := libvirtError(tt.err); ok {
				if got, ok := libvirtError(got); !ok || got != le {
					t.Errorf("libvirt.Error not reachable through the mapped error")
				}
			}
		})
	}
	if mapError(nil) != nil {
		t.Error("mapError(nil) != nil")
	}
}

func TestMapMdevCreateError(t *testing.T) {
	for _, msg := range []string{
		"internal error: Device is not a fibre channel HBA",                   // test driver
		"unsupported configuration: invalid parent device 'pci_0000_af_00_0'", // qemu host without mdev support
		"Cannot find 'mdevctl' in path: No such file or directory",
	} {
		err := mapMdevCreateError(libvirt.Error{Code: uint32(libvirt.ErrInternalError), Message: msg})
		if !errors.Is(err, ErrMdevCreateUnsupported) {
			t.Errorf("%q -> %v, want ErrMdevCreateUnsupported", msg, err)
		}
	}
	if err := mapMdevCreateError(libvirt.ErrInterrupted); !errors.Is(err, ErrLibvirtUnavailable) {
		t.Errorf("connection loss -> %v", err)
	}
}
