package devstack_test

// The Temporal-on-PostgreSQL test runs against the cluster that .ci/postgres.sh
// starts: it reads $DURE_TEST_POSTGRES (a postgres:// URL without password) and
// $DURE_TEST_POSTGRES_PASSWORD_FILE, falling back to that script's defaults.
// Without a reachable database it skips loudly, except with CI=true, where it
// fails: CI must never pass without running it.

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dure-platform/dure/internal/devstack"
	"github.com/dure-platform/dure/internal/testlog"
)

const (
	postgresURLVar              = "DURE_TEST_POSTGRES"
	postgresPasswordFileVar     = "DURE_TEST_POSTGRES_PASSWORD_FILE"
	defaultTestPostgresURL      = "postgres://dure@127.0.0.1:5432/dure?sslmode=disable"
	defaultTestPostgresPassword = "/tmp/dure-postgres/dure.password"

	// The versions the server module's embedded schemas end at
	// (go.temporal.io/server/schema/postgresql/v12).
	latestTemporalSchema   = "1.19"
	latestVisibilitySchema = "1.14"
)

// requirePostgres returns the settings of the test database server (without
// database names) and an open session on the URL's own database, or skips (fails
// under CI=true) when there is none.
func requirePostgres(t *testing.T) (devstack.TemporalPostgres, *pgx.Conn) {
	t.Helper()
	settings, admin, err := probePostgres(t.Context())
	if err == nil {
		t.Cleanup(func() { _ = admin.Close(context.Background()) })
		return settings, admin
	}
	msg := fmt.Sprintf(`
################################################################################
##  TEMPORAL-ON-POSTGRESQL TEST NOT RUN: %v
##  Start PostgreSQL with:  eval "$(.ci/postgres.sh)"
##  then run the test again ($%s, $%s).
################################################################################`,
		err, postgresURLVar, postgresPasswordFileVar)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "\nCI=true: the PostgreSQL tests must run in CI.")
	}
	fmt.Fprintln(os.Stderr, msg) // seen without -v too
	t.Skip(msg)
	return devstack.TemporalPostgres{}, nil
}

func probePostgres(ctx context.Context) (devstack.TemporalPostgres, *pgx.Conn, error) {
	rawURL := cmp.Or(os.Getenv(postgresURLVar), defaultTestPostgresURL)
	passwordFile := cmp.Or(os.Getenv(postgresPasswordFileVar), defaultTestPostgresPassword)
	raw, err := os.ReadFile(passwordFile)
	if err != nil {
		return devstack.TemporalPostgres{}, nil, fmt.Errorf("read the password: %w", err)
	}
	password := strings.TrimSpace(string(raw))
	settings, err := devstack.TemporalPostgresFromURL(rawURL, password)
	if err != nil {
		return devstack.TemporalPostgres{}, nil, err
	}
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return devstack.TemporalPostgres{}, nil, errors.New("$" + postgresURLVar + " does not parse")
	}
	cfg.Password = password
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return devstack.TemporalPostgres{}, nil, fmt.Errorf("connect to %s: %w", settings.Address, err)
	}
	return settings, conn, nil
}

// useFreshDatabases points pg at two databases named for this run, and drops
// them when the test ends, so that runs are independent of each other.
func useFreshDatabases(t *testing.T, pg *devstack.TemporalPostgres, admin *pgx.Conn) {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	pg.Database = "temporal_test_" + hex.EncodeToString(suffix)
	pg.VisibilityDatabase = "temporal_visibility_test_" + hex.EncodeToString(suffix)
	t.Cleanup(func() {
		for _, db := range []string{pg.Database, pg.VisibilityDatabase} {
			if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("drop test database %s: %v", db, err)
			}
		}
	})
}

func greetingWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var greeting string
	err := workflow.ExecuteActivity(ctx, greetActivity, name).Get(ctx, &greeting)
	return greeting, err
}

func greetActivity(_ context.Context, name string) (string, error) { return "hello " + name, nil }

// TestTemporalOnPostgres starts the server on two fresh databases, runs a
// workflow, stops the server, starts it again on the same databases (the schema
// is only checked, not applied again) and reads the workflow back.
func TestTemporalOnPostgres(t *testing.T) {
	pg, admin := requirePostgres(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	useFreshDatabases(t, &pg, admin)

	var logs testlog.Buffer
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(&logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	const namespace = "dure-postgres-test"
	start := func(label string) *devstack.Temporal {
		t.Helper()
		port, err := devstack.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		srv, err := devstack.StartTemporal(ctx, devstack.TemporalConfig{
			Postgres: &pg, Host: "127.0.0.1", FrontendPort: port, Namespace: namespace, Logger: logger,
		})
		if err != nil {
			t.Fatalf("%s start: %v", label, err)
		}
		t.Logf("%s start: server ready (schema done, namespace registered) in %s", label, time.Since(began).Round(time.Millisecond))
		for _, c := range srv.SchemaChanges() {
			t.Logf("%s start: %s %q -> %q (created database: %v) in %s", label, c.Database, c.From, c.To, c.CreatedDatabase, c.Took.Round(time.Millisecond))
		}
		return srv
	}
	dial := func(srv *devstack.Temporal) client.Client {
		t.Helper()
		c, err := client.DialContext(ctx, client.Options{
			HostPort: srv.FrontendAddress(), Namespace: namespace,
			Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))),
		})
		if err != nil {
			t.Fatalf("dial %s: %v", srv.FrontendAddress(), err)
		}
		return c
	}
	run := func(c client.Client, id, name string) client.WorkflowRun {
		t.Helper()
		w := worker.New(c, "postgres-test", worker.Options{})
		w.RegisterWorkflowWithOptions(greetingWorkflow, workflow.RegisterOptions{Name: "PostgresGreeting"})
		w.RegisterActivity(greetActivity)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		began := time.Now()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "postgres-test"}, "PostgresGreeting", name)
		if err != nil {
			t.Fatalf("start workflow %s: %v", id, err)
		}
		var greeting string
		if err := run.Get(ctx, &greeting); err != nil {
			t.Fatalf("workflow %s: %v", id, err)
		}
		if greeting != "hello "+name {
			t.Fatalf("workflow %s returned %q", id, greeting)
		}
		t.Logf("workflow %s done in %s", id, time.Since(began).Round(time.Millisecond))
		return run
	}

	// First start: both databases are created and set up from version 0.
	first := start("fresh")
	wantSchema := map[string]string{pg.Database: latestTemporalSchema, pg.VisibilityDatabase: latestVisibilitySchema}
	for _, c := range first.SchemaChanges() {
		if c.From != "" || c.To != wantSchema[c.Database] || !c.CreatedDatabase {
			t.Errorf("fresh start: %+v, want a created database set up to %s", c, wantSchema[c.Database])
		}
	}
	c := dial(first)
	done := run(c, "postgres-before-restart", "postgres")
	t.Logf("sessions of the running server: %d", queryInt(ctx, t, pg, pg.Database,
		fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE datname IN ('%s', '%s')", pg.Database, pg.VisibilityDatabase)))
	c.Close()
	if err := first.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	updatesBefore := schemaUpdateCounts(ctx, t, pg)

	// Second start on the same databases: the update finds nothing to do, and
	// the history written before is still there.
	second := start("restart")
	defer func() {
		if err := second.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	for _, c := range second.SchemaChanges() {
		if c.From != wantSchema[c.Database] || c.To != c.From || c.CreatedDatabase {
			t.Errorf("restart: %+v, want %s left as it is", c, wantSchema[c.Database])
		}
	}
	if after := schemaUpdateCounts(ctx, t, pg); fmt.Sprint(after) != fmt.Sprint(updatesBefore) {
		t.Errorf("schema_update_history rows: %v before the restart, %v after", updatesBefore, after)
	}

	c = dial(second)
	defer c.Close()
	desc, err := c.DescribeWorkflowExecution(ctx, done.GetID(), done.GetRunID())
	if err != nil {
		t.Fatalf("describe after restart: %v", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("status after restart: %s", st)
	}
	var result string
	events := 0
	for it := c.GetWorkflowHistory(ctx, done.GetID(), done.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT); it.HasNext(); {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history after restart: %v", err)
		}
		events++
		if a := ev.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
			if err := converter.GetDefaultDataConverter().FromPayloads(a.GetResult(), &result); err != nil {
				t.Fatal(err)
			}
		}
	}
	if result != "hello postgres" {
		t.Fatalf("history after restart (%d events): result %q, want the completed workflow's", events, result)
	}
	t.Logf("history after restart: %d events, result %q", events, result)

	// Visibility (the second database) lists it too; its writes are asynchronous.
	query := fmt.Sprintf("WorkflowId = %q", done.GetID())
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility after restart: %v, %v", resp.GetExecutions(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The restarted server still runs new work.
	run(c, "postgres-after-restart", "again")

	if strings.Contains(logs.String(), pg.Password) {
		t.Error("the database password appears in the log")
	}
}

// schemaUpdateCounts counts the rows of Temporal's schema_update_history in both
// databases: a start that applied a version again would add some.
func schemaUpdateCounts(ctx context.Context, t *testing.T, pg devstack.TemporalPostgres) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, db := range []string{pg.Database, pg.VisibilityDatabase} {
		counts[db] = queryInt(ctx, t, pg, db, "SELECT count(*) FROM schema_update_history")
	}
	return counts
}

func queryInt(ctx context.Context, t *testing.T, pg devstack.TemporalPostgres, database, query string) int {
	t.Helper()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s@%s/%s?sslmode=%s", pg.User, pg.Address, database, cmp.Or(pg.SSLMode, "disable")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = pg.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		t.Fatalf("%s on %s: %v", query, database, err)
	}
	return n
}

// Two servers starting at once on new databases: both get through the schema
// work, which applies every version exactly once.
func TestPostgresSchemaSetupTwiceAtOnce(t *testing.T) {
	pg, admin := requirePostgres(t)
	useFreshDatabases(t, &pg, admin)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	results := make(chan []devstack.SchemaChange, 2)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			changes, err := devstack.PreparePostgresSchema(ctx, pg)
			results <- changes
			errs <- err
		}()
	}
	want := map[string]string{pg.Database: latestTemporalSchema, pg.VisibilityDatabase: latestVisibilitySchema}
	created := map[string]int{}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		for _, c := range <-results {
			if c.CreatedDatabase {
				created[c.Database]++
			}
			t.Logf("%s %q -> %q (created database: %v) in %s", c.Database, c.From, c.To, c.CreatedDatabase, c.Took.Round(time.Millisecond))
			if c.To != want[c.Database] {
				t.Errorf("%s ends at %q, want %s", c.Database, c.To, want[c.Database])
			}
		}
	}
	for db := range want {
		if created[db] != 1 {
			t.Errorf("%s: %d starters say they created it, want 1", db, created[db])
		}
		if dup := queryInt(ctx, t, pg, db, "SELECT count(*) - count(DISTINCT new_version) FROM schema_update_history"); dup != 0 {
			t.Errorf("%s: %d versions applied more than once", db, dup)
		}
	}
}

func TestTemporalPostgresFromURL(t *testing.T) {
	got, err := devstack.TemporalPostgresFromURL("postgres://dure@db.example:6432/dure?sslmode=verify-full&sslrootcert=/etc/ca.pem", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	want := devstack.TemporalPostgres{Address: "db.example:6432", User: "dure", Password: "s3cret", SSLMode: "verify-full", CAFile: "/etc/ca.pem"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, err := devstack.TemporalPostgresFromURL("postgres://dure@127.0.0.1/dure", ""); err != nil || got.Address != "127.0.0.1:5432" {
		t.Errorf("default port: %+v, %v", got, err)
	}
	_, err = devstack.TemporalPostgresFromURL("postgres://dure:hunter2@127.0.0.1/dure", "")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a URL with a password: %v, want an error without the password", err)
	}
	if _, err := devstack.TemporalPostgresFromURL("mysql://dure@127.0.0.1/dure", ""); err == nil {
		t.Error("a mysql URL was accepted")
	}
}

// The password never shows when the settings are printed or logged, nor in the
// errors of settings that are refused before any connection.
func TestTemporalPostgresKeepsThePasswordOut(t *testing.T) {
	const password = "do-not-print-me"
	pg := devstack.TemporalPostgres{Address: "127.0.0.1:5432", User: "dure", Password: password, Database: "temporal"}
	var logs testlog.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("settings", "postgres", pg)
	for what, text := range map[string]string{"%v": fmt.Sprintf("%v", pg), "%+v": fmt.Sprintf("%+v", pg), "%s": fmt.Sprintf("%s", pg), "slog": logs.String()} {
		if strings.Contains(text, password) {
			t.Errorf("%s shows the password: %s", what, text)
		}
	}

	for name, bad := range map[string]devstack.TemporalPostgres{
		"address":     {Address: "127.0.0.1", User: "dure"},
		"user":        {Address: "127.0.0.1:5432", User: "du re"},
		"database":    {Address: "127.0.0.1:5432", User: "dure", Database: "Temporal-DB"},
		"same":        {Address: "127.0.0.1:5432", User: "dure", Database: "t", VisibilityDatabase: "t"},
		"sslmode":     {Address: "127.0.0.1:5432", User: "dure", SSLMode: "prefer"},
		"unreachable": {Address: "127.0.0.1:1", User: "dure"},
	} {
		bad.Password = password
		port, err := devstack.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		_, err = devstack.StartTemporal(t.Context(), devstack.TemporalConfig{Postgres: &bad, Host: "127.0.0.1", FrontendPort: port, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err == nil {
			t.Errorf("%s: started with %v", name, bad)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
}
