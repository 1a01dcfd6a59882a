package tenancy

import (
	"context"
	"testing"

	"github.com/dure-platform/dure/internal/metadb"
	"github.com/dure-platform/dure/internal/metadb/metadbtest"
)

// BenchmarkAuthenticate measures the gateway's per-request token check on
// each engine of the metadata database.
func BenchmarkAuthenticate(b *testing.B) {
	metadbtest.EachBenchmark(b, func(b *testing.B, cfg metadb.Config) {
		ctx := context.Background()
		s := newTestKey(b).open(b, cfg)
		plain, _, err := s.IssueToken(ctx, "suwon", RoleTenantClient)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Authenticate(ctx, plain); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
