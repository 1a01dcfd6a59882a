// Package demo walks the platform's whole flow through real workflows: onboard
// the pilot tenants, upload and ingest their sample complaints, train, promote,
// and classify one complaint through the gateway.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dure-platform/dure/activities/identity"
	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/workflows"
)

// Tenant is one pilot municipality and its sample file.
type Tenant struct {
	ID          string
	DisplayName string
	SampleFile  string
	VGPUQuota   int
}

// PilotTenants are the three municipalities of the pilot.
var PilotTenants = []Tenant{
	{ID: "suwon", DisplayName: "수원시", SampleFile: "suwon.jsonl", VGPUQuota: 10},
	{ID: "seongnam", DisplayName: "성남시", SampleFile: "seongnam.jsonl", VGPUQuota: 10},
	{ID: "yongin", DisplayName: "용인시", SampleFile: "yongin.jsonl", VGPUQuota: 8},
}

// Runner holds what the demo drives.
type Runner struct {
	Temporal client.Client
	// Operator is the client the demo decides batches with: an operator's,
	// whom history and the audit log record as the approver.
	Operator   client.Client
	Store      *tenancy.Store
	S3         objstore.Endpoint
	GatewayURL string
	SampleDir  string
	// TokenDir is where onboarding wrote the tenants' tokens.
	TokenDir string
	Logger   *slog.Logger
	// PollInterval is how often the demo asks a workflow whether it waits for approval.
	PollInterval time.Duration
}

// Classified is the gateway's answer for the sample complaint.
type Classified struct {
	Department string  `json:"department"`
	Score      float64 `json:"score"`
}

// Summary is the demo's result, printed as the last line of `dure dev --demo --exit-after-demo`.
type Summary struct {
	Tenants         int        `json:"tenants"`
	RecordsRead     int        `json:"records_read"`
	RecordsApproved int        `json:"records_approved"`
	RecordsRejected int        `json:"records_rejected"`
	ModelVersion    int        `json:"model_version"`
	HoldoutMacroF1  float64    `json:"holdout_macro_f1"`
	Classified      Classified `json:"classified"`
}

// SampleComplaint is what the demo sends to the gateway.
var SampleComplaint = map[string]string{
	"title": "초등학교 앞 통학로에 신호등과 과속방지턱을 설치해 주세요",
	"body":  "아이들이 매일 건너는 초등학교 앞 횡단보도에 신호등이 없어 차량이 속도를 줄이지 않습니다. 통학 시간마다 사고가 날 뻔한 일이 반복되고 있습니다. 신호등과 과속방지턱 설치를 요청합니다.",
}

// Run walks the whole flow.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	var sum Summary
	for _, t := range PilotTenants {
		if err := r.onboard(ctx, t); err != nil {
			return sum, err
		}
		sum.Tenants++
	}
	var datasets []string
	for _, t := range PilotTenants {
		res, err := r.ingest(ctx, t)
		if err != nil {
			return sum, err
		}
		sum.RecordsRead += res.Screen.RecordsRead
		sum.RecordsRejected += res.Screen.RecordsRejected
		if res.Decision == workflows.DecisionApproved && res.Dataset != nil {
			sum.RecordsApproved += res.Screen.RecordsAccepted
			datasets = append(datasets, res.Dataset.DatasetID)
		}
	}
	trained, err := r.train(ctx, datasets)
	if err != nil {
		return sum, err
	}
	sum.ModelVersion, sum.HoldoutMacroF1 = trained.Version, trained.Metrics.HoldoutMacroF1
	if err := r.promote(ctx, trained.Version); err != nil {
		return sum, err
	}
	sum.Classified, err = r.classify(ctx, PilotTenants[0].ID)
	return sum, err
}

func (r *Runner) onboard(ctx context.Context, t Tenant) error {
	var res workflows.TenantOnboardingResult
	err := r.execute(ctx, workflows.TenantOnboardingID(t.ID), workflows.TypeTenantOnboarding,
		workflows.TenantOnboardingInput{TenantID: t.ID, DisplayName: t.DisplayName, VGPUQuota: t.VGPUQuota}, &res)
	if err != nil {
		return fmt.Errorf("onboard %s: %w", t.ID, err)
	}
	files := make([]string, len(res.Tokens))
	for i, tok := range res.Tokens {
		files[i] = tok.TokenFile
	}
	r.Logger.Info("tenant onboarded", "tenant", t.ID, "bucket", res.Bucket, "s3_access_key", res.S3AccessKey,
		"vlan", res.VLAN, "token_files", files)
	return nil
}

// Upload puts a tenant's sample file into its bucket with the tenant's own credentials.
func (r *Runner) Upload(ctx context.Context, t Tenant) (string, error) {
	cred, err := r.Store.S3CredentialFor(ctx, t.ID)
	if err != nil {
		return "", err
	}
	c, err := objstore.Client(r.S3, cred.AccessKey, cred.SecretKey)
	if err != nil {
		return "", err
	}
	key := "uploads/" + t.SampleFile
	path := filepath.Join(r.SampleDir, t.SampleFile)
	info, err := c.FPutObject(ctx, objstore.TenantBucket(t.ID), key, path, minio.PutObjectOptions{ContentType: "application/x-ndjson"})
	if err != nil {
		return "", fmt.Errorf("upload %s as %s: %w", path, t.ID, err)
	}
	r.Logger.Info("sample complaints uploaded", "tenant", t.ID, "bucket", info.Bucket, "key", key, "bytes", info.Size)
	return key, nil
}

func (r *Runner) ingest(ctx context.Context, t Tenant) (workflows.DataIngestionResult, error) {
	key, err := r.Upload(ctx, t)
	if err != nil {
		return workflows.DataIngestionResult{}, err
	}
	id := workflows.DataIngestionID(t.ID, key)
	run, err := r.Temporal.ExecuteWorkflow(ctx, startOptions(id), workflows.TypeDataIngestion, workflows.DataIngestionInput{TenantID: t.ID, ObjectKey: key})
	if err != nil {
		return workflows.DataIngestionResult{}, fmt.Errorf("start ingestion for %s: %w", t.ID, err)
	}
	state, err := r.awaitApprovalStage(ctx, id, run.GetRunID())
	if err != nil {
		return workflows.DataIngestionResult{}, err
	}
	if state.Stage == workflows.StageAwaitingApproval {
		r.Logger.Info("demo mode: approving the batch on the operator's behalf (without --demo an operator decides in the UI or CLI)",
			"tenant", t.ID, "workflow_id", id, "accepted", state.Screen.RecordsAccepted, "rejected", state.Screen.RecordsRejected)
		err = r.Operator.SignalWorkflow(ctx, id, run.GetRunID(), workflows.SignalApprove,
			workflows.Decision{Approve: true, Reason: "approved by dure dev --demo"})
		if err != nil {
			return workflows.DataIngestionResult{}, fmt.Errorf("approve %s: %w", id, err)
		}
	}
	var res workflows.DataIngestionResult
	if err := run.Get(ctx, &res); err != nil {
		return res, fmt.Errorf("ingestion for %s: %w", t.ID, err)
	}
	r.Logger.Info("ingestion finished", "tenant", t.ID, "decision", res.Decision, "read", res.Screen.RecordsRead,
		"accepted", res.Screen.RecordsAccepted, "rejected", res.Screen.RecordsRejected, "pii_masked", res.Screen.PIIMasked)
	return res, nil
}

// awaitApprovalStage polls the workflow's status query until screening is over.
func (r *Runner) awaitApprovalStage(ctx context.Context, id, runID string) (workflows.IngestionState, error) {
	interval := r.PollInterval
	if interval == 0 {
		interval = 200 * time.Millisecond
	}
	return AwaitScreened(ctx, r.Temporal, id, runID, interval, nil)
}

// AwaitScreened polls a DataIngestion run's status query every interval
// until screening is over (the batch awaits a decision, or is done), and
// calls progress (when set) with each state seen before that.
func AwaitScreened(ctx context.Context, tc client.Client, id, runID string, interval time.Duration, progress func(workflows.IngestionState)) (workflows.IngestionState, error) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		resp, err := tc.QueryWorkflow(ctx, id, runID, workflows.QueryIngestionState)
		if err != nil {
			return workflows.IngestionState{}, fmt.Errorf("query %s: %w", id, err)
		}
		var st workflows.IngestionState
		if err := resp.Get(&st); err != nil {
			return st, err
		}
		if st.Stage != workflows.StageScreening {
			return st, nil
		}
		if progress != nil {
			progress(st)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-ticker.C:
		}
	}
}

// train trains on the demo's datasets, under the ID of that intent: a demo
// started again after a crash attaches to the training in progress, or takes
// the version it registered, and never trains a second model.
func (r *Runner) train(ctx context.Context, datasets []string) (workflows.TrainingResult, error) {
	var res workflows.TrainingResult
	in := workflows.TrainingInput{DatasetIDs: datasets}
	if err := r.execute(ctx, workflows.TrainingID(in), workflows.TypeTraining, in, &res); err != nil {
		return res, fmt.Errorf("training: %w", err)
	}
	r.Logger.Info("model registered", "version", res.Version, "holdout_macro_f1", res.Metrics.HoldoutMacroF1,
		"holdout_accuracy", res.Metrics.HoldoutAccuracy, "datasets", len(res.Datasets))
	return res, nil
}

func (r *Runner) promote(ctx context.Context, version int) error {
	var res workflows.ModelPromotionResult
	id := workflows.ModelPromotionID(version)
	if err := r.execute(ctx, id, workflows.TypeModelPromotion, workflows.ModelPromotionInput{Version: version}, &res); err != nil {
		return fmt.Errorf("promotion: %w", err)
	}
	r.Logger.Info("model promoted", "version", res.Version, "replicas", res.Replicas, "alias", res.Alias)
	return nil
}

func (r *Runner) execute(ctx context.Context, id, workflow string, in, out any) error {
	run, err := r.Temporal.ExecuteWorkflow(ctx, startOptions(id), workflow, in)
	if err != nil {
		return err
	}
	return run.Get(ctx, out)
}

// startOptions make a demo started again after an interruption pick up
// where it was: a run still going is attached to, a finished one is the
// answer, and only a failed one runs again.
func startOptions(id string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueueControlPlane,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	}
}

// ReadToken reads the token file the onboarding wrote for a tenant.
func ReadToken(tokenDir, tenantID string) (string, error) {
	raw, err := os.ReadFile(identity.TokenFile(tokenDir, tenantID, string(tenancy.RoleTenantClient)))
	if err != nil {
		return "", fmt.Errorf("read %s's token: %w", tenantID, err)
	}
	return strings.TrimSpace(string(raw)), nil
}

var errGateway = errors.New("gateway refused the request")

func (r *Runner) classify(ctx context.Context, tenantID string) (Classified, error) {
	token, err := ReadToken(r.TokenDir, tenantID)
	if err != nil {
		return Classified{}, err
	}
	body, _ := json.Marshal(SampleComplaint)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.GatewayURL+"/v1/classify", bytes.NewReader(body))
	if err != nil {
		return Classified{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Classified{}, fmt.Errorf("classify: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return Classified{}, fmt.Errorf("%w: %s: %s", errGateway, resp.Status, raw)
	}
	var c Classified
	if err := json.Unmarshal(raw, &c); err != nil {
		return Classified{}, fmt.Errorf("decode gateway answer: %w", err)
	}
	r.Logger.Info("sample complaint classified through the gateway", "tenant", tenantID, "department", c.Department, "score", c.Score)
	return c, nil
}
