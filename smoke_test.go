package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/golden-architecture/control-plane/internal/testenv"
)

func TestSmokeAgainstALiveServer(t *testing.T) {
	srv := testenv.Quick(t)
	getenv := func(k string) string {
		return map[string]string{"SMOKE_USERNAME": "admin", "SMOKE_PASSWORD": "admin123"}[k]
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"smoke", "--base-url", srv.BaseURL}, getenv, nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("smoke: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 7 {
		t.Fatalf("smoke printed %d lines, want one per step (7):\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok ") {
			t.Errorf("step line %q, want ok", l)
		}
	}
	// The reservation was released: nothing is left reserved on the smoke tenant.
	token := srv.Token(t, "admin")
	state := srv.Get(t, "/api/v1/budget/state?tenant_id=smoke-test&project_id=smoke", token).WantStatus(t, 200).Map(t)
	if state["reserved"] != float64(0) {
		t.Errorf("smoke tenant state = %v, want reserved 0", state)
	}
}

// TestSmokeAsATenantUser: a user bound to a tenant (the demo operator, in
// DEFAULT_TENANT) spends in its own tenant and skips the platform-level DLQ.
func TestSmokeAsATenantUser(t *testing.T) {
	srv := testenv.Quick(t)
	getenv := func(k string) string {
		return map[string]string{"SMOKE_USERNAME": "operator", "SMOKE_PASSWORD": "operator123"}[k]
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"smoke", "--base-url", srv.BaseURL}, getenv, nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("smoke: %v\n%s", err, out.String())
	}
	if got := out.String(); !strings.Contains(got, "tenant=default") || !strings.Contains(got, "ok   dlq list        skipped") {
		t.Errorf("output:\n%s\nwant the tenant named and the DLQ step skipped", got)
	}
	var n int64
	srv.App.DB().Table("budget_reservations").Where("tenant_id = ? AND project_id = ? AND status = ?", "default", "smoke", "released").Count(&n)
	if n != 1 {
		t.Errorf("released smoke reservations in tenant default = %d, want 1", n)
	}
}

func TestSmokeStopsAtFirstFailure(t *testing.T) {
	srv := testenv.Quick(t)
	getenv := func(k string) string {
		return map[string]string{"SMOKE_USERNAME": "admin", "SMOKE_PASSWORD": "wrong-password"}[k]
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"smoke", "--base-url", srv.BaseURL}, getenv, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"login"`) {
		t.Fatalf("smoke error = %v, want the login step to fail\n%s", err, out.String())
	}
	if got := out.String(); !strings.Contains(got, "ok   ready") || !strings.Contains(got, "FAIL login") || strings.Contains(got, " me ") {
		t.Errorf("output:\n%s\nwant ready ok, login FAIL, nothing after", got)
	}
}

func TestSmokeNeedsCredentials(t *testing.T) {
	err := run(context.Background(), []string{"smoke"}, func(string) string { return "" }, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SMOKE_USERNAME") {
		t.Errorf("err = %v, want it to name SMOKE_USERNAME", err)
	}
}
