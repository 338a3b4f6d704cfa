# smimegw build. `make` builds build/smimegw; `make check` installs what is
# missing, then runs the unit and integration tests; `make demo` runs the
# end-to-end demonstration. See README.md.

PREFIX ?= /usr/local
DESTDIR ?=
BUILDDIR ?= build
CC ?= cc
PKGS := libmicrohttpd jansson ldap openssl libidn2

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARNINGS) $(CFLAGS) \
	-Isrc $(PKG_CFLAGS) -pthread -MMD -MP
LDLIBS := $(PKG_LIBS) -pthread

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# The fuzzing build (clang only): libFuzzer's coverage instrumentation in
# every object, AddressSanitizer and UndefinedBehaviorSanitizer.
ifeq ($(SANITIZE),fuzz)
ALL_CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

MODULES := util mime smime certs store jmap http
module_srcs = $(sort $(wildcard src/$(1)/*.c))
module_objs = $(patsubst src/%.c,$(BUILDDIR)/obj/%.o,$(call module_srcs,$(1)))

TOP_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(foreach m,$(MODULES),$(call module_objs,$(m))) \
	$(patsubst src/%.c,$(BUILDDIR)/obj/%.o,$(TOP_SRCS))
MAIN_OBJ := $(BUILDDIR)/obj/main.o

# Unit suites link only the modules they test, so that a module can be built
# and tested alone (mime/, smime/, certs/ and store/ depend on util/ only).
check_util_MODULES := util
check_mime_MODULES := mime util
check_smime_MODULES := smime util
check_certs_MODULES := certs util
check_store_MODULES := store util
# check_jmap defines its own method table, so it links the JMAP core without
# methods.c and the method handlers.
check_jmap_OBJS = $(patsubst %,$(BUILDDIR)/obj/jmap/%.o,request resultref session core) \
	$(call module_objs,util)
UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILDDIR)/tests/%,$(UNIT_SRCS))

# libFuzzer targets (tests/fuzz/fuzz_NAME.c). fuzz_request has its own
# method table, so it links the JMAP core without the method handlers, as
# check_jmap does. `make fuzz` runs each for FUZZ_SECONDS seconds.
FUZZ_SECONDS ?= 20
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILDDIR)/fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
fuzz_request_OBJS = $(patsubst %,$(BUILDDIR)/obj/jmap/%.o,request resultref session core) \
	$(call module_objs,util)

.PHONY: all check check-unit check-sanitize demo deps \
	clean install bench format fuzz fuzz-bins
all: $(BUILDDIR)/smimegw

$(BUILDDIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILDDIR)/libsmimegw.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILDDIR)/smimegw: $(MAIN_OBJ) $(BUILDDIR)/libsmimegw.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.SECONDEXPANSION:
$(BUILDDIR)/tests/check_%: tests/unit/check_%.c $$(if $$(check_$$*_MODULES),$$(foreach m,$$(check_$$*_MODULES),$$(call module_objs,$$(m))),$(BUILDDIR)/libsmimegw.a)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(CHECK_LIBS) $(LDLIBS)

$(BUILDDIR)/tests/check_jmap: tests/unit/check_jmap.c $(check_jmap_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(CHECK_LIBS) $(LDLIBS)

$(BUILDDIR)/fuzz/fuzz_request: tests/fuzz/fuzz_request.c $(fuzz_request_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

$(BUILDDIR)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILDDIR)/libsmimegw.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

deps:
	./scripts/install-deps.sh

check: deps
	$(MAKE) all unit-bins
	./tests/run.sh $(BUILDDIR)

unit-bins: $(UNIT_BINS)

check-unit: $(BUILDDIR)/smimegw $(UNIT_BINS)
	./tests/run.sh --unit-only $(BUILDDIR)

# LeakSanitizer is part of AddressSanitizer on Linux. detect_leaks=1 makes
# every unit suite and every daemon of the integration tests check for
# leaks when they exit.
check-sanitize: deps
	$(MAKE) BUILDDIR=build-sanitize SANITIZE=1 CC=clang all unit-bins
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	./tests/run.sh build-sanitize

fuzz-bins: $(FUZZ_BINS)

fuzz: deps
	$(MAKE) BUILDDIR=build-fuzz SANITIZE=fuzz CC=clang fuzz-bins
	./tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

demo: deps
	$(MAKE) all
	python3 scripts/demo.py $(BUILDDIR)

# Benchmarks (tests/bench/, docs/BENCHMARKS.md): the load generator, the
# in-process CMS loop and the script that runs both against the daemon, the
# test environment and the command-line tools. Not part of `make check`.
BENCH_BINS := $(BUILDDIR)/bench/loadgen $(BUILDDIR)/bench/cmslimit

$(BUILDDIR)/bench/%: tests/bench/%.c $(call module_objs,util)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) -lm

.PHONY: bench-bins
bench-bins: $(BENCH_BINS)

bench: deps
	$(MAKE) all bench-bins
	python3 tests/bench/bench.py --build $(BUILDDIR) $(BENCH_ARGS)

install: $(BUILDDIR)/smimegw
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/smimegw
	install -m 755 $(BUILDDIR)/smimegw $(DESTDIR)$(PREFIX)/bin/smimegw
	install -m 644 schemas/config.schema.json $(DESTDIR)$(PREFIX)/share/smimegw/

format:
	clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build build-sanitize build-fuzz

-include $(shell find $(BUILDDIR) -name '*.d' 2>/dev/null)
