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
# Pinned developer tools (golangci-lint, krew's validate-krew-manifest and krew) live in their own module.
TOOL    := go tool -modfile=hack/tools/go.mod
# make dist stamps the commit's date, not the clock's, so the same commit gives the same archives.
DIST_DATE ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
BASE_URL ?= https://github.com/kubectl-testrun/kubectl-testrun/releases/download/$(VERSION)

.PHONY: all build test unit fuzz e2e bench demo conformance cluster-up cluster-down cluster-status lint verify clean
.PHONY: dist docs verify-docs verify-krew tools lint-shell

all: build

## build: the plugin binary in bin/
# The compile flags are the local cluster's (GO_BUILD_FLAGS in hack/cluster/lib.sh), so that the packages both
# compile (client-go, apimachinery, the API types, the standard library) are compiled once on a fresh machine;
# -dwarf=false takes nothing from the binary, which -s already strips; -c=1 is one backend thread per compile
# (lib.sh says why). GOGC and GOMEMLIMIT apply to the compiler and linker only, as in lib.sh's BUILD_ENV, not
# to the built binary.
build:
	CGO_ENABLED=0 GOGC=400 GOMEMLIMIT=4GiB go build -trimpath -gcflags='all=-dwarf=false -c=1' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-testrun

## test: unit tests, a short fuzz of the extractor, then end-to-end tests against the local cluster
## (brought up when it is not running)
test: unit fuzz e2e

## fuzz: the tar extractor against generated hostile archives, for a fixed time (FUZZTIME). Minimizing a
## new input runs the extractor on disk again and again (execs/sec shows 0 meanwhile): it is capped at 5s
## so that most of the time goes to new inputs.
FUZZTIME ?= 30s
fuzz:
	go test -run '^$$' -fuzz FuzzExtract -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./pkg/extract/

## unit: fast tests with client-go fakes; the terminal status line (redrawn by a goroutine) under the race
## detector too (about 20 s more once the race build is cached)
unit:
	go test -short -count=1 ./...
	go test -race -short -count=1 ./internal/cmdkit

## e2e: the built binary against the real local cluster
e2e:
	go test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v ./test/e2e/...

## bench: kubectl testrun against plain kubectl on the local cluster (brought up first), one table of medians
## and ratios, each against baselines measured in the same run (hack/bench, docs/performance.md). BENCH=P1,P4
## runs a subset (P1…P6, T1; P2 and P5 are the slow ones), BENCH_N the runs per figure (default 5)
bench:
	@BENCH='$(BENCH)' BENCH_N='$(BENCH_N)' go run ./hack/bench

## demo: the in-cluster story end to end on the local cluster (brought up first): a system under test
## deployed as a Deployment and a Service, the go-test plugin's sample suite run against it by its Service
## name, its JUnit report brought home (hack/demo/demo.sh, docs/in-cluster.md)
# On a fresh machine the cluster's modules download while the plugin compiles; the plugin goes first, so the
# cluster's build finds the packages they share compiled.
demo:
	@hack/cluster/build.sh --download & $(MAKE) --no-print-directory build; wait $$! || true
	PATH="$(CURDIR)/bin:$$PATH" hack/demo/demo.sh

## conformance: opt-in, not part of test: builds Kubernetes' e2e.test for the cluster's version into a local
## image (hack/conformance/image.sh) and runs the API discovery conformance specs with plain kubectl testrun
## run of the shipped kubernetes-e2e definition, bringing the JUnit report home (docs/conformance.md)
conformance:
	go test -tags e2e,conformance -count=1 -timeout 60m -v -run TestConformance ./test/e2e/

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
	go vet -tags e2e,conformance ./test/e2e/...
	go mod tidy -diff
	cd hack/tools && go mod tidy -diff
	@$(MAKE) --no-print-directory verify-docs verify-krew

## verify-docs: docs/commands matches the command tree (make docs regenerates it)
verify-docs:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; go run ./hack/gendocs "$$tmp"; \
	  diff -ru docs/commands "$$tmp" || { echo 'docs/commands is out of date: run make docs'; exit 1; }

## verify-krew: .krew.yaml renders to a manifest that krew's rules and validate-krew-manifest accept
verify-krew:
	go test -count=1 ./test/krew/...

## docs: one Markdown page per command in docs/commands, generated from cobra
docs:
	go run ./hack/gendocs docs/commands

## lint: golangci-lint (pinned in hack/tools/go.mod) over every package, e2e tests included, then lint-shell
# With the e2e and conformance tags every file of the tree is compiled: no file is excluded by them (none has
# !e2e or !conformance).
lint: lint-shell
	$(TOOL) golangci-lint run --build-tags e2e,conformance ./...

## lint-shell: ShellCheck (Debian's package, pinned and installed by hack/tools/shellcheck.sh; settings in
## .shellcheckrc) and shfmt (pinned in hack/tools/go.mod) over every shell script under hack/ and .ci/
SHFMT_FLAGS := -i 2
lint-shell:
	@scripts=$$($(TOOL) shfmt -f hack .ci); \
	  hack/tools/shellcheck.sh $$scripts; \
	  $(TOOL) shfmt $(SHFMT_FLAGS) -d $$scripts || { echo 'shell scripts not formatted: run $(TOOL) shfmt $(SHFMT_FLAGS) -w hack .ci'; exit 1; }

## tools: build the pinned tools once (go tool caches them), e.g. before going offline
tools:
	@for t in golangci-lint validate-krew-manifest krew shfmt; do $(TOOL) -n $$t; done

## dist: release archives for linux, darwin and windows x amd64, arm64 into dist/, with checksums.txt and
## the krew manifest dist/testrun.yaml; BASE_URL says where the archives will be published
dist:
ifeq ($(origin DATE),file)
	@$(MAKE) --no-print-directory dist DATE=$(DIST_DATE)
else
	VERSION='$(VERSION)' DATE='$(DATE)' LDFLAGS='$(LDFLAGS)' BASE_URL='$(BASE_URL)' hack/dist.sh
endif

clean:
	rm -rf bin dist
