# Targets a Go developer expects. `go run .` and `go test ./...` work without make.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# nomsgpack drops gin's MessagePack binding (6 MB of the binary; the API is JSON).
TAGS    := nomsgpack
GOBIN   := $(or $(shell go env GOBIN),$(shell go env GOPATH)/bin)
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(GOBIN)/golangci-lint

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0
TEST_NATS_URL     ?= nats://127.0.0.1:4222

.DEFAULT_GOAL := help
.PHONY: help build run test test-integration lint golangci-lint docs client console console-screenshots ci bench smoke docker

help: ## this list (the default target)
	@echo 'usage: make [target]'
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## static binary in bin/
	CGO_ENABLED=0 go build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)" -o bin/control-plane .

run: ## the server in embedded mode
	go run .

test: ## unit and integration tests on the embedded stores
	go test -race ./...

test-integration: ## the same suites against real PostgreSQL, Redis and NATS
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TEST_REDIS_URL='$(TEST_REDIS_URL)' TEST_NATS_URL='$(TEST_NATS_URL)' go test -race -count=1 ./...

lint: golangci-lint ## gofmt, go vet, golangci-lint (installs the pinned golangci-lint on first use)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...
	$(GOLANGCI_LINT) run

# Reinstalls when the binary in GOBIN is missing or another version, so every
# developer lints with the version CI pins (.github/workflows/ci.yml).
golangci-lint:
	@go version -m $(GOLANGCI_LINT) 2>/dev/null | grep -q 'golangci-lint/v2[[:space:]]*$(GOLANGCI_LINT_VERSION)[[:space:]]' || { \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(GOBIN) (a few minutes, once)"; \
		go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) || { \
			echo "could not install it; install golangci-lint $(GOLANGCI_LINT_VERSION) by hand (see golangci-lint.run) and put it in $(GOBIN)"; exit 1; }; }

docs: ## regenerate docs/openapi.json and docs/openapi.yaml (OpenAPI 3.1) from the swag annotations
	go run ./cmd/openapi

client: ## regenerate, type-check and test the TypeScript client in clients/typescript (Node 20.19+, npm)
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate && npm run check && npm test

console: ## rebuild the operator console (web/) into web/dist, embedded by the server; commit the result (Node 20.19+, npm)
	cd web && npm ci --no-audit --no-fund && npm run check && npm run build

console-screenshots: ## retake the console screenshots in docs/console (Chromium; the browser test in e2e/)
	CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console go test -count=1 -run TestConsole ./e2e/

bench: ## load runs + baselines + profiles on this machine (~6 min; see docs/PERFORMANCE.md)
	bash scripts/bench.sh

BASE_URL ?= http://127.0.0.1:8000
smoke: ## post-deploy smoke test of BASE_URL (set SMOKE_USERNAME, SMOKE_PASSWORD)
	go run . smoke --base-url $(BASE_URL)

IMAGE ?= control-plane
docker: ## build the container image (needs a Docker engine)
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
		--build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) -t $(IMAGE):$(VERSION) .

ci: ## what CI runs
	bash .ci/run
