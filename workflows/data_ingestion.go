package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/internal/roles"
)

// Signal, update and query names of DataIngestion.
const (
	SignalApprove       = "approve"
	SignalReject        = "reject"
	UpdateDecide        = "decide"
	QueryIngestionState = "status"
)

// changeAuthenticatedDecider marks the runs whose decisions are recorded as
// their authenticated sender's.
const changeAuthenticatedDecider = "authenticated-decider"

// Batch decisions.
const (
	DecisionPending  = "pending"
	DecisionApproved = "approved"
	DecisionRejected = "rejected"
	DecisionExpired  = "expired"
)

// DataIngestionInput names one uploaded object in a tenant's bucket.
type DataIngestionInput struct {
	TenantID  string `json:"tenant_id"`
	ObjectKey string `json:"object_key"`
	// ApprovalTimeoutSeconds overrides the platform's default wait for a decision.
	ApprovalTimeoutSeconds int `json:"approval_timeout_seconds,omitempty"`
	// RejectBelowScore refuses a batch whose quality score is lower, without
	// asking an operator (default DefaultRejectBelowScore).
	RejectBelowScore float64 `json:"reject_below_score,omitempty"`
}

// DefaultRejectBelowScore is the quality score under which a batch is refused.
const DefaultRejectBelowScore = 50

// ScreenUploadInput asks the quality gate to validate and mask one upload.
type ScreenUploadInput struct {
	TenantID  string `json:"tenant_id"`
	ObjectKey string `json:"object_key"`
	BatchID   string `json:"batch_id"`
}

// ScreenResult has counts only, never record text.
type ScreenResult struct {
	BatchID          string         `json:"batch_id"`
	SourceSHA256     string         `json:"source_sha256"`
	RecordsRead      int            `json:"records_read"`
	RecordsAccepted  int            `json:"records_accepted"`
	RecordsRejected  int            `json:"records_rejected"`
	RejectedByReason map[string]int `json:"rejected_by_reason,omitempty"`
	// DuplicatesOfApproved counts the rejected records (DUPLICATE or
	// NEAR_DUPLICATE) that copy a record of the tenant's approved datasets.
	DuplicatesOfApproved int            `json:"duplicates_of_approved,omitempty"`
	PIIMasked            map[string]int `json:"pii_masked,omitempty"`
	StagedKey            string         `json:"staged_key"`
	QuarantineKey        string         `json:"quarantine_key,omitempty"`
	Encoding             string         `json:"encoding"`
	Quality              QualityScore   `json:"quality"`
}

// The rejection reasons of copies (internal/validate's codes, which
// workflows may not import).
const (
	reasonDuplicate     = "DUPLICATE"
	reasonNearDuplicate = "NEAR_DUPLICATE"
)

// QualityScore is the batch score (0-100) and its parts (0-1); the formula is in
// internal/validate and docs/quality-gate.md.
type QualityScore struct {
	Score        float64 `json:"score"`
	Validity     float64 `json:"validity"`
	Uniqueness   float64 `json:"uniqueness"`
	LabelBalance float64 `json:"label_balance"`
	PIICleanness float64 `json:"pii_cleanness"`
}

// Decision is an operator's verdict on a batch, from the UI (signal) or the
// gateway and the operator CLI (update). Who decided never comes from the
// decision's own words: the Temporal frontend names the caller it
// authenticated, and the worker's DecisionSenders writes it into Sender. Only
// the gateway, which authenticated an operator's token itself, names that
// operator in Operator.
type Decision struct {
	Approve bool   `json:"approve"`
	Reason  string `json:"reason,omitempty"`
	// Operator is the operator the gateway vouches for; from anyone else it
	// is ignored.
	Operator string `json:"operator,omitempty"`
	// Sender is the caller the frontend authenticated; whatever a client
	// writes here is replaced.
	Sender string `json:"sender,omitempty"`
}

// PublishDatasetInput promotes an approved batch into ai-training.
type PublishDatasetInput struct {
	TenantID     string `json:"tenant_id"`
	SourceKey    string `json:"source_key"`
	SourceSHA256 string `json:"source_sha256"`
	StagedKey    string `json:"staged_key"`
	Records      int    `json:"records"`
	Approver     string `json:"approver"`
}

// Dataset is an immutable, versioned training dataset.
type Dataset struct {
	DatasetID   string `json:"dataset_id"`
	TenantID    string `json:"tenant_id"`
	DataKey     string `json:"data_key"`
	ManifestKey string `json:"manifest_key"`
	Records     int    `json:"records"`
}

// DecisionAudit records an operator's decision (or the deadline's) in the audit log.
type DecisionAudit struct {
	TenantID   string `json:"tenant_id"`
	WorkflowID string `json:"workflow_id"`
	Decision   string `json:"decision"`
	Operator   string `json:"operator,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Records    int    `json:"records"`
}

// DataIngestionResult reports counts and the decision.
type DataIngestionResult struct {
	Screen   ScreenResult `json:"screen"`
	Decision string       `json:"decision"`
	Operator string       `json:"operator,omitempty"`
	Reason   string       `json:"reason,omitempty"`
	Dataset  *Dataset     `json:"dataset,omitempty"`
}

// IngestionState is what the status query answers.
type IngestionState struct {
	Stage    string        `json:"stage"`
	Screen   *ScreenResult `json:"screen,omitempty"`
	Decision string        `json:"decision"`
	Deadline time.Time     `json:"deadline,omitzero"`
}

// DefaultApprovalTimeout applies when the input sets no approval timeout.
const DefaultApprovalTimeout = 72 * time.Hour

// Stages of an ingestion, as the status query reports them.
const (
	StageScreening        = "screening"
	StageAwaitingApproval = "awaiting-approval"
	StagePublishing       = "publishing"
	StageDone             = "done"
)

// DataIngestion screens one upload (validate, score, mask, stage, quarantine),
// waits for an operator's decision, and on approval publishes the batch as a
// dataset. Counts must reconcile: read = accepted + rejected.
func DataIngestion(ctx workflow.Context, in DataIngestionInput) (DataIngestionResult, error) {
	ing, err := setupIngestion(ctx, in)
	if err != nil {
		return DataIngestionResult{}, err
	}
	return ing.run(ctx)
}

// ingestion is one run of DataIngestion: its input, what the status query
// answers, and the decision once an operator made it.
type ingestion struct {
	in     DataIngestionInput
	state  IngestionState
	logger log.Logger
	// decision is the first valid decision; nil until then.
	decision *Decision
	// authenticated is false in runs started before decisions carried an
	// authenticated sender.
	authenticated bool
}

// setupIngestion checks the input and registers the status query, the
// decide update and the approve and reject signals before anything blocks,
// so that no call finds the workflow without its handler.
func setupIngestion(ctx workflow.Context, in DataIngestionInput) (*ingestion, error) {
	if in.TenantID == "" || in.ObjectKey == "" {
		return nil, temporal.NewNonRetryableApplicationError("tenant_id and object_key are required", ErrBadInput, nil)
	}
	ing := &ingestion{
		in:     in,
		state:  IngestionState{Stage: StageScreening, Decision: DecisionPending},
		logger: log.With(workflow.GetLogger(ctx), "tenant", in.TenantID, "object_key", in.ObjectKey),
	}
	ing.authenticated = workflow.GetVersion(ctx, changeAuthenticatedDecider, workflow.DefaultVersion, 1) == 1
	if err := workflow.SetQueryHandler(ctx, QueryIngestionState, func() (IngestionState, error) { return ing.state, nil }); err != nil {
		return nil, err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide,
		func(ctx workflow.Context, d Decision) (string, error) {
			if err := d.validate(ing.authenticated); err != nil {
				return "", err
			}
			ing.accept(d)
			return ing.state.Decision, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d Decision) error {
			if err := ing.open(); err != nil {
				return err
			}
			return d.validate(ing.authenticated)
		}},
	)
	if err != nil {
		return nil, err
	}
	ing.listen(ctx, SignalApprove, true)
	ing.listen(ctx, SignalReject, false)
	if err := tagTenant(ctx, in.TenantID); err != nil {
		return nil, err
	}
	return ing, nil
}

// open says why the batch takes no decision now, or nil when it does.
func (ing *ingestion) open() error {
	switch {
	case ing.decision != nil:
		return errors.New("the batch has been decided already")
	case ing.state.Stage == StageScreening:
		return errors.New("the batch is not screened yet: decide once its counts are known")
	case ing.state.Stage != StageAwaitingApproval:
		return fmt.Errorf("the batch takes no decision: it is %s", ing.state.Stage)
	}
	return nil
}

// accept takes a valid decision; the status query reports it at once.
func (ing *ingestion) accept(d Decision) {
	ing.decision = &d
	ing.state.Decision = map[bool]string{true: DecisionApproved, false: DecisionRejected}[d.Approve]
}

// listen takes decisions from a signal for the whole run. A signal cannot
// answer with an error: one the batch cannot take is logged and dropped.
func (ing *ingestion) listen(ctx workflow.Context, name string, approve bool) {
	ch := workflow.GetSignalChannel(ctx, name)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d Decision
			ch.Receive(ctx, &d)
			d.Approve = approve
			err := ing.open()
			if err == nil {
				err = d.validate(ing.authenticated)
			}
			if err != nil {
				ing.logger.Warn("ignored a decision signal", "signal", name, "sender", d.Sender, "err", err)
				continue
			}
			ing.accept(d)
		}
	})
}

func (ing *ingestion) run(ctx workflow.Context) (DataIngestionResult, error) {
	in := ing.in
	qctx := longActivity(ctx, TaskQueueQualityGate, 2*time.Hour)
	var screen ScreenResult
	err := workflow.ExecuteActivity(qctx, ActivityScreenUpload, ScreenUploadInput{
		TenantID: in.TenantID, ObjectKey: in.ObjectKey, BatchID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
	}).Get(ctx, &screen)
	if err != nil {
		return DataIngestionResult{}, fmt.Errorf("screen upload: %w", err)
	}
	if screen.RecordsRead != screen.RecordsAccepted+screen.RecordsRejected {
		return DataIngestionResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("counts do not reconcile: read %d != accepted %d + rejected %d",
				screen.RecordsRead, screen.RecordsAccepted, screen.RecordsRejected), "CountMismatch", nil)
	}
	ing.state.Screen = &screen
	result := DataIngestionResult{Screen: screen}
	threshold := in.RejectBelowScore
	if threshold == 0 {
		threshold = DefaultRejectBelowScore
	}
	if screen.RecordsAccepted == 0 || screen.Quality.Score < threshold {
		reason := fmt.Sprintf("quality score %.1f is below %.1f", screen.Quality.Score, threshold)
		if screen.RecordsAccepted == 0 {
			copies := screen.RejectedByReason[reasonDuplicate] + screen.RejectedByReason[reasonNearDuplicate]
			reason = fmt.Sprintf("no record left to approve: %d invalid, %d copies (%d of approved records)",
				screen.RecordsRejected-copies, copies, screen.DuplicatesOfApproved)
		}
		ing.state.Stage, ing.state.Decision = StageDone, DecisionRejected
		if err := ing.audit(ctx, DecisionRejected, "", reason, screen.RecordsAccepted); err != nil {
			return DataIngestionResult{}, err
		}
		result.Decision, result.Reason = DecisionRejected, reason
		return result, nil
	}

	timeout := DefaultApprovalTimeout
	if in.ApprovalTimeoutSeconds > 0 {
		timeout = time.Duration(in.ApprovalTimeoutSeconds) * time.Second
	}
	ing.state.Stage = StageAwaitingApproval
	ing.state.Deadline = workflow.Now(ctx).Add(timeout)
	decided, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool { return ing.decision != nil })
	if err != nil {
		return DataIngestionResult{}, err
	}
	if !decided {
		ing.state.Stage, ing.state.Decision = StageDone, DecisionExpired
		if err := ing.audit(ctx, DecisionExpired, "", "", screen.RecordsAccepted); err != nil {
			return DataIngestionResult{}, err
		}
		result.Decision = DecisionExpired
		result.Reason = fmt.Sprintf("no operator decision within %s", timeout)
		ing.logger.Warn("batch expired without a decision", "batch", screen.BatchID)
		return result, nil
	}
	decision := *ing.decision
	result.Decision, result.Operator, result.Reason = ing.state.Decision, decision.Operator, decision.Reason
	if !decision.Approve {
		ing.state.Stage = StageDone
		return result, ing.audit(ctx, DecisionRejected, decision.Operator, decision.Reason, screen.RecordsAccepted)
	}
	ing.state.Stage = StagePublishing
	if err := ing.audit(ctx, DecisionApproved, decision.Operator, decision.Reason, screen.RecordsAccepted); err != nil {
		return DataIngestionResult{}, err
	}
	var ds Dataset
	err = workflow.ExecuteActivity(shortActivity(ctx, TaskQueueQualityGate), ActivityPublishDataset, PublishDatasetInput{
		TenantID: in.TenantID, SourceKey: in.ObjectKey, SourceSHA256: screen.SourceSHA256,
		StagedKey: screen.StagedKey, Records: screen.RecordsAccepted, Approver: decision.Operator,
	}).Get(ctx, &ds)
	if err != nil {
		return DataIngestionResult{}, fmt.Errorf("publish dataset: %w", err)
	}
	ing.state.Stage = StageDone
	result.Dataset = &ds
	return result, nil
}

// audit records the batch's decision in the audit log.
func (ing *ingestion) audit(ctx workflow.Context, decision, operator, reason string, records int) error {
	record := DecisionAudit{TenantID: ing.in.TenantID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		Decision: decision, Operator: operator, Reason: reason, Records: records}
	if err := workflow.ExecuteActivity(shortActivity(ctx, TaskQueueControlPlane), ActivityAuditDecision, record).Get(ctx, nil); err != nil {
		return fmt.Errorf("audit decision: %w", err)
	}
	return nil
}

// decider is who a decision is recorded as: the operator the frontend
// authenticated, or the one the gateway authenticated for it. Anyone else
// may not decide; the frontend's authorizer refuses them before this.
func (d Decision) decider() (string, error) {
	switch roles.Of(d.Sender) {
	case roles.Operator:
		return d.Sender, nil
	case roles.Gateway:
		if d.Operator == "" {
			return "", errors.New("the gateway named no operator")
		}
		return d.Operator, nil
	case "":
		return "", errors.New("the Temporal frontend named no authenticated sender")
	}
	return "", fmt.Errorf("%s may not decide a batch", d.Sender)
}

// validate checks a decision and names its decider in Operator. Runs
// started before decisions carried an authenticated sender (version
// DefaultVersion) keep the operator's own words.
func (d *Decision) validate(authenticated bool) error {
	if authenticated {
		decider, err := d.decider()
		if err != nil {
			return err
		}
		d.Operator = decider
	}
	if d.Operator == "" {
		return errors.New("operator is required")
	}
	if !d.Approve && d.Reason == "" {
		return errors.New("a rejection needs a reason")
	}
	return nil
}
