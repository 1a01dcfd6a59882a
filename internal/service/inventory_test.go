package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/activities/gpu"
)

// A GPU host agent on a hypervisor reads its GPUs from libvirt's node
// devices: the GPUs of the test driver's node file, passthrough ones
// included, become the host the GPU pool schedules.
func TestLibvirtInventory(t *testing.T) {
	node, err := filepath.Abs(filepath.Join("..", "..", "infra", "libvirt", "test-node-gpus.xml"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	src, closeSrc, err := OpenInventory(ctx, "kvm-1", InventoryLibvirt, "test://"+node, logger)
	if err != nil {
		msg := fmt.Sprintf("LIBVIRTD NOT RUNNING: TestLibvirtInventory is SKIPPED (%v); start it with infra/libvirt/up.sh", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	defer closeSrc()

	inv, err := gpu.ReadHost(ctx, "kvm-1", src)
	require.NoError(t, err)
	assert.Equal(t, InventoryLibvirt, inv.Source)
	require.NotEmpty(t, inv.GPUs)
	var addresses []string
	for i, g := range inv.GPUs {
		assert.Equal(t, i, g.Index)
		assert.NotEmpty(t, g.Name)
		assert.True(t, g.Health.OK(), "no domain holds %s", g.PCIBusID)
		addresses = append(addresses, g.PCIBusID)
	}
	assert.Contains(t, addresses, "0000:3b:00.0", "the node file's H100")

	host := gpu.PoolHost(inv, gpu.DefaultPoolSpec())
	require.Len(t, host.GPUs, len(inv.GPUs))
	assert.Equal(t, "kvm-1/0", host.GPUs[0].ID)

	_, _, err = OpenInventory(ctx, "kvm-1", InventoryLibvirt, "test:///no/such/node.xml", logger)
	assert.Error(t, err, "an unreadable hypervisor is an error, not an empty host")
}
