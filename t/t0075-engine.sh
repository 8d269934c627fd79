#!/bin/sh

test_description='the model-aware engine: each version costs what changed

A history of model versions (base, partial fine-tune, full fine-tune, a
tensor added, one removed, a dtype changed, an unknown binary) goes through
add, checkout of every version, push to a lepton:: directory store and
clone, byte for byte; the store grows by what changed (dedup of unchanged
tensor slices, XOR deltas of nudged ones), and stats says so.'

. "$(dirname "$0")"/test-lib.sh

SIZE_MB=16
FT="--version 1 --changed 0.1"

# pack_bytes: bytes of the local store's packs
pack_bytes () {
	find .git/lepton/packs -name "*.pack" -printf "%s\n" | awk "{ s += \$1 } END { print s + 0 }"
}

# add_version N ARGS...: write model.safetensors from test-genmodel ARGS,
# keep a copy, commit it, and record how much the store grew
add_version () {
	_av_n=$1 &&
	shift &&
	_av_before=$(pack_bytes) &&
	test-genmodel model.safetensors "$@" &&
	cp model.safetensors versions/v$_av_n &&
	git add model.safetensors &&
	test_tick &&
	git commit -q -m "version $_av_n" &&
	git rev-parse HEAD >versions/v$_av_n.commit &&
	echo $(( $(pack_bytes) - _av_before )) >versions/v$_av_n.growth
}

# growth_below N PERCENT: version N grew the store by less than PERCENT %
# of its size
growth_below () {
	_gb_growth=$(cat versions/v$1.growth) &&
	_gb_size=$(file_size versions/v$1) &&
	if test $(( _gb_growth * 100 )) -ge $(( _gb_size * $2 ))
	then
		echo >&4 "v$1 grew the store by $_gb_growth bytes of $_gb_size (>= $2 %)"
		return 1
	fi
}

# stats_field N FIELD <JSON: FIELD of version N of the first path
stats_field () {
	tr '{}' '\n\n' | grep "\"version\":$1," | sed -n "s/.*\"$2\":\\([a-z0-9]*\\).*/\\1/p"
}

test_expect_success 'setup: a history of seven versions' '
	setup_repo &&
	mkdir versions &&
	echo versions/ >.git/info/exclude &&
	add_version 1 --size-mb $SIZE_MB &&
	add_version 2 --size-mb $SIZE_MB $FT &&
	add_version 3 --size-mb $SIZE_MB $FT --perturb 0.05 &&
	add_version 4 --size-mb $SIZE_MB $FT --perturb 0.05 --add-tensor extra.weight:512x512 &&
	add_version 5 --size-mb $SIZE_MB $FT --perturb 0.05 --add-tensor extra.weight:512x512 \
		--drop-tensor model.layers.0.mlp.up_proj.weight &&
	add_version 6 --size-mb $SIZE_MB $FT --perturb 0.05 --add-tensor extra.weight:512x512 \
		--drop-tensor model.layers.0.mlp.up_proj.weight --dtype f16 &&
	add_version 7 --raw --size-mb 4 &&
	test_line_count = 8 $(git rev-list HEAD >revs && echo revs)
'

test_expect_success 'the base is compressed: byte-grouped floats' '
	growth_below 1 90
'

test_expect_success 'a partial fine-tune stores about what was retrained' '
	growth_below 2 40
'

test_expect_success 'a full fine-tune is stored as XOR deltas' '
	growth_below 3 25
'

test_expect_success 'a tensor added or removed moves no other tensor' '
	growth_below 4 10 &&
	growth_below 5 5
'

test_expect_success 'a dtype change and an opaque file are stored whole' '
	! growth_below 6 50 2>/dev/null &&
	! growth_below 7 95 2>/dev/null
'

test_expect_success 'every version checks out byte for byte' '
	for n in 1 2 3 4 5 6 7
	do
		git checkout -q $(cat versions/v$n.commit) &&
		test_cmp_bin versions/v$n model.safetensors || return 1
	done &&
	git checkout -q main &&
	test_cmp_bin versions/v7 model.safetensors
'

test_expect_success 'every version decodes from a fresh work tree' '
	rm model.safetensors &&
	for n in 3 5 1
	do
		git show $(cat versions/v$n.commit):model.safetensors |
			git lepton smudge -- model.safetensors >out &&
		test_cmp_bin versions/v$n out || return 1
	done &&
	git checkout -q -- model.safetensors
'

test_expect_success 'stats: raw size, added bytes and how, per version' '
	git lepton stats --json >json &&
	for n in 1 2 3 4 5 6 7
	do
		test "$(stats_field $n raw <json)" = "$(file_size versions/v$n)" &&
		test "$(stats_field $n local <json)" = true || return 1
	done &&
	# the base: compression, nothing else
	test "$(stats_field 1 dedup <json)" = 0 &&
	test "$(stats_field 1 delta <json)" = 0 &&
	test "$(stats_field 1 compression <json)" -gt 0 &&
	# the partial fine-tune: mostly chunks the base had
	test "$(stats_field 2 dedup <json)" -gt $(( $(file_size versions/v2) / 2 )) &&
	# the full fine-tune: deltas
	test "$(stats_field 3 delta_chunks <json)" -gt 0 &&
	test "$(stats_field 3 delta <json)" -gt $(( $(file_size versions/v3) / 2 )) &&
	# the opaque file: none of it
	test "$(stats_field 7 delta <json)" = 0 &&
	# added bytes are what the store grew by (a pack adds its header)
	for n in 1 2 3 4 5 6 7
	do
		added=$(stats_field $n added <json) &&
		growth=$(cat versions/v$n.growth) &&
		test $added -le $growth && test $growth -le $(( added + 64 )) || return 1
	done
'

test_expect_success 'stats: the text table and the totals' '
	git lepton stats >out &&
	test_grep "^model.safetensors$" out &&
	test_grep "^  v3 .*$(git rev-parse --short=10 $(cat versions/v3.commit))" out &&
	test_grep "^total: 7 versions, " out &&
	git lepton stats HEAD~5 >out &&
	test_grep "^total: 2 versions, " out &&
	git lepton stats --all >out &&
	test_grep "^total: 7 versions, " out &&
	test_must_fail git lepton stats --bogus 2>err &&
	test_grep "unknown option" err &&
	test_must_fail git lepton stats no-such-rev 2>err &&
	test_grep "no-such-rev" err
'

test_expect_success 'stats: content not in the local store, and no store at all' '
	git init -q empty &&
	git -C empty lepton stats >out &&
	test_grep "^total: 0 versions, 0 B raw" out &&
	test_path_is_missing empty/.git/lepton &&
	recipe=$(lepton_recipe_path $(git show $(cat versions/v2.commit):model.safetensors |
		sed -n "s/^oid sha256://p")) &&
	mv "$recipe" recipe.saved &&
	test_when_finished "mv recipe.saved \"$recipe\"" &&
	git lepton stats >out &&
	test_grep "^  v2 .* not in the local store$" out &&
	git lepton stats --json >json &&
	test "$(stats_field 2 local <json)" = false &&
	test "$(stats_field 2 added <json)" = 0
'

test_expect_success 'fsck of the local store is clean' '
	git lepton fsck
'

test_expect_success 'push to a lepton:: store, clone, every version byte for byte' '
	git remote add origin "lepton::$PWD/store" &&
	git push -q origin main &&
	git lepton fsck --remote origin &&
	git lepton install --global --skip-repo &&
	git clone -q "lepton::$PWD/store" clone &&
	test_cmp_bin versions/v7 clone/model.safetensors &&
	(
		cd clone &&
		for n in 1 2 3 4 5 6
		do
			git checkout -q $(cat ../versions/v$n.commit) &&
			test_cmp_bin ../versions/v$n model.safetensors || return 1
		done &&
		git lepton fsck
	)
'

test_expect_success 'lepton.deltas=false and compressionLevel 0 turn the mechanisms off' '
	test-genmodel nudged.safetensors --size-mb $SIZE_MB $FT --perturb 0.02 &&
	git checkout -q $(cat versions/v3.commit) &&
	before=$(pack_bytes) &&
	git config lepton.deltas false &&
	git lepton clean -- model.safetensors <nudged.safetensors >p1 &&
	git config --unset lepton.deltas &&
	nodelta=$(( $(pack_bytes) - before )) &&
	test-genmodel nudged2.safetensors --size-mb $SIZE_MB $FT --perturb 0.03 &&
	before=$(pack_bytes) &&
	git lepton clean -- model.safetensors <nudged2.safetensors >p2 &&
	delta=$(( $(pack_bytes) - before )) &&
	test $(( delta * 3 )) -lt $nodelta &&
	test-genmodel nudged3.safetensors --size-mb $SIZE_MB $FT --perturb 0.04 &&
	before=$(pack_bytes) &&
	git config lepton.compressionLevel 0 &&
	git lepton clean -- model.safetensors <nudged3.safetensors >p3 &&
	git config --unset lepton.compressionLevel &&
	raw=$(( $(pack_bytes) - before )) &&
	test $(( raw * 100 )) -ge $(( $(file_size nudged3.safetensors) * 95 )) &&
	git lepton smudge <p3 >out &&
	test_cmp_bin nudged3.safetensors out &&
	git lepton smudge <p2 >out &&
	test_cmp_bin nudged2.safetensors out &&
	git checkout -q main
'

test_expect_success 'the same settings given with git -c count' '
	test-genmodel nudged4.safetensors --size-mb $SIZE_MB $FT --perturb 0.06 &&
	git checkout -q $(cat versions/v3.commit) &&
	before=$(pack_bytes) &&
	git -c lepton.compressionLevel=0 lepton clean -- model.safetensors \
		<nudged4.safetensors >p4 &&
	raw=$(( $(pack_bytes) - before )) &&
	test $(( raw * 100 )) -ge $(( $(file_size nudged4.safetensors) * 95 )) &&
	git lepton smudge <p4 >out &&
	test_cmp_bin nudged4.safetensors out &&
	git checkout -q main
'

test_done
