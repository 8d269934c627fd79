#!/bin/sh

test_description='git lepton fsck --repair

Damaged local objects come back from the remote store: a frame with a
flipped byte, a deleted recipe, a truncated pack.  Each repair names the
model path and version.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-versions.sh

recipe_of () {
	echo ".git/lepton/recipes/$(file_sha256 "$1" | sed "s|^..|&/|")"
}

# rewrite_pack PACK CMD...: replace PACK by a copy CMD changed (a fresh
# inode, so a store that shares the file by a hard link keeps its bytes)
rewrite_pack () {
	_rp=$1 && shift &&
	cp "$_rp" "$_rp.new" && chmod u+w "$_rp.new" &&
	"$@" "$_rp.new" &&
	mv -f "$_rp.new" "$_rp"
}

flip_byte () {
	printf "\377" | dd of="$2" bs=1 seek="$1" conv=notrunc 2>/dev/null
}

test_expect_success 'setup: five versions, pushed, local packs consolidated' '
	make_version_history &&
	echo /remote-store >>.git/info/exclude &&
	git remote add origin "lepton::$PWD/remote-store" &&
	git push -q origin main 2>err &&
	git lepton gc -q &&
	git lepton fsck >out && test_grep "^ok" out
'

test_expect_success 'fsck --repair on a sound store repairs nothing' '
	git lepton fsck --repair >out &&
	test_grep "^ok" out &&
	test_grep ! repaired out
'

test_expect_success 'a frame with a flipped byte is fetched again' '
	pack=$(ls .git/lepton/packs/*.pack) &&
	rewrite_pack "$pack" flip_byte 100 &&
	test_must_fail git lepton fsck >out &&
	test_grep "error: chunk" out &&
	git lepton fsck --repair >out &&
	cat out &&
	test_grep "repaired .model.safetensors. v[1-5] " out &&
	test_grep "left out 1 damaged frame" out &&
	test_grep "^ok" out &&
	git lepton fsck >out && test_grep "^ok" out &&
	for n in 1 2 3 4 5
	do
		git lepton export "$(version_commit model.safetensors $n)" \
			model.safetensors v.out &&
		test_cmp_bin .git/versions/model.safetensors.v$n v.out || return 1
	done
'

test_expect_success 'a deleted recipe is fetched again' '
	rm -f "$(recipe_of .git/versions/model.safetensors.v3)" &&
	git lepton fsck --repair >out &&
	cat out &&
	test_grep "repaired .model.safetensors. v3 .*recipe" out &&
	test -f "$(recipe_of .git/versions/model.safetensors.v3)" &&
	git lepton export "$(version_commit model.safetensors 3)" model.safetensors v3.out &&
	test_cmp_bin .git/versions/model.safetensors.v3 v3.out
'

test_expect_success 'a truncated pack is repaired from the remote' '
	git lepton gc -q &&
	pack=$(ls .git/lepton/packs/*.pack) &&
	size=$(file_size "$pack") &&
	rewrite_pack "$pack" truncate -s $((size - 1000)) &&
	test_must_fail git lepton fsck >out &&
	git lepton fsck --repair >out &&
	cat out &&
	test_grep "repaired .* v[0-9]" out &&
	test_grep "^ok" out &&
	git lepton fsck >out && test_grep "^ok" out &&
	rm -f model.safetensors data.bin &&
	git checkout -- . &&
	test_cmp_bin .git/versions/model.safetensors.v5 model.safetensors &&
	test_cmp_bin .git/versions/data.bin.v3 data.bin
'

test_expect_success 'a damaged recipe is fetched again' '
	recipe=$(recipe_of .git/versions/data.bin.v2) &&
	cp "$recipe" recipe.new && chmod u+w recipe.new &&
	flip_byte 60 recipe.new && mv -f recipe.new "$recipe" &&
	test_must_fail git lepton fsck >out &&
	git lepton fsck --repair >out &&
	cat out &&
	test_grep "repaired .data.bin. v2 " out &&
	test_grep "^ok" out &&
	git lepton export "$(version_commit data.bin 2)" data.bin d2.out &&
	test_cmp_bin .git/versions/data.bin.v2 d2.out
'

test_expect_success 'a damaged pack index: its files come again, the pack goes' '
	git lepton gc -q &&
	idx=$(ls .git/lepton/packs/*.idx) &&
	make_file extra.bin 1000 &&
	git add extra.bin &&
	size=$(file_size "$idx") &&
	cp "$idx" idx.new && chmod u+w idx.new &&
	flip_byte $((size - 20)) idx.new && mv -f idx.new "$idx" &&
	test_must_fail git lepton fsck >out &&
	git lepton fsck --repair >out &&
	cat out &&
	test_grep "repaired .model.safetensors. v5 " out &&
	test_grep "removed pack .$(basename "$idx" .idx)." out &&
	test_grep "^ok" out &&
	git lepton fsck >out && test_grep "^ok" out &&
	test "$(ls .git/lepton/packs/*.idx | wc -l)" = 1 &&
	git rm -q --cached extra.bin && rm extra.bin
'

test_expect_success 'what the remote lacks is reported and left' '
	rm -rf remote-store/recipes &&
	pack=$(ls .git/lepton/packs/*.pack) &&
	rewrite_pack "$pack" flip_byte $(($(file_size "$pack") / 2)) &&
	test_must_fail git lepton fsck --repair >out &&
	cat out &&
	test_grep "cannot repair .[a-z.]*. v[1-5] " out &&
	test_grep "problem left" out
'

test_done
