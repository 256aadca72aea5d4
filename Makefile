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
CC        ?= cc
PKGS      := rdkafka libcurl jansson openssl openblas zlib libmicrohttpd

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT       ?= -O2
CFLAGS    ?= $(OPT) -g
# -fno-math-errno: nothing here reads errno after a math function, and with
# it sqrtf() can be a single (packed) instruction, as in the Adam step.
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_GNU_SOURCE -fno-math-errno -Wall -Wextra -Wshadow -Wno-unused-parameter \
             -Isrc -DSF_VERSION='"$(VERSION)"' -DSF_DATADIR='"$(PREFIX)/share/streamflow"' \
             -MMD -MP $(PKG_CFLAGS)
ALL_LIBS   = $(LDLIBS) $(PKG_LIBS) -lpthread -lm

# V=1 shows the full compiler command lines.
Q         := $(if $(V),,@)

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/src/main.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS:= $(wildcard bench/*.c)
BENCH_BINS:= $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps tests asan test check demo bench install uninstall format format-check clean help
.DEFAULT_GOAL := all
# Keep the objects of test and bench programs: they are not throwaway intermediates.
.SECONDARY:

all: $(BUILD)/streamflow $(UNIT_BINS) $(BENCH_BINS)

help:
	@echo "make            build $(BUILD)/streamflow, unit tests and benchmarks"
	@echo "make demo       install missing packages, build, run the demo"
	@echo "make test       install missing packages, build normal + ASan/UBSan, run the suite on both"
	@echo "make check      run the suite on the normal build only (no install step)"
	@echo "make asan       build with -fsanitize=address,undefined into build/asan"
	@echo "make bench      install missing packages, build and run the benchmarks in bench/"
	@echo "make install    install to PREFIX=$(PREFIX)"
	@echo "make format-check / format   clang-format over src/ tests/ bench/"

deps:
	@scripts/install-deps

$(BUILD)/streamflow: $(MAIN_OBJ) $(LIB_OBJS)
	$(Q)echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(ALL_LIBS)

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
		CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(LDFLAGS) $(SAN_FLAGS)" all
	@touch $(ASAN_BUILD)/.sanitized

# The whole suite, twice: the normal build and the sanitizer build. The
# runner prints one closing line for both together.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory asan
	@tests/run --build $(BUILD) --build $(ASAN_BUILD)

check: all
	@tests/run --build $(BUILD)

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
	install -m 644 data/nsl-kdd/*.gz data/nsl-kdd/README.md $(DESTDIR)$(PREFIX)/share/streamflow/nsl-kdd/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/streamflow
	rm -rf $(DESTDIR)$(PREFIX)/share/streamflow

FORMAT_FILES = $(wildcard src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h bench/*.c)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files clean"

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
