package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Client is a keep-alive HTTP client sized for the run's concurrency.
type Client struct {
	base string
	http *http.Client
	// servers holds one client per base URL when there are several (-base-url
	// a,b,c: replicas of one service); For picks a worker's.
	servers []*Client
}

// NewClient returns a client of base with one idle connection per worker.
// base may list several servers separated by commas; calls made through c
// go to the first, calls made through For(w) spread the workers over all.
func NewClient(base string, concurrency int) *Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        concurrency * 2,
		MaxIdleConnsPerHost: concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	bases := baseURLs(base)
	c := &Client{base: bases[0], http: hc}
	if len(bases) > 1 {
		for _, b := range bases {
			c.servers = append(c.servers, &Client{base: b, http: hc})
		}
	}
	return c
}

// For is the client worker w calls through: with several servers, worker w
// uses server w mod n, so the workers (and their load) spread evenly.
func (c *Client) For(w int) *Client {
	if len(c.servers) == 0 {
		return c
	}
	return c.servers[w%len(c.servers)]
}

// baseURLs splits a -base-url list, without trailing slashes.
func baseURLs(list string) []string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = strings.TrimRight(strings.TrimSpace(p), "/")
	}
	return parts
}

// Do sends one request and reads the whole answer; the duration covers both.
func (c *Client) Do(ctx context.Context, method, path, token string, body any) (int, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, b, time.Since(start), err
}

// Call is Do that records the call (a 2xx answer that out cannot decode counts
// as an error) and decodes a 2xx JSON answer into out.
func (c *Client) Call(ctx context.Context, rec *Recorder, method, path, token string, body, out any) (int, error) {
	status, b, d, err := c.Do(ctx, method, path, token, body)
	if ctx.Err() != nil {
		return 0, ctx.Err() // the run ended mid-call: not the server's failure, not recorded
	}
	if err == nil && out != nil && statusOK(status) {
		if uerr := json.Unmarshal(b, out); uerr != nil {
			err = fmt.Errorf("%s %s: decode: %w", method, path, uerr)
		}
	}
	rec.Observe(d, status, err)
	return status, err
}

// Login returns a token for user.
func (c *Client) Login(ctx context.Context, user, pass string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	status, b, _, err := c.Do(ctx, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": user, "password": pass})
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("login as %s: %d %s", user, status, b)
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("login as %s: no token in %s", user, b)
	}
	return out.Token, nil
}
