#!/bin/sh

test_description='the fuzz corpus replays cleanly

Every seed and every reproducer committed under fuzz/corpus/<target>/ goes
through its fuzz target, linked to fuzz/replay.c with the normal compiler
(so with SANITIZE= when the build has it): parsers of pointers, pkt-lines,
recipes, frames, the codec, pack indexes and model headers must not crash
on any of them, and every round trip the targets check must hold.'

. "$(dirname "$0")"/test-lib.sh

FUZZ_DIR="$TEST_BUILD_DIR/fuzz"
TARGETS="pointer pktline recipe frame index safetensors gguf codec"

# `make test` at the top builds them (fuzz/build/replay-<target>)
test_expect_success 'the replay binaries are built' '
	for target in $TARGETS
	do
		test_path_is_executable "$FUZZ_DIR/build/replay-$target" || return 1
	done
'

for target in $TARGETS
do
	test_expect_success "corpus of '$target' replays without a crash" '
		ls "$FUZZ_DIR/corpus/$target" >files &&
		test $(wc -l <files) -ge 3 &&
		"$FUZZ_DIR/build/replay-$target" "$FUZZ_DIR/corpus/$target"/*
	'
done

test_done
