package breaker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// ResetMessage asks every replica to reset breakers: all of them, or Names.
type ResetMessage struct {
	// Origin is the sending process; it ignores its own message (it has
	// reset already).
	Origin string   `json:"origin"`
	All    bool     `json:"all"`
	Names  []string `json:"names,omitempty"`
}

// Broadcaster sends a reset to the other replicas.
type Broadcaster interface {
	Broadcast(ctx context.Context, m ResetMessage) error
}

// RedisBroadcast sends resets over a Redis pub/sub channel and applies the
// resets other replicas send. A replica whose subscription is down while a
// reset is sent misses it (pub/sub keeps nothing); the sender is told how
// many subscribers received it.
type RedisBroadcast struct {
	client  redis.UniversalClient
	channel string
	origin  string
	reg     *Registry
	guard   *Breaker // the Redis breaker, around each publish; nil: none
	timeout time.Duration
	log     *slog.Logger
}

// BroadcastOptions configure a RedisBroadcast.
type BroadcastOptions struct {
	// Channel is the pub/sub channel (under REDIS_KEY_PREFIX).
	Channel string
	// Guard is the Redis breaker, asked before each publish.
	Guard *Breaker
	// Timeout bounds a publish (REDIS_CALL_TIMEOUT).
	Timeout time.Duration
	Log     *slog.Logger
}

// NewRedisBroadcast returns the broadcaster of reg's resets on client.
func NewRedisBroadcast(client redis.UniversalClient, reg *Registry, o BroadcastOptions) *RedisBroadcast {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	return &RedisBroadcast{
		client: client, channel: o.Channel, origin: uuid.NewString(), reg: reg,
		guard: o.Guard, timeout: o.Timeout, log: o.Log,
	}
}

// Broadcast implements Broadcaster.
func (b *RedisBroadcast) Broadcast(ctx context.Context, m ResetMessage) error {
	m.Origin = b.origin
	payload, err := json.Marshal(m)
	if err != nil {
		return err
	}
	publish := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, b.timeout)
		defer cancel()
		return b.client.Publish(ctx, b.channel, payload).Err()
	}
	if b.guard != nil {
		err = b.guard.Do(ctx, publish)
	} else {
		err = publish(ctx)
	}
	if err != nil {
		return fmt.Errorf("publish the breaker reset: %w", err)
	}
	return nil
}

// Listen applies the resets other replicas send until ctx ends. go-redis
// resubscribes by itself after a connection loss (a Redis restart), checking
// an idle subscription every healthEvery.
func (b *RedisBroadcast) Listen(ctx context.Context) {
	ps := b.client.Subscribe(ctx, b.channel)
	defer func() { _ = ps.Close() }()
	msgs := ps.Channel(redis.WithChannelHealthCheckInterval(healthEvery))
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			b.apply(msg.Payload)
		}
	}
}

// healthEvery is how often an idle subscription is pinged.
const healthEvery = 5 * time.Second

// apply resets what a message from another replica asks for; names this
// process does not have are ignored (another version may have others).
func (b *RedisBroadcast) apply(payload string) {
	var m ResetMessage
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		b.log.Warn("ignoring a malformed breaker reset message", slog.Any("error", err))
		return
	}
	if m.Origin == b.origin {
		return
	}
	var names []string
	if m.All {
		names = b.reg.ResetAll()
	} else {
		for _, n := range m.Names {
			if b.reg.Reset(n) {
				names = append(names, n)
			}
		}
	}
	b.log.Info("circuit breakers reset at the request of another replica", slog.Any("breakers", names))
}
