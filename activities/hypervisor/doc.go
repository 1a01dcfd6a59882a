// Package hypervisor is dure's adapter to libvirt on KVM hosts: tenant VLAN
// networks, tenant data VMs, and GPU domains (whole-GPU passthrough for
// training, NVIDIA vGPU through mediated devices for inference), plus the GPU
// inventory the GPU pool schedules from.
//
// It speaks libvirt's RPC protocol directly (github.com/digitalocean/go-libvirt,
// no cgo) through the daemon's UNIX socket, and writes every document with
// libvirt.org/go/libvirtxml. Production uses qemu:///system; tests use the
// daemon's test driver with a node file describing a GPU host
// (infra/libvirt/test-node-gpus.xml).
//
// # Network model
//
// A host has one shared libvirt network per uplink (default name "dure"):
// an Open vSwitch bridge, an SR-IOV physical function, or a NIC in macvtap
// passthrough mode. Each VLAN is a portgroup of that network: the platform's
// own (DMZ 10, AI 50/55/60, management 100) and one per tenant
// ("tenant-<id>"). Every VM interface names its portgroup. The network's
// default portgroup parks unnamed ports on ParkingVLAN, because an untagged
// Open vSwitch port is a trunk that would see every tenant's traffic.
//
// # What the platform refuses
//
// The test driver accepts anything; a real host does not, and some things a
// real host accepts would break tenant isolation or the GPU pool. The adapter
// checks before it asks libvirt, and answers with the sentinel errors in
// errors.go:
//
//   - a VLAN on an uplink that cannot tag (a plain Linux bridge: libvirt
//     itself rejects <vlan> there; only Open vSwitch, SR-IOV hostdev and
//     macvtap passthrough tag transparently): ErrVLANUnsupported;
//   - a VLAN another portgroup or network already carries, a reserved one, or
//     two tenants on one VLAN: ErrVLANInUse;
//   - a GPU that another defined domain (running or not) holds, or that
//     carries vGPUs: ErrGPUInUse;
//   - a vGPU type whose instances are all taken, counting those promised to
//     defined domains that the host has not created yet: ErrNoMdevInstances;
//     a second vGPU type on one GPU (NVIDIA time-sliced vGPU runs one
//     profile per physical GPU): ErrMdevTypeMix;
//   - deleting a network or portgroup a domain still uses: ErrNetworkInUse.
//
// Errors of things a host cannot do at all (PCI passthrough without VFIO,
// vGPU without mdev support, creating mdevs, Open vSwitch missing, nested
// KVM refusing the host CPU) come back from libvirt and are mapped to
// ErrPassthroughUnavailable, ErrVGPUUnavailable, ErrMdevCreateUnsupported,
// ErrUplinkUnavailable and ErrCPUModeUnsupported, wrapping libvirt's own
// error (errors.As finds the libvirt.Error).
//
// # Temporal
//
// The Ensure, Delete, Destroy and GPUInventory methods have activity
// signatures (context first, one JSON-friendly input, result and error) and
// finish in milliseconds, or about a second for a real VM start, so they need
// no heartbeat. Register a *Conn with SkipInvalidStructFunctions, or wrap the
// methods a worker needs.
//
// # Idempotency
//
// Every Ensure call may run twice (Temporal retries activities): an object
// that exists with the same specification is left as it is (and started if
// it is stopped); one that exists with a different specification is an
// ErrSpecMismatch, never silently rewritten. Domains the platform defines
// carry a metadata element (namespace MetadataNamespace) with a hash of their
// specification; domains without it are not the platform's and are never
// touched (ErrNotManaged). Delete and Destroy calls of absent objects succeed.
//
// Mutating calls of one Conn are serialised, so the check ("is this GPU
// free?") and the define that follows cannot interleave with another
// activity's on the same host. Run one worker per host for the same reason.
package hypervisor
