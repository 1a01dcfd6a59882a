package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/dure-platform/dure/internal/gpupool"
	"go.temporal.io/sdk/workflow"
)

// registerStubs registers named activities on the test environment so that
// OnActivity can mock them by name.
func registerStubs(env *testsuite.TestWorkflowEnvironment, stubs map[string]any) {
	for name, fn := range stubs {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

func onboardingStubs() map[string]any {
	return map[string]any{
		ActivityEnsureStorageIdentity: func(context.Context, TenantStorageInput) (StorageIdentity, error) { return StorageIdentity{}, nil },
		ActivityDeleteStorageIdentity: func(context.Context, string) error { return nil },
		ActivityEnsureTenantBucket:    func(context.Context, TenantBucketInput) (TenantBucket, error) { return TenantBucket{}, nil },
		ActivityDeleteTenantBucket:    func(context.Context, string) error { return nil },
		ActivityAllocateVLAN:          func(context.Context, VLANInput) (AllocatedVLAN, error) { return AllocatedVLAN{}, nil },
		ActivityReleaseVLAN:           func(context.Context, string) error { return nil },
		ActivityEnsureTenantNetwork:   func(context.Context, TenantNetworkInput) (TenantNetwork, error) { return TenantNetwork{}, nil },
		ActivityDeleteTenantNetwork:   func(context.Context, string) error { return nil },
		ActivityEnsureDataVM:          func(context.Context, DataVMInput) (DataVM, error) { return DataVM{}, nil },
		ActivityDestroyDataVM:         func(context.Context, string) error { return nil },
		ActivityIssueTenantToken:      func(context.Context, IssueTokenInput) (IssuedToken, error) { return IssuedToken{}, nil },
		ActivityRevokeToken:           func(context.Context, string) error { return nil },
		ActivityRevokeTenantTokens:    func(context.Context, string) (int, error) { return 0, nil },
		ActivityRegisterGPUQuota:      func(context.Context, GPUQuotaInput) (GPUQuotaRegistered, error) { return GPUQuotaRegistered{}, nil },
		ActivityRestoreGPUQuota:       func(context.Context, GPUQuotaInput) error { return nil },
		ActivityRecordTenant:          func(context.Context, RecordTenantInput) error { return nil },
		ActivityDeleteTenantRecord:    func(context.Context, string) error { return nil },
	}
}

// onboardingSteps are the forward steps in order, each with what it returns
// when it creates something and the compensation that undoes it.
var onboardingSteps = []struct {
	activity string
	created  any
	undo     string
}{
	{ActivityEnsureStorageIdentity, StorageIdentity{TenantID: "yongin", AccessKey: "AK", Created: true}, ActivityDeleteStorageIdentity},
	{ActivityEnsureTenantBucket, TenantBucket{Bucket: "tenant-yongin", Created: true}, ActivityDeleteTenantBucket},
	{ActivityAllocateVLAN, AllocatedVLAN{VLAN: 22, Created: true}, ActivityReleaseVLAN},
	{ActivityEnsureTenantNetwork, TenantNetwork{Name: "dure-tenant-yongin", Created: true}, ActivityDeleteTenantNetwork},
	{ActivityEnsureDataVM, DataVM{Name: "dure-data-yongin", Created: true}, ActivityDestroyDataVM},
	{ActivityIssueTenantToken, IssuedToken{TokenID: "t1", Created: true}, ActivityRevokeToken},
	{ActivityRegisterGPUQuota, GPUQuotaRegistered{PreviousVGPUs: 0}, ActivityRestoreGPUQuota},
	{ActivityRecordTenant, nil, ""},
}

func TestTenantOnboardingHappyPath(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerStubs(env, onboardingStubs())
	for _, st := range onboardingSteps {
		if st.created != nil {
			env.OnActivity(st.activity, mock.Anything, mock.Anything).Return(st.created, nil)
		} else {
			env.OnActivity(st.activity, mock.Anything, mock.Anything).Return(nil)
		}
	}
	env.ExecuteWorkflow(TenantOnboarding, TenantOnboardingInput{TenantID: "yongin", DisplayName: "용인시", VGPUQuota: 2, DataVM: true})
	require.NoError(t, env.GetWorkflowError())
	var res TenantOnboardingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, "tenant-yongin", res.Bucket)
	assert.Equal(t, 22, res.VLAN)
	assert.Equal(t, "dure-data-yongin", res.DataVM)
	assert.Len(t, res.Tokens, len(TenantRoles), "one token per tenant role")
	assert.Equal(t, 2, res.VGPUQuota)
	env.AssertNotCalled(t, ActivityDeleteStorageIdentity, mock.Anything, mock.Anything)
}

// Each failure point must undo exactly the steps that completed before it,
// newest first, and nothing else.
func TestTenantOnboardingCompensatesEveryFailurePoint(t *testing.T) {
	for failAt := range onboardingSteps {
		t.Run(onboardingSteps[failAt].activity, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			registerStubs(env, onboardingStubs())
			for i, st := range onboardingSteps {
				switch {
				case i == failAt && st.created != nil:
					env.OnActivity(st.activity, mock.Anything, mock.Anything).Return(nil, errors.New("boom"))
				case i == failAt:
					env.OnActivity(st.activity, mock.Anything, mock.Anything).Return(errors.New("boom"))
				case st.created != nil:
					env.OnActivity(st.activity, mock.Anything, mock.Anything).Return(st.created, nil)
				default:
					env.OnActivity(st.activity, mock.Anything, mock.Anything).Return(nil)
				}
			}
			var undone []string
			for _, st := range onboardingSteps {
				if st.undo == "" {
					continue
				}
				name := st.undo
				env.OnActivity(name, mock.Anything, mock.Anything).Return(nil).Run(func(mock.Arguments) {
					undone = append(undone, name)
				})
			}
			env.ExecuteWorkflow(TenantOnboarding, TenantOnboardingInput{TenantID: "yongin", DataVM: true, VGPUQuota: 2})
			require.Error(t, env.GetWorkflowError())

			var want []string
			for i := failAt - 1; i >= 0; i-- {
				if u := onboardingSteps[i].undo; u != "" {
					want = append(want, u)
					if u == ActivityRevokeToken {
						// one token per role was issued before the failure
						want = append(want, u, u)
					}
				}
			}
			assert.Equal(t, want, undone)
		})
	}
}

// A second onboarding finds everything in place: nothing is created, so a later
// failure must not delete the existing tenant's data.
func TestTenantOnboardingRerunNeverDeletesExisting(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerStubs(env, onboardingStubs())
	env.OnActivity(ActivityEnsureStorageIdentity, mock.Anything, mock.Anything).Return(StorageIdentity{AccessKey: "AK"}, nil)
	env.OnActivity(ActivityEnsureTenantBucket, mock.Anything, mock.Anything).Return(TenantBucket{Bucket: "tenant-suwon"}, nil)
	env.OnActivity(ActivityAllocateVLAN, mock.Anything, mock.Anything).Return(AllocatedVLAN{VLAN: 20}, nil)
	env.OnActivity(ActivityEnsureTenantNetwork, mock.Anything, mock.Anything).Return(TenantNetwork{Name: "n"}, nil)
	env.OnActivity(ActivityIssueTenantToken, mock.Anything, mock.Anything).Return(IssuedToken{TokenID: "t1"}, nil)
	env.OnActivity(ActivityRecordTenant, mock.Anything, mock.Anything).Return(errors.New("boom"))
	env.ExecuteWorkflow(TenantOnboarding, TenantOnboardingInput{TenantID: "suwon"})
	require.Error(t, env.GetWorkflowError())
	for _, undo := range []string{ActivityDeleteTenantBucket, ActivityDeleteStorageIdentity, ActivityRevokeToken, ActivityReleaseVLAN, ActivityDeleteTenantNetwork, ActivityRestoreGPUQuota} {
		env.AssertNotCalled(t, undo, mock.Anything, mock.Anything)
	}
}

// Compensation failures were only logged: the operator saw the first error
// and not what was left behind. Both come back now, and every compensation
// still runs.
func TestTenantOnboardingReportsFailedCompensations(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerStubs(env, onboardingStubs())
	for _, st := range onboardingSteps[:2] {
		env.OnActivity(st.activity, mock.Anything, mock.Anything).Return(st.created, nil)
	}
	env.OnActivity(ActivityAllocateVLAN, mock.Anything, mock.Anything).Return(AllocatedVLAN{}, errors.New("no vlan left"))
	env.OnActivity(ActivityDeleteTenantBucket, mock.Anything, mock.Anything).Return(errors.New("bucket not empty"))
	deletedIdentity := false
	env.OnActivity(ActivityDeleteStorageIdentity, mock.Anything, mock.Anything).Return(nil).Run(func(mock.Arguments) { deletedIdentity = true })
	env.ExecuteWorkflow(TenantOnboarding, TenantOnboardingInput{TenantID: "yongin"})
	err := env.GetWorkflowError()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no vlan left", "the cause")
	assert.Contains(t, err.Error(), "bucket not empty", "what could not be undone")
	assert.True(t, deletedIdentity, "a failed compensation does not stop the next")
}

func TestTenantOffboardingRevokesFirstAndRetainsData(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var order []string
	stubs := onboardingStubs()
	for _, name := range []string{ActivityDestroyDataVM, ActivityDeleteTenantNetwork, ActivityReleaseVLAN, ActivityDeleteTenantBucket, ActivityDeleteStorageIdentity, ActivityDeleteTenantRecord} {
		stubs[name] = func(context.Context, string) error { order = append(order, name); return nil }
	}
	stubs[ActivityRevokeTenantTokens] = func(context.Context, string) (int, error) {
		order = append(order, ActivityRevokeTenantTokens)
		return 3, nil
	}
	registerStubs(env, stubs)
	env.ExecuteWorkflow(TenantOffboarding, TenantOffboardingInput{TenantID: "osan", RetainData: true})
	require.NoError(t, env.GetWorkflowError())
	var res TenantOffboardingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, ActivityRevokeTenantTokens, order[0], "tokens are revoked before anything else")
	assert.NotContains(t, order, ActivityDeleteTenantBucket, "retained data is not deleted")
	assert.Equal(t, []string{"raw bucket"}, res.Retained)
	assert.Equal(t, 3, res.TokensRevoked)
}

func TestTenantOnboardingRejectsBadInput(t *testing.T) {
	for _, in := range []TenantOnboardingInput{{TenantID: ""}, {TenantID: "Suwon"}, {TenantID: "suwon", StorageQuotaBytes: -1},
		{TenantID: "platform"}, {TenantID: "quality-gate"}, {TenantID: "suwon", PIIPolicy: "rot13"}} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		registerStubs(env, onboardingStubs())
		env.ExecuteWorkflow(TenantOnboarding, in)
		err := env.GetWorkflowError()
		require.Error(t, err, "%+v", in)
		assert.Contains(t, err.Error(), ErrBadInput)
	}
}

func ingestionEnv(t *testing.T, screen ScreenResult) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	return ingestionEnvScreening(t, screen, 0)
}

// ingestionEnvScreening is ingestionEnv whose screening takes d.
func ingestionEnvScreening(t *testing.T, screen ScreenResult, d time.Duration) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerStubs(env, map[string]any{
		ActivityScreenUpload:   func(context.Context, ScreenUploadInput) (ScreenResult, error) { return ScreenResult{}, nil },
		ActivityPublishDataset: func(context.Context, PublishDatasetInput) (Dataset, error) { return Dataset{}, nil },
		ActivityAuditDecision:  func(context.Context, DecisionAudit) error { return nil },
	})
	env.OnActivity(ActivityScreenUpload, mock.Anything, mock.Anything).Return(screen, nil).After(d)
	return env
}

// An operator's decision during screening once found no handler. Every
// handler is there from the start: the update is refused with its reason,
// the signal is dropped, and the status says where the batch is; the status
// reports the decision as soon as it is taken, before publishing ends.
func TestDataIngestionAnswersBeforeScreeningEnds(t *testing.T) {
	env := ingestionEnvScreening(t, goodScreen, time.Hour)
	env.OnActivity(ActivityPublishDataset, mock.Anything, mock.Anything).Return(Dataset{DatasetID: "d"}, nil).After(time.Minute)
	var early error
	var during, publishing IngestionState
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateDecide, "early", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { early = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, Decision{Approve: true, Sender: "operator:kim"})
		env.SignalWorkflow(SignalApprove, Decision{Sender: "operator:kim"})
		v, err := env.QueryWorkflow(QueryIngestionState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&during))
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalApprove, Decision{Sender: "operator:lee"})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryIngestionState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&publishing))
	}, 2*time.Hour+30*time.Second)
	env.ExecuteWorkflow(DataIngestion, DataIngestionInput{TenantID: "suwon", ObjectKey: "uploads/a.jsonl"})
	require.NoError(t, env.GetWorkflowError())
	require.Error(t, early)
	assert.Contains(t, early.Error(), "not screened yet")
	assert.Equal(t, StageScreening, during.Stage)
	assert.Equal(t, DecisionPending, during.Decision)
	assert.Equal(t, StagePublishing, publishing.Stage)
	assert.Equal(t, DecisionApproved, publishing.Decision, "the decision shows while the dataset is published")
	var res DataIngestionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, "operator:lee", res.Operator, "the signal sent during screening was dropped")
}

var goodScreen = ScreenResult{BatchID: "b1", SourceSHA256: "0123456789abcdef0123", RecordsRead: 10, RecordsAccepted: 8, RecordsRejected: 2, StagedKey: "suwon/b1/records.jsonl",
	Quality: QualityScore{Score: 88}}

func TestDataIngestionApprovedBySignal(t *testing.T) {
	env := ingestionEnv(t, goodScreen)
	env.OnActivity(ActivityPublishDataset, mock.Anything, PublishDatasetInput{
		TenantID: "suwon", SourceKey: "uploads/a.jsonl", SourceSHA256: goodScreen.SourceSHA256,
		StagedKey: goodScreen.StagedKey, Records: 8, Approver: "operator:kim",
	}).Return(Dataset{DatasetID: "suwon-0123456789abcdef", Records: 8}, nil)
	env.RegisterDelayedCallback(func() {
		// Signals whose sender no one authenticated, or who may not
		// decide, are ignored whatever operator they name; the operator's
		// decides.
		env.SignalWorkflow(SignalApprove, Decision{})
		env.SignalWorkflow(SignalApprove, Decision{Operator: "kim"})
		env.SignalWorkflow(SignalApprove, Decision{Operator: "kim", Sender: "quality-gate"})
		env.SignalWorkflow(SignalApprove, Decision{Operator: "mallory", Sender: "operator:kim"})
	}, time.Hour)
	env.ExecuteWorkflow(DataIngestion, DataIngestionInput{TenantID: "suwon", ObjectKey: "uploads/a.jsonl"})
	require.NoError(t, env.GetWorkflowError())
	var res DataIngestionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, DecisionApproved, res.Decision)
	assert.Equal(t, "operator:kim", res.Operator, "the authenticated sender, not the operator named")
	require.NotNil(t, res.Dataset)
	assert.Equal(t, 8, res.Dataset.Records)
}

func TestDataIngestionUpdateValidatorAndReject(t *testing.T) {
	env := ingestionEnv(t, goodScreen)
	var rejectedNoReason, accepted bool
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateDecide, "u1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejectedNoReason = err != nil },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, Decision{Approve: false, Sender: "operator:kim"})
		env.UpdateWorkflow(UpdateDecide, "u2", &testsuite.TestUpdateCallback{
			OnReject: func(error) {}, OnAccept: func() { accepted = true }, OnComplete: func(any, error) {},
		}, Decision{Approve: false, Operator: "token:t1", Sender: "gateway", Reason: "labels look shifted"})
	}, time.Minute)
	env.ExecuteWorkflow(DataIngestion, DataIngestionInput{TenantID: "suwon", ObjectKey: "uploads/a.jsonl"})
	require.NoError(t, env.GetWorkflowError())
	var res DataIngestionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.True(t, rejectedNoReason, "a rejection without a reason must fail validation")
	assert.True(t, accepted)
	assert.Equal(t, DecisionRejected, res.Decision)
	assert.Equal(t, "labels look shifted", res.Reason)
	assert.Equal(t, "token:t1", res.Operator, "the operator the gateway authenticated")
	env.AssertNotCalled(t, ActivityPublishDataset, mock.Anything, mock.Anything)
}

func TestDataIngestionExpires(t *testing.T) {
	env := ingestionEnv(t, goodScreen)
	env.OnActivity(ActivityAuditDecision, mock.Anything, mock.MatchedBy(func(d DecisionAudit) bool {
		return d.Decision == DecisionExpired && d.TenantID == "suwon" && d.Records == 8
	})).Return(nil).Once()
	env.ExecuteWorkflow(DataIngestion, DataIngestionInput{TenantID: "suwon", ObjectKey: "k", ApprovalTimeoutSeconds: 60})
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
	var res DataIngestionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, DecisionExpired, res.Decision)
	assert.Contains(t, res.Reason, "1m0s")
}

func TestDataIngestionRefusesLowQualityWithoutAnOperator(t *testing.T) {
	low := goodScreen
	low.Quality.Score = 31.5
	env := ingestionEnv(t, low)
	env.ExecuteWorkflow(DataIngestion, DataIngestionInput{TenantID: "suwon", ObjectKey: "k"})
	require.NoError(t, env.GetWorkflowError())
	var res DataIngestionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, DecisionRejected, res.Decision)
	assert.Equal(t, "quality score 31.5 is below 50.0", res.Reason)
	env.AssertNotCalled(t, ActivityPublishDataset, mock.Anything, mock.Anything)
}

func TestDataIngestionRefusesCountsThatDoNotReconcile(t *testing.T) {
	bad := goodScreen
	bad.RecordsRejected = 1 // 8 + 1 != 10
	env := ingestionEnv(t, bad)
	env.ExecuteWorkflow(DataIngestion, DataIngestionInput{TenantID: "suwon", ObjectKey: "k"})
	err := env.GetWorkflowError()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "do not reconcile")
}

func TestTrainingRegistersVersion(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	datasets := []Dataset{{DatasetID: "suwon-1", TenantID: "suwon", Records: 900}, {DatasetID: "yongin-1", TenantID: "yongin", Records: 900}}
	registerStubs(env, map[string]any{
		ActivityListDatasets:  func(context.Context, []string) ([]Dataset, error) { return nil, nil },
		ActivityTrainModel:    func(context.Context, TrainModelInput) (TrainModelResult, error) { return TrainModelResult{}, nil },
		ActivityRegisterModel: func(context.Context, RegisterModelInput) (RegisteredModel, error) { return RegisteredModel{}, nil },
	})
	env.OnActivity(ActivityListDatasets, mock.Anything, mock.Anything).Return(datasets, nil)
	metrics := ModelMetrics{HoldoutMacroF1: 0.6, HoldoutAccuracy: 0.65, TrainRecords: 1440, HoldoutRecords: 360, Classes: 17}
	env.OnActivity(ActivityTrainModel, mock.Anything, mock.MatchedBy(func(in TrainModelInput) bool {
		return in.HoldoutFraction == DefaultHoldoutFraction && in.Seed == DefaultSeed && len(in.Datasets) == 2
	})).Return(TrainModelResult{CandidateKey: "candidates/x/model.bin", Metrics: metrics}, nil)
	env.OnActivity(ActivityRegisterModel, mock.Anything, mock.Anything).Return(RegisteredModel{Version: 3}, nil)

	env.ExecuteWorkflow(Training, TrainingInput{SkipGPULease: true})
	require.NoError(t, env.GetWorkflowError())
	var res TrainingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 3, res.Version)
	assert.Equal(t, metrics, res.Metrics)
	assert.Equal(t, []string{"suwon-1", "yongin-1"}, res.Datasets)
}

func TestTrainingWithoutDataFails(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerStubs(env, map[string]any{
		ActivityListDatasets: func(context.Context, []string) ([]Dataset, error) { return nil, nil },
	})
	env.ExecuteWorkflow(Training, TrainingInput{})
	err := env.GetWorkflowError()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no approved datasets")
}

func TestModelPromotionLoadsEveryReplica(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var loaded []string
	registerStubs(env, map[string]any{
		ActivityListReplicas: func(context.Context) ([]string, error) { return []string{"inference-1", "inference-2"}, nil },
		ActivityLoadModelVersion: func(_ context.Context, in LoadModelInput) error {
			loaded = append(loaded, in.Replica)
			return nil
		},
		ActivitySetModelAlias: func(context.Context, SetAliasInput) error { return nil },
	})
	env.ExecuteWorkflow(ModelPromotion, ModelPromotionInput{Version: 1})
	require.NoError(t, env.GetWorkflowError())
	var res ModelPromotionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, []string{"inference-1", "inference-2"}, loaded)
	assert.Equal(t, AliasChampion, res.Alias)
}

func TestModelPromotionStopsOnFailedReplica(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerStubs(env, map[string]any{
		ActivityListReplicas:     func(context.Context) ([]string, error) { return []string{"inference-1"}, nil },
		ActivityLoadModelVersion: func(context.Context, LoadModelInput) error { return nil },
		ActivitySetModelAlias:    func(context.Context, SetAliasInput) error { return nil },
	})
	env.OnActivity(ActivityLoadModelVersion, mock.Anything, mock.Anything).Return(errors.New("replica down"))
	env.ExecuteWorkflow(ModelPromotion, ModelPromotionInput{Version: 2})
	require.Error(t, env.GetWorkflowError())
	env.AssertNotCalled(t, ActivitySetModelAlias, mock.Anything, mock.Anything)
}

func retrainingEnv(t *testing.T, datasets []Dataset, champion ChampionLineage) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	registerStubs(env, map[string]any{
		ActivityListDatasets:    func(context.Context, []string) ([]Dataset, error) { return datasets, nil },
		ActivityChampionLineage: func(context.Context) (ChampionLineage, error) { return champion, nil },
	})
	env.RegisterWorkflowWithOptions(func(workflow.Context, TrainingInput) (TrainingResult, error) {
		return TrainingResult{Version: champion.Version + 1}, nil
	}, workflow.RegisterOptions{Name: "Training"})
	env.RegisterWorkflowWithOptions(func(workflow.Context, ModelPromotionInput) (ModelPromotionResult, error) {
		return ModelPromotionResult{}, nil
	}, workflow.RegisterOptions{Name: "ModelPromotion"})
	return env
}

func TestRetrainingSkipsWithoutNewData(t *testing.T) {
	env := retrainingEnv(t, []Dataset{{DatasetID: "a"}, {DatasetID: "b"}}, ChampionLineage{Version: 4, DatasetIDs: []string{"a", "b"}})
	env.ExecuteWorkflow(Retraining, RetrainingInput{})
	require.NoError(t, env.GetWorkflowError())
	var res RetrainingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.True(t, res.Skipped)
	assert.Contains(t, res.Reason, "v4")
}

func TestRetrainingTrainsAndPromotesOnNewData(t *testing.T) {
	env := retrainingEnv(t, []Dataset{{DatasetID: "a"}, {DatasetID: "c"}}, ChampionLineage{Version: 4, DatasetIDs: []string{"a"}})
	env.ExecuteWorkflow(Retraining, RetrainingInput{})
	require.NoError(t, env.GetWorkflowError())
	var res RetrainingResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, RetrainingResult{NewDatasets: []string{"c"}, Version: 5, Promoted: true}, res)
}

func TestTenantOffboardingRefusesPlatformIdentities(t *testing.T) {
	for _, id := range []string{"platform", "quality-gate", "Suwon"} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		registerStubs(env, onboardingStubs())
		env.ExecuteWorkflow(TenantOffboarding, TenantOffboardingInput{TenantID: id})
		require.Error(t, env.GetWorkflowError(), id)
		env.AssertNotCalled(t, ActivityDeleteStorageIdentity, mock.Anything, mock.Anything)
	}
}

// leasedTrainingEnv runs Training against a fake GPU pool: the request activity
// queues, and the test grants (and preempts) by signal as the pool would.
func leasedTrainingEnv(t *testing.T, train any) (*testsuite.TestWorkflowEnvironment, *[]string) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var requested []string
	registerStubs(env, map[string]any{
		ActivityListDatasets: func(context.Context, []string) ([]Dataset, error) {
			return []Dataset{{DatasetID: "suwon-1", TenantID: "suwon"}}, nil
		},
		ActivityRequestGPULease: func(_ context.Context, r GPURequest) (GPULeaseStatus, error) {
			requested = append(requested, r.ID)
			return GPULeaseStatus{ID: r.ID, State: GPULeaseQueued}, nil
		},
		ActivityTrainModel: train,
		ActivityRegisterModel: func(context.Context, RegisterModelInput) (RegisteredModel, error) {
			return RegisteredModel{Version: 1}, nil
		},
	})
	return env, &requested
}

func grantLatest(env *testsuite.TestWorkflowEnvironment, requested *[]string, kind string) {
	id := (*requested)[len(*requested)-1]
	env.SignalWorkflow(SignalGPULease, GPULeaseEvent{Kind: kind, Lease: id, Tenant: DefaultGPUTenant,
		Placements: []gpupool.Placement{{Host: "gpu-host-7", GPU: "gpu-host-7/0"}}})
}

func TestTrainingWaitsForAGPULeaseAndReleasesIt(t *testing.T) {
	var (
		queue      string
		mu         sync.Mutex
		signals    []string
		heartbeat  = make(chan struct{})
		heartbeats sync.Once
	)
	env, requested := leasedTrainingEnv(t, func(ctx context.Context, in TrainModelInput) (TrainModelResult, error) {
		queue = activity.GetInfo(ctx).TaskQueue
		// Work until the lease has been heartbeated at least once, as a real
		// trainer outlives the first heartbeat.
		select {
		case <-heartbeat:
		case <-time.After(10 * time.Second):
		}
		return TrainModelResult{CandidateKey: "k"}, nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, GPUPoolWorkflowID, "", mock.Anything, mock.Anything).Return(
		func(_, _, _, name string, _ any) error {
			mu.Lock()
			defer mu.Unlock()
			signals = append(signals, name)
			if name == SignalGPUHeartbeat {
				heartbeats.Do(func() { close(heartbeat) })
			}
			return nil
		})
	env.RegisterDelayedCallback(func() { grantLatest(env, requested, "grant") }, 10*time.Minute)
	env.ExecuteWorkflow(Training, TrainingInput{})
	require.NoError(t, env.GetWorkflowError())
	assert.Len(t, *requested, 1)
	assert.Equal(t, GPUHostTaskQueue("gpu-host-7"), queue, "the trainer runs on the leased GPU's host")
	assert.Contains(t, signals, SignalGPUHeartbeat)
	assert.Equal(t, SignalGPURelease, signals[len(signals)-1], "the lease is released at the end")
}

func TestTrainingYieldsItsGPUWhenPreemptedAndResumes(t *testing.T) {
	calls := 0
	// The first attempt fails and waits for its retry; the pool preempts the
	// lease meanwhile. (A test activity that blocks would stop the test clock.)
	env, requested := leasedTrainingEnv(t, func(ctx context.Context, in TrainModelInput) (TrainModelResult, error) {
		calls++
		if calls == 1 {
			return TrainModelResult{}, errors.New("interrupted")
		}
		return TrainModelResult{CandidateKey: "k", ResumedFromEpoch: 5}, nil
	})
	env.OnSignalExternalWorkflow(mock.Anything, GPUPoolWorkflowID, "", mock.Anything, mock.Anything).Return(nil)
	env.RegisterDelayedCallback(func() { grantLatest(env, requested, "grant") }, time.Minute)
	env.RegisterDelayedCallback(func() { grantLatest(env, requested, "preempt_requested") }, time.Minute+time.Second)
	env.RegisterDelayedCallback(func() { grantLatest(env, requested, "grant") }, 2*time.Hour)
	env.ExecuteWorkflow(Training, TrainingInput{})
	require.NoError(t, env.GetWorkflowError())
	assert.Len(t, *requested, 2, "after the preemption training queues again")
	assert.Equal(t, 2, calls, "and runs again, resuming from its checkpoint")
}

// After a restart the demo trained a second model for the same datasets:
// the training's ID names its intent, so starting it again finds the first.
func TestTrainingIDNamesTheIntent(t *testing.T) {
	ab := TrainingID(TrainingInput{DatasetIDs: []string{"suwon-1", "yongin-2"}})
	assert.Equal(t, ab, TrainingID(TrainingInput{DatasetIDs: []string{"yongin-2", "suwon-1"}}), "the order of datasets is no other intent")
	assert.NotEqual(t, ab, TrainingID(TrainingInput{DatasetIDs: []string{"suwon-1"}}))
	assert.NotEqual(t, ab, TrainingID(TrainingInput{DatasetIDs: []string{"suwon-1", "yongin-2"}, Seed: 7}))
	assert.NotEqual(t, ab, TrainingID(TrainingInput{DatasetIDs: []string{"suwon-1", "yongin-2"}, HoldoutFraction: 0.3}))
	assert.Equal(t, ab, TrainingID(TrainingInput{DatasetIDs: []string{"suwon-1", "yongin-2"}, GPUHost: "gpu-2"}), "where it runs is not what it trains")
	assert.Equal(t, "training-approved-data", TrainingID(TrainingInput{}))
}
