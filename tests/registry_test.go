package tests

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/activities/training"
	"github.com/dure-platform/dure/internal/registry"
)

// Registrations racing for the next version number each get their own, and a
// registered version's record cannot be replaced.
func TestRegistryVersionsAreMonotonicAndImmutable(t *testing.T) {
	ctx := context.Background()
	reg := stack.Registry
	const racers = 4
	for i := range racers {
		body := []byte(fmt.Sprintf("artifact %d", i))
		_, err := reg.S3.PutObject(ctx, reg.Bucket, registry.CandidateKey(fmt.Sprintf("race-%d", i)), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		require.NoError(t, err)
	}
	versions := make([]registry.Version, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			v, err := reg.Register(ctx, registry.Version{CandidateID: fmt.Sprintf("race-%d", i), Trainer: "test"})
			assert.NoError(t, err)
			versions[i] = v
		})
	}
	wg.Wait()
	seen := map[int]string{}
	for i, v := range versions {
		require.NotZero(t, v.Version)
		assert.NotContains(t, seen, v.Version, "two registrations got version %d", v.Version)
		seen[v.Version] = v.CandidateID
		rc, err := reg.OpenArtifact(ctx, v.Version)
		require.NoError(t, err)
		var got bytes.Buffer
		_, err = got.ReadFrom(rc)
		rc.Close()
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("artifact %d", i), got.String(), "version %d serves its own artifact", v.Version)
	}

	again, err := reg.Register(ctx, registry.Version{CandidateID: "race-0"})
	require.NoError(t, err)
	assert.Equal(t, versions[0].Version, again.Version, "registering a candidate twice returns its version")
	listed, err := reg.List(ctx)
	require.NoError(t, err)
	for i := 1; i < len(listed); i++ {
		assert.Greater(t, listed[i].Version, listed[i-1].Version, "versions ascend")
	}
	assert.ErrorIs(t, reg.SetAlias(ctx, "challenger", listed[len(listed)-1].Version+1), registry.ErrNotFound,
		"an alias points only at a registered version")
}

// Naming datasets trains on those alone: a listing once let every dataset
// after the last named one through.
func TestListDatasetsTakesOnlyTheNamedOnes(t *testing.T) {
	ctx := context.Background()
	platform, err := stack.S3Client(stack.Platform)
	require.NoError(t, err)
	acts := &training.Activities{S3: platform}
	all, err := acts.ListDatasets(ctx, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(all), 3)
	for _, d := range all {
		got, err := acts.ListDatasets(ctx, []string{d.DatasetID})
		require.NoError(t, err)
		require.Len(t, got, 1, "asked for %s", d.DatasetID)
		assert.Equal(t, d.DatasetID, got[0].DatasetID)
	}
	_, err = acts.ListDatasets(ctx, []string{all[0].DatasetID, "suwon-0000000000000000"})
	assert.ErrorContains(t, err, "unknown datasets")
}
