package breaker

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// DatabaseFailure counts only connection-level errors: the database could not
// be reached or the connection broke. A constraint violation, a missing row
// or a statement the caller's deadline cut short are answers of a working
// database.
func DatabaseFailure(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		// Includes a connect cut short by the deadline and a refused login.
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08: connection exception; 57P01-03: the server is shutting
		// down, crashed, or starting up and cannot accept connections yet.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// The caller's deadline cut a statement short (context errors also
		// satisfy net.Error): not a sign of an unreachable database.
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF)
}

// redisUnavailable are the error replies of a Redis that answers but cannot
// serve (loading its dataset, a replica without its master, a cluster down).
var redisUnavailable = []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "READONLY"}

// RedisFailure counts every error except a missing key and an error reply of
// a Redis that served the command (a wrong type, a script error).
func RedisFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		for _, p := range redisUnavailable {
			if redis.HasErrorPrefix(err, p) {
				return true
			}
		}
		return false
	}
	return true
}

// NATSFailure counts every error except a JetStream API error of a working
// server (the stream refused the message) and a message NATS refuses by its
// form (bad subject, too large). An API error 503 (JetStream unavailable)
// counts.
func NATSFailure(err error) bool {
	if err == nil {
		return false
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code >= 500
	}
	return !errors.Is(err, nats.ErrBadSubject) && !errors.Is(err, nats.ErrMaxPayload) && !errors.Is(err, nats.ErrInvalidMsg)
}
