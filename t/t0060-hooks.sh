#!/bin/sh

test_description='the pre-commit hook

A tracked path staged as raw bytes (or as a malformed pointer) is refused
with a message that names the file and says how to fix it; --no-verify
still commits; a proper pointer passes.'

. "$(dirname "$0")"/test-lib.sh

# stage_raw FILE: stage FILE's bytes as they are, bypassing the filter
stage_raw () {
	_blob=$(git hash-object -w --no-filters -- "$1") &&
	git update-index --add --cacheinfo "100644,$_blob,$1"
}

test_expect_success 'setup' '
	setup_repo &&
	make_file good.bin 20000 good &&
	git add good.bin &&
	git commit -q -m good &&
	assert_pointer good.bin
'

test_expect_success 'a commit of pointers passes the hook' '
	make_file more.safetensors 30000 more &&
	git add more.safetensors &&
	git commit -q -m more &&
	assert_pointer more.safetensors
'

test_expect_success 'a tracked file staged as raw bytes is refused' '
	make_file "raw model.bin" 5000 raw &&
	stage_raw "raw model.bin" &&
	test "$(git cat-file -s ":raw model.bin")" = 5000 &&
	head=$(git rev-parse HEAD) &&
	test_must_fail git commit -q -m raw 2>err &&
	test "$(git rev-parse HEAD)" = "$head" &&
	test_grep "raw model.bin" err &&
	test_grep -e "git add --renormalize\|git lepton\|git add" err
'

test_expect_success 'the hook can be run by hand' '
	test_must_fail git lepton hook pre-commit 2>err &&
	test_grep "raw model.bin" err
'

test_expect_success 'the fix the message gives works' '
	git add --renormalize "raw model.bin" &&
	assert_pointer "raw model.bin" &&
	git commit -q -m "raw, fixed" &&
	assert_pointer "raw model.bin"
'

test_expect_success 'a file added by a git without the filter is refused' '
	make_file sneaky.bin 3000 sneaky &&
	cp .git/config config.saved &&
	git config --local --remove-section filter.lepton &&
	git add sneaky.bin &&
	cp config.saved .git/config &&
	test "$(git cat-file -s :sneaky.bin)" = 3000 &&
	test_must_fail git commit -q -m sneaky 2>err &&
	test_grep "sneaky.bin" err &&
	test_grep ! "raw model.bin" err
'

test_expect_success 'git commit --no-verify still commits' '
	git commit -q --no-verify -m "sneaky, no verify" &&
	test "$(git cat-file -s HEAD:sneaky.bin)" = 3000
'

test_expect_success 'a raw file committed with --no-verify does not block other commits' '
	make_file plain.dat 4000 plain &&
	git add plain.dat &&
	git commit -q -m plain &&
	test "$(git cat-file -s HEAD:plain.dat)" = 4000
'

test_expect_success 'the raw file is fixed with the command the message gives' '
	git add --renormalize sneaky.bin &&
	assert_pointer sneaky.bin &&
	git commit -q -m "sneaky, fixed" &&
	assert_pointer sneaky.bin
'

test_expect_success 'files that are not tracked are not checked' '
	make_file plain2.dat 4000 plain2 &&
	git add plain2.dat &&
	git commit -q -m plain2 &&
	test "$(git cat-file -s HEAD:plain2.dat)" = 4000
'

test_expect_success 'an empty tracked file passes' '
	: >empty.bin &&
	git add empty.bin &&
	git commit -q -m empty
'

test_expect_success 'a malformed pointer staged under a tracked path is refused' '
	printf "version https://git-lfs.github.com/spec/v1\noid sha256:zz\nsize 1\n" >broken.bin &&
	stage_raw broken.bin &&
	test_must_fail git commit -q -m broken 2>err &&
	test_grep "broken.bin" err &&
	rm broken.bin &&
	git rm -q --cached broken.bin
'

test_expect_success 'a deleted tracked file is fine' '
	git rm -q good.bin &&
	git commit -q -m "remove good"
'

test_expect_success 'the hook fails clearly when git-lepton is not on PATH' '
	make_file nopath.bin 100 nopath &&
	git add nopath.bin &&
	hooks=$(git rev-parse --git-path hooks) &&
	test_must_fail env PATH="/usr/bin:/bin" "$hooks/pre-commit" 2>err &&
	test_grep "git-lepton" err
'

test_done
