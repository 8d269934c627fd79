#!/bin/sh

test_description='prune --remote and gc --remote against a push running at the same time

A push is paused (GIT_LEPTON_TEST_PAUSE_AT) while it sends content, a
prune or gc of the store runs from another clone, and the push goes on:
it must end either accepted with a store that fsck --remote --full finds
whole and that clones byte for byte, or refused with the maintenance
error and nothing lost.  Cases: a new file whose chunks the push found in
a pack the prune rewrote, a file whose recipe the push found and the
prune dropped, a new ref at an old version.  Then the maintenance mark
itself: a fresh one refuses pushes, a stale one or a killed owner is
taken over.  Runs on a directory store here, on S3 as t5819 and on WebDAV
as t5829.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
. "$TEST_DIRECTORY"/lib-remote.sh

# wait_for FILE: FILE appears within 60 s.
wait_for () {
	_wf_n=0
	while ! test -f "$1"
	do
		_wf_n=$(($_wf_n + 1))
		if test $_wf_n -gt 600
		then
			echo >&4 "'$1' did not appear in 60 s"
			return 1
		fi
		sleep 0.1
	done
}

# paused NAME POINT CMD...: run CMD in the background with a pause at
# POINT; NAME.rc gets its exit code, NAME.out its output.  Returns when
# CMD reached POINT; `touch NAME.go` releases it, `finish NAME` waits.
paused () {
	_p_name=$1
	_p_point=$2
	shift 2
	rm -f "$_p_name.go" "$_p_name.go.reached" "$_p_name.rc"
	(
		GIT_LEPTON_TEST_PAUSE_AT=$_p_point \
		GIT_LEPTON_TEST_PAUSE_FILE="$PWD/$_p_name.go" \
		"$@" >"$_p_name.out" 2>&1
		echo $? >"$_p_name.rc"
	) &
	wait_for "$_p_name.go.reached" || {
		touch "$_p_name.go"
		cat "$_p_name.out" >&4
		return 1
	}
}

finish () {
	touch "$1.go" &&
	wait_for "$1.rc" &&
	cat "$1.out" &&
	_f_rc=$(cat "$1.rc") &&
	echo "$1 exited with $_f_rc"
}

# race_setup NAME: a store NAME with three versions of data.bin (d1, d2,
# d3) on main, pushed from repository src-NAME, and a clone pruner-NAME to
# prune from.  The helpers below work on them ($S, $SRC, $PRUNER, $URL),
# so each race starts from a sound store of its own.
race_setup () {
	S=$1
	SRC=src-$1
	PRUNER=pruner-$1
	URL="lepton::$(store_url "$S")"
	setup_repo "$SRC" &&
	git -C "$SRC" config lepton.hardlinks false &&
	git -C "$SRC" remote add origin "$URL" &&
	for v in 1 2 3
	do
		commit_data "$DATA/d$v" "v$v" || return 1
	done &&
	git -C "$SRC" push -q origin main &&
	git clone -q "$URL" "$PRUNER" &&
	git -C "$PRUNER" config lepton.hardlinks false &&
	no_mark
}

# store_whole: fsck --remote --full finds the store whole.
store_whole () {
	git -C "$PRUNER" lepton fsck --remote origin --full >fsck.out 2>&1 || {
		cat fsck.out >&4
		return 1
	}
}

# no_mark: the store's manifest carries no maintenance mark.
no_mark () {
	store_cat -s "$S" git/refs >refs.now &&
	! grep "^maintenance " refs.now
}

# set_mark TIME TOKEN: write a mark into the store's manifest by hand.
set_mark () {
	store_cat -s "$S" git/refs | grep -v "^maintenance " >refs.old &&
	{ echo "lepton refs 2" && echo "maintenance $1 $2" && sed -e 1d refs.old; } >refs.new &&
	store_put -s "$S" git/refs refs.new
}

# commit_data FILE MSG: make FILE data.bin in $SRC and commit it.
commit_data () {
	cp "$1" "$SRC/data.bin" &&
	git -C "$SRC" add data.bin &&
	test_tick &&
	git -C "$SRC" commit -q -m "$2"
}

# prune_keep1: prune --remote --keep 1 --grace=0 from $PRUNER drops
# something.
prune_keep1 () {
	git -C "$PRUNER" lepton prune --remote origin --keep 1 --grace=0 >prune.out 2>&1 &&
	cat prune.out &&
	test_grep "^dropped .*data.bin" prune.out
}

# after_race NAME REFSPEC DATA: the push NAME was accepted, or it was
# refused with the maintenance error, the store whole, and a push again
# accepted; then the store is whole and serves DATA at the ref byte for
# byte.
after_race () {
	if test "$(cat "$1.rc")" = 0
	then
		echo "$1: accepted"
	else
		test_grep "is being pruned or repacked since" "$1.out" &&
		store_whole &&
		git -C "$SRC" push -q origin "$2"
	fi &&
	store_whole &&
	no_mark &&
	rm -rf "clone-$1" &&
	git clone -q -b "${2##*:refs/heads/}" "$URL" "clone-$1" &&
	test_cmp_bin "$3" "clone-$1/data.bin"
}

test_expect_success 'setup: the versions' '
	for v in 1 2 3
	do
		make_file "$DATA/d$v" 4M "data-$v" || return 1
	done &&
	make_file "$DATA/tail" 200K tail &&
	# d1 with a tail: its chunks are those of d1, which --keep 1 drops
	cat "$DATA/d1" "$DATA/tail" >"$DATA/d1t"
'

test_expect_success 'chunk reuse: a whole prune between the content and the refs of a push' '
	race_setup chunk &&
	commit_data "$DATA/d1t" v4 &&
	paused push4 push-content-pack git -C "$SRC" push origin main &&
	prune_keep1 &&
	finish push4 &&
	after_race push4 main "$DATA/d1t"
'

test_expect_success 'chunk reuse: a prune paused inside while the push ends' '
	race_setup inside &&
	commit_data "$DATA/d1t" v4 &&
	paused push5 push-content-pack git -C "$SRC" push origin main &&
	paused prune5 prune-remote-pack-written \
		git -C "$PRUNER" lepton prune --remote origin --keep 1 --grace=0 &&
	finish push5 &&
	finish prune5 &&
	test $(cat prune5.rc) = 0 &&
	after_race push5 main "$DATA/d1t"
'

test_expect_success 'recipe reuse: a push of a version a prune drops meanwhile' '
	race_setup recipe &&
	commit_data "$DATA/d1" "v4, v1 again" &&
	paused push6 push-content git -C "$SRC" push origin main &&
	prune_keep1 &&
	finish push6 &&
	after_race push6 main "$DATA/d1"
'

test_expect_success 'a new ref at an old version a prune drops meanwhile' '
	race_setup oldref &&
	paused push7 push-content git -C "$SRC" push origin HEAD~2:refs/heads/old &&
	prune_keep1 &&
	finish push7 &&
	git -C "$PRUNER" fetch -q origin &&
	after_race push7 HEAD~2:refs/heads/old "$DATA/d1"
'

test_expect_success 'gc --remote between the content and the refs of a push' '
	race_setup gc &&
	cat "$DATA/d3" "$DATA/tail" >"$DATA/d3t" &&
	commit_data "$DATA/d3t" v4 &&
	paused push8 push-content-pack git -C "$SRC" push origin main &&
	git -C "$PRUNER" lepton gc --remote origin --grace=0 &&
	finish push8 &&
	after_race push8 main "$DATA/d3t"
'

test_expect_success 'git lepton push (content only) with a prune meanwhile' '
	race_setup content &&
	commit_data "$DATA/d1t" v4 &&
	paused lpush9 push-content-pack git -C "$SRC" lepton push origin HEAD &&
	prune_keep1 &&
	finish lpush9 &&
	test $(cat lpush9.rc) = 0 &&
	git -C "$SRC" push -q origin main &&
	store_whole &&
	rm -rf clone9 &&
	git clone -q "$URL" clone9 &&
	test_cmp_bin "$DATA/d1t" clone9/data.bin
'

test_expect_success 'a prune whose mark went stale stops before deleting when a push got in' '
	race_setup silent &&
	paused prune10 prune-remote-pack-written \
		git -C "$PRUNER" lepton prune --remote origin --keep 1 --grace=0 &&
	# as if the prune had been silent for longer than the stale limit
	store_cat -s "$S" git/refs >refs.old &&
	sed -e "s/^maintenance [0-9]* /maintenance 1000000000 /" refs.old >refs.new &&
	! test_cmp refs.old refs.new &&
	store_put -s "$S" git/refs refs.new &&
	commit_data "$DATA/d1t" v4 &&
	git -C "$SRC" push -q origin main &&
	finish prune10 &&
	! test $(cat prune10.rc) = 0 &&
	test_grep "changed while it was being pruned or repacked" prune10.out &&
	assert_remote_has -s "$S" $(file_sha256 "$DATA/d1") &&
	assert_remote_has -s "$S" $(file_sha256 "$DATA/d2") &&
	no_mark &&
	store_whole &&
	rm -rf clone-silent &&
	git clone -q "$URL" clone-silent &&
	test_cmp_bin "$DATA/d1t" clone-silent/data.bin
'

test_expect_success 'a fresh mark refuses pushes, not clones; prune and gc wait' '
	race_setup mark &&
	set_mark $(date +%s) 0123456789abcdef.1@elsewhere &&
	make_file "$DATA/d4" 1M data-4 &&
	commit_data "$DATA/d4" v4 &&
	test_must_fail git -C "$SRC" push origin main 2>err &&
	cat err &&
	test_grep "is being pruned or repacked since" err &&
	test_must_fail git -C "$SRC" lepton push origin HEAD 2>err &&
	test_grep "is being pruned or repacked since" err &&
	test_must_fail git -C "$PRUNER" lepton prune --remote origin --keep 1 --grace=0 2>err &&
	test_grep "is being pruned or repacked since" err &&
	test_must_fail git -C "$PRUNER" lepton gc --remote origin 2>err &&
	test_grep "is being pruned or repacked since" err &&
	git -C "$PRUNER" lepton fsck --remote origin 2>err &&
	test_grep "warning: .*is being pruned or repacked since" err &&
	rm -rf clone-mark &&
	git clone -q "$URL" clone-mark &&
	test_cmp_bin "$DATA/d3" clone-mark/data.bin &&
	store_cat -s "$S" git/refs >refs.now &&
	test_cmp refs.new refs.now
'

test_expect_success 'a stale mark: pushes go on, a prune takes it over with a warning' '
	set_mark 1000000000 0123456789abcdef.1@elsewhere &&
	git -C "$SRC" push -q origin main &&
	git -C "$PRUNER" pull -q origin main &&
	git -C "$PRUNER" lepton prune --remote origin --keep 1 --grace=0 2>err &&
	cat err &&
	test_grep "warning: .*0123456789abcdef.1@elsewhere.*taking over" err &&
	no_mark &&
	grep "^maintained " refs.now &&
	store_whole
'

test_expect_success 'a mark of a killed prune refuses pushes until a gc clears it' '
	make_file "$DATA/d5" 1M data-5 &&
	commit_data "$DATA/d5" v5 &&
	git -C "$SRC" push -q origin main &&
	git -C "$PRUNER" pull -q origin main &&
	test_must_fail ok=signal env GIT_LEPTON_TEST_DIE_AT=prune-remote-pack-written \
		git -C "$PRUNER" lepton prune --remote origin --keep 1 --grace=0 &&
	store_cat -s "$S" git/refs >refs.now &&
	grep "^maintenance " refs.now &&
	make_file "$DATA/d6" 1M data-6 &&
	commit_data "$DATA/d6" v6 &&
	test_must_fail git -C "$SRC" push origin main 2>err &&
	test_grep "is being pruned or repacked since" err &&
	test_grep "git lepton gc --remote" err &&
	git -C "$PRUNER" lepton gc --remote origin --grace=0 2>err &&
	cat err &&
	test_grep "warning: .*taking over" err &&
	no_mark &&
	git -C "$SRC" push -q origin main &&
	store_whole &&
	rm -rf clone-killed &&
	git clone -q "$URL" clone-killed &&
	test_cmp_bin "$DATA/d6" clone-killed/data.bin
'

test_expect_success 'prune --remote --dry-run sets no mark' '
	git -C "$PRUNER" pull -q origin main &&
	GIT_LEPTON_TEST_DIE_AT=maintenance-set \
		git -C "$PRUNER" lepton prune --remote origin --keep 1 --dry-run >out &&
	test_grep "would drop" out &&
	no_mark
'

test_done
