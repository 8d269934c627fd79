#!/bin/sh

test_description='a damaged store

A flipped byte in a pack, a missing recipe, a malformed pointer in
history: checkout fails and says what is wrong, never writes bad bytes,
never crashes; git lepton fsck finds each problem and names the object,
the path and the commit.'

. "$(dirname "$0")"/test-lib.sh

# flip_byte FILE OFFSET: invert the byte at OFFSET
flip_byte () {
	_fb_old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d " ") &&
	test -n "$_fb_old" &&
	_fb_new=$(( _fb_old ^ 255 )) &&
	chmod u+w "$1" &&
	printf "\\$(printf %03o "$_fb_new")" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null &&
	test "$(od -An -tu1 -j "$2" -N1 "$1" | tr -d " ")" = "$_fb_new"
}

test_expect_success 'setup: a repository with one model' '
	setup_repo repo &&
	(
		cd repo &&
		make_file model.bin 10000000 model &&
		git add model.bin &&
		git commit -q -m model
	) &&
	cp repo/model.bin model.saved &&
	OID=$(file_sha256 model.saved) &&
	COMMIT=$(git -C repo rev-parse HEAD)
'

test_expect_success 'fsck of a healthy store' '
	(
		cd repo &&
		git lepton fsck
	)
'

test_expect_success 'setup: a copy of the repository to damage' '
	cp -R repo flipped &&
	(
		cd flipped &&
		ls .git/lepton/packs/*.pack >../packs &&
		test_line_count = 1 ../packs &&
		pack=$(cat ../packs) &&
		size=$(file_size "$pack") &&
		test "$size" -gt 10000000 &&
		flip_byte "$pack" $(( size / 2 ))
	)
'

test_expect_success 'checkout of a file with a flipped byte fails and names it' '
	(
		cd flipped &&
		rm model.bin &&
		test_must_fail git checkout -- model.bin 2>../err
	) &&
	{
		test_grep "model.bin" err ||
		test_grep "$OID" err
	}
'

test_expect_success 'the damaged bytes never reach the work tree' '
	if test -f flipped/model.bin
	then
		test_cmp_bin model.saved flipped/model.bin
	fi
'

test_expect_success 'smudge of a damaged object fails' '
	(
		cd flipped &&
		git cat-file blob HEAD:model.bin >../ptr &&
		test_must_fail git lepton smudge -- model.bin <../ptr >../out 2>../err
	) &&
	test -s err &&
	! cmp -s model.saved out
'

test_expect_success 'fsck finds the damage and names object, path and commit' '
	(
		cd flipped &&
		test_must_fail git lepton fsck >../out 2>&1
	) &&
	test_grep "model.bin" out &&
	test_grep "$(echo $OID | cut -c1-10)" out &&
	test_grep "$(echo $COMMIT | cut -c1-7)" out
'

test_expect_success 'the healthy copy is unaffected' '
	(
		cd repo &&
		rm model.bin &&
		git checkout -- model.bin &&
		git lepton fsck
	) &&
	test_cmp_bin model.saved repo/model.bin
'

test_expect_success 'setup: a copy with the recipe deleted' '
	cp -R repo norecipe &&
	(
		cd norecipe &&
		recipe=$(lepton_recipe_path "$OID") &&
		test_path_is_file "$recipe" &&
		rm -f "$recipe" &&
		assert_not_in_store "$OID"
	)
'

test_expect_success 'checkout without the recipe fails and names the oid' '
	(
		cd norecipe &&
		rm model.bin &&
		test_must_fail git checkout -- model.bin 2>../err
	) &&
	test_grep "$OID" err &&
	test_path_is_missing norecipe/model.bin
'

test_expect_success 'fsck reports the missing content with path and commit' '
	(
		cd norecipe &&
		test_must_fail git lepton fsck >../out 2>&1
	) &&
	test_grep "model.bin" out &&
	test_grep "$(echo $OID | cut -c1-10)" out &&
	test_grep "$(echo $COMMIT | cut -c1-7)" out
'

test_expect_success 'setup: a malformed pointer committed in history' '
	cp -R repo malformed &&
	(
		cd malformed &&
		printf "version https://git-lfs.github.com/spec/v1\noid sha256:zz\nsize 1\n" >../bad-pointer &&
		blob=$(git hash-object -w --no-filters ../bad-pointer) &&
		git update-index --add --cacheinfo "100644,$blob,bad.bin" &&
		git commit -q --no-verify -m "malformed pointer" &&
		test "$(git rev-parse HEAD:bad.bin)" = "$blob"
	) &&
	BAD_COMMIT=$(git -C malformed rev-parse HEAD)
'

test_expect_success 'smudge of the malformed pointer does not crash' '
	(
		cd malformed &&
		test_might_fail git lepton smudge -- bad.bin <../bad-pointer >/dev/null 2>../err
	)
'

test_expect_success 'checkout of the malformed pointer does not crash' '
	(
		cd malformed &&
		rm -f bad.bin &&
		{ git checkout -- bad.bin 2>../err; echo $? >../code; }
	) &&
	test "$(cat code)" -le 128 &&
	test_grep ! -i "segmentation\|core dumped\|sanitizer" err
'

test_expect_success 'fsck reports the malformed pointer' '
	(
		cd malformed &&
		test_must_fail git lepton fsck >../out 2>&1
	) &&
	test_grep "bad.bin" out &&
	test_grep "$(echo $BAD_COMMIT | cut -c1-7)" out
'

test_expect_success 'fsck exits with an error, not a signal, on a store it cannot read' '
	cp -R repo nostore &&
	(
		cd nostore &&
		rm -f .git/lepton/lepton-store &&
		echo "some other format 9" >.git/lepton/lepton-store &&
		test_must_fail git lepton fsck >../out 2>&1
	) &&
	test -s out
'

test_expect_success 'a damaged pack index: checkout fails naming the oid, fsck names the index' '
	cp -R repo badidx &&
	(
		cd badidx &&
		idx=$(ls .git/lepton/packs/*.idx) &&
		flip_byte "$idx" 1100 &&
		rm model.bin &&
		test_must_fail git checkout -- model.bin 2>../err &&
		test_must_fail git lepton fsck >../out 2>&1
	) &&
	test_grep "$OID" err &&
	test_grep "index" out &&
	test_grep "corrupt" out &&
	test_grep "$(echo $OID | cut -c1-10)" out
'

test_expect_success 'a truncated pack: checkout fails, nothing partial is left' '
	cp -R repo shortpack &&
	(
		cd shortpack &&
		pack=$(ls .git/lepton/packs/*.pack) &&
		chmod u+w "$pack" &&
		truncate -s 5000000 "$pack" &&
		rm model.bin &&
		test_must_fail git checkout -- model.bin 2>../err &&
		test_must_fail git lepton fsck >../out 2>&1
	) &&
	test_grep "truncated" err &&
	test_path_is_missing shortpack/model.bin &&
	test_grep "truncated" out
'

test_done
