#!/bin/sh

test_description='lepton:: remotes on a WebDAV server (nginx)

nginx with its WebDAV modules, started in the trash directory on free
loopback ports, without create_full_put_path: push, clone, fetch and pull
of two model versions; puts that leave nothing in tmp/; two pushers at
once, one refused as git refuses a stale push; a refs lock held by
someone else; gc --remote sweeping what killed pushes left; a server
without locks refused before anything is lost; basic auth through git
credential helpers (approved, rejected, never printed) and in the URL;
TLS with a self-signed certificate refused unless trusted.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-remote.sh

DAV_MODULE=
for m in /usr/lib/nginx/modules/ngx_http_dav_ext_module.so \
	/usr/share/nginx/modules/ngx_http_dav_ext_module.so
do
	test -f "$m" && DAV_MODULE=$m && break
done
if ! command -v nginx >/dev/null || test -z "$DAV_MODULE"
then
	test -n "$CI" &&
	error "nginx or its WebDAV module is missing (apt-get install nginx libnginx-mod-http-dav-ext)"
	say "1..0 # SKIP nginx or libnginx-mod-http-dav-ext is missing"
	cd "$TEST_DIRECTORY" && rm -rf "$TRASH_DIRECTORY"
	exit 0
fi
command -v openssl >/dev/null && test_set_prereq OPENSSL

DAV="$TRASH_DIRECTORY/dav"
DAV_META="$TEST_META/nginx"
DAV_PID=

dav_stop_ () {
	if test -n "$DAV_PID"
	then
		kill "$DAV_PID" 2>/dev/null
		wait "$DAV_PID" 2>/dev/null
		DAV_PID=
	fi
}
trap 'dav_stop_' EXIT
trap 'dav_stop_; exit 130' INT
trap 'dav_stop_; exit 143' TERM

test_done () {
	dav_stop_
	test_done_
}

PORT=$(free_port_) && AUTH_PORT=$(free_port_) && TLS_PORT=$(free_port_) &&
NOLOCK_PORT=$(free_port_) && BEARER_PORT=$(free_port_) || error "cannot find free ports"
URL_BASE="http://127.0.0.1:$PORT"
AUTH_BASE="http://127.0.0.1:$AUTH_PORT"
TLS_BASE="https://127.0.0.1:$TLS_PORT"
NOLOCK_BASE="http://127.0.0.1:$NOLOCK_PORT"
BEARER_BASE="http://127.0.0.1:$BEARER_PORT"

# dav_location_ EXTRA: a location serving WebDAV, with locks.
dav_location_ () {
	cat <<-EOF
	location / {
		dav_methods PUT DELETE MKCOL COPY MOVE;
		dav_ext_methods PROPFIND OPTIONS LOCK UNLOCK;
		dav_ext_lock zone=lk;
		dav_access user:rw group:r all:r;
		$1
	}
	EOF
}

# dav_start_: nginx with WebDAV (plain, basic auth, no locks, TLS) on
# free loopback ports, its roots in $DAV; stopped however the script ends.
dav_start_ () {
	mkdir -p "$DAV/plain" "$DAV/auth" "$DAV/tls" "$DAV/nolock" "$DAV/bearer" \
		"$DAV_META/tmp" &&
	if test "$(id -u)" = 0
	then
		user="user root;"
	else
		user=
	fi &&
	# alice:secret-sesame
	printf "alice:%s\n" "$(openssl passwd -apr1 secret-sesame)" >"$DAV_META/htpasswd" &&
	tls_server= &&
	if test_have_prereq OPENSSL
	then
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
			-addext "subjectAltName=IP:127.0.0.1" \
			-keyout "$DAV_META/key.pem" -out "$DAV_META/cert.pem" 2>/dev/null &&
		tls_server="server {
			listen 127.0.0.1:$TLS_PORT ssl;
			ssl_certificate \"$DAV_META/cert.pem\";
			ssl_certificate_key \"$DAV_META/key.pem\";
			root \"$DAV/tls\";
			$(dav_location_)
		}"
	fi &&
	cat >"$DAV_META/nginx.conf" <<-EOF &&
	daemon off;
	$user
	load_module "$DAV_MODULE";
	worker_processes 2;
	pid "$DAV_META/nginx.pid";
	error_log "$DAV_META/error.log" info;
	events { worker_connections 256; }
	http {
		access_log "$DAV_META/access.log";
		client_body_temp_path "$DAV_META/tmp/body";
		proxy_temp_path "$DAV_META/tmp/proxy";
		fastcgi_temp_path "$DAV_META/tmp/fastcgi";
		uwsgi_temp_path "$DAV_META/tmp/uwsgi";
		scgi_temp_path "$DAV_META/tmp/scgi";
		client_max_body_size 0;
		dav_ext_lock_zone zone=lk:1m timeout=20s;
		dav_ext_lock_zone zone=short:1m timeout=2s;
		server {
			listen 127.0.0.1:$PORT;
			root "$DAV/plain";
			$(dav_location_)
			location /short/ {
				dav_methods PUT DELETE MKCOL COPY MOVE;
				dav_ext_methods PROPFIND OPTIONS LOCK UNLOCK;
				dav_ext_lock zone=short;
			}
		}
		server {
			listen 127.0.0.1:$AUTH_PORT;
			root "$DAV/auth";
			$(dav_location_ "auth_basic lepton; auth_basic_user_file \"$DAV_META/htpasswd\";")
		}
		server {
			listen 127.0.0.1:$BEARER_PORT;
			root "$DAV/bearer";
			$(dav_location_ "if (\$http_authorization != \"Bearer token-4711\") {
				add_header WWW-Authenticate \"Bearer realm=lepton\" always;
				return 401;
			}")
		}
		server {
			listen 127.0.0.1:$NOLOCK_PORT;
			root "$DAV/nolock";
			location / {
				dav_methods PUT DELETE MKCOL COPY MOVE;
				dav_ext_methods PROPFIND OPTIONS;
			}
		}
		$tls_server
	}
	EOF
	nginx -p "$DAV_META" -c "$DAV_META/nginx.conf" -e "$DAV_META/error.log" \
		</dev/null >"$DAV_META/nginx.out" 2>&1 3>&- 4>&- 5>&- 6<&- 7>&- &
	DAV_PID=$! &&
	tries=0 &&
	until curl -s -o /dev/null "$URL_BASE/"
	do
		tries=$(($tries + 1)) &&
		test $tries -lt 100 &&
		kill -0 $DAV_PID &&
		sleep 0.1 || {
			cat "$DAV_META/nginx.out" "$DAV_META/error.log" >&4
			return 1
		}
	done
}

dav_start_ || error "cannot start nginx (its logs are in '$DAV_META')"

test_expect_success 'setup: a repository with two versions of a model' '
	setup_repo src &&
	make_model "$DATA/m1" 3 7 1 &&
	make_model "$DATA/m2" 3 7 2 &&
	cp "$DATA/m1" src/model.safetensors &&
	git -C src add model.safetensors &&
	git -C src commit -q -m v1 &&
	cp "$DATA/m2" src/model.safetensors &&
	git -C src add model.safetensors &&
	git -C src commit -q -m v2
'

test_expect_success 'the first push makes the store, collections and all' '
	git -C src remote add origin "lepton::$URL_BASE/stores/one" &&
	git -C src push origin HEAD~1:refs/heads/main 2>err &&
	test_grep "\[new branch\]" err &&
	test_path_is_file "$DAV/plain/stores/one/lepton-store" &&
	test_path_is_file "$DAV/plain/stores/one/git/refs" &&
	ls "$DAV/plain/stores/one/packs" >packs &&
	test_grep "\.pack$" packs &&
	ls "$DAV/plain/stores/one/tmp" >left &&
	test_must_be_empty left
'

test_expect_success 'clone gets the first version byte for byte' '
	git clone -q "lepton::$URL_BASE/stores/one" c1 &&
	test_cmp_bin "$DATA/m1" c1/model.safetensors &&
	git -C c1 lepton ls-files >files &&
	test_grep model.safetensors files
'

test_expect_success 'the second version: push, fetch and pull' '
	git -C src push origin main 2>err &&
	test_grep "main -> main" err &&
	git -C c1 fetch -q origin &&
	test "$(git -C c1 rev-parse origin/main)" = "$(git -C src rev-parse main)" &&
	git -C c1 pull -q --ff-only origin main &&
	test_cmp_bin "$DATA/m2" c1/model.safetensors &&
	git clone -q "lepton::$URL_BASE/stores/one/" c2 &&
	test_cmp_bin "$DATA/m2" c2/model.safetensors &&
	ls "$DAV/plain/stores/one/tmp" >left &&
	test_must_be_empty left
'

test_expect_success 'a store path with characters to escape' '
	git -C src push "lepton::$URL_BASE/with%20a%20space/s~1" main &&
	test_path_is_file "$DAV/plain/with a space/s~1/lepton-store" &&
	git clone -q "lepton::$URL_BASE/with%20a%20space/s~1" sp &&
	test_cmp_bin "$DATA/m2" sp/model.safetensors
'

# push_both: p1 and p2 push main at the same time; status.I and out.I
# say how each went.
push_both () {
	for _pb_i in 1 2
	do
		{
			git -C p$_pb_i push origin main >out.$_pb_i 2>&1
			echo $? >status.$_pb_i
		} &
		eval "_pb_pid$_pb_i=\$!"
	done
	wait $_pb_pid1 $_pb_pid2
}

test_expect_success 'two pushers at once: one wins, the other is refused as stale' '
	for i in 1 2
	do
		git clone -q "lepton::$URL_BASE/stores/one" p$i &&
		echo "change $i" >p$i/notes-$i.txt &&
		git -C p$i add notes-$i.txt &&
		git -C p$i commit -q -m "pusher $i" || return 1
	done &&
	push_both &&
	cat status.1 status.2 | sort >statuses &&
	printf "0\n1\n" >expect &&
	test_cmp expect statuses &&
	if test "$(cat status.1)" = 0
	then
		winner=p1 loser=out.2
	else
		winner=p2 loser=out.1
	fi &&
	test_grep "rejected" $loser &&
	git ls-remote "lepton::$URL_BASE/stores/one" refs/heads/main >refs &&
	test_grep "^$(git -C $winner rev-parse HEAD)" refs
'

test_expect_success 'a refs lock held elsewhere: the push waits, then says it expires' '
	git -C p1 pull -q --rebase origin main &&
	git -C p2 pull -q --rebase origin main &&
	curl -s -D headers -o /dev/null -X LOCK -H "Timeout: Second-20" -H "Depth: 0" \
		--data "<?xml version=\"1.0\"?><lockinfo xmlns=\"DAV:\"><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>" \
		"$URL_BASE/stores/one/git/refs" &&
	token=$(sed -n "s/^Lock-Token: *//p" headers | tr -d "\r") &&
	test -n "$token" &&
	echo more >p1/more.txt &&
	git -C p1 add more.txt &&
	git -C p1 commit -q -m more &&
	test_must_fail env GIT_LEPTON_TEST_LOCK_WAIT_MS=300 git -C p1 push origin main 2>err &&
	test_grep "another push has held it" err &&
	test_grep "expires by itself" err &&
	curl -s -o /dev/null -X UNLOCK -H "Lock-Token: $token" "$URL_BASE/stores/one/git/refs" &&
	git -C p1 push origin main
'

test_expect_success 'a push killed holding the refs lock: no refs, then the lock expires' '
	test_must_fail env GIT_LEPTON_TEST_DIE_AT=push-refs-locked \
		git -C src push "lepton::$URL_BASE/short/k" main &&
	# the LOCK made an empty manifest: it reads as none
	test_must_be_empty "$DAV/plain/short/k/git/refs" &&
	git ls-remote "lepton::$URL_BASE/short/k" >refs 2>err &&
	test_must_be_empty refs &&
	test_must_fail env GIT_LEPTON_TEST_LOCK_WAIT_MS=100 \
		git -C src push "lepton::$URL_BASE/short/k" main 2>err &&
	test_grep "expires by itself" err &&
	sleep 3 &&
	git -C src push "lepton::$URL_BASE/short/k" main &&
	git clone -q "lepton::$URL_BASE/short/k" k &&
	test_cmp_bin "$DATA/m2" k/model.safetensors
'

test_expect_success 'gc --remote sweeps old temporary files, keeps recent ones' '
	echo old >"$DAV/plain/stores/one/tmp/put-old" &&
	touch -d "3 days ago" "$DAV/plain/stores/one/tmp/put-old" &&
	echo new >"$DAV/plain/stores/one/tmp/put-new" &&
	git -C p1 lepton gc --remote origin 2>err &&
	test_grep "removed 1 temporary" err &&
	test_path_is_missing "$DAV/plain/stores/one/tmp/put-old" &&
	test_path_is_file "$DAV/plain/stores/one/tmp/put-new" &&
	rm "$DAV/plain/stores/one/tmp/put-new" &&
	git clone -q "lepton::$URL_BASE/stores/one" c3 &&
	test_cmp_bin "$DATA/m2" c3/model.safetensors
'

test_expect_success 'a server without locks is refused before refs are written' '
	test_must_fail git -C src push "lepton::$NOLOCK_BASE/s" main 2>err &&
	test_grep "does not support WebDAV locks" err &&
	test_path_is_missing "$DAV/nolock/s/git/refs"
'

# The credential helper of these tests: answers "get" with CRED_USER and
# CRED_PASS, and logs every action it is asked for.
PATH="$TRASH_DIRECTORY/bin:$PATH"
test_expect_success 'setup: a credential helper' '
	mkdir -p bin &&
	write_script bin/git-credential-testlog <<-\EOF &&
	echo "$1" >>"$CRED_LOG"
	if test "$1" = get
	then
		echo username=$CRED_USER
		echo password=$CRED_PASS
	fi
	EOF
	git config --global credential.helper testlog &&
	CRED_LOG="$TRASH_DIRECTORY/cred.log" &&
	export CRED_LOG
'

test_expect_success 'basic auth: the helper gives the password, which is approved' '
	: >cred.log &&
	CRED_USER=alice CRED_PASS=secret-sesame git -C src push "lepton::$AUTH_BASE/s" main 2>err &&
	test_grep "\[new branch\]" err &&
	test_grep ! secret-sesame err &&
	test_grep "^get$" cred.log &&
	test_grep "^store$" cred.log &&
	test_grep ! "^erase$" cred.log &&
	CRED_USER=alice CRED_PASS=secret-sesame git clone -q "lepton::$AUTH_BASE/s" a1 2>err &&
	test_cmp_bin "$DATA/m2" a1/model.safetensors &&
	test_grep ! secret-sesame err
'

test_expect_success 'GIT_CURL_VERBOSE traces requests without the credentials' '
	secret64=$(printf alice:secret-sesame | base64) &&
	CRED_USER=alice CRED_PASS=secret-sesame GIT_CURL_VERBOSE=1 \
		git clone -q "lepton::$AUTH_BASE/s" a6 2>err &&
	test_grep "> GET /s/lepton-store" err &&
	test_grep "Authorization: <redacted>" err &&
	test_grep ! "$secret64" err &&
	test_grep ! secret-sesame err
'

test_expect_success 'a wrong password: a clear error, the credential rejected, not printed' '
	: >cred.log &&
	test_must_fail env CRED_USER=alice CRED_PASS=wrong-guess \
		git clone "lepton::$AUTH_BASE/s" a2 2>err &&
	test_grep "refused the credentials" err &&
	test_grep ! wrong-guess err &&
	test_grep "^erase$" cred.log &&
	test_grep ! "^store$" cred.log
'

test_expect_success 'no credentials at all: says to configure a helper' '
	test_must_fail env GIT_TERMINAL_PROMPT=0 \
		git -c credential.helper= clone "lepton::$AUTH_BASE/s" a3 2>err &&
	test_grep "asks for credentials" err
'

test_expect_success 'credentials in the URL work and never show' '
	: >cred.log &&
	git -c credential.helper= clone -q "lepton::http://alice:secret-sesame@127.0.0.1:$AUTH_PORT/s" a4 2>err &&
	test_cmp_bin "$DATA/m2" a4/model.safetensors &&
	test_must_be_empty cred.log &&
	test_must_fail git -c credential.helper= \
		clone "lepton::http://alice:bad-word@127.0.0.1:$AUTH_PORT/s" a5 2>err &&
	test_grep "refused the user and password in its URL" err &&
	test_grep ! "bad-word" err
'

test_expect_success 'lepton.httpAuth=bearer: the password goes as a bearer token' '
	CRED_USER=token CRED_PASS=token-4711 git -C src -c lepton.httpAuth=bearer \
		push "lepton::$BEARER_BASE/s" main 2>err &&
	test_grep ! token-4711 err &&
	git -C src remote add bearer "lepton::$BEARER_BASE/s" &&
	test_must_fail env CRED_USER=token CRED_PASS=token-4711 \
		git -C src fetch bearer 2>err &&
	test_grep "refused the credentials" err &&
	CRED_USER=token CRED_PASS=token-4711 git -C src -c lepton.bearer.httpAuth=bearer \
		fetch bearer &&
	git -C src rev-parse bearer/main
'

test_expect_success OPENSSL 'TLS: a self-signed certificate is refused by default' '
	test_must_fail git -C src push "lepton::$TLS_BASE/s" main 2>err &&
	test_grep -i "certificate" err &&
	test_grep "http.sslCAInfo" err &&
	test_path_is_missing "$DAV/tls/s"
'

test_expect_success OPENSSL 'TLS: http.sslCAInfo or GIT_SSL_CAINFO trusts it' '
	git -C src -c http.sslCAInfo="$DAV_META/cert.pem" push "lepton::$TLS_BASE/s" main &&
	GIT_SSL_CAINFO="$DAV_META/cert.pem" git clone -q "lepton::$TLS_BASE/s" t1 &&
	test_cmp_bin "$DATA/m2" t1/model.safetensors
'

test_expect_success OPENSSL 'TLS: http.sslVerify=false and GIT_SSL_NO_VERIFY skip the check' '
	git -c http.sslVerify=false clone -q "lepton::$TLS_BASE/s" t2 &&
	test_cmp_bin "$DATA/m2" t2/model.safetensors &&
	GIT_SSL_NO_VERIFY=1 git clone -q "lepton::$TLS_BASE/s" t3 &&
	test_cmp_bin "$DATA/m2" t3/model.safetensors
'

test_done
