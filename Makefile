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

.PHONY: all build test lint vet fmt-check staticcheck deps tools bench compare pgo fuzz gobench clean

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
	# The engine's tests again with every synchronous call (File.ReadAt,
	# File.WriteAt, Sync, trims) through the background queues instead of
	# the direct queues (engine/engine_test.go: newTestEngine).
	IOBENCH_SYNC_PATH=background $(GO) test -race -count=1 -timeout 10m ./engine/
	# The engine's tests once more without -race: the queues' plain
	# stores to shared counters and epoch slots (engine/owned.go) are
	# atomic under -race, so only this run has them as they ship.
	$(GO) test -count=1 -timeout 10m ./engine/...

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

# pgo rewrites cmd/iobench/default.pgo, the CPU profile the Go compiler
# optimizes iobench with (profile-guided optimization: go build and go run
# use it by themselves). A build without the old profile runs each job
# below (separated by +) for 3 s on an automatically created target (root:
# a loop device over tmpfs) with --cpuprofile, and the profiles are merged.
PGO_JOBS := \
	--rw=randread --iodepth=1 --size=1g + \
	--rw=randread --iodepth=32 --size=1g + \
	--rw=randread --iodepth=128 --size=1g + \
	--rw=randwrite --iodepth=4 --size=1g + \
	--rw=randwrite --iodepth=64 --size=1g + \
	--ioengine=null --rw=randread --iodepth=1 --size=1g + \
	--ioengine=null --rw=randread --iodepth=32 --size=1g + \
	--rw=randwrite --iodepth=16 --mapper=cow --size=512m + \
	--rw=randread --iodepth=32 --mapper=scattered --extents=1000000 --warm=1 --size=4g --target-size=8g

pgo: deps
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	$(GO) build -pgo=off -o $$dir/iobench ./cmd/iobench; \
	i=0; job=""; for a in $(PGO_JOBS) +; do \
		if [ "$$a" != + ]; then job="$$job $$a"; continue; fi; \
		i=$$((i+1)); echo "pgo:$$job"; \
		$$dir/iobench --name=pgo --bs=4k --runtime=3 --time_based $$job --cpuprofile=$$dir/$$i.prof --output-format=json >/dev/null; \
		job=""; \
	done; \
	$(GO) tool pprof -proto $$dir/*.prof > cmd/iobench/default.pgo; \
	echo "pgo: wrote cmd/iobench/default.pgo from $$i profiles"

clean:
	$(GO) clean -testcache
