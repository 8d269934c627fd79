#!/bin/sh

test_description='git-remote-lepton: pushes that die, stores that vanish, stale locks

kill -9 of the helper at several points of a push: the store stays
valid (refs unchanged, a clone works) and the same push completes when
run again.  A store that disappears or cannot be written during a push
gives a clear error, never a crash; a stale lock file in the store is
named in the error.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
. "$TEST_DIRECTORY"/lib-remote.sh

# the store (lib-backend.sh): a directory, S3 or WebDAV
URL="lepton::$STORE_URL"
BIG=48M

# The lock that guards the refs manifest of a directory store (DESIGN.md:
# a lock file and a rename).
REFS_LOCK="$STORE/git/refs.lock"
# a lock that never goes: fail after 1 s, not the 20 s a real push waits
GIT_LEPTON_TEST_LOCK_WAIT_MS=1000 && export GIT_LEPTON_TEST_LOCK_WAIT_MS

# helper_pid_of PID: the helper that git process PID runs: git starts
# "git remote-lepton", which runs git-remote-lepton as its own child;
# both, the helper first.
helper_pid_of () {
	for _hp in $(pgrep -P "$1" -f "remote-lepton")
	do
		pgrep -P "$_hp"
		echo "$_hp"
	done
}

# store_files: how many objects the store holds outside tmp/.
store_files () {
	store_ls 2>/dev/null | grep -c -v "^tmp/"
}

# store_busy: a writer has an object under the store's tmp/ (a directory
# store), or the store has more objects than $store_files_before.
store_busy () {
	store_ls >"$TEST_TMP/busy" 2>/dev/null || return 1
	grep -q "^tmp/" "$TEST_TMP/busy" ||
	test "$(grep -c -v "^tmp/" "$TEST_TMP/busy")" -gt "${store_files_before:-0}"
}

# (src copies packs into the store, lepton.hardlinks=false: a linked
# pack lands at once and leaves no time to kill the helper.)

# push_and_kill WHEN DELAY: git push origin main from src in the
# background; kill -9 its helper as soon as it runs (WHEN=start) or once
# it writes into the store (WHEN=upload), after DELAY more seconds.
# Sets $killed (empty when the push had finished) and $push_code.
push_and_kill () {
	store_files_before=$(store_files)
	git -C src push origin main >push.out 2>&1 &
	_pk_git=$!
	_pk_helper=
	_pk_tries=0
	while kill -0 $_pk_git 2>/dev/null && test $_pk_tries -lt 2000
	do
		_pk_tries=$(($_pk_tries + 1))
		test -n "$_pk_helper" || _pk_helper=$(helper_pid_of $_pk_git)
		if test -n "$_pk_helper"
		then
			test "$1" = start && break
			store_busy && break
		fi
		sleep 0.005
	done
	sleep "$2"
	killed=
	if test -n "$_pk_helper" && kill -9 $(helper_pid_of $_pk_git) 2>/dev/null
	then
		killed=helper
	fi
	wait $_pk_git
	push_code=$?
	test -z "$killed" || echo "$1 $2 $push_code" >>kills.log
	echo >&3 "killed: ${killed:-nothing, the push had finished} ($1 + ${2}s); git push exited with $push_code"
	return 0
}

# start_push: git push origin main from src in the background, its
# process id in $git_pid, its output in push.out.
start_push () {
	git -C src push origin main >push.out 2>&1 &
	git_pid=$!
}

# new_big_version N: commit a new $BIG file in src, kept in $DATA/bigN.
new_big_version () {
	make_file "$DATA/big$1" $BIG "big$1" &&
	cp "$DATA/big$1" src/big.bin &&
	git -C src add big.bin &&
	test_tick &&
	git -C src commit -q -m "big version $1"
}

# assert_store_usable WHAT: a fresh clone of the store is at the commit
# the remote lists, clean, with every byte of the model of that commit.
assert_store_usable () {
	rm -rf check &&
	git clone -q "$URL" check &&
	git -C check fsck &&
	(cd check && assert_local_store_sound && assert_clean_status) &&
	_asu_head=$(git -C check rev-parse HEAD) &&
	assert_remote_ref "$URL" refs/heads/main "$_asu_head" &&
	_asu_n=$(git -C check log -1 --format=%s | sed -n "s/^big version //p") &&
	test_cmp_bin "$DATA/big$_asu_n" check/big.bin
}

test_expect_success PGREP 'setup: a store with one version' '
	setup_repo src &&
	git -C src config lepton.hardlinks false &&
	new_big_version 0 &&
	git -C src remote add origin "$URL" &&
	git -C src push -q origin main &&
	assert_store_usable
'

round=0
for spec in start:0 upload:0.02 upload:0.15
do
	when=${spec%:*}
	delay=${spec#*:}
	round=$(($round + 1))
	test_expect_success PGREP "kill -9 the helper ($when + ${delay}s): the store stays valid, the push completes again" '
		new_big_version $round &&
		before=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
		test -n "$before" &&
		push_and_kill $when $delay &&
		now=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
		if test "$killed" = helper && test "$push_code" = 0
		then
			# the helper had exited, not yet reaped, when the signal
			# came: the push finished whole
			test "$now" = "$(git -C src rev-parse main)"
		elif test "$killed" = helper
		then
			# killed after the refs update and before it said so,
			# the push may have landed: the old commit or the new,
			# nothing else
			if test "$now" != "$before" &&
				test "$now" != "$(git -C src rev-parse main)"
			then
				echo >&4 "after the kill the remote main is $now" &&
				return 1
			fi
		fi &&
		git -C src lepton fsck --remote origin &&
		assert_store_usable &&
		git -C src push origin main &&
		assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
		assert_store_usable &&
		test_cmp_bin "$DATA/big$round" check/big.bin
	'
done

test_expect_success PGREP 'the kills above did land (at least the one at start)' '
	cat kills.log >&3 &&
	awk "\$3 != 0" kills.log >landed &&
	test_line_count -ge 1 landed
'

# (store_vanish moves a directory store away, stops the server of the
# others; store_restore puts it back, what a push made at the place of a
# directory store meanwhile going to store.recreated.)
test_expect_success 'a store that vanishes in the middle of a push: a clear error, no crash' '
	new_big_version 10 &&
	before=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
	store_files_before=$(store_files) &&
	store_vanish_prepare &&
	start_push &&
	tries=0 &&
	while ! store_busy && kill -0 $git_pid 2>/dev/null && test $tries -lt 2000
	do
		tries=$(($tries + 1)) &&
		sleep 0.005 || return 1
	done &&
	store_vanish &&
	test_when_finished "store_restore" &&
	{
		wait $git_pid
		code=$?
	} &&
	echo >&3 "git push exited with $code" &&
	cat push.out >&3 &&
	store_restore &&
	git -C src lepton fsck --remote origin &&
	if test $code != 0
	then
		assert_remote_ref "$URL" refs/heads/main "$before" &&
		test_grep -e "^error:" -e "^fatal:" push.out &&
		test_grep ! -i -e "segmentation" -e "core dumped" -e "abort" push.out
	fi &&
	git -C src push origin main &&
	assert_store_usable &&
	test_cmp_bin "$DATA/big10" check/big.bin
'

# fsck_paused: git lepton fsck --remote --full in the background, paused
# where it has the indexes and is about to read the packs; returns once it
# is there.  `touch fsck.go` lets it go on; fsck.rc gets its exit code.
fsck_paused () {
	rm -f fsck.go fsck.go.reached fsck.rc
	(
		GIT_LEPTON_TEST_PAUSE_AT=fsck-remote-packs \
		GIT_LEPTON_TEST_PAUSE_FILE="$PWD/fsck.go" \
		git -C src -c lepton.retries=0 lepton fsck --remote origin --full >fsck.out 2>&1
		echo $? >fsck.rc
	) &
	_fp_tries=0
	while ! test -f fsck.go.reached
	do
		_fp_tries=$(($_fp_tries + 1))
		test $_fp_tries -lt 600 || return 1
		sleep 0.1
	done
}

fsck_finished () {
	touch fsck.go
	while ! test -f fsck.rc
	do
		sleep 0.1
	done
	cat fsck.out >&3
}

test_expect_success 'a store that vanishes while fsck --remote reads it: an error, never ok' '
	fsck_paused &&
	store_vanish_prepare &&
	store_vanish &&
	test_when_finished "store_restore" &&
	fsck_finished &&
	code=$(cat fsck.rc) &&
	test "$code" != 0 &&
	test "$code" -lt 128 &&
	test_grep ! "^ok" fsck.out &&
	test_grep -e "^error:" -e "^fatal:" fsck.out &&
	store_restore &&
	git -C src lepton fsck --remote origin --full
'

test_expect_success DIRSTORE 'a push whose store vanished leaves no half store behind' '
	if test -e store.recreated
	then
		find store.recreated >&3 &&
		assert_store_marker store.recreated
	fi
'

test_expect_success DIRSTORE 'a store whose packs directory is not a directory: a clear error, refs unchanged' '
	new_big_version 11 &&
	before=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
	mv "$STORE/packs" packs.saved &&
	test_when_finished "rm -f \"\$STORE/packs\" && mv packs.saved \"\$STORE/packs\"" &&
	echo "not a directory" >"$STORE/packs" &&
	test_must_fail git -C src push origin main 2>err &&
	cat err >&3 &&
	test_grep -e "^error:" -e "^fatal:" err &&
	test_grep "packs" err &&
	assert_remote_ref "$URL" refs/heads/main "$before"
'

test_expect_success DIRSTORE 'once the packs directory is back, the push completes' '
	git -C src push origin main &&
	assert_store_usable &&
	test_cmp_bin "$DATA/big11" check/big.bin
'

test_expect_success DIRSTORE,!ROOT 'a store that cannot be written: a clear error, refs unchanged' '
	echo more >src/more.txt &&
	git -C src add more.txt &&
	git -C src commit -q -m more &&
	before=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
	chmod -R a-w "$STORE" &&
	test_must_fail git -C src push origin main 2>err &&
	chmod -R u+w "$STORE" &&
	test_grep -i -e "permission" -e "not writable" -e "read-only" err &&
	assert_remote_ref "$URL" refs/heads/main "$before" &&
	git -C src push origin main
'

test_expect_success DIRSTORE 'a stale lock file in the store: the error names it' '
	echo small >src/small.txt &&
	git -C src add small.txt &&
	test_tick &&
	git -C src commit -q -m small &&
	before=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
	test_path_is_dir "$(dirname "$REFS_LOCK")" &&
	echo stale >"$REFS_LOCK" &&
	test_must_fail git -C src push origin main 2>err &&
	cat err >&3 &&
	test_grep "refs.lock" err &&
	assert_remote_ref "$URL" refs/heads/main "$before" &&
	test_path_is_file "$REFS_LOCK" &&
	rm "$REFS_LOCK" &&
	git -C src push origin main &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)"
'

test_expect_success DIRSTORE 'a fetch beside a stale lock still works' '
	echo stale >"$REFS_LOCK" &&
	test_when_finished "rm -f \"\$REFS_LOCK\"" &&
	rm -rf check &&
	git clone -q "$URL" check &&
	test "$(git -C check rev-parse HEAD)" = "$(git -C src rev-parse main)"
'

test_expect_success 'a damaged refs manifest: clone, push and fsck say so, nothing is written' '
	store_cat git/refs >refs.saved &&
	test_when_finished "store_put git/refs refs.saved" &&
	printf "lepton refs 1\nref nothex refs/heads/main\n" >refs.damaged &&
	store_put git/refs refs.damaged &&
	rm -rf damaged-clone &&
	test_must_fail git clone -q "$URL" damaged-clone 2>err &&
	cat err >&3 &&
	test_grep "refs manifest line 2 is malformed" err &&
	echo more >src/after-damage.txt &&
	git -C src add after-damage.txt &&
	git -C src commit -q -m "after damage" &&
	test_must_fail git -C src push origin main 2>err &&
	test_grep "refs manifest" err &&
	store_cat git/refs >refs.now &&
	test_cmp refs.damaged refs.now &&
	test_must_fail git -C src lepton fsck --remote origin >out &&
	test_grep "error: remote refs manifest" out
'

test_expect_success 'a manifest of a later format asks for an upgrade' '
	store_cat git/refs >refs.saved &&
	test_when_finished "store_put git/refs refs.saved" &&
	printf "lepton refs 3\n" >refs.v3 &&
	store_put git/refs refs.v3 &&
	test_must_fail git ls-remote "$URL" 2>err &&
	test_grep "lepton refs 3" err &&
	test_grep "reads .lepton refs 1. and .lepton refs 2." err
'

test_done
