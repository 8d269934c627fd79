#!/bin/sh

test_description='prune --remote, gc --remote and fsck --remote on any kind of store

Four versions of a model pushed; prune --remote --keep 2 drops the two
oldest from the store (and nothing a ref still needs), gc --remote
--grace=0 leaves one content pack, fsck --remote verifies what is left
and names a damaged, truncated or missing pack and a damaged index; clones check out the kept versions byte for
byte.  Runs on a directory store here, on S3 as t5818 and on WebDAV as
t5828.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
. "$TEST_DIRECTORY"/lib-remote.sh

# damage_object KEY NUM DEN: four 0xff bytes written into the store's KEY
# at NUM/DEN of its length; good.obj keeps the bytes it had.
damage_object () {
	store_cat "$1" >good.obj &&
	cp good.obj bad.obj &&
	printf "\377\377\377\377" |
		dd of=bad.obj bs=1 seek=$(($(file_size good.obj) * $2 / $3)) conv=notrunc 2>/dev/null &&
	! cmp -s good.obj bad.obj &&
	store_put "$1" bad.obj
}

test_expect_success 'setup: four versions of a model pushed' '
	URL="lepton::$STORE_URL" &&
	setup_repo src &&
	git -C src config lepton.hardlinks false &&
	git -C src remote add origin "$URL" &&
	for v in 1 2 3 4
	do
		make_model "$DATA/m$v" 2 5 $v &&
		cp "$DATA/m$v" src/model.safetensors &&
		git -C src add model.safetensors &&
		test_tick &&
		git -C src commit -q -m "v$v" || return 1
	done &&
	git -C src push -q origin main &&
	for v in 1 2 3 4
	do
		assert_remote_has $(file_sha256 "$DATA/m$v") || return 1
	done
'

test_expect_success 'prune --remote --keep 2 drops the two oldest versions' '
	git -C src lepton prune --remote origin --keep 2 --grace=0 >out &&
	cat out &&
	test_grep "freed 2 files" out &&
	assert_remote_lacks $(file_sha256 "$DATA/m1") &&
	assert_remote_lacks $(file_sha256 "$DATA/m2") &&
	assert_remote_has $(file_sha256 "$DATA/m3") &&
	assert_remote_has $(file_sha256 "$DATA/m4") &&
	git -C src lepton fsck --remote origin >out &&
	test_grep "^ok" out
'

test_expect_success 'a clone checks out the kept versions byte for byte' '
	git clone -q "$URL" clone &&
	test_cmp_bin "$DATA/m4" clone/model.safetensors &&
	git -C clone checkout -q HEAD~1 &&
	test_cmp_bin "$DATA/m3" clone/model.safetensors
'

test_expect_success 'gc --remote --grace=0 leaves one content pack that serves every version' '
	make_model "$DATA/m5" 2 5 5 &&
	cp "$DATA/m5" src/model.safetensors &&
	git -C src add model.safetensors &&
	test_tick &&
	git -C src commit -q -m v5 &&
	git -C src push -q origin main &&
	store_ls packs | grep "[.]idx$" >idx-before &&
	test_line_count -ge 2 idx-before &&
	git -C src lepton fsck --remote origin --full >out &&
	test_grep "^ok" out &&
	git -C src lepton gc --remote origin --grace=0 &&
	store_ls packs | grep "[.]idx$" >idx-after &&
	test_line_count = 1 idx-after &&
	git -C src lepton fsck --remote origin --full >out &&
	test_grep "^ok" out &&
	git clone -q "$URL" clone-gc &&
	test_cmp_bin "$DATA/m5" clone-gc/model.safetensors &&
	git -C clone-gc checkout -q HEAD~2 &&
	test_cmp_bin "$DATA/m3" clone-gc/model.safetensors
'

test_expect_success 'fsck --remote --full names a damaged content pack' '
	pack=$(store_ls packs | grep "[.]pack$" | head -n 1) &&
	damage_object "$pack" 1 2 &&
	test_must_fail git -C src lepton fsck --remote origin --full >out 2>&1 &&
	cat out &&
	test_grep -i -e "damaged" -e "corrupt" -e "checksum" -e "mismatch" out &&
	store_put "$pack" good.obj &&
	git -C src lepton fsck --remote origin --full
'

test_expect_success 'a truncated content pack: the clone and fsck say so, no wrong bytes' '
	pack=$(store_ls packs | grep "[.]pack$" | head -n 1) &&
	store_cat "$pack" >good.pack &&
	head -c $(($(file_size good.pack) / 2)) good.pack >short.pack &&
	store_put "$pack" short.pack &&
	test_must_fail git clone -q "$URL" clone-short 2>err &&
	cat err >&3 &&
	test_grep -i -e "shorter" -e "truncated" -e "damaged" err &&
	if test -f clone-short/model.safetensors &&
		test "$(file_size clone-short/model.safetensors)" = "$(file_size "$DATA/m5")"
	then
		test_cmp_bin "$DATA/m5" clone-short/model.safetensors
	fi &&
	test_must_fail git -C src lepton fsck --remote origin --full >out 2>&1 &&
	cat out &&
	test_grep -i -e "shorter" -e "truncated" -e "damaged" out &&
	store_put "$pack" good.pack &&
	git clone -q "$URL" clone-whole &&
	test_cmp_bin "$DATA/m5" clone-whole/model.safetensors
'

test_expect_success 'fsck --remote without --full names a frame that fails its checksum' '
	pack=$(store_ls packs | grep "[.]pack$" | head -n 1) &&
	damage_object "$pack" 1 3 &&
	test_must_fail git -C src lepton fsck --remote origin >out 2>&1 &&
	cat out &&
	test_grep "error: remote chunk .*checksum mismatch" out &&
	test_grep "affects .model.safetensors." out &&
	store_put "$pack" good.obj &&
	git -C src lepton fsck --remote origin
'

test_expect_success 'fsck --remote names a damaged index and the chunks it no longer lists' '
	idx=$(store_ls packs | grep "[.]idx$" | head -n 1) &&
	damage_object "$idx" 1 2 &&
	test_must_fail git -C src lepton fsck --remote origin >out 2>&1 &&
	cat out &&
	test_grep "error: remote index: pack index .packs/pack-.*[.]idx. is corrupt" out &&
	test_grep "error: remote recipe .*: chunk .* is missing" out &&
	store_put "$idx" good.obj &&
	git -C src lepton fsck --remote origin
'

test_expect_success 'fsck --remote names a pack whose file is gone' '
	pack=$(store_ls packs | grep "[.]pack$" | head -n 1) &&
	store_cat "$pack" >good.pack &&
	store_rm "$pack" &&
	test_must_fail git -C src lepton fsck --remote origin >out 2>&1 &&
	cat out &&
	test_grep "error: remote pack: .pack-.* is missing" out &&
	test_grep "error: remote recipe .*: chunk .* is damaged" out &&
	store_put "$pack" good.pack &&
	git -C src lepton fsck --remote origin --full
'

test_expect_success 'fsck --remote names a tip file whose recipe the store lost' '
	oid=$(file_sha256 "$DATA/m5") &&
	key=$(remote_recipe_key $oid) &&
	store_cat "$key" >good.recipe &&
	store_rm "$key" &&
	test_must_fail git -C src lepton fsck --remote origin >out 2>&1 &&
	cat out &&
	test_grep "error: remote store lacks content .$oid. of .model.safetensors." out &&
	store_put "$key" good.recipe &&
	git -C src lepton fsck --remote origin
'

test_expect_success 'fsck --remote --full writes no pack to local disk' '
	pack=$(store_ls packs | grep "[.]pack$" | head -n 1) &&
	store_cat "$pack" >whole.pack &&
	test $(file_size whole.pack) -gt 1000000 &&
	# files of at most 256 KiB (ulimit -f counts 512-byte blocks here):
	# the pack indexes fit, a copy of the pack would not
	(
		ulimit -f 512 &&
		git -C src lepton fsck --remote origin --full >out 2>&1
	) &&
	test_grep "^ok: remote store" out
'

test_expect_success DIRSTORE 'a refs manifest naming a pack outside the store deletes nothing there' '
	outside=$(store_path_ "")/../outside.pack &&
	echo precious >"$outside" &&
	store_cat git/refs >refs.good &&
	{ cat refs.good && echo "retired ../../../outside 1"; } >refs.bad &&
	store_put git/refs refs.bad &&
	git -C src lepton gc --remote origin --grace=0 &&
	test_grep precious "$outside" &&
	store_cat git/refs >refs.after &&
	! grep outside refs.after &&
	git -C src lepton fsck --remote origin
'

test_done
