#!/bin/sh

test_description='model content through a lepton:: remote

Smudge brings content from the remote a clone came from, on clone and on
checkout of older versions; GIT_LEPTON_SKIP_SMUDGE clones pointers only,
and git lepton fetch (with --include/--exclude, REV, --all and the
lepton.fetchinclude/fetchexclude configuration), git lepton pull and git
lepton push move content explicitly.  A push sends only the chunks the
store lacks; every byte fetched is verified, so a damaged store is
reported and never turns into a wrong file.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-remote.sh

STORE="$TRASH_DIRECTORY/store"
URL="lepton::$STORE"
CHUNK=$LEPTON_CHUNK_SIZE

# skip_clone DIR: a clone of the store with pointers only.
skip_clone () {
	GIT_LEPTON_SKIP_SMUDGE=1 git clone -q "$URL" "$1"
}

# assert_materialised REPO PATH...: each PATH in REPO holds content, not
# a pointer, and git status is clean.
assert_materialised () {
	_am_repo=$1
	shift
	for _am_path
	do
		if git -C "$_am_repo" lepton pointer --check "$_am_path" >/dev/null 2>&1
		then
			echo >&4 "'$_am_repo/$_am_path' is still a pointer"
			return 1
		fi
	done &&
	(cd "$_am_repo" && assert_clean_status)
}

test_expect_success 'setup: first version pushed' '
	setup_repo src &&
	make_file "$DATA/big1" 16M big &&
	make_model "$DATA/m1" 3 5 &&
	make_file "$DATA/c1" 200K c1 &&
	cp "$DATA/big1" src/big.bin &&
	cp "$DATA/m1" src/model.safetensors &&
	mkdir src/sub &&
	cp "$DATA/c1" src/sub/c.bin &&
	git -C src add . &&
	test_tick &&
	git -C src commit -q -m v1 &&
	git -C src remote add origin "$URL" &&
	git -C src push -q origin main &&
	BIG1=$(file_sha256 "$DATA/big1") &&
	M1=$(file_sha256 "$DATA/m1") &&
	C1=$(file_sha256 "$DATA/c1") &&
	for oid in $BIG1 $M1 $C1
	do
		assert_remote_has "$STORE" $oid || return 1
	done &&
	store_content_bytes "$STORE" >size1 &&
	test "$(cat size1)" -ge $(( 16 * 1048576 ))
'

test_expect_success 'a second push sends only the chunks the store lacks' '
	cp "$DATA/big1" "$DATA/big2" &&
	make_file "$DATA/patch" 4096 patch &&
	dd if="$DATA/patch" of="$DATA/big2" bs=4096 seek=$((13 * 256)) conv=notrunc 2>/dev/null &&
	! cmp -s "$DATA/big1" "$DATA/big2" &&
	BIG2=$(file_sha256 "$DATA/big2") &&
	cp "$DATA/big2" src/big.bin &&
	git -C src add big.bin &&
	test_tick &&
	git -C src commit -q -m "v2: one chunk of big.bin changes" &&
	git -C src push -q origin main &&
	assert_remote_has "$STORE" $BIG2 &&
	store_content_bytes "$STORE" >size2 &&
	growth=$(( $(cat size2) - $(cat size1) )) &&
	echo "store grew by $growth bytes for one changed chunk of $CHUNK" >&3 &&
	test $growth -gt 4096 &&
	test $growth -lt $(( $CHUNK + $CHUNK / 2 ))
'

test_expect_success 'pushing again sends nothing' '
	store_snapshot "$STORE" snap.before &&
	git -C src push origin main 2>err &&
	test_grep "up-to-date" err &&
	store_snapshot "$STORE" snap.after &&
	test_cmp snap.before snap.after
'

test_expect_success 'clone smudges every file from the remote' '
	git clone -q "$URL" clone &&
	test_cmp_bin "$DATA/big2" clone/big.bin &&
	test_cmp_bin "$DATA/m1" clone/model.safetensors &&
	test_cmp_bin "$DATA/c1" clone/sub/c.bin &&
	(
		cd clone &&
		assert_in_store $BIG2 &&
		assert_in_store $M1 &&
		assert_in_store $C1 &&
		assert_local_store_sound &&
		assert_clean_status
	)
'

test_expect_success 'checkout of an older version brings its content' '
	(
		cd clone &&
		git checkout -q HEAD~1 &&
		test_cmp_bin "$DATA/big1" big.bin &&
		assert_in_store $BIG1 &&
		git checkout -q main &&
		test_cmp_bin "$DATA/big2" big.bin &&
		assert_clean_status
	)
'

test_expect_success 'without hard links, a clone reads frames in ranges and gets the same bytes' '
	git config --global lepton.hardlinks false &&
	git config --global lepton.concurrency 3 &&
	test_when_finished "git config --global --unset lepton.hardlinks;
		git config --global --unset lepton.concurrency" &&
	git clone -q "$URL" clone-copied &&
	test_cmp_bin "$DATA/big2" clone-copied/big.bin &&
	test_cmp_bin "$DATA/m1" clone-copied/model.safetensors &&
	test_cmp_bin "$DATA/c1" clone-copied/sub/c.bin &&
	(
		cd clone-copied &&
		git checkout -q HEAD~1 &&
		test_cmp_bin "$DATA/big1" big.bin &&
		assert_local_store_sound &&
		find .git/lepton/packs -links +1 -type f >linked &&
		test_must_be_empty linked
	)
'

test_expect_success 'GIT_LEPTON_SKIP_SMUDGE=1 clones pointers only' '
	GIT_LEPTON_SKIP_SMUDGE=1 git clone -q "$URL" ptr0 &&
	make_pointer "$DATA/big2" >expect &&
	test_cmp expect ptr0/big.bin &&
	make_pointer "$DATA/m1" >expect &&
	test_cmp expect ptr0/model.safetensors &&
	make_pointer "$DATA/c1" >expect &&
	test_cmp expect ptr0/sub/c.bin &&
	(cd ptr0 && assert_clean_status)
'

test_expect_success 'a pointers-only clone downloads no content' '
	(
		cd ptr0 &&
		assert_not_in_store $BIG2 &&
		assert_not_in_store $M1 &&
		assert_not_in_store $C1 &&
		git lepton ls-files >../ls &&
		test_grep " - big.bin" ../ls
	)
'

test_expect_success 'git lepton ls-files tells content that is not here' '
	skip_clone ptr &&
	(
		cd ptr &&
		assert_not_in_store $BIG2 &&
		git lepton ls-files >../ls
	) &&
	test_grep " - big.bin" ls &&
	test_grep " - model.safetensors" ls
'

test_expect_success LEPTON_FETCH 'git lepton fetch --include and --exclude' '
	(
		cd ptr &&
		git lepton fetch origin --include "*.safetensors" &&
		assert_in_store $M1 &&
		assert_not_in_store $BIG2 &&
		assert_not_in_store $C1 &&
		git lepton fetch --exclude "sub/*" &&
		assert_in_store $BIG2 &&
		assert_not_in_store $C1 &&
		assert_not_in_store $BIG1 &&
		git lepton fetch &&
		assert_in_store $C1 &&
		assert_not_in_store $BIG1
	)
'

test_expect_success LEPTON_FETCH 'git checkout materialises fetched content' '
	(
		cd ptr &&
		rm big.bin model.safetensors sub/c.bin &&
		git checkout -- . &&
		test_cmp_bin "$DATA/big2" big.bin &&
		test_cmp_bin "$DATA/m1" model.safetensors &&
		test_cmp_bin "$DATA/c1" sub/c.bin
	) &&
	assert_materialised ptr big.bin model.safetensors sub/c.bin
'

test_expect_success LEPTON_FETCH 'git lepton fetch REMOTE REV' '
	skip_clone ptr2 &&
	(
		cd ptr2 &&
		git lepton fetch origin HEAD~1 &&
		assert_in_store $BIG1 &&
		assert_not_in_store $BIG2 &&
		assert_in_store $M1 &&
		assert_in_store $C1
	)
'

test_expect_success LEPTON_FETCH 'git lepton fetch --all' '
	skip_clone ptr2b &&
	(
		cd ptr2b &&
		git lepton fetch --all &&
		assert_in_store $BIG1 &&
		assert_in_store $BIG2 &&
		assert_in_store $M1 &&
		assert_in_store $C1 &&
		assert_local_store_sound
	)
'

test_expect_success LEPTON_FETCH 'lepton.fetchinclude and lepton.fetchexclude' '
	skip_clone ptr3 &&
	(
		cd ptr3 &&
		git config lepton.fetchinclude "*.bin" &&
		git config lepton.fetchexclude "sub/*" &&
		git lepton fetch &&
		assert_in_store $BIG2 &&
		assert_not_in_store $M1 &&
		assert_not_in_store $C1
	)
'

test_expect_success LEPTON_FETCH 'git lepton fetch of an unknown remote or revision fails clearly' '
	(
		cd ptr3 &&
		test_must_fail git lepton fetch nosuchremote 2>../err &&
		test_grep nosuchremote ../err &&
		test_must_fail git lepton fetch origin nosuchrev 2>../err &&
		test_grep nosuchrev ../err
	)
'

test_expect_success LEPTON_PULL 'git lepton pull fetches and materialises HEAD' '
	skip_clone ptr4 &&
	head=$(git -C ptr4 rev-parse HEAD) &&
	git -C ptr4 lepton pull &&
	test "$(git -C ptr4 rev-parse HEAD)" = "$head" &&
	test_cmp_bin "$DATA/big2" ptr4/big.bin &&
	test_cmp_bin "$DATA/m1" ptr4/model.safetensors &&
	test_cmp_bin "$DATA/c1" ptr4/sub/c.bin &&
	assert_materialised ptr4 big.bin model.safetensors sub/c.bin &&
	(cd ptr4 && assert_local_store_sound)
'

test_expect_success LEPTON_PUSH 'git lepton push uploads content and leaves the refs alone' '
	cp "$DATA/big2" "$DATA/big3" &&
	dd if="$DATA/patch" of="$DATA/big3" bs=4096 seek=10 conv=notrunc 2>/dev/null &&
	BIG3=$(file_sha256 "$DATA/big3") &&
	cp "$DATA/big3" src/big.bin &&
	git -C src add big.bin &&
	test_tick &&
	git -C src commit -q -m v3 &&
	before=$(git -C src rev-parse origin/main) &&
	assert_remote_lacks "$STORE" $BIG3 &&
	git -C src lepton push origin &&
	assert_remote_has "$STORE" $BIG3 &&
	assert_remote_ref "$URL" refs/heads/main "$before"
'

test_expect_success LEPTON_PUSH 'git lepton push REMOTE REV' '
	git -C src checkout -q -b other main~1 &&
	make_file "$DATA/c2" 100K c2 &&
	C2=$(file_sha256 "$DATA/c2") &&
	cp "$DATA/c2" src/sub/c.bin &&
	git -C src add sub/c.bin &&
	test_tick &&
	git -C src commit -q -m "other c" &&
	git -C src checkout -q main &&
	git -C src lepton push origin other &&
	assert_remote_has "$STORE" $C2 &&
	assert_remote_ref "$URL" refs/heads/other "" &&
	git -C src push -q origin main other &&
	git clone -q -b other "$URL" clone-other &&
	test_cmp_bin "$DATA/c2" clone-other/sub/c.bin
'

test_expect_success 'a damaged chunk in the remote: clone fails clearly, no wrong file' '
	cp -R "$STORE" store-bad &&
	corrupt_remote_content store-bad &&
	git -C src remote add bad "lepton::$TRASH_DIRECTORY/store-bad" &&
	test_must_fail git -C src lepton fsck --remote bad >err 2>&1 &&
	test_grep -i -e corrupt -e checksum -e damaged -e mismatch -e "does not match" err &&
	git -C src lepton fsck --remote origin &&
	test_must_fail git clone "lepton::$TRASH_DIRECTORY/store-bad" bad 2>err &&
	test_grep -i -e corrupt -e checksum -e damaged -e mismatch -e "does not match" err &&
	for path in big.bin model.safetensors sub/c.bin
	do
		if test -f "bad/$path"
		then
			git -C bad cat-file blob "HEAD:$path" >ptr.expect &&
			oid=$(sed -n "s/^oid sha256://p" ptr.expect) &&
			if test "$(file_sha256 "bad/$path")" != "$oid"
			then
				echo >&4 "bad/$path holds bytes that are not its content"
				return 1
			fi
		fi || return 1
	done &&
	if test -d bad/.git
	then
		(cd bad && assert_local_store_sound)
	fi
'

test_expect_success LEPTON_FETCH 'a damaged chunk in the remote: git lepton fetch fails, the local store stays clean' '
	GIT_LEPTON_SKIP_SMUDGE=1 git clone -q "lepton::$TRASH_DIRECTORY/store-bad" bad2 &&
	(
		cd bad2 &&
		test_must_fail git lepton fetch 2>../err &&
		assert_local_store_sound
	) &&
	test_grep -i -e corrupt -e checksum -e damaged -e mismatch -e "does not match" err
'

test_expect_success LEPTON_FETCH 'a damaged recipe in the remote: fetch fails clearly, nothing wrong is kept' '
	cp -R "$STORE" store-badrecipe &&
	recipe=$(remote_recipe_path store-badrecipe $C1) &&
	test_path_is_file "$recipe" &&
	corrupt_byte "$recipe" 60 &&
	GIT_LEPTON_SKIP_SMUDGE=1 git clone -q "lepton::$TRASH_DIRECTORY/store-badrecipe" badrecipe &&
	(
		cd badrecipe &&
		test_must_fail git lepton fetch --include "sub/*" 2>../err &&
		assert_not_in_store $C1 &&
		assert_local_store_sound
	) &&
	test_grep -i -e corrupt -e checksum -e damaged -e mismatch -e "does not match" err
'

test_expect_success 'a damaged history pack in the remote: clone fails clearly' '
	cp -R "$STORE" store-badgit &&
	for pack in store-badgit/git/packs/*.pack
	do
		corrupt_byte "$pack" $(( $(file_size "$pack") / 2 )) || return 1
	done &&
	test_must_fail git clone "lepton::$TRASH_DIRECTORY/store-badgit" badgit 2>err &&
	cat err >&3 &&
	test_grep -e "^error:" -e "^fatal:" err
'

# The engine stores a retrained version as its changed tensors (DESIGN.md:
# at most 15 % of the file sent; 30 % allowed here for an 8 MiB model).
test_expect_success 'a retrained model version costs the store a fraction of its size' '
	setup_repo retrain &&
	git -C retrain remote add origin "lepton::$TRASH_DIRECTORY/store-retrain" &&
	make_model "$DATA/r1" 8 31 &&
	make_model "$DATA/r2" 8 31 2 &&
	cp "$DATA/r1" retrain/retrain.safetensors &&
	git -C retrain add retrain.safetensors &&
	test_tick &&
	git -C retrain commit -q -m "retrain v1" &&
	git -C retrain push -q origin main &&
	store_content_bytes store-retrain >size3 &&
	cp "$DATA/r2" retrain/retrain.safetensors &&
	git -C retrain add retrain.safetensors &&
	test_tick &&
	git -C retrain commit -q -m "retrain v2: about 10 % of the tensors" &&
	git -C retrain push -q origin main &&
	assert_remote_has store-retrain $(file_sha256 "$DATA/r2") &&
	store_content_bytes store-retrain >size4 &&
	growth=$(( $(cat size4) - $(cat size3) )) &&
	size=$(file_size "$DATA/r2") &&
	echo "store grew by $growth bytes for a $size-byte version with 10 % retrained" >&3 &&
	test $growth -gt 0 &&
	test $(( $growth * 100 / $size )) -le 30
'

test_done
