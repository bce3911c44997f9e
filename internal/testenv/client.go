package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Client sends requests to a server and decodes answers.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// NewClient returns a client of base. The timeout is generous: under -race on
// a small, busy machine hundreds of concurrent requests queue for a while, and
// the test's own deadline bounds the run anyway.
func NewClient(base string) *Client {
	return &Client{BaseURL: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 2 * time.Minute}}
}

// Response is an answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// ErrorBody is the one error shape, for assertions.
type ErrorBody struct {
	ErrorCode string         `json:"error_code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details"`
	RequestID string         `json:"request_id"`
}

// Error decodes the one error shape and checks it is complete.
func (r *Response) Error(t testing.TB) ErrorBody {
	t.Helper()
	var e ErrorBody
	r.JSON(t, &e)
	if e.ErrorCode == "" || e.Message == "" || e.RequestID == "" {
		t.Fatalf("error body %s lacks error_code, message or request_id", r.Body)
	}
	if got := r.Header.Get("X-Request-ID"); got != e.RequestID {
		t.Fatalf("X-Request-ID header %q != body request_id %q", got, e.RequestID)
	}
	return e
}

// WantError checks status and error_code.
func (r *Response) WantError(t testing.TB, status int, code string) ErrorBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	e := r.Error(t)
	if e.ErrorCode != code {
		t.Fatalf("error_code = %q, want %q; body %s", e.ErrorCode, code, r.Body)
	}
	return e
}

// WantStatus fails unless the answer has status.
func (r *Response) WantStatus(t testing.TB, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	return r
}

// Request describes one call. Body may be a string/[]byte (sent as is) or any
// value (sent as JSON).
type Request struct {
	Method string
	Path   string
	Body   any
	Token  string
	Header map[string]string
}

// Send performs req.
func (c *Client) Send(t testing.TB, req Request) *Response {
	t.Helper()
	resp, err := c.SendErr(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	return resp
}

// SendErr performs req and returns transport errors instead of failing
// (usable from goroutines).
func (c *Client) SendErr(req Request) (*Response, error) {
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(buf)
	}
	hreq, err := http.NewRequest(req.Method, c.BaseURL+req.Path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		hreq.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Get is a GET with an optional token.
func (c *Client) Get(t testing.TB, path, token string) *Response {
	t.Helper()
	return c.Send(t, Request{Method: http.MethodGet, Path: path, Token: token})
}

// Post is a POST of a JSON body with an optional token.
func (c *Client) Post(t testing.TB, path, token string, body any) *Response {
	t.Helper()
	return c.Send(t, Request{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

// DemoPasswords are the passwords of the demo users seeded in tests.
var DemoPasswords = map[string]string{
	"admin": "admin123", "operator": "operator123", "developer": "dev123", "observer": "obs123",
}

// Login logs in and returns the token.
func (c *Client) Login(t testing.TB, username, password string) string {
	t.Helper()
	r := c.Post(t, "/api/v1/auth/login", "", map[string]string{"username": username, "password": password})
	r.WantStatus(t, http.StatusOK)
	var body struct {
		Token string `json:"token"`
	}
	r.JSON(t, &body)
	if body.Token == "" {
		t.Fatalf("login answered no token: %s", r.Body)
	}
	return body.Token
}

// Token logs in as the demo user of role (admin, operator, developer, observer).
func (c *Client) Token(t testing.TB, role string) string {
	t.Helper()
	return c.Login(t, role, DemoPasswords[strings.ToLower(role)])
}
