package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/internal/gateway"
	"github.com/dure-platform/dure/internal/inference"
	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/tenantapi"
	"github.com/dure-platform/dure/internal/textclf"
	"github.com/dure-platform/dure/workflows"
)

// MaxUploadBytes bounds one upload through the gateway.
const MaxUploadBytes = 1 << 30

// NewGateway returns the API gateway: classify, routed to the replicas at
// replicaURLs, and the tenant API (uploads as the tenant's own S3 identity,
// datasets, workflow status, decisions, models, tokens, audit trail).
// replicaToken is the bearer token the replicas take classify requests with.
func NewGateway(ctx context.Context, b *Base, tc client.Client, replicaURLs []string, replicaToken string) (http.Handler, error) {
	gw, err := gateway.New(storeAuthenticator{store: b.Store}, replicaURLs, gateway.Options{ReplicaToken: replicaToken},
		b.Metrics, b.Logger.With("component", "gateway"))
	if err != nil {
		return nil, err
	}
	platform, _, err := b.OwnerClient(ctx, OwnerPlatform)
	if err != nil {
		return nil, err
	}
	backend := &tenantAPIBackend{store: b.Store, endpoint: b.S3, platform: platform, registry: registry.New(platform, b.DB),
		temporal: tc, dc: b.Codec.DataConverter()}
	api := tenantapi.New(b.Store, backend, b.Audit, b.Logger.With("component", "tenant-api"), MaxUploadBytes)
	mux := http.NewServeMux()
	mux.Handle("/v1/tenants/", api.Handler())
	mux.Handle("/v1/models", api.Handler())
	mux.Handle("/v1/models/", api.Handler())
	mux.Handle("/", gw.Handler())
	return mux, nil
}

// storeAuthenticator checks gateway bearer tokens against the tenant store.
type storeAuthenticator struct {
	store *tenancy.Store
}

func (a storeAuthenticator) Authenticate(ctx context.Context, token string) (gateway.Principal, error) {
	tok, err := a.store.Authenticate(ctx, token)
	if errors.Is(err, tenancy.ErrUnauthenticated) {
		return gateway.Principal{}, gateway.ErrUnauthenticated
	}
	if err != nil {
		return gateway.Principal{}, err
	}
	return gateway.Principal{Tenant: tok.Tenant, Role: string(tok.Role), TokenID: tok.ID}, nil
}

// DefaultChampionPoll is how often a replica checks whether the champion changed.
const DefaultChampionPoll = 5 * time.Second

// Inference is one running inference replica.
type Inference struct {
	Replica *inference.Replica
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// StartInference makes a replica that loads the registry's champion at once
// (when there is one) and then follows it: whenever the champion alias moves,
// the replica loads the new version, so a replica that was down during a
// promotion, or that restarts, serves the champion without anyone's help.
// Loads through the admin route (promotion's canary) stay until the
// champion next moves.
// clientToken is the gateway's: the only caller the replica classifies for.
func StartInference(ctx context.Context, b *Base, name, adminToken, clientToken string, poll time.Duration) (*Inference, error) {
	platform, _, err := b.OwnerClient(ctx, OwnerPlatform)
	if err != nil {
		return nil, err
	}
	reg := registry.New(platform, b.DB)
	logger := b.Logger.With("component", name)
	rep, err := inference.NewReplica(name, registryLoader{registry: reg}, adminToken, b.Metrics, logger, inference.WithClientToken(clientToken))
	if err != nil {
		return nil, err
	}
	if poll <= 0 {
		poll = DefaultChampionPoll
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	inf := &Inference{Replica: rep, stop: cancel}
	follower := championFollower{registry: reg, replica: rep, logger: logger}
	follower.check(runCtx) // the first load happens before the replica is handed out
	inf.done.Go(func() { follower.run(runCtx, poll) })
	return inf, nil
}

// Close stops following the champion.
func (i *Inference) Close() error {
	i.stop()
	i.done.Wait()
	return nil
}

type championFollower struct {
	registry *registry.Registry
	replica  *inference.Replica
	logger   *slog.Logger
	// seen is the champion version last acted on.
	seen int
}

func (f *championFollower) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.check(ctx)
		}
	}
}

// check loads the champion when it differs from the one last acted on. A
// failed load is retried at the next check.
func (f *championFollower) check(ctx context.Context) {
	v, err := f.registry.Alias(ctx, workflows.AliasChampion)
	if errors.Is(err, registry.ErrNotFound) || (err == nil && v == f.seen) {
		return
	}
	if err != nil {
		f.logger.Warn("read champion", "err", err)
		return
	}
	if f.replica.Version() == v {
		f.seen = v
		return
	}
	if err := f.replica.LoadVersion(ctx, v); err != nil {
		f.logger.Warn("load champion", "version", v, "err", err)
		return
	}
	f.seen = v
	f.logger.Info("serving the champion", "version", v)
}

// registryLoader loads model versions for the inference replicas.
type registryLoader struct {
	registry *registry.Registry
}

func (l registryLoader) LoadModel(ctx context.Context, version int) (inference.Classifier, error) {
	rc, err := l.registry.OpenArtifact(ctx, version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	m, err := textclf.Load(rc)
	if err != nil {
		return nil, fmt.Errorf("load model version %d: %w", version, err)
	}
	return classifier{m}, nil
}

type classifier struct{ m *textclf.Model }

func (c classifier) Classify(title, body string) (string, float64) {
	p := c.m.Predict(title, body)
	return p.Label, p.Score
}
