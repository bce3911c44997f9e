package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/golden-architecture/control-plane/internal/testenv"
	"github.com/golden-architecture/control-plane/middleware"
)

// server runs handler behind the access log, metrics and error renderer on a
// real listener; served is signalled after each request has been fully handled.
func server(t *testing.T, handler gin.HandlerFunc) (url string, logs *testenv.SyncBuffer, reg *prometheus.Registry, served chan struct{}) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	logs = &testenv.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	reg = prometheus.NewRegistry()
	r := gin.New()
	r.Use(middleware.RequestID(), middleware.AccessLog(log), middleware.NewHTTPMetrics(reg).Handler(),
		middleware.Recovery(log), middleware.Errors(log))
	r.GET("/work", handler)
	served = make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req)
		served <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/work", logs, reg, served
}

// TestClientGoneIsNotAServerError: a client that hangs up while its request is
// being served makes the database or Redis call fail with context.Canceled.
// That is recorded as 499 at Info, not as a 500 "internal error".
func TestClientGoneIsNotAServerError(t *testing.T) {
	url, logs, reg, served := server(t, func(c *gin.Context) {
		<-c.Request.Context().Done() // a slow call, interrupted by the hang-up
		_ = c.Error(fmt.Errorf("write audit entry: %w", c.Request.Context().Err()))
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("client error = %v, want context.Canceled", err)
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not finish the request")
	}
	out := logs.String()
	for _, want := range []string{`level=INFO msg="client closed the request"`, `error="write audit entry: context canceled"`, "status=499"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "internal error") {
		t.Errorf("a hang-up was logged as an error:\n%s", out)
	}
	if n, n500 := testenv.MetricSum(t, reg, "http_requests_total", map[string]string{"status": "499"}), testenv.MetricSum(t, reg, "http_requests_total", map[string]string{"status": "500"}); n != 1 || n500 != 0 {
		t.Errorf("http_requests_total: status 499 = %v, 500 = %v; want 1 and 0", n, n500)
	}
}

// TestInternalErrorStaysAnError: the same error while the client is still
// there is a 500 in the one error shape, logged at Error.
func TestInternalErrorStaysAnError(t *testing.T) {
	url, logs, reg, served := server(t, func(c *gin.Context) {
		_ = c.Error(fmt.Errorf("write audit entry: %w", context.Canceled))
	})
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	<-served
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body.String(), `"error_code":"internal.error"`) ||
		strings.Contains(body.String(), "audit") {
		t.Errorf("answer = %d %s; want 500 internal.error without the cause", resp.StatusCode, body.String())
	}
	if out := logs.String(); !strings.Contains(out, `level=ERROR msg="internal error"`) || !strings.Contains(out, "status=500") {
		t.Errorf("log:\n%s", out)
	}
	if n := testenv.MetricSum(t, reg, "http_requests_total", map[string]string{"status": "500"}); n != 1 {
		t.Errorf("http_requests_total{status=500} = %v, want 1", n)
	}
}
