package audit

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/metadb/metadbtest"
)

func TestAppendQueryAndReopen(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		l := New(metadbtest.Open(t, cfg))
		require.NoError(t, l.Append(ctx, Event{Action: ActionGrant, Tenant: "suwon", Actor: "onboarding", Subject: "token:abc"}))
		require.NoError(t, l.Append(ctx, Event{Action: ActionDenied, Tenant: "seongnam", Actor: "token:def", Detail: "classify"}))
		require.NoError(t, l.Append(ctx, Event{Action: ActionRevoke, Tenant: "suwon", Actor: "admin", Subject: "token:abc"}))

		suwon, err := l.Query(ctx, "suwon")
		require.NoError(t, err)
		require.Len(t, suwon, 2)
		assert.Equal(t, ActionGrant, suwon[0].Action)
		assert.Equal(t, int64(3), suwon[1].Seq)

		reopened := New(metadbtest.Open(t, cfg))
		require.NoError(t, reopened.Append(ctx, Event{Action: ActionApprove, Tenant: "yongin", Actor: "kim"}))
		all, err := reopened.Query(ctx, "")
		require.NoError(t, err)
		assert.Len(t, all, 4)
		assert.NoError(t, reopened.Verify(ctx))
	})
}

// Services on several hosts append at once: the chain stays one chain.
func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		logs := []*Log{New(metadbtest.Open(t, cfg)), New(metadbtest.Open(t, cfg))}
		const writers, each = 6, 15
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for range each {
					assert.NoError(t, logs[w%2].Append(ctx, Event{Action: ActionDenied, Tenant: "suwon", Actor: "anonymous"}))
				}
			})
		}
		wg.Wait()
		all, err := logs[0].Query(ctx, "")
		require.NoError(t, err)
		assert.Len(t, all, writers*each)
		assert.NoError(t, logs[1].Verify(ctx))
	})
}

func TestTamperingIsDetected(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		db := metadbtest.Open(t, cfg)
		l := New(db)
		for _, who := range []string{"a", "b", "c"} {
			require.NoError(t, l.Append(ctx, Event{Action: ActionGrant, Tenant: "suwon", Actor: who}))
		}
		require.NoError(t, l.Verify(ctx))

		_, err := db.Exec(ctx, "UPDATE audit_events SET actor = ? WHERE actor = ?", "x", "b")
		require.NoError(t, err)
		assert.ErrorIs(t, l.Verify(ctx), ErrTampered)

		_, err = db.Exec(ctx, "UPDATE audit_events SET actor = ? WHERE actor = ?", "b", "x")
		require.NoError(t, err)
		require.NoError(t, l.Verify(ctx))
		_, err = db.Exec(ctx, "DELETE FROM audit_events WHERE seq = 2")
		require.NoError(t, err)
		assert.ErrorIs(t, l.Verify(ctx), ErrTampered, "a deleted entry breaks the chain")
	})
}

// An entry holds names and ids: a caller cannot make one arbitrarily large.
func TestOversizeFieldsAreCut(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		l := New(metadbtest.Open(t, cfg))
		huge := strings.Repeat("가", 300_000)
		require.NoError(t, l.Append(ctx, Event{Action: ActionDenied, Tenant: huge, Actor: huge, Subject: huge, Detail: huge}))
		all, err := l.Query(ctx, "")
		require.NoError(t, err)
		require.Len(t, all, 1)
		e := all[0]
		assert.LessOrEqual(t, len(e.Tenant)+len(e.Actor)+len(e.Subject)+len(e.Detail), 3*maxNameBytes+maxDetailBytes)
		assert.True(t, strings.HasSuffix(e.Detail, "...(cut)"))
		assert.True(t, strings.HasPrefix(e.Detail, "가가"), "cut on a character boundary")
		require.NoError(t, l.Verify(ctx))
	})
}
