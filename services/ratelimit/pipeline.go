package ratelimit

import (
	"context"
	"crypto/sha1" // #nosec G505 -- Redis names a script by its SHA-1; not a security use
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/common"
)

// Every request counted against a limit costs one Redis command, and the
// round trip of one command at a time (a write syscall, a read, a wake-up)
// was the largest part of an authenticated request's CPU time. The store
// combines the calls of this process that arrive while a pipeline is in
// flight into the next pipeline: an idle store sends a call at once, a busy
// one sends the calls that waited, up to maxPipeline, as soon as the previous
// pipeline is answered. Each command is the same atomic script on its own
// key, so every caller gets exactly its own count, and replicas still share
// exact limits.
const maxPipeline = 128

// incrScript is ulule/limiter's "incr" script, byte for byte, so its SHA is
// the one that replicas running ulule's store load, and the counters keep the
// same meaning: INCRBY, and on a new counter the window's PEXPIRE.
const incrScript = `
local key = KEYS[1]
local count = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local ret = redis.call("incrby", key, ARGV[1])
if ret == count then
	if ttl > 0 then
		redis.call("pexpire", key, ARGV[2])
	end
	return {ret, ttl}
end
ttl = redis.call("pttl", key)
return {ret, ttl}
`

// NewRedisStore returns a store shared by every replica using client (built
// with redisconn.NewBounded, so a down Redis costs one call timeout). Keys
// are "<prefix>:<scope>:<key>", as in ulule/limiter's Redis store. It needs
// no Redis to be built: the script is sent by its SHA and loaded (EVAL) by
// the first call that finds it missing, so the service starts during an
// outage and enforces limits as soon as Redis is back, or restarted.
func NewRedisStore(client *redis.Client, prefix string) Store {
	sum := sha1.Sum([]byte(incrScript)) // #nosec G401 -- the script's name in Redis
	return &redisStore{client: client, prefix: prefix, sha: hex.EncodeToString(sum[:])}
}

type redisStore struct {
	client *redis.Client
	prefix string
	sha    string

	mu    sync.Mutex
	busy  bool         // a pipeline is in flight
	queue []*redisCall // calls waiting for the next pipeline
}

// redisCall is one caller's command and, once done is closed, its answer.
type redisCall struct {
	ctx    context.Context
	key    string
	period time.Duration
	count  int64 // the counter after this call
	ttl    int64 // the counter's time to live, in ms
	err    error
	done   chan struct{}
}

// Get implements Store: it counts one request and returns the counter. A
// caller whose context ends while it waits for a pipeline gets the context's
// error (its command may still be counted, as a command that timed out
// after Redis received it always could).
func (s *redisStore) Get(ctx context.Context, key string, rate Rate) (limiter.Context, error) {
	c := &redisCall{ctx: ctx, key: s.prefix + ":" + key, period: rate.Period, done: make(chan struct{})}
	s.mu.Lock()
	if s.busy {
		s.queue = append(s.queue, c)
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return limiter.Context{}, fmt.Errorf("redis rate limit store: %w", ctx.Err())
		}
	} else {
		s.busy = true
		s.mu.Unlock()
		s.send([]*redisCall{c})
		if next := s.next(); len(next) > 0 {
			go s.drain(next)
		}
	}
	if c.err != nil {
		return limiter.Context{}, fmt.Errorf("redis rate limit store: %w", c.err)
	}
	now := time.Now()
	expiration := now.Add(rate.Period)
	if c.ttl > 0 {
		expiration = now.Add(time.Duration(c.ttl) * time.Millisecond)
	}
	return common.GetContextFromState(now, rate, expiration, c.count), nil
}

// drain sends pipelines until no call waits.
func (s *redisStore) drain(batch []*redisCall) {
	for len(batch) > 0 {
		s.send(batch)
		batch = s.next()
	}
}

// next takes the calls of the next pipeline, skipping those whose caller has
// gone, or marks the store idle when none waits.
func (s *redisStore) next() []*redisCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var batch []*redisCall
	n := 0
	for n < len(s.queue) && len(batch) < maxPipeline {
		if c := s.queue[n]; c.ctx.Err() == nil {
			batch = append(batch, c)
		}
		n++
	}
	s.queue = s.queue[n:]
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
	}
	if len(batch) == 0 && len(s.queue) == 0 {
		s.busy = false
	}
	return batch
}

// send runs the calls of batch in one pipeline and answers each of them. The
// pipeline lasts as long as the most patient caller allows: no caller's
// cancellation fails the others' commands, and each caller stops waiting at
// its own deadline.
func (s *redisStore) send(batch []*redisCall) {
	ctx, cancel := batchContext(batch)
	defer cancel()
	cmds := s.eval(ctx, batch, false)
	var missing []*redisCall
	for i, c := range batch {
		if err := cmds[i].Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			missing = append(missing, c)
			continue
		}
		c.answer(cmds[i])
	}
	if len(missing) > 0 {
		// Redis restarted or its script cache was flushed: EVAL loads it.
		for i, cmd := range s.eval(ctx, missing, true) {
			missing[i].answer(cmd)
		}
	}
}

// eval sends the script for each call in one pipeline: by SHA, or the whole
// script (EVAL) when full.
func (s *redisStore) eval(ctx context.Context, batch []*redisCall, full bool) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(batch))
	// Each command's error is its own; the pipeline's is the first of them.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range batch {
			keys, ttl := []string{c.key}, c.period.Milliseconds()
			if full {
				cmds[i] = p.Eval(ctx, incrScript, keys, 1, ttl)
			} else {
				cmds[i] = p.EvalSha(ctx, s.sha, keys, 1, ttl)
			}
		}
		return nil
	})
	return cmds
}

// answer sets the call's result from cmd and wakes its caller.
func (c *redisCall) answer(cmd *redis.Cmd) {
	defer close(c.done)
	vals, err := cmd.Slice()
	if err != nil {
		c.err = err
		return
	}
	var ok1, ok2 bool
	if len(vals) == 2 {
		c.count, ok1 = vals[0].(int64)
		c.ttl, ok2 = vals[1].(int64)
	}
	if !ok1 || !ok2 {
		c.err = errors.New("the rate limit script answered something else than {count, ttl}")
	}
}

// batchContext is the context of one pipeline: the values of its first call
// (trace ids), the latest deadline of its calls, no caller's cancellation.
func batchContext(batch []*redisCall) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, c := range batch {
		d, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(batch[0].ctx)) // the client's own timeouts bound it
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), last)
}
