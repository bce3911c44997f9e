package drills

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/golden-architecture/control-plane/internal/dbtest"
	"github.com/golden-architecture/control-plane/internal/testenv"
)

// skipMessage is what every drill says when DRILLS is not set.
const skipMessage = "set DRILLS=1 to run the failure drills (they start 3 server processes, take minutes)"

// needDrills skips the test unless DRILLS=1.
func needDrills(t *testing.T) {
	t.Helper()
	if v := os.Getenv("DRILLS"); v == "" || v == "0" {
		t.Skip(skipMessage)
	}
}

// Local defaults when the TEST_* variables are not set.
const (
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
	defaultNATSURL     = "nats://127.0.0.1:4222"
)

// drillJWTSecret is shared by the replicas of a drill, so a token from one
// verifies on all (as behind a load balancer).
const drillJWTSecret = "drill-secret-drill-secret-drill-secret-0123456789"

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// clusterOptions describe the replicas of one drill.
type clusterOptions struct {
	// name names the drill's database, prefixes and log files.
	name string
	// replicas is the number of server processes (default 3).
	replicas int
	// redisDB is the drill's own Redis database number on the shared Redis.
	redisDB int
	// redisURL and natsURL replace the shared Redis and NATS (drills that
	// stop them start their own).
	redisURL, natsURL string
	// env overrides the variables of every replica.
	env map[string]string
}

// cluster is N replicas of the service on one database, Redis and NATS.
type cluster struct {
	t      *testing.T
	binary string
	id     string
	vars   map[string]string
	nodes  []*node

	dbOnce sync.Once
	db     *sql.DB
}

// node is one replica; it keeps its port and log file across restarts.
type node struct {
	name    string
	port    int
	logFile string

	mu     sync.Mutex
	proc   *testenv.Process
	starts int
}

// Proc is the replica's current process.
func (n *node) Proc() *testenv.Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// newCluster creates the drill's database and settings; start the replicas
// with startAll.
func newCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	if o.replicas == 0 {
		o.replicas = 3
	}
	id := randomHex(4)
	c := &cluster{t: t, binary: testenv.BuildBinary(t), id: id}
	dbURL := dbtest.CreateDatabase(t, envOr("TEST_DATABASE_URL", defaultDatabaseURL), "drill_"+o.name+"_"+id)

	redisURL := o.redisURL
	if redisURL == "" {
		redisURL = withRedisDB(t, envOr("TEST_REDIS_URL", defaultRedisURL), o.redisDB)
	}
	natsURL := o.natsURL
	if natsURL == "" {
		natsURL = envOr("TEST_NATS_URL", defaultNATSURL)
	}
	prefix := "drill" + o.name + id
	c.vars = map[string]string{
		"DATABASE_URL":       dbURL,
		"REDIS_URL":          redisURL,
		"NATS_URL":           natsURL,
		"JWT_SECRET":         drillJWTSecret,
		"SEED_DEMO_USERS":    "true",
		"BCRYPT_COST":        "4",
		"LOG_LEVEL":          "warn",
		"SHUTDOWN_TIMEOUT":   "10s",
		"REDIS_KEY_PREFIX":   prefix + ":",
		"RATE_LIMIT_PREFIX":  prefix + ":rl",
		"DLQ_STREAM":         "DRILL_" + strings.ToUpper(o.name) + "_" + id,
		"DLQ_SUBJECT_PREFIX": prefix,
		"DLQ_CONSUMER":       prefix,
	}
	for _, k := range []string{"ADMIN", "OPERATOR", "DEVELOPER", "OBSERVER", "ANONYMOUS", "LOGIN",
		"BUDGET_REQUEST", "BREAKER_RESET", "HEALTH"} {
		c.vars["RATE_LIMIT_"+k] = "1000000-M"
	}
	maps.Copy(c.vars, o.env)
	if o.natsURL == "" {
		// The shared NATS keeps streams across runs: drop this drill's
		// stream once the replicas are gone (cleanups run last-in first).
		t.Cleanup(func() { testenv.DeleteStream(t, natsURL, c.vars["DLQ_STREAM"]) })
	}
	dir := t.TempDir()
	for i := range o.replicas {
		name := fmt.Sprintf("r%d", i+1)
		c.nodes = append(c.nodes, &node{
			name: name, port: testenv.FreePort(t), logFile: filepath.Join(dir, name+".log"),
		})
	}
	return c
}

// withRedisDB replaces the database number of a redis:// URL.
func withRedisDB(t *testing.T, raw string, db int) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("redis URL %q: %v", raw, err)
	}
	u.Path = fmt.Sprintf("/%d", db)
	return u.String()
}

// startAll launches every replica at once and waits until all are ready.
func (c *cluster) startAll() {
	c.t.Helper()
	for i := range c.nodes {
		c.launch(i)
	}
	for i := range c.nodes {
		c.waitReady(i)
	}
}

// start (re)starts replica i on its port and waits until it is ready.
func (c *cluster) start(i int) {
	c.t.Helper()
	c.launch(i)
	c.waitReady(i)
}

func (c *cluster) launch(i int) {
	c.t.Helper()
	n := c.nodes[i]
	env := maps.Clone(c.vars)
	env["PORT"] = fmt.Sprint(n.port)
	n.mu.Lock()
	n.starts++
	env["INSTANCE_ID"] = fmt.Sprintf("%s-%s-%d", c.id, n.name, n.starts)
	n.mu.Unlock()
	p := testenv.Launch(c.t, c.binary, testenv.ProcessOptions{Env: env, LogFile: n.logFile, NoWait: true})
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
}

func (c *cluster) waitReady(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if err := n.Proc().WaitReady(90 * time.Second); err != nil {
		c.t.Fatalf("replica %s: %v\nlast lines of %s:\n%s", n.name, err, n.logFile, n.Proc().Tail(40))
	}
}

// urls are the replicas' base URLs (stable across restarts).
func (c *cluster) urls() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = fmt.Sprintf("http://127.0.0.1:%d", n.port)
	}
	return out
}

// DB is a connection pool to the drill's database, for checking invariants
// with plain SQL.
func (c *cluster) DB() *sql.DB {
	c.dbOnce.Do(func() {
		db, err := sql.Open("pgx", c.vars["DATABASE_URL"])
		if err != nil {
			c.t.Fatalf("open the drill database: %v", err)
		}
		db.SetMaxOpenConns(4)
		c.t.Cleanup(func() { _ = db.Close() })
		c.db = db
	})
	return c.db
}

// logLines returns the lines of every replica's log (all its starts) that
// contain any of needles.
func (c *cluster) logLines(needles ...string) []string {
	var out []string
	for _, n := range c.nodes {
		b, err := os.ReadFile(n.logFile)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, s := range needles {
				if strings.Contains(line, s) {
					out = append(out, n.name+": "+line)
					break
				}
			}
		}
	}
	return out
}

// errorLines are the ERROR-level lines of every replica's log.
func (c *cluster) errorLines() []string { return c.logLines(`"level":"ERROR"`) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// queryInt runs a query returning one integer.
func queryInt(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int64
	if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
