#!/bin/sh

test_description='a file committed as raw bytes before it was tracked

git add --renormalize turns it into a pointer; the old commit still gives
the raw bytes back, since smudge passes content that is not a pointer
through unchanged.'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: weights committed raw' '
	git init -q &&
	git lepton install --local &&
	mkdir -p .test-saved &&
	echo "/.test-saved/" >>.git/info/exclude &&
	make_file weights.bin 5000000 raw &&
	printf "not a model\n" >notes.txt &&
	cp weights.bin .test-saved/weights &&
	git add weights.bin notes.txt &&
	git commit -q -m raw &&
	test "$(git cat-file -s HEAD:weights.bin)" = 5000000
'

test_expect_success 'track, then add --renormalize makes it a pointer' '
	git lepton track "*.bin" 2>track.err &&
	test_grep weights.bin track.err &&
	git add .gitattributes &&
	git add --renormalize . &&
	assert_pointer_of weights.bin .test-saved/weights &&
	assert_in_store "$(pointer_oid weights.bin)" &&
	git status --porcelain --untracked-files=no >actual &&
	cat >expect <<-\EOF &&
	A  .gitattributes
	M  weights.bin
	EOF
	test_cmp expect actual &&
	git commit -q -m "track weights" &&
	test_cmp_bin .test-saved/weights weights.bin &&
	assert_clean_status
'

test_expect_success 'renormalize does not touch files that are not tracked' '
	test "$(git rev-parse HEAD:notes.txt)" = "$(git rev-parse HEAD~1:notes.txt)"
'

test_expect_success 'the old commit checks out the raw bytes' '
	git checkout -q HEAD~1 &&
	test_cmp_bin .test-saved/weights weights.bin &&
	test "$(git cat-file -s :weights.bin)" = 5000000 &&
	git checkout -q main &&
	test_cmp_bin .test-saved/weights weights.bin &&
	assert_pointer_of weights.bin .test-saved/weights &&
	assert_clean_status
'

test_expect_success 'smudge passes the raw blob through while the path is tracked' '
	rm weights.bin &&
	git checkout HEAD~1 -- weights.bin &&
	test_cmp_bin .test-saved/weights weights.bin &&
	test "$(git cat-file -s :weights.bin)" = 5000000 &&
	git reset -q --hard &&
	test_cmp_bin .test-saved/weights weights.bin &&
	assert_pointer_of weights.bin .test-saved/weights
'

test_expect_success 'git lepton smudge passes non-pointer content through' '
	git lepton smudge <.test-saved/weights >out &&
	test_cmp_bin .test-saved/weights out &&
	git lepton smudge -- notes.txt <notes.txt >out &&
	test_cmp_bin notes.txt out &&
	: >empty &&
	git lepton smudge <empty >out &&
	test_must_be_empty out
'

test_done
