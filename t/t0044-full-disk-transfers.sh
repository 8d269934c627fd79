#!/bin/sh
test_description='a full disk under gc, prune, fetch and push: a clear error, nothing lost

t0042 fills the disk under git add.  Here the disk fills under the other
commands that write stores: gc and prune rewriting the local packs, a
fetch writing into the local store, and a push writing into a directory
store.  The stores sit on small tmpfs mounts (needs root and mount; the
tests are skipped without), or the file size limit of ulimit -f stands
in.  Each command must fail and say why, and every store it touched must
stay valid with every version readable; with room again, it succeeds.'

. ./test-lib.sh

test_lazy_prereq MOUNT_TMPFS '
	mkdir -p "$TRASH_DIRECTORY/.test/mnt" &&
	mount -t tmpfs -o size=1m tmpfs "$TRASH_DIRECTORY/.test/mnt" 2>/dev/null &&
	umount "$TRASH_DIRECTORY/.test/mnt"
'

# store_sum DIR: a checksum of a store's packs and recipes
store_sum () {
	(cd "$1" && find packs recipes -type f | sort | xargs cat | sha256sum)
}

# on_tmpfs DIR KIB: DIR's content moved onto a tmpfs of KIB KiB mounted
# over it, until the test ends (then the content is moved back)
on_tmpfs () {
	rm -rf "$1.saved" &&
	cp -a "$1" "$1.saved" &&
	mount -t tmpfs -o size="$2"k tmpfs "$1" &&
	test_when_finished "umount \"$1\"; rm -rf \"$1\"; mv \"$1.saved\" \"$1\"" &&
	cp -a "$1.saved/." "$1/"
}

# kib DIR: the KiB DIR's files take
kib () {
	du -sk "$1" | cut -f1
}

# both_versions_readable: each committed version smudges byte for byte
both_versions_readable () {
	for v in 1 2
	do
		git show HEAD~$((2 - v)):model.bin | git lepton smudge >out &&
		test_cmp_bin .test-v$v out || return 1
	done
}

test_expect_success 'setup: two versions, pushed to a directory store' '
	git lepton install >/dev/null &&
	setup_repo &&
	for v in 1 2
	do
		make_file model.bin 3M v$v &&
		cp model.bin .test-v$v &&
		git add model.bin &&
		git commit -q -m v$v || return 1
	done &&
	echo /remote-store >>.git/info/exclude &&
	git remote add origin "lepton::$PWD/remote-store" &&
	git -c lepton.hardlinks=false push -q origin main &&
	test "$(ls .git/lepton/packs/*.idx | wc -l)" -ge 2
'

test_expect_success MOUNT_TMPFS 'gc on a full disk fails and keeps the packs it had' '
	store_sum .git/lepton >before &&
	on_tmpfs .git/lepton $(( $(kib .git/lepton) + 512 )) &&
	test_must_fail git lepton gc 2>err &&
	test_grep "No space left on device" err &&
	store_sum .git/lepton >after &&
	test_cmp before after &&
	git lepton fsck &&
	both_versions_readable &&
	test -z "$(ls .git/lepton/tmp)"
'

test_expect_success 'gc past a file size limit fails and keeps the packs it had' '
	store_sum .git/lepton >before &&
	(
		trap "" XFSZ &&
		ulimit -f 2048 &&
		test_must_fail git lepton gc 2>err
	) &&
	test_grep "File too large" err &&
	store_sum .git/lepton >after &&
	test_cmp before after &&
	git lepton fsck &&
	both_versions_readable &&
	test -z "$(ls .git/lepton/tmp)"
'

test_expect_success MOUNT_TMPFS 'prune on a full disk fails and drops nothing' '
	store_sum .git/lepton >before &&
	on_tmpfs .git/lepton $(( $(kib .git/lepton) + 256 )) &&
	test_must_fail git lepton prune --keep 1 2>err &&
	test_grep "No space left on device" err &&
	store_sum .git/lepton >after &&
	test_cmp before after &&
	git lepton fsck &&
	both_versions_readable
'

test_expect_success 'a clone without content, for the fetches' '
	GIT_LEPTON_SKIP_SMUDGE=1 git clone -q "lepton::$PWD/remote-store" clone &&
	echo /clone >>.git/info/exclude &&
	git -C clone config lepton.hardlinks false &&
	git -C clone lepton status >/dev/null
'

test_expect_success MOUNT_TMPFS 'a fetch into a full local store fails and leaves it valid' '
	mkdir -p clone/.git/lepton &&
	on_tmpfs clone/.git/lepton 1024 &&
	test_must_fail git -C clone lepton pull 2>err &&
	test_grep "No space left on device" err &&
	git -C clone lepton fsck &&
	test -z "$(ls clone/.git/lepton/tmp)" &&
	git -C clone cat-file -p HEAD:model.bin >ptr &&
	test_cmp ptr clone/model.bin
'

test_expect_success 'a fetch past a file size limit fails and leaves the store valid' '
	(
		trap "" XFSZ &&
		ulimit -f 1024 &&
		test_must_fail git -C clone lepton pull 2>err
	) &&
	test_grep "File too large" err &&
	git -C clone lepton fsck &&
	test -z "$(ls clone/.git/lepton/tmp)"
'

test_expect_success 'with room again, the fetch succeeds' '
	git -C clone lepton pull &&
	test_cmp_bin .test-v2 clone/model.bin &&
	git -C clone lepton fsck
'

test_expect_success MOUNT_TMPFS 'a push into a full directory store fails, its refs unchanged' '
	make_file model.bin 3M v3 &&
	git add model.bin &&
	git commit -q -m v3 &&
	git ls-remote origin >refs-before &&
	store_sum remote-store >before &&
	on_tmpfs remote-store $(( $(kib remote-store) + 1024 )) &&
	test_must_fail git -c lepton.hardlinks=false push -q origin main 2>err &&
	test_grep "No space left on device" err &&
	git ls-remote origin >refs-after &&
	test_cmp refs-before refs-after &&
	git lepton fsck --remote origin &&
	store_sum remote-store >after &&
	test_cmp before after
'

test_expect_success 'a push past a file size limit fails, the store valid' '
	git ls-remote origin >refs-before &&
	(
		trap "" XFSZ &&
		ulimit -f 1024 &&
		test_must_fail git -c lepton.hardlinks=false push -q origin main 2>err
	) &&
	test_grep "File too large" err &&
	git ls-remote origin >refs-after &&
	test_cmp refs-before refs-after &&
	git lepton fsck --remote origin
'

test_expect_success 'with room again, the push succeeds and clones byte for byte' '
	git -c lepton.hardlinks=false push -q origin main &&
	git lepton fsck --remote origin &&
	git clone -q "lepton::$PWD/remote-store" clone2 &&
	echo /clone2 >>.git/info/exclude &&
	test_cmp_bin model.bin clone2/model.bin
'

test_done
