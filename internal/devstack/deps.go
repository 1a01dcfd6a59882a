package devstack

import (
	_ "github.com/temporalio/ui-server/v2/server"
	_ "github.com/versity/versitygw/backend/posix"
	_ "go.temporal.io/server/temporal"
)
