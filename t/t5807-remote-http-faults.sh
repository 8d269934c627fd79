#!/bin/sh

test_description='git-remote-lepton over HTTP: a server that errs, cuts and lies

Through t/helper/fault-proxy in front of the S3 or WebDAV server: 503
with Retry-After and 429 are retried (and Retry-After honoured), a push
whose uploads keep failing says so and leaves the refs alone, a download
cut in the middle is resumed, and a body with a flipped byte is caught
before any bad byte reaches the work tree; a server that stops in the
middle of a clone, answers slowly or not at all gives a clear error, and
a clone afterwards is whole; a reply lost after the server acted (the
refs swapped, a part or a move done) is retried and the push lands.  Needs a server: t5817 (S3)
and t5827 (WebDAV) run it; with a directory store it skips.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
. "$TEST_DIRECTORY"/lib-remote.sh

if test "$LEPTON_TEST_BACKEND" = dir
then
	say "1..0 # SKIP needs a server (LEPTON_TEST_BACKEND=s3 or webdav: t5817, t5827)"
	cd "$TEST_DIRECTORY" && rm -rf "$TRASH_DIRECTORY"
	exit 0
fi

# requests to the store's objects, for the rules (the path of a request
# to S3 starts with the bucket, to WebDAV with the store)
REFS='store/git/refs([?]|$)'
PACKS='store/packs/[^?]*[.]pack'

now_ms () {
	echo $(($(date +%s%N) / 1000000))
}

test_expect_success 'setup: a store behind the fault proxy, with one model' '
	start_fault_proxy &&
	URL="lepton::$STORE_URL" &&
	setup_repo src &&
	make_model "$DATA/m1" 3 7 1 &&
	cp "$DATA/m1" src/model.safetensors &&
	git -C src add model.safetensors &&
	test_tick &&
	git -C src commit -q -m v1 &&
	git -C src remote add origin "$URL" &&
	git -C src push -q origin main &&
	assert_remote_has $(file_sha256 "$DATA/m1") &&
	test "$(fault_count PUT store/)" -ge 1
'

test_expect_success '503 with Retry-After on the refs manifest: retried after the wait' '
	fault_rules "GET $REFS status 503 times=2 retry-after=1" &&
	: >"$FAULT_LOG" &&
	start=$(now_ms) &&
	ls_remote "$URL" >refs &&
	end=$(now_ms) &&
	test_grep refs/heads/main refs &&
	test "$(fault_count GET "$REFS")" -ge 3 &&
	echo >&3 "ls-remote took $(($end - $start)) ms" &&
	test $(($end - $start)) -ge 1900
'

test_expect_success 'uploads that keep failing: a clear error, the refs unchanged' '
	make_model "$DATA/m2" 3 7 2 &&
	cp "$DATA/m2" src/model.safetensors &&
	git -C src add model.safetensors &&
	test_tick &&
	git -C src commit -q -m v2 &&
	fault_rules &&
	before=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
	fault_rules "PUT store/ status 500" "POST store/ status 500" \
		"MOVE store/ status 500" "COPY store/ status 500" &&
	test_must_fail git -C src push origin main 2>err &&
	cat err >&3 &&
	test_grep -e "^error:" -e "^fatal:" err &&
	test_grep ! -i -e "segmentation" -e "core dumped" -e "abort" err &&
	fault_rules &&
	assert_remote_ref "$URL" refs/heads/main "$before"
'

test_expect_success 'the same push goes through a 429 and a dropped connection' '
	fault_rules "PUT store/ status 429 times=1 retry-after=0" \
		"PUT store/ drop times=1" &&
	: >"$FAULT_LOG" &&
	git -C src push origin main &&
	fault_rules &&
	grep " 429 status$" "$FAULT_LOG" &&
	grep " - drop$" "$FAULT_LOG" &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	assert_remote_has $(file_sha256 "$DATA/m2")
'

test_expect_success 'a pack download cut in the middle is resumed: the clone is whole' '
	fault_rules "GET $PACKS cut 50000 times=1" &&
	: >"$FAULT_LOG" &&
	git clone -q "$URL" clone-cut &&
	grep " cut$" "$FAULT_LOG" &&
	test_cmp_bin "$DATA/m2" clone-cut/model.safetensors &&
	(cd clone-cut && assert_local_store_sound)
'

test_expect_success 'a flipped byte in every pack download: caught, no bad bytes checked out' '
	fault_rules "GET $PACKS flip 40000" &&
	test_must_fail git clone -q "$URL" clone-flip 2>err &&
	cat err >&3 &&
	grep " flip$" "$FAULT_LOG" &&
	test_grep -i -e corrupt -e checksum -e mismatch -e damaged -e "does not match" err &&
	if test -f clone-flip/model.safetensors &&
		test "$(file_size clone-flip/model.safetensors)" = "$(file_size "$DATA/m2")"
	then
		test_cmp_bin "$DATA/m2" clone-flip/model.safetensors
	fi
'

test_expect_success 'the server stops in the middle of a clone: a clear error, then a whole clone' '
	fault_rules "GET $PACKS delay 1500" &&
	store_vanish_prepare &&
	{
		GIT_LEPTON_RETRIES=2 git clone -q "$URL" clone-stop >clone.out 2>&1 &
		clone_pid=$!
	} &&
	sleep 1 &&
	store_vanish &&
	test_when_finished "store_restore" &&
	test_must_fail wait $clone_pid &&
	cat clone.out >&3 &&
	test_grep -e "^error:" -e "^fatal:" clone.out &&
	test_grep ! -i -e "segmentation" -e "core dumped" -e "abort" clone.out &&
	if test -f clone-stop/model.safetensors &&
		test "$(file_size clone-stop/model.safetensors)" = "$(file_size "$DATA/m2")"
	then
		test_cmp_bin "$DATA/m2" clone-stop/model.safetensors
	fi &&
	store_restore &&
	fault_rules &&
	git clone -q "$URL" clone-after-stop &&
	test_cmp_bin "$DATA/m2" clone-after-stop/model.safetensors
'

test_expect_success 'a slow server: slow answers still finish' '
	fault_rules "GET $PACKS delay 400" "GET $REFS delay 400" &&
	: >"$FAULT_LOG" &&
	git clone -q "$URL" clone-slow &&
	grep " delay$" "$FAULT_LOG" &&
	test_cmp_bin "$DATA/m2" clone-slow/model.safetensors
'

test_expect_success 'a server that stops answering: the clone gives up after http.lowSpeedTime' '
	fault_rules "GET $PACKS hang" &&
	start=$(now_ms) &&
	test_must_fail env GIT_HTTP_LOW_SPEED_TIME=1 GIT_LEPTON_RETRIES=1 \
		git clone -q "$URL" clone-hang 2>err &&
	end=$(now_ms) &&
	cat err >&3 &&
	echo >&3 "gave up after $(($end - $start)) ms" &&
	test_grep -e "^error:" -e "^fatal:" err &&
	test $(($end - $start)) -lt 30000
'

test_expect_success 'without faults the store is sound and clones byte for byte' '
	fault_rules &&
	git -C src lepton fsck --remote origin --full &&
	git clone -q "$URL" clone-ok &&
	test_cmp_bin "$DATA/m2" clone-ok/model.safetensors
'

test_expect_success 'replies lost after the server acted: retried, and the push still lands' '
	make_model "$DATA/m3" 12 7 3 &&
	cp "$DATA/m3" src/model.safetensors &&
	git -C src add model.safetensors &&
	test_tick &&
	git -C src commit -q -m v3 &&
	fault_rules "PUT $REFS lose times=1" "POST $PACKS lose times=1" \
		"PUT $PACKS lose times=1" "MOVE store/ lose times=2" &&
	: >"$FAULT_LOG" &&
	GIT_LEPTON_TEST_S3_PART_SIZE=5242880 git -C src push origin main 2>err &&
	fault_rules &&
	cat err >&3 &&
	test "$(grep -c " lose$" "$FAULT_LOG")" -ge 2 &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	git -C src lepton fsck --remote origin &&
	git clone -q "$URL" clone-lost &&
	test_cmp_bin "$DATA/m3" clone-lost/model.safetensors
'

test_done
