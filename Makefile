# StreamFlow build. `make` builds build/streamflow; `make test` and `make demo`
# are the two commands the README gives a new user.
#
# Sources are found by wildcard: a new file under src/<area>/ or a new
# tests/unit/test_*.c is built with no edit here. BUILD selects the object
# directory, so two builds (normal, sanitizer, a private one) never share .o files.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BUILD     ?= build
ASAN_BUILD?= build/asan
TSAN_BUILD?= build/tsan
CC        ?= cc
PKGS      := rdkafka libcurl jansson openssl openblas zlib libprotobuf-c libmicrohttpd

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT       ?= -O2
CFLAGS    ?= $(OPT) -g
# -fno-math-errno: nothing here reads errno after a math function, and with
# it sqrtf() can be a single (packed) instruction, as in the Adam step.
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_GNU_SOURCE -fno-math-errno -Wall -Wextra -Wshadow -Wno-unused-parameter \
             -Isrc -I$(BUILD)/gen -DSF_VERSION='"$(VERSION)"' -DSF_DATADIR='"$(PREFIX)/share/streamflow"' \
             -MMD -MP $(PKG_CFLAGS)
ALL_LIBS   = $(LDLIBS) $(PKG_LIBS) -lpthread -lm

comma     := ,
space     := $(subst ,, )
# V=1 shows the full compiler command lines.
Q         := $(if $(V),,@)

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN_FLAGS:= -fsanitize=thread -fno-omit-frame-pointer
# The test programs that run threads of their own or librdkafka's (globs for
# tests/run): `make test` runs these, and only these, on the TSan build too.
# Not test_score_faults.sh (timed fault injection, too slow under TSan; the
# same scorer code runs in test_score.sh) nor test_yt_produce.sh (the HTTP
# side; the Kafka side runs in test_yt_pipeline.sh).
# The --threads 2 replicas of the scoring tests (*_t2.sh) run there only:
# the TSan build checks what two threads share, and the same scorer code
# runs single-threaded on the two other builds.
TSAN_TESTS:= test_kafka test_kafka_broker test_score test_broker.sh test_score.sh test_score_reload.sh test_yt_pipeline.sh \
             test_score_threads.sh test_score_t2.sh test_score_reload_t2.sh test_metrics_t2.sh

LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
# ONNX's protobuf messages, generated at build time by protoc-c from the
# onnx.proto that Debian's libonnx-dev installs.
ONNX_PROTO?= /usr/include/onnx/onnx.proto
GEN_OBJS  := $(BUILD)/gen/onnx/onnx.pb-c.o
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(GEN_OBJS)
MAIN_OBJ  := $(BUILD)/src/main.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS:= $(wildcard bench/*.c)
BENCH_BINS:= $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps tests asan tsan test check demo bench install uninstall format format-check clean help
.DEFAULT_GOAL := all
# Keep the objects of test and bench programs: they are not throwaway intermediates.
.SECONDARY:

all: $(BUILD)/streamflow $(UNIT_BINS) $(BENCH_BINS)

help:
	@echo "make            build $(BUILD)/streamflow, unit tests and benchmarks"
	@echo "make demo       install missing packages, build, run the demo"
	@echo "make test       install missing packages, build normal + ASan/UBSan + TSan, run the suite on"
	@echo "                the first two and its threaded tests on TSan"
	@echo "make check      run the suite on the normal build only (no install step)"
	@echo "make asan       build with -fsanitize=address,undefined into build/asan"
	@echo "make tsan       build with -fsanitize=thread into build/tsan (the program and unit tests)"
	@echo "make bench      install missing packages, build, run the speed benchmarks in bench/ and print"
	@echo "                one summary of ratios against their anchors (bench/run --all: accuracy too)"
	@echo "make install    install to PREFIX=$(PREFIX)"
	@echo "make fuzz       build the libFuzzer targets into $(FUZZ_BUILD), run each FUZZ_TIME=$(FUZZ_TIME) s"
	@echo "make format-check / format   clang-format over src/ tests/ bench/"

deps:
	@scripts/install-deps

$(BUILD)/streamflow: $(MAIN_OBJ) $(LIB_OBJS)
	$(Q)echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/gen/onnx/onnx.pb-c.c $(BUILD)/gen/onnx/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen/onnx
	$(Q)echo "  PROTOC  $<"
	$(Q)protoc-c --proto_path=$(dir $<) --c_out=$(BUILD)/gen/onnx $<

$(BUILD)/gen/onnx/onnx.pb-c.o: $(BUILD)/gen/onnx/onnx.pb-c.c
	$(Q)echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -I$(BUILD)/gen/onnx -c -o $@ $<

$(filter $(BUILD)/src/onnx/%,$(LIB_OBJS)): $(BUILD)/gen/onnx/onnx.pb-c.h

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

tests: $(UNIT_BINS)

asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT=-O1 \
		CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(LDFLAGS) $(SAN_FLAGS)" all fuzz-replay
	@echo address,undefined >$(ASAN_BUILD)/.sanitized

tsan:
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) OPT=-O1 \
		CFLAGS="-O1 -g $(TSAN_FLAGS)" LDFLAGS="$(LDFLAGS) $(TSAN_FLAGS)" $(TSAN_BUILD)/streamflow tests
	@echo thread >$(TSAN_BUILD)/.sanitized

# The whole suite, twice: the normal build and the ASan/UBSan build; then
# the threaded tests on the TSan build. The three builds are one parallel make
# (BUILD_JOBS compilers, default one per core, unless make was given -j);
# the runner takes the programs of all three builds together, TEST_JOBS at a
# time (tests/run -j; empty: its default), and prints one closing line.
NPROC     := $(shell nproc 2>/dev/null || echo 1)
BUILD_JOBS?= $(if $(filter -j%,$(MAKEFLAGS)),,$(NPROC))
TEST_JOBS ?=
TEST_RUN   = tests/run $(if $(TEST_JOBS),-j $(TEST_JOBS))

test: deps
	@$(MAKE) --no-print-directory $(if $(BUILD_JOBS),-j$(BUILD_JOBS)) all asan tsan
	@$(TEST_RUN) --build '$(BUILD):!*_t2.sh' --build '$(ASAN_BUILD):!*_t2.sh' \
		--build $(TSAN_BUILD):$(subst $(space),$(comma),$(strip $(TSAN_TESTS)))

check: all
	@$(TEST_RUN) --build $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

bench:
	@scripts/install-deps --bench
	@$(MAKE) --no-print-directory all
	@bench/run $(BUILD)

install: $(BUILD)/streamflow
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/streamflow/nsl-kdd
	install -m 755 $(BUILD)/streamflow $(DESTDIR)$(PREFIX)/bin/streamflow
	install -m 644 data/nsl-kdd/*.gz data/nsl-kdd/README.md data/nsl-kdd/schema.json $(DESTDIR)$(PREFIX)/share/streamflow/nsl-kdd/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/streamflow
	rm -rf $(DESTDIR)$(PREFIX)/share/streamflow

# ---------------------------------------------------------------- fuzzing
# libFuzzer targets, one per parser: tests/fuzz/fuzz_<name>.c. `make fuzz`
# builds the library objects again with clang and the fuzzer's coverage
# hooks into FUZZ_BUILD and grows a corpus per target under
# FUZZ_BUILD/corpus (tests/fuzz/run). `make asan` also links each target
# with tests/fuzz/replay.c (a main that runs it once per file, no clang
# needed) into ASAN_BUILD/fuzz-replay/, and tests/cli/test_fuzz_regress.sh
# replays the stored inputs through those on the ASan/UBSan build.
#   make fuzz                                  every target FUZZ_TIME seconds
#   make fuzz FUZZ_TARGETS=table_row FUZZ_TIME=600 FUZZ_JOBS=2
FUZZ_BUILD   ?= build/fuzz
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_JOBS    ?= 1
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS ?= $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/%)
REPLAY_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)

.PHONY: fuzz fuzz-build fuzz-bins fuzz-replay

fuzz:
	@scripts/install-deps --fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run --build $(FUZZ_BUILD) --time $(FUZZ_TIME) --jobs $(FUZZ_JOBS) $(FUZZ_TARGETS)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT=-O1 \
		CFLAGS="-O1 -g $(FUZZ_SAN)" LDFLAGS="$(LDFLAGS) $(FUZZ_SAN)" fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIB_OBJS)
	$(Q)echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(ALL_LIBS)

fuzz-replay: $(REPLAY_BINS)

$(BUILD)/fuzz-replay/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)
# ------------------------------------------------------------ end fuzzing

FORMAT_FILES = $(wildcard src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h bench/*.c \
                           tests/fuzz/*.c tests/fuzz/*.h)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files clean"

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
