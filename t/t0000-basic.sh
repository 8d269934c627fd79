#!/bin/sh

test_description='the test library itself

Checks that the test library detects failures, and that the helpers of
lib-lepton.sh compute what they claim, so that the other scripts can trust
them.  Needs no git-lepton binary.'

TEST_NO_LEPTON=t
. "$(dirname "$0")"/test-lib.sh

test_expect_success 'success is reported' '
	:
'

test_expect_success 'environment is sandboxed' '
	test "$HOME" = "$TRASH_DIRECTORY/.test/home" &&
	test "$(git config --global init.defaultBranch)" = main &&
	test "$GIT_CONFIG_NOSYSTEM" = 1 &&
	test "$LC_ALL" = C &&
	test "$(pwd)" = "$TRASH_DIRECTORY" &&
	case "$PATH" in
	"$LEPTON_BUILD_DIR:$TEST_DIRECTORY/helper:"*) : ;;
	*) false ;;
	esac &&
	test_must_fail git rev-parse --git-dir
'

test_expect_success 'test_must_fail accepts an orderly failure only' '
	test_must_fail false &&
	test_must_fail sh -c "exit 128" &&
	! test_must_fail true 2>/dev/null &&
	! test_must_fail sh -c "kill -9 \$\$" 2>/dev/null &&
	! test_must_fail sh -c "kill -SEGV \$\$" 2>/dev/null &&
	test_must_fail ok=signal sh -c "kill -9 \$\$" &&
	test_must_fail ok=success true &&
	! test_must_fail no-such-command-here 2>/dev/null
'

test_expect_success 'test_expect_code' '
	test_expect_code 129 sh -c "exit 129" &&
	! test_expect_code 1 true 2>/dev/null
'

test_expect_success 'test_cmp, test_line_count, test_grep, paths' '
	printf "a\nb\n" >one &&
	printf "a\nb\n" >two &&
	printf "a\nc\n" >three &&
	test_cmp one two &&
	! test_cmp one three >/dev/null 2>&1 &&
	test_line_count = 2 one &&
	! test_line_count = 3 one 2>/dev/null &&
	test_grep "^b$" one &&
	test_grep ! "^c$" one &&
	! test_grep "^c$" one 2>/dev/null &&
	test_path_is_file one &&
	test_path_is_missing nothing &&
	! test_path_is_missing one 2>/dev/null &&
	! test_path_is_file nothing 2>/dev/null &&
	: >empty &&
	test_must_be_empty empty &&
	! test_must_be_empty one 2>/dev/null
'

test_set_prereq HAVEIT
test_expect_success HAVEIT 'a satisfied prerequisite runs the test' '
	haveit=yes
'

test_expect_success !HAVEIT 'a negated prerequisite skips it' '
	false
'

test_expect_success DONTHAVEIT,HAVEIT 'an unsatisfied prerequisite skips it' '
	false
'

test_expect_success 'prerequisites' '
	test "$haveit" = yes &&
	test_have_prereq HAVEIT &&
	! test_have_prereq DONTHAVEIT &&
	test_have_prereq !DONTHAVEIT
'

test_expect_success 'test_when_finished runs, pass or fail' '
	test_when_finished "rm -f cleanme" &&
	: >cleanme
'

test_expect_success 'cleanup ran' '
	test_path_is_missing cleanme
'

test_expect_success 'make_file is exact and deterministic' '
	make_file a 0 &&
	make_file b 1 &&
	make_file c 4194305 s1 &&
	make_file d 4194305 s1 &&
	make_file e 4194305 s2 &&
	make_file f 1M &&
	test "$(file_size a)" = 0 &&
	test "$(file_size b)" = 1 &&
	test "$(file_size c)" = 4194305 &&
	test "$(file_size f)" = 1048576 &&
	test_cmp_bin c d &&
	! cmp -s c e
'

test_expect_success 'make_pointer builds a canonical pointer' '
	make_file m 1000 &&
	make_pointer m >ptr &&
	test_line_count = 3 ptr &&
	sed -n 1p ptr >actual &&
	echo "version https://git-lfs.github.com/spec/v1" >expect &&
	test_cmp expect actual &&
	grep -x "oid sha256:$(sha256sum <m | cut -c1-64)" ptr &&
	grep -x "size 1000" ptr &&
	lepton_check_pointer_file_ ptr ptr
'

test_expect_success 'the pointer check refuses what is not canonical' '
	make_pointer m >good &&
	sed "s/\$/\r/" good >crlf &&
	! lepton_check_pointer_file_ crlf crlf 2>/dev/null &&
	sed "s/^oid sha256:\(.*\)/oid sha256:\1\1/" good >long &&
	! lepton_check_pointer_file_ long long 2>/dev/null &&
	sed "3d" good >nosize &&
	! lepton_check_pointer_file_ nosize nosize 2>/dev/null &&
	sed "s/^size /size 0/" good >zeros &&
	! lepton_check_pointer_file_ zeros zeros 2>/dev/null &&
	tr a-f A-F <good | sed "1s|.*|$LEPTON_VERSION_LINE|" >upper &&
	! lepton_check_pointer_file_ upper upper 2>/dev/null &&
	head -c -1 good >nonl &&
	! lepton_check_pointer_file_ nonl nonl 2>/dev/null
'

test_expect_success 'packet_txt and packet_decode' '
	{
		packet_txt git-filter-client &&
		packet_txt version=2 &&
		packet_flush
	} >pkts &&
	printf "0016git-filter-client\n000eversion=2\n0000" >expect &&
	test_cmp_bin expect pkts &&
	packet_decode <pkts >actual &&
	printf "git-filter-client\nversion=2\n0000\nEOF\n" >expect &&
	test_cmp expect actual &&
	printf "00" >trunc &&
	test_must_fail packet_decode <trunc >actual &&
	grep ERROR actual &&
	make_file big 70000 &&
	{
		packet_txt status=success &&
		packet_flush &&
		packet_file big &&
		packet_flush &&
		packet_flush
	} >resp &&
	packet_decode content <resp >actual &&
	test_cmp_bin big content &&
	test_grep "^DATA 65516$" actual &&
	test_grep "^DATA 4484$" actual
'

test_expect_success 'a failing sub-test is reported, its trash kept' '
	write_script sub.sh <<-\EOF &&
	test_description=sub
	. "$TEST_DIRECTORY"/test-lib.sh
	test_expect_success "passes" "true"
	test_expect_success "fails" "false"
	test_expect_failure "known bug" "false"
	test_done
	EOF
	test_must_fail env TEST_NO_LEPTON=t ./sub.sh --root=sub >out 2>err &&
	cat >expect <<-\EOF &&
	ok 1 - passes
	not ok 2 - fails
	not ok 3 - known bug # TODO known breakage
	1..3
	EOF
	grep -v "^#" out >actual &&
	test_cmp expect actual &&
	test_path_is_dir "sub/trash directory.sub"
'

test_expect_success 'a passing sub-test removes its trash' '
	write_script pass.sh <<-\EOF &&
	test_description=pass
	. "$TEST_DIRECTORY"/test-lib.sh
	test_expect_success "passes" "true"
	test_done
	EOF
	env TEST_NO_LEPTON=t ./pass.sh --root=sub >out 2>err &&
	test_path_is_missing "sub/trash directory.pass"
'

test_expect_success 'a hung test is killed by the watchdog' '
	write_script hang.sh <<-\EOF &&
	test_description=hang
	GIT_TEST_TIMEOUT=2
	. "$TEST_DIRECTORY"/test-lib.sh
	test_expect_success "hangs" "sleep 1000 | cat"
	test_expect_success "next one runs" "true"
	test_done
	EOF
	start=$(date +%s) &&
	test_must_fail env TEST_NO_LEPTON=t ./hang.sh --root=sub >out 2>err &&
	test $(( $(date +%s) - start )) -lt 60 &&
	test_grep "^not ok 1 - hangs" out &&
	test_grep "^ok 2 - next one runs" out &&
	test_grep "timed out" err
'

test_expect_success 'a broken &&-chain is a bug in the script' '
	write_script chain.sh <<-\EOF &&
	test_description=chain
	. "$TEST_DIRECTORY"/test-lib.sh
	test_expect_success "broken" "
		true
		true
	"
	test_done
	EOF
	test_must_fail env TEST_NO_LEPTON=t ./chain.sh --root=sub >out 2>err &&
	test_grep "broken &&-chain" err
'

test_done
