package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"
)

var scenarios = []Scenario{
	{Name: "health", Setup: setupHealth},
	{Name: "me", Setup: setupMe},
	{Name: "login", Setup: setupLogin},
	{Name: "budget-cycle", Setup: setupBudgetCycle},
	{Name: "overspend", Setup: setupOverspend},
	{Name: "dlq-list", Setup: setupDLQList},
	{Name: "get", Setup: setupGet},
}

// ScenarioNames lists the scenarios in their documented order.
func ScenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return names
}

// LookupScenario finds a scenario by name.
func LookupScenario(name string) (Scenario, bool) {
	i := slices.IndexFunc(scenarios, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return scenarios[i], true
}

type afterFunc = func(ctx context.Context) (map[string]any, error)

func setupHealth(_ context.Context, c *Client, _ Options) (Worker, afterFunc, error) {
	return func(ctx context.Context, w, _ int, rec *Recorder) {
		_, _ = c.For(w).Call(ctx, rec, http.MethodGet, "/health/live", "", nil, nil)
	}, nil, nil
}

func setupMe(ctx context.Context, c *Client, o Options) (Worker, afterFunc, error) {
	token, err := c.Login(ctx, o.Username, o.Password)
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, w, _ int, rec *Recorder) {
		_, _ = c.For(w).Call(ctx, rec, http.MethodGet, "/api/v1/auth/me", token, nil, nil)
	}, nil, nil
}

func setupLogin(_ context.Context, c *Client, o Options) (Worker, afterFunc, error) {
	body := map[string]string{"username": o.Username, "password": o.Password}
	return func(ctx context.Context, w, _ int, rec *Recorder) {
		_, _ = c.For(w).Call(ctx, rec, http.MethodPost, "/api/v1/auth/login", "", body, nil)
	}, nil, nil
}

func runID() string { return fmt.Sprintf("lt%d", time.Now().UnixNano()) }

func setLimit(ctx context.Context, c *Client, token, tenant, project string, limit int64) error {
	status, b, _, err := c.Do(ctx, http.MethodPut, "/api/v1/budget/limits", token,
		map[string]any{"tenant_id": tenant, "project_id": project, "total_limit": limit})
	if err != nil {
		return err
	}
	if !statusOK(status) {
		return fmt.Errorf("set limit of %s/%s: %d %s", tenant, project, status, b)
	}
	return nil
}

// setupBudgetCycle reserves then commits, per worker on its own budget, all
// on one hot budget (-hot), or spread over -budgets budgets (worker w takes
// budget (w + i × workers) mod budgets for the run's ith cycle, so every
// budget is used when there are more budgets than workers). With -tenant it uses that
// tenant's budgets p0, p1, … (a prefilled ledger) instead of fresh ones.
func setupBudgetCycle(ctx context.Context, c *Client, o Options) (Worker, afterFunc, error) {
	token, err := c.Login(ctx, o.Username, o.Password)
	if err != nil {
		return nil, nil, err
	}
	id, prefix := runID(), ""
	if o.Tenant != "" {
		id, prefix = o.Tenant, "p"
	}
	budgets := o.Concurrency
	switch {
	case o.HotBudget:
		budgets = 1
	case o.Budgets > 0:
		budgets = o.Budgets
	}
	for b := range budgets {
		if err := setLimit(ctx, c, token, id, fmt.Sprint(prefix, b), 1_000_000_000); err != nil {
			return nil, nil, err
		}
	}
	var committed atomic.Int64
	work := func(ctx context.Context, w, i int, rec *Recorder) {
		project := fmt.Sprint(prefix, (w+i*o.Concurrency)%budgets)
		c := c.For(w)
		var res struct {
			ReservationID string `json:"reservation_id"`
		}
		status, err := c.Call(ctx, rec, http.MethodPost, "/api/v1/budget/request", token, map[string]any{
			"tenant_id": id, "project_id": project, "task_id": fmt.Sprintf("t%d", i), "model": "load", "estimated_tokens": o.Tokens,
		}, &res)
		if err != nil || status != http.StatusOK {
			return
		}
		status, err = c.Call(ctx, rec, http.MethodPost, "/api/v1/budget/commit", token, map[string]any{
			"tenant_id": id, "project_id": project, "reservation_id": res.ReservationID, "actual_tokens": o.Tokens,
		}, nil)
		if err == nil && status == http.StatusOK {
			committed.Add(1)
		}
	}
	after := func(context.Context) (map[string]any, error) {
		return map[string]any{"cycles_committed": committed.Load(), "budgets": budgets, "tenant": id}, nil
	}
	return work, after, nil
}

// setupOverspend sends R (= -n) concurrent requests of E tokens against a
// fresh limit T and then checks the stored state: approved tokens must never
// exceed T.
func setupOverspend(ctx context.Context, c *Client, o Options) (Worker, afterFunc, error) {
	token, err := c.Login(ctx, o.Username, o.Password)
	if err != nil {
		return nil, nil, err
	}
	tenant := runID()
	if err := setLimit(ctx, c, token, tenant, "overspend", o.Limit); err != nil {
		return nil, nil, err
	}
	var approved, insufficient atomic.Int64
	work := func(ctx context.Context, w, i int, rec *Recorder) {
		status, _ := c.For(w).Call(ctx, rec, http.MethodPost, "/api/v1/budget/request", token, map[string]any{
			"tenant_id": tenant, "project_id": "overspend", "task_id": fmt.Sprintf("t%d", i), "model": "load", "estimated_tokens": o.Tokens,
		}, nil)
		switch status {
		case http.StatusOK:
			approved.Add(1)
		case http.StatusConflict:
			insufficient.Add(1)
		}
	}
	after := func(ctx context.Context) (map[string]any, error) {
		var state struct {
			Total    int64 `json:"total"`
			Reserved int64 `json:"reserved"`
			Used     int64 `json:"used"`
		}
		status, b, _, err := c.Do(ctx, http.MethodGet, "/api/v1/budget/state?tenant_id="+tenant+"&project_id=overspend", token, nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("budget state: %d %s", status, b)
		}
		if err := json.Unmarshal(b, &state); err != nil {
			return nil, err
		}
		approvedTokens := approved.Load() * o.Tokens
		return overspendFigures(o.Limit, approvedTokens, approved.Load(), insufficient.Load(), state.Reserved), nil
	}
	return work, after, nil
}

func overspendFigures(limit, approvedTokens, approved, insufficient, reserved int64) map[string]any {
	return map[string]any{
		"limit":           limit,
		"approved":        approved,
		"insufficient":    insufficient,
		"approved_tokens": approvedTokens,
		"state_reserved":  reserved,
		"over_allocation": max(0, approvedTokens-limit, reserved-limit),
	}
}

func setupDLQList(ctx context.Context, c *Client, o Options) (Worker, afterFunc, error) {
	token, err := c.Login(ctx, o.Username, o.Password)
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, w, _ int, rec *Recorder) {
		_, _ = c.For(w).Call(ctx, rec, http.MethodGet, "/api/v1/dlq?limit=50", token, nil, nil)
	}, nil, nil
}

// setupGet sends GET -path with the login's token: one page of a list, such
// as the first or the last page of /budget/reservations or /audit.
func setupGet(ctx context.Context, c *Client, o Options) (Worker, afterFunc, error) {
	token, err := c.Login(ctx, o.Username, o.Password)
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, w, _ int, rec *Recorder) {
		_, _ = c.For(w).Call(ctx, rec, http.MethodGet, o.Path, token, nil, nil)
	}, nil, nil
}
