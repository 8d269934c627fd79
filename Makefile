# git-lepton build.  `make help` lists the targets.
#
#   make                    build git-lepton (warnings are errors)
#   make test               unit tests (cmocka) and end-to-end tests (prove)
#   make SANITIZE=address,undefined test
#   make install prefix=/usr/local DESTDIR=
#   make bench              the project's benchmark (1 GiB model, vs git-lfs;
#                           then push and clone on directory, S3, WebDAV stores)
#   make demo               a real demo in a throwaway repository
#   make deps               install the Debian packages the build needs
#   make check              clang-format check, cppcheck, then the tests
#   V=1                     show full command lines

prefix ?= /usr/local
bindir ?= $(prefix)/bin
mandir ?= $(prefix)/share/man
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = libgit2 libcurl libxxhash libzstd libcrypto

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

CFLAGS ?= -O2 -g
DEVELOPER_CFLAGS = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wformat=2 -Wno-unused-parameter
ALL_CFLAGS = -std=gnu11 $(DEVELOPER_CFLAGS) $(CFLAGS) -pthread -D_FILE_OFFSET_BITS=64 \
	-I. -Igit-lepton -Ifilter $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -pthread -lm
ALL_LDFLAGS = $(LDFLAGS)

ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifneq ($(V),1)
QUIET_CC = @echo '   CC' $@;
QUIET_LINK = @echo ' LINK' $@;
QUIET_GEN = @echo '  GEN' $@;
QUIET_AR = @echo '   AR' $@;
endif

# The core library: every .c in git-lepton/ and filter/ except the command
# entry point and the command files, which only the binary links.
CORE_SRCS = $(filter-out git-lepton/git-lepton.c git-lepton/cmd-%.c, \
	$(wildcard git-lepton/*.c)) $(wildcard filter/*.c)
CMD_SRCS = git-lepton/git-lepton.c $(wildcard git-lepton/cmd-*.c)
GEN_SRCS = hooks-data.c
CORE_OBJS = $(CORE_SRCS:.c=.o)
CMD_OBJS = $(CMD_SRCS:.c=.o) $(GEN_SRCS:.c=.o)
HELPER_MAIN_SRCS = $(wildcard remote-helper/*.c)
HELPER_MAIN_OBJS = $(HELPER_MAIN_SRCS:.c=.o)
HOOKS = $(sort $(filter-out hooks/README.md, $(wildcard hooks/*)))
UNIT_SRCS = $(wildcard t/unit/test-*.c)
UNIT_BINS = $(UNIT_SRCS:.c=)
HELPER_SRCS = $(wildcard t/helper/*.c)
HELPER_BINS = $(HELPER_SRCS:.c=)
ALL_OBJS = $(CORE_OBJS) $(CMD_OBJS) $(HELPER_MAIN_OBJS)

all: bin/git-lepton bin/git-remote-lepton

# bin/ holds what gets installed; point PATH (or LEPTON_BIN) at it to try a build
bin/git-lepton: $(CMD_OBJS) libleptoncore.a
	@mkdir -p bin
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

bin/git-remote-lepton: $(HELPER_MAIN_OBJS) libleptoncore.a
	@mkdir -p bin
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

libleptoncore.a: $(CORE_OBJS)
	$(QUIET_AR)rm -f $@ && $(AR) rcs $@ $^

%.o: %.c GIT-CFLAGS
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) $(EXTRA_CPPFLAGS) -MMD -MP -c -o $@ $<

# only the version command sees the version, so a new commit rebuilds one file
git-lepton/cmd-env.o: EXTRA_CPPFLAGS = -DLEPTON_VERSION='"$(VERSION)"'
git-lepton/cmd-env.o: GIT-VERSION

GIT-VERSION: FORCE
	@if test x"$(VERSION)" != x"`cat GIT-VERSION 2>/dev/null`"; then \
		echo "$(VERSION)" >GIT-VERSION; \
	fi

# hooks/ holds the scripts `git lepton install` writes; they are compiled in
# so the installed binary needs no data directory.
hooks-data.c: $(HOOKS) Makefile
	$(QUIET_GEN){ \
	echo '/* generated from hooks/ by the Makefile; do not edit */'; \
	echo '#include "hooks.h"'; \
	echo 'const struct hook_script hook_scripts[] = {'; \
	for f in $(HOOKS); do \
		printf '\t{ "%s",\n' "$${f#hooks/}"; \
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$$/\\n"/' "$$f"; \
		printf '\t},\n'; \
	done; \
	echo '\t{ NULL, NULL }'; \
	echo '};'; \
	} >$@+ && mv $@+ $@

# rebuild everything when the flags change (SANITIZE=, CFLAGS=)
GIT-CFLAGS: FORCE
	@flags='$(ALL_CFLAGS) $(ALL_LDFLAGS)'; \
	if test x"$$flags" != x"`cat GIT-CFLAGS 2>/dev/null`"; then \
		echo "$$flags" >GIT-CFLAGS; \
	fi

t/unit/test-%: t/unit/test-%.o libleptoncore.a
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

t/unit/%.o: t/unit/%.c GIT-CFLAGS
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) -MMD -MP -c -o $@ $<

t/helper/%: t/helper/%.c libleptoncore.a GIT-CFLAGS
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< libleptoncore.a $(LIBS) -lm

test: all $(UNIT_BINS) $(HELPER_BINS)
	@$(MAKE) --no-print-directory -C t

unit-test: $(UNIT_BINS)
	@$(MAKE) --no-print-directory -C t unit

install: all
	install -d '$(DESTDIR)$(bindir)'
	install -m 755 bin/git-lepton '$(DESTDIR)$(bindir)/git-lepton'
	install -m 755 bin/git-remote-lepton '$(DESTDIR)$(bindir)/git-remote-lepton'
	install -d '$(DESTDIR)$(mandir)/man1'
	install -m 644 docs/git-lepton.1 '$(DESTDIR)$(mandir)/man1/git-lepton.1'

uninstall:
	rm -f '$(DESTDIR)$(bindir)/git-lepton' '$(DESTDIR)$(bindir)/git-remote-lepton' \
		'$(DESTDIR)$(mandir)/man1/git-lepton.1'

deps:
	@sh .ci/deps.sh

demo: all $(HELPER_BINS)
	@sh bench/demo.sh

bench: all $(HELPER_BINS)
	@sh bench/bench.sh
	@sh bench/backends.sh

check: all
	clang-format --dry-run --Werror $(CORE_SRCS) $(CMD_SRCS) $(wildcard git-lepton/*.h filter/*.h fuzz/*.[ch]) $(UNIT_SRCS) $(HELPER_SRCS) $(HELPER_MAIN_SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		-I git-lepton -I filter --suppress=missingIncludeSystem $(CORE_SRCS) $(CMD_SRCS) \
		$(HELPER_MAIN_SRCS)
	@$(MAKE) --no-print-directory test

format:
	clang-format -i $(CORE_SRCS) $(CMD_SRCS) $(wildcard git-lepton/*.h filter/*.h fuzz/*.[ch]) $(UNIT_SRCS) $(HELPER_SRCS) $(HELPER_MAIN_SRCS)

clean:
	rm -rf bin
	rm -f libleptoncore.a hooks-data.c GIT-CFLAGS GIT-VERSION $(ALL_OBJS) $(ALL_OBJS:.o=.d) \
		$(UNIT_BINS) $(UNIT_SRCS:.c=.o) $(UNIT_SRCS:.c=.d) $(HELPER_BINS)
	rm -rf t/trash* t/test-results

help:
	@sed -n '1,/^$$/p' Makefile

.PHONY: all test unit-test install uninstall deps demo bench check format clean help FORCE

-include $(ALL_OBJS:.o=.d) $(UNIT_SRCS:.c=.d)

# ---- fuzzing ----------------------------------------------------------------
#
#   make fuzz               build the libFuzzer targets and run each in turn
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS='frame index' FUZZ_OPTS=-jobs=2
#   make fuzz-build         only build them
#   make fuzz-corpus        rewrite the seeds in fuzz/corpus/ (fuzz/make-corpus.c)
#
# Each fuzz/fuzz-<target>.c defines LLVMFuzzerTestOneInput().  `make fuzz`
# builds it with clang and its sanitizers, against the core sources it needs
# compiled again into fuzz/build/obj/ (never mixed with the objects of the
# normal build), and runs it for FUZZ_SECONDS with fuzz/corpus/<target>/ as
# the seeds.  New inputs go to fuzz/build/corpus-<target>/ and crashes to
# fuzz/build/crashes-<target>/; copy a minimized reproducer into
# fuzz/corpus/<target>/ so that the test suite replays it from then on.
#
# The same targets linked to fuzz/replay.c with the normal compiler and
# flags (SANITIZE= applies) are fuzz/build/replay-<target>, which
# t/t0090-fuzz-corpus.sh runs over the committed corpus; `make test` builds
# them, so the suite needs neither clang nor libFuzzer.

FUZZ_CC = clang
FUZZ_SECONDS ?= 60
FUZZ_OPTS ?=
FUZZ_TARGETS = pointer pktline recipe frame index safetensors gguf codec
FUZZ_PKGS = libxxhash libzstd libcrypto
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-D_FILE_OFFSET_BITS=64 -I. -Igit-lepton -Ifilter \
	$(shell $(PKG_CONFIG) --cflags $(FUZZ_PKGS) 2>/dev/null)
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs $(FUZZ_PKGS) 2>/dev/null)
FUZZ_CORE_SRCS = git-lepton/buf.c git-lepton/error.c git-lepton/hash.c git-lepton/pointer.c \
	git-lepton/recipe.c git-lepton/frame.c git-lepton/codec.c git-lepton/pack.c filter/pktline.c \
	git-lepton/model.c git-lepton/safetensors.c git-lepton/gguf.c git-lepton/fastcdc.c \
	git-lepton/chunker.c
FUZZ_CORE_OBJS = $(FUZZ_CORE_SRCS:%.c=fuzz/build/obj/%.o)
FUZZ_BINS = $(FUZZ_TARGETS:%=fuzz/build/fuzz-%)
FUZZ_RUNS = $(FUZZ_TARGETS:%=fuzz-run-%)
REPLAY_BINS = $(FUZZ_TARGETS:%=fuzz/build/replay-%)
# pkt-lines reach 64 KiB: let the inputs grow past one packet
FUZZ_OPTS_pktline = -max_len=200000

fuzz: $(FUZZ_RUNS)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_RUNS): fuzz-run-%: fuzz/build/fuzz-%
	@mkdir -p fuzz/build/corpus-$* fuzz/build/crashes-$*
	@echo ' FUZZ' $* for $(FUZZ_SECONDS)s
	fuzz/build/fuzz-$* -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=fuzz/build/crashes-$*/ $(FUZZ_OPTS_$*) $(FUZZ_OPTS) \
		fuzz/build/corpus-$* fuzz/corpus/$*

fuzz/build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-MMD -MP -c -o $@ $<

fuzz/build/fuzz-%: fuzz/fuzz-%.c fuzz/fuzz.h fuzz/fuzz-model.h fuzz/codec-base.h $(FUZZ_CORE_OBJS)
	$(QUIET_LINK)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(FUZZ_CORE_OBJS) $(FUZZ_LIBS)

fuzz/build/replay-%: fuzz/replay.c fuzz/fuzz-%.c fuzz/fuzz.h fuzz/fuzz-model.h fuzz/codec-base.h \
		libleptoncore.a GIT-CFLAGS
	@mkdir -p fuzz/build
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ fuzz/replay.c fuzz/fuzz-$*.c \
		libleptoncore.a $(LIBS)

fuzz/build/make-corpus: fuzz/make-corpus.c fuzz/codec-base.h libleptoncore.a GIT-CFLAGS
	@mkdir -p fuzz/build
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< libleptoncore.a $(LIBS)

fuzz-corpus: fuzz/build/make-corpus
	fuzz/build/make-corpus fuzz/corpus

fuzz-clean:
	rm -rf fuzz/build

# t/t0090-fuzz-corpus.sh replays the corpus with these; `make clean` also
# removes them
test: $(REPLAY_BINS)
clean: fuzz-clean

# objects made by a pattern rule are intermediate: keep them
.SECONDARY: $(FUZZ_CORE_OBJS)
.PHONY: fuzz fuzz-build fuzz-corpus fuzz-clean $(FUZZ_RUNS)

-include $(FUZZ_CORE_OBJS:.o=.d)
