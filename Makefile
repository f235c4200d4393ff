# Convenience wrapper around Meson: installs what is missing, builds, runs.
#   make run    build herald and run its main job, the daemon (herald serve)
#   make test   build and run the whole test suite
#   make asan   the whole suite again under ASan+UBSan
#   make fuzz   build the libFuzzer targets (clang) and run each briefly
#   make bench  release build, run the benchmarks, print the results table
#   make check-layers  the layering, third-party header and file size rules
#   make fault  the fault suite, short form (make fault-long: the full numbers)
#   make valgrind  the unit tests and the daemon's main paths under valgrind memcheck
#   make install [PREFIX=/usr/local] [DESTDIR=]  the binary, man pages, systemd
#               unit, example environment file, bash completion (docs/deploy.md)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
BENCH_BUILD ?= build-bench
VALGRIND_BUILD ?= build-valgrind
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps build run test asan fuzz bench check-layers install fault \
	fault-long valgrind clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	scripts/run-serve $(BUILD)

test: build
	tests/run $(BUILD)

asan: deps
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN_BUILD)
	tests/run $(ASAN_BUILD)

fuzz:
	@scripts/install-deps --ci
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: deps
	bench/run $(BENCH_BUILD)

check-layers:
	scripts/check-layers

fault: build
	tests/fault/run --short $(BUILD)

fault-long: build
	tests/fault/run --long $(BUILD)

valgrind:
	@scripts/install-deps --ci
	@[ -f $(VALGRIND_BUILD)/build.ninja ] || meson setup $(VALGRIND_BUILD) -Dbuildtype=debug
	ninja -C $(VALGRIND_BUILD)
	scripts/run-valgrind $(VALGRIND_BUILD)

install: deps $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(abspath $(PREFIX))
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(VALGRIND_BUILD)
