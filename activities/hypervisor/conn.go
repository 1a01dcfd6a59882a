package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"
)

// DefaultURI is the driver a production GPU host uses.
const DefaultURI = "qemu:///system"

// DefaultSocket is libvirtd's read-write socket on Debian and most others.
const DefaultSocket = "/run/libvirt/libvirt-sock"

// Config says which daemon and driver a Conn talks to.
type Config struct {
	// URI is the driver the daemon opens for this connection: qemu:///system
	// on a KVM host (the default), test:///<absolute path to a node file> in
	// tests. A custom-file test URI gives every connection its own private
	// state, so a reconnect starts from the file again.
	URI string
	// Socket is libvirtd's UNIX socket; empty means DefaultSocket.
	Socket string
	// DialTimeout bounds reaching the socket; zero means 5 s.
	DialTimeout time.Duration
	// DomainType is the virtualization type written into domains ("kvm",
	// "qemu", "test"). Empty picks the best the driver offers: kvm, else
	// qemu (TCG), else the test driver's own.
	DomainType string
	// CPUMode is the guest CPU of kvm domains: "" means host-passthrough
	// (the guest sees the GPU host's real CPU, as CUDA workloads want);
	// "host-model" and "maximum" are libvirt's; "none" writes no <cpu> and
	// gets QEMU's default model, for nested KVM (CI, dev VMs) that refuses
	// the host's MSRs (ErrCPUModeUnsupported).
	CPUMode string
	// Logger receives one line per change made; nil means slog.Default().
	Logger *slog.Logger
}

// Conn is one connection to libvirtd. It is safe for concurrent use; it
// reconnects on the next call when the daemon went away.
type Conn struct {
	cfg Config
	log *slog.Logger

	mu         sync.Mutex // guards the fields below
	lv         *libvirt.Libvirt
	driver     string // "QEMU", "TEST", as the driver names itself
	domainType string
	closed     bool

	// ops serialises mutating calls: the checks (is this GPU free, is this
	// VLAN taken) and the define that follows must not interleave with
	// another call's on the same host.
	ops sync.Mutex

	// observeXML, when set (tests), sees every document before it goes to
	// libvirt; kind is "domain", "network" or "nodedev".
	observeXML func(kind, doc string)
}

// Dial connects to libvirtd and opens the configured driver.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.URI == "" {
		cfg.URI = DefaultURI
	}
	if cfg.Socket == "" {
		cfg.Socket = DefaultSocket
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	switch cfg.CPUMode {
	case "", "host-passthrough", "host-model", "maximum", "none":
	default:
		return nil, fmt.Errorf("%w: cpu mode %q", ErrInvalidSpec, cfg.CPUMode)
	}
	c := &Conn{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "hypervisor", "uri", cfg.URI)
	if _, err := c.client(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// URI returns the driver URI this connection opens.
func (c *Conn) URI() string { return c.cfg.URI }

// Driver returns the name the libvirt driver gives itself ("QEMU", "TEST").
func (c *Conn) Driver() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.driver
}

// DomainType returns the virtualization type written into domains.
func (c *Conn) DomainType() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.domainType
}

// Close ends the connection. With a custom-file test URI this discards the
// connection's private state.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.lv == nil {
		return nil
	}
	lv := c.lv
	c.lv = nil
	if !lv.IsConnected() {
		return nil
	}
	if err := lv.Disconnect(); err != nil && !isConnectionLoss(err) {
		return fmt.Errorf("disconnect from libvirt: %w", err)
	}
	return nil
}

// client returns a live RPC client, reconnecting when the last one broke.
func (c *Conn) client(ctx context.Context) (*libvirt.Libvirt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: connection closed", ErrLibvirtUnavailable)
	}
	if c.lv != nil && c.lv.IsConnected() {
		return c.lv, nil
	}
	if c.lv != nil {
		c.log.Warn("libvirt connection lost, reconnecting")
		c.lv = nil
	}
	lv, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	driver, domainType, err := probeDriver(lv, c.cfg.DomainType)
	if err != nil {
		_ = lv.Disconnect()
		return nil, err
	}
	c.lv, c.driver, c.domainType = lv, driver, domainType
	return lv, nil
}

// connect dials the socket and opens the driver. go-libvirt's handshake takes
// no context, so a wedged daemon is abandoned here rather than waited for.
func (c *Conn) connect(ctx context.Context) (*libvirt.Libvirt, error) {
	lv := libvirt.NewWithDialer(dialers.NewLocal(
		dialers.WithSocket(c.cfg.Socket),
		dialers.WithLocalTimeout(c.cfg.DialTimeout),
	))
	done := make(chan error, 1)
	go func() { done <- lv.ConnectToURI(libvirt.ConnectURI(c.cfg.URI)) }()
	select {
	case err := <-done:
		if err != nil {
			if _, ok := libvirtError(err); ok {
				// The daemon answered but refused the URI (unknown driver,
				// unreadable node file): a configuration error, not an outage.
				return nil, fmt.Errorf("open %s: %w", c.cfg.URI, err)
			}
			return nil, fmt.Errorf("%w: connect to %s: %w", ErrLibvirtUnavailable, c.cfg.Socket, err)
		}
		return lv, nil
	case <-ctx.Done():
		go func() {
			if <-done == nil {
				_ = lv.Disconnect()
			}
		}()
		return nil, fmt.Errorf("%w: connect to %s: %w", ErrLibvirtUnavailable, c.cfg.Socket, ctx.Err())
	}
}

// probeDriver asks which driver answered and which domain type to write.
func probeDriver(lv *libvirt.Libvirt, override string) (driver, domainType string, err error) {
	driver, err = lv.ConnectGetType()
	if err != nil {
		return "", "", fmt.Errorf("ask driver type: %w", mapError(err))
	}
	if override != "" {
		return driver, override, nil
	}
	capsXML, err := lv.ConnectGetCapabilities()
	if err != nil {
		return "", "", fmt.Errorf("read capabilities: %w", mapError(err))
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(capsXML); err != nil {
		return "", "", fmt.Errorf("parse capabilities: %w", err)
	}
	offered := map[string]bool{}
	for _, g := range caps.Guests {
		if g.OSType != "hvm" {
			continue
		}
		for _, d := range g.Arch.Domains {
			offered[d.Type] = true
		}
	}
	for _, t := range []string{"kvm", "qemu", "test"} {
		if offered[t] {
			return driver, t, nil
		}
	}
	return "", "", fmt.Errorf("driver %s offers no hvm guest type (is qemu-system-x86 installed?)", driver)
}

// withClient runs fn with a live client; a connection lost mid-call is
// reported as ErrLibvirtUnavailable so a retry (with a fresh connection) is
// the obvious move.
func (c *Conn) withClient(ctx context.Context, fn func(lv *libvirt.Libvirt) error) error {
	lv, err := c.client(ctx)
	if err != nil {
		return err
	}
	err = fn(lv)
	if err != nil && !lv.IsConnected() && !errors.Is(err, ErrLibvirtUnavailable) {
		return fmt.Errorf("%w: %w", ErrLibvirtUnavailable, err)
	}
	return err
}

// mutate is withClient for calls that change the host: one at a time.
func (c *Conn) mutate(ctx context.Context, fn func(lv *libvirt.Libvirt) error) error {
	c.ops.Lock()
	defer c.ops.Unlock()
	return c.withClient(ctx, fn)
}

func (c *Conn) observe(kind, doc string) {
	if c.observeXML != nil {
		c.observeXML(kind, doc)
	}
}
