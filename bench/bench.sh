#!/bin/sh
# bench.sh: git-lepton against git-lfs, in one run, on a synthetic model.
#
#   sh bench/bench.sh [--size-mb N] [--tools "lfs lepton"] [--keep] [--no-filter-rss]
#                     [--repeat N]   (checkout rounds, median reported; default 5)
#   make bench [BENCH_SIZE_MB=N] [BENCH_SETTLE=seconds before each step, 5]
#
# Takes about seven minutes with the default 1024 MiB model on a 2-core
# machine (four of them the pauses that let each step start from settled
# memory; the rest mostly git-lfs and writing files, growing linearly with
# --size-mb), and needs free disk of about 8 times the model size under
# ${TMPDIR:-/tmp}; the bench itself holds a few MiB of memory.
#
# The workload: v0 (the base model, test-genmodel, bf16, LLaMA-like) and v1
# (10 % of the tensors retrained).  For each tool, with its own HOME and its
# own repository, it times:
#   git add v0, git commit, git add v1, git commit,
#   git push of both (git-lfs: to a bare repository on this disk;
#   git-lepton: to a lepton:: directory store on this disk),
# then, the tools taking turns for --repeat rounds (median reported):
#   rm + git checkout -- model.safetensors          (the HEAD version)
#   git checkout HEAD~1 -- model.safetensors        (the older version)
#   git clone of the remote, with checkout
#   and the same clone of git-lepton's remote with its checkout through
#   t/helper/test-null-filter, a filter that sends the file and does nothing
#   else: git's own share of any filter's checkout, the floor of the row above
# checks that git stores a pointer, compares every byte after each checkout,
# records the local and remote stores' sizes, and the peak
# resident memory of each step: of git and all it ran (GNU time around the
# git command), and of the filter process alone (GNU time put in front of
# filter.<driver>.process in the repository's config; --no-filter-rss skips
# that).  Prints a table (ratio = lepton / lfs, below 1 means git-lepton does
# better) and a last line that starts with "summary:".
#
# git-lepton comes from the build (bin/, or LEPTON_BIN=<dir>), git-lfs
# from PATH; without git-lfs only git-lepton runs.  Exit status: 0 when every
# step of every tool ran and every byte matched.
set -u

usage() {
	sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit "$1"
}

SIZE_MB=${BENCH_SIZE_MB:-1024}
SETTLE=${BENCH_SETTLE:-5}
TOOLS=
KEEP=
REPEAT=5
FILTER_RSS=1
while [ $# -gt 0 ]; do
	case $1 in
	--size-mb) [ $# -ge 2 ] || usage 129; SIZE_MB=$2; shift 2 ;;
	--tools) [ $# -ge 2 ] || usage 129; TOOLS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--repeat) [ $# -ge 2 ] || usage 129; REPEAT=$2; shift 2 ;;
	--no-filter-rss) FILTER_RSS=; shift ;;
	-h | --help) usage 0 ;;
	*) usage 129 ;;
	esac
done
case $SIZE_MB in
'' | *[!0-9]*) echo "bench: bad --size-mb '$SIZE_MB'; give a whole number of MiB" >&2; exit 129 ;;
esac

TOP=$(cd "$(dirname "$0")/.." && pwd)
# the build puts the commands in bin/; LEPTON_BIN=<dir> takes another build
BIN=${LEPTON_BIN:-$TOP/bin}
PATH="$BIN:$PATH"
export PATH
# keep the caller's git configuration out of the measurements
GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_NOSYSTEM
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE XDG_CONFIG_HOME

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -z "$TOOLS" ]; then
	if git lfs version >/dev/null 2>&1; then
		TOOLS="lfs lepton"
	else
		say "git-lfs is not installed; measuring git-lepton alone"
		TOOLS=lepton
	fi
fi
for tool in $TOOLS; do
	case $tool in
	lfs) git lfs version >/dev/null 2>&1 || die "git-lfs is not installed; try --tools lepton" ;;
	lepton) [ -x "$BIN/git-lepton" ] || die "no '$BIN/git-lepton'; run 'make' first" ;;
	*) die "unknown tool '$tool'; use lfs or lepton" ;;
	esac
done
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing; install the 'time' package"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lepton-bench.XXXXXX") || exit 1
cleanup() {
	if [ -n "$KEEP" ]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

GENMODEL=$TOP/t/helper/test-genmodel
# a smudge filter that does no work, for the floor of a clone's checkout
NULL_FILTER=$TOP/t/helper/test-null-filter
[ -x "$NULL_FILTER" ] || NULL_FILTER=
if [ ! -x "$GENMODEL" ]; then
	GENMODEL=$WORK/test-genmodel
	cc -O2 -o "$GENMODEL" "$TOP/t/helper/test-genmodel.c" -lm ||
		die "cannot build test-genmodel; run 'make t/helper/test-genmodel'"
fi

say "generating the models ($SIZE_MB MiB) in $WORK"
"$GENMODEL" "$WORK/v0.safetensors" --size-mb "$SIZE_MB" || die "test-genmodel failed"
"$GENMODEL" "$WORK/v1.safetensors" --size-mb "$SIZE_MB" --version 1 --changed 0.1 ||
	die "test-genmodel failed"
RAW=$(stat -c %s "$WORK/v0.safetensors")

# Results live in variables R_<tool>_<key>; POSIX sh has no arrays.
put() { eval "R_$1_$2=\$3"; }
get() { eval "printf '%s' \"\${R_$1_$2:-}\""; }
STATUS=0

fail() {
	say "$tool: $*"
	put "$tool" failed 1
	STATUS=1
}

kib_to_mib() { awk '{ v = $1 } END { if (v != "") printf "%.0f", v / 1024 }' "$@"; }
max_kib_to_mib() { awk '$1 + 0 > m { m = $1 + 0 } END { if (NR) printf "%.0f", m / 1024 }' "$@"; }

# backdate FILE SECONDS: an mtime in an earlier second than the index's, as
# a model copied from a training run has; otherwise git (built without
# USE_NSEC) finds the entry racily clean and runs the clean filter again in
# the next command, and commit times depend on where a second boundary
# falls.  Each version gets its own mtime, so git sees that v1 differs.
backdate() { touch -d "@$(($(date +%s) - $2))" "$1"; }

# measure KEY CMD...: run CMD, record its time in seconds (KEY), the peak
# RSS of CMD and its children (rss_KEY) and of the filter (frss_KEY), in MiB.
# Does nothing once a step of this tool has failed.
measure() {
	key=$1
	shift
	[ -z "$(get "$tool" failed)" ] || return 1
	say "$tool: $*"
	: >"$WORK/filter-rss"
	# the previous step's dirty pages reach the disk first, so their
	# write-back is not billed to this step; and the memory it freed
	# settles: on a virtual machine that hands freed memory back to its
	# host, the first touch of memory costs a fault in the host, and a
	# step that follows a large free would find its memory warm
	sync
	sleep "$SETTLE"
	t0=$(date +%s%N)
	if /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$WORK/out" 2>&1; then
		t1=$(date +%s%N)
		put "$tool" "$key" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
		put "$tool" "rss_$key" "$(kib_to_mib "$WORK/rss")"
		[ -z "$FILTER_RSS" ] || put "$tool" "frss_$key" "$(max_kib_to_mib "$WORK/filter-rss")"
		return 0
	fi
	put "$tool" "$key" FAIL
	sed 's/^/    /' "$WORK/out" >&2
	fail "'$*' failed"
	return 1
}

# verify FILE EXPECTED: the checked-out file must be the generated one.
verify() {
	[ -z "$(get "$tool" failed)" ] || return 1
	if ! cmp -s "$1" "$2"; then
		put "$tool" "$key" "BAD"
		fail "'$1' differs from '$2' after the checkout"
		return 1
	fi
}

# assert_pointer REV: git must hold a small pointer, not the model's bytes
# (a filter that is not configured would silently store the raw file).
assert_pointer() {
	[ -z "$(get "$tool" failed)" ] || return 1
	size=$(git cat-file -s "$1:model.safetensors" 2>/dev/null)
	first=$(git cat-file -p "$1:model.safetensors" 2>/dev/null | head -n 1)
	if [ "${size:-0}" -ge 1024 ] || [ "$first" != "version https://git-lfs.github.com/spec/v1" ]; then
		fail "git stores ${size:-no} bytes at $1:model.safetensors, not a pointer"
		return 1
	fi
}

# wrap_filter: put GNU time in front of the long-running filter of the
# driver that .gitattributes names, in this repository's config only.
wrap_filter() {
	driver=$(sed -n 's/.*filter=\([^ ]*\).*/\1/p' .gitattributes | head -n 1)
	process=$(git config --get "filter.$driver.process")
	[ -n "$process" ] || { fail "no filter.$driver.process after install"; return 1; }
	git config "filter.$driver.process" "/usr/bin/time -a -o '$WORK/filter-rss' -f %M $process"
}

run_tool() {
	HOME=$WORK/home-$tool
	export HOME
	mkdir -p "$HOME"
	git config --global user.name bench
	git config --global user.email bench@example.com
	git config --global init.defaultBranch main
	git config --global advice.detachedHead false
	repo=$WORK/$tool-repo
	git init -q "$repo" && cd "$repo" || { fail "cannot create $repo"; return; }
	case $tool in
	lfs)
		git lfs install --skip-repo >"$WORK/out" 2>&1 &&
			git lfs track '*.safetensors' >>"$WORK/out" 2>&1
		;;
	lepton)
		git lepton install >"$WORK/out" 2>&1 &&
			git lepton track '*.safetensors' >>"$WORK/out" 2>&1
		;;
	esac || { sed 's/^/    /' "$WORK/out" >&2; fail "install or track failed"; return; }
	if [ -n "$FILTER_RSS" ]; then
		wrap_filter || return
	fi
	git add .gitattributes && git commit -qm attributes || { fail "cannot commit .gitattributes"; return; }

	cp "$WORK/v0.safetensors" model.safetensors
	backdate model.safetensors 20
	measure add0 git add model.safetensors
	measure commit0 git commit -qm v0
	assert_pointer HEAD
	cp "$WORK/v1.safetensors" model.safetensors
	backdate model.safetensors 10
	measure add1 git add model.safetensors
	measure commit1 git commit -qm v1
	assert_pointer HEAD
	store=.git/$tool
	[ -d "$store" ] && put "$tool" store "$(du -sb "$store" | cut -f1)"

	# share: push both versions, then clone (with checkout) from there
	case $tool in
	lfs)
		git init -q --bare "$WORK/lfs-remote.git"
		remote=$WORK/lfs-remote.git
		remote_dir=$remote
		;;
	lepton)
		remote=lepton::$WORK/lepton-store
		remote_dir=$WORK/lepton-store
		;;
	esac
	git remote add origin "$remote"
	measure push git push -q origin main
	[ -d "$remote_dir" ] && put "$tool" remote "$(du -sb "$remote_dir" | cut -f1)"
	put "$tool" url "$remote"
	cd "$WORK" || return
}

# One round of one tool: the HEAD version checked out into a removed file,
# then the older version over it, then a clone of the remote with checkout.
checkout_round() {
	HOME=$WORK/home-$tool
	export HOME
	cd "$WORK/$tool-repo" || return
	git reset -q --hard HEAD
	rm -f model.safetensors
	measure "co_head_$r" git checkout -- model.safetensors &&
		verify model.safetensors "$WORK/v1.safetensors"
	measure "co_old_$r" git checkout HEAD~1 -- model.safetensors &&
		verify model.safetensors "$WORK/v0.safetensors"
	cd "$WORK" || return
	rm -rf "$WORK/$tool-clone"
	measure "clone_$r" git clone -q "$(get "$tool" url)" "$WORK/$tool-clone" &&
		verify "$WORK/$tool-clone/model.safetensors" "$WORK/v1.safetensors"
	rm -rf "$WORK/$tool-clone"
	[ "$tool" = lepton ] && [ -n "$NULL_FILTER" ] || return 0
	# the same clone, its checkout through a filter that does no work:
	# git's own share of any filter's checkout
	NULL_FILTER_FILE=$WORK/v1.safetensors
	export NULL_FILTER_FILE
	measure "clone_floor_$r" git -c filter.lepton.process="$NULL_FILTER" \
		clone -q "$(get "$tool" url)" "$WORK/$tool-clone" &&
		verify "$WORK/$tool-clone/model.safetensors" "$WORK/v1.safetensors"
	unset NULL_FILTER_FILE
	rm -rf "$WORK/$tool-clone"
}

for tool in $TOOLS; do
	run_tool
done

# Checkout times on a shared machine swing by 2x from minute to minute:
# the tools take turns, round after round, so a busy minute hits both, and
# the median of REPEAT rounds is reported.
r=1
while [ "$r" -le "$REPEAT" ]; do
	for tool in $TOOLS; do
		checkout_round
	done
	r=$((r + 1))
done
for tool in $TOOLS; do
	for k in co_head co_old clone clone_floor; do
		for pre in "" rss_ frss_; do
			put "$tool" "$pre$k" "$(r=1; while [ "$r" -le "$REPEAT" ]; do
				get "$tool" "$pre${k}_$r"; echo; r=$((r + 1)); done |
				sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')"
		done
	done
	[ -n "$KEEP" ] || rm -rf "$WORK/$tool-repo"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
mib() { [ -n "$1" ] && awk -v a="$1" 'BEGIN { printf "%.0f", a / 1048576 }'; }
row() {
	printf '%-38s %10s %10s %8s\n' "$1" "$2" "$3" "$(ratio "$3" "$2")"
}

echo
printf '%-38s %10s %10s %8s\n' "workload: $(mib "$RAW") MiB, v1 10 % retrained" lfs lepton ratio
row "git add v0 (s)" "$(get lfs add0)" "$(get lepton add0)"
row "git commit v0 (s)" "$(get lfs commit0)" "$(get lepton commit0)"
row "git add v1 (s)" "$(get lfs add1)" "$(get lepton add1)"
row "git commit v1 (s)" "$(get lfs commit1)" "$(get lepton commit1)"
row "checkout HEAD, file removed (s)" "$(get lfs co_head)" "$(get lepton co_head)"
row "checkout HEAD~1 -- file (s)" "$(get lfs co_old)" "$(get lepton co_old)"
row "local store, 2 versions (MiB)" "$(mib "$(get lfs store)")" "$(mib "$(get lepton store)")"
row "git push, both versions (s)" "$(get lfs push)" "$(get lepton push)"
row "remote, 2 versions (MiB)" "$(mib "$(get lfs remote)")" "$(mib "$(get lepton remote)")"
row "git clone with checkout (s)" "$(get lfs clone)" "$(get lepton clone)"
[ -z "$(get lepton clone_floor)" ] ||
	row "  the same, a filter doing no work (s)" "$(get lfs clone)" "$(get lepton clone_floor)"
for k in add0 add1 co_head co_old; do
	row "peak RSS $k, git+filter (MiB)" "$(get lfs "rss_$k")" "$(get lepton "rss_$k")"
done
if [ -n "$FILTER_RSS" ]; then
	for k in add0 add1 co_head co_old; do
		row "peak RSS $k, filter (MiB)" "$(get lfs "frss_$k")" "$(get lepton "frss_$k")"
	done
fi
max_frss() {
	for k in add0 add1 co_head co_old; do get "$1" "frss_$k"; echo; done |
		awk '$1 + 0 > m { m = $1 + 0 } END { if (m) print m; else print "-" }'
}
echo "summary: add-v1 $(ratio "$(get lepton add1)" "$(get lfs add1)")x" \
	"checkout $(ratio "$(get lepton co_head)" "$(get lfs co_head)")x" \
	"checkout-old $(ratio "$(get lepton co_old)" "$(get lfs co_old)")x" \
	"local-store $(ratio "$(get lepton store)" "$(get lfs store)")x" \
	"push $(ratio "$(get lepton push)" "$(get lfs push)")x" \
	"clone $(ratio "$(get lepton clone)" "$(get lfs clone)")x" \
	"clone-floor $(ratio "$(get lepton clone_floor)" "$(get lfs clone)")x" \
	"store/raw $(ratio "$(get lepton store)" "$RAW")" \
	"filter-rss $(max_frss lepton)/$(max_frss lfs) MiB" \
	"$([ "$STATUS" = 0 ] && echo ok || echo FAILED)"
exit "$STATUS"
