package devstack

import (
	"context"

	"go.temporal.io/server/common/log"
)

// PreparePostgresSchema runs the schema work of a PostgreSQL start on its own.
func PreparePostgresSchema(ctx context.Context, p TemporalPostgres) ([]SchemaChange, error) {
	return preparePostgres(ctx, p.withDefaults(), log.NewNoopLogger())
}
