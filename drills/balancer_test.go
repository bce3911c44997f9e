package drills

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// balancer is the load balancer of the drills: round robin over the
// replicas, moving on to the next replica when a connection is refused (the
// replica is down or stopped listening) and nothing else. Every other
// transport error is returned to the caller, which decides whether a retry
// is safe.
type balancer struct {
	urls   []string
	client *http.Client
	next   atomic.Uint64

	// refused counts connections refused and retried elsewhere.
	refused atomic.Int64
	// replayed counts requests the HTTP transport itself sent twice because
	// the connection broke before an answer came (it does that only for
	// replayable requests, GET or a body with an Idempotency-Key header,
	// on a reused keep-alive connection) and the second send was answered.
	replayed atomic.Int64
	// lost counts sends written to a replica that never answered them (the
	// replica died, or closed the connection): the caller retries them
	// elsewhere, which is safe only because every drill request is
	// idempotent.
	lost atomic.Int64
}

// newBalancer returns a balancer over urls keeping up to conns idle
// connections per replica. Its idle connections are closed at cleanup,
// before the replicas stop, so that their shutdown waits for nothing.
func newBalancer(t *testing.T, urls []string, conns int) *balancer {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * len(urls),
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &balancer{urls: urls, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// call is one request.
type call struct {
	method string
	path   string
	token  string
	// body is sent as is when it is []byte or string, as JSON otherwise.
	body any
	// stream, when set, makes a fresh body for each attempt (a slow
	// upload); it replaces body.
	stream func() io.Reader
	header map[string]string
}

// answer is one response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
	// node is the replica that answered.
	node int
	// sent and at are when the request left and the answer arrived.
	sent, at time.Time
	// lost says that an earlier send of this request was written to a
	// replica that never answered it.
	lost bool
}

// json decodes the body into v.
func (a answer) json(v any) error { return json.Unmarshal(a.body, v) }

// errorCode is the error_code of an error answer ("" when there is none).
func (a answer) errorCode() string {
	var e struct {
		ErrorCode string `json:"error_code"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.ErrorCode
}

// refusedConn reports a connection refused: the replica is not listening.
func refusedConn(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// send balances c over the replicas.
func (b *balancer) send(ctx context.Context, c call) (answer, error) {
	return b.sendFrom(ctx, int(b.next.Add(1)%uint64(len(b.urls))), c)
}

// sendFrom tries replica first, then the next ones in turn while their
// connections are refused; after a whole round of refusals it waits a moment
// and goes round again, until ctx ends.
func (b *balancer) sendFrom(ctx context.Context, first int, c call) (answer, error) {
	n := len(b.urls)
	lost := false
	for round := 0; ; round++ {
		for k := range n {
			i := (first + k) % n
			a, err := b.sendTo(ctx, i, c)
			lost = lost || a.lost
			a.lost = lost
			if !refusedConn(err) {
				return a, err
			}
			b.refused.Add(1)
		}
		select {
		case <-ctx.Done():
			return answer{}, fmt.Errorf("every replica refused connections: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sendTo sends c to replica i only.
func (b *balancer) sendTo(ctx context.Context, i int, c call) (answer, error) {
	var body io.Reader
	switch v := c.body.(type) {
	case nil:
		if c.stream != nil {
			body = c.stream()
		}
	case []byte:
		body = bytes.NewReader(v)
	case string:
		body = bytes.NewReader([]byte(v))
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			return answer{}, err
		}
		body = bytes.NewReader(buf)
	}
	var writes atomic.Int64
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(w httptrace.WroteRequestInfo) {
		if w.Err == nil {
			writes.Add(1)
		}
	}})
	req, err := http.NewRequestWithContext(ctx, c.method, b.urls[i]+c.path, body)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	a := answer{node: i, sent: time.Now()}
	resp, err := b.client.Do(req)
	switch n := writes.Load(); {
	case err != nil && n > 0:
		a.lost = true
		b.lost.Add(n)
	case n > 1:
		a.lost = true
		b.lost.Add(n - 1)
		b.replayed.Add(1)
	}
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	a.body, err = io.ReadAll(resp.Body)
	a.status, a.header, a.at = resp.StatusCode, resp.Header, time.Now()
	return a, err
}

// login returns a token of a demo user, asking any replica.
func (b *balancer) login(ctx context.Context, user, password string) (string, error) {
	a, err := b.send(ctx, call{method: http.MethodPost, path: "/api/v1/auth/login",
		body: map[string]string{"username": user, "password": password}})
	if err != nil {
		return "", err
	}
	var out struct {
		Token string `json:"token"`
	}
	if a.status != http.StatusOK || a.json(&out) != nil || out.Token == "" {
		return "", fmt.Errorf("login %s: %d %s", user, a.status, a.body)
	}
	return out.Token, nil
}
