#!/bin/sh

test_description='the long-running filter (filter.lepton.process)

git starts one git-lepton filter-process for many files; the pkt-line
handshake and commands, written by hand; garbage on its input is an
orderly error, never a crash or a hang.'

. "$(dirname "$0")"/test-lib.sh

# run_filter_process IN OUT ERR: feed IN to `git-lepton filter-process`,
# at most 60 seconds; sets $code
run_filter_process () {
	timeout 60 git-lepton filter-process <"$1" >"$2" 2>"$3"
	code=$?
	return 0
}

# orderly_failure: $code is an error exit, not success, a signal or a hang
orderly_failure () {
	if test "$code" = 0 || test "$code" -ge 124
	then
		echo >&4 "filter-process exited with $code; wanted an error exit (1..123)"
		return 1
	fi
}

# refused_with_a_message IN: the filter, fed IN, fails in order and says why
refused_with_a_message () {
	run_filter_process "$1" out err &&
	orderly_failure &&
	test -s err
}

handshake () {
	packet_txt git-filter-client &&
	packet_txt version=2 &&
	packet_flush &&
	packet_txt capability=clean &&
	packet_txt capability=smudge &&
	packet_flush
}

test_expect_success 'setup' '
	setup_repo &&
	mkdir -p .test-data &&
	echo "/.test-data/" >>.git/info/exclude &&
	make_file a.bin 100000 a &&
	make_file b.bin 5000000 b &&
	make_file c.safetensors 1 c &&
	make_file d.bin 0 d &&
	cp a.bin b.bin c.safetensors d.bin .test-data/
'

test_expect_success 'git add of several files starts one filter process' '
	GIT_TRACE="$TRASH_DIRECTORY/.test-data/trace-add" \
		git add a.bin b.bin c.safetensors d.bin &&
	grep "run_command:.*git-lepton filter-process" .test-data/trace-add >started &&
	test_line_count = 1 started &&
	test_grep ! "run_command:.*git-lepton clean" .test-data/trace-add &&
	assert_pointer_of a.bin a.bin &&
	assert_pointer_of b.bin b.bin &&
	assert_pointer_of c.safetensors c.safetensors &&
	git commit -q -m models
'

test_expect_success 'git checkout of several files starts one filter process' '
	rm a.bin b.bin c.safetensors d.bin &&
	GIT_TRACE="$TRASH_DIRECTORY/.test-data/trace-checkout" \
		git checkout -- . &&
	grep "run_command:.*git-lepton filter-process" .test-data/trace-checkout >started &&
	test_line_count = 1 started &&
	for f in a.bin b.bin c.safetensors d.bin
	do
		test_cmp_bin ".test-data/$f" "$f" || return 1
	done &&
	assert_clean_status
'

test_expect_success 'handshake' '
	handshake >in &&
	run_filter_process in out err &&
	test "$code" = 0 &&
	packet_decode <out >decoded &&
	sed -n 1,3p decoded >actual &&
	printf "git-filter-server\nversion=2\n0000\n" >expect &&
	test_cmp expect actual &&
	sed -n "4,\$p" decoded >rest &&
	grep "^capability=" rest | sort >actual &&
	printf "capability=clean\ncapability=smudge\n" >expect &&
	test_cmp expect actual &&
	tail -n 2 decoded >actual &&
	printf "0000\nEOF\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'the server answers only the capabilities asked for' '
	{
		packet_txt git-filter-client &&
		packet_txt version=2 &&
		packet_flush &&
		packet_txt capability=clean &&
		packet_flush
	} >in &&
	run_filter_process in out err &&
	test "$code" = 0 &&
	packet_decode <out >decoded &&
	grep "^capability=" decoded >actual &&
	echo capability=clean >expect &&
	test_cmp expect actual
'

test_expect_success 'clean over the protocol' '
	make_file .test-data/p 200000 p &&
	{
		handshake &&
		packet_txt command=clean &&
		packet_txt pathname=p.bin &&
		packet_flush &&
		packet_file .test-data/p &&
		packet_flush
	} >in &&
	run_filter_process in out err &&
	test "$code" = 0 &&
	packet_decode content <out >decoded &&
	test_grep "^status=success$" decoded &&
	test_grep ! "^status=error" decoded &&
	make_pointer .test-data/p >expect &&
	test_cmp_bin expect content &&
	assert_in_store "$(file_sha256 .test-data/p)"
'

test_expect_success 'smudge over the protocol' '
	make_pointer .test-data/p >ptr &&
	{
		handshake &&
		packet_txt command=smudge &&
		packet_txt pathname=p.bin &&
		packet_flush &&
		packet_file ptr &&
		packet_flush
	} >in &&
	run_filter_process in out err &&
	test "$code" = 0 &&
	packet_decode content <out >decoded &&
	test_grep "^status=success$" decoded &&
	test_cmp_bin .test-data/p content
'

test_expect_success 'a missing object is an error for that file only' '
	make_file .test-data/absent 1000 absent &&
	make_pointer .test-data/absent >absent.ptr &&
	make_pointer .test-data/p >ptr &&
	{
		handshake &&
		packet_txt command=smudge &&
		packet_txt pathname=absent.bin &&
		packet_flush &&
		packet_file absent.ptr &&
		packet_flush &&
		packet_txt command=smudge &&
		packet_txt pathname=p.bin &&
		packet_flush &&
		packet_file ptr &&
		packet_flush
	} >in &&
	run_filter_process in out err &&
	test "$code" = 0 &&
	packet_decode content <out >decoded &&
	test_grep "^status=error$" decoded &&
	test_grep "^status=success$" decoded &&
	test_cmp_bin .test-data/p content &&
	test_grep "$(file_sha256 .test-data/absent)" err
'

test_expect_success 'an empty file over the protocol' '
	: >empty &&
	{
		handshake &&
		packet_txt command=clean &&
		packet_txt pathname=e.bin &&
		packet_flush &&
		packet_flush
	} >in &&
	run_filter_process in out err &&
	test "$code" = 0 &&
	packet_decode content <out >decoded &&
	test_grep "^status=success$" decoded &&
	test_must_be_empty content
'

test_expect_success 'garbage instead of a packet' '
	printf "zzzz" >in &&
	refused_with_a_message in
'

test_expect_success 'a truncated packet' '
	printf "0016git-fil" >in &&
	refused_with_a_message in
'

test_expect_success 'a packet length of 1 to 3' '
	printf "0002" >in &&
	refused_with_a_message in
'

test_expect_success 'the wrong welcome' '
	{
		packet_txt git-filter-server &&
		packet_txt version=2 &&
		packet_flush
	} >in &&
	refused_with_a_message in
'

test_expect_success 'an unsupported version' '
	{
		packet_txt git-filter-client &&
		packet_txt version=3 &&
		packet_flush
	} >in &&
	refused_with_a_message in
'

test_expect_success 'input ends in the middle of the content' '
	make_file .test-data/q 300000 q &&
	{
		handshake &&
		packet_txt command=clean &&
		packet_txt pathname=q.bin &&
		packet_flush &&
		packet_file .test-data/q | head -c 100000
	} >in &&
	refused_with_a_message in &&
	assert_not_in_store "$(file_sha256 .test-data/q)"
'

test_expect_success 'a huge length header is refused without a crash' '
	{
		handshake &&
		packet_txt command=clean &&
		packet_txt pathname=h.bin &&
		packet_flush &&
		printf "ffff"
	} >in &&
	run_filter_process in out err &&
	orderly_failure
'

test_done
