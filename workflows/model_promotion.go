package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ModelPromotionInput names the version to serve.
type ModelPromotionInput struct {
	Version int `json:"version"`
}

// LoadModelInput asks one inference replica to load a version.
type LoadModelInput struct {
	Replica string `json:"replica"`
	Version int    `json:"version"`
}

// SetAliasInput points a registry alias at a version.
type SetAliasInput struct {
	Alias   string `json:"alias"`
	Version int    `json:"version"`
}

// ModelPromotionResult lists the replicas now serving the version.
type ModelPromotionResult struct {
	Version  int      `json:"version"`
	Replicas []string `json:"replicas"`
	Alias    string   `json:"alias"`
}

// AliasChampion names the version every replica serves.
const AliasChampion = "champion"

// ModelPromotion loads a registered version into every inference replica, one at
// a time so the others keep serving, then makes it the champion.
func ModelPromotion(ctx workflow.Context, in ModelPromotionInput) (ModelPromotionResult, error) {
	if in.Version < 1 {
		return ModelPromotionResult{}, temporal.NewNonRetryableApplicationError("version must be >= 1", ErrBadInput, nil)
	}
	actx := shortActivity(ctx, TaskQueueControlPlane)
	var replicas []string
	if err := workflow.ExecuteActivity(actx, ActivityListReplicas).Get(ctx, &replicas); err != nil {
		return ModelPromotionResult{}, fmt.Errorf("list replicas: %w", err)
	}
	for _, r := range replicas {
		if err := workflow.ExecuteActivity(actx, ActivityLoadModelVersion, LoadModelInput{Replica: r, Version: in.Version}).Get(ctx, nil); err != nil {
			return ModelPromotionResult{}, fmt.Errorf("load version %d on %s: %w", in.Version, r, err)
		}
	}
	if err := workflow.ExecuteActivity(actx, ActivitySetModelAlias, SetAliasInput{Alias: AliasChampion, Version: in.Version}).Get(ctx, nil); err != nil {
		return ModelPromotionResult{}, fmt.Errorf("set champion: %w", err)
	}
	return ModelPromotionResult{Version: in.Version, Replicas: replicas, Alias: AliasChampion}, nil
}
