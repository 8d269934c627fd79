# The remote store a test script works on: a directory (default), S3
# (moto_server) or WebDAV (nginx), picked by LEPTON_TEST_BACKEND; sourced
# by lib-remote.sh.
#
#	LEPTON_TEST_BACKEND=dir      a directory in the trash directory
#	LEPTON_TEST_BACKEND=s3       moto_server on a free loopback port, bucket
#	                             lepton-test, stores s3://lepton-test/NAME
#	LEPTON_TEST_BACKEND=webdav   nginx with WebDAV on a free loopback port,
#	                             its root in the trash directory, stores
#	                             http://127.0.0.1:PORT/NAME
#
# start_backend starts the server (lib-remote.sh calls it); it is stopped
# when the script ends, whatever way it ends.  A server program that is
# missing skips the whole script, or fails it when CI is set.
#
# A script names its stores (store_url NAME) and inspects them with the
# store_* helpers below, never through the file system, so one script
# body serves every backend.  Every helper takes an optional "-s NAME"
# first (the store to look at; default "store", whose URL is STORE_URL);
# KEY is a path inside the store ("git/refs", "packs/pack-ab.pack").
# Tests that only make sense on a directory store have the DIRSTORE
# prerequisite; STORE is that directory (set for the dir backend only).
#
# Faults every backend can have: backend_stop / backend_start (the server
# goes away and comes back on the same port), store_vanish /
# store_restore (the store disappears during a push), and
# start_fault_proxy (t/helper/fault-proxy in front of the server; its
# rules in FAULT_RULES, its request log in FAULT_LOG).

: "${LEPTON_TEST_BACKEND:=dir}"
BACKEND_BUCKET=lepton-test
# seconds a server gets to answer after it starts
: "${BACKEND_START_TIMEOUT:=20}"
BACKEND_DIR="$TEST_META/backend"
BACKEND_PID=
BACKEND_PORT=
FAULT_PROXY_PID=
FAULT_PROXY_PORT=

case "$LEPTON_TEST_BACKEND" in
dir)
	test_set_prereq DIRSTORE
	BACKEND_ROOT="$TRASH_DIRECTORY" ;;
s3)
	test_set_prereq S3STORE
	BACKEND_ROOT= ;;
webdav)
	test_set_prereq DAVSTORE
	BACKEND_ROOT="$TRASH_DIRECTORY/dav" ;;
*)
	error "LEPTON_TEST_BACKEND='$LEPTON_TEST_BACKEND': use dir, s3 or webdav" ;;
esac

# backend_missing_ WHAT: a server program is missing: skip the script, or
# fail it on CI.
backend_missing_ () {
	if test -n "$CI"
	then
		error "$1 (needed by LEPTON_TEST_BACKEND=$LEPTON_TEST_BACKEND; see t/README)"
	fi
	say "1..0 # SKIP $1 (LEPTON_TEST_BACKEND=$LEPTON_TEST_BACKEND)"
	cd "$TEST_DIRECTORY" && rm -rf "$TRASH_DIRECTORY"
	exit 0
}

# free_port_: a TCP port nobody listens on at the moment.
free_port_ () {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null && return 0
	echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
}

# wait_http_ URL PID: wait until something answers at URL (any HTTP
# status) while process PID lives, at most BACKEND_START_TIMEOUT seconds;
# backend_wait_ URL does it for this script's server.
wait_http_ () {
	_bw_n=0
	while test $_bw_n -lt $(($BACKEND_START_TIMEOUT * 10))
	do
		kill -0 "$2" 2>/dev/null || return 1
		curl -s -o /dev/null --max-time 2 "$1" && return 0
		sleep 0.1
		_bw_n=$(($_bw_n + 1))
	done
	return 1
}
backend_wait_ () {
	wait_http_ "$1" "$BACKEND_PID"
}

# backend_spawn_ LOG CMD...: CMD in the background, detached from the
# test's file descriptors (a server holding the TAP output open would keep
# prove waiting); its pid in BACKEND_PID.
backend_spawn_ () {
	_bs_log=$1
	shift
	"$@" </dev/null >>"$_bs_log" 2>&1 3>&- 4>&- 5>&- 6<&- 7>&- &
	BACKEND_PID=$!
}

backend_nginx_conf_ () {
	_bn_user=
	test "$(id -u)" = 0 && _bn_user='user root;'
	_bn_mods=
	for _bn_m in /usr/lib/nginx/modules/ngx_http_dav_ext_module.so \
		/usr/share/nginx/modules/ngx_http_dav_ext_module.so
	do
		if test -f "$_bn_m"
		then
			_bn_mods="load_module \"$_bn_m\";"
			break
		fi
	done
	cat >"$BACKEND_DIR/nginx.conf" <<-EOF
	daemon off;
	$_bn_user
	$_bn_mods
	worker_processes 2;
	pid "$BACKEND_DIR/nginx.pid";
	error_log "$BACKEND_DIR/error.log" info;
	events { worker_connections 256; }
	http {
		access_log "$BACKEND_DIR/access.log";
		client_body_temp_path "$BACKEND_DIR/tmp/body";
		proxy_temp_path "$BACKEND_DIR/tmp/proxy";
		fastcgi_temp_path "$BACKEND_DIR/tmp/fastcgi";
		uwsgi_temp_path "$BACKEND_DIR/tmp/uwsgi";
		scgi_temp_path "$BACKEND_DIR/tmp/scgi";
		dav_ext_lock_zone zone=lk:1m;
		server {
			listen 127.0.0.1:$BACKEND_PORT;
			root "$BACKEND_ROOT";
			client_max_body_size 0;
			location / {
				dav_methods PUT DELETE MKCOL COPY MOVE;
				dav_ext_methods PROPFIND OPTIONS LOCK UNLOCK;
				dav_ext_lock zone=lk;
				create_full_put_path on;
				dav_access user:rw group:r all:r;
				autoindex on;
			}
		}
	}
	EOF
}

# backend_start: start (or start again, on the same port) the server of
# this backend; nothing for dir.
backend_start () {
	case "$LEPTON_TEST_BACKEND" in
	dir) return 0 ;;
	esac
	test -z "$BACKEND_PID" || BUG "backend_start: the server is already running"
	mkdir -p "$BACKEND_DIR/tmp" || return 1
	: "${BACKEND_PORT:=$(free_port_)}"
	case "$LEPTON_TEST_BACKEND" in
	s3)
		backend_spawn_ "$BACKEND_DIR/moto.log" \
			moto_server -H 127.0.0.1 -p "$BACKEND_PORT"
		backend_wait_ "http://127.0.0.1:$BACKEND_PORT/" &&
		s3_curl_ -X PUT "http://127.0.0.1:$BACKEND_PORT/$BACKEND_BUCKET" >/dev/null ;;
	webdav)
		mkdir -p "$BACKEND_ROOT" &&
		backend_nginx_conf_ &&
		backend_spawn_ "$BACKEND_DIR/nginx.log" \
			nginx -e "$BACKEND_DIR/error.log" -p "$BACKEND_DIR" -c "$BACKEND_DIR/nginx.conf" &&
		backend_wait_ "http://127.0.0.1:$BACKEND_PORT/" ;;
	esac
	_bst_ret=$?
	if test $_bst_ret != 0
	then
		echo >&7 "# the $LEPTON_TEST_BACKEND server did not start on port $BACKEND_PORT; its log:"
		cat "$BACKEND_DIR"/*.log 2>/dev/null | tail -n 20 | sed -e 's/^/#   /' >&7
		backend_stop
	fi
	return $_bst_ret
}

# backend_stop: stop the server (the store becomes unreachable; a dir
# store is not touched).  The port is kept for backend_start.
backend_stop () {
	test -n "$BACKEND_PID" || return 0
	kill -TERM "$BACKEND_PID" 2>/dev/null
	_bsp_n=0
	while kill -0 "$BACKEND_PID" 2>/dev/null && test $_bsp_n -lt 50
	do
		sleep 0.1
		_bsp_n=$(($_bsp_n + 1))
	done
	kill -KILL "$BACKEND_PID" 2>/dev/null
	wait "$BACKEND_PID" 2>/dev/null
	BACKEND_PID=
	return 0
}

# start_backend: the backend of LEPTON_TEST_BACKEND, ready, and STORE_URL
# (what comes after "lepton::") for the store named "store".
start_backend () {
	case "$LEPTON_TEST_BACKEND" in
	s3)
		command -v moto_server >/dev/null ||
			backend_missing_ "moto_server is not installed"
		command -v curl >/dev/null || backend_missing_ "curl is not installed"
		# nothing of the caller's AWS setup may send the tests elsewhere
		# (HOME is the test's, so ~/.aws is empty)
		unset AWS_ENDPOINT_URL_S3 AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE \
			AWS_SESSION_TOKEN AWS_PROFILE
		AWS_ENDPOINT_URL='' AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
		AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
		export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
			AWS_REGION AWS_DEFAULT_REGION ;;
	webdav)
		command -v nginx >/dev/null || backend_missing_ "nginx is not installed"
		command -v curl >/dev/null || backend_missing_ "curl is not installed"
		nginx -V 2>&1 | grep -q -e dav-ext -e dav_ext ||
			test -f /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ||
			test -f /usr/share/nginx/modules/ngx_http_dav_ext_module.so ||
			backend_missing_ "the nginx WebDAV module (libnginx-mod-http-dav-ext) is not installed" ;;
	esac
	trap 'backend_cleanup_' EXIT
	trap 'backend_cleanup_; exit 130' INT
	trap 'backend_cleanup_; exit 143' TERM
	backend_start || error "cannot start the $LEPTON_TEST_BACKEND server (log in '$BACKEND_DIR')"
	case "$LEPTON_TEST_BACKEND" in
	s3)
		AWS_ENDPOINT_URL="http://127.0.0.1:$BACKEND_PORT"
		export AWS_ENDPOINT_URL ;;
	esac
	BACKEND_URL_BASE=$(backend_url_base_)
	STORE_URL=$(store_url store)
	if test "$LEPTON_TEST_BACKEND" = dir
	then
		STORE="$TRASH_DIRECTORY/store"
	fi
}

backend_cleanup_ () {
	stop_fault_proxy
	backend_stop
}

# No server outlives its script: stop them before test_done removes the
# trash directory (the EXIT trap covers error and --immediate).
test_done () {
	backend_cleanup_
	test_done_
}

backend_url_base_ () {
	case "$LEPTON_TEST_BACKEND" in
	dir) echo "$BACKEND_ROOT" ;;
	s3) echo "s3://$BACKEND_BUCKET" ;;
	webdav) echo "http://127.0.0.1:${FAULT_PROXY_PORT:-$BACKEND_PORT}" ;;
	esac
}

# store_url NAME: the URL (without lepton::) of the store named NAME.
store_url () {
	test $# = 1 || BUG "store_url NAME"
	echo "$BACKEND_URL_BASE/$1"
}

# ---- store inspection -------------------------------------------------------

# store_opt_ "$@": the store in _so_name, the number of words to shift in
# _so_shift.
store_opt_ () {
	_so_name=store
	_so_shift=0
	if test "$1" = -s
	then
		_so_name=$2
		_so_shift=2
	fi
}

# store_legacy_ PATH: the store name of a directory store given by its
# path (the scripts that pass STORE directories), in _so_name.
store_legacy_ () {
	test "$LEPTON_TEST_BACKEND" = dir ||
		BUG "a store given as a path ('$1') with LEPTON_TEST_BACKEND=$LEPTON_TEST_BACKEND"
	case "$1" in
	"$TRASH_DIRECTORY"/*) _so_name=${1#"$TRASH_DIRECTORY"/} ;;
	/*) BUG "store '$1' is outside the trash directory" ;;
	*) _so_name=$1 ;;
	esac
}

# the local path of KEY in store _so_name (dir and webdav)
store_path_ () {
	if test -n "$1"
	then
		echo "$BACKEND_ROOT/$_so_name/$1"
	else
		echo "$BACKEND_ROOT/$_so_name"
	fi
}

# s3_curl_ CURL-ARGS...: curl with SigV4 signatures (moto does not check
# them, s3rver does).
s3_curl_ () {
	curl -s -S --max-time 60 --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "testing:testing" "$@"
}

# s3_url_ KEY: the object URL of KEY in store _so_name.
s3_url_ () {
	_su_key="$_so_name/$1"
	# the characters tests use in keys need no escaping but the space
	echo "http://127.0.0.1:$BACKEND_PORT/$BACKEND_BUCKET/$(printf %s "$_su_key" | sed -e 's/ /%20/g')"
}

# store_cat [-s NAME] KEY: the bytes of KEY on stdout; fails when missing.
store_cat () {
	store_opt_ "$@"
	shift $_so_shift
	test $# = 1 || BUG "store_cat [-s NAME] KEY"
	case "$LEPTON_TEST_BACKEND" in
	s3) s3_curl_ -f "$(s3_url_ "$1")" ;;
	*) cat "$(store_path_ "$1")" ;;
	esac
}

# store_exists [-s NAME] KEY: KEY is an object of the store.
store_exists () {
	store_opt_ "$@"
	shift $_so_shift
	test $# = 1 || BUG "store_exists [-s NAME] KEY"
	case "$LEPTON_TEST_BACKEND" in
	s3) s3_curl_ -f -o /dev/null -I "$(s3_url_ "$1")" 2>/dev/null ;;
	*) test -f "$(store_path_ "$1")" ;;
	esac
}

# store_ls [-s NAME] [PREFIX]: every object under PREFIX (a directory of
# keys; all of the store without it), one key a line, sorted.
store_ls () {
	store_opt_ "$@"
	shift $_so_shift
	test $# -le 1 || BUG "store_ls [-s NAME] [PREFIX]"
	_sl_prefix=${1%/}
	case "$LEPTON_TEST_BACKEND" in
	s3)
		_sl_p="$_so_name/"
		test -z "$_sl_prefix" || _sl_p="$_sl_p$_sl_prefix/"
		_sl_token=
		: >"$TEST_TMP/store_ls"
		while :
		do
			s3_curl_ -f -G "http://127.0.0.1:$BACKEND_PORT/$BACKEND_BUCKET" \
				--data-urlencode list-type=2 --data-urlencode "prefix=$_sl_p" \
				${_sl_token:+--data-urlencode "continuation-token=$_sl_token"} \
				>"$TEST_TMP/store_ls.xml" || return 1
			sed -e 's/<Key>/\n&/g' "$TEST_TMP/store_ls.xml" |
			sed -n -e 's/^<Key>\([^<]*\)<\/Key>.*/\1/p' |
			sed -e 's/&amp;/\&/g' -e "s|^$_so_name/||" >>"$TEST_TMP/store_ls" || return 1
			grep -q "<IsTruncated>true</IsTruncated>" "$TEST_TMP/store_ls.xml" || break
			_sl_token=$(sed -n -e 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p' "$TEST_TMP/store_ls.xml")
			test -n "$_sl_token" || return 1
		done
		LC_ALL=C sort "$TEST_TMP/store_ls" ;;
	*)
		_sl_root=$(store_path_ "")
		test -d "$_sl_root/$_sl_prefix" || return 0
		(
			cd "$_sl_root" &&
			find "./$_sl_prefix" -type f | sed -e 's|^\./||' -e 's|^/||' | LC_ALL=C sort
		) ;;
	esac
}

# store_put [-s NAME] KEY FILE: write FILE as KEY (replacing it).
store_put () {
	store_opt_ "$@"
	shift $_so_shift
	test $# = 2 || BUG "store_put [-s NAME] KEY FILE"
	case "$LEPTON_TEST_BACKEND" in
	s3) s3_curl_ -f -T "$2" "$(s3_url_ "$1")" >/dev/null ;;
	*)
		_sp_path=$(store_path_ "$1")
		mkdir -p "$(dirname "$_sp_path")" &&
		rm -f "$_sp_path" &&
		cp "$2" "$_sp_path" ;;
	esac
}

# store_rm [-s NAME] KEY: remove KEY (a missing one is fine).
store_rm () {
	store_opt_ "$@"
	shift $_so_shift
	test $# = 1 || BUG "store_rm [-s NAME] KEY"
	case "$LEPTON_TEST_BACKEND" in
	s3) s3_curl_ -f -X DELETE "$(s3_url_ "$1")" >/dev/null ;;
	*) rm -f "$(store_path_ "$1")" ;;
	esac
}

# store_is_missing [-s NAME]: the store holds no object at all (it is
# missing, or an empty directory).
store_is_missing () {
	store_ls "$@" >"$TEST_TMP/store_missing" || return 1
	test -s "$TEST_TMP/store_missing" || return 0
	echo >&4 "store '${2:-store}' is not missing, it holds:"
	head -n 20 "$TEST_TMP/store_missing" >&4
	return 1
}

# store_make_empty [-s NAME]: an empty store place (an empty directory or
# collection; nothing on S3, where an empty prefix does not exist).
store_make_empty () {
	store_opt_ "$@"
	case "$LEPTON_TEST_BACKEND" in
	s3) return 0 ;;
	*) mkdir -p "$(store_path_ "")" ;;
	esac
}

# store_copy FROM TO: every object of store FROM, also in store TO.
store_copy () {
	test $# = 2 || BUG "store_copy FROM TO"
	case "$LEPTON_TEST_BACKEND" in
	s3)
		store_ls -s "$1" >"$TEST_TMP/store_copy" || return 1
		while IFS= read -r _sc_key
		do
			store_cat -s "$1" "$_sc_key" >"$TEST_TMP/store_copy.obj" &&
			store_put -s "$2" "$_sc_key" "$TEST_TMP/store_copy.obj" || return 1
		done <"$TEST_TMP/store_copy" ;;
	*)
		_so_name=$1
		_sc_from=$(store_path_ "")
		_so_name=$2
		cp -R "$_sc_from" "$(store_path_ "")" ;;
	esac
}

# store_snapshot [-s NAME] OUT (also STORE-DIRECTORY OUT): every key of the store with the SHA-256 of
# its object, in a stable order: two snapshots are equal when nothing in
# the store changed (a directory store also lists its directories, and
# file modes).
store_snapshot () {
	store_opt_ "$@"
	shift $_so_shift
	if test $# = 2
	then
		store_legacy_ "$1"
		shift
	fi
	test $# = 1 || BUG "store_snapshot [-s NAME] OUT"
	case "$LEPTON_TEST_BACKEND" in
	s3)
		_ss_name=$_so_name
		store_ls -s "$_ss_name" >"$TEST_TMP/store_snapshot" || return 1
		while IFS= read -r _ss_key
		do
			printf '%s %s\n' "$_ss_key" \
				"$(store_cat -s "$_ss_name" "$_ss_key" | sha256sum | cut -c1-64)" || return 1
		done <"$TEST_TMP/store_snapshot" >"$1" ;;
	*)
		(
			cd "$(store_path_ "")" &&
			find . -print | LC_ALL=C sort | while IFS= read -r _ss_path
			do
				if test -f "$_ss_path"
				then
					printf '%s %s %s\n' "$_ss_path" "$(stat -c %a "$_ss_path")" \
						"$(sha256sum <"$_ss_path" | cut -c1-64)"
				else
					printf '%s\n' "$_ss_path"
				fi
			done
		) >"$1" ;;
	esac
}

# store_save [-s NAME] DIR / store_load [-s NAME] DIR: copy every object
# of the store to local files under DIR, and back.
store_save () {
	store_opt_ "$@"
	shift $_so_shift
	_sv_name=$_so_name
	rm -rf "$1" && mkdir -p "$1" &&
	store_ls -s "$_sv_name" >"$1.keys" || return 1
	while IFS= read -r _sv_key
	do
		mkdir -p "$(dirname "$1/$_sv_key")" &&
		store_cat -s "$_sv_name" "$_sv_key" >"$1/$_sv_key" || return 1
	done <"$1.keys"
}

store_load () {
	store_opt_ "$@"
	shift $_so_shift
	_sd_name=$_so_name
	while IFS= read -r _sd_key
	do
		store_put -s "$_sd_name" "$_sd_key" "$1/$_sd_key" || return 1
	done <"$1.keys"
}

# store_content_bytes [-s NAME]: bytes of model content (packs and
# recipes).  (Also "STORE-DIRECTORY".)
store_content_bytes () {
	store_opt_ "$@"
	shift $_so_shift
	test $# = 0 || store_legacy_ "$1"
	case "$LEPTON_TEST_BACKEND" in
	s3)
		_sb_p="$_so_name/"
		for _sb_dir in packs recipes
		do
			s3_curl_ -f -G "http://127.0.0.1:$BACKEND_PORT/$BACKEND_BUCKET" \
				--data-urlencode list-type=2 --data-urlencode "prefix=$_sb_p$_sb_dir/" ||
				return 1
		done | sed -e 's/<Size>/\n&/g' | sed -n -e 's/^<Size>\([0-9]*\)<.*/\1/p' |
		awk '{ n += $1 } END { printf "%d\n", n }' ;;
	*)
		_sb_root=$(store_path_ "")
		find "$_sb_root/packs" "$_sb_root/recipes" -type f -printf '%s\n' 2>/dev/null |
		awk '{ n += $1 } END { printf "%d\n", n }' ;;
	esac
}

# store_vanish_prepare / store_vanish / store_restore: the store goes
# away in the middle of something and comes back: a directory store is
# moved away and back (what was made at its place meanwhile goes to
# store.recreated); a server is stopped and started again on the same
# port.  moto keeps nothing, so the S3 store is saved by
# store_vanish_prepare (before the command, so that store_vanish is quick)
# and loaded again as it was then.
store_vanish_prepare () {
	rm -rf "$TEST_TMP/vanished" "$TEST_TMP/vanished.keys"
	case "$LEPTON_TEST_BACKEND" in
	s3) store_save "$TEST_TMP/vanished" ;;
	esac
}

store_vanish () {
	case "$LEPTON_TEST_BACKEND" in
	dir) mv "$STORE" "$STORE.gone" ;;
	s3)
		if ! test -f "$TEST_TMP/vanished.keys"
		then
			store_save "$TEST_TMP/vanished" || return 1
		fi
		backend_stop ;;
	webdav) backend_stop ;;
	esac
}

store_restore () {
	case "$LEPTON_TEST_BACKEND" in
	dir)
		if test -d "$STORE.gone"
		then
			rm -rf store.recreated &&
			if test -e "$STORE"
			then
				mv "$STORE" store.recreated
			fi &&
			mv "$STORE.gone" "$STORE"
		fi ;;
	s3)
		test -n "$BACKEND_PID" && return 0
		backend_start && store_load "$TEST_TMP/vanished" &&
		rm -rf "$TEST_TMP/vanished" "$TEST_TMP/vanished.keys" ;;
	webdav)
		test -n "$BACKEND_PID" && return 0
		backend_start ;;
	esac
}

# ---- the fault-injecting proxy ----------------------------------------------

# start_fault_proxy: t/helper/fault-proxy in front of the server (s3 and
# webdav only): STORE_URL and every store_url go through it (and
# AWS_ENDPOINT_URL for s3), the store_* helpers still go straight to the
# server.  Its rules are read from FAULT_RULES (empty: forward everything)
# on every request, its log of requests is FAULT_LOG.
start_fault_proxy () {
	test "$LEPTON_TEST_BACKEND" != dir || BUG "start_fault_proxy: a directory store has no server"
	test -z "$FAULT_PROXY_PID" || BUG "start_fault_proxy: it runs already"
	FAULT_RULES="$TRASH_DIRECTORY/fault-rules"
	FAULT_LOG="$TRASH_DIRECTORY/fault-log"
	: >"$FAULT_RULES" && : >"$FAULT_LOG" || return 1
	FAULT_PROXY_PORT=$(free_port_)
	python3 "$TEST_DIRECTORY/helper/fault-proxy" --listen "127.0.0.1:$FAULT_PROXY_PORT" \
		--upstream "127.0.0.1:$BACKEND_PORT" --rules "$FAULT_RULES" --log "$FAULT_LOG" \
		</dev/null >>"$BACKEND_DIR/fault-proxy.log" 2>&1 3>&- 4>&- 5>&- 6<&- 7>&- &
	FAULT_PROXY_PID=$!
	_sfp_n=0
	# ready when it has forwarded and logged a first request
	until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$FAULT_PROXY_PORT/" &&
		test -s "$FAULT_LOG"
	do
		_sfp_n=$(($_sfp_n + 1))
		if test $_sfp_n -gt 100 || ! kill -0 $FAULT_PROXY_PID 2>/dev/null
		then
			cat "$BACKEND_DIR/fault-proxy.log" >&4
			stop_fault_proxy
			return 1
		fi
		sleep 0.1
	done
	: >"$FAULT_LOG"
	if test "$LEPTON_TEST_BACKEND" = s3
	then
		AWS_ENDPOINT_URL="http://127.0.0.1:$FAULT_PROXY_PORT"
		export AWS_ENDPOINT_URL
	fi
	BACKEND_URL_BASE=$(backend_url_base_)
	STORE_URL=$(store_url store)
}

stop_fault_proxy () {
	test -n "$FAULT_PROXY_PID" || return 0
	kill -TERM "$FAULT_PROXY_PID" 2>/dev/null
	wait "$FAULT_PROXY_PID" 2>/dev/null
	FAULT_PROXY_PID=
	FAULT_PROXY_PORT=
	if test "$LEPTON_TEST_BACKEND" = s3
	then
		AWS_ENDPOINT_URL="http://127.0.0.1:$BACKEND_PORT"
		export AWS_ENDPOINT_URL
	fi
	BACKEND_URL_BASE=$(backend_url_base_)
	STORE_URL=$(store_url store)
}

# fault_rules RULE...: the proxy's rules, one argument a line (none:
# forward everything); see t/helper/fault-proxy for the format.
fault_rules () {
	printf '%s\n' "$@" >"$FAULT_RULES.new" &&
	mv "$FAULT_RULES.new" "$FAULT_RULES"
}

# fault_count METHOD PATH-REGEX: how many requests the proxy saw.
fault_count () {
	awk -v m="$1" -v p="$2" '($1 == m || m == "*") && $2 ~ p { n++ } END { print n + 0 }' "$FAULT_LOG"
}
