# xdpban — see `make help`.

CLANG ?= clang-14
BPF_CFLAGS ?= -O2 -g -Wall -Werror -mcpu=v3
GO ?= go
BIN ?= bin/xdpban
BENCH_JSON ?= bench/results.json
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help
.PHONY: help deps generate build deb rpm test lint bench demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

deps: ## install the Debian packages the build, tests and demo use (as root)
	@.ci/deps.sh

generate: ## rebuild the BPF object and Go bindings with the pinned clang
	cd internal/xdp && BPF_CLANG=$(CLANG) BPF_CFLAGS="$(BPF_CFLAGS)" $(GO) generate ./...

build: ## build bin/xdpban (no clang needed: the BPF object is committed)
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/xdpban

deb: ## build dist/xdpban_<version>_amd64.deb (static binary, units, man page; nfpm, deploy/nfpm.yaml)
	@deploy/package/build.sh $(VERSION) deb

rpm: ## build dist/xdpban-<version>.x86_64.rpm from the same deploy/nfpm.yaml
	@deploy/package/build.sh $(VERSION) rpm

test: deps ## the whole test suite, kernel and namespace tests included (as root)
	@.ci/test.sh

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

bench: deps ## xdpban against nftables, iptables and fail2ban, as ratios from one run (as root; JSON to BENCH_JSON, a PNG beside it, docs/performance.md and the README table)
	$(GO) run ./cmd/xdpbench -json $(BENCH_JSON)

demo: deps build ## a throw-away namespace lab showing a ban taking effect (as root)
	@.ci/demo.sh $(BIN)

clean: ## remove build output
	rm -rf bin bench dist
