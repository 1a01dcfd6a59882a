package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	postgresplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	schematool "go.temporal.io/server/tools/common/schema"
	toolsql "go.temporal.io/server/tools/sql"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TemporalPostgres selects PostgreSQL persistence for the Temporal server: the
// same server code as on SQLite, with the schema Temporal's own SQL tooling sets
// up. The role needs CREATEDB only when the databases do not exist yet.
type TemporalPostgres struct {
	// Address is the PostgreSQL server's host:port.
	Address string
	// User is the login role; it owns (or may create tables in) both databases.
	User string
	// Password is the role's password as the caller read it from a file or the
	// environment. It goes to the database driver only: never into logs or errors.
	Password string
	// Database holds workflow state, task queues and cluster metadata
	// (default "temporal").
	Database string
	// VisibilityDatabase holds the searchable workflow list (default
	// "temporal_visibility").
	VisibilityDatabase string
	// AdminDatabase is the database connected to when one of the two above has to
	// be created (default "postgres").
	AdminDatabase string
	// SSLMode is libpq's sslmode: disable (default), require, verify-ca or
	// verify-full.
	SSLMode string
	// CAFile is a PEM file of the CAs that sign the server's certificate, for
	// verify-ca and verify-full; empty uses the system's roots.
	CAFile string
	// HistoryShards is the number of history shards (default 4). It is fixed when
	// the database is first set up: later starts use the stored number.
	HistoryShards int32
}

// Defaults of TemporalPostgres.
const (
	DefaultTemporalDatabase           = "temporal"
	DefaultTemporalVisibilityDatabase = "temporal_visibility"
	defaultPostgresAdminDatabase      = "postgres"
	defaultPostgresHistoryShards      = 4
)

// Schemas embedded in the server module, by the name its tooling knows them by.
const (
	postgresSchemaDefault    = "postgresql/v12/temporal"
	postgresSchemaVisibility = "postgresql/v12/visibility"
)

// SQLSTATE codes the setup reacts to.
const (
	pgInvalidCatalogName = "3D000" // the database does not exist
	pgDuplicateDatabase  = "42P04" // created by someone else in the meantime
	// A CREATE DATABASE that races another one for the same name can also fail
	// on pg_database's unique index instead.
	pgUniqueViolation = "23505"
)

// schemaLockKey names the advisory lock that serialises schema work between
// servers that start at the same time on the same database.
const schemaLockKey int64 = 0x64757265_74656d70 // "duretemp"

// String leaves the password out, so that printing the settings cannot leak it.
func (p TemporalPostgres) String() string {
	return fmt.Sprintf("postgres://%s@%s/%s (visibility %s, sslmode %s)", p.User, p.Address, p.Database, p.VisibilityDatabase, p.SSLMode)
}

// LogValue leaves the password out of structured logs.
func (p TemporalPostgres) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("address", p.Address), slog.String("user", p.User),
		slog.String("database", p.Database), slog.String("visibility_database", p.VisibilityDatabase),
		slog.String("sslmode", p.SSLMode),
	)
}

// TemporalPostgresFromURL reads the address, user, sslmode and sslrootcert of a
// postgres:// URL (such as $DURE_TEST_POSTGRES); the URL's own database is not
// Temporal's and is ignored. The password comes separately, and a URL that
// carries one is refused, so that secrets stay out of command lines and env dumps.
func TemporalPostgresFromURL(rawURL, password string) (TemporalPostgres, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's errors quote the input, which could hold a password.
		return TemporalPostgres{}, errors.New("postgres URL does not parse")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return TemporalPostgres{}, fmt.Errorf("postgres URL: scheme %q, want postgres", u.Scheme)
	}
	if _, set := u.User.Password(); set {
		return TemporalPostgres{}, errors.New("postgres URL carries a password: give it in a file instead")
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	q := u.Query()
	return TemporalPostgres{
		Address:  net.JoinHostPort(host, port),
		User:     u.User.Username(),
		Password: password,
		SSLMode:  q.Get("sslmode"),
		CAFile:   q.Get("sslrootcert"),
	}, nil
}

// Temporal's SQL tooling and driver put names into statements and the DSN
// unquoted, so only plain identifiers are accepted.
var (
	postgresDatabaseName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	postgresUserName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,62}$`)
)

func (p TemporalPostgres) withDefaults() TemporalPostgres {
	if p.Database == "" {
		p.Database = DefaultTemporalDatabase
	}
	if p.VisibilityDatabase == "" {
		p.VisibilityDatabase = DefaultTemporalVisibilityDatabase
	}
	if p.AdminDatabase == "" {
		p.AdminDatabase = defaultPostgresAdminDatabase
	}
	if p.SSLMode == "" {
		p.SSLMode = "disable"
	}
	if p.HistoryShards == 0 {
		p.HistoryShards = defaultPostgresHistoryShards
	}
	return p
}

func (p TemporalPostgres) validate() error {
	if _, _, err := net.SplitHostPort(p.Address); err != nil {
		return fmt.Errorf("postgres address %q: %w", p.Address, err)
	}
	if !postgresUserName.MatchString(p.User) {
		return fmt.Errorf("postgres user %q: want letters, digits, _ . -", p.User)
	}
	for _, db := range []string{p.Database, p.VisibilityDatabase, p.AdminDatabase} {
		if !postgresDatabaseName.MatchString(db) {
			return fmt.Errorf("postgres database %q: want lower-case letters, digits and _", db)
		}
	}
	if p.Database == p.VisibilityDatabase {
		return fmt.Errorf("postgres: workflow state and visibility need two databases, both are %q", p.Database)
	}
	switch p.SSLMode {
	case "disable", "require", "verify-ca", "verify-full":
	default:
		return fmt.Errorf("postgres sslmode %q: want disable, require, verify-ca or verify-full", p.SSLMode)
	}
	if p.HistoryShards < 1 {
		return fmt.Errorf("postgres: %d history shards, want at least 1", p.HistoryShards)
	}
	return nil
}

// connectAttributes are the DSN parameters both the server and setup use.
func (p TemporalPostgres) connectAttributes() map[string]string {
	attrs := map[string]string{"sslmode": p.SSLMode}
	if p.CAFile != "" {
		attrs["sslrootcert"] = p.CAFile
	}
	return attrs
}

// sqlConfig is the server's data store for one database. The pool limits follow
// Temporal's sample PostgreSQL configuration; every service in this process has
// its own pool, so they also keep the total under PostgreSQL's default of 100.
func (p TemporalPostgres) sqlConfig(database string) *config.SQL {
	return &config.SQL{
		PluginName:        postgresplugin.PluginNamePGX,
		ConnectAddr:       p.Address,
		ConnectProtocol:   "tcp",
		User:              p.User,
		Password:          p.Password,
		DatabaseName:      database,
		ConnectAttributes: p.connectAttributes(),
		MaxConns:          10,
		MaxIdleConns:      10,
		MaxConnLifetime:   time.Hour,
	}
}

// persistence is the server's persistence section: one store per database.
func (p TemporalPostgres) persistence() config.Persistence {
	return config.Persistence{
		DefaultStore:     "postgres-default",
		VisibilityStore:  "postgres-visibility",
		NumHistoryShards: p.HistoryShards,
		DataStores: map[string]config.DataStore{
			"postgres-default":    {SQL: p.sqlConfig(p.Database)},
			"postgres-visibility": {SQL: p.sqlConfig(p.VisibilityDatabase)},
		},
	}
}

// connect opens one session on database. The password is set on the parsed
// config rather than written into the connection string, so no parse error can
// quote it.
func (p TemporalPostgres) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	q := url.Values{}
	for k, v := range p.connectAttributes() {
		q.Set(k, v)
	}
	dsn := (&url.URL{Scheme: "postgres", User: url.User(p.User), Host: p.Address, Path: "/" + database, RawQuery: q.Encode()}).String()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres settings: %w", err)
	}
	cfg.Password = p.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres database %s at %s: %w", database, p.Address, err)
	}
	return conn, nil
}

func hasSQLState(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// SchemaChange says what the setup did to one database.
type SchemaChange struct {
	Database string
	// From is the version found, empty for a database without Temporal's schema.
	From string
	// To is the version after the setup: the latest the server module ships.
	To string
	// CreatedDatabase says whether the database itself had to be created.
	CreatedDatabase bool
	Took            time.Duration
}

// preparePostgres creates the two databases if missing, sets the versioned
// schema up on a new one and updates an existing one to the server's version.
// It is safe to run on every start, and from two servers at once.
func preparePostgres(ctx context.Context, p TemporalPostgres, serverLog log.Logger) ([]SchemaChange, error) {
	changes := make([]SchemaChange, 0, 2)
	for _, db := range []struct{ name, schema string }{
		{p.Database, postgresSchemaDefault},
		{p.VisibilityDatabase, postgresSchemaVisibility},
	} {
		change, err := migratePostgresDatabase(ctx, p, db.name, db.schema, serverLog)
		if err != nil {
			return nil, err
		}
		changes = append(changes, change)
	}
	return changes, nil
}

func migratePostgresDatabase(ctx context.Context, p TemporalPostgres, database, schemaName string, serverLog log.Logger) (SchemaChange, error) {
	began := time.Now()
	change := SchemaChange{Database: database}
	lockConn, err := p.connect(ctx, database)
	if hasSQLState(err, pgInvalidCatalogName) {
		if change.CreatedDatabase, err = createPostgresDatabase(ctx, p, database); err != nil {
			return change, err
		}
		lockConn, err = p.connect(ctx, database)
	}
	if err != nil {
		return change, err
	}
	defer func() { _ = lockConn.Close(context.WithoutCancel(ctx)) }()

	// The tooling's update skips statements whose objects already exist, but two
	// servers writing the version tables at once could still trip over each other.
	// Closing the session (deferred above) releases the lock.
	if err := lockSchema(ctx, lockConn); err != nil {
		return change, fmt.Errorf("lock the schema of %s: %w", database, err)
	}

	tool, err := toolsql.NewConnection(p.sqlConfig(database), serverLog)
	if err != nil {
		return change, fmt.Errorf("open %s for Temporal's schema tool: %w", database, err)
	}
	defer tool.Close()
	if version, err := tool.ReadSchemaVersion(); err == nil {
		change.From = version
	}

	// What temporal-sql-tool's setup-schema -v 0.0 and update-schema do: the
	// version tables first (a no-op when present), then every versioned step
	// after the stored version.
	setup := schematool.NewSetupSchemaTask(tool, &schematool.SetupConfig{InitialVersion: "0.0"}, serverLog)
	if err := setup.Run(); err != nil {
		return change, fmt.Errorf("set up the schema version tables of %s: %w", database, err)
	}
	update := schematool.NewUpdateSchemaTask(tool, &schematool.UpdateConfig{SchemaName: schemaName}, serverLog)
	if err := update.Run(); err != nil {
		return change, fmt.Errorf("update the schema of %s: %w", database, err)
	}
	if change.To, err = tool.ReadSchemaVersion(); err != nil {
		return change, fmt.Errorf("read the schema version of %s: %w", database, err)
	}
	change.Took = time.Since(began)
	return change, nil
}

// lockSchema takes the schema lock of the session's database, polling rather
// than blocking: a waiting pg_advisory_lock is a running statement, and the
// CREATE INDEX CONCURRENTLY steps of the visibility schema wait for every running
// statement in the database to end, so the holder would wait for the waiter
// (through a second session, which PostgreSQL's deadlock detector cannot see).
func lockSchema(ctx context.Context, conn *pgx.Conn) error {
	for {
		var locked bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", schemaLockKey).Scan(&locked); err != nil {
			return err
		}
		if locked {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createPostgresDatabase creates database; false when another starter created
// it in the meantime.
func createPostgresDatabase(ctx context.Context, p TemporalPostgres, database string) (bool, error) {
	conn, err := p.connect(ctx, p.AdminDatabase)
	if err != nil {
		return false, fmt.Errorf("create database %s: %w", database, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{database}.Sanitize())
	switch {
	case err == nil:
		return true, nil
	case hasSQLState(err, pgDuplicateDatabase), hasSQLState(err, pgUniqueViolation):
		return false, nil
	default:
		return false, fmt.Errorf("create database %s (the role needs CREATEDB, or create it beforehand): %w", database, err)
	}
}

// registerNamespace registers namespace through the frontend unless it exists.
// On SQLite the namespace row is written before the server starts; on PostgreSQL
// the public API is the supported way, and the server's namespace registry reads
// a name it has not cached straight from the database, so the namespace is usable
// at once. The SDK retries while the frontend is still coming up.
func registerNamespace(ctx context.Context, frontend string, cfg TemporalConfig, retention time.Duration, logger *slog.Logger) error {
	namespace := cfg.Namespace
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	opts := client.Options{HostPort: frontend, Logger: sdklog.NewStructuredLogger(logger)}
	if cfg.TLS != nil {
		tlsCfg, err := cfg.TLS.clientConfig(cfg.Host)
		if err != nil {
			return err
		}
		opts.ConnectionOptions.TLS = tlsCfg
	}
	nc, err := client.NewNamespaceClient(opts)
	if err != nil {
		return fmt.Errorf("namespace client for %s: %w", frontend, err)
	}
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %q: %w", namespace, err)
	}
	return nil
}

// describeChanges is a short log attribute for the schema work of one start.
func describeChanges(changes []SchemaChange) []any {
	attrs := make([]any, 0, 2*len(changes))
	for _, c := range changes {
		what := "updated " + c.From + " -> " + c.To
		switch {
		case c.From == "":
			what = "set up " + c.To
		case c.From == c.To:
			what = "at " + c.To
		}
		if c.CreatedDatabase {
			what = "created, " + what
		}
		attrs = append(attrs, slog.String(c.Database, what+" in "+c.Took.Round(time.Millisecond).String()))
	}
	return attrs
}
