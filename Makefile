# iobench: a block-device I/O engine with cached mappings over io_uring.
#
#   make bench   run the default benchmark suite on an automatically created
#                target and write results/ afresh
#   make test    install what the tests need, then gofmt, go vet, staticcheck
#                and go test -race on every package
#
# Everything this file needs is installed by it: Debian packages with apt-get
# (only when missing), Go tools through the module proxy.

GO          ?= go
GOBIN       := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
PKGS        := ./...
FUZZTIME    ?= 20s
BENCHTIME   ?= 1s

.PHONY: all build test lint vet fmt-check staticcheck deps tools bench compare fuzz gobench clean

all: build

build:
	$(GO) build $(PKGS)

# deps installs the system packages the tests and benchmarks use, only when
# they are missing: fio (the reference iobench is compared with, and its
# post-processing tools the tests run on iobench's output), the Python
# modules and gnuplot those tools need (python3-six, python3-numpy,
# python3-pandas, gnuplot-nox), e2fsprogs (mkfs.ext4 for the
# filesystem-oracle and signature tests), util-linux (losetup, blockdev,
# wipefs).
deps:
	@missing=""; \
	command -v fio >/dev/null 2>&1 || missing="$$missing fio"; \
	command -v gnuplot >/dev/null 2>&1 || missing="$$missing gnuplot-nox"; \
	/usr/bin/python3 -c 'import six' >/dev/null 2>&1 || missing="$$missing python3-six"; \
	/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || missing="$$missing python3-numpy"; \
	/usr/bin/python3 -c 'import pandas' >/dev/null 2>&1 || missing="$$missing python3-pandas"; \
	command -v mkfs.ext4 >/dev/null 2>&1 || missing="$$missing e2fsprogs"; \
	command -v losetup >/dev/null 2>&1 || missing="$$missing util-linux"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "warning: missing$$missing and cannot apt-get install (not root or no apt-get)"; \
		fi; \
	fi

tools: $(STATICCHECK)

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) $(PKGS)

lint: fmt-check vet staticcheck

# test: the README's test command. -race builds also turn on the invariant
# checks (build tag "race"), so every mutation in tests is verified.
test: deps lint
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# fuzz runs each fuzz target for FUZZTIME (go test allows one target per run).
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
		for fn in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$fn"; \
			$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# gobench runs the Go benchmarks of every package.
gobench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

# bench: the main job. Runs the default suite on an automatically created
# target and writes results/ afresh.
bench: deps
	$(GO) run ./cmd/iobench bench --results results

compare: deps
	$(GO) run ./cmd/iobench compare

clean:
	$(GO) clean -testcache
