package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/dure-platform/dure/internal/objstore"
	"github.com/dure-platform/dure/internal/registry"
	"github.com/dure-platform/dure/internal/tenancy"
	"github.com/dure-platform/dure/internal/tenantapi"
	"github.com/dure-platform/dure/workflows"
)

// tenantAPIBackend serves the gateway's tenant routes from S3, the registry and
// Temporal. Uploads go through the tenant's own S3 identity, so S3 enforces the
// same isolation and quota a direct client meets.
type tenantAPIBackend struct {
	store    *tenancy.Store
	endpoint objstore.Endpoint
	platform *minio.Client
	registry *registry.Registry
	temporal client.Client
	dc       converter.DataConverter
}

const uploadPrefix = "uploads/"

func (b *tenantAPIBackend) tenantClient(ctx context.Context, tenant string) (*minio.Client, error) {
	cred, err := b.store.S3CredentialFor(ctx, tenant)
	if errors.Is(err, tenancy.ErrNotFound) {
		return nil, tenantapi.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return objstore.Client(b.endpoint, cred.AccessKey, cred.SecretKey)
}

func (b *tenantAPIBackend) ListUploads(ctx context.Context, tenant string) ([]tenantapi.Upload, error) {
	c, err := b.tenantClient(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := []tenantapi.Upload{}
	for obj := range c.ListObjects(ctx, objstore.TenantBucket(tenant), minio.ListObjectsOptions{Prefix: uploadPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list uploads of %s: %w", tenant, obj.Err)
		}
		out = append(out, tenantapi.Upload{Key: obj.Key, Size: obj.Size})
	}
	return out, nil
}

func (b *tenantAPIBackend) PutUpload(ctx context.Context, tenant, name string, body io.Reader, size int64) (tenantapi.Upload, error) {
	c, err := b.tenantClient(ctx, tenant)
	if err != nil {
		return tenantapi.Upload{}, err
	}
	key := uploadPrefix + name
	info, err := c.PutObject(ctx, objstore.TenantBucket(tenant), key, body, size, minio.PutObjectOptions{ContentType: "application/x-ndjson"})
	if minio.ToErrorResponse(err).Code == "QuotaExceeded" {
		return tenantapi.Upload{}, fmt.Errorf("%w: %d more bytes do not fit in %s's storage", tenantapi.ErrQuotaExceeded, size, tenant)
	}
	if err != nil {
		return tenantapi.Upload{}, fmt.Errorf("store upload: %w", err)
	}
	return tenantapi.Upload{Key: key, Size: info.Size}, nil
}

func (b *tenantAPIBackend) ListDatasets(ctx context.Context, tenant string) ([]tenantapi.Dataset, error) {
	out := []tenantapi.Dataset{}
	prefix := "datasets/" + tenant + "/"
	for obj := range b.platform.ListObjects(ctx, objstore.BucketAITraining, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list datasets: %w", obj.Err)
		}
		if !strings.HasSuffix(obj.Key, "/manifest.json") {
			continue
		}
		var m tenantapi.Dataset
		if err := objstore.GetJSON(ctx, b.platform, objstore.BucketAITraining, obj.Key, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (b *tenantAPIBackend) WorkflowStatus(ctx context.Context, id string) (tenantapi.WorkflowStatus, error) {
	desc, err := b.temporal.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return tenantapi.WorkflowStatus{}, tenantapi.ErrNotFound
	}
	if err != nil {
		return tenantapi.WorkflowStatus{}, err
	}
	info := desc.GetWorkflowExecutionInfo()
	st := tenantapi.WorkflowStatus{WorkflowID: id, Type: info.GetType().GetName(), Status: info.GetStatus().String()}
	if p, ok := info.GetMemo().GetFields()[workflows.MemoTenant]; ok {
		if err := b.dc.FromPayload(p, &st.Tenant); err != nil {
			return tenantapi.WorkflowStatus{}, fmt.Errorf("decode workflow memo: %w", err)
		}
	}
	return st, nil
}

func (b *tenantAPIBackend) ListModels(ctx context.Context, tenant string) ([]tenantapi.Model, error) {
	versions, err := b.registry.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []tenantapi.Model{}
	for _, v := range versions {
		if tenant != "" && !slices.Contains(v.Tenants, tenant) {
			continue
		}
		out = append(out, modelView(v))
	}
	return out, nil
}

func (b *tenantAPIBackend) GetModel(ctx context.Context, version int) (tenantapi.Model, error) {
	v, err := b.registry.Get(ctx, version)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, tenantapi.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return modelView(v), nil
}

func modelView(v registry.Version) tenantapi.Model {
	return tenantapi.Model{
		"version": v.Version, "metrics": v.Metrics, "tenants": v.Tenants, "datasets": v.Datasets,
		"registered_at": v.RegisteredAt, "trainer": v.Trainer,
	}
}

func (b *tenantAPIBackend) Decide(ctx context.Context, workflowID string, d tenantapi.Decision) (string, error) {
	handle, err := b.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: workflows.UpdateDecide, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.Decision{Approve: d.Approve, Operator: d.Operator, Reason: d.Reason}},
	})
	var verdict string
	if err == nil {
		err = handle.Get(ctx, &verdict)
	}
	if err != nil {
		var (
			appErr   *temporal.ApplicationError
			notFound *serviceerror.NotFound
		)
		switch {
		case errors.As(err, &appErr):
			return "", fmt.Errorf("%w: %s", tenantapi.ErrRefused, appErr.Error())
		case errors.As(err, &notFound):
			// The workflow exists (the tenant check found it) but has ended.
			return "", fmt.Errorf("%w: %s", tenantapi.ErrFinished, workflowID)
		}
		return "", err
	}
	return verdict, nil
}

func (b *tenantAPIBackend) S3Key(ctx context.Context, tenant string) (tenantapi.S3Key, error) {
	cred, err := b.store.S3CredentialFor(ctx, tenant)
	if errors.Is(err, tenancy.ErrNotFound) {
		return tenantapi.S3Key{}, tenantapi.ErrNotFound
	}
	if err != nil {
		return tenantapi.S3Key{}, err
	}
	return tenantapi.S3Key{Endpoint: b.endpoint.Address, Region: b.endpoint.Region, Bucket: objstore.TenantBucket(tenant),
		AccessKey: cred.AccessKey, SecretKey: cred.SecretKey}, nil
}

// RotateS3Key runs the rotation on the control plane, which alone holds the
// storage administrator's keys, then reads the new pair from the records.
func (b *tenantAPIBackend) RotateS3Key(ctx context.Context, tenant string) (tenantapi.S3Key, error) {
	run, err := b.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.TenantKeyRotationID(tenant), TaskQueue: workflows.TaskQueueControlPlane,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.TypeTenantKeyRotation, workflows.TenantKeyRotationInput{TenantID: tenant})
	if err != nil {
		return tenantapi.S3Key{}, fmt.Errorf("start key rotation: %w", err)
	}
	var res workflows.TenantKeyRotationResult
	if err := run.Get(ctx, &res); err != nil {
		return tenantapi.S3Key{}, fmt.Errorf("key rotation of %s: %w", tenant, err)
	}
	key, err := b.S3Key(ctx, tenant)
	if err == nil && key.AccessKey != res.AccessKey {
		return tenantapi.S3Key{}, fmt.Errorf("key rotation of %s: another rotation followed this one", tenant)
	}
	return key, err
}
