package breaker_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/golden-architecture/control-plane/services/breaker"
)

// replyError is an error reply of a Redis server.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

var _ redis.Error = replyError("")

// connectError is a real pgconn.ConnectError: a connect to a closed port.
func connectError(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := pgconn.Connect(ctx, fmt.Sprintf("postgres://nobody@127.0.0.1:%d/none?sslmode=disable&connect_timeout=2", closedPort(t)))
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("connect to a closed port: %v, want a *pgconn.ConnectError", err)
	}
	return err
}

func TestClassifiers(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name     string
		classify breaker.Classifier
		err      error
		want     bool
	}{
		{"db nil", breaker.DatabaseFailure, nil, false},
		{"db connect error", breaker.DatabaseFailure, connectError(t), true},
		{"db net error", breaker.DatabaseFailure, fmt.Errorf("query: %w", refused), true},
		{"db bad conn", breaker.DatabaseFailure, fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{"db conn closed", breaker.DatabaseFailure, fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"db unexpected EOF", breaker.DatabaseFailure, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"db connection failure 08006", breaker.DatabaseFailure, &pgconn.PgError{Code: "08006"}, true},
		{"db admin shutdown", breaker.DatabaseFailure, &pgconn.PgError{Code: "57P01"}, true},
		{"db starting up", breaker.DatabaseFailure, &pgconn.PgError{Code: "57P03"}, true},
		{"db unique violation", breaker.DatabaseFailure, &pgconn.PgError{Code: "23505"}, false},
		{"db statement timeout", breaker.DatabaseFailure, &pgconn.PgError{Code: "57014"}, false},
		{"db duplicated key", breaker.DatabaseFailure, fmt.Errorf("create: %w", gorm.ErrDuplicatedKey), false},
		{"db not found", breaker.DatabaseFailure, gorm.ErrRecordNotFound, false},
		{"db caller deadline", breaker.DatabaseFailure, context.DeadlineExceeded, false},
		{"db other", breaker.DatabaseFailure, errors.New("SQL logic error: no such table"), false},

		{"redis nil", breaker.RedisFailure, nil, false},
		{"redis missing key", breaker.RedisFailure, fmt.Errorf("get: %w", redis.Nil), false},
		{"redis refused", breaker.RedisFailure, refused, true},
		{"redis call timeout", breaker.RedisFailure, fmt.Errorf("incr: %w", context.DeadlineExceeded), true},
		{"redis pool closed", breaker.RedisFailure, redis.ErrClosed, true},
		{"redis wrong type", breaker.RedisFailure, replyError("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"redis loading", breaker.RedisFailure, fmt.Errorf("x: %w", replyError("LOADING Redis is loading the dataset in memory")), true},
		{"redis readonly replica", breaker.RedisFailure, replyError("READONLY You can't write against a read only replica."), true},

		{"nats nil", breaker.NATSFailure, nil, false},
		{"nats timeout", breaker.NATSFailure, fmt.Errorf("publish: %w", nats.ErrTimeout), true},
		{"nats no responders", breaker.NATSFailure, nats.ErrNoResponders, true},
		{"nats closed", breaker.NATSFailure, nats.ErrConnectionClosed, true},
		{"nats deadline", breaker.NATSFailure, context.DeadlineExceeded, true},
		{"nats bad subject", breaker.NATSFailure, fmt.Errorf("publish: %w", nats.ErrBadSubject), false},
		{"nats too large", breaker.NATSFailure, nats.ErrMaxPayload, false},
		{"jetstream refusal", breaker.NATSFailure, fmt.Errorf("publish: %w", &jetstream.APIError{Code: 400, ErrorCode: 10060}), false},
		{"jetstream unavailable", breaker.NATSFailure, &jetstream.APIError{Code: 503, ErrorCode: 10039}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.classify(tt.err); got != tt.want {
				t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
