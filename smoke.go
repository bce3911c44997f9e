package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const smokeUsage = `usage: SMOKE_USERNAME=… SMOKE_PASSWORD=… control-plane smoke [--base-url URL] [--tenant ID]
Checks a live deployment step by step (readiness, login, identity, a budget
round trip, the DLQ listing, /metrics), one line per step; exits 1 at the
first failure. The user needs budget.spend. A user bound to a tenant spends
in its own tenant and skips the DLQ step (the DLQ is platform-level); a
platform admin spends in --tenant (default smoke-test) and lists the DLQ.
SMOKE_METRICS_TOKEN is sent to /metrics when METRICS_BEARER_TOKEN is on.
`

// smoke checks a live deployment the way a deployer would right after a
// release: readiness, login, identity, a budget round trip (on a dedicated
// tenant for a platform admin, in its own tenant for a tenant-bound user),
// the DLQ listing (platform admins only) and the metrics endpoint. It prints
// one line per step and stops at the first failure.
func smoke(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	base := fs.String("base-url", "http://127.0.0.1:8000", "base URL of the deployment")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout of each step")
	tenant := fs.String("tenant", "", "tenant of the budget round trip (default: smoke-test for a platform admin, the user's own otherwise)")
	if done, err := parseFlags(fs, smokeUsage, args, stdout); done || err != nil {
		return err
	}
	user, pass := getenv("SMOKE_USERNAME"), getenv("SMOKE_PASSWORD")
	if user == "" || pass == "" {
		return errors.New("set SMOKE_USERNAME and SMOKE_PASSWORD (a user with budget.spend)")
	}
	s := &smokeRun{base: strings.TrimRight(*base, "/"), client: &http.Client{Timeout: *timeout}, out: stdout}
	var (
		token, reservation string
		platform           bool
	)
	// budgetBody names the tenant: --tenant, or smoke-test for a platform
	// admin; a tenant-bound user's own tenant is implied.
	budgetBody := func(fields map[string]any) map[string]any {
		switch {
		case *tenant != "":
			fields["tenant_id"] = *tenant
		case platform:
			fields["tenant_id"] = "smoke-test"
		}
		return fields
	}
	steps := []struct {
		name string
		run  func(ctx context.Context) (string, error)
	}{
		{"ready", func(ctx context.Context) (string, error) {
			return s.call(ctx, "GET", "/health/ready", "", nil, http.StatusOK, nil)
		}},
		{"login", func(ctx context.Context) (string, error) {
			var out struct{ Token, Role string }
			msg, err := s.call(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": pass}, http.StatusOK, &out)
			token = out.Token
			if err == nil && token == "" {
				err = errors.New("no token in the answer")
			}
			return msg + " role=" + out.Role, err
		}},
		{"me", func(ctx context.Context) (string, error) {
			var out struct {
				Username string  `json:"username"`
				TenantID *string `json:"tenant_id"`
			}
			msg, err := s.call(ctx, "GET", "/api/v1/auth/me", token, nil, http.StatusOK, &out)
			platform = out.TenantID == nil
			where := "platform"
			if !platform {
				where = *out.TenantID
			}
			return msg + " username=" + out.Username + " tenant=" + where, err
		}},
		{"budget request", func(ctx context.Context) (string, error) {
			var out struct {
				ReservationID string `json:"reservation_id"`
			}
			msg, err := s.call(ctx, "POST", "/api/v1/budget/request", token, budgetBody(map[string]any{
				"project_id": "smoke", "task_id": fmt.Sprintf("smoke-%d", time.Now().UnixNano()),
				"model": "smoke", "estimated_tokens": 1, "purpose": "post-deploy smoke test",
			}), http.StatusOK, &out)
			reservation = out.ReservationID
			return msg + " reservation=" + reservation, err
		}},
		{"budget release", func(ctx context.Context) (string, error) {
			return s.call(ctx, "POST", "/api/v1/budget/release", token, budgetBody(map[string]any{
				"project_id": "smoke", "reservation_id": reservation,
			}), http.StatusOK, nil)
		}},
		{"dlq list", func(ctx context.Context) (string, error) {
			if !platform {
				return "skipped: the DLQ is platform-level and this user is bound to a tenant", nil
			}
			return s.call(ctx, "GET", "/api/v1/dlq?limit=1", token, nil, http.StatusOK, nil)
		}},
		{"metrics", func(ctx context.Context) (string, error) {
			return s.metrics(ctx, getenv("SMOKE_METRICS_TOKEN"))
		}},
	}
	for _, st := range steps {
		start := time.Now()
		msg, err := st.run(ctx)
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %-15s %s (%s): %v\n", st.name, msg, took, err)
			return fmt.Errorf("smoke step %q failed: %w", st.name, err)
		}
		fmt.Fprintf(stdout, "ok   %-15s %s (%s)\n", st.name, msg, took)
	}
	return nil
}

type smokeRun struct {
	base   string
	client *http.Client
	out    io.Writer
}

func (s *smokeRun) call(ctx context.Context, method, path, token string, body any, want int, out any) (string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return method + " " + path, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return method + " " + path, err
	}
	msg := fmt.Sprintf("%s %s → %d", method, path, resp.StatusCode)
	if resp.StatusCode != want {
		return msg, fmt.Errorf("want %d, body %s", want, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return msg, fmt.Errorf("decode answer: %w", err)
		}
	}
	return msg, nil
}

func (s *smokeRun) metrics(ctx context.Context, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/metrics", nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "GET /metrics", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	msg := fmt.Sprintf("GET /metrics → %d", resp.StatusCode)
	switch {
	case err != nil:
		return msg, err
	case resp.StatusCode != http.StatusOK:
		return msg, fmt.Errorf("want 200 (set SMOKE_METRICS_TOKEN when METRICS_BEARER_TOKEN is on)")
	case !bytes.Contains(raw, []byte("http_requests_total")):
		return msg, errors.New("http_requests_total is missing")
	}
	return msg, nil
}
