package hypervisor

import (
	"context"
	"fmt"
	"testing"

	"github.com/digitalocean/go-libvirt"
)

// Latency of the adapter's calls through the real libvirtd and its test
// driver (the driver itself does next to nothing, so this is RPC, XML and
// the adapter's own checks).

func BenchmarkRPCRoundTrip(b *testing.B) {
	c := dialTest(b)
	ctx := context.Background()
	for b.Loop() {
		err := c.withClient(ctx, func(lv *libvirt.Libvirt) error {
			_, err := lv.ConnectGetLibVersion()
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnsureTenantNetworkExisting(b *testing.B) {
	c := dialTest(b)
	ctx := context.Background()
	if _, err := c.EnsureTenantNetwork(ctx, pilots[0]); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.DeleteTenantNetwork(ctx, pilots[0]) })
	for b.Loop() {
		if _, err := c.EnsureTenantNetwork(ctx, pilots[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnsureDataVMExisting(b *testing.B) {
	for _, others := range []int{0, 50} {
		b.Run(fmt.Sprintf("%d-other-vms", others), func(b *testing.B) {
			c := dialTest(b)
			ctx := context.Background()
			if _, err := c.EnsureTenantNetwork(ctx, pilots[0]); err != nil {
				b.Fatal(err)
			}
			names := []string{"data-suwon"}
			for i := range others {
				name := fmt.Sprintf("other-%d", i)
				if _, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon", Name: name}); err != nil {
					b.Fatal(err)
				}
				names = append(names, name)
			}
			if _, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				for _, n := range names {
					_ = c.DestroyVM(ctx, n)
				}
				_ = c.DeleteTenantNetwork(ctx, pilots[0])
			})
			for b.Loop() {
				if _, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDataVMCreateDestroy(b *testing.B) {
	c := dialTest(b)
	ctx := context.Background()
	if _, err := c.EnsureTenantNetwork(ctx, pilots[0]); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.DeleteTenantNetwork(ctx, pilots[0]) })
	for b.Loop() {
		if _, err := c.EnsureDataVM(ctx, VMSpec{TenantID: "suwon"}); err != nil {
			b.Fatal(err)
		}
		if err := c.DestroyVM(ctx, "data-suwon"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGPUInventory(b *testing.B) {
	c := dialTest(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.GPUInventory(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
