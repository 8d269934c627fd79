#!/bin/sh
test_description='the store lock: gc and prune never delete what another process uses

Every git-lepton process that uses the local store holds .git/lepton/lock
shared (flock); gc, prune and fsck --repair hold it exclusive.  flock(1)
stands in for the other process here: a shared holder is a git add or
checkout in progress, an exclusive holder a gc.  Each side waits for the
other (lepton.lockTimeout seconds), says so, and fails with a clear error
when the wait is over, having changed nothing.'

. ./test-lib.sh

# store_sum: a checksum of the local store's packs and recipes
store_sum () {
	(cd .git/lepton && find packs recipes -type f | sort | xargs cat | sha256sum)
}

# hold MODE SECONDS: flock(1) holds the store's lock (-s or -x) in the
# background until SECONDS pass or the test ends; returns once it is held.
# -o: flock's own descriptor holds it, so killing flock lets go.
hold () {
	rm -f .test-held &&
	{ flock -o "$1" .git/lepton/lock sh -c "touch .test-held; exec sleep $2" \
		>/dev/null 2>&1 & } &&
	echo $! >.test-holder &&
	test_when_finished "kill \$(cat .test-holder) 2>/dev/null; wait" &&
	n=0 &&
	while ! test -f .test-held
	do
		n=$((n + 1)) &&
		test $n -lt 100 || return 1
		sleep 0.05
	done
}

test_expect_success 'setup: two committed versions, two packs' '
	setup_repo &&
	make_file model.bin 2M v1 &&
	git add model.bin &&
	git commit -q -m v1 &&
	make_file model.bin 2M v2 &&
	git add model.bin &&
	git commit -q -m v2 &&
	test -f .git/lepton/lock &&
	test "$(ls .git/lepton/packs/*.idx | wc -l)" -ge 2
'

test_expect_success 'gc gives up while another process uses the store, and changes nothing' '
	store_sum >before &&
	hold -s 30 &&
	test_must_fail git -c lepton.lockTimeout=1 lepton gc 2>err &&
	test_grep "waiting for other git-lepton processes" err &&
	test_grep "is in use by other git-lepton processes" err &&
	test_grep "lepton.lockTimeout" err &&
	store_sum >after &&
	test_cmp before after
'

test_expect_success 'prune and fsck --repair wait for the lock as gc does' '
	hold -s 30 &&
	test_must_fail git -c lepton.lockTimeout=0 lepton prune --keep 1 2>err &&
	test_grep "is in use by other git-lepton processes" err &&
	test_must_fail git -c lepton.lockTimeout=0 lepton fsck --repair 2>err &&
	test_grep "is in use by other git-lepton processes" err
'

test_expect_success 'gc waits for the other process, then runs' '
	hold -s 1 &&
	git lepton gc 2>err &&
	test_grep "waiting for other git-lepton processes" err &&
	test "$(ls .git/lepton/packs/*.idx | wc -l)" = 1 &&
	git lepton fsck
'

test_expect_success 'readers and writers share the lock with each other' '
	hold -s 30 &&
	make_file model.bin 2M v3 &&
	cp model.bin expect &&
	git -c lepton.lockTimeout=0 add model.bin 2>err &&
	test_grep ! "waiting" err &&
	rm model.bin &&
	git -c lepton.lockTimeout=0 checkout -- model.bin &&
	test_cmp_bin expect model.bin
'

test_expect_success 'git add during a gc gives up with a clear error, the index unchanged' '
	git cat-file -p :model.bin >staged-before &&
	hold -x 30 &&
	make_file model.bin 2M v4 &&
	test_must_fail git -c lepton.lockTimeout=1 add model.bin 2>err &&
	test_grep "waiting for a .git lepton gc. or .prune." err &&
	test_grep "locked by a running .git lepton gc. or .prune." err &&
	git cat-file -p :model.bin >staged-after &&
	test_cmp staged-before staged-after
'

test_expect_success 'git add waits for a gc to end, then stores the file' '
	hold -x 1 &&
	git add model.bin 2>err &&
	test_grep "waiting for a .git lepton gc. or .prune." err &&
	git cat-file -p :model.bin >ptr &&
	git lepton smudge <ptr >out &&
	test_cmp_bin model.bin out
'

test_expect_success 'checkout and export wait for a gc too' '
	git commit -q -m v4 &&
	hold -x 30 &&
	rm model.bin &&
	test_must_fail git -c lepton.lockTimeout=0 checkout -- model.bin 2>err &&
	test_grep "locked by a running .git lepton gc. or .prune." err &&
	test_must_fail git -c lepton.lockTimeout=0 lepton export HEAD~1 model.bin \
		v3.bin 2>err &&
	test_grep "locked by a running .git lepton gc. or .prune." err
'

test_expect_success 'a process run under the lock holder works under its lock' '
	git checkout -- model.bin &&
	hold -x 30 &&
	git cat-file -p HEAD:model.bin >ptr &&
	GIT_LEPTON_STORE_LOCKED=$(cd .git/lepton && pwd -P) \
		git -c lepton.lockTimeout=0 lepton smudge <ptr >out &&
	test_cmp_bin model.bin out &&
	GIT_LEPTON_STORE_LOCKED=/some/other/store \
		test_must_fail git -c lepton.lockTimeout=0 lepton smudge <ptr >out
'

test_expect_success 'a gc killed half-way lets go of the lock' '
	make_file model.bin 2M v5 &&
	git add model.bin &&
	git commit -q -m v5 &&
	test_must_fail ok=signal env GIT_LEPTON_TEST_DIE_AT=prune-pack-written \
		git lepton gc &&
	make_file model.bin 2M v6 &&
	git -c lepton.lockTimeout=0 add model.bin &&
	git lepton fsck &&
	git lepton gc &&
	git lepton fsck
'

test_done
