package cephadmin

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Where infra/ceph/up.sh's env file is found: the path in $DURE_CEPH_ENV, or
// DefaultEnvFile, where .ci/ceph.sh boots the CI cluster.
const (
	EnvFileVar     = "DURE_CEPH_ENV"
	DefaultEnvFile = "/tmp/dure-ceph/dure-ceph.env"
)

// Env is the connection information infra/ceph/up.sh writes to
// DIR/dure-ceph.env.
type Env struct {
	CephConf       string // CEPH_CONF
	Dir            string // DURE_CEPH_DIR
	RGWEndpoint    string // DURE_CEPH_RGW_ENDPOINT, e.g. http://127.0.0.1:7480
	RGWName        string // DURE_CEPH_RGW_NAME, e.g. client.rgw.gw
	AdminUID       string // DURE_CEPH_ADMIN_UID
	AdminAccessKey string // DURE_CEPH_ADMIN_ACCESS_KEY
	AdminSecretKey string // DURE_CEPH_ADMIN_SECRET_KEY
}

// String leaves the secret key out.
func (e Env) String() string {
	return fmt.Sprintf("Env{CephConf:%s, RGWEndpoint:%s, AdminUID:%s, AdminAccessKey:%s, AdminSecretKey:<redacted>}",
		e.CephConf, e.RGWEndpoint, e.AdminUID, e.AdminAccessKey)
}

func (e Env) GoString() string { return e.String() }

// EnvFilePath returns $DURE_CEPH_ENV, or DefaultEnvFile when it is unset.
func EnvFilePath() string {
	if p := os.Getenv(EnvFileVar); p != "" {
		return p
	}
	return DefaultEnvFile
}

// LoadEnv reads an env file: KEY=VALUE lines, optionally prefixed with
// "export " and quoted; blank lines and # comments are skipped.
func LoadEnv(path string) (Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Env{}, fmt.Errorf("ceph env: %w", err)
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		if !ok {
			return Env{}, fmt.Errorf("ceph env: %s:%d: want KEY=VALUE", path, line)
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[strings.TrimSpace(k)] = v
	}
	if err := sc.Err(); err != nil {
		return Env{}, fmt.Errorf("ceph env: %s: %w", path, err)
	}
	e := Env{
		CephConf:       vars["CEPH_CONF"],
		Dir:            vars["DURE_CEPH_DIR"],
		RGWEndpoint:    vars["DURE_CEPH_RGW_ENDPOINT"],
		RGWName:        vars["DURE_CEPH_RGW_NAME"],
		AdminUID:       vars["DURE_CEPH_ADMIN_UID"],
		AdminAccessKey: vars["DURE_CEPH_ADMIN_ACCESS_KEY"],
		AdminSecretKey: vars["DURE_CEPH_ADMIN_SECRET_KEY"],
	}
	var missing []string
	for name, v := range map[string]string{
		"CEPH_CONF": e.CephConf, "DURE_CEPH_RGW_ENDPOINT": e.RGWEndpoint,
		"DURE_CEPH_ADMIN_ACCESS_KEY": e.AdminAccessKey, "DURE_CEPH_ADMIN_SECRET_KEY": e.AdminSecretKey,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Env{}, fmt.Errorf("ceph env: %s lacks %s", path, strings.Join(missing, ", "))
	}
	return e, nil
}

// Runner returns an ExecRunner pointed at the env's cluster.
func (e Env) Runner() ExecRunner {
	return ExecRunner{Env: []string{"CEPH_CONF=" + e.CephConf}}
}

// Open returns an Admin Ops client and a Cluster for the env's cluster. The
// Cluster restarts the local gateway (LocalRGW) when the env names one and
// the cluster has no realm.
func (e Env) Open(logger *slog.Logger) (*AdminOps, *Cluster, error) {
	admin, err := NewAdminOps(AdminOpsConfig{
		Endpoint:  e.RGWEndpoint,
		AccessKey: e.AdminAccessKey,
		SecretKey: e.AdminSecretKey,
		Logger:    logger,
	})
	if err != nil {
		return nil, nil, err
	}
	cfg := ClusterConfig{Runner: e.Runner(), Logger: logger}
	if e.RGWName != "" {
		cfg.RGW = &LocalRGW{Name: e.RGWName, Runner: e.Runner(), Endpoint: e.RGWEndpoint, Logger: logger}
	}
	cluster, err := NewCluster(cfg)
	if err != nil {
		return nil, nil, err
	}
	return admin, cluster, nil
}

// Buckets returns an RGWBuckets for the env's gateway.
func (e Env) Buckets(logger *slog.Logger) (*RGWBuckets, error) {
	return NewRGWBuckets(e.RGWEndpoint, nil, logger)
}
