# git-lepton test library, in the spirit of git's t/test-lib.sh.
#
# A test script is a POSIX shell script named tNNNN-topic.sh:
#
#	#!/bin/sh
#	test_description='what this script covers'
#	. "$(dirname "$0")"/test-lib.sh
#
#	test_expect_success 'title' '
#		command &&
#		other command
#	'
#	test_done
#
# Each script runs in its own trash directory, "t/trash directory.<name>",
# with its own HOME; the directory is removed when every test passed and
# kept for inspection otherwise (or always with --debug).  The freshly built
# git-lepton (the repository top, or its bin/ or build/) and t/helper come
# first in PATH.
#
# Options: -v/--verbose show the output of the tests, -d/--debug keep the
# trash directory, -i/--immediate stop at the first failure, -x trace the
# test bodies, --long also run the tests with the EXPENSIVE prerequisite
# (or set GIT_TEST_LONG), --root=DIR create the trash directory under DIR.
#
# The output is TAP, so `prove` runs the scripts.  Without -v, the output of
# test number N goes to "<trash>/.test/out/N.out", and a failing test shows
# its body and the end of that output on stderr.
#
# Bodies are eval'ed in the script's shell (variables set in one test are
# seen by the next), as in git: chain commands with "&&", use subshells for
# "cd".  The working directory is reset to the trash directory after each
# test all the same, so one failure does not derail the rest.

# ---- where we are -----------------------------------------------------------

TEST_NAME=$(basename "$0" .sh)
# A script outside t/ (t0000's sub-tests) finds the library through an
# exported TEST_DIRECTORY.
if test -z "$TEST_DIRECTORY" || ! test -f "$TEST_DIRECTORY/test-lib.sh"
then
	TEST_DIRECTORY=$(cd "$(dirname "$0")" && pwd) || exit 1
fi
TEST_BUILD_DIR=$(cd "$TEST_DIRECTORY/.." && pwd) || exit 1
export TEST_DIRECTORY TEST_BUILD_DIR

# ---- options ----------------------------------------------------------------

verbose=
debug=
immediate=
trace=
root=
while test $# -gt 0
do
	case "$1" in
	-v|--verbose) verbose=t ;;
	-d|--debug) debug=t ;;
	-i|--immediate) immediate=t ;;
	-x) trace=t ;;
	-l|--long) GIT_TEST_LONG=t; export GIT_TEST_LONG ;;
	--root=*) root=${1#--root=} ;;
	-h|--help)
		echo "usage: $0 [-v] [-d] [-i] [-x] [--long] [--root=DIR]"
		exit 0 ;;
	*) echo "error: unknown test option '$1'" >&2; exit 1 ;;
	esac
	shift
done

# ---- a fixed environment ----------------------------------------------------

# Forget every GIT_* variable of the caller (GIT_DIR would send every test to
# somebody's real repository), except the test switches and traces.
for var in $(env | sed -n 's/^\(GIT_[A-Za-z0-9_]*\)=.*/\1/p')
do
	case "$var" in
	GIT_TEST_*|GIT_TRACE*|GIT_SKIP_TESTS) ;;
	*) unset "$var" ;;
	esac
done
unset XDG_CONFIG_HOME XDG_CACHE_HOME EMAIL LANGUAGE CDPATH
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
unset LEPTON_DEBUG

LC_ALL=C
LANG=C
TZ=UTC
export LC_ALL LANG TZ

GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME='A U Thor'
GIT_AUTHOR_EMAIL='author@example.com'
GIT_COMMITTER_NAME='C O Mitter'
GIT_COMMITTER_EMAIL='committer@example.com'
GIT_AUTHOR_DATE='1112354055 +0200'
GIT_COMMITTER_DATE='1112354055 +0200'
GIT_MERGE_VERBOSITY=5
GIT_MERGE_AUTOEDIT=no
GIT_PAGER=cat
PAGER=cat
EDITOR=:
GIT_EDITOR=:
export GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE \
	GIT_MERGE_VERBOSITY GIT_MERGE_AUTOEDIT GIT_PAGER PAGER EDITOR GIT_EDITOR

# The freshly built binary: at the top of the tree, or in bin/ or build/
# there (the top holds a git-lepton/ source directory too); LEPTON_BUILD_DIR
# overrides.
if test -z "$LEPTON_BUILD_DIR"
then
	for dir in "$TEST_BUILD_DIR" "$TEST_BUILD_DIR/bin" "$TEST_BUILD_DIR/build"
	do
		if test -f "$dir/git-lepton" && test -x "$dir/git-lepton"
		then
			LEPTON_BUILD_DIR=$dir
			break
		fi
	done
fi
: "${LEPTON_BUILD_DIR:=$TEST_BUILD_DIR}"
export LEPTON_BUILD_DIR

PATH="$LEPTON_BUILD_DIR:$TEST_DIRECTORY/helper:$PATH"
export PATH

LF='
'
ZERO_OID=0000000000000000000000000000000000000000

# ---- output -----------------------------------------------------------------

# fd 5: TAP (the script's stdout); fd 7: diagnostics (its stderr);
# fd 6: the script's stdin.  Test bodies see fd 3/4 as their stdout/stderr.
exec 5>&1 7>&2 6<&0

say () {
	printf '%s\n' "$*" >&5
}

say_diag () {
	printf '%s\n' "$*" | sed -e 's/^/# /' >&7
}

error () {
	say "Bail out! $*"
	printf 'error: %s\n' "$*" >&7
	exit 1
}

BUG () {
	error "bug in the test script: $*"
}

# ---- the trash directory ----------------------------------------------------

# (t0000 tests the library itself and needs no binary)
test -n "$TEST_NO_LEPTON" ||
	{ test -f "$LEPTON_BUILD_DIR/git-lepton" && test -x "$LEPTON_BUILD_DIR/git-lepton"; } ||
	error "git-lepton is not built in '$TEST_BUILD_DIR'; run 'make' at the top first"

TRASH_DIRECTORY="trash directory.$TEST_NAME"
if test -n "$root"
then
	mkdir -p "$root" || exit 1
	TRASH_DIRECTORY="$(cd "$root" && pwd)/$TRASH_DIRECTORY"
else
	TRASH_DIRECTORY="$TEST_DIRECTORY/$TRASH_DIRECTORY"
fi
export TRASH_DIRECTORY

rm -rf "$TRASH_DIRECTORY" || error "cannot remove '$TRASH_DIRECTORY'"
mkdir -p "$TRASH_DIRECTORY" || error "cannot create '$TRASH_DIRECTORY'"

# Git must never walk up from the trash directory into the project's own
# repository (t/ lives inside it).
GIT_CEILING_DIRECTORIES=$(dirname "$TRASH_DIRECTORY")
export GIT_CEILING_DIRECTORIES

# The library's own files live under .test/ in the trash directory: HOME,
# the tests' output, scratch files.  A global exclude keeps them out of
# `git status` and `git add .` when a test makes the trash directory a repo.
TEST_META="$TRASH_DIRECTORY/.test"
TEST_OUTPUT_DIR="$TEST_META/out"
TEST_TMP="$TEST_META/tmp"
HOME="$TEST_META/home"
export HOME TEST_TMP
mkdir -p "$TEST_OUTPUT_DIR" "$TEST_TMP" "$HOME/.config/git" || exit 1
printf '/.test/\n' >"$HOME/.config/git/ignore"
cat >"$HOME/.gitconfig" <<\EOF || exit 1
[init]
	defaultBranch = main
[advice]
	detachedHead = false
EOF

cd "$TRASH_DIRECTORY" || exit 1

# ---- prerequisites ----------------------------------------------------------

satisfied_prereq=' '
lazy_prereqs=' '
lazy_tested=' '

test_set_prereq () {
	case "$1" in
	*' '*|'') BUG "bad prerequisite name '$1'" ;;
	esac
	satisfied_prereq="$satisfied_prereq$1 "
}

# test_lazy_prereq NAME 'script': NAME holds when the script succeeds; it
# runs, in a scratch directory, the first time a test asks for NAME.
test_lazy_prereq () {
	lazy_prereqs="$lazy_prereqs$1 "
	eval "lazy_prereq_script_$1=\$2"
}

test_run_lazy_prereq_ () {
	eval "script=\$lazy_prereq_script_$1"
	mkdir -p "$TEST_META/prereq-$1" &&
	(
		cd "$TEST_META/prereq-$1" &&
		eval "$script"
	) >/dev/null 2>&1
	ret=$?
	rm -rf "$TEST_META/prereq-$1"
	return $ret
}

# test_have_prereq A,B,!C: all of A and B hold and C does not.
test_have_prereq () {
	save_IFS=$IFS
	IFS=,
	set -- $*
	IFS=$save_IFS
	for prereq
	do
		negative=
		case "$prereq" in
		!*) negative=t; prereq=${prereq#!} ;;
		esac
		case "$lazy_prereqs" in
		*" $prereq "*)
			case "$lazy_tested" in
			*" $prereq "*) ;;
			*)
				lazy_tested="$lazy_tested$prereq "
				if test_run_lazy_prereq_ "$prereq"
				then
					test_set_prereq "$prereq"
				fi ;;
			esac ;;
		esac
		case "$satisfied_prereq" in
		*" $prereq "*) have=t ;;
		*) have= ;;
		esac
		if test -n "$negative"
		then
			test -z "$have" || return 1
		else
			test -n "$have" || return 1
		fi
	done
	return 0
}

test_lazy_prereq EXPENSIVE 'test -n "$GIT_TEST_LONG" || test -n "$LEPTON_TEST_LONG"'
test "$(id -u)" = 0 && test_set_prereq ROOT
if ( ulimit -v 1000000 ) 2>/dev/null
then
	test_set_prereq ULIMIT_V
fi
command -v pgrep >/dev/null && test_set_prereq PGREP
command -v timeout >/dev/null && test_set_prereq TIMEOUT

# ---- running tests ----------------------------------------------------------

test_count=0
test_success=0
test_failure=0
test_fixed=0
test_broken=0
test_skipped=0
test_cleanup=:

test_skip_ () {
	# $1 title, $2 prereq
	test_count=$(($test_count + 1))
	test_skipped=$(($test_skipped + 1))
	say "ok $test_count # skip $1 (missing $2)"
}

test_eval_ () {
	# $1 is the body; runs in this shell, output to fd 3/4.
	if test -n "$trace"
	then
		set -x
	fi
	eval "$1"
	test_eval_ret_=$?
	set +x
	return $test_eval_ret_
}

# A hung command (a filter that deadlocks on its pipes) must not hang the
# whole run: a watchdog kills the test's processes after GIT_TEST_TIMEOUT
# seconds (default 120; 0 turns it off), so the test fails and the
# script goes on.
: "${GIT_TEST_TIMEOUT:=120}"

test_descendants_ () {
	# every process below $1, except the subtree of $2
	_td_todo=$1
	_td_all=
	while test -n "$_td_todo"
	do
		_td_next=
		for _td_p in $_td_todo
		do
			for _td_c in $(pgrep -P "$_td_p")
			do
				test "$_td_c" = "$2" || _td_next="$_td_next $_td_c"
			done
		done
		_td_all="$_td_all$_td_next"
		_td_todo=$_td_next
	done
	echo $_td_all
}

test_watchdog_start_ () {
	test_watchdog_pid=
	test "$GIT_TEST_TIMEOUT" != 0 || return 0
	command -v pgrep >/dev/null || return 0
	rm -f "$TEST_META/timed-out"
	(
		_wd_self=$(exec sh -c 'echo $PPID')
		trap 'exit 0' TERM
		# one-second naps: a nap orphaned when the watchdog is stopped
		# ends at once instead of lingering for the whole timeout
		_wd_left=$GIT_TEST_TIMEOUT
		while test "$_wd_left" -gt 0
		do
			sleep 1 &
			wait $!
			_wd_left=$((_wd_left - 1))
		done
		echo "$test_count" >"$TEST_META/timed-out"
		kill -TERM $(test_descendants_ "$test_shell_pid" "$_wd_self") 2>/dev/null
		sleep 5
		kill -KILL $(test_descendants_ "$test_shell_pid" "$_wd_self") 2>/dev/null
	) </dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 6<&- 7>&- &
	test_watchdog_pid=$!
}

test_watchdog_stop_ () {
	test -n "$test_watchdog_pid" || return 0
	_wd_sleep=$(pgrep -P "$test_watchdog_pid")
	kill -TERM "$test_watchdog_pid" $_wd_sleep 2>/dev/null
	wait "$test_watchdog_pid" 2>/dev/null
	test_watchdog_pid=
	if test -f "$TEST_META/timed-out"
	then
		rm -f "$TEST_META/timed-out"
		say_diag "test $test_count timed out after ${GIT_TEST_TIMEOUT}s; its processes were killed"
		echo "timed out after ${GIT_TEST_TIMEOUT}s (GIT_TEST_TIMEOUT)" >&3
		return 1
	fi
	return 0
}

test_shell_pid=$$

test_run_ () {
	# $1 the body; sets test_ok to t or empty
	test_cleanup=:
	test_ok=

	# The "(exit 117) && ..." lint: with an unbroken &&-chain, nothing of
	# the body runs and the result is 117.
	test_eval_ "(exit 117) && $1" </dev/null >/dev/null 2>&1
	lint_ret=$?
	if test $lint_ret != 117
	then
		BUG "broken &&-chain or run-away command in test $test_count: $1"
	fi

	test_watchdog_start_
	test_eval_ "$1" </dev/null >&3 2>&4
	eval_ret=$?
	test_watchdog_stop_ || eval_ret=1
	cd "$TRASH_DIRECTORY" || error "cannot go back to '$TRASH_DIRECTORY'"
	# test_when_finished commands fold their own failure into eval_ret
	test_eval_ "$test_cleanup" </dev/null >&3 2>&4
	cd "$TRASH_DIRECTORY" || error "cannot go back to '$TRASH_DIRECTORY'"
	if test "$eval_ret" = 0
	then
		test_ok=t
	fi
}

test_start_ () {
	test_count=$(($test_count + 1))
	test_out="$TEST_OUTPUT_DIR/$test_count.out"
	if test -n "$verbose"
	then
		exec 3>&5 4>&7
		say "# $test_count: $1"
	else
		exec 3>"$test_out" 4>&3
	fi
}

test_finish_ () {
	exec 3>&- 4>&-
}

test_failure_diag_ () {
	# $1 title, $2 body
	say_diag "failed test $test_count: $1"
	printf '%s\n' "$2" | sed -e 's/^/#	/' >&7
	if test -z "$verbose" && test -s "$test_out"
	then
		say_diag "--- last lines of its output ($test_out):"
		tail -n 25 "$test_out" | sed -e 's/^/#   /' >&7
	fi
}

test_prereq_args_ () {
	# sets test_prereq, test_title, test_body from "[PREREQ] title body"
	test_prereq=
	if test $# = 3
	then
		test_prereq=$1
		shift
	fi
	test $# = 2 || BUG "not 2 or 3 parameters to test_expect_*: $*"
	test_title=$1
	test_body=$2
}

# test_attempt_ [PREREQ] TITLE BODY: skip the test (status 1) when a
# prerequisite is missing; otherwise run it and leave the outcome in test_ok.
test_attempt_ () {
	test_prereq_args_ "$@"
	if test -n "$test_prereq" && ! test_have_prereq "$test_prereq"
	then
		test_skip_ "$test_title" "$test_prereq"
		return 1
	fi
	test_start_ "$test_title"
	test_run_ "$test_body"
	test_finish_
	return 0
}

test_expect_success () {
	test_attempt_ "$@" || return 0
	if test -n "$test_ok"
	then
		test_success=$(($test_success + 1))
		say "ok $test_count - $test_title"
	else
		test_failure=$(($test_failure + 1))
		say "not ok $test_count - $test_title"
		test_failure_diag_ "$test_title" "$test_body"
		if test -n "$immediate"
		then
			say "# stopped at the first failure (--immediate)"
			test_done_ immediate
		fi
	fi
	return 0
}

# A test of a known bug: failing is expected ("not ok ... # TODO").
test_expect_failure () {
	test_attempt_ "$@" || return 0
	if test -n "$test_ok"
	then
		test_fixed=$(($test_fixed + 1))
		say "ok $test_count - $test_title # TODO known breakage vanished"
	else
		test_broken=$(($test_broken + 1))
		say "not ok $test_count - $test_title # TODO known breakage"
	fi
	return 0
}

# Inside a test body: run these commands after the body, pass or fail.
test_when_finished () {
	test_cleanup="{ $*
		} && (exit \"\$eval_ret\"); eval_ret=\$?; $test_cleanup"
}

test_done_ () {
	say "1..$test_count"
	if test "$test_fixed" != 0
	then
		say "# $test_fixed known breakage(s) vanished; fix the test to expect success"
	fi
	if test "$test_broken" != 0
	then
		say "# still have $test_broken known breakage(s)"
	fi
	if test "$test_failure" = 0 && test "$1" != immediate
	then
		say "# passed all $test_count test(s)"
		if test -z "$debug"
		then
			cd "$TEST_DIRECTORY" &&
			chmod -R u+rwx "$TRASH_DIRECTORY" 2>/dev/null
			rm -rf "$TRASH_DIRECTORY"
		fi
		exit 0
	fi
	say "# failed $test_failure among $test_count test(s); trash kept in '$TRASH_DIRECTORY'"
	exit 1
}

test_done () {
	test_done_
}

# ---- assertions and helpers -------------------------------------------------

# test_must_fail [ok=success,sigpipe,signal] CMD...: CMD must fail in an
# orderly way: not succeed (unless ok=success), not die of a signal (unless
# ok=signal, or ok=sigpipe for SIGPIPE), not be missing.
test_must_fail () {
	case "$1" in
	ok=*) _tmf_ok=${1#ok=}; shift ;;
	*) _tmf_ok= ;;
	esac
	"$@"
	test_must_fail_check_ $? "$_tmf_ok" "$*"
}

test_must_fail_acceptable_ () {
	case ",$2," in
	*,$1,*) return 0 ;;
	esac
	return 1
}

test_must_fail_check_ () {
	# $1 exit code, $2 ok= list, $3 the command, for messages
	if test "$1" = 0
	then
		test_must_fail_acceptable_ success "$2" && return 0
		echo >&4 "test_must_fail: command succeeded: $3"
		return 1
	elif test "$1" -gt 129 && test "$1" -le 192
	then
		test_must_fail_acceptable_ signal "$2" && return 0
		if test "$1" = 141
		then
			test_must_fail_acceptable_ sigpipe "$2" && return 0
		fi
		echo >&4 "test_must_fail: died by signal $(($1 - 128)): $3"
		return 1
	elif test "$1" = 127
	then
		echo >&4 "test_must_fail: command not found: $3"
		return 1
	elif test "$1" = 126
	then
		echo >&4 "test_must_fail: valgrind or exec error: $3"
		return 1
	fi
	return 0
}

# test_might_fail CMD...: CMD may succeed or fail, but not crash.
test_might_fail () {
	test_must_fail ok=success "$@"
}

# test_expect_code N CMD...
test_expect_code () {
	_tec_want=$1
	shift
	"$@"
	_tec_got=$?
	if test "$_tec_got" = "$_tec_want"
	then
		return 0
	fi
	echo >&4 "test_expect_code: command exited with $_tec_got, we wanted $_tec_want: $*"
	return 1
}

test_cmp () {
	test $# = 2 || BUG "test_cmp needs 2 parameters"
	diff -u "$@" >&4 && return 0
	echo >&4 "test_cmp: '$1' and '$2' differ"
	return 1
}

# test_cmp_bin A B: byte for byte, without printing binary diffs.
test_cmp_bin () {
	cmp "$@" >&4
}

# test_line_count = N FILE (or any test(1) comparison: -gt, -lt, ...)
test_line_count () {
	test $# = 3 || BUG "test_line_count needs 3 parameters"
	_tlc_n=$(wc -l <"$3" | tr -d ' ')
	if ! test "$_tlc_n" "$1" "$2"
	then
		echo >&4 "test_line_count: line count for $3 !$1 $2 (it is $_tlc_n)"
		sed -e 's/^/| /' "$3" >&4
		return 1
	fi
}

# test_grep [!] [grep options] PATTERN FILE: as grep, shows FILE when the
# expectation fails.
test_grep () {
	_tg_neg=
	if test "$1" = "!"
	then
		_tg_neg=t
		shift
	fi
	eval "_tg_file=\${$#}"
	if test -n "$_tg_neg"
	then
		! grep "$@" >/dev/null && return 0
		echo >&4 "test_grep: found unexpected match in '$_tg_file':"
	else
		grep "$@" >/dev/null && return 0
		echo >&4 "test_grep: no match in '$_tg_file' for: $*"
	fi
	echo >&4 "--- $_tg_file:"
	sed -e 's/^/| /' "$_tg_file" | head -n 40 >&4
	return 1
}

test_path_is_file () {
	test $# = 1 || BUG "test_path_is_file needs 1 parameter"
	test -f "$1" && return 0
	echo >&4 "file '$1' does not exist"
	return 1
}

test_path_is_dir () {
	test $# = 1 || BUG "test_path_is_dir needs 1 parameter"
	test -d "$1" && return 0
	echo >&4 "directory '$1' does not exist"
	return 1
}

test_path_is_missing () {
	test $# = 1 || BUG "test_path_is_missing needs 1 parameter"
	test -e "$1" || test -L "$1" || return 0
	echo >&4 "path '$1' exists and should not:"
	ls -ld "$1" >&4
	return 1
}

test_path_is_executable () {
	test $# = 1 || BUG "test_path_is_executable needs 1 parameter"
	test -x "$1" && return 0
	echo >&4 "'$1' is not executable"
	return 1
}

test_must_be_empty () {
	test $# = 1 || BUG "test_must_be_empty needs 1 parameter"
	test_path_is_file "$1" || return 1
	test -s "$1" || return 0
	echo >&4 "'$1' is not empty, it contains:"
	sed -e 's/^/| /' "$1" | head -n 40 >&4
	return 1
}

# Move the commit dates one minute on.
test_tick () {
	test_tick_t=$(( ${test_tick_t:-1112911993} + 60 ))
	GIT_COMMITTER_DATE="$test_tick_t -0700"
	GIT_AUTHOR_DATE="$test_tick_t -0700"
	export GIT_COMMITTER_DATE GIT_AUTHOR_DATE
}

# test_commit MESSAGE [FILE [CONTENTS]]: write, add and commit a file.
test_commit () {
	_tc_file=${2:-"$1.t"}
	_tc_contents=${3:-"$1"}
	printf '%s\n' "$_tc_contents" >"$_tc_file" &&
	git add -- "$_tc_file" &&
	test_tick &&
	git commit -q -m "$1"
}

# write_script FILE [INTERPRETER] <<EOF: an executable script.
write_script () {
	{
		echo "#!${2:-/bin/sh}"
		cat
	} >"$1" &&
	chmod +x "$1"
}

test_seq () {
	_ts_i=$1
	while test "$_ts_i" -le "$2"
	do
		echo "$_ts_i"
		_ts_i=$(($_ts_i + 1))
	done
}

# ---- the domain library -----------------------------------------------------

. "$TEST_DIRECTORY/lib-lepton.sh"
