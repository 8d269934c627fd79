#!/bin/sh

test_description='lepton::s3:// stores: S3 and compatible services

Push, clone and fetch through moto_server (S3 with conditional writes and
multipart uploads, no signature checks) and through s3rver (checks every
SigV4 signature): multipart uploads with small parts, an interrupted
upload resumed without sending its parts again, two pushers racing on
the refs, wrong credentials (never shown), a missing bucket, credentials
from a profile file, a service that ignores conditional writes, and the
path-style or virtual-hosted URL form.'

# s3rver is installed outside the repository (.ci/deps.sh); HOME changes below
: "${LEPTON_S3RVER_DIR:=$HOME/.cache/lepton-test/s3rver}"
export LEPTON_S3RVER_DIR

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-remote.sh

for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p')
do
	unset "$v"
done

if ! command -v moto_server >/dev/null || ! command -v curl >/dev/null
then
	test -n "$CI" && error "moto_server and curl are needed (see .ci/deps.sh)"
	say "1..0 # SKIP moto_server or curl is missing"
	cd "$TEST_DIRECTORY" && rm -rf "$TRASH_DIRECTORY"
	exit 0
fi
if command -v node >/dev/null && test -d "$LEPTON_S3RVER_DIR/node_modules/@20minutes/s3rver"
then
	test_set_prereq S3RVER
elif test -n "$CI"
then
	error "s3rver is not installed in '$LEPTON_S3RVER_DIR' (see .ci/deps.sh)"
fi

BUCKET=lepton-test
PART=5242880 # S3's smallest part
GIT_LEPTON_TEST_S3_PART_SIZE=$PART && export GIT_LEPTON_TEST_S3_PART_SIZE
MOTO_LOG="$TRASH_DIRECTORY/moto.log"
S3RVER_LOG="$TRASH_DIRECTORY/s3rver.log"
MOTO_PID=
S3RVER_PID=
SECRET=sEcReT-never-shown-0123456789

stop_servers () {
	for _ss_pid in $MOTO_PID $S3RVER_PID $FAKE_PID
	do
		kill "$_ss_pid" 2>/dev/null
	done
	MOTO_PID=
	S3RVER_PID=
	FAKE_PID=
}
trap stop_servers EXIT

# moto_env: the variables that send git-lepton to moto.
moto_env () {
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1
	AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL
}

# moto_requests PATTERN: how many requests of moto's log match PATTERN.
moto_requests () {
	grep -c "$1" "$MOTO_LOG" || :
}

s3_curl () {
	curl -s -S --max-time 60 --aws-sigv4 "aws:amz:us-east-1:s3" -u "testing:testing" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

# The servers start outside the tests (the test library stops what a test
# leaves running) and stop when the script ends.
MOTO_PORT=$(free_port_)
moto_server -H 127.0.0.1 -p $MOTO_PORT </dev/null >"$MOTO_LOG" 2>&1 3>&- 4>&- 5>&- 6<&- 7>&- &
MOTO_PID=$!
if test_have_prereq S3RVER
then
	S3RVER_PORT=$(free_port_)
	mkdir "$TRASH_DIRECTORY/s3rver-data"
	cat >"$TRASH_DIRECTORY/s3rver.js" <<-\EOF
	const S3rver = require(process.env.LEPTON_S3RVER_DIR + "/node_modules/@20minutes/s3rver");
	new S3rver({ port: +process.argv[2], address: "127.0.0.1", silent: false,
		directory: process.argv[3], configureBuckets: [{ name: process.argv[4] }] }).run();
	EOF
	node "$TRASH_DIRECTORY/s3rver.js" $S3RVER_PORT "$TRASH_DIRECTORY/s3rver-data" $BUCKET \
		</dev/null >"$S3RVER_LOG" 2>&1 3>&- 4>&- 5>&- 6<&- 7>&- &
	S3RVER_PID=$!
fi

# A server that answers every request with the error its bucket's name
# asks for: what S3 says to a wrong clock, a wrong region, a busy time.
FAKE_PORT=$(free_port_)
cat >"$TRASH_DIRECTORY/fake-s3.py" <<-\EOF
import http.server, sys
ERRORS = {
    "skewed": (403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", {}),
    "elsewhere": (301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint.", {"x-amz-bucket-region": "eu-central-1"}),
    "busy": (503, "SlowDown", "Please reduce your request rate.", {"Retry-After": "0"}),
}
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        bucket = self.path.lstrip("/").split("/")[0].split("?")[0]
        st, code, msg, hdrs = ERRORS.get(bucket, (404, "NoSuchBucket", "The specified bucket does not exist", {}))
        body = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>' % (code, msg)).encode()
        if self.command == "HEAD":
            body = b""
        self.send_response(st)
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = reply
    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % self.requestline)
        sys.stderr.flush()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
python3 "$TRASH_DIRECTORY/fake-s3.py" $FAKE_PORT </dev/null >"$TRASH_DIRECTORY/fake.log" 2>&1 3>&- 4>&- 5>&- 6<&- 7>&- &
FAKE_PID=$!

commit_model () {
	cp "$2" "$1/model.safetensors" &&
	git -C "$1" add model.safetensors &&
	test_tick &&
	git -C "$1" commit -q -m "$3"
}

test_expect_success 'setup: moto_server, a bucket, two versions of a model' '
	wait_http_ "http://127.0.0.1:$MOTO_PORT/" $MOTO_PID &&
	s3_curl -f -X PUT "http://127.0.0.1:$MOTO_PORT/$BUCKET" >/dev/null &&
	moto_env &&
	make_model "$DATA/m1" 12 7 1 &&
	make_model "$DATA/m2" 12 7 2 &&
	setup_repo src &&
	commit_model src "$DATA/m1" v1 &&
	git -C src remote add origin "lepton::s3://$BUCKET/models/one"
'

test_expect_success 'push to a new store: the marker, content in multipart, refs' '
	git -C src push origin main 2>err &&
	test_grep "\[new branch\]" err &&
	s3_curl -f "http://127.0.0.1:$MOTO_PORT/$BUCKET/models/one/lepton-store" >marker &&
	test_grep "lepton store" marker &&
	s3_curl -f "http://127.0.0.1:$MOTO_PORT/$BUCKET/models/one/git/refs" >refs &&
	test_grep "refs/heads/main" refs &&
	test $(moto_requests "POST /$BUCKET/models/one/packs/.*?uploads= ") -ge 1 &&
	test $(moto_requests "PUT /$BUCKET/models/one/packs/.*partNumber=2&") -ge 1 &&
	test $(moto_requests "POST /$BUCKET/models/one/packs/.*?uploadId=") -ge 1
'

test_expect_success 'clone gives the same bytes' '
	git clone -q "lepton::s3://$BUCKET/models/one" dst &&
	cmp dst/model.safetensors "$DATA/m1"
'

test_expect_success 'a second version pushed, fetched and checked out' '
	commit_model src "$DATA/m2" v2 &&
	git -C src push origin main 2>err &&
	git -C dst pull -q origin main &&
	cmp dst/model.safetensors "$DATA/m2" &&
	(cd dst && git lepton fsck --remote origin --full)
'

test_expect_success 'lepton.<remote>.partSize: larger parts, one PUT, or a clear refusal' '
	git -C src remote add whole "lepton::s3://$BUCKET/models/whole" &&
	git -C src remote add parts "lepton::s3://$BUCKET/models/parts" &&
	# the remote'"'"'s own size wins over lepton.partSize, which the other takes
	git -C src config lepton.partSize 5m &&
	git -C src config lepton.whole.partSize 1g &&
	(
		unset GIT_LEPTON_TEST_S3_PART_SIZE &&
		git -C src push -q whole main &&
		git -C src push -q parts main
	) &&
	test $(moto_requests "POST /$BUCKET/models/whole/packs/.*?uploads= ") = 0 &&
	test $(moto_requests "PUT /$BUCKET/models/whole/packs/pack-[0-9a-f]*[.]pack ") -ge 1 &&
	test $(moto_requests "PUT /$BUCKET/models/parts/packs/.*partNumber=2&") -ge 1 &&
	git clone -q "lepton::s3://$BUCKET/models/whole" whole-clone &&
	cmp whole-clone/model.safetensors "$DATA/m2" &&
	git -C src config lepton.whole.partSize 16q &&
	test_must_fail git -C src push whole HEAD:refs/heads/other 2>err &&
	git -C src config --unset lepton.whole.partSize &&
	test_grep "part size .16q." err &&
	test_must_fail git -C src -c lepton.whole.PARTSIZE=7x push whole HEAD:refs/heads/other 2>err &&
	test_grep "part size .7x." err &&
	git -C src -c lepton.WHOLE.partSize=7x push -q whole HEAD:refs/heads/other &&
	git -C src config --unset lepton.partSize
'

test_expect_success 'an interrupted multipart upload resumes: its parts are not sent again' '
	make_model "$DATA/m3" 24 11 1 &&
	setup_repo res &&
	commit_model res "$DATA/m3" v1 &&
	git -C res remote add origin "lepton::s3://$BUCKET/models/resume" &&
	git -C res config lepton.concurrency 1 &&
	test_must_fail env GIT_LEPTON_TEST_DIE_AT=s3-part-sent git -C res push origin main 2>err &&
	test $(moto_requests "PUT /$BUCKET/models/resume/packs/.*partNumber=") = 1 &&
	test $(moto_requests "POST /$BUCKET/models/resume/packs/.*?uploadId=") = 0 &&
	cp "$MOTO_LOG" before.log &&
	git -C res push origin main 2>err &&
	sent=$(moto_requests "PUT /$BUCKET/models/resume/packs/.*partNumber=") &&
	pack=$(sed -n "s|.*POST /$BUCKET/models/resume/\(packs/pack-[0-9a-f]*\.pack\)?uploadId=.*|\1|p" "$MOTO_LOG") &&
	size=$(s3_curl -f -I "http://127.0.0.1:$MOTO_PORT/$BUCKET/models/resume/$pack" |
		sed -n "s/^[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p") &&
	parts=$(( (size + PART - 1) / PART )) &&
	test $parts -ge 3 &&
	test $sent = $parts &&
	test_grep "GET /$BUCKET/models/resume/packs/.*?uploadId=" "$MOTO_LOG" &&
	git clone -q "lepton::s3://$BUCKET/models/resume" res-clone &&
	cmp res-clone/model.safetensors "$DATA/m3"
'

# moto dates every upload in 2010: whatever the grace, gc sees them old
test_expect_success LEPTON_GC 'gc aborts the unfinished uploads that killed pushes left' '
	setup_repo sw &&
	commit_model sw "$DATA/m1" v1 &&
	git -C sw remote add origin "lepton::s3://$BUCKET/models/sweep" &&
	git -C sw push origin main &&
	commit_model sw "$DATA/m3" v2 &&
	git -C sw config lepton.concurrency 1 &&
	test_must_fail env GIT_LEPTON_TEST_DIE_AT=s3-part-sent git -C sw push origin main 2>err &&
	s3_curl -f "http://127.0.0.1:$MOTO_PORT/$BUCKET?prefix=models/sweep/&uploads=" >uploads &&
	test_grep "<UploadId>" uploads &&
	(cd sw && git lepton gc --remote origin 2>err) &&
	test_grep "removed 1 temporary" sw/err &&
	s3_curl -f "http://127.0.0.1:$MOTO_PORT/$BUCKET?prefix=models/sweep/&uploads=" >uploads &&
	test_grep ! "<UploadId>" uploads &&
	git -C sw push origin main &&
	git clone -q "lepton::s3://$BUCKET/models/sweep" sw-clone &&
	cmp sw-clone/model.safetensors "$DATA/m3"
'

test_expect_success 'two pushers racing on the refs: one conditional write loses, both land' '
	git clone -q "lepton::s3://$BUCKET/models/one" p1 &&
	git clone -q "lepton::s3://$BUCKET/models/one" p2 &&
	git -C p1 checkout -q -b b1 &&
	git -C p2 checkout -q -b b2 &&
	echo one >p1/f && git -C p1 add f && git -C p1 commit -q -m one &&
	echo two >p2/f && git -C p2 add f && git -C p2 commit -q -m two &&
	before=$(moto_requests "PUT /$BUCKET/models/one/git/refs .* 412") &&
	(
		mkdir barrier &&
		GIT_LEPTON_TEST_PUT_IF_BARRIER="$TRASH_DIRECTORY/barrier" &&
		export GIT_LEPTON_TEST_PUT_IF_BARRIER &&
		git -C p1 push -q origin b1 2>err1 &
		p=$! &&
		git -C p2 push -q origin b2 2>err2 &&
		wait $p
	) &&
	after=$(moto_requests "PUT /$BUCKET/models/one/git/refs .* 412") &&
	test $after -gt $before &&
	git ls-remote "lepton::s3://$BUCKET/models/one" >remote-refs &&
	test_grep "refs/heads/b1" remote-refs &&
	test_grep "refs/heads/b2" remote-refs &&
	test_grep "refs/heads/main" remote-refs
'

test_expect_success 'a missing bucket is named, with what to do' '
	test_must_fail git -C src push "lepton::s3://no-such-bucket-here/x" main 2>err &&
	test_grep "bucket .no-such-bucket-here. does not exist" err
'

test_expect_success 'path-style addressing with an endpoint; virtual-hosted when asked' '
	GIT_CURL_VERBOSE=1 git ls-remote "lepton::s3://$BUCKET/models/one" 2>trace >/dev/null &&
	test_grep "GET /$BUCKET/models/one/git/refs" trace &&
	# curl resolves *.localhost to this machine, and moto serves buckets
	# by host name too
	GIT_CURL_VERBOSE=1 AWS_ENDPOINT_URL=http://localhost:$MOTO_PORT \
		git -c lepton.origin.pathstyle=false -C src ls-remote origin 2>trace >out &&
	test_grep "Host: $BUCKET\.localhost:$MOTO_PORT" trace &&
	test_grep "GET /models/one/git/refs" trace &&
	test_grep refs/heads/main out
'

test_expect_success 'what S3 says to a wrong clock or region, said plainly' '
	wait_http_ "http://127.0.0.1:$FAKE_PORT/" $FAKE_PID &&
	(
		AWS_ENDPOINT_URL=http://127.0.0.1:$FAKE_PORT GIT_LEPTON_TEST_RETRY_MS=1 &&
		export AWS_ENDPOINT_URL GIT_LEPTON_TEST_RETRY_MS &&
		test_must_fail git ls-remote "lepton::s3://skewed/x" 2>err &&
		test_grep "clock is too far" err &&
		test_must_fail git ls-remote "lepton::s3://elsewhere/x" 2>err &&
		test_grep "is in region .eu-central-1., not .us-east-1.; set AWS_REGION" err &&
		test_must_fail git -c lepton.retries=2 ls-remote "lepton::s3://busy/x" 2>err &&
		test_grep "503 SlowDown" err &&
		test $(grep -c "HEAD /busy/x/lepton-store" fake.log) = 3 &&
		test_grep ! "$SECRET" err
	)
'

test_expect_success 'no credentials in a URL' '
	test_must_fail git -C src push "lepton::s3://key:secret@$BUCKET/x" main 2>err &&
	test_grep "never the URL" err &&
	test_grep ! secret err
'

test_expect_success S3RVER 'setup: s3rver, which checks signatures' '
	wait_http_ "http://127.0.0.1:$S3RVER_PORT/" $S3RVER_PID
'

s3rver_env () {
	AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
	AWS_ENDPOINT_URL="http://127.0.0.1:$S3RVER_PORT"
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL
}

test_expect_success S3RVER 'a service that ignores conditional writes is refused' '
	(
		s3rver_env &&
		git -C src remote add sig "lepton::s3://$BUCKET/sig" &&
		test_must_fail git -C src push sig main 2>err &&
		test_grep "does not honour conditional writes" err &&
		test_grep "lepton.<remote>.unsafeWrites" err
	)
'

test_expect_success S3RVER 'signed round trip with multipart, lepton.<remote>.unsafeWrites set' '
	(
		s3rver_env &&
		git -C src config lepton.sig.unsafeWrites true &&
		git -C src push sig main 2>err &&
		git clone -q "lepton::s3://$BUCKET/sig" sig-clone &&
		cmp sig-clone/model.safetensors "$DATA/m2" &&
		git -C sig-clone checkout -q HEAD~1 &&
		cmp sig-clone/model.safetensors "$DATA/m1"
	) &&
	test_grep "partNumber=2&" "$S3RVER_LOG"
'

test_expect_success S3RVER 'wrong secret: refused, the key id named, the secret never shown' '
	(
		s3rver_env &&
		AWS_SECRET_ACCESS_KEY=$SECRET &&
		test_must_fail git clone "lepton::s3://$BUCKET/sig" bad 2>err &&
		test_grep "access denied to key id .S3RVER." err &&
		test_grep ! "$SECRET" err &&
		test_must_fail env GIT_CURL_VERBOSE=1 git clone "lepton::s3://$BUCKET/sig" bad2 2>err &&
		test_grep ! "$SECRET" err
	)
'

test_expect_success S3RVER 'a session token is signed, sent, and never traced' '
	(
		s3rver_env &&
		AWS_SESSION_TOKEN=$SECRET && export AWS_SESSION_TOKEN &&
		GIT_CURL_VERBOSE=1 git ls-remote "lepton::s3://$BUCKET/sig" >out 2>trace &&
		test_grep refs/heads/main out &&
		test_grep "x-amz-security-token: <redacted>" trace &&
		test_grep "Authorization: <redacted>" trace &&
		test_grep ! "$SECRET" trace
	)
'

test_expect_success S3RVER 'credentials and region from a profile (signatures checked)' '
	mkdir -p aws &&
	cat >aws/credentials <<-\EOF &&
	[default]
	aws_access_key_id = WRONG
	aws_secret_access_key = WRONG

	[team]
	aws_access_key_id = S3RVER
	aws_secret_access_key = S3RVER
	EOF
	cat >aws/config <<-\EOF &&
	[profile team]
	region = us-east-1
	EOF
	(
		unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY &&
		AWS_ENDPOINT_URL="http://127.0.0.1:$S3RVER_PORT" &&
		AWS_SHARED_CREDENTIALS_FILE="$TRASH_DIRECTORY/aws/credentials" &&
		AWS_CONFIG_FILE="$TRASH_DIRECTORY/aws/config" &&
		export AWS_ENDPOINT_URL AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE &&
		test_must_fail git ls-remote "lepton::s3://$BUCKET/sig" 2>err &&
		test_grep "key id .WRONG. (from profile .default." err &&
		AWS_PROFILE=team git ls-remote "lepton::s3://$BUCKET/sig" >out &&
		test_grep refs/heads/main out
	) &&
	(
		unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY &&
		mkdir -p "$HOME/.aws" && cp aws/credentials aws/config "$HOME/.aws/" &&
		AWS_ENDPOINT_URL="http://127.0.0.1:$S3RVER_PORT" AWS_PROFILE=team &&
		export AWS_ENDPOINT_URL AWS_PROFILE &&
		git ls-remote "lepton::s3://$BUCKET/sig" >out &&
		test_grep refs/heads/main out
	)
'

test_expect_success 'the servers stop' '
	stop_servers
'

test_done
