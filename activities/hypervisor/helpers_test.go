package hypervisor

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// inCI: CI=true turns every "tool or daemon missing" skip into a failure,
// so CI cannot pass by testing nothing.
func inCI() bool { return os.Getenv("CI") == "true" }

func loud(format string, args ...any) string {
	bar := strings.Repeat("!", 78)
	return fmt.Sprintf("\n%s\n!! %s\n%s", bar, fmt.Sprintf(format, args...), bar)
}

// nodeFilePath is the GPU host the test driver serves.
func nodeFilePath(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "infra", "libvirt", "test-node-gpus.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testURI opens the daemon's test driver on the node file. A custom-file URI
// gives each connection private state: tests cannot see each other.
func testURI(t testing.TB) string { return "test://" + nodeFilePath(t) }

// nodeDevices reads the node file's devices, for tests without a daemon.
func nodeDevices(t testing.TB) []libvirtxml.NodeDevice {
	t.Helper()
	raw, err := os.ReadFile(nodeFilePath(t))
	if err != nil {
		t.Fatal(err)
	}
	var node struct {
		Devices []libvirtxml.NodeDevice `xml:"device"`
	}
	if err := xml.Unmarshal(raw, &node); err != nil {
		t.Fatal(err)
	}
	return node.Devices
}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// requireDaemon skips (or, in CI, fails) when libvirtd does not answer.
func requireDaemon(t testing.TB, err error) {
	t.Helper()
	if err == nil || !errors.Is(err, ErrLibvirtUnavailable) {
		return
	}
	msg := loud("LIBVIRTD NOT RUNNING: hypervisor tests against the daemon are SKIPPED (%v). "+
		"Start it with infra/libvirt/up.sh; CI=true makes this a failure.", err)
	if inCI() {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, msg)
	t.Skip(msg)
}

// dialTest connects to libvirtd's test driver with a fresh GPU host. On
// cleanup it checks that the test left no domain and no network behind, and
// validates every document the adapter sent against libvirt's schemas.
func dialTest(t testing.TB) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{URI: testURI(t), Logger: testLogger(t)})
	requireDaemon(t, err)
	if err != nil {
		t.Fatalf("dial %s: %v", testURI(t), err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	t.Cleanup(func() {
		if !t.Failed() {
			assertHostEmpty(t, c)
		}
	})
	validateGenerated(t, c)
	return c
}

// validateGenerated checks, at cleanup, every document c sent to libvirt
// against libvirt's schemas.
func validateGenerated(t testing.TB, c *Conn) {
	var mu sync.Mutex
	docs := map[string]string{} // doc -> kind; a map drops repeats
	c.observeXML = func(kind, doc string) {
		mu.Lock()
		defer mu.Unlock()
		docs[doc] = kind
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for doc, kind := range docs {
			validateXMLOrLog(t, kind, doc)
		}
		t.Logf("checked %d generated documents against libvirt's schemas", len(docs))
	})
}

// assertHostEmpty: cleanup leaves nothing.
func assertHostEmpty(t testing.TB, c *Conn) {
	t.Helper()
	doms, nets := objectNames(t, c)
	if len(doms)+len(nets) > 0 {
		t.Errorf("left behind: domains %v, networks %v", doms, nets)
	}
}

func objectNames(t testing.TB, c *Conn) (doms, nets []string) {
	t.Helper()
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		ds, _, err := lv.ConnectListAllDomains(1, 0)
		if err != nil {
			return err
		}
		for _, d := range ds {
			doms = append(doms, d.Name)
		}
		ns, _, err := lv.ConnectListAllNetworks(1, 0)
		if err != nil {
			return err
		}
		for _, n := range ns {
			nets = append(nets, n.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list objects: %v", err)
	}
	slices.Sort(doms)
	slices.Sort(nets)
	return doms, nets
}

func validatorPath(t testing.TB) (string, bool) {
	t.Helper()
	p, err := exec.LookPath("virt-xml-validate")
	if err == nil {
		return p, true
	}
	msg := loud("virt-xml-validate NOT FOUND: generated libvirt XML is NOT validated against libvirt's schemas. " +
		"Install libvirt-clients and libxml2-utils (infra/libvirt/up.sh does); CI=true makes this a failure.")
	if inCI() {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, msg)
	t.Log(msg)
	return "", false
}

// validateXML checks doc against libvirt's schema for kind ("domain",
// "network", "nodedev"); skips the test when the validator is missing.
func validateXML(t testing.TB, kind, doc string) {
	t.Helper()
	if _, ok := validatorPath(t); !ok {
		t.SkipNow()
	}
	runValidator(t, kind, doc)
}

// validateXMLOrLog is validateXML for cleanups, where skipping is too late.
func validateXMLOrLog(t testing.TB, kind, doc string) {
	t.Helper()
	if _, ok := validatorPath(t); ok {
		runValidator(t, kind, doc)
	}
}

func runValidator(t testing.TB, kind, doc string) {
	t.Helper()
	f, err := os.CreateTemp("", "dure-"+kind+"-*.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(doc); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command("virt-xml-validate", f.Name(), kind).CombinedOutput()
	if err != nil {
		t.Errorf("virt-xml-validate %s: %v\n%s\n--- document ---\n%s", kind, err, out, doc)
	}
}

// rawDefine puts objects on the host behind the adapter's back, as an
// operator or another tool would.
func rawDefineDomain(t testing.TB, c *Conn, doc string, start bool) {
	t.Helper()
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		d, err := lv.DomainDefineXML(doc)
		if err != nil {
			return err
		}
		if start {
			return lv.DomainCreate(d)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("define domain behind the adapter's back: %v", err)
	}
}

func rawRemoveDomain(t testing.TB, c *Conn, name string) {
	t.Helper()
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		d, err := lv.DomainLookupByName(name)
		if err != nil {
			return err
		}
		_ = lv.DomainDestroy(d)
		return lv.DomainUndefine(d)
	})
	if err != nil {
		t.Fatalf("remove domain %s: %v", name, err)
	}
}

func rawDefineNetwork(t testing.TB, c *Conn, doc string) {
	t.Helper()
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		n, err := lv.NetworkDefineXML(doc)
		if err != nil {
			return err
		}
		return lv.NetworkCreate(n)
	})
	if err != nil {
		t.Fatalf("define network behind the adapter's back: %v", err)
	}
}

func rawRemoveNetwork(t testing.TB, c *Conn, name string) {
	t.Helper()
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		n, err := lv.NetworkLookupByName(name)
		if err != nil {
			return err
		}
		_ = lv.NetworkDestroy(n)
		return lv.NetworkUndefine(n)
	})
	if err != nil {
		t.Fatalf("remove network %s: %v", name, err)
	}
}

func domainDoc(t testing.TB, c *Conn, name string) *libvirtxml.Domain {
	t.Helper()
	var def libvirtxml.Domain
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		d, err := lv.DomainLookupByName(name)
		if err != nil {
			return err
		}
		doc, err := lv.DomainGetXMLDesc(d, 0)
		if err != nil {
			return err
		}
		return def.Unmarshal(doc)
	})
	if err != nil {
		t.Fatalf("read domain %s: %v", name, err)
	}
	return &def
}

func networkDoc(t testing.TB, c *Conn, name string) (*libvirtxml.Network, string) {
	t.Helper()
	var def libvirtxml.Network
	var raw string
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		n, err := lv.NetworkLookupByName(name)
		if err != nil {
			return err
		}
		raw, err = lv.NetworkGetXMLDesc(n, 0)
		if err != nil {
			return err
		}
		return def.Unmarshal(raw)
	})
	if err != nil {
		t.Fatalf("read network %s: %v", name, err)
	}
	return &def, raw
}

func portgroupVLANs(def *libvirtxml.Network) map[string][]int {
	out := map[string][]int{}
	for _, pg := range def.PortGroups {
		out[pg.Name] = vlanTags(pg.VLAN)
	}
	return out
}

func domainState(t testing.TB, c *Conn, name string) libvirt.DomainState {
	t.Helper()
	var state int32
	err := c.withClient(context.Background(), func(lv *libvirt.Libvirt) error {
		d, err := lv.DomainLookupByName(name)
		if err != nil {
			return err
		}
		state, _, err = lv.DomainGetState(d, 0)
		return err
	})
	if err != nil {
		t.Fatalf("state of %s: %v", name, err)
	}
	return libvirt.DomainState(state)
}
