#!/bin/sh
# demo.sh: git-lepton at work, in a throwaway repository.
#
#   sh bench/demo.sh [--size-mb N] [--keep]
#   make demo
#
# Builds a repository in a temporary directory (removed at the end unless
# --keep), configures git-lepton there only (`git lepton install --local`:
# the caller's global git config is left alone), commits two versions of a
# synthetic model (v0, then v1 with 10 % of its tensors retrained), shows
# what git holds (a Git LFS v1 pointer) and what .git/lepton holds, then
# deletes the file and checks out each version again, comparing every byte;
# then pushes everything to a directory store (a lepton:: remote) and
# clones it back into a second repository, where `git lepton log` lists
# the model's versions and `git lepton diff` compares them tensor by tensor.
# Each step prints a line starting with "==> ", then the commands it runs.
# Exits non-zero at the first step that fails.  Takes a few seconds.
#
# Adding a step: write a function step_NAME that does one thing (it runs in
# the repository, with set -e; use `run` to show a command as it runs it and
# `check_same` to compare files), and add NAME to STEPS below, in order.
set -eu

STEPS="
	init
	install
	track
	commit_v0
	show_pointer
	commit_v1
	ls_files
	store_size
	restore_v0
	restore_v1
	push
	clone
	log
	diff
"

SIZE_MB=64
KEEP=
while [ $# -gt 0 ]; do
	case $1 in
	--size-mb) [ $# -ge 2 ] || exit 129; SIZE_MB=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 129 ;;
	esac
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
# the build puts the commands in bin/; LEPTON_BIN=<dir> takes another build
BIN=${LEPTON_BIN:-$TOP/bin}
PATH="$BIN:$PATH"
export PATH
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

[ -x "$BIN/git-lepton" ] || { echo "demo: no '$BIN/git-lepton'; run 'make' first" >&2; exit 1; }
GENMODEL=$TOP/t/helper/test-genmodel
[ -x "$GENMODEL" ] || { echo "demo: no '$GENMODEL'; run 'make t/helper/test-genmodel'" >&2; exit 1; }

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/lepton-demo.XXXXXX")
MODELS=$DEMO/models
REPO=$DEMO/repo
CURRENT_STEP=setup
finish() {
	status=$?
	if [ "$status" != 0 ]; then
		echo "demo: FAILED in step '$CURRENT_STEP' (exit $status)" >&2
	fi
	if [ -n "$KEEP" ]; then
		echo "demo: kept $DEMO" >&2
	else
		rm -rf "$DEMO"
	fi
	exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM HUP PIPE

say() { printf '\n==> %s\n' "$*"; }
# run CMD...: show the command (quoted as a shell would need), then run it
run() {
	line=
	for arg in "$@"; do
		case $arg in
		'' | *[!A-Za-z0-9_./:=@%^+,~-]*) arg="'$(printf '%s' "$arg" | sed "s/'/'\\\\''/g")'" ;;
		esac
		line="$line${line:+ }$arg"
	done
	printf '$ %s\n' "$line"
	"$@"
}
# check_same FILE EXPECTED: every byte must match
check_same() {
	if cmp "$1" "$2"; then
		echo "ok: '$1' is byte for byte the generated $(basename "$2")"
	else
		echo "demo: '$1' differs from $2" >&2
		return 1
	fi
}
# assert_pointer REV: git holds a Git LFS v1 pointer, not the model's bytes
assert_pointer() {
	first=$(git cat-file -p "$1:model.safetensors" | head -n 1)
	size=$(git cat-file -s "$1:model.safetensors")
	if [ "$first" != "version https://git-lfs.github.com/spec/v1" ] || [ "$size" -ge 1024 ]; then
		echo "demo: git holds $size bytes at $1:model.safetensors, not a pointer" >&2
		return 1
	fi
}
mib() { awk -v n="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", n / 1048576 }'; }

step_init() {
	say "a fresh repository in $REPO"
	mkdir -p "$MODELS"
	run git init -q -b main "$REPO"
	cd "$REPO"
	# only this repository's config: identity, no signing, whatever the caller has
	git config user.name "Lepton Demo"
	git config user.email demo@example.com
	git config commit.gpgsign false
}

step_install() {
	say "configure the filter for this repository only"
	run git lepton install --local
	run git config --local --get-regexp '^filter\.lepton\.'
}

step_track() {
	say "store *.safetensors with git-lepton"
	run git lepton track '*.safetensors'
	run cat .gitattributes
	run git add .gitattributes
	run git commit -qm 'track safetensors with git-lepton'
}

step_commit_v0() {
	say "the base model v0 ($SIZE_MB MiB, bf16, LLaMA-like), added and committed"
	"$GENMODEL" "$MODELS/v0.safetensors" --size-mb "$SIZE_MB"
	run cp "$MODELS/v0.safetensors" model.safetensors
	echo "model.safetensors: $(mib model.safetensors)"
	run git add model.safetensors
	run git commit -qm 'v0: base model'
	assert_pointer HEAD
}

step_show_pointer() {
	say "what git stores for it: a Git LFS v1 pointer"
	run git cat-file -p HEAD:model.safetensors
}

step_commit_v1() {
	say "a partial fine-tune v1 (10 % of the tensors retrained), added and committed"
	"$GENMODEL" "$MODELS/v1.safetensors" --size-mb "$SIZE_MB" --version 1 --changed 0.1
	"$GENMODEL" --list --size-mb "$SIZE_MB" --version 1 --changed 0.1 |
		awk '$NF == "v1" { n++ } END { printf "retrained: %d of %d tensors\n", n, NR }'
	run cp "$MODELS/v1.safetensors" model.safetensors
	run git add model.safetensors
	run git commit -qm 'v1: fine-tuned'
	assert_pointer HEAD
	run git cat-file -p HEAD:model.safetensors
	run git log --oneline
}

step_ls_files() {
	say "the model files git-lepton manages"
	run git lepton ls-files
}

step_store_size() {
	say "the local store holds both versions"
	run du -sh .git/lepton
	awk -v s="$(du -sb .git/lepton | cut -f1)" -v a="$(stat -c %s "$MODELS/v0.safetensors")" \
		-v b="$(stat -c %s "$MODELS/v1.safetensors")" \
		'BEGIN { printf "%.1f MiB for %.1f MiB of raw versions (%.0f %%)\n",
			s / 1048576, (a + b) / 1048576, 100 * s / (a + b) }'
}

step_restore_v0() {
	say "delete the file, bring back v0 from the store"
	run rm model.safetensors
	run git checkout HEAD~1 -- model.safetensors
	check_same model.safetensors "$MODELS/v0.safetensors"
}

step_restore_v1() {
	say "and v1, the current version"
	run git checkout HEAD -- model.safetensors
	check_same model.safetensors "$MODELS/v1.safetensors"
	run git status --short
}

step_push() {
	say "push history and model content to a store in a directory"
	run git remote add origin "lepton::$DEMO/store"
	run git push -u origin main
	run cat "$DEMO/store/git/refs"
	run du -sh "$DEMO/store"
}

step_clone() {
	say "clone it back: history, then each model version, verified"
	cd "$DEMO"
	run git clone --no-checkout "lepton::$DEMO/store" clone
	cd clone
	git config user.name "Lepton Demo"
	git config user.email demo@example.com
	run git lepton install --local
	run git checkout main
	check_same model.safetensors "$MODELS/v1.safetensors"
	run git checkout -q HEAD~1
	check_same model.safetensors "$MODELS/v0.safetensors"
	run git checkout -q main
}

step_log() {
	say "the model's versions, in the clone"
	run git lepton log model.safetensors
}

step_diff() {
	say "what the fine-tune changed, tensor by tensor"
	run git lepton diff v1 v2 model.safetensors
}

for step in $STEPS; do
	CURRENT_STEP=$step
	"step_$step"
done
CURRENT_STEP=finished
say "demo passed: every version came back byte for byte"
