#!/bin/sh

test_description='the command line: version, help, errors, env, ls-files, status

Exit codes as git has them: 0, 1 for an unknown command, 128 outside a
repository, 129 for a bad option.'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'version' '
	git lepton version >out &&
	test_grep "^git-lepton/" out &&
	git-lepton version >out2 &&
	test_cmp out out2
'

test_expect_success 'help lists the commands' '
	git lepton help >out &&
	for cmd in install uninstall track untrack pointer clean smudge filter-process \
		fsck ls-files status env version
	do
		test_grep -w -e "$cmd" out || return 1
	done
'

test_expect_success 'help COMMAND and COMMAND --help print its usage' '
	git lepton help track >out1 &&
	test_grep -i "usage" out1 &&
	test_grep "track" out1 &&
	git lepton track --help >out2 &&
	test_grep -i "usage" out2 &&
	test_grep "track" out2 &&
	git lepton help ls-files >out3 &&
	test_grep "ls-files" out3
'

test_expect_success 'help of an unknown command fails' '
	test_must_fail git lepton help frobnicate >out 2>err &&
	test_grep frobnicate err
'

test_expect_success 'an unknown command exits 1 with a message' '
	test_expect_code 1 git lepton frobnicate >out 2>err &&
	test_grep frobnicate err
'

test_expect_success 'outside a repository, ls-files exits 128' '
	mkdir norepo &&
	(
		cd norepo &&
		test_expect_code 128 git lepton ls-files >out 2>err &&
		test_grep "not a git repository" err
	)
'

test_expect_success 'outside a repository, version and help work' '
	(
		cd norepo &&
		git lepton version &&
		git lepton help >/dev/null
	)
'

test_expect_success 'setup: a repository with history' '
	setup_repo repo &&
	(
		cd repo &&
		mkdir -p sub &&
		make_file a.bin 1000 a1 &&
		make_file "sub/b c.safetensors" 2000 b &&
		echo text >readme.txt &&
		git add . &&
		git commit -q -m first &&
		make_file a.bin 1000 a2 &&
		make_file new.bin 3000 new &&
		git add . &&
		git commit -q -m second
	)
'

test_expect_success 'a bad option exits 129 with the usage' '
	(
		cd repo &&
		test_expect_code 129 git lepton track --bogus >../out 2>../err
	) &&
	test_grep -e "--bogus" err &&
	test_grep -i "usage" err &&
	(
		cd repo &&
		test_expect_code 129 git lepton ls-files --bogus >../out 2>../err
	) &&
	test_grep -e "--bogus" err
'

test_expect_success 'env shows the local store' '
	(
		cd repo &&
		git lepton env >../out
	) &&
	test_grep -F "$TRASH_DIRECTORY/repo/.git/lepton" out
'

test_expect_success 'env from a subdirectory' '
	(
		cd repo/sub &&
		git lepton env >../../out
	) &&
	test_grep -F "$TRASH_DIRECTORY/repo/.git/lepton" out
'

test_expect_success 'env with GIT_DIR from outside' '
	(
		cd norepo &&
		GIT_DIR="$TRASH_DIRECTORY/repo/.git" git lepton env >../out
	) &&
	test_grep -F "$TRASH_DIRECTORY/repo/.git/lepton" out
'

test_expect_success 'GIT_DIR and GIT_WORK_TREE from outside' '
	(
		cd norepo &&
		GIT_DIR="$TRASH_DIRECTORY/repo/.git" GIT_WORK_TREE="$TRASH_DIRECTORY/repo" \
			git lepton env >../out &&
		git --git-dir="$TRASH_DIRECTORY/repo/.git" --work-tree="$TRASH_DIRECTORY/repo" \
			lepton ls-files >../actual
	) &&
	test_grep -F "$TRASH_DIRECTORY/repo/.git/lepton" out &&
	test_grep "a.bin" actual
'

# ls_line PATH [REV]: the expected `ls-files` line, "<10 hex> * PATH"
ls_line () {
	_oid=$(git cat-file blob "${2:-HEAD}:$1" | sed -n "s/^oid sha256://p") &&
	printf "%s * %s\n" "$(echo "$_oid" | cut -c1-10)" "$1"
}

test_expect_success 'ls-files lists the tracked files of HEAD' '
	(
		cd repo &&
		git lepton ls-files >../actual &&
		{
			ls_line a.bin &&
			ls_line new.bin &&
			ls_line "sub/b c.safetensors"
		} >../expect
	) &&
	test_cmp expect actual
'

test_expect_success 'ls-files --long shows the full oid' '
	(
		cd repo &&
		git lepton ls-files --long >../actual &&
		oid=$(git cat-file blob HEAD:a.bin | sed -n "s/^oid sha256://p") &&
		test_grep "^$oid \* a.bin$" ../actual
	) &&
	test_line_count = 3 actual
'

test_expect_success 'ls-files REV' '
	(
		cd repo &&
		git lepton ls-files HEAD~1 >../actual &&
		{
			ls_line a.bin HEAD~1 &&
			ls_line "sub/b c.safetensors" HEAD~1
		} >../expect
	) &&
	test_cmp expect actual
'

test_expect_success 'ls-files marks content missing from the store with -' '
	(
		cd repo &&
		oid=$(git cat-file blob HEAD:new.bin | sed -n "s/^oid sha256://p") &&
		recipe=$(lepton_recipe_path "$oid") &&
		mv "$recipe" ../saved-recipe &&
		{ git lepton ls-files >../actual; echo $? >../code; } &&
		mv ../saved-recipe "$recipe" &&
		test "$(cat ../code)" = 0 &&
		printf "%s - new.bin\n" "$(echo $oid | cut -c1-10)" >../expect-line &&
		test_grep -F -x -f ../expect-line ../actual
	)
'

test_expect_success 'ls-files from a subdirectory' '
	(
		cd repo/sub &&
		git lepton ls-files >../../actual
	) &&
	test_grep "b c.safetensors" actual &&
	test_grep "a.bin" actual
'

test_expect_success 'ls-files of a bad revision fails' '
	(
		cd repo &&
		test_must_fail git lepton ls-files no-such-rev >../out 2>../err
	) &&
	test_grep no-such-rev err
'

test_expect_success 'status mentions staged model files' '
	(
		cd repo &&
		make_file staged.bin 4000 staged &&
		git add staged.bin &&
		git lepton status >../out &&
		git commit -q -m staged
	) &&
	sed -n "/^Model files staged for commit:/,/^\$/p" out >staged &&
	test_grep "new: *staged.bin" staged &&
	sed -n "/^Model files unchanged since HEAD:/,/^\$/p" out >unchanged &&
	test_grep "a.bin" unchanged &&
	! test_grep "a.bin" staged 2>/dev/null
'

test_expect_success 'commands work from a subdirectory' '
	(
		cd repo/sub &&
		git lepton track >../../out &&
		git lepton status &&
		git lepton fsck
	) &&
	test_grep -F "*.bin" out
'

test_expect_success 'status names raw files, malformed pointers and missing content' '
	(
		cd repo &&
		make_file raw.bin 3000 raw &&
		blob=$(git hash-object -w --no-filters raw.bin) &&
		git update-index --add --cacheinfo 100644,$blob,raw.bin &&
		printf "version https://git-lfs.github.com/spec/v1\noid sha256:zz\nsize 1\n" >bad.bin &&
		blob=$(git hash-object -w --no-filters bad.bin) &&
		git update-index --add --cacheinfo 100644,$blob,bad.bin &&
		make_file gone.bin 2000 gone &&
		git add gone.bin &&
		rm -rf .git/lepton/recipes/$(file_sha256 gone.bin | cut -c1-2) &&
		git lepton status >../out &&
		rm -f raw.bin bad.bin gone.bin &&
		git rm -q --cached raw.bin bad.bin gone.bin
	) &&
	sed -n "/^Tracked files staged as raw bytes/,/^\$/p" out >raw &&
	test_grep "raw.bin" raw &&
	sed -n "/^Malformed pointers/,/^\$/p" out >bad &&
	test_grep "bad.bin" bad &&
	test_grep "gone.bin.*content missing locally" out &&
	test_grep "without content in the local store" out
'

test_done
