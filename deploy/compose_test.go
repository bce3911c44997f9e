package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// composeServices returns the services of docker-compose.yml by name.
func composeServices(t *testing.T) map[string]any {
	t.Helper()
	services, _ := readYAML(t, "../docker-compose.yml")["services"].(map[string]any)
	if len(services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return services
}

func TestComposeServices(t *testing.T) {
	services := composeServices(t)
	for _, name := range []string{"postgres", "redis", "nats", "api", "prometheus", "alertmanager", "grafana"} {
		t.Run(name, func(t *testing.T) {
			svc, ok := services[name]
			if !ok {
				t.Fatalf("service %s missing", name)
			}
			if len(list(dig(svc, "healthcheck", "test"))) == 0 {
				t.Error("no healthcheck test")
			}
			deps, _ := dig(svc, "depends_on").(map[string]any)
			for dep, cond := range deps {
				if got := str(dig(cond, "condition")); got != "service_healthy" {
					t.Errorf("depends_on %s: condition %q, want service_healthy", dep, got)
				}
			}
			for _, v := range list(dig(svc, "volumes")) {
				src, _, _ := strings.Cut(str(v), ":")
				if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "/") && !strings.HasSuffix(src, "-data") {
					t.Errorf("volume %q: want a bind mount of ./deploy or a named *-data volume", v)
				}
			}
		})
	}
	t.Run("api waits for its stores", func(t *testing.T) {
		deps, _ := dig(services["api"], "depends_on").(map[string]any)
		for _, dep := range []string{"postgres", "redis", "nats"} {
			if _, ok := deps[dep]; !ok {
				t.Errorf("api does not depend on %s", dep)
			}
		}
	})
}

// secretName matches environment variables that hold secrets.
var secretName = regexp.MustCompile(`SECRET|PASSWORD|TOKEN|DATABASE_URL`)

// interpolation matches ${NAME...} in a compose value: the name, then the
// modifier such as ":-default" or ":?message".
var interpolation = regexp.MustCompile(`\$\{([A-Z_]+)([^}]*)\}`)

func TestComposeCommitsNoSecrets(t *testing.T) {
	services := composeServices(t)
	for name, svc := range services {
		env, _ := dig(svc, "environment").(map[string]any)
		for key, v := range env {
			if !secretName.MatchString(key) {
				continue
			}
			t.Run(name+"/"+key, func(t *testing.T) {
				val := str(v)
				if val != "" && !strings.Contains(val, "${") {
					t.Fatalf("%s = %q is a literal; take it from .env (or set it empty to withhold it)", key, val)
				}
				// Every interpolated secret must be required (:?) or empty by default (:-).
				for _, m := range interpolation.FindAllStringSubmatch(val, -1) {
					if secretName.MatchString(m[1]) && !strings.HasPrefix(m[2], ":?") && m[2] != ":-" {
						t.Errorf("%s takes ${%s%s}: a secret needs ${%s:?message} or an empty default", key, m[1], m[2], m[1])
					}
				}
			})
		}
	}
	t.Run("JWT_SECRET is required from .env", func(t *testing.T) {
		if got := str(dig(services["api"], "environment", "JWT_SECRET")); !strings.HasPrefix(got, "${JWT_SECRET:?") {
			t.Errorf("api JWT_SECRET = %q, want ${JWT_SECRET:?...}", got)
		}
	})
}

func TestComposeMountsWhatGrafanaAndPrometheusRead(t *testing.T) {
	services := composeServices(t)
	mounts := func(svc string) map[string]string {
		m := map[string]string{}
		for _, v := range list(dig(services[svc], "volumes")) {
			parts := strings.Split(str(v), ":")
			if len(parts) >= 2 {
				m[parts[0]] = parts[1]
			}
		}
		return m
	}
	provider := readYAML(t, "grafana/provisioning/dashboards/dashboards.yml")
	tests := []struct {
		name, svc, src, want string
	}{
		{"prometheus config", "prometheus", "./deploy/prometheus.yml", "/etc/prometheus/prometheus.yml"},
		{"alert rules beside it", "prometheus", "./deploy/alerts.yml", "/etc/prometheus/alerts.yml"},
		{"alertmanager config", "alertmanager", "./deploy/alertmanager.yml", "/etc/alertmanager/alertmanager.yml"},
		{"grafana provisioning", "grafana", "./deploy/grafana/provisioning", "/etc/grafana/provisioning"},
		{"dashboards where the provider looks", "grafana", "./deploy/grafana/dashboards", str(dig(provider, "providers", 0, "options", "path"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mounts(tt.svc)[tt.src]; got != tt.want {
				t.Errorf("%s mounted at %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestDockerfileFinalStage(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := strings.Split(string(data), "\nFROM ")
	if len(stages) < 3 {
		t.Fatalf("got %d stages, want a multi-stage build", len(stages)-1)
	}
	final := stages[len(stages)-1]
	tests := []struct {
		name string
		want *regexp.Regexp
	}{
		{"distroless or alpine base", regexp.MustCompile(`^(gcr\.io/distroless/static|alpine)`)},
		{"non-root user", regexp.MustCompile(`(?m)^USER (nonroot|65532|[1-9][0-9]*)\b`)},
		{"exposes 8000", regexp.MustCompile(`(?m)^EXPOSE 8000$`)},
		{"data volume", regexp.MustCompile(`(?m)^VOLUME \["/data"\]$`)},
		{"DATA_DIR", regexp.MustCompile(`(?m)^ENV .*DATA_DIR=/data`)},
		{"healthcheck subcommand", regexp.MustCompile(`CMD \["/app/server", "healthcheck"\]`)},
		{"OCI revision label", regexp.MustCompile(`org\.opencontainers\.image\.revision="\$\{COMMIT\}"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.want.MatchString(final) {
				t.Errorf("final stage does not match %s", tt.want)
			}
		})
	}
	t.Run("static build with version", func(t *testing.T) {
		for _, want := range []string{"CGO_ENABLED=0", "-tags nomsgpack", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "COPY go.mod go.sum ./"} {
			if !strings.Contains(string(data), want) {
				t.Errorf("Dockerfile lacks %q", want)
			}
		}
	})
}

// envExample returns the variables of .env.example in order with their
// values, and which of them are compose's own (the section "docker compose
// only"), which the api must not get.
func envExample(t *testing.T) (vars [][2]string, composeOnly map[string]bool) {
	t.Helper()
	data, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	composeOnly = map[string]bool{}
	inComposeSection := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "# --- docker compose only") {
			inComposeSection = true
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		vars = append(vars, [2]string{name, value})
		if inComposeSection {
			composeOnly[name] = true
		}
	}
	if len(vars) < 40 || len(composeOnly) == 0 {
		t.Fatalf("got %d variables (%d compose-only) in .env.example; did its format change?", len(vars), len(composeOnly))
	}
	return vars, composeOnly
}

// TestComposeAPIReadsTheEnvFile checks the file itself; TestDockerComposeConfig
// checks what docker-compose makes of it.
func TestComposeAPIReadsTheEnvFile(t *testing.T) {
	api := composeServices(t)["api"]
	if got := str(dig(api, "env_file")); got != "${API_ENV_FILE:-.env}" {
		t.Errorf("api env_file = %q, want ${API_ENV_FILE:-.env}: every variable of .env must reach the api", got)
	}
	_, composeOnly := envExample(t)
	for name := range composeOnly {
		if v, ok := dig(api, "environment").(map[string]any)[name]; !ok || str(v) != "" {
			t.Errorf("api environment %s = %v, want it set empty: compose's own values stay out of the api", name, v)
		}
	}
}
