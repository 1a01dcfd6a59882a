package gpu

import (
	"fmt"
	"strconv"
	"strings"
)

// PCIAddress is a PCI function's address: domain, bus, device, function.
type PCIAddress struct {
	Domain   uint32
	Bus      uint8
	Device   uint8 // 0-31
	Function uint8 // 0-7
}

// ParsePCIAddress reads the forms NVML, sysfs and libvirt write:
// "00000000:3B:00.0" (NVML, 8-digit domain), "0000:3b:00.0" (sysfs, NVML's
// legacy form), "3b:00.0" (no domain: 0) and "pci_0000_3b_00_0" (libvirt's
// node device name).
func ParsePCIAddress(s string) (PCIAddress, error) {
	in := s
	if rest, ok := strings.CutPrefix(s, "pci_"); ok {
		// pci_DDDD_BB_DD_F: the same fields with underscores.
		parts := strings.Split(rest, "_")
		if len(parts) != 4 {
			return PCIAddress{}, fmt.Errorf("pci address %q: want pci_DDDD_BB_DD_F", in)
		}
		s = parts[0] + ":" + parts[1] + ":" + parts[2] + "." + parts[3]
	}
	var a PCIAddress
	slot, fn, ok := strings.Cut(s, ".")
	if !ok {
		return a, fmt.Errorf("pci address %q: no function", in)
	}
	fields := strings.Split(slot, ":")
	if len(fields) == 2 {
		fields = append([]string{"0"}, fields...)
	}
	if len(fields) != 3 {
		return a, fmt.Errorf("pci address %q: want [domain:]bus:device.function", in)
	}
	dom, err := strconv.ParseUint(fields[0], 16, 32)
	if err != nil {
		return a, fmt.Errorf("pci address %q: domain: %w", in, err)
	}
	bus, err := strconv.ParseUint(fields[1], 16, 8)
	if err != nil {
		return a, fmt.Errorf("pci address %q: bus: %w", in, err)
	}
	dev, err := strconv.ParseUint(fields[2], 16, 8)
	if err != nil || dev > 31 {
		return a, fmt.Errorf("pci address %q: device must be 00-1f", in)
	}
	f, err := strconv.ParseUint(fn, 16, 8)
	if err != nil || f > 7 {
		return a, fmt.Errorf("pci address %q: function must be 0-7", in)
	}
	return PCIAddress{Domain: uint32(dom), Bus: uint8(bus), Device: uint8(dev), Function: uint8(f)}, nil
}

// String is the sysfs and libvirt form, 0000:3b:00.0.
func (a PCIAddress) String() string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", a.Domain, a.Bus, a.Device, a.Function)
}

// NodeDevice is libvirt's node device name, pci_0000_3b_00_0.
func (a PCIAddress) NodeDevice() string {
	return fmt.Sprintf("pci_%04x_%02x_%02x_%x", a.Domain, a.Bus, a.Device, a.Function)
}
