package devstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3err"

	"github.com/dure-platform/dure/internal/tenancy"
)

// S3Config says where the embedded S3 server keeps objects and listens.
type S3Config struct {
	// RootDir holds one directory per bucket (posix backend, metadata in xattrs).
	RootDir string
	Host    string
	Port    int
	Region  string
	// Root is the platform's administrative identity.
	Root tenancy.S3Credential
	// Identities resolves every other access key, from the platform's records.
	Identities *tenancy.Store
	// Quotas limits bucket sizes; nil enforces none.
	Quotas QuotaSource
}

// S3 is the running embedded S3 server.
type S3 struct {
	endpoint string
	cancel   context.CancelFunc
	done     chan error
}

// Endpoint is host:port for S3 clients.
func (s *S3) Endpoint() string { return s.endpoint }

// StartS3 runs versitygw in-process. Only one may run per process.
//
// posix.New changes the process's working directory to RootDir: callers must have
// made every path absolute before calling it.
func StartS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if err := os.MkdirAll(cfg.RootDir, 0o700); err != nil {
		return nil, fmt.Errorf("create s3 root: %w", err)
	}
	// Objects hold tenants' uploads: readable by this user only. (The file
	// mode is applied as given, whatever the process's umask.)
	opts := posix.PosixOpts{}
	opts.SetNewDirPerm(0o700)
	opts.SetNewFilePerm(0o600)
	posixBackend, err := posix.New(cfg.RootDir, meta.XattrMeta{}, opts)
	if err != nil {
		return nil, fmt.Errorf("s3 posix backend (the data dir's filesystem must support xattrs): %w", err)
	}
	var be backend.Backend = posixBackend
	if cfg.Quotas != nil {
		be = newQuotaBackend(posixBackend, cfg.RootDir, cfg.Quotas)
	}
	endpoint := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	// versitygw binds in the background; check first, so that another server
	// already on the port is not mistaken for ours.
	if err := checkFree(endpoint); err != nil {
		return nil, err
	}
	gwCfg := &embedgw.Config{
		RootUserAccess:    cfg.Root.AccessKey,
		RootUserSecret:    cfg.Root.SecretKey,
		Region:            cfg.Region,
		Ports:             []string{endpoint},
		MaxConnections:    1024,
		MaxRequests:       512,
		MultipartMaxParts: 10000,
		Quiet:             true,
		KeepAlive:         true,
		IAMService:        &storeIAM{root: cfg.Root, store: cfg.Identities},
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &S3{endpoint: endpoint, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := embedgw.RunVersityGW(runCtx, be, gwCfg)
		be.Shutdown()
		s.done <- err
	}()
	waitErr := make(chan error, 1)
	go func() { waitErr <- waitForTCP(ctx, endpoint, 10*time.Second) }()
	select {
	case err := <-s.done:
		cancel()
		return nil, fmt.Errorf("embedded s3 stopped at start: %w", err)
	case err := <-waitErr:
		if err != nil {
			cancel()
			return nil, err
		}
	}
	return s, nil
}

// Stop shuts the server down and waits for it.
func (s *S3) Stop() error {
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("embedded s3 did not stop within 10s")
	}
}

// storeIAM lets versitygw authenticate against the platform's own records, so an
// identity the platform creates or deletes takes effect at once. Changes are made
// through the platform (tenancy.Store), never through the S3 admin API.
type storeIAM struct {
	root  tenancy.S3Credential
	store *tenancy.Store
}

var _ auth.IAMService = (*storeIAM)(nil)

func (i *storeIAM) GetUserAccount(access string) (auth.Account, error) {
	if access == i.root.AccessKey {
		return auth.Account{Access: i.root.AccessKey, Secret: i.root.SecretKey, Role: auth.RoleAdmin}, nil
	}
	// versitygw's interface takes no context; a lookup is one indexed row.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cred, err := i.store.S3CredentialByAccessKey(ctx, access)
	if errors.Is(err, tenancy.ErrNotFound) {
		return auth.Account{}, s3err.GetAPIError(s3err.ErrAdminUserNotFound)
	}
	if err != nil {
		return auth.Account{}, err
	}
	return auth.Account{Access: cred.AccessKey, Secret: cred.SecretKey, Role: auth.Role(cred.Role)}, nil
}

func (i *storeIAM) ResolveAccounts(accessKeyIDs []string) ([]string, error) {
	var missing []string
	for _, id := range accessKeyIDs {
		if _, err := i.GetUserAccount(id); err != nil {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func (i *storeIAM) ListUserAccounts() ([]auth.Account, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	creds, err := i.store.S3Credentials(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]auth.Account, 0, len(creds))
	for _, c := range creds {
		out = append(out, auth.Account{Access: c.AccessKey, Role: auth.Role(c.Role)})
	}
	return out, nil
}

var errManagedByPlatform = s3err.GetAPIError(s3err.ErrAdminMethodNotSupported)

func (i *storeIAM) CreateAccount(auth.Account) error                  { return errManagedByPlatform }
func (i *storeIAM) UpdateUserAccount(string, auth.MutableProps) error { return errManagedByPlatform }
func (i *storeIAM) DeleteUserAccount(string) error                    { return errManagedByPlatform }
func (i *storeIAM) Shutdown() error                                   { return nil }
