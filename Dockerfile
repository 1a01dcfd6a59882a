# syntax=docker/dockerfile:1
#
# One image for every dure role: the compose file (docker-compose.yaml) and the
# hosts of a multi-host deployment run it with the role's arguments, e.g.
#   docker run --rm dure:local config check --role gateway
#
# The build stage is Debian bookworm, like the runtime stage: dure is built with
# cgo (go-nvml), so the binary links the glibc it was built against.

FROM golang:1.26-bookworm AS build
ENV CGO_ENABLED=1 \
    CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations" \
    GOTOOLCHAIN=local
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# The first build compiles the embedded Temporal server: several minutes.
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags "-X main.version=${VERSION}" -o /out/dure ./cmd/dure

FROM debian:bookworm-slim
# ceph-common: the control plane runs `ceph` and `radosgw-admin`.
# curl: the compose healthchecks probe each service's /healthz with it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ceph-common curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 dure \
 && useradd --system --uid 10001 --gid dure --home-dir /var/lib/dure --shell /usr/sbin/nologin dure \
 && install -d -o dure -g dure -m 0750 /var/lib/dure
COPY --from=build /out/dure /usr/local/bin/dure
USER dure
WORKDIR /var/lib/dure
ENTRYPOINT ["dure"]
CMD ["--help"]
