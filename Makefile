# The README's two commands: `make dev` runs the platform with the demo flow,
# `make test` runs every test (CI calls it through .ci/run).
GO ?= go
TEST_TIMEOUT ?= 30m
# go-nvml's headers mark many calls deprecated; the warnings say nothing about dure.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

.PHONY: dev run build test vet bench

dev:
	$(GO) run ./cmd/dure dev --demo

run:
	$(GO) run ./cmd/dure dev

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/dure ./cmd/dure

# workflowcheck finds calls in workflow code that replay could not repeat
# (map order, time, randomness, goroutines), down to the packages it calls.
WORKFLOWCHECK ?= go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

vet:
	$(GO) vet ./...
	$(GO) run $(WORKFLOWCHECK) ./workflows/...

test: vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./internal/...
