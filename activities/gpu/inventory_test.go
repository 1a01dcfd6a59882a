package gpu

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// strictNVML fails the test on any call but Init, which fails: the process
// would die on such a call with a real library.
type strictNVML struct {
	t     *testing.T
	inits int
}

func (f *strictNVML) Init() error {
	f.inits++
	return &NVMLError{Op: "init", Code: 12, Msg: "ERROR_LIBRARY_NOT_FOUND"}
}

func (f *strictNVML) Shutdown() error {
	f.t.Error("Shutdown called after a failed Init")
	return nil
}

func (f *strictNVML) DeviceGetCount() (int, error) {
	f.t.Error("DeviceGetCount called after a failed Init")
	return 0, nil
}

func (f *strictNVML) DeviceGetHandleByIndex(int) (Device, error) {
	f.t.Error("DeviceGetHandleByIndex called after a failed Init")
	return nil, nil
}

func TestOpenInitFailureCallsNothingElse(t *testing.T) {
	f := &strictNVML{t: t}
	s, err := Open(f, nil)
	if !errors.Is(err, ErrNoNVML) {
		t.Fatalf("Open: err = %v, want ErrNoNVML", err)
	}
	if s != nil {
		t.Fatal("Open returned a session after a failed Init")
	}
	if f.inits != 1 {
		t.Errorf("Init called %d times, want 1", f.inits)
	}
	if !strings.Contains(err.Error(), "no NVML: driver library not found") || !strings.Contains(err.Error(), "ERROR_LIBRARY_NOT_FOUND") {
		t.Errorf("error %q should say there is no NVML and why", err)
	}
}

// countingNVML is a working fake: it counts Shutdown calls.
type countingNVML struct {
	devices   []Device
	shutdowns int
	countErr  error
}

func (f *countingNVML) Init() error                  { return nil }
func (f *countingNVML) Shutdown() error              { f.shutdowns++; return nil }
func (f *countingNVML) DeviceGetCount() (int, error) { return len(f.devices), f.countErr }
func (f *countingNVML) DeviceGetHandleByIndex(i int) (Device, error) {
	return f.devices[i], nil
}

func TestSessionClose(t *testing.T) {
	f := &countingNVML{}
	s, err := Open(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if f.shutdowns != 1 {
		t.Errorf("Shutdown called %d times, want 1", f.shutdowns)
	}
	// After shutdown a call would reach an unloaded library: the session refuses.
	if _, err := s.Inventory(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Inventory after Close: err = %v, want ErrClosed", err)
	}
}

func TestSessionCountFailure(t *testing.T) {
	s, err := Open(&countingNVML{countErr: &NVMLError{Op: "get device count", Code: 999, Msg: "ERROR_UNKNOWN"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Inventory(context.Background()); err == nil || !strings.Contains(err.Error(), "count gpus") {
		t.Errorf("Inventory: err = %v, want a count failure", err)
	}
}

func TestParsePCIAddress(t *testing.T) {
	tests := []struct {
		in, want, node string
		wantErr        bool
	}{
		{in: "00000000:3B:00.0", want: "0000:3b:00.0", node: "pci_0000_3b_00_0"},
		{in: "0000:3b:00.0", want: "0000:3b:00.0", node: "pci_0000_3b_00_0"},
		{in: "3b:00.1", want: "0000:3b:00.1", node: "pci_0000_3b_00_1"},
		{in: "pci_0000_db_00_0", want: "0000:db:00.0", node: "pci_0000_db_00_0"},
		{in: "00010000:E1:1F.7", want: "10000:e1:1f.7", node: "pci_10000_e1_1f_7"}, // VMD domain
		{in: "", wantErr: true},
		{in: "0000:3b:00", wantErr: true},
		{in: "0000:3b:20.0", wantErr: true},
		{in: "0000:3b:00.8", wantErr: true},
		{in: "0000:1ff:00.0", wantErr: true},
		{in: "pci_0000_3b_00", wantErr: true},
		{in: "zz:00.0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := ParsePCIAddress(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePCIAddress(%q) = %v, want an error", tt.in, a)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.String() != tt.want || a.NodeDevice() != tt.node {
				t.Errorf("ParsePCIAddress(%q) = %s, %s; want %s, %s", tt.in, a, a.NodeDevice(), tt.want, tt.node)
			}
			// Both printed forms read back to the same address.
			for _, s := range []string{a.String(), a.NodeDevice()} {
				if b, err := ParsePCIAddress(s); err != nil || b != a {
					t.Errorf("round trip of %q: %v, %v", s, b, err)
				}
			}
		})
	}
}

func TestMIGProfile(t *testing.T) {
	for name, want := range map[string]string{
		"NVIDIA H100 80GB HBM3 MIG 1g.10gb": "1g.10gb",
		"NVIDIA A100-SXM4-40GB MIG 3g.20gb": "3g.20gb",
		"NVIDIA H100 80GB HBM3":             "",
	} {
		if got := migProfile(name); got != want {
			t.Errorf("migProfile(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestReadHostNilSource(t *testing.T) {
	if _, err := ReadHost(context.Background(), "h", nil); !errors.Is(err, ErrNoNVML) {
		t.Errorf("err = %v, want ErrNoNVML", err)
	}
}
