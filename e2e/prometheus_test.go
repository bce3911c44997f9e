package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

// TestPrometheusScrapesTheServer runs a real Prometheus (Debian's
// /usr/bin/prometheus) against a running server, with the metrics bearer
// token in its scrape config, and checks through Prometheus's query API that
// the HTTP and login counters arrived.
func TestPrometheusScrapesTheServer(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus binary not found in PATH; install it (Debian: apt-get install prometheus) to run the real scrape test")
	}
	const token = "e2e-metrics-token-0123456789"
	srv := testenv.Quick(t, "METRICS_BEARER_TOKEN", token)
	prom := startPrometheus(t, bin, strings.TrimPrefix(srv.HTTP.URL, "http://"), token)

	logins := promHasRoute(srv, http.MethodPost, "/api/v1/auth/login")
	drive := func() {
		srv.Get(t, "/health", "").WantStatus(t, http.StatusOK)
		srv.Get(t, "/", "").WantStatus(t, http.StatusOK)
		srv.Get(t, "/no/such/path", "").WantStatus(t, http.StatusNotFound)
		if logins {
			srv.Post(t, "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "wrong"}).
				WantStatus(t, http.StatusUnauthorized)
			srv.Token(t, "admin")
		}
	}
	drive()

	checks := []promCheck{
		{`up{job="control-plane"}`, promValueAtLeast(nil, 1)},
		{`http_requests_total{job="control-plane"}`, promValueAtLeast(map[string]string{"route": "/health", "method": "GET", "status": "200"}, 1)},
		{`http_requests_total{job="control-plane"}`, promValueAtLeast(map[string]string{"route": "unmatched", "status": "404"}, 1)},
		{`build_info{job="control-plane"}`, promValueAtLeast(map[string]string{"version": "test", "commit": "test"}, 1)},
	}
	if logins {
		checks = append(checks,
			promCheck{`auth_logins_total{job="control-plane"}`, promValueAtLeast(map[string]string{"result": "fail"}, 1)},
			promCheck{`auth_logins_total{job="control-plane"}`, promValueAtLeast(map[string]string{"result": "success"}, 1)},
		)
	} else {
		t.Log("POST /api/v1/auth/login is not registered yet; auth_logins_total is not checked")
	}

	deadline := time.Now().Add(20 * time.Second)
	for _, c := range checks {
		for {
			samples, err := prom.query(c.query)
			if err == nil {
				err = c.want(samples)
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after 20 s: %v\nprometheus log:\n%s", c.query, err, prom.log.String())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// promCheck is an instant query and what its answer must contain.
type promCheck struct {
	query string
	want  func([]promSample) error
}

// promServer is one Prometheus process started by a test.
type promServer struct {
	base string
	log  *testenv.SyncBuffer
}

// startPrometheus runs bin on a free loopback port with a generated config
// scraping target every second, its TSDB in a temporary directory, and stops
// it (this PID only) at cleanup.
func startPrometheus(t *testing.T, bin, target, token string) *promServer {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: control-plane
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: %q
    static_configs:
      - targets: [%q]
`, token, target)
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	log := &testenv.SyncBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	p := &promServer{base: "http://" + addr, log: log}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("prometheus exited at start:\n%s", log.String())
		default:
		}
		if resp, err := http.Get(p.base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 20 s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promSample is one element of an instant-vector answer.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// query runs an instant query through the HTTP API.
func (p *promServer) query(q string) ([]promSample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []promSample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if body.Status != "success" || body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("status %q, result type %q, error %q", body.Status, body.Data.ResultType, body.Error)
	}
	return body.Data.Result, nil
}

// promValueAtLeast wants a sample whose labels include labels with a value >= min.
func promValueAtLeast(labels map[string]string, min float64) func([]promSample) error {
	return func(samples []promSample) error {
	next:
		for _, s := range samples {
			for k, v := range labels {
				if s.Metric[k] != v {
					continue next
				}
			}
			if len(s.Value) != 2 {
				continue
			}
			str, _ := s.Value[1].(string)
			if v, err := strconv.ParseFloat(str, 64); err == nil && v >= min {
				return nil
			}
		}
		return fmt.Errorf("no sample with labels %v and value >= %v among %d samples: %v", labels, min, len(samples), samples)
	}
}

func promHasRoute(srv *testenv.Server, method, path string) bool {
	for _, r := range srv.App.Handler().(*gin.Engine).Routes() {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}
