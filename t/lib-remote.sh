# Helpers for the tests of git-remote-lepton and of remote content
# (t58xx); source it after test-lib.sh:
#
#	. "$(dirname "$0")"/test-lib.sh
#	. "$TEST_DIRECTORY"/lib-remote.sh
#
# The whole script is skipped (TAP "1..0 # SKIP") while git-remote-lepton
# is not built; LEPTON_TEST_FORCE_REMOTE=1 runs it all the same (to lint
# the test bodies before the helper exists).  git-lepton is installed in
# the test HOME's ~/.gitconfig, so every clone smudges.  Commands that
# come with the remote support get prerequisites (LEPTON_FETCH,
# LEPTON_PULL, LEPTON_PUSH, LEPTON_GC), so a script runs what exists.

if ! test -x "$LEPTON_BUILD_DIR/git-remote-lepton" && test -z "$LEPTON_TEST_FORCE_REMOTE"
then
	say "1..0 # SKIP git-remote-lepton is not built in '$LEPTON_BUILD_DIR'"
	cd "$TEST_DIRECTORY" && rm -rf "$TRASH_DIRECTORY"
	exit 0
fi

command -v test-genmodel >/dev/null ||
	error "t/helper/test-genmodel is not built; run 'make test' at the top"

git lepton install --global --skip-repo >/dev/null 2>&1 ||
	error "git lepton install --global failed in the test HOME"

test_lazy_prereq LEPTON_FETCH 'git lepton help fetch'
test_lazy_prereq LEPTON_PULL 'git lepton help pull'
test_lazy_prereq LEPTON_PUSH 'git lepton help push'
test_lazy_prereq LEPTON_GC 'git lepton help gc'
command -v script >/dev/null && test_set_prereq SCRIPT

# Reference copies of generated files live here, outside every repository.
DATA="$TRASH_DIRECTORY/data"
mkdir -p "$DATA" || exit 1

# make_model FILE SIZE_MB SEED [VERSION]: a synthetic safetensors model;
# version K has about 10 % of the tensors of version K-1 retrained.
make_model () {
	test $# -ge 3 || BUG "make_model FILE SIZE_MB SEED [VERSION]"
	if test -n "$4" && test "$4" -gt 1
	then
		test-genmodel "$1" --size-mb "$2" --seed "$3" --version "$4" --changed 0.1
	else
		test-genmodel "$1" --size-mb "$2" --seed "$3"
	fi
}

# The remote store: a directory, S3 or WebDAV (lib-backend.sh).  A
# script whose tests use only the store_* helpers and store_url says so
# with LEPTON_TEST_BACKEND_AWARE=t before sourcing this file; the others
# always get a directory store, whatever LEPTON_TEST_BACKEND says.
test -n "$LEPTON_TEST_BACKEND_AWARE" || LEPTON_TEST_BACKEND=dir
. "$TEST_DIRECTORY"/lib-backend.sh
start_backend

# remote_recipe_key OID: the key of the recipe of OID in a store.
remote_recipe_key () {
	_rrk_oid=${1#sha256:}
	echo "recipes/$(printf %s "$_rrk_oid" | cut -c1-2)/$(printf %s "$_rrk_oid" | cut -c3-)"
}

# remote_recipe_path STORE OID: where directory store STORE keeps the
# recipe of OID.
remote_recipe_path () {
	echo "$1/$(remote_recipe_key "$2")"
}

# assert_remote_has [-s NAME] OID / assert_remote_lacks [-s NAME] OID: the
# store has (has not) the recipe of OID.  (Also "STORE-DIRECTORY OID".)
assert_remote_has () {
	store_opt_ "$@"
	shift $_so_shift
	if test $# = 2
	then
		store_legacy_ "$1"
		shift
	fi
	test $# = 1 || BUG "assert_remote_has [-s NAME] OID"
	lepton_check_oid_ "$1"
	_arh=$(remote_recipe_key "$1")
	store_exists -s "$_so_name" "$_arh" && return 0
	echo >&4 "oid $1 is not in the remote store '$_so_name': no '$_arh'"
	return 1
}

assert_remote_lacks () {
	store_opt_ "$@"
	shift $_so_shift
	if test $# = 2
	then
		store_legacy_ "$1"
		shift
	fi
	test $# = 1 || BUG "assert_remote_lacks [-s NAME] OID"
	lepton_check_oid_ "$1"
	_arl=$(remote_recipe_key "$1")
	store_exists -s "$_so_name" "$_arl" || return 0
	echo >&4 "oid $1 is in the remote store '$_so_name' and should not be: '$_arl'"
	return 1
}

# assert_store_marker [-s NAME]: the store is a lepton store of format 1.
# (Also "STORE-DIRECTORY".)
assert_store_marker () {
	store_opt_ "$@"
	shift $_so_shift
	test $# = 0 || store_legacy_ "$1"
	_asm_name=$_so_name
	store_cat -s "$_asm_name" lepton-store >"$TEST_TMP/marker.actual" 2>/dev/null || {
		echo >&4 "store '$_asm_name' has no lepton-store marker"
		return 1
	}
	echo "lepton store 1" >"$TEST_TMP/marker.expect" &&
	test_cmp "$TEST_TMP/marker.expect" "$TEST_TMP/marker.actual"
}

# git ls-remote runs from a scratch repository of its own, so the
# assertions below work wherever the test is (the helper wants a
# repository; t5801 tests ls-remote outside one on its own).
LS_REPO="$TEST_META/ls-repo"
git init -q "$LS_REPO" || exit 1

ls_remote () {
	git -C "$LS_REPO" ls-remote "$@"
}

# A build without the backend of LEPTON_TEST_BACKEND (it says it supports
# other stores) skips the script at once, rather than failing every test
# (t5800 tests the servers themselves and goes on; so does any script
# with LEPTON_TEST_FORCE_BACKEND=1, to see what fails).
if test "$LEPTON_TEST_BACKEND" != dir && test -z "$LEPTON_TEST_BACKEND_INFRA" &&
	test -z "$LEPTON_TEST_FORCE_BACKEND"
then
	_probe_timeout=
	command -v timeout >/dev/null && _probe_timeout="timeout 60"
	$_probe_timeout git -C "$LS_REPO" ls-remote "lepton::$STORE_URL" \
		</dev/null >/dev/null 2>"$TEST_TMP/backend-probe"
	if grep -q -e "this git-lepton supports" -e "not in this build" "$TEST_TMP/backend-probe"
	then
		backend_cleanup_
		say "1..0 # SKIP this build has no $LEPTON_TEST_BACKEND backend: $(head -n 1 "$TEST_TMP/backend-probe")"
		cd "$TEST_DIRECTORY" && rm -rf "$TRASH_DIRECTORY"
		exit 0
	fi
fi

# remote_refs URL OUT: "oid ref" lines of what the remote lists, sorted
# (through git ls-remote, so through the helper's list).
remote_refs () {
	test $# = 2 || BUG "remote_refs URL OUT"
	ls_remote "$1" >"$TEST_TMP/ls-remote" &&
	sed -e 's/	/ /' "$TEST_TMP/ls-remote" | grep -v '\^{}$' | LC_ALL=C sort >"$2"
}

# assert_remote_ref URL REF OID: the remote lists REF at OID ("" for: not
# listed at all).
assert_remote_ref () {
	test $# = 3 || BUG "assert_remote_ref URL REF OID"
	ls_remote "$1" >"$TEST_TMP/ls-remote" || return 1
	_arr_got=$(awk -v ref="$2" '$2 == ref { print $1 }' "$TEST_TMP/ls-remote")
	test "$_arr_got" = "$3" && return 0
	echo >&4 "remote '$1' has $2 at '${_arr_got:-nothing}', expected '${3:-nothing}'"
	sed -e 's/^/| /' "$TEST_TMP/ls-remote" >&4
	return 1
}

# assert_push_rejected ERRFILE: git's refusal of a non-fast-forward.
assert_push_rejected () {
	test_grep "\[rejected\]" "$1" &&
	test_grep -e "fetch first" -e "non-fast-forward" "$1"
}

# corrupt_byte FILE OFFSET: flip every bit of one byte in place.
corrupt_byte () {
	chmod u+w "$1" &&
	perl -e '
		my ($f, $off) = @ARGV;
		open(my $fh, "+<", $f) or die "$f: $!";
		binmode $fh;
		seek($fh, $off, 0) or die;
		read($fh, my $b, 1) == 1 or die "$f: short";
		seek($fh, $off, 0) or die;
		print $fh chr(ord($b) ^ 0xff);
		close($fh) or die;' "$1" "$2"
}

# corrupt_remote_content STORE: damage one byte in the middle of every
# pack of model content in STORE.
corrupt_remote_content () {
	_crc_n=0
	for _crc_pack in "$1"/packs/*.pack
	do
		test -f "$_crc_pack" || continue
		corrupt_byte "$_crc_pack" $(( $(file_size "$_crc_pack") / 2 )) || return 1
		_crc_n=$(($_crc_n + 1))
	done
	test $_crc_n -gt 0 && return 0
	echo >&4 "no pack in '$1/packs' to corrupt"
	return 1
}

# helper_talk URL <COMMANDS >OUT: run the helper as git would, from the
# current repository, for the remote named "origin".
helper_talk () {
	git remote-lepton origin "$1"
}

# assert_oid_content REV:PATH FILE: the smudged content of a committed
# file (git cat-file --filters runs the filter, as checkout would) is
# FILE's bytes.
assert_oid_content () {
	git cat-file --filters "$1" >"$TEST_TMP/content" || {
		echo >&4 "cannot read the content of '$1'"
		return 1
	}
	test_cmp_bin "$2" "$TEST_TMP/content"
}

# assert_local_store_sound: git lepton fsck --full of the current
# repository is clean (content that only the remote holds is not an
# error).
assert_local_store_sound () {
	git lepton fsck --full >"$TEST_TMP/fsck.out" 2>&1 && return 0
	echo >&4 "git lepton fsck --full failed:"
	cat "$TEST_TMP/fsck.out" >&4
	return 1
}
