#!/bin/sh
test_description='a full disk: git add fails with a clear error and loses nothing

The local store sits on a small tmpfs (needs root and mount), or, where
mounting is not possible, the file size limit of ulimit -f stands in for
the full disk.  Either way the write of a new pack fails half-way: git add
must fail and say why, the index must keep the old pointer, the store must
stay valid with the old version readable, and nothing may be left behind
in tmp/.'

. ./test-lib.sh

test_lazy_prereq MOUNT_TMPFS '
	mkdir -p "$TRASH_DIRECTORY/.test/mnt" &&
	mount -t tmpfs -o size=1m tmpfs "$TRASH_DIRECTORY/.test/mnt" 2>/dev/null &&
	umount "$TRASH_DIRECTORY/.test/mnt"
'

test_expect_success 'setup: a committed model' '
	setup_repo &&
	make_file model.bin 1M v1 &&
	cp model.bin .test-v1 &&
	git add model.bin &&
	git commit -q -m v1 &&
	git cat-file -p :model.bin >.test-pointer-v1
'

check_nothing_lost () {
	git cat-file -p :model.bin >staged &&
	test_cmp .test-pointer-v1 staged &&
	git lepton fsck >fsck.out &&
	test_grep "^ok" fsck.out &&
	git show HEAD:model.bin >ptr &&
	git lepton smudge <ptr >v1.out &&
	test_cmp_bin .test-v1 v1.out &&
	test -z "$(ls .git/lepton/tmp)"
}

test_expect_success MOUNT_TMPFS 'with the store on a full tmpfs, git add fails and says why' '
	cp -a .git/lepton .test-store &&
	mount -t tmpfs -o size=4m tmpfs .git/lepton &&
	test_when_finished "umount .git/lepton; rm -rf .git/lepton; cp -a .test-store .git/lepton" &&
	cp -a .test-store/. .git/lepton/ &&
	make_file model.bin 12M v2 &&
	test_must_fail git add model.bin 2>err &&
	test_grep "No space left on device" err &&
	test_grep "model.bin" err &&
	check_nothing_lost
'

test_expect_success 'with a file size limit, git add fails and says why' '
	make_file model.bin 12M v3 &&
	(
		trap "" XFSZ &&
		ulimit -f 4096 &&
		test_must_fail git add model.bin 2>err
	) &&
	test_grep "File too large" err &&
	check_nothing_lost
'

test_expect_success 'with room again, the same add succeeds' '
	git add model.bin &&
	assert_pointer_of model.bin model.bin &&
	rm model.bin &&
	git checkout -- model.bin &&
	git lepton fsck
'

test_done
