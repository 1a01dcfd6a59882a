package service

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dure-platform/dure/activities/gpu"
	"github.com/dure-platform/dure/activities/hypervisor"
)

// Inventory modes of a GPU host agent (the gpu-inventory setting).
const (
	InventoryNVML      = "nvml"
	InventoryLibvirt   = "libvirt"
	InventorySimulated = "simulated"
	InventoryAuto      = "auto"
)

// OpenInventory returns a GPU host's inventory source:
//   - nvml: the driver's view (GPUs the host itself runs, vGPU hosts);
//   - libvirt: the hypervisor's node devices (libvirtURI), which also list
//     GPUs bound to vfio-pci for passthrough, invisible to the host's NVML;
//   - simulated: a simulated 8-GPU host;
//   - auto: NVML when a driver answers, else the simulation.
//
// The returned function closes what it opened.
func OpenInventory(ctx context.Context, host, mode, libvirtURI string, logger *slog.Logger) (gpu.Source, func() error, error) {
	none := func() error { return nil }
	switch mode {
	case InventorySimulated:
		return gpu.DefaultSimulated(host), none, nil
	case InventoryLibvirt:
		conn, err := hypervisor.Dial(ctx, hypervisor.Config{URI: libvirtURI, Logger: logger.With("component", "hypervisor")})
		if err != nil {
			return nil, nil, fmt.Errorf("gpu inventory: %w", err)
		}
		return libvirtInventory{conn: conn}, conn.Close, nil
	}
	session, err := gpu.OpenSystem(logger)
	switch {
	case err == nil:
		return session, session.Close, nil
	case mode == InventoryNVML:
		return nil, nil, fmt.Errorf("gpu inventory: %w", err)
	}
	logger.Info("no NVML on this host: using a simulated 8-GPU inventory", "reason", err)
	return gpu.DefaultSimulated(host), none, nil
}

// libvirtInventory reads a host's GPUs from its hypervisor's node devices.
type libvirtInventory struct {
	conn *hypervisor.Conn
}

// Kind names the source in inventories.
func (libvirtInventory) Kind() string { return InventoryLibvirt }

// Inventory lists the host's NVIDIA GPUs in PCI order. libvirt knows no
// utilisation or temperature; a GPU that a domain holds whole is reported
// degraded, so the pool does not hand it out twice.
func (l libvirtInventory) Inventory(ctx context.Context) ([]gpu.GPU, error) {
	devs, err := l.conn.GPUInventory(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]gpu.GPU, 0, len(devs))
	for i, d := range devs {
		g := gpu.GPU{
			Index: i, Name: d.Product, UUID: d.Device, PCIBusID: d.Address, NodeDevice: d.Device,
			MIG: gpu.MIG{Mode: gpu.MIGUnsupported}, Health: gpu.Health{Status: gpu.HealthOK},
		}
		if d.AssignedTo != "" {
			g.Health = gpu.Health{Status: gpu.HealthDegraded, Reasons: []string{"held whole by domain " + d.AssignedTo}}
		}
		out = append(out, g)
	}
	return out, nil
}
