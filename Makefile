# Makefile - build, install, test and demonstrate cowcopy.
#
#   make                 libcowcopy.a, libcowcopy.so and the cowcopy command (in build/)
#   make check           every test: C, CLI (and Python) suites on scratch btrfs, XFS,
#                        ext4 and tmpfs, once plain and once under ASan+UBSan (needs root)
#   make demo            clone a 1 GiB file on a scratch btrfs and show the proof
#   make bench           benchmarks against cp & co.; results in bench/RESULTS.md
#   make darwin-sim      the simulated Darwin layer (tests/darwin-sim): libdarwinsim.a
#                        and its test suite, in $(B)/darwin-sim/
#   make python          the Python package, installed offline into build/python-venv
#                        (tests) and build/python-release (see python/README.md)
#   make install         PREFIX=/usr/local DESTDIR= : command, libraries, header,
#                        cowcopy.pc and cowcopy.1;  make uninstall  removes them
#   V=1                  show the commands
#   B=dir                build directory (variants: build/test, build/asan)

PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

UNAME_S     := $(shell uname -s)
# gcc on Linux; clang on macOS (it has __builtin_available). CC=... overrides.
ifeq ($(origin CC),default)
CC          := $(if $(filter Darwin,$(UNAME_S)),clang,gcc)
endif
B           ?= build
CFLAGS      ?= -O2 -g
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
SOVERSION   := 0
VERSION     := $(shell sed -n 's/^\#define COWCOPY_VERSION_STRING "\(.*\)"/\1/p' include/cowcopy.h)

# The shared library: an ELF .so with a soname, or on macOS a .dylib whose
# install name is where `make install` puts it.
ifeq ($(UNAME_S),Darwin)
SHLIB       := libcowcopy.dylib
SHLIB_MAJOR := libcowcopy.$(SOVERSION).dylib
SHLIB_REAL  := libcowcopy.$(VERSION).dylib
SHLIB_FLAGS  = -dynamiclib -install_name $(LIBDIR)/$(SHLIB_MAJOR) \
               -compatibility_version $(SOVERSION) -current_version $(VERSION)
# xxHash and SQLite come from Homebrew there (tests/deps.sh installs them).
BREW_PREFIX := $(shell brew --prefix 2>/dev/null)
DEPS_CPPFLAGS := $(if $(BREW_PREFIX),-I$(BREW_PREFIX)/include)
DEPS_LDFLAGS := $(if $(BREW_PREFIX),-L$(BREW_PREFIX)/lib)
DEPS_HEADER := $(BREW_PREFIX)/include/xxhash.h
else
SHLIB       := libcowcopy.so
SHLIB_MAJOR := libcowcopy.so.$(SOVERSION)
SHLIB_REAL  := libcowcopy.so.$(VERSION)
SHLIB_FLAGS  = -shared -Wl,-soname,$(SHLIB_MAJOR)
DEPS_CPPFLAGS :=
DEPS_LDFLAGS :=
DEPS_HEADER := /usr/include/xxhash.h
endif

WARNINGS    := -Wall -Wextra -Wshadow -Wformat=2 -Wundef -Wstrict-prototypes -Wvla
ALL_CFLAGS  := -std=c11 $(WARNINGS) -fPIC -fvisibility=hidden -pthread $(CFLAGS) $(EXTRA_CFLAGS)
ALL_CPPFLAGS := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DCOWCOPY_BUILDING -Iinclude -Isrc \
            $(DEPS_CPPFLAGS) $(CPPFLAGS)
LIBS        := -pthread $(DEPS_LDFLAGS) -lxxhash -lsqlite3

ifeq ($(V),1)
Q :=
else
Q := @
endif

# The library: common sources plus the platform's. PLATFORM is linux or
# darwin (from uname), or darwin-sim: the Darwin backend compiled on Linux
# against the simulated layer in tests/darwin-sim (make check builds it as
# build/darwin and runs the suites with it).
PLATFORM    ?= $(if $(filter Darwin,$(UNAME_S)),darwin,linux)
# Platform files are named *_linux.c and *_darwin.c; every other file in
# src/ is common (python/setup.py picks its sources by the same rule).
LIB_PLATFORM_SRCS := $(wildcard src/*_linux.c src/*_darwin.c)
LIB_COMMON_SRCS := $(filter-out $(LIB_PLATFORM_SRCS),$(wildcard src/*.c))
ifeq ($(PLATFORM),linux)
LIB_SRCS := $(LIB_COMMON_SRCS) $(wildcard src/*_linux.c)
else
LIB_SRCS := $(LIB_COMMON_SRCS) $(wildcard src/*_darwin.c)
endif
# Test programs are programs of the host: they check results through its
# own calls, whichever backend the library under test was built with.
TEST_CPPFLAGS := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DCOWCOPY_BUILDING -Iinclude -Isrc \
            -Itests/c $(CPPFLAGS)
ifeq ($(PLATFORM),darwin-sim)
ALL_CPPFLAGS += -Itests/darwin-sim/include -include darwin-sim.h
SIM_LIB     := $(B)/darwin-sim/libdarwinsim.a
TEST_CPPFLAGS += -DCOWCOPY_TEST_DARWIN_BACKEND
endif
CLI_SRCS := cli/main.c cli/cmd_cp.c cli/cmd_dedupe.c cli/cmd_du.c cli/cmd_probe.c \
            cli/cmd_shared.c cli/json.c cli/progress.c cli/quote.c cli/report.c cli/utf8.c \
            cli/util.c
TEST_C_SRCS := $(wildcard tests/c/test_*.c)
TEST_SUPPORT_SRCS := tests/c/harness.c

LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/%.o)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(B)/%.o)
TEST_BINS := $(TEST_C_SRCS:tests/c/%.c=$(B)/tests/%)

.PHONY: all lib tests check demo bench install uninstall clean deps build-deps darwin-sim
all: build-deps
	$(Q)$(MAKE) --no-print-directory built

.PHONY: built
built: $(B)/libcowcopy.a $(B)/$(SHLIB) $(B)/cowcopy
	@:

# The libraries the build links (libxxhash, SQLite), from Debian's packages.
build-deps:
	$(Q)[ -f $(DEPS_HEADER) ] || tests/deps.sh --build
lib: build-deps
	$(Q)$(MAKE) --no-print-directory $(B)/libcowcopy.a $(B)/$(SHLIB)
	@:

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libcowcopy.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/$(SHLIB): $(LIB_OBJS) $(SIM_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SHLIB_FLAGS) $(ALL_CFLAGS) $(EXTRA_LDFLAGS) \
		-o $(B)/$(SHLIB_REAL) $(LIB_OBJS) $(SIM_LIB) $(LIBS)
	$(Q)ln -sf $(SHLIB_REAL) $(B)/$(SHLIB_MAJOR) && ln -sf $(SHLIB_REAL) $@

# The command links the static library: one self-contained binary.
$(B)/cowcopy: $(CLI_OBJS) $(B)/libcowcopy.a $(SIM_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(CLI_OBJS) $(B)/libcowcopy.a $(SIM_LIB) $(LIBS)

# C tests link the static library of the same build, so they can reach the
# private fault-injection hooks.
$(B)/tests/%: tests/c/%.c $(TEST_SUPPORT_OBJS) $(B)/libcowcopy.a $(SIM_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(TEST_CPPFLAGS) $(ALL_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $< \
		$(TEST_SUPPORT_OBJS) $(B)/libcowcopy.a $(SIM_LIB) $(LIBS)

# The Darwin backend's own suite is Darwin code: it sets up and checks BSD
# flags, creation times and xattrs with Darwin's calls (and the layer's
# Linux-side oracle for ACLs).
ifeq ($(PLATFORM),darwin-sim)
$(B)/tests/test_darwin: tests/c/test_darwin.c $(TEST_SUPPORT_OBJS) $(B)/libcowcopy.a $(SIM_LIB) \
		$(B)/darwin-sim/obj/test_sim_linux.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(TEST_CPPFLAGS) -Itests/darwin-sim/include -include darwin-sim.h $(ALL_CFLAGS) \
		$(EXTRA_LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(B)/darwin-sim/obj/test_sim_linux.o \
		$(B)/libcowcopy.a $(SIM_LIB) $(LIBS)
endif

$(B)/tests/c/%.o: tests/c/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(TEST_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The C suites and the simulated Darwin layer are Linux programs; a macOS
# host builds only what it runs (see check).
ifeq ($(UNAME_S),Darwin)
tests: all
else
tests: all $(TEST_BINS) darwin-sim
endif

# The simulated Darwin layer (tests/darwin-sim/README.md): Darwin's clonefile,
# copyfile, F_LOG2PHYS_EXT, getattrlist and xattr calls on Linux, for
# building the macOS backend here. Darwin code is compiled with DSIM_CPPFLAGS;
# the layer itself adds DARWIN_SIM_BUILDING; linux.c and the test's Linux-side
# oracle see glibc's headers only.
DSIM_DIR := tests/darwin-sim
DSIM_B := $(B)/darwin-sim
DSIM_CPPFLAGS := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I$(DSIM_DIR)/include -include darwin-sim.h
DSIM_LINUX_CPPFLAGS := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
DSIM_LIB_SRCS := $(filter-out $(DSIM_DIR)/test_%.c,$(wildcard $(DSIM_DIR)/*.c))
DSIM_LIB_OBJS := $(patsubst $(DSIM_DIR)/%.c,$(DSIM_B)/obj/%.o,$(DSIM_LIB_SRCS))
DSIM_TEST_OBJS := $(DSIM_B)/obj/test_sim.o $(B)/darwin-sim/obj/test_sim_linux.o

darwin-sim: $(DSIM_B)/libdarwinsim.a $(DSIM_B)/tests/test_sim
	@:

$(DSIM_B)/obj/%.o: $(DSIM_DIR)/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(DSIM_CPPFLAGS) -DDARWIN_SIM_BUILDING $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(DSIM_B)/obj/linux.o: $(DSIM_DIR)/linux.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(DSIM_LINUX_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(DSIM_B)/obj/test_sim.o: $(DSIM_DIR)/test_sim.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(DSIM_CPPFLAGS) -Itests/c $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/darwin-sim/obj/test_sim_linux.o: $(DSIM_DIR)/test_sim_linux.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(DSIM_LINUX_CPPFLAGS) -Itests/c $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(DSIM_B)/libdarwinsim.a: $(DSIM_LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(DSIM_B)/tests/test_sim: $(DSIM_TEST_OBJS) $(TEST_SUPPORT_OBJS) $(DSIM_B)/libdarwinsim.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $(DSIM_TEST_OBJS) $(TEST_SUPPORT_OBJS) \
		$(DSIM_B)/libdarwinsim.a

# Test variants: fault injection enabled (COWCOPY_TESTING), then the same
# under AddressSanitizer and UndefinedBehaviorSanitizer.
TEST_VARIANT_FLAGS := -DCOWCOPY_TESTING
ASAN_FLAGS := -DCOWCOPY_TESTING -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined

deps:
	$(Q)tests/deps.sh

ifeq ($(UNAME_S),Darwin)
# On macOS: the build, the Python package, and the suites that run on a Mac
# (tests/run.sh picks them; the others run on Linux against the simulated
# Darwin layer), on scratch APFS and HFS+ images.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory python
	$(Q)tests/run.sh $(B)
else
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory B=build/test EXTRA_CFLAGS="$(TEST_VARIANT_FLAGS)" tests
	$(Q)$(MAKE) --no-print-directory B=build/asan CFLAGS="-O1 -g" \
		EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDFLAGS="-fsanitize=address,undefined" tests
	$(Q)$(MAKE) --no-print-directory B=build/darwin PLATFORM=darwin-sim \
		EXTRA_CFLAGS="$(TEST_VARIANT_FLAGS)" tests
	$(Q)$(MAKE) --no-print-directory python python-darwin
	$(Q)tests/run.sh build/test build/asan build/darwin
endif

# The Python package (python/), built the offline way python/README.md
# documents: a venv of Debian's python3, which has setuptools, wheel and
# test.test_shutil, and pip without build isolation. The venv's copy is built
# with COWCOPY_TESTING (fault injection, for the tests); build/python-release
# is a release build, which the tests check ignores COWCOPY_FAULTS.
PYTHON_BASE ?= $(if $(filter Darwin,$(UNAME_S)),python3,/usr/bin/python3)
PYTHON_VENV := build/python-venv
PYTHON_SRCS := $(wildcard src/*.c src/*.h) include/cowcopy.h python/setup.py \
               python/pyproject.toml python/README.md $(wildcard python/cowcopy/*)
# setuptools reads CPPFLAGS and LDFLAGS: where xxHash and SQLite are (macOS).
PIP_ENV     := $(if $(DEPS_CPPFLAGS),CPPFLAGS="$(DEPS_CPPFLAGS)" LDFLAGS="$(DEPS_LDFLAGS)")
PIP_OFFLINE := --quiet --no-build-isolation --no-index --no-deps --no-cache-dir

.PHONY: python
python: $(PYTHON_VENV)/.installed build/python-release/.installed

$(PYTHON_VENV)/.installed: $(PYTHON_SRCS)
	@$(if $(Q),echo "  PIP     $(PYTHON_VENV) (COWCOPY_TESTING)")
	$(Q)[ -x $(PYTHON_VENV)/bin/python ] || $(PYTHON_BASE) -m venv --system-site-packages $(PYTHON_VENV)
	$(Q)COWCOPY_TESTING=1 COWCOPY_WERROR=1 $(PIP_ENV) $(PYTHON_VENV)/bin/pip install $(PIP_OFFLINE) ./python
	$(Q)touch $@

build/python-release/.installed: $(PYTHON_SRCS) $(PYTHON_VENV)/.installed
	@$(if $(Q),echo "  PIP     build/python-release")
	$(Q)rm -rf build/python-release
	$(Q)COWCOPY_WERROR=1 $(PIP_ENV) $(PYTHON_VENV)/bin/pip install $(PIP_OFFLINE) --target build/python-release ./python
	$(Q)touch $@

# The package on the Darwin backend (simulated layer): build/darwin's static
# libraries linked into the extension, installed into build/python-darwin;
# tests/run.sh runs the Python suites with it as part of the darwin variant.
.PHONY: python-darwin
python-darwin: build/python-darwin/.installed

build/python-darwin/.installed: $(PYTHON_SRCS) build/darwin/libcowcopy.a $(PYTHON_VENV)/.installed
	@$(if $(Q),echo "  PIP     build/python-darwin (Darwin backend, simulated)")
	$(Q)rm -rf build/python-darwin python/build/prebuilt
	$(Q)COWCOPY_PREBUILT=$(CURDIR)/build/darwin COWCOPY_TESTING=1 COWCOPY_WERROR=1 \
		$(PIP_ENV) $(PYTHON_VENV)/bin/pip install $(PIP_OFFLINE) --target build/python-darwin ./python
	$(Q)touch $@

demo: all
	$(Q)./demo.sh $(B)/cowcopy

bench: all python
	$(Q)bench/run.sh $(B)/cowcopy

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(B)/cowcopy $(DESTDIR)$(BINDIR)/cowcopy
	install -m 644 $(B)/libcowcopy.a $(DESTDIR)$(LIBDIR)/libcowcopy.a
	install -m 755 $(B)/$(SHLIB_REAL) $(DESTDIR)$(LIBDIR)/$(SHLIB_REAL)
	ln -sf $(SHLIB_REAL) $(DESTDIR)$(LIBDIR)/$(SHLIB_MAJOR)
	ln -sf $(SHLIB_REAL) $(DESTDIR)$(LIBDIR)/$(SHLIB)
	install -m 644 include/cowcopy.h $(DESTDIR)$(INCLUDEDIR)/cowcopy.h
	install -m 644 man/cowcopy.1 $(DESTDIR)$(MANDIR)/man1/cowcopy.1
	# Made here, not at build time, so that it names the PREFIX given to install.
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@LIBS@|$(LIBS)|' cowcopy.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/cowcopy.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/cowcopy $(DESTDIR)$(LIBDIR)/libcowcopy.a \
		$(DESTDIR)$(LIBDIR)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SHLIB_MAJOR) \
		$(DESTDIR)$(LIBDIR)/$(SHLIB_REAL) $(DESTDIR)$(INCLUDEDIR)/cowcopy.h \
		$(DESTDIR)$(MANDIR)/man1/cowcopy.1 $(DESTDIR)$(PKGCONFIGDIR)/cowcopy.pc

clean:
	rm -rf build
	rm -rf python/build python/cowcopy.egg-info

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_SUPPORT_OBJS:.o=.d)
-include $(DSIM_LIB_OBJS:.o=.d) $(DSIM_TEST_OBJS:.o=.d)
