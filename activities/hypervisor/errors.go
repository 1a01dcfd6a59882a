package hypervisor

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/digitalocean/go-libvirt"
)

// Errors of the platform's own rules. Wrapped errors say which object and why;
// test them with errors.Is.
var (
	// ErrLibvirtUnavailable: the daemon cannot be reached or the connection
	// broke. Retrying later is right; the next call reconnects.
	ErrLibvirtUnavailable = errors.New("libvirt daemon unavailable")
	// ErrInvalidSpec: the request itself is malformed.
	ErrInvalidSpec = errors.New("invalid specification")
	// ErrNotManaged: an object of that name exists but the platform did not
	// create it, so it is left alone.
	ErrNotManaged = errors.New("not managed by dure")
	// ErrSpecMismatch: the object exists with a different specification.
	ErrSpecMismatch = errors.New("exists with a different specification")
	// ErrVLANUnsupported: the uplink cannot carry VLAN tags.
	ErrVLANUnsupported = errors.New("uplink cannot carry VLAN tags")
	// ErrVLANInUse: the VLAN is carried elsewhere or reserved.
	ErrVLANInUse = errors.New("vlan already in use")
	// ErrNetworkNotFound: a VM names a network or portgroup that does not exist.
	ErrNetworkNotFound = errors.New("network not found")
	// ErrNetworkInUse: a domain still has an interface on it.
	ErrNetworkInUse = errors.New("network in use")
	// ErrGPUNotFound: no NVIDIA GPU of that name on this host.
	ErrGPUNotFound = errors.New("gpu not found")
	// ErrGPUInUse: the GPU or vGPU is already assigned to a domain.
	ErrGPUInUse = errors.New("gpu already assigned")
	// ErrMdevTypeUnsupported: the GPU does not offer that vGPU type.
	ErrMdevTypeUnsupported = errors.New("vgpu type not offered by the gpu")
	// ErrMdevTypeMix: the GPU already carries vGPUs of another type.
	ErrMdevTypeMix = errors.New("gpu already carries another vgpu type")
	// ErrNoMdevInstances: every instance of the vGPU type is taken.
	ErrNoMdevInstances = errors.New("no vgpu instances left")
)

// Errors of things the host cannot do at all, mapped from libvirt's answers.
// Machines without VFIO, mdev support or Open vSwitch (CI, dev boxes) give
// these; a GPU host that does is misconfigured.
var (
	// ErrPassthroughUnavailable: no PCI passthrough (VFIO, IOMMU) on this host.
	ErrPassthroughUnavailable = errors.New("host cannot pass pci devices through (vfio/iommu unavailable)")
	// ErrVGPUUnavailable: the host cannot attach the mediated device (no
	// VFIO mdev support, or the mdev does not exist).
	ErrVGPUUnavailable = errors.New("host cannot attach the vgpu (mediated device unavailable)")
	// ErrMdevCreateUnsupported: the host (or driver) cannot create mediated devices.
	ErrMdevCreateUnsupported = errors.New("host cannot create mediated devices")
	// ErrUplinkUnavailable: the bridge, Open vSwitch or physical function a
	// network relies on is not there.
	ErrUplinkUnavailable = errors.New("host network uplink unavailable")
	// ErrCPUModeUnsupported: KVM refused the guest CPU model, typically
	// host-passthrough under nested virtualization; see Config.CPUMode.
	ErrCPUModeUnsupported = errors.New("host kvm refuses the guest cpu model (nested virtualization? set Config.CPUMode)")
)

// libvirtError returns the libvirt error inside err, if any.
func libvirtError(err error) (libvirt.Error, bool) {
	var le libvirt.Error
	if errors.As(err, &le) {
		return le, true
	}
	return libvirt.Error{}, false
}

func hasCode(err error, code libvirt.ErrorNumber) bool {
	le, ok := libvirtError(err)
	return ok && le.Code == uint32(code)
}

// isConnectionLoss reports errors that mean the socket is gone rather than
// that libvirt refused the call.
func isConnectionLoss(err error) bool {
	return errors.Is(err, libvirt.ErrInterrupted) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ENOENT)
}

// hostLimit classifies a libvirt error that says the host cannot do what was
// asked. Messages are libvirt 9's (qemu driver); the codes alone are too
// coarse (VIR_ERR_CONFIG_UNSUPPORTED covers many things).
func hostLimit(err error) error {
	le, ok := libvirtError(err)
	if !ok {
		return nil
	}
	msg := strings.ToLower(le.Message)
	switch {
	case strings.Contains(msg, "passthrough of host pci devices"),
		strings.Contains(msg, "vfio device assignment"),
		strings.Contains(msg, "/dev/vfio"),
		strings.Contains(msg, "iommu"):
		return ErrPassthroughUnavailable
	case strings.Contains(msg, "mediated host device assignment"),
		strings.Contains(msg, "mediated device") && strings.Contains(msg, "not found"),
		strings.Contains(msg, "/sys/bus/mdev/devices"):
		return ErrVGPUUnavailable
	case strings.Contains(msg, "failed to set msr"),
		strings.Contains(msg, "cpu mode") && strings.Contains(msg, "not supported"):
		return ErrCPUModeUnsupported
	case strings.Contains(msg, "vlan tag not supported"),
		strings.Contains(msg, "doesn't support vlan"):
		return ErrVLANUnsupported
	case strings.Contains(msg, "ovs bridge"),
		strings.Contains(msg, "ovs-vsctl"),
		strings.Contains(msg, "openvswitch"),
		strings.Contains(msg, "usable vf"),
		strings.Contains(msg, "cannot get interface"),
		strings.Contains(msg, "no such device") && le.Code == uint32(libvirt.ErrSystemError):
		return ErrUplinkUnavailable
	}
	return nil
}

// mapError puts the matching sentinel in front of a libvirt error so callers
// can test it with errors.Is and operators read what the host lacks. Errors
// it does not recognise pass through unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := libvirtError(err); !ok && isConnectionLoss(err) {
		return fmt.Errorf("%w: %w", ErrLibvirtUnavailable, err)
	}
	if sentinel := hostLimit(err); sentinel != nil {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return err
}

// mapMdevCreateError: creating a mediated device fails for many host reasons
// (no mdev-capable parent, mdevctl missing, the test driver's node device
// driver creating only vHBAs); for the caller they all mean the host cannot
// create it. Connection loss stays what it is.
func mapMdevCreateError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := libvirtError(err); !ok {
		return mapError(err)
	}
	return fmt.Errorf("%w: %w", ErrMdevCreateUnsupported, err)
}
