# Domain helpers and assertions for git-lepton's tests; test-lib.sh sources
# this file.  Assertions print what is wrong on fd 4 (the test's stderr)
# and return non-zero, so they chain with "&&".

LEPTON_VERSION_LINE='version https://git-lfs.github.com/spec/v1'
LEPTON_ATTR_LINE_SUFFIX='filter=lepton diff=lepton merge=lepton -text'
LEPTON_CHUNK_SIZE=4194304

# make_file NAME SIZE [SEED]: exactly SIZE deterministic pseudo-random bytes
# (AES-128-CTR of zeros under a key derived from SEED; about 1 GB/s).
# SIZE is a number of bytes, or a number with K, M or G (powers of 1024).
make_file () {
	test $# -ge 2 || BUG "make_file NAME SIZE [SEED]"
	_mf_size=$(lepton_bytes_ "$2") || BUG "make_file: bad size '$2'"
	_mf_key=$(printf 'lepton-test-seed:%s' "${3:-$1}" | sha256sum | cut -c1-32)
	head -c "$_mf_size" /dev/zero |
	openssl enc -aes-128-ctr -K "$_mf_key" -iv 00000000000000000000000000000000 >"$1" &&
	test "$(file_size "$1")" = "$_mf_size"
}

lepton_bytes_ () {
	case "$1" in
	*[!0-9KMG]*|'') return 1 ;;
	*K) echo $(( ${1%K} * 1024 )) ;;
	*M) echo $(( ${1%M} * 1048576 )) ;;
	*G) echo $(( ${1%G} * 1073741824 )) ;;
	*) echo "$1" ;;
	esac
}

file_size () {
	stat -c %s "$1"
}

file_sha256 () {
	sha256sum <"$1" | cut -d' ' -f1
}

# make_pointer FILE: the canonical pointer of FILE, computed in shell.
make_pointer () {
	printf '%s\noid sha256:%s\nsize %s\n' "$LEPTON_VERSION_LINE" \
		"$(file_sha256 "$1")" "$(file_size "$1")"
}

# setup_repo [DIR]: a repository with git-lepton installed locally and
# '*.bin' and '*.safetensors' tracked, .gitattributes committed.
setup_repo () {
	_sr_dir=${1:-.}
	git init -q "$_sr_dir" &&
	(
		cd "$_sr_dir" &&
		git lepton install --local &&
		git lepton track '*.bin' '*.safetensors' &&
		test_path_is_file .gitattributes &&
		git add .gitattributes &&
		git commit -q -m 'track models'
	)
}

# lepton_check_pointer_file_ FILE WHAT: FILE holds a canonical pointer.
lepton_check_pointer_file_ () {
	_cp_file=$1
	_cp_what=$2
	_cp_bytes=$(file_size "$_cp_file")
	_cp_bad=
	if test "$_cp_bytes" -ge 1024
	then
		_cp_bad="$_cp_bytes bytes, a pointer is under 1024"
	elif test "$(wc -l <"$_cp_file" | tr -d ' ')" != 3
	then
		_cp_bad="not exactly 3 lines"
	elif test "$(tail -c 1 "$_cp_file" | od -An -c | tr -d ' ')" != '\n'
	then
		_cp_bad="does not end in a newline"
	elif test "$(sed -n 1p "$_cp_file")" != "$LEPTON_VERSION_LINE"
	then
		_cp_bad="first line is not '$LEPTON_VERSION_LINE'"
	elif ! sed -n 2p "$_cp_file" | grep -q '^oid sha256:[0-9a-f]\{64\}$'
	then
		_cp_bad="second line is not 'oid sha256:<64 lowercase hex>'"
	elif ! sed -n 3p "$_cp_file" | grep -q '^size \(0\|[1-9][0-9]*\)$'
	then
		_cp_bad="third line is not 'size <n>'"
	fi
	test -z "$_cp_bad" && return 0
	echo >&4 "$_cp_what is not a canonical pointer: $_cp_bad"
	od -c "$_cp_file" | head -n 20 >&4
	return 1
}

lepton_blob_of_ () {
	# the staged blob of PATH into FILE
	git cat-file blob ":$1" >"$2" || {
		echo >&4 "'$1' is not in the index"
		return 1
	}
}

# assert_pointer PATH: the blob staged for PATH is a canonical pointer.
assert_pointer () {
	test $# = 1 || BUG "assert_pointer PATH"
	lepton_blob_of_ "$1" "$TEST_TMP/pointer" &&
	lepton_check_pointer_file_ "$TEST_TMP/pointer" "the blob of '$1'"
}

# assert_pointer_size PATH N
assert_pointer_size () {
	test $# = 2 || BUG "assert_pointer_size PATH N"
	assert_pointer "$1" &&
	_aps_size=$(sed -n 's/^size //p' "$TEST_TMP/pointer") &&
	if test "$_aps_size" != "$2"
	then
		echo >&4 "pointer of '$1' says size $_aps_size, expected $2"
		return 1
	fi
}

# assert_pointer_of PATH FILE: the staged pointer of PATH is the one of the
# bytes in FILE (oid and size computed with sha256sum and stat).
assert_pointer_of () {
	test $# = 2 || BUG "assert_pointer_of PATH FILE"
	assert_pointer "$1" &&
	make_pointer "$2" >"$TEST_TMP/pointer.expect" &&
	test_cmp "$TEST_TMP/pointer.expect" "$TEST_TMP/pointer"
}

# pointer_oid PATH: the oid (64 hex) in the pointer staged for PATH.
pointer_oid () {
	test $# = 1 || BUG "pointer_oid PATH"
	git cat-file blob ":$1" | sed -n 's/^oid sha256:\([0-9a-f]\{64\}\)$/\1/p'
}

lepton_store_dir () {
	echo "$(git rev-parse --path-format=absolute --git-common-dir)/lepton"
}

# lepton_recipe_path OID: where the store keeps the file's recipe.
lepton_recipe_path () {
	_rp_oid=${1#sha256:}
	echo "$(lepton_store_dir)/recipes/$(printf %s "$_rp_oid" | cut -c1-2)/$(printf %s "$_rp_oid" | cut -c3-)"
}

lepton_check_oid_ () {
	_co=${1#sha256:}
	case "$_co" in
	*[!0-9a-f]*|'') BUG "'$1' is not an oid" ;;
	esac
	test ${#_co} = 64 || BUG "'$1' is not an oid"
}

# assert_in_store OID: the file's recipe is in the local store.
assert_in_store () {
	test $# = 1 || BUG "assert_in_store OID"
	lepton_check_oid_ "$1"
	_ais_path=$(lepton_recipe_path "$1") || return 1
	test -f "$_ais_path" && return 0
	echo >&4 "oid $1 is not in the store: no '$_ais_path'"
	return 1
}

assert_not_in_store () {
	test $# = 1 || BUG "assert_not_in_store OID"
	lepton_check_oid_ "$1"
	_ans_path=$(lepton_recipe_path "$1") || return 1
	test -e "$_ans_path" || return 0
	echo >&4 "oid $1 is in the store and should not be: '$_ans_path'"
	return 1
}

# ---- pkt-line, for talking to `git-lepton filter-process` -------------------

# packet_txt TEXT: one text packet (TEXT plus "\n").
packet_txt () {
	printf '%04x%s\n' $((${#1} + 5)) "$1"
}

packet_flush () {
	printf '0000'
}

# packet_file FILE: FILE's bytes as data packets (no flush).
packet_file () {
	perl -e '
		binmode STDIN; binmode STDOUT;
		while ((my $n = read(STDIN, my $buf, 65516)) > 0) {
			printf "%04x", $n + 4;
			print $buf;
		}' <"$1"
}

# packet_decode <IN: one line per packet, "0000" for a flush; text packets
# lose their final "\n".  "EOF" at a clean end; "ERROR ..." on a bad
# stream.  With a FILE argument, the payload of the data packets after
# the second flush that follows a "status=success" (the content of a
# filter response) is written to FILE as well.
packet_decode () {
	perl -e '
		binmode STDIN; binmode STDOUT;
		my $content = $ARGV[0];
		my $out;
		if (defined $content) { open($out, ">", $content) or die; binmode $out; }
		my $state = 0;  # 1 after status=success, 2 in content
		while (1) {
			my $n = read(STDIN, my $hdr, 4);
			if (!$n) { print "EOF\n"; last; }
			if ($n < 4 || $hdr !~ /^[0-9a-f]{4}$/) { print "ERROR bad header\n"; exit 1; }
			my $len = hex($hdr);
			if ($len == 0) {
				print "0000\n";
				if ($state == 1) { $state = 2; } elsif ($state == 2) { $state = 3; } elsif ($state == 3) { $state = 0; }
				next;
			}
			if ($len < 4) { print "ERROR bad length $len\n"; exit 1; }
			$len -= 4;
			my $got = read(STDIN, my $data, $len);
			if ($got != $len) { print "ERROR truncated packet\n"; exit 1; }
			if ($state == 2) {
				print $out $data if $out;
				print "DATA $len\n";
				next;
			}
			$state = 1 if $data eq "status=success\n" && $state == 0;
			$data =~ s/\n$//;
			print "$data\n";
		}' "$@"
}

# assert_clean_status: no tracked file is modified or staged (untracked
# scratch files of the test do not count).
assert_clean_status () {
	git status --porcelain --untracked-files=no >"$TEST_TMP/status" &&
	if test -s "$TEST_TMP/status"
	then
		echo >&4 "git status is not clean:"
		cat "$TEST_TMP/status" >&4
		return 1
	fi
}
