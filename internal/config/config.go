// Package config holds the settings every dure process shares, read from flags
// with DURE_* environment variables as defaults.
package config

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the platform's configuration. Ports of 0 pick a free port.
type Config struct {
	DataDir string
	Host    string

	// TemporalAddress, when set, uses an external Temporal server instead of the
	// embedded one.
	TemporalAddress string
	Namespace       string
	TemporalPort    int
	UIPort          int

	S3Region string
	S3Port   int

	GatewayPort    int
	InferencePorts []int
	OpsPort        int

	// CodecKeyFile holds the hex AES-256 key for workflow payloads; by default a
	// key generated into the data dir.
	CodecKeyFile string
	// ApprovalTimeout is how long an ingested batch waits for an operator.
	ApprovalTimeout time.Duration
	// SampleDataDir holds the demo's sample complaints.
	SampleDataDir string
	// RetrainCron is the Temporal Schedule's cron spec for Retraining.
	RetrainCron string
	// LibvirtURI, when set, is the hypervisor tenant networks and data VMs are
	// created on (qemu:///system on a KVM host); empty runs without one.
	LibvirtURI string
	// LibvirtBridge is the Open vSwitch bridge carrying tenant VLANs.
	LibvirtBridge string
	// TrainerCommand runs `dure train-job` as its own process (the command
	// line up to its flags); empty trains inside the worker.
	TrainerCommand []string
	// CodeVersion names this build (set at link time by `make build`).
	CodeVersion string
}

// Default is the one-machine dev configuration.
func Default() Config {
	return Config{
		DataDir:         ".dure",
		Host:            "127.0.0.1",
		Namespace:       "default",
		TemporalPort:    7233,
		UIPort:          8233,
		S3Region:        "us-east-1",
		S3Port:          7070,
		GatewayPort:     8080,
		InferencePorts:  []int{8091, 8092},
		OpsPort:         9090,
		ApprovalTimeout: 72 * time.Hour,
		SampleDataDir:   "data/complaints",
		RetrainCron:     "0 3 * * 1", // Mondays 03:00
		LibvirtBridge:   "br-dure",
	}
}

// RegisterFlags binds the configuration to flags, with DURE_<NAME> environment
// variables overriding the built-in defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	str := func(p *string, name, usage string) {
		fs.StringVar(p, name, env(name, *p), usage+" (env "+envName(name)+")")
	}
	num := func(p *int, name, usage string) {
		def := *p
		if v, err := strconv.Atoi(env(name, "")); err == nil {
			def = v
		}
		fs.IntVar(p, name, def, usage+" (env "+envName(name)+")")
	}
	str(&c.DataDir, "data-dir", "directory for all local state")
	str(&c.Host, "host", "IP address every service binds to")
	str(&c.TemporalAddress, "temporal-address", "external Temporal frontend host:port (empty: embedded server)")
	str(&c.Namespace, "namespace", "Temporal namespace")
	num(&c.TemporalPort, "temporal-port", "embedded Temporal frontend port")
	num(&c.UIPort, "ui-port", "Temporal Web UI port (0 disables the UI)")
	str(&c.S3Region, "s3-region", "S3 region")
	num(&c.S3Port, "s3-port", "embedded S3 port")
	num(&c.GatewayPort, "gateway-port", "API gateway port")
	num(&c.OpsPort, "ops-port", "port for /metrics and the payload codec endpoint")
	str(&c.CodecKeyFile, "codec-key-file", "hex AES-256 key file for workflow payloads (default: DATA_DIR/keys/codec.key)")
	str(&c.SampleDataDir, "sample-data", "directory with the sample complaints used by --demo")
	str(&c.RetrainCron, "retrain-cron", "cron spec of the retraining schedule (empty: no schedule)")
	str(&c.LibvirtURI, "libvirt-uri", "libvirt URI for tenant networks and data VMs, e.g. qemu:///system (empty: none)")
	str(&c.LibvirtBridge, "libvirt-bridge", "Open vSwitch bridge that carries tenant VLANs")
	fs.Func("inference-ports", "comma-separated ports of the inference replicas (env DURE_INFERENCE_PORTS)", func(s string) error {
		ports, err := parsePorts(s)
		if err == nil {
			c.InferencePorts = ports
		}
		return err
	})
	if v := env("inference-ports", ""); v != "" {
		if ports, err := parsePorts(v); err == nil {
			c.InferencePorts = ports
		}
	}
	fs.DurationVar(&c.ApprovalTimeout, "approval-timeout", c.ApprovalTimeout, "how long an ingested batch waits for an operator decision")
}

// Resolve makes paths absolute. The embedded S3 server changes the process's
// working directory, so every path must be fixed before it starts.
func (c *Config) Resolve() error {
	var err error
	if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if c.CodecKeyFile == "" {
		c.CodecKeyFile = filepath.Join(c.DataDir, "keys", "codec.key")
	}
	if c.CodecKeyFile, err = filepath.Abs(c.CodecKeyFile); err != nil {
		return fmt.Errorf("codec key file: %w", err)
	}
	if c.SampleDataDir, err = filepath.Abs(c.SampleDataDir); err != nil {
		return fmt.Errorf("sample data: %w", err)
	}
	if len(c.InferencePorts) == 0 {
		return fmt.Errorf("at least one inference port is needed")
	}
	return nil
}

// Addr joins the configured host with a port.
func (c *Config) Addr(port int) string { return net.JoinHostPort(c.Host, strconv.Itoa(port)) }

func parsePorts(s string) ([]int, error) {
	var ports []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("bad port %q", f)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

func envName(flagName string) string {
	return "DURE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func env(flagName, def string) string {
	if v, ok := os.LookupEnv(envName(flagName)); ok {
		return v
	}
	return def
}
