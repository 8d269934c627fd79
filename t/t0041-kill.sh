#!/bin/sh

test_description='a filter killed in the middle, and memory that stays flat

kill -9 of git-lepton filter-process (or of git itself) at several points
of a git add: the store stays valid, the next git add works and the
content round-trips.  With --long (EXPENSIVE): clean and smudge of a
1 GiB file under a 300 MB address-space limit.'

. "$(dirname "$0")"/test-lib.sh

BIG_SIZE=200M

# lepton_filter_pid_ PID: the git-lepton filter-process started by PID
# (git starts it through "sh -c" since the command has a space: look at
# the grandchildren too, by process name, not the shell)
lepton_filter_pid_ () {
	pgrep -P "$1" -x git-lepton ||
	for _c in $(pgrep -P "$1")
	do
		pgrep -P "$_c" -x git-lepton
	done
}

# run_and_kill WHO DELAY GIT-ARGS...: run git GIT-ARGS in the background;
# as soon as its filter process is up, wait DELAY seconds and kill -9
# the filter (WHO=filter) or git (WHO=git).  Waits for both to be gone.
# Sets $killed (empty when the command had finished already) and $git_code.
run_and_kill () {
	_who=$1
	_delay=$2
	shift 2
	git "$@" >"$TEST_TMP/bg.out" 2>&1 &
	_git_pid=$!
	_filter=
	_tries=0
	while test -z "$_filter" && kill -0 "$_git_pid" 2>/dev/null && test $_tries -lt 1000
	do
		_filter=$(lepton_filter_pid_ "$_git_pid")
		_tries=$(($_tries + 1))
		test -n "$_filter" || sleep 0.01
	done
	sleep "$_delay"
	killed=
	if test "$_who" = git
	then
		kill -9 "$_git_pid" 2>/dev/null && killed=git
	elif test -n "$_filter"
	then
		kill -9 $_filter 2>/dev/null && killed=filter
	fi
	wait "$_git_pid"
	git_code=$?
	# an orphaned filter goes on until it sees the end of its input
	_tries=0
	while test -n "$_filter" && kill -0 $_filter 2>/dev/null && test $_tries -lt 1000
	do
		_tries=$(($_tries + 1))
		sleep 0.01
	done
	if test -n "$_filter" && kill -0 $_filter 2>/dev/null
	then
		echo >&4 "the filter process $_filter did not exit after git was killed"
		kill -9 $_filter
		return 1
	fi
	echo >&3 "killed: ${killed:-nothing, it had finished} after ${_delay}s; git exited with $git_code"
	return 0
}

test_expect_success PGREP 'setup' '
	setup_repo &&
	mkdir -p .test-data &&
	echo "/.test-data/" >>.git/info/exclude &&
	make_file big.bin $BIG_SIZE big &&
	cp big.bin .test-data/big &&
	OID=$(file_sha256 .test-data/big) &&
	make_pointer .test-data/big >.test-data/big.ptr &&
	git lepton fsck
'

for delay in 0 0.05 0.1 0.2 0.3
do
	test_expect_success PGREP "kill -9 the filter process ${delay}s into git add" '
		run_and_kill filter $delay add big.bin &&
		if test "$killed" = filter
		then
			test "$git_code" != 0
		fi &&
		git lepton fsck &&
		if test -f "$(lepton_recipe_path $OID)"
		then
			git lepton smudge <.test-data/big.ptr >.test-data/out &&
			test_cmp_bin .test-data/big .test-data/out
		fi &&
		git reset -q
	'
done

for delay in 0.05 0.2
do
	test_expect_success PGREP "kill -9 git itself ${delay}s into git add" '
		run_and_kill git $delay add big.bin &&
		rm -f .git/index.lock &&
		git lepton fsck &&
		git reset -q
	'
done

test_expect_success PGREP 'after the kills, git add works and the content round-trips' '
	git add big.bin &&
	assert_pointer_of big.bin .test-data/big &&
	assert_in_store "$OID" &&
	git commit -q -m big &&
	rm big.bin &&
	git checkout -- big.bin &&
	test_cmp_bin .test-data/big big.bin &&
	git lepton fsck &&
	assert_clean_status
'

test_expect_success 'what killed writers left in tmp/ is removed after a day, fresh files stay' '
	printf stale >.git/lepton/tmp/pack-stale &&
	touch -d "2 days ago" .git/lepton/tmp/pack-stale &&
	printf fresh >.git/lepton/tmp/pack-fresh &&
	make_file another.bin 100K another &&
	git add another.bin &&
	test_path_is_missing .git/lepton/tmp/pack-stale &&
	test_path_is_file .git/lepton/tmp/pack-fresh &&
	rm .git/lepton/tmp/pack-fresh &&
	git lepton fsck
'

for delay in 0 0.05 0.15
do
	test_expect_success PGREP "kill -9 the filter process ${delay}s into git checkout" '
		rm -f big.bin &&
		run_and_kill filter $delay checkout -- big.bin &&
		if test -f big.bin
		then
			test_cmp_bin .test-data/big big.bin
		fi &&
		git checkout -- big.bin &&
		test_cmp_bin .test-data/big big.bin &&
		git lepton fsck
	'
done

test_lazy_prereq GNU_TIME '
	/usr/bin/time -f %M true 2>out &&
	test "$(cat out)" -gt 0
'

test_expect_success EXPENSIVE 'setup: a 1 GiB file' '
	make_file .test-data/huge 1G huge &&
	make_pointer .test-data/huge >huge.ptr
'

test_expect_success EXPENSIVE,ULIMIT_V 'clean of 1 GiB under a 300 MB address-space limit' '
	(
		ulimit -v 300000 &&
		git-lepton clean <.test-data/huge >actual
	) &&
	test_cmp huge.ptr actual &&
	assert_in_store "$(file_sha256 .test-data/huge)"
'

test_expect_success EXPENSIVE,ULIMIT_V 'smudge of 1 GiB under a 300 MB address-space limit' '
	(
		ulimit -v 300000 &&
		git-lepton smudge <huge.ptr >.test-data/huge.out
	) &&
	test_cmp_bin .test-data/huge .test-data/huge.out &&
	rm -f .test-data/huge.out
'

test_expect_success EXPENSIVE 'git add and checkout of 1 GiB' '
	cp .test-data/huge huge.bin &&
	git add huge.bin &&
	assert_pointer_of huge.bin .test-data/huge &&
	rm huge.bin &&
	git checkout -- huge.bin &&
	test_cmp_bin .test-data/huge huge.bin &&
	rm huge.bin &&
	git rm -q --cached huge.bin
'

test_done
