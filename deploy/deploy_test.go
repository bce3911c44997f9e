package deploy

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// readYAMLDocs parses every document of a YAML file into a map; a file may
// hold several documents separated by "---" lines.
func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var docs []map[string]any
	for i, part := range strings.Split("\n"+string(data), "\n---") {
		if strings.TrimSpace(stripComments(part)) == "" {
			continue
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
			t.Fatalf("parse %s document %d: %v", path, i, err)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML document", path)
	}
	return docs
}

// readYAML parses a single-document YAML file.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := readYAMLDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: got %d documents, want 1", path, len(docs))
	}
	return docs[0]
}

// stripComments drops whole-line comments so a part holding only comments
// counts as empty.
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// dig follows map keys and list indexes (ints) through decoded YAML or JSON;
// it returns nil when a step is missing.
func dig(v any, path ...any) any {
	for _, step := range path {
		switch key := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[key]
		case int:
			l, ok := v.([]any)
			if !ok || key >= len(l) {
				return nil
			}
			v = l[key]
		default:
			return nil
		}
	}
	return v
}

// str renders a decoded scalar for comparison, whatever numeric type the
// decoder chose.
func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// list returns a decoded sequence, or nil.
func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func TestEveryYAMLFileParses(t *testing.T) {
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml", "k8s/*.yaml", "grafana/provisioning/*/*.yml", "../docker-compose.yml"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatalf("glob %s: %v", pattern, err)
		}
		files = append(files, matches...)
	}
	if len(files) < 10 {
		t.Fatalf("got %d YAML files (%v), want at least 10: did a directory move?", len(files), files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			readYAMLDocs(t, f)
		})
	}
}

// k8sObject returns the one object of the given kind among the manifests.
func k8sObject(t *testing.T, kind string) map[string]any {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var found []map[string]any
	for _, f := range files {
		for _, doc := range readYAMLDocs(t, f) {
			if doc["kind"] == kind {
				found = append(found, doc)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d objects of kind %s in deploy/k8s, want 1", len(found), kind)
	}
	return found[0]
}

func TestDeployment(t *testing.T) {
	d := k8sObject(t, "Deployment")
	pod := dig(d, "spec", "template", "spec")
	containers := list(dig(pod, "containers"))
	if len(containers) != 1 {
		t.Fatalf("got %d containers, want 1", len(containers))
	}
	c := containers[0]

	tests := []struct {
		name string
		got  any
		want string
	}{
		{"replicas", dig(d, "spec", "replicas"), "2"},
		{"liveness path", dig(c, "livenessProbe", "httpGet", "path"), "/health/live"},
		{"readiness path", dig(c, "readinessProbe", "httpGet", "path"), "/health/ready"},
		{"container port", dig(c, "ports", 0, "containerPort"), "8000"},
		{"pod runAsNonRoot", dig(pod, "securityContext", "runAsNonRoot"), "true"},
		{"container runAsNonRoot", dig(c, "securityContext", "runAsNonRoot"), "true"},
		{"readOnlyRootFilesystem", dig(c, "securityContext", "readOnlyRootFilesystem"), "true"},
		{"allowPrivilegeEscalation", dig(c, "securityContext", "allowPrivilegeEscalation"), "false"},
		{"capabilities dropped", dig(c, "securityContext", "capabilities", "drop", 0), "ALL"},
		{"configmap envFrom", dig(c, "envFrom", 0, "configMapRef", "name"), str(dig(k8sObject(t, "ConfigMap"), "metadata", "name"))},
		{"secret envFrom", dig(c, "envFrom", 1, "secretRef", "name"), "control-plane-secrets"},
		{"memory limit", dig(c, "resources", "limits", "memory"), "512Mi"},
		{"cpu request", dig(c, "resources", "requests", "cpu"), "100m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := str(tt.got); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("writable emptyDirs", func(t *testing.T) {
		volumes := map[string]bool{}
		for _, v := range list(dig(pod, "volumes")) {
			if dig(v, "emptyDir") != nil {
				volumes[str(dig(v, "name"))] = true
			}
		}
		mounted := map[string]bool{}
		for _, m := range list(dig(c, "volumeMounts")) {
			if volumes[str(dig(m, "name"))] {
				mounted[str(dig(m, "mountPath"))] = true
			}
		}
		for _, path := range []string{"/data", "/tmp"} {
			if !mounted[path] {
				t.Errorf("%s is not an emptyDir mount; with a read-only root filesystem the api cannot write there", path)
			}
		}
	})
}

func TestScalingObjectsTargetTheDeployment(t *testing.T) {
	d := k8sObject(t, "Deployment")
	name := str(dig(d, "metadata", "name"))
	podLabels, _ := dig(d, "spec", "template", "metadata", "labels").(map[string]any)
	hpa := k8sObject(t, "HorizontalPodAutoscaler")
	pdb := k8sObject(t, "PodDisruptionBudget")
	svc := k8sObject(t, "Service")

	tests := []struct {
		name string
		got  any
		want string
	}{
		{"hpa api version", hpa["apiVersion"], "autoscaling/v2"},
		{"hpa target", dig(hpa, "spec", "scaleTargetRef", "name"), name},
		{"hpa min replicas", dig(hpa, "spec", "minReplicas"), "2"},
		{"hpa metric", dig(hpa, "spec", "metrics", 0, "resource", "name"), "cpu"},
		{"pdb minAvailable", dig(pdb, "spec", "minAvailable"), "1"},
		{"service port", dig(svc, "spec", "ports", 0, "port"), "8000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := str(tt.got); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	selectors := map[string]any{
		"pdb":     dig(pdb, "spec", "selector", "matchLabels"),
		"service": dig(svc, "spec", "selector"),
	}
	for name, sel := range selectors {
		t.Run(name+" selector matches pods", func(t *testing.T) {
			m, _ := sel.(map[string]any)
			if len(m) == 0 {
				t.Fatal("empty selector")
			}
			for k, v := range m {
				if str(podLabels[k]) != str(v) {
					t.Errorf("selector %s=%v, pod label %s=%v", k, v, k, podLabels[k])
				}
			}
		})
	}
}

func TestKustomizationListsManifestsButNotTheExampleSecret(t *testing.T) {
	k := readYAML(t, "k8s/kustomization.yaml")
	var got []string
	for _, r := range list(k["resources"]) {
		got = append(got, str(r))
	}
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && base != "secret.example.yaml" && base != "servicemonitor.yaml" {
			want = append(want, base)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources = %v, want %v", got, want)
	}
}

func TestExampleSecretHoldsPlaceholdersOnly(t *testing.T) {
	s := readYAML(t, "k8s/secret.example.yaml")
	data, _ := s["stringData"].(map[string]any)
	if len(data) == 0 {
		t.Fatal("secret.example.yaml has no stringData")
	}
	for key, v := range data {
		if !strings.Contains(str(v), "CHANGE_ME") {
			t.Errorf("%s = %q, want a CHANGE_ME placeholder", key, v)
		}
	}
	if s["data"] != nil {
		t.Error("secret.example.yaml has a data: block; keep placeholders readable in stringData")
	}
}

// podLabels returns the labels of the Deployment's pods.
func podLabels(t *testing.T) map[string]any {
	t.Helper()
	labels, _ := dig(k8sObject(t, "Deployment"), "spec", "template", "metadata", "labels").(map[string]any)
	if len(labels) == 0 {
		t.Fatal("the Deployment's pods have no labels")
	}
	return labels
}

// selects reports whether a matchLabels selector is non-empty and matches labels.
func selects(selector any, labels map[string]any) bool {
	m, _ := selector.(map[string]any)
	for k, v := range m {
		if str(labels[k]) != str(v) {
			return false
		}
	}
	return len(m) > 0
}

// TestShutdownFitsTheGracePeriod checks the stop sequence of a pod: SIGTERM,
// the drain (readiness 503, still serving), the in-flight timeout, all before
// the kubelet's SIGKILL.
func TestShutdownFitsTheGracePeriod(t *testing.T) {
	cfg, _ := dig(k8sObject(t, "ConfigMap"), "data").(map[string]any)
	drain, err := time.ParseDuration(str(cfg["SHUTDOWN_DRAIN_DELAY"]))
	if err != nil || drain < 3*time.Second {
		t.Errorf("SHUTDOWN_DRAIN_DELAY = %q (%v); want a few seconds, so endpoints update before the listener closes", cfg["SHUTDOWN_DRAIN_DELAY"], err)
	}
	timeout, err := time.ParseDuration(str(cfg["SHUTDOWN_TIMEOUT"]))
	if err != nil || timeout <= 0 {
		t.Errorf("SHUTDOWN_TIMEOUT = %q (%v); want it set next to the drain delay", cfg["SHUTDOWN_TIMEOUT"], err)
	}
	pod := dig(k8sObject(t, "Deployment"), "spec", "template", "spec")
	c := dig(pod, "containers", 0)
	preStop := dig(c, "lifecycle", "preStop")
	if dig(preStop, "exec") != nil {
		t.Error("preStop runs a command, but the distroless image has no shell or sleep")
	}
	sleep := time.Duration(0)
	if s := str(dig(preStop, "sleep", "seconds")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("preStop sleep seconds = %q", s)
		}
		sleep = time.Duration(n) * time.Second
	}
	grace, err := strconv.Atoi(str(dig(pod, "terminationGracePeriodSeconds")))
	if err != nil {
		t.Fatalf("terminationGracePeriodSeconds: %v", err)
	}
	if need := sleep + drain + timeout + 5*time.Second; time.Duration(grace)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds = %d; preStop %v + drain %v + timeout %v + 5s margin need %v", grace, sleep, drain, timeout, need)
	}
}

func TestImageTagIsPinned(t *testing.T) {
	k := readYAML(t, "k8s/kustomization.yaml")
	image := str(dig(k8sObject(t, "Deployment"), "spec", "template", "spec", "containers", 0, "image"))
	if got := str(dig(k, "images", 0, "name")); got != image {
		t.Fatalf("kustomization rewrites image %q, the Deployment uses %q", got, image)
	}
	if tag := str(dig(k, "images", 0, "newTag")); tag == "" || tag == "latest" {
		t.Errorf("newTag = %q; want a release or commit tag, so replicas and rollbacks run a known build", tag)
	}
	if strings.Contains(image, ":") {
		t.Errorf("Deployment image %q carries a tag; kustomization's newTag sets it", image)
	}
}

// TestServiceMonitor checks that the Prometheus Operator scrapes what the pod
// annotations announce: the Service in front of the pods, on the api port.
func TestServiceMonitor(t *testing.T) {
	sm := k8sObject(t, "ServiceMonitor")
	svc := k8sObject(t, "Service")
	d := k8sObject(t, "Deployment")
	svcLabels, _ := dig(svc, "metadata", "labels").(map[string]any)
	if !selects(dig(sm, "spec", "selector", "matchLabels"), svcLabels) {
		t.Errorf("ServiceMonitor selector %v does not match the Service labels %v", dig(sm, "spec", "selector", "matchLabels"), svcLabels)
	}
	ports := map[string]bool{}
	for _, p := range list(dig(svc, "spec", "ports")) {
		ports[str(dig(p, "name"))] = true
	}
	ep := dig(sm, "spec", "endpoints", 0)
	if port := str(dig(ep, "port")); !ports[port] {
		t.Errorf("ServiceMonitor port %q is not a named port of the Service (%v)", port, ports)
	}
	annotations, _ := dig(d, "spec", "template", "metadata", "annotations").(map[string]any)
	if got, want := str(dig(ep, "path")), str(annotations["prometheus.io/path"]); got != want || got != "/metrics" {
		t.Errorf("ServiceMonitor path %q, annotation path %q; want /metrics for both", got, want)
	}
}

// TestNetworkPolicy checks that the policy selects the api pods, lets the api
// port in, and lets out DNS and the port of every store the api is given.
func TestNetworkPolicy(t *testing.T) {
	np := k8sObject(t, "NetworkPolicy")
	if !selects(dig(np, "spec", "podSelector", "matchLabels"), podLabels(t)) {
		t.Fatalf("podSelector %v does not select the api pods", dig(np, "spec", "podSelector", "matchLabels"))
	}
	if got := fmt.Sprint(dig(np, "spec", "policyTypes")); got != "[Ingress Egress]" {
		t.Errorf("policyTypes = %s, want [Ingress Egress]", got)
	}
	allowed := func(direction string) map[string]bool {
		m := map[string]bool{}
		for _, rule := range list(dig(np, "spec", direction)) {
			for _, p := range list(dig(rule, "ports")) {
				m[str(dig(p, "port"))+"/"+str(dig(p, "protocol"))] = true
			}
		}
		return m
	}
	in, out := allowed("ingress"), allowed("egress")
	if port := str(dig(k8sObject(t, "Deployment"), "spec", "template", "spec", "containers", 0, "ports", 0, "name")); !in[port+"/TCP"] || len(in) != 1 {
		t.Errorf("ingress ports %v, want only the api port %s/TCP", in, port)
	}
	cfg, _ := dig(k8sObject(t, "ConfigMap"), "data").(map[string]any)
	secret, _ := readYAML(t, "k8s/secret.example.yaml")["stringData"].(map[string]any)
	want := []string{"53/UDP", "53/TCP"}
	for _, raw := range []string{str(cfg["NATS_URL"]), str(secret["DATABASE_URL"]), str(secret["REDIS_URL"])} {
		u, err := url.Parse(raw)
		if err != nil || u.Port() == "" {
			t.Fatalf("cannot read a port from %q: %v", raw, err)
		}
		want = append(want, u.Port()+"/TCP")
	}
	for _, p := range want {
		if !out[p] {
			t.Errorf("egress does not allow %s (allowed: %v)", p, out)
		}
	}
}
