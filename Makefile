# Targets a Go developer expects. `go run .` and `go test ./...` work without make.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0
TEST_NATS_URL     ?= nats://127.0.0.1:4222

.PHONY: build run test test-integration lint docs client ci bench smoke docker

build: ## static binary in bin/
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/control-plane .

run: ## the server in embedded mode
	go run .

test: ## unit and integration tests on the embedded stores
	go test -race ./...

test-integration: ## the same suites against real PostgreSQL, Redis and NATS
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' TEST_REDIS_URL='$(TEST_REDIS_URL)' TEST_NATS_URL='$(TEST_NATS_URL)' go test -race -count=1 ./...

lint: ## gofmt, go vet, golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...
	golangci-lint run

docs: ## regenerate docs/openapi.json and docs/openapi.yaml (OpenAPI 3.1) from the swag annotations
	go run ./cmd/openapi

client: ## regenerate, type-check and test the TypeScript client in clients/typescript (Node 20.19+, npm)
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate && npm run check && npm test

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
