package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPrometheusScrapesTheAPI(t *testing.T) {
	cfg := readYAML(t, "prometheus.yml")
	if got := list(cfg["rule_files"]); !slices.Contains(got, any("alerts.yml")) {
		t.Errorf("rule_files = %v, want it to contain alerts.yml", got)
	}
	var job any
	for _, sc := range list(cfg["scrape_configs"]) {
		if str(dig(sc, "job_name")) == "control-plane" {
			job = sc
		}
	}
	if job == nil {
		t.Fatal(`no scrape config with job_name "control-plane"`)
	}
	if got := str(dig(job, "static_configs", 0, "targets", 0)); got != "api:8000" {
		t.Errorf("target = %q, want %q (the compose service)", got, "api:8000")
	}
	if got := str(dig(job, "metrics_path")); got != "/metrics" {
		t.Errorf("metrics_path = %q, want /metrics", got)
	}
}

// TestAlertsReachTheWebhook follows an alert from Prometheus to the receiver:
// Prometheus sends to the compose service, whose route ends at a webhook
// read from the file the compose command writes ALERT_WEBHOOK_URL into.
func TestAlertsReachTheWebhook(t *testing.T) {
	services := composeServices(t)
	if _, ok := services["alertmanager"]; !ok {
		t.Fatal("docker-compose.yml has no alertmanager service")
	}
	prom := readYAML(t, "prometheus.yml")
	if got := str(dig(prom, "alerting", "alertmanagers", 0, "static_configs", 0, "targets", 0)); got != "alertmanager:9093" {
		t.Errorf("prometheus sends alerts to %q, want alertmanager:9093", got)
	}
	am := readYAML(t, "alertmanager.yml")
	receivers := map[string]any{}
	for _, r := range list(am["receivers"]) {
		receivers[str(dig(r, "name"))] = r
	}
	routed := []string{str(dig(am, "route", "receiver"))}
	for _, r := range list(dig(am, "route", "routes")) {
		routed = append(routed, str(dig(r, "receiver")))
	}
	command := strings.Join(func() []string {
		var s []string
		for _, c := range list(dig(services["alertmanager"], "command")) {
			s = append(s, str(c))
		}
		return s
	}(), " ")
	for _, name := range routed {
		file := str(dig(receivers[name], "webhook_configs", 0, "url_file"))
		if file == "" {
			t.Errorf("route to receiver %q, which has no webhook url_file", name)
			continue
		}
		if !strings.Contains(command, `"$$ALERT_WEBHOOK_URL" > `+file) {
			t.Errorf("receiver %q reads %s, but the compose command does not write ALERT_WEBHOOK_URL there: %s", name, file, command)
		}
		if got := str(dig(receivers[name], "webhook_configs", 0, "send_resolved")); got != "true" {
			t.Errorf("receiver %q: send_resolved = %q, want true", name, got)
		}
	}
	if got := str(dig(services["alertmanager"], "environment", "ALERT_WEBHOOK_URL")); got != "${ALERT_WEBHOOK_URL:-}" {
		t.Errorf("alertmanager ALERT_WEBHOOK_URL = %q, want ${ALERT_WEBHOOK_URL:-}", got)
	}
}

func TestAlertRules(t *testing.T) {
	doc := readYAML(t, "alerts.yml")
	rules := map[string]any{}
	for _, g := range list(doc["groups"]) {
		for _, r := range list(dig(g, "rules")) {
			if name := str(dig(r, "alert")); name != "" {
				rules[name] = r
			}
		}
	}
	tests := []struct {
		alert  string
		metric string // a metric the expression must use
	}{
		{"ControlPlaneHigh5xxRatio", `http_requests_total`},
		{"ControlPlaneHighLatencyP99", `histogram_quantile(0.99`},
		{"ControlPlaneHighLatencyP99", `http_request_duration_seconds_bucket`},
		{"ControlPlaneLoginFailureBurst", `auth_logins_total`},
		{"ControlPlaneCircuitBreakerOpen", `circuit_breaker_state`},
		{"ControlPlaneDLQGrowing", `dlq_unresolved`},
		{"ControlPlaneBudgetInsufficientBurst", `status="insufficient"`},
	}
	for _, tt := range tests {
		t.Run(tt.alert+" uses "+tt.metric, func(t *testing.T) {
			r, ok := rules[tt.alert]
			if !ok {
				t.Fatalf("alert %s missing from alerts.yml", tt.alert)
			}
			if expr := str(dig(r, "expr")); !strings.Contains(expr, tt.metric) {
				t.Errorf("expr %q does not contain %q", expr, tt.metric)
			}
		})
	}
	for name, r := range rules {
		t.Run(name+" is actionable", func(t *testing.T) {
			for _, field := range [][]any{{"for"}, {"labels", "severity"}, {"annotations", "summary"}, {"annotations", "description"}} {
				if str(dig(r, field...)) == "" {
					t.Errorf("%v is empty", field)
				}
			}
			if sev := str(dig(r, "labels", "severity")); sev != "warning" && sev != "critical" {
				t.Errorf("severity = %q, want warning or critical", sev)
			}
		})
	}
}

// dashboardPanels returns every panel of a dashboard, including those nested
// in collapsed rows.
func dashboardPanels(panels []any) []map[string]any {
	var out []map[string]any
	for _, p := range panels {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, m)
		out = append(out, dashboardPanels(list(m["panels"]))...)
	}
	return out
}

// readDashboard parses the Grafana dashboard JSON.
func readDashboard(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("grafana/dashboards/control-plane.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	return dash
}

// dashboardExprs returns the PromQL expression of every panel target.
func dashboardExprs(dash map[string]any) []string {
	var exprs []string
	for _, p := range dashboardPanels(list(dash["panels"])) {
		for _, tg := range list(p["targets"]) {
			if e := str(dig(tg, "expr")); e != "" {
				exprs = append(exprs, e)
			}
		}
	}
	return exprs
}

func TestDashboard(t *testing.T) {
	dash := readDashboard(t)
	ds := readYAML(t, "grafana/provisioning/datasources/prometheus.yml")
	uid := str(dig(ds, "datasources", 0, "uid"))
	if uid == "" {
		t.Fatal("provisioned datasource has no uid for the dashboard to refer to")
	}
	if got := str(dig(ds, "datasources", 0, "url")); got != "http://prometheus:9090" {
		t.Errorf("datasource url = %q, want http://prometheus:9090", got)
	}
	if got := str(dash["schemaVersion"]); got != "39" {
		t.Errorf("schemaVersion = %s, want 39", got)
	}
	if str(dash["uid"]) == "" || str(dash["title"]) == "" {
		t.Error("dashboard needs a uid and a title")
	}

	exprs := strings.Join(dashboardExprs(dash), "\n")
	for _, metric := range []string{
		"http_request_duration_seconds_bucket",
		"http_requests_total",
		`status=~"5.."`,
		`budget_requests_total{job=~"$job",namespace=~"$namespace",instance=~"$instance",status="approved"}`,
		`auth_logins_total{job=~"$job",namespace=~"$namespace",instance=~"$instance",result="fail"}`,
		"circuit_breaker_state",
		"dlq_unresolved",
		"dlq_ingested_total",
		`sum by (state) (rate(tasks_total{job=~"$job",namespace=~"$namespace",instance=~"$instance"}[5m]))`,
		"escalations_open",
		`sum by (decision) (rate(learning_proposals_total{job=~"$job",namespace=~"$namespace",instance=~"$instance"}[5m]))`,
		`sum by (outcome) (rate(reviews_total{job=~"$job",namespace=~"$namespace",instance=~"$instance"}[5m]))`,
		"llm_requests_total",
		"llm_tokens_total",
		"llm_cost_usd_total",
		"llm_request_duration_seconds_bucket",
		"llm_time_to_first_token_seconds_bucket",
		"llm_early_starts_total",
	} {
		t.Run("uses "+metric, func(t *testing.T) {
			if !strings.Contains(exprs, metric) {
				t.Errorf("no panel expression contains %q", metric)
			}
		})
	}

	t.Run("panels use the provisioned datasource", func(t *testing.T) {
		for _, p := range dashboardPanels(list(dash["panels"])) {
			if p["type"] == "row" {
				continue
			}
			refs := []any{p["datasource"]}
			for _, tg := range list(p["targets"]) {
				refs = append(refs, dig(tg, "datasource"))
			}
			for _, ref := range refs {
				if got := str(dig(ref, "uid")); got != uid {
					t.Errorf("panel %q: datasource uid %q, want %q", p["title"], got, uid)
				}
			}
		}
	})

	// The job is "control-plane" in compose and with the ServiceMonitor, but
	// whatever the pod-annotation scrape calls it otherwise; namespace exists
	// only in Kubernetes. Every query filters by both through variables.
	t.Run("job and namespace are variables", func(t *testing.T) {
		vars := map[string]any{}
		for _, v := range list(dig(dash, "templating", "list")) {
			vars[str(dig(v, "name"))] = v
		}
		for _, name := range []string{"job", "namespace", "instance"} {
			if str(dig(vars[name], "type")) != "query" {
				t.Errorf("no query variable %q", name)
			}
		}
		if got := str(dig(vars["job"], "current", "value")); got != "control-plane" {
			t.Errorf("job variable defaults to %q, want control-plane (the compose and ServiceMonitor job)", got)
		}
		if got := str(dig(vars["namespace"], "allValue")); got != ".*" || str(dig(vars["namespace"], "includeAll")) != "true" {
			t.Errorf("namespace variable: includeAll %v, allValue %q; want All = .* so compose series without the label match", dig(vars["namespace"], "includeAll"), got)
		}
		for _, expr := range append(dashboardExprs(dash), str(dig(vars["instance"], "query", "query"))) {
			selectors := regexp.MustCompile(`\{[^}]*\}`).FindAllString(expr, -1)
			if len(selectors) == 0 {
				t.Errorf("query %s selects no label", expr)
			}
			for _, sel := range selectors {
				if !strings.Contains(sel, `job=~"$job"`) || !strings.Contains(sel, `namespace=~"$namespace"`) {
					t.Errorf("selector %s in %s: want job=~\"$job\" and namespace=~\"$namespace\"", sel, expr)
				}
			}
		}
	})

	t.Run("panel ids are unique", func(t *testing.T) {
		seen := map[string]bool{}
		for _, p := range dashboardPanels(list(dash["panels"])) {
			id := str(p["id"])
			if seen[id] {
				t.Errorf("panel id %s used twice", id)
			}
			seen[id] = true
		}
	})
}
