#!/bin/sh

test_description='git-remote-lepton: many pushers on one store at once

Four clones push to the same store at the same time, several rounds,
each with a new model version: on one branch (a loser fetches, rebases
and pushes again, as a user would) and on a branch each.  Afterwards
every accepted commit is reachable from the store, a fresh clone is
clean, and every pushed model version comes back byte for byte.  Then
git lepton gc --remote consolidates the store while clones run.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
. "$TEST_DIRECTORY"/lib-remote.sh

# the store (lib-backend.sh): a directory, S3 or WebDAV
URL="lepton::$STORE_URL"
N=4
ROUNDS=3
MAX_TRIES=40

# pusher_same I: ROUNDS commits of pusher I on main, each pushed until
# accepted.  Accepted commits go to accepted.same ("commit path data");
# every failed push's output to rejects.I; a failure that is not git's
# refusal of a stale push ends the pusher with status.I saying why.
pusher_same () {
	_ps_i=$1
	_ps_r=1
	while test $_ps_r -le $ROUNDS
	do
		_ps_data="m$_ps_i-$_ps_r"
		make_file "$DATA/$_ps_data" 300K "same-$_ps_i-$_ps_r" &&
		cp "$DATA/$_ps_data" "p$_ps_i/m$_ps_i.bin" &&
		git -C "p$_ps_i" add "m$_ps_i.bin" &&
		git -C "p$_ps_i" commit -q -m "pusher $_ps_i round $_ps_r" || {
			echo "commit failed in round $_ps_r" >"status.$_ps_i"
			return 1
		}
		_ps_try=0
		while :
		do
			_ps_try=$(($_ps_try + 1))
			if test $_ps_try -gt $MAX_TRIES
			then
				echo "round $_ps_r not accepted after $MAX_TRIES tries" >"status.$_ps_i"
				return 1
			fi
			if git -C "p$_ps_i" push origin main >"out.$_ps_i" 2>&1
			then
				echo "$(git -C "p$_ps_i" rev-parse HEAD) m$_ps_i.bin $_ps_data" >>accepted.same
				break
			fi
			cat "out.$_ps_i" >>"rejects.$_ps_i"
			if ! grep -q "rejected" "out.$_ps_i"
			then
				echo "push failed without a rejection in round $_ps_r (see rejects.$_ps_i)" >"status.$_ps_i"
				return 1
			fi
			sleep "0.$_ps_i"
			git -C "p$_ps_i" pull -q --rebase origin main >>"rejects.$_ps_i" 2>&1 || {
				echo "pull --rebase failed in round $_ps_r (see rejects.$_ps_i)" >"status.$_ps_i"
				git -C "p$_ps_i" rebase --abort 2>/dev/null
				return 1
			}
		done
		_ps_r=$(($_ps_r + 1))
	done
	echo ok >"status.$_ps_i"
}

# pusher_branch I: ROUNDS commits of pusher I on its own branch bI; each
# push must be accepted at once, whatever the others push meanwhile.
pusher_branch () {
	_pb_i=$1
	_pb_r=1
	while test $_pb_r -le $ROUNDS
	do
		_pb_data="b$_pb_i-$_pb_r"
		make_file "$DATA/$_pb_data" 300K "branch-$_pb_i-$_pb_r" &&
		cp "$DATA/$_pb_data" "p$_pb_i/b$_pb_i.bin" &&
		git -C "p$_pb_i" add "b$_pb_i.bin" &&
		git -C "p$_pb_i" commit -q -m "branch pusher $_pb_i round $_pb_r" || {
			echo "commit failed in round $_pb_r" >"status.$_pb_i"
			return 1
		}
		if ! git -C "p$_pb_i" push origin "b$_pb_i" >"out.$_pb_i" 2>&1
		then
			cat "out.$_pb_i" >>"rejects.$_pb_i"
			echo "push of b$_pb_i refused in round $_pb_r (see rejects.$_pb_i)" >"status.$_pb_i"
			return 1
		fi
		echo "$(git -C "p$_pb_i" rev-parse HEAD) b$_pb_i.bin $_pb_data b$_pb_i" >>accepted.branch
		_pb_r=$(($_pb_r + 1))
	done
	echo ok >"status.$_pb_i"
}

# run_pushers FUNCTION: FUNCTION 1..N at once, in the background; waits
# for them by process id (a bare wait would wait for the test watchdog).
run_pushers () {
	_rp_pids=
	for _rp_i in $(test_seq 1 $N)
	do
		"$1" $_rp_i &
		_rp_pids="$_rp_pids $!"
	done
	wait $_rp_pids
	return 0
}

# reader: while reader.stop does not exist (at most 30 rounds), clone
# the store and check the clone: git fsck clean, every file checked out
# (a ref whose history or content is missing would fail one or the
# other).  reader.status says ok, or what failed.
reader () {
	_rd_k=0
	while ! test -f reader.stop && test $_rd_k -lt 30
	do
		_rd_k=$(($_rd_k + 1))
		rm -rf "reader$_rd_k"
		if ! git clone -q "$URL" "reader$_rd_k" >"reader.out" 2>&1
		then
			echo "clone $_rd_k failed: $(cat reader.out)" >reader.status
			return 1
		fi
		if ! git -C "reader$_rd_k" fsck >"reader.out" 2>&1
		then
			echo "git fsck of clone $_rd_k failed: $(cat reader.out)" >reader.status
			return 1
		fi
		if ! (cd "reader$_rd_k" && assert_clean_status) 2>reader.out 4>&2
		then
			echo "clone $_rd_k is not clean: $(cat reader.out)" >reader.status
			return 1
		fi
		rm -rf "reader$_rd_k"
	done
	echo ok >reader.status
	echo "$_rd_k" >reader.rounds
}

# start_gc REPO: git lepton gc --remote origin in the background; its
# exit code goes to gc.code, its process id to $gc_pid.
start_gc () {
	(
		git -C "$1" lepton gc --remote origin >gc.out 2>&1
		echo $? >gc.code
	) &
	gc_pid=$!
}

# check_fetched REPO: the local store of REPO holds every accepted version.
check_fetched () {
	cat accepted.same accepted.branch | while read _cf_commit _cf_path _cf_data _cf_branch
	do
		(cd "$1" && assert_in_store "$(file_sha256 "$DATA/$_cf_data")") || return 1
	done
}

# check_statuses: every pusher said ok; show what the others said.
check_statuses () {
	_cs_bad=
	for _cs_i in $(test_seq 1 $N)
	do
		if test "$(cat "status.$_cs_i" 2>/dev/null)" != ok
		then
			echo >&4 "pusher $_cs_i: $(cat "status.$_cs_i" 2>/dev/null || echo "no status")"
			test -f "rejects.$_cs_i" && tail -n 20 "rejects.$_cs_i" >&4
			_cs_bad=t
		fi
	done
	test -z "$_cs_bad"
}

test_expect_success 'setup: a store and one clone per pusher' '
	setup_repo src &&
	make_model "$DATA/base" 2 11 &&
	cp "$DATA/base" src/base.safetensors &&
	git -C src add base.safetensors &&
	git -C src commit -q -m base &&
	git -C src remote add origin "$URL" &&
	git -C src push -q origin main &&
	for i in $(test_seq 1 $N)
	do
		git clone -q "$URL" "p$i" &&
		git -C "p$i" config user.name "Pusher $i" &&
		git -C "p$i" config user.email "p$i@example.com" || return 1
	done &&
	: >accepted.same &&
	: >accepted.branch
'

# start_reader: reader in the background, its process id in $reader_pid.
start_reader () {
	rm -f reader.stop reader.status reader.rounds
	reader </dev/null 3>/dev/null 4>/dev/null &
	reader_pid=$!
}

test_expect_success "$N pushers on one branch, $ROUNDS rounds, retrying like users, while clones run" '
	rm -f status.* rejects.* &&
	start_reader &&
	run_pushers pusher_same &&
	touch reader.stop &&
	{ wait $reader_pid || :; } &&
	check_statuses &&
	test_line_count = $(($N * $ROUNDS)) accepted.same &&
	echo "clones made during the pushes: $(cat reader.rounds)" >&3
'

test_expect_success 'every clone made during the pushes was complete' '
	echo ok >expect &&
	test_cmp expect reader.status
'

test_expect_success 'the losers saw git'"'"'s refusal: [rejected] with fetch first or non-fast-forward' '
	find . -maxdepth 1 -name "rejects.*" -exec cat {} + >all-rejects &&
	if test -s all-rejects
	then
		test_grep ! "remote rejected" all-rejects &&
		grep "\[rejected\]" all-rejects >rejected-lines &&
		test_grep ! -v -e "fetch first" -e "non-fast-forward" rejected-lines
	fi
'

test_expect_success 'every accepted commit is in the store'"'"'s history' '
	git clone -q "$URL" final &&
	main=$(git -C final rev-parse HEAD) &&
	assert_remote_ref "$URL" refs/heads/main "$main" &&
	while read commit path data
	do
		git -C final merge-base --is-ancestor "$commit" "$main" || {
			echo >&4 "accepted commit $commit ($data) is not reachable from main"
			return 1
		}
	done <accepted.same &&
	git -C final rev-list --count "$main" >count &&
	test "$(cat count)" -ge $((2 + $N * $ROUNDS))
'

test_expect_success 'a fresh clone is clean and every pushed version comes back' '
	git -C final fsck &&
	(cd final && assert_clean_status) &&
	for i in $(test_seq 1 $N)
	do
		test_cmp_bin "$DATA/m$i-$ROUNDS" "final/m$i.bin" || return 1
	done &&
	while read commit path data
	do
		(cd final && assert_oid_content "$commit:$path" "$DATA/$data") || return 1
	done <accepted.same &&
	(cd final && git lepton fsck --full && git lepton fsck --remote origin --full)
'

test_expect_success "$N pushers on a branch each, $ROUNDS rounds, all accepted at once" '
	rm -f status.* rejects.* &&
	for i in $(test_seq 1 $N)
	do
		git -C "p$i" checkout -q -b "b$i" || return 1
	done &&
	run_pushers pusher_branch &&
	check_statuses &&
	test_line_count = $(($N * $ROUNDS)) accepted.branch
'

test_expect_success 'every branch has its last commit, every version comes back' '
	git -C final fetch -q origin &&
	for i in $(test_seq 1 $N)
	do
		last=$(git -C "p$i" rev-parse "b$i") &&
		assert_remote_ref "$URL" "refs/heads/b$i" "$last" &&
		test "$(git -C final rev-parse "origin/b$i")" = "$last" || return 1
	done &&
	assert_remote_ref "$URL" refs/heads/main "$main" &&
	git -C final fsck &&
	while read commit path data branch
	do
		(cd final && assert_oid_content "$commit:$path" "$DATA/$data") || return 1
	done <accepted.branch
'

test_expect_success LEPTON_GC,LEPTON_FETCH 'gc --remote consolidates the packs while clones fetch' '
	store_ls packs >keys &&
	grep "\.pack$" keys >packs.before &&
	test_line_count -gt 1 packs.before &&
	cat accepted.same accepted.branch | cut -d" " -f1 >accepted.commits &&
	rm -f gc.code &&
	start_gc final &&
	k=0 &&
	while test $k -lt 2 || { kill -0 $gc_pid 2>/dev/null && test $k -lt 20; }
	do
		k=$(($k + 1)) &&
		rm -rf "during$k" &&
		GIT_LEPTON_SKIP_SMUDGE=1 git clone -q "$URL" "during$k" &&
		git -C "during$k" lepton fetch origin $(cat accepted.commits) &&
		check_fetched "during$k" &&
		rm "during$k/base.safetensors" &&
		git -C "during$k" checkout -- base.safetensors &&
		test_cmp_bin "$DATA/base" "during$k/base.safetensors" || {
			wait $gc_pid
			return 1
		}
	done &&
	wait $gc_pid &&
	cat gc.out >&3 &&
	test "$(cat gc.code)" = 0
'

test_expect_success LEPTON_GC 'gc --remote --grace=0 deletes the packs it retired' '
	git -C final lepton gc --remote origin --grace=0 &&
	store_ls packs >keys &&
	grep "\.pack$" keys >packs.after &&
	test_line_count -ge 1 packs.after &&
	test $(wc -l <packs.after) -lt $(wc -l <packs.before) &&
	store_ls git/packs >keys &&
	grep "\.pack$" keys >git-packs.after &&
	test_line_count -ge 1 git-packs.after
'

test_expect_success LEPTON_GC 'after gc, every version still clones byte for byte' '
	git clone -q "$URL" after-gc &&
	git -C after-gc fsck &&
	cat accepted.same accepted.branch >accepted.all &&
	while read commit path data branch
	do
		(cd after-gc && assert_oid_content "$commit:$path" "$DATA/$data") || return 1
	done <accepted.all &&
	(cd after-gc && git lepton fsck && git lepton fsck --remote origin --full)
'

test_done
