package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"
)

// RetrainingInput tunes a scheduled retraining run.
type RetrainingInput struct {
	// SkipPromotion registers the new version without serving it.
	SkipPromotion bool `json:"skip_promotion,omitempty"`
}

// ChampionLineage names the serving version and the datasets behind it.
type ChampionLineage struct {
	Version    int      `json:"version"`
	DatasetIDs []string `json:"dataset_ids"`
}

// RetrainingResult says whether a new version was trained and promoted.
type RetrainingResult struct {
	Skipped     bool     `json:"skipped"`
	Reason      string   `json:"reason,omitempty"`
	NewDatasets []string `json:"new_datasets,omitempty"`
	Version     int      `json:"version,omitempty"`
	Promoted    bool     `json:"promoted"`
}

// RetrainingScheduleID is the Temporal Schedule that starts Retraining.
const RetrainingScheduleID = "dure-retraining"

// Retraining, started by a Temporal Schedule, trains only when approved data
// exists that the champion was not trained on, then hands the new version to
// ModelPromotion.
func Retraining(ctx workflow.Context, in RetrainingInput) (RetrainingResult, error) {
	actx := shortActivity(ctx, TaskQueueControlPlane)
	var datasets []Dataset
	if err := workflow.ExecuteActivity(actx, ActivityListDatasets, []string(nil)).Get(ctx, &datasets); err != nil {
		return RetrainingResult{}, fmt.Errorf("list datasets: %w", err)
	}
	var champion ChampionLineage
	if err := workflow.ExecuteActivity(actx, ActivityChampionLineage).Get(ctx, &champion); err != nil {
		return RetrainingResult{}, fmt.Errorf("champion lineage: %w", err)
	}
	var fresh []string
	for _, d := range datasets {
		if !slices.Contains(champion.DatasetIDs, d.DatasetID) {
			fresh = append(fresh, d.DatasetID)
		}
	}
	if len(fresh) == 0 {
		return RetrainingResult{Skipped: true, Reason: fmt.Sprintf("no approved data newer than champion v%d", champion.Version)}, nil
	}

	info := workflow.GetInfo(ctx)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: "training-" + info.WorkflowExecution.ID})
	var trained TrainingResult
	if err := workflow.ExecuteChildWorkflow(cctx, Training, TrainingInput{}).Get(ctx, &trained); err != nil {
		return RetrainingResult{}, fmt.Errorf("training: %w", err)
	}
	res := RetrainingResult{NewDatasets: fresh, Version: trained.Version}
	if in.SkipPromotion {
		return res, nil
	}
	pctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ModelPromotionID(trained.Version)})
	if err := workflow.ExecuteChildWorkflow(pctx, ModelPromotion, ModelPromotionInput{Version: trained.Version}).Get(ctx, nil); err != nil {
		return res, fmt.Errorf("promotion of v%d: %w", trained.Version, err)
	}
	res.Promoted = true
	return res, nil
}
