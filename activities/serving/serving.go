// Package serving loads registered model versions into the inference replicas.
package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/workflows"
)

// Activities knows the replicas' admin endpoints and the registry.
type Activities struct {
	// Replicas maps a replica's name to its base URL.
	Replicas   map[string]string
	AdminToken string
	Registry   *registry.Registry
	HTTP       *http.Client
}

// ListReplicas returns the replica names in a stable order.
func (a *Activities) ListReplicas(context.Context) ([]string, error) {
	names := make([]string, 0, len(a.Replicas))
	for n := range a.Replicas {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// LoadModelVersion asks one replica to load a version and waits for its answer.
func (a *Activities) LoadModelVersion(ctx context.Context, in workflows.LoadModelInput) error {
	base, ok := a.Replicas[in.Replica]
	if !ok {
		return temporal.NewNonRetryableApplicationError("unknown replica "+in.Replica, workflows.ErrBadInput, nil)
	}
	body, _ := json.Marshal(map[string]int{"version": in.Version})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/admin/model", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	client := a.HTTP
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("load model on %s: %w", in.Replica, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("load model on %s: %s: %s", in.Replica, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// SetModelAlias points an alias at a version.
func (a *Activities) SetModelAlias(ctx context.Context, in workflows.SetAliasInput) error {
	return a.Registry.SetAlias(ctx, in.Alias, in.Version)
}
