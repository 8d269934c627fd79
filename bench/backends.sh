#!/bin/sh
# backends.sh: push and clone through each kind of store, on one model history.
#
#   sh bench/backends.sh [--size-mb N] [--repeat N] [--backends "dir copy s3 webdav"] [--keep]
#   make bench [BENCH_SIZE_MB=N]     (runs it after bench.sh)
#
# The history of bench.sh (v0, then v1 with 10 % of the tensors retrained,
# from test-genmodel) is committed once, then for each store:
#   dir     a lepton:: directory store on this disk (hard links, as a
#           store on the same file system gets them)
#   copy    the same with lepton.hardlinks=false (every byte copied)
#   s3      moto_server on loopback (lepton::s3://bucket/prefix)
#   webdav  nginx with WebDAV on loopback (lepton::http://127.0.0.1:PORT/...)
# it times git push of both versions into an empty store, then --repeat
# rounds (median reported) of git clone with checkout (it checks every byte
# of each clone), then git lepton fsck --remote --full (time, requests and
# peak memory).  The servers are started as the test suite starts them
# (t/lib-backend.sh), and their logs count the requests each step sent.
# Prints a table: seconds, model MiB/s (the raw bytes of the versions
# pushed, or of the file checked out, per second), requests, requests per
# GiB moved (the store's bytes pushed, or the clone's local store), and
# each time against the directory store's (copy) time; then what curl
# alone gets from each server (one object of the model's size PUT and GET),
# the ceiling of any client of that server.  Needs moto_server
# and nginx with libnginx-mod-http-dav-ext (a backend whose server is
# missing is reported and skipped), and about 6 times the model size of
# free disk under ${TMPDIR:-/tmp}.
set -u

usage() {
	sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit "$1"
}

SIZE_MB=${BENCH_SIZE_MB:-1024}
REPEAT=3
BACKENDS="dir copy s3 webdav"
KEEP=
while [ $# -gt 0 ]; do
	case $1 in
	--size-mb) [ $# -ge 2 ] || usage 129; SIZE_MB=$2; shift 2 ;;
	--repeat) [ $# -ge 2 ] || usage 129; REPEAT=$2; shift 2 ;;
	--backends) [ $# -ge 2 ] || usage 129; BACKENDS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage 0 ;;
	*) usage 129 ;;
	esac
done
case $SIZE_MB$REPEAT in
'' | *[!0-9]*) echo "backends: --size-mb and --repeat take whole numbers" >&2; exit 129 ;;
esac

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LEPTON_BIN:-$TOP/bin}
for d in "${PYENV_ROOT:-$HOME/.pyenv}/shims" /root/.pyenv/shims; do
	if [ -d "$d" ]; then PATH="$PATH:$d"; fi
done
PATH="$BIN:$PATH"
export PATH
GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_NOSYSTEM
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE XDG_CONFIG_HOME

say() { echo "backends: $*" >&2; }
die() { say "$*"; exit 1; }
[ -x "$BIN/git-lepton" ] || die "no '$BIN/git-lepton'; run 'make' first"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lepton-backends.XXXXXX") || exit 1

# What t/lib-backend.sh needs of the test library, to start and stop the
# servers as the tests do.
TEST_DIRECTORY=$TOP/t
TEST_META=$WORK/meta
TEST_TMP=$WORK/meta/tmp
TRASH_DIRECTORY=$WORK
mkdir -p "$TEST_TMP"
test_set_prereq() { :; }
error() { die "$*"; }
BUG() { die "bug: $*"; }
exec 4>&2 7>&2
CI=

cleanup() {
	if [ -n "$KEEP" ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

GENMODEL=$TOP/t/helper/test-genmodel
[ -x "$GENMODEL" ] || die "no '$GENMODEL'; run 'make t/helper/test-genmodel'"
say "generating the models ($SIZE_MB MiB) in $WORK"
"$GENMODEL" "$WORK/v0.safetensors" --size-mb "$SIZE_MB" || die "test-genmodel failed"
"$GENMODEL" "$WORK/v1.safetensors" --size-mb "$SIZE_MB" --version 1 --changed 0.1 ||
	die "test-genmodel failed"
RAW=$(stat -c %s "$WORK/v0.safetensors")

HOME=$WORK/home
export HOME
mkdir -p "$HOME"
git config --global user.name bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
git lepton install --global --skip-repo >/dev/null 2>&1 || die "git lepton install failed"
git init -q "$WORK/src" && cd "$WORK/src" || die "cannot create the repository"
git lepton track '*.safetensors' >/dev/null && git add .gitattributes &&
	git commit -qm attributes || die "cannot track"
for v in 0 1; do
	cp "$WORK/v$v.safetensors" model.safetensors
	touch -d "@$(($(date +%s) - 20 + 10 * v))" model.safetensors
	git add model.safetensors && git commit -qm "v$v" || die "cannot commit v$v"
done
cd "$WORK" || exit 1

put() { eval "R_$1_$2=\$3"; }
get() { eval "printf '%s' \"\${R_$1_$2:-}\""; }
STATUS=0

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

# requests the server logged so far
requests() {
	case $LEPTON_TEST_BACKEND in
	s3) grep -c '" [0-9][0-9][0-9] ' "$BACKEND_DIR/moto.log" 2>/dev/null ;;
	webdav) wc -l <"$BACKEND_DIR/access.log" 2>/dev/null ;;
	*) echo 0 ;;
	esac
}

# server_ceiling NAME: what the server itself sustains, without git-lepton:
# curl PUTs v0 as one object and GETs it back (for S3 signed, unsigned
# payload); the times are the floor any client of that server pays.
server_ceiling() {
	case $LEPTON_TEST_BACKEND in
	s3)
		obj=http://127.0.0.1:$BACKEND_PORT/$BACKEND_BUCKET/ceiling
		set -- curl -s -S --aws-sigv4 "aws:amz:us-east-1:s3" -u testing:testing \
			-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" ;;
	webdav)
		obj=http://127.0.0.1:$BACKEND_PORT/ceiling
		set -- curl -s -S ;;
	*) return 0 ;;
	esac
	t0=$(now)
	"$@" -f -T "$WORK/v0.safetensors" -o /dev/null "$obj" || return 0
	t1=$(now)
	"$@" -f -o /dev/null "$obj" || return 0
	t2=$(now)
	put "$name" ceil_put "$(secs "$t0" "$t1")"
	put "$name" ceil_get "$(secs "$t1" "$t2")"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

run_backend() {
	name=$1
	case $name in
	dir | copy) LEPTON_TEST_BACKEND=dir ;;
	*) LEPTON_TEST_BACKEND=$name ;;
	esac
	BACKEND_DIR=$WORK/meta/backend-$name
	BACKEND_PORT=
	BACKEND_PID=
	SKIPPED=
	case $LEPTON_TEST_BACKEND in
	dir) BACKEND_ROOT=$WORK/store-$name ;;
	webdav) BACKEND_ROOT=$WORK/dav-$name ;;
	s3) BACKEND_ROOT= ;;
	esac
	case $LEPTON_TEST_BACKEND in
	s3) command -v moto_server >/dev/null || SKIPPED="moto_server is not installed" ;;
	webdav) command -v nginx >/dev/null || SKIPPED="nginx is not installed" ;;
	esac
	if [ -n "$SKIPPED" ]; then
		say "$name: skipped: $SKIPPED"
		put "$name" skipped 1
		return
	fi
	start_backend
	trap 'backend_cleanup_; cleanup' EXIT
	url=lepton::$(store_url "bench-$name")
	links=true
	[ "$name" = copy ] && links=false
	git config --global lepton.hardlinks $links

	git -C "$WORK/src" remote remove origin 2>/dev/null
	git -C "$WORK/src" remote add origin "$url"
	say "$name: push to $url"
	r0=$(requests)
	t0=$(now)
	git -C "$WORK/src" push -q origin main 2>"$WORK/err" || {
		sed 's/^/    /' "$WORK/err" >&2
		put "$name" push FAIL
		STATUS=1
		backend_cleanup_
		return
	}
	t1=$(now)
	r1=$(requests)
	put "$name" push "$(secs "$t0" "$t1")"
	put "$name" push_req $((r1 - r0))
	moved=$(du -sb "$WORK/src/.git/lepton/packs" | cut -f1)
	put "$name" push_moved "$moved"

	: >"$WORK/clone-times"
	for round in $(seq "$REPEAT"); do
		rm -rf "$WORK/clone"
		sync
		r0=$(requests)
		t0=$(now)
		if ! git clone -q "$url" "$WORK/clone" 2>"$WORK/err"; then
			sed 's/^/    /' "$WORK/err" >&2
			put "$name" clone FAIL
			STATUS=1
			break
		fi
		t1=$(now)
		r1=$(requests)
		if ! cmp -s "$WORK/clone/model.safetensors" "$WORK/v1.safetensors"; then
			say "$name: the clone's model differs from v1"
			put "$name" clone BAD
			STATUS=1
			break
		fi
		secs "$t0" "$t1" >>"$WORK/clone-times"
		echo >>"$WORK/clone-times"
		put "$name" clone_req $((r1 - r0))
		put "$name" clone_moved "$(du -sb "$WORK/clone/.git/lepton/packs" | cut -f1)"
	done
	[ -n "$(get "$name" clone)" ] || put "$name" clone "$(median <"$WORK/clone-times")"
	rm -rf "$WORK/clone"

	# fsck of the store where it lies: every frame read once, decoded and
	# hashed, delta bases by range; memory and local disk stay small
	sync
	r0=$(requests)
	t0=$(now)
	if /usr/bin/time -f %M -o "$WORK/fsck-rss" \
		git -C "$WORK/src" lepton fsck --remote origin --full >"$WORK/err" 2>&1; then
		t1=$(now)
		put "$name" fsck "$(secs "$t0" "$t1")"
		put "$name" fsck_rss $(($(tail -n 1 "$WORK/fsck-rss") / 1024))
	else
		sed 's/^/    /' "$WORK/err" >&2
		put "$name" fsck FAIL
		STATUS=1
	fi
	r1=$(requests)
	put "$name" fsck_req $((r1 - r0))
	put "$name" fsck_moved "$moved"
	server_ceiling "$name"
	backend_cleanup_
}

# shellcheck source=../t/lib-backend.sh
. "$TOP/t/lib-backend.sh"
trap cleanup EXIT

for b in $BACKENDS; do
	case $b in
	dir | copy | s3 | webdav) run_backend "$b" ;;
	*) die "unknown backend '$b'; use dir, copy, s3 or webdav" ;;
	esac
done
git config --global --unset lepton.hardlinks

mibs() { awk -v b="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", b / 1048576 / t; else print "-" }'; }
per_gib() { awk -v r="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", r / (b / 1073741824); else print "-" }'; }
vs() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "" && a + 0 == a) printf "%.2fx", a / b; else print "-" }'; }

echo
echo "model: $((RAW / 1048576)) MiB a version, 2 versions; clone: median of $REPEAT"
printf '%-7s %-5s %8s %8s %9s %9s %9s\n' store step seconds "MiB/s" requests "req/GiB" "vs copy"
for b in $BACKENDS; do
	if [ -n "$(get "$b" skipped)" ]; then
		printf '%-7s skipped (its server is not installed)\n' "$b"
		continue
	fi
	for step in push clone fsck; do
		t=$(get "$b" "$step")
		raw=$((RAW * 2))
		[ "$step" = clone ] && raw=$RAW
		req=$(get "$b" "${step}_req")
		printf '%-7s %-5s %8s %8s %9s %9s %9s\n' "$b" "$step" "$t" "$(mibs "$raw" "$t")" \
			"${req:--}" "$(per_gib "${req:-0}" "$(get "$b" "${step}_moved")")" \
			"$(vs "$t" "$(get copy "$step")")"
	done
done
for b in s3 webdav; do
	p=$(get "$b" ceil_put)
	[ -n "$p" ] || continue
	printf '%-7s curl: one %s MiB object PUT in %s s (%s MiB/s), GET in %s s (%s MiB/s)\n' "$b" \
		$((RAW / 1048576)) "$p" "$(mibs "$RAW" "$p")" "$(get "$b" ceil_get)" \
		"$(mibs "$RAW" "$(get "$b" ceil_get)")"
done
rss="fsck --remote --full, peak memory (MiB):"
for b in $BACKENDS; do
	[ -n "$(get "$b" fsck_rss)" ] && rss="$rss $b $(get "$b" fsck_rss)"
done
echo "$rss"
summary="summary:"
for b in s3 webdav; do
	case " $BACKENDS " in *" $b "*) ;; *) continue ;; esac
	[ -z "$(get "$b" skipped)" ] || continue
	summary="$summary $b push $(vs "$(get "$b" push)" "$(get copy push)") clone $(vs "$(get "$b" clone)" "$(get copy clone)")"
done
echo "$summary (of the directory store's time, copying)"
exit $STATUS
