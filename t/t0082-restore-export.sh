#!/bin/sh

test_description='git lepton restore and export

restore brings a version back as git restore --source does (work tree by
default, --staged the index, both with both flags); export writes a
version'"'"'s bytes to a file, atomically, without touching the work tree
or the index.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-versions.sh

# pointer_at REV PATH: the oid in the pointer of PATH at REV
pointer_at () {
	git cat-file blob "$1:$2" | sed -n "s/^oid sha256://p"
}

test_expect_success 'setup: a history of five model versions' '
	make_version_history
'

test_expect_success 'restore --version N: the work tree gets those bytes' '
	git lepton restore --version 2 model.safetensors &&
	test_cmp_bin .git/versions/model.safetensors.v2 model.safetensors &&
	git diff --cached --quiet &&
	git status --porcelain --untracked-files=no >st &&
	test_grep "^ M model.safetensors$" st
'

test_expect_success 'restore without a version: back to HEAD' '
	git lepton restore model.safetensors &&
	test_cmp_bin .git/versions/model.safetensors.v5 model.safetensors &&
	assert_clean_status
'

test_expect_success 'restore --staged: only the index' '
	git lepton restore --staged --version v3 model.safetensors &&
	test "$(pointer_oid model.safetensors)" = "$(file_sha256 .git/versions/model.safetensors.v3)" &&
	test_cmp_bin .git/versions/model.safetensors.v5 model.safetensors &&
	git lepton restore --staged model.safetensors &&
	assert_clean_status
'

test_expect_success 'restore --staged --worktree: both' '
	git lepton restore --staged --worktree --version 1 model.safetensors data.bin &&
	test_cmp_bin .git/versions/model.safetensors.v1 model.safetensors &&
	test_cmp_bin .git/versions/data.bin.v1 data.bin &&
	test "$(pointer_oid model.safetensors)" = "$(file_sha256 .git/versions/model.safetensors.v1)" &&
	git lepton restore --staged --worktree model.safetensors data.bin &&
	assert_clean_status
'

test_expect_success 'restore --source takes PATH@vN, vN and git revisions' '
	git lepton restore --source model.safetensors@v4 model.safetensors &&
	test_cmp_bin .git/versions/model.safetensors.v4 model.safetensors &&
	git lepton restore --source=v2 data.bin &&
	test_cmp_bin .git/versions/data.bin.v2 data.bin &&
	git lepton restore --source $(version_commit model.safetensors 3) model.safetensors &&
	test_cmp_bin .git/versions/model.safetensors.v3 model.safetensors &&
	git lepton restore model.safetensors data.bin &&
	assert_clean_status
'

test_expect_success 'restore: a version that does not exist' '
	test_must_fail git lepton restore --version 7 model.safetensors 2>err &&
	test_grep "^error: .model.safetensors. has 5 versions; there is no v7$" err &&
	test_must_fail git lepton restore --version 0 model.safetensors 2>err &&
	test_grep "no v0" err &&
	test_must_fail git lepton restore --version 1 nope.bin 2>err &&
	test_grep "nope.bin. has no versions" err &&
	assert_clean_status
'

test_expect_success 'restore: bad usage' '
	test_expect_code 129 git lepton restore 2>err &&
	test_expect_code 129 git lepton restore --version 1 --source HEAD model.safetensors 2>err &&
	test_grep "cannot be used together" err &&
	test_expect_code 129 git lepton restore --version latest model.safetensors 2>err &&
	test_grep "takes a number" err &&
	test_expect_code 129 git lepton restore --bogus model.safetensors 2>err
'

test_expect_success 'export REV PATH FILE: the bytes, and nothing else changes' '
	git lepton export v2 model.safetensors out.safetensors &&
	test_cmp_bin .git/versions/model.safetensors.v2 out.safetensors &&
	assert_clean_status &&
	test_cmp_bin .git/versions/model.safetensors.v5 model.safetensors &&
	git lepton export data.bin@v2 data.bin out.data &&
	test_cmp_bin .git/versions/data.bin.v2 out.data
'

test_expect_success 'export into a directory uses the basename' '
	mkdir -p exported/sub &&
	git lepton export model.safetensors@v1 model.safetensors exported/sub &&
	test_cmp_bin .git/versions/model.safetensors.v1 exported/sub/model.safetensors &&
	git lepton export HEAD~1 data.bin exported/ &&
	test_cmp_bin .git/versions/data.bin.v2 exported/data.bin
'

test_expect_success 'export replaces DEST whole and leaves no temporary file' '
	echo old >dest &&
	git lepton export v4 model.safetensors dest &&
	test_cmp_bin .git/versions/model.safetensors.v4 dest &&
	ls -a >files &&
	test_grep ! "lepton-tmp" files
'

test_expect_success 'content not in the local store: export and restore say to fetch' '
	oid=$(file_sha256 .git/versions/model.safetensors.v2) &&
	recipe=$(lepton_recipe_path $oid) &&
	mv "$recipe" recipe.saved &&
	test_when_finished "mv recipe.saved \"$recipe\"" &&
	echo old >dest &&
	test_must_fail git lepton export v2 model.safetensors dest 2>err &&
	test_grep "content .$oid. of .model.safetensors." err &&
	test_grep "git lepton fetch" err &&
	echo old >expect &&
	test_cmp expect dest &&
	ls -a >files &&
	test_grep ! "lepton-tmp" files &&
	test_must_fail git lepton restore --version 2 model.safetensors 2>err &&
	test_grep "git lepton fetch" err &&
	test_cmp_bin .git/versions/model.safetensors.v5 model.safetensors &&
	assert_clean_status
'

test_expect_success 'export: damaged content is refused, DEST untouched' '
	oid=$(file_sha256 .git/versions/data.bin.v2) &&
	recipe=$(lepton_recipe_path $oid) &&
	cp "$recipe" recipe.saved &&
	chmod u+w "$recipe" &&
	test_when_finished "cp recipe.saved \"$recipe\"" &&
	printf "XXXX" | dd of="$recipe" bs=1 seek=60 conv=notrunc 2>/dev/null &&
	echo old >dest &&
	test_must_fail git lepton export data.bin@v2 data.bin dest 2>err &&
	test_grep "damaged" err &&
	echo old >expect &&
	test_cmp expect dest
'

test_expect_success 'export: errors name what is wrong' '
	test_expect_code 129 git lepton export v1 model.safetensors 2>err &&
	test_must_fail git lepton export v9 model.safetensors x 2>err &&
	test_grep "has 5 versions; there is no v9" err &&
	test_must_fail git lepton export HEAD nope.bin x 2>err &&
	test_grep "nope.bin. does not exist in commit" err &&
	test_must_fail git lepton export data.bin@v1 model.safetensors x 2>err &&
	test_grep "names another path" err &&
	test_must_fail git lepton export v1 model.safetensors no/such/dir/x 2>err &&
	test_grep "cannot create" err &&
	test_path_is_missing x
'

test_done
