// Package drills holds the failure drills of docs/RELIABILITY.md: tests that
// start three real server processes on one PostgreSQL, Redis and NATS, put
// them under load, break something on purpose (SIGKILL a replica, restart
// NATS, stop Redis, SIGTERM under load, race migrations, send garbage) and
// then check the invariants that must survive it.
//
// They take minutes, so they run only with DRILLS=1:
//
//	DRILLS=1 go test -count=1 -v ./drills/
//
// PostgreSQL, Redis and NATS are those of TEST_DATABASE_URL, TEST_REDIS_URL
// and TEST_NATS_URL, or the local defaults (127.0.0.1:5432, :6379, :4222).
// Each drill gets its own database, Redis database number and key prefix,
// and NATS stream and subject prefix. The drills that stop a store (NATS,
// Redis) start their own nats-server or redis-server on a free port and
// never touch the shared ones. All traffic stays on 127.0.0.1.
package drills
