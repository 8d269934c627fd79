#!/bin/sh

test_description='the test backends: servers, store inspection, the fault proxy

What the remote-store tests stand on: lib-backend.sh starts the store of
LEPTON_TEST_BACKEND (a directory, moto_server for s3, nginx WebDAV for
webdav), its store_* helpers see the objects a client writes, the store
can vanish and come back, and t/helper/fault-proxy forwards requests and
injects the faults its rules ask for.  t5810 and t5820 run this script
on S3 and WebDAV.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
LEPTON_TEST_BACKEND_INFRA=t
. "$TEST_DIRECTORY"/lib-remote.sh

# http_url [-s NAME] KEY: the HTTP URL of KEY in a store through the
# fault proxy (s3 and webdav).
http_url () {
	store_opt_ "$@"
	shift $_so_shift
	case "$LEPTON_TEST_BACKEND" in
	s3) echo "http://127.0.0.1:$FAULT_PROXY_PORT/$BACKEND_BUCKET/$_so_name/$1" ;;
	webdav) echo "http://127.0.0.1:$FAULT_PROXY_PORT/$_so_name/$1" ;;
	esac
}

# get URL OUT [CURL-ARGS]: a signed (s3) GET; the status code on stdout.
get () {
	_g_url=$1
	_g_out=$2
	shift 2
	if test "$LEPTON_TEST_BACKEND" = s3
	then
		s3_curl_ -o "$_g_out" -w "%{http_code}" "$@" "$_g_url"
	else
		curl -s -S --max-time 60 -o "$_g_out" -w "%{http_code}" "$@" "$_g_url"
	fi
}

test_expect_success 'STORE_URL names the store of the backend' '
	case "$LEPTON_TEST_BACKEND" in
	dir) test "$STORE_URL" = "$TRASH_DIRECTORY/store" ;;
	s3) test "$STORE_URL" = "s3://lepton-test/store" &&
		test "$AWS_ENDPOINT_URL" = "http://127.0.0.1:$BACKEND_PORT" &&
		test "$AWS_ACCESS_KEY_ID" = testing ;;
	webdav) test "$STORE_URL" = "http://127.0.0.1:$BACKEND_PORT/store" ;;
	esac &&
	test "$(store_url other)" = "${STORE_URL%/store}/other"
'

test_expect_success 'put, cat, exists and ls see the same objects' '
	make_file obj1 1M one &&
	make_file obj2 3K two &&
	echo "lepton store 1" >marker &&
	store_put lepton-store marker &&
	store_put packs/pack-a.pack obj1 &&
	store_put recipes/ab/cdef obj2 &&
	store_put git/refs obj2 &&
	store_cat packs/pack-a.pack >out &&
	test_cmp_bin obj1 out &&
	store_exists recipes/ab/cdef &&
	! store_exists recipes/ab/nope &&
	! store_cat recipes/ab/nope >out 2>/dev/null &&
	store_ls >actual &&
	printf "%s\n" git/refs lepton-store packs/pack-a.pack recipes/ab/cdef >expect &&
	test_cmp expect actual &&
	store_ls recipes >actual &&
	echo recipes/ab/cdef >expect &&
	test_cmp expect actual &&
	store_ls nothing-here >actual &&
	test_must_be_empty actual &&
	assert_store_marker
'

test_expect_success 'assert_remote_has and assert_remote_lacks look at recipes' '
	oid=ab$(printf "%062d" 0) &&
	store_put "$(remote_recipe_key $oid)" obj2 &&
	assert_remote_has $oid &&
	assert_remote_lacks cd$(printf "%062d" 0) &&
	! assert_remote_lacks $oid 4>/dev/null &&
	store_rm "$(remote_recipe_key $oid)" &&
	assert_remote_lacks $oid
'

test_expect_success 'stores are apart: -s NAME' '
	store_is_missing -s other &&
	store_put -s other lepton-store marker &&
	assert_store_marker -s other &&
	! store_exists -s other packs/pack-a.pack &&
	store_ls -s other >actual &&
	echo lepton-store >expect &&
	test_cmp expect actual &&
	! store_is_missing -s other 4>/dev/null
'

test_expect_success 'store_content_bytes counts packs and recipes only' '
	test "$(store_content_bytes)" = $((1048576 + 3072))
'

test_expect_success 'a snapshot changes with any object, and only then' '
	store_snapshot snap1 &&
	store_snapshot snap2 &&
	test_cmp snap1 snap2 &&
	echo changed >changed &&
	store_put git/refs changed &&
	store_snapshot snap3 &&
	! cmp -s snap1 snap3 &&
	store_put git/refs obj2 &&
	store_rm packs/pack-a.pack &&
	! store_exists packs/pack-a.pack &&
	store_snapshot snap4 &&
	! cmp -s snap1 snap4 &&
	store_put packs/pack-a.pack obj1 &&
	store_rm packs/never-there &&
	store_snapshot snap5 &&
	test_cmp snap1 snap5
'

test_expect_success 'store_copy copies every object' '
	store_copy store copy &&
	store_ls >expect &&
	store_ls -s copy >actual &&
	test_cmp expect actual &&
	store_cat -s copy packs/pack-a.pack >out &&
	test_cmp_bin obj1 out
'

# test-backend goes through git-lepton/backend.h: it runs where this
# build has the backend of LEPTON_TEST_BACKEND.
test_lazy_prereq BACKEND_BUILT '
	test-backend "$STORE_URL" exists lepton-store
	case $? in 0|2) true ;; *) false ;; esac
'

test_expect_success BACKEND_BUILT 'test-backend and the store_* helpers agree' '
	test-backend "$STORE_URL" get packs/pack-a.pack >out &&
	test_cmp_bin obj1 out &&
	test-backend "$STORE_URL" exists git/refs &&
	test_expect_code 2 test-backend "$STORE_URL" exists git/nope &&
	test_expect_code 2 test-backend "$STORE_URL" get git/nope >out 2>err &&
	test_grep "git/nope" err &&
	test-backend "$STORE_URL" list recipes/ab >actual &&
	echo cdef >expect &&
	test_cmp expect actual &&
	test-backend "$STORE_URL" put packs/tb.pack obj2 &&
	store_cat packs/tb.pack >out &&
	test_cmp_bin obj2 out &&
	test-backend "$STORE_URL" delete packs/tb.pack &&
	! store_exists packs/tb.pack &&
	etag=$(test-backend "$STORE_URL" etag git/refs) &&
	test -n "$etag" &&
	test_expect_code 3 test-backend "$STORE_URL" put-if git/refs obj1 "" 2>err &&
	test-backend "$STORE_URL" put-if git/refs obj1 "$etag" &&
	test_expect_code 3 test-backend "$STORE_URL" put-if git/refs obj2 "$etag" 2>err &&
	store_cat git/refs >out &&
	test_cmp_bin obj1 out &&
	store_put git/refs obj2
'

test_expect_success BACKEND_BUILT 'keys that leave the store are refused by every operation' '
	for key in ../outside packs/../../outside /packs/x packs//x packs/./x packs/
	do
		test_must_fail test-backend "$STORE_URL" get "$key" >out 2>err &&
		test_grep "is not a key inside the store" err &&
		test_must_fail test-backend "$STORE_URL" put "$key" obj1 2>err &&
		test_grep "is not a key inside the store" err &&
		test_must_fail test-backend "$STORE_URL" delete "$key" 2>err &&
		test_grep "is not a key inside the store" err &&
		test_must_fail test-backend "$STORE_URL" exists "$key" 2>err &&
		test_grep "is not a key inside the store" err || return 1
	done &&
	test_must_fail test-backend "$STORE_URL" list .. 2>err &&
	test_grep "is not a key inside the store" err &&
	test-backend "$STORE_URL" get packs/pack-a.pack >out &&
	test_cmp_bin obj1 out
'

test_expect_success 'the store vanishes and comes back whole' '
	store_snapshot before &&
	store_vanish &&
	if test "$LEPTON_TEST_BACKEND" = dir
	then
		test_path_is_missing "$STORE"
	else
		test_must_fail curl -s -S --max-time 5 -o /dev/null "http://127.0.0.1:$BACKEND_PORT/" 2>err &&
		test_grep -i "connect" err
	fi &&
	store_restore &&
	store_snapshot after &&
	test_cmp before after
'

test_expect_success !DIRSTORE 'fault proxy: forwards requests and logs them' '
	start_fault_proxy &&
	case "$LEPTON_TEST_BACKEND" in
	s3) test "$AWS_ENDPOINT_URL" = "http://127.0.0.1:$FAULT_PROXY_PORT" ;;
	webdav) test "$STORE_URL" = "http://127.0.0.1:$FAULT_PROXY_PORT/store" ;;
	esac &&
	test "$(get "$(http_url packs/pack-a.pack)" out)" = 200 &&
	test_cmp_bin obj1 out &&
	test "$(get "$(http_url packs/none)" out)" = 404 &&
	test "$(fault_count GET "pack-a")" = 1 &&
	test "$(fault_count "*" "/packs/")" = 2 &&
	grep " 404 -$" "$FAULT_LOG"
'

test_expect_success !DIRSTORE 'fault proxy: uploads go through whole' '
	make_file obj3 2M three &&
	if test "$LEPTON_TEST_BACKEND" = s3
	then
		s3_curl_ -f -T obj3 "$(http_url packs/up.pack)"
	else
		curl -s -S -f -T obj3 "$(http_url packs/up.pack)"
	fi &&
	store_cat packs/up.pack >out &&
	test_cmp_bin obj3 out &&
	test "$(fault_count PUT "up.pack")" = 1
'

test_expect_success !DIRSTORE 'fault proxy: status for the first N matching requests, Retry-After' '
	: >"$FAULT_LOG" &&
	fault_rules "GET /packs/pack-a 503 times=2" "GET /packs/pack-a status 503 times=2 retry-after=1" &&
	test "$(get "$(http_url packs/pack-a.pack)" out -D headers)" = 503 &&
	test_grep -i "^retry-after: 1" headers &&
	test "$(get "$(http_url packs/pack-a.pack)" out)" = 503 &&
	test "$(get "$(http_url packs/pack-a.pack)" out)" = 200 &&
	test_cmp_bin obj1 out &&
	test "$(get "$(http_url git/refs)" out)" = 200 &&
	test "$(fault_count GET pack-a)" = 3 &&
	grep "pack-a.pack 503 status$" "$FAULT_LOG" >injected &&
	test_line_count = 2 injected &&
	grep "unknown action .503." "$BACKEND_DIR/fault-proxy.log"
'

test_expect_success !DIRSTORE 'fault proxy: counts start again when the rules change; skip=M' '
	fault_rules "* /git/refs status 500 skip=1 times=1" &&
	test "$(get "$(http_url git/refs)" out)" = 200 &&
	test "$(get "$(http_url git/refs)" out)" = 500 &&
	test "$(get "$(http_url git/refs)" out)" = 200 &&
	fault_rules "PUT /git/refs status 500" &&
	test "$(get "$(http_url git/refs)" out)" = 200 &&
	fault_rules "GET /git/refs status 429" &&
	test "$(get "$(http_url git/refs)" out)" = 429
'

test_expect_success !DIRSTORE 'fault proxy: cut a body after K bytes' '
	fault_rules "GET pack-a cut 100000" &&
	test_expect_code 18 get "$(http_url packs/pack-a.pack)" out >code &&
	test "$(cat code)" = 200 &&
	test "$(file_size out)" = 100000 &&
	head -c 100000 obj1 >expect &&
	test_cmp_bin expect out
'

test_expect_success !DIRSTORE 'fault proxy: flip bytes of a body' '
	fault_rules "GET pack-a flip 10,70000" &&
	test "$(get "$(http_url packs/pack-a.pack)" out)" = 200 &&
	test "$(file_size out)" = 1048576 &&
	{ cmp -l obj1 out >diffs || :; } &&
	test_line_count = 2 diffs &&
	awk "{ print \$1 }" diffs >offsets &&
	printf "11\n70001\n" >expect &&
	test_cmp expect offsets
'

test_expect_success !DIRSTORE 'fault proxy: delay a response' '
	fault_rules "GET git/refs delay 1500" &&
	start=$(date +%s%N) &&
	test "$(get "$(http_url git/refs)" out)" = 200 &&
	end=$(date +%s%N) &&
	test $(( ($end - $start) / 1000000 )) -ge 1500 &&
	test_cmp_bin obj2 out
'

test_expect_success !DIRSTORE 'fault proxy: hang and drop never answer' '
	fault_rules "GET git/refs hang" "HEAD git/refs drop" &&
	test_expect_code 28 get "$(http_url git/refs)" out --max-time 2 >code &&
	test_must_fail curl -s -I --max-time 5 "$(http_url git/refs)" &&
	fault_rules &&
	test "$(get "$(http_url git/refs)" out)" = 200
'

test_expect_success !DIRSTORE 'stop_fault_proxy goes back to the server' '
	stop_fault_proxy &&
	test -z "$FAULT_PROXY_PID" &&
	case "$LEPTON_TEST_BACKEND" in
	s3) test "$AWS_ENDPOINT_URL" = "http://127.0.0.1:$BACKEND_PORT" ;;
	webdav) test "$STORE_URL" = "http://127.0.0.1:$BACKEND_PORT/store" ;;
	esac
'

test_done
