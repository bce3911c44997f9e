# Control-plane API image: a static Go binary on distroless, run as non-root.
#
#   docker build \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
#     -t control-plane .

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOOS=linux GOFLAGS=-trimpath

# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# nomsgpack drops gin's MessagePack binding (6 MB; the API is JSON), see docs/PERFORMANCE.md.
RUN go build -tags nomsgpack -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /app/server . \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="control-plane" \
      org.opencontainers.image.description="Control-plane API of the Golden Architecture multi-agent LLM platform" \
      org.opencontainers.image.source="https://github.com/golden-architecture/control-plane" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${CREATED}"

COPY --from=build /app/server /app/server
# distroless has no shell to mkdir/chown: bring an empty /data owned by nonroot (65532).
COPY --from=build --chown=65532:65532 /out/data /data

ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000
USER 65532:65532

# The binary's own probe: GET http://127.0.0.1:$PORT/health/live, exit 0 or 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/server", "healthcheck"]

ENTRYPOINT ["/app/server"]
