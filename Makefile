# kubectl-testrun: build, test and the local cluster.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^\([^v]\)/v0.0.0-\1/' || echo v0.0.0-dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG     := github.com/kubectl-testrun/kubectl-testrun/pkg/version
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)
BIN     := bin/kubectl-testrun
E2E_TIMEOUT ?= 45m

.PHONY: all build test unit e2e demo cluster-up cluster-down cluster-status lint verify clean

all: build

## build: the plugin binary in bin/
build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-testrun

## test: unit tests, then end-to-end tests against the local cluster (brought up when it is not running)
test: unit e2e

## unit: fast tests with client-go fakes
unit:
	go test -short -count=1 ./...

## e2e: the built binary against the real local cluster
e2e:
	go test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v ./test/e2e/...

## demo: the main job end to end on the local cluster: a sample test run that passes and prints its logs
demo: build
	@eval "$$(hack/cluster/cluster.sh up | tail -n 1)"; export KUBECONFIG; \
	  PATH="$(CURDIR)/bin:$$PATH"; \
	  set -x; kubectl-testrun run demo --image testrun.local/testee:v1 -- /testee print hello from the cluster

## cluster-up / cluster-down / cluster-status: the local single-node cluster (needs root)
cluster-up:
	hack/cluster/cluster.sh up
cluster-down:
	hack/cluster/cluster.sh down
cluster-status:
	hack/cluster/cluster.sh status

## verify: formatting, vet and a tidy go.mod
verify:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'run gofmt -w on the files above'; exit 1; }
	go vet ./...
	go vet -tags e2e ./test/e2e/...
	go mod tidy -diff

clean:
	rm -rf bin dist
