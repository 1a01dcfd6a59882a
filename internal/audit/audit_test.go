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
		l := New(metadbtest.Open(t, cfg), testKey)
		require.NoError(t, l.Append(ctx, Event{Action: ActionGrant, Tenant: "suwon", Actor: "onboarding", Subject: "token:abc"}))
		require.NoError(t, l.Append(ctx, Event{Action: ActionDenied, Tenant: "seongnam", Actor: "token:def", Detail: "classify"}))
		require.NoError(t, l.Append(ctx, Event{Action: ActionRevoke, Tenant: "suwon", Actor: "admin", Subject: "token:abc"}))

		suwon, err := l.Query(ctx, "suwon")
		require.NoError(t, err)
		require.Len(t, suwon, 2)
		assert.Equal(t, ActionGrant, suwon[0].Action)
		assert.Equal(t, int64(3), suwon[1].Seq)

		reopened := New(metadbtest.Open(t, cfg), testKey)
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
		logs := []*Log{New(metadbtest.Open(t, cfg), testKey), New(metadbtest.Open(t, cfg), testKey)}
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
		l := New(db, testKey)
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
		l := New(metadbtest.Open(t, cfg), testKey)
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

var testKey = []byte("audit-test-key-of-32-bytes-long!")

// Someone who can write the database but holds no key can neither rewrite an
// entry and recompute the chain, nor cut the chain short past an anchor.
func TestKeyedChainAndAnchors(t *testing.T) {
	metadbtest.Each(t, func(t *testing.T, cfg metadb.Config) {
		ctx := context.Background()
		db := metadbtest.Open(t, cfg)
		l := New(db, testKey)
		for _, who := range []string{"a", "b", "c", "d"} {
			require.NoError(t, l.Append(ctx, Event{Action: ActionGrant, Tenant: "suwon", Actor: who}))
		}
		anchor, err := l.Head(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(4), anchor.Seq)
		require.NoError(t, l.Verify(ctx, anchor))

		// A forger with the database only rewrites entry 3 and recomputes
		// every hash after it with the unkeyed scheme or another key.
		forger := New(db, []byte("a key of the forger's own choice"))
		events, err := l.Query(ctx, "")
		require.NoError(t, err)
		events[2].Actor = "x"
		prev := events[1].Hash
		for i := 2; i < len(events); i++ {
			events[i].PrevHash = prev
			events[i].Hash = forger.hashOf(events[i])
			prev = events[i].Hash
			_, err := db.Exec(ctx, "UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
				events[i].Actor, events[i].PrevHash, events[i].Hash, events[i].Seq)
			require.NoError(t, err)
		}
		assert.ErrorIs(t, l.Verify(ctx), ErrTampered, "a chain rewritten without the key")

		// Cutting the tail off leaves a valid chain, which the anchor exposes.
		db2 := metadbtest.Open(t, cfg)
		_, err = db2.Exec(ctx, "DELETE FROM audit_events WHERE seq >= 3")
		require.NoError(t, err)
		require.NoError(t, l.Verify(ctx), "what is left is a valid chain")
		assert.ErrorIs(t, l.Verify(ctx, anchor), ErrTampered, "but shorter than its anchor")
	})
}
