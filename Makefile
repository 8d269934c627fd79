# git-lepton build.  `make help` lists the targets.
#
#   make                    build git-lepton (warnings are errors)
#   make test               unit tests (cmocka) and end-to-end tests (prove)
#   make SANITIZE=address,undefined test
#   make install prefix=/usr/local DESTDIR=
#   make bench              the project's benchmark (1 GiB model, vs git-lfs)
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
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -pthread
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
HOOKS = $(sort $(filter-out hooks/README.md, $(wildcard hooks/*)))
UNIT_SRCS = $(wildcard t/unit/test-*.c)
UNIT_BINS = $(UNIT_SRCS:.c=)
HELPER_SRCS = $(wildcard t/helper/*.c)
HELPER_BINS = $(HELPER_SRCS:.c=)
ALL_OBJS = $(CORE_OBJS) $(CMD_OBJS)

all: bin/git-lepton

# bin/ holds what gets installed; point PATH (or LEPTON_BIN) at it to try a build
bin/git-lepton: $(CMD_OBJS) libleptoncore.a
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
	install -d '$(DESTDIR)$(mandir)/man1'
	install -m 644 docs/git-lepton.1 '$(DESTDIR)$(mandir)/man1/git-lepton.1'

uninstall:
	rm -f '$(DESTDIR)$(bindir)/git-lepton' '$(DESTDIR)$(mandir)/man1/git-lepton.1'

deps:
	@sh .ci/deps.sh

demo: all $(HELPER_BINS)
	@sh bench/demo.sh

bench: all $(HELPER_BINS)
	@sh bench/bench.sh

check: all
	clang-format --dry-run --Werror $(CORE_SRCS) $(CMD_SRCS) $(wildcard git-lepton/*.h filter/*.h) $(UNIT_SRCS) $(HELPER_SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		-I git-lepton -I filter --suppress=missingIncludeSystem $(CORE_SRCS) $(CMD_SRCS)
	@$(MAKE) --no-print-directory test

format:
	clang-format -i $(CORE_SRCS) $(CMD_SRCS) $(wildcard git-lepton/*.h filter/*.h) $(UNIT_SRCS) $(HELPER_SRCS)

clean:
	rm -rf bin
	rm -f libleptoncore.a hooks-data.c GIT-CFLAGS GIT-VERSION $(ALL_OBJS) $(ALL_OBJS:.o=.d) \
		$(UNIT_BINS) $(UNIT_SRCS:.c=.o) $(UNIT_SRCS:.c=.d) $(HELPER_BINS)
	rm -rf t/trash* t/test-results

help:
	@sed -n '1,/^$$/p' Makefile

.PHONY: all test unit-test install uninstall deps demo bench check format clean help FORCE

-include $(ALL_OBJS:.o=.d) $(UNIT_SRCS:.c=.d)
