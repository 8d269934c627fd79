#!/bin/sh

test_description='git lepton diff: how two versions of model files differ

No revision: HEAD against the work tree; one: that revision against the
work tree; two: one against the other.  vN, PATH@vN and git revisions are
accepted.  Chunks shared and changed come from the recipes; tensors
added, removed, renamed, retyped and changed from the parsed headers and
the tensor bytes in the store.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-versions.sh

test_expect_success 'setup: a history of five model versions' '
	make_version_history
'

test_expect_success 'a clean work tree shows nothing' '
	git lepton diff >out &&
	test_must_be_empty out
'

test_expect_success 'vN vM PATH: size, oid and chunks' '
	git lepton diff v1 v2 data.bin >out &&
	old=$(file_sha256 .git/versions/data.bin.v1 | cut -c1-12) &&
	new=$(file_sha256 .git/versions/data.bin.v2 | cut -c1-12) &&
	test_grep "^data.bin (modified)$" out &&
	test_grep "^  oid     $old -> $new$" out &&
	test_grep "^  size    8.0 MiB -> 8.0 MiB (+0 B)$" out &&
	# opaque bytes are cut by FastCDC: the chunks before the change are
	# shared, the rest (a little over the 4 MiB that changed) are not
	test_grep "^  chunks  [1-9][0-9]* shared, [1-9][0-9]* changed ([4-7]\.[0-9] MiB), [1-9][0-9]* removed$" out &&
	test_line_count = 4 out
'

test_expect_success 'the same versions in the other order, and as PATH@vN' '
	git lepton diff v1 v2 data.bin | grep "^  chunks" >forward &&
	git lepton diff data.bin@v2 data.bin@v1 >out &&
	shared=$(sed -n "s/^  chunks  \([0-9]*\) shared.*/\1/p" forward) &&
	test_grep "^  chunks  $shared shared, [1-9][0-9]* changed ([4-7]\.[0-9] MiB), [1-9][0-9]* removed$" out &&
	git lepton diff data.bin@v1 data.bin@v3 data.bin >out &&
	test_must_be_empty out
'

test_expect_success 'git revisions work, and the size change is signed' '
	git lepton diff $(version_commit model.safetensors 2) $(version_commit model.safetensors 3) \
		model.safetensors >out &&
	s2=$(file_size .git/versions/model.safetensors.v2) &&
	s3=$(file_size .git/versions/model.safetensors.v3) &&
	test_grep "(+$(($s3 - $s2)) B)" out &&
	git lepton diff v3 v2 model.safetensors >out &&
	test_grep "(-$(($s3 - $s2)) B)" out
'

test_expect_success 'without paths: every model file that differs' '
	git lepton diff HEAD~1 HEAD >out &&
	test_grep "^model.safetensors (modified)$" out &&
	test_grep "^data.bin (modified)$" out &&
	git lepton diff HEAD~2 HEAD~1 >out &&
	test_grep "^model.safetensors (modified)$" out &&
	test_grep ! "^data.bin" out
'

test_expect_success 'a deleted and an added model file' '
	git lepton diff HEAD~4 HEAD~3 >out &&
	test_grep "^model.safetensors (deleted)$" out &&
	git lepton diff HEAD~3 HEAD~2 >out &&
	test_grep "^model.safetensors (added)$" out &&
	test_grep "^  chunks  0 shared" out
'

test_expect_success 'the work tree: a changed file, not stored yet' '
	test_when_finished "git checkout -- data.bin" &&
	cp .git/versions/data.bin.v2 data.bin &&
	git lepton diff >out &&
	test_grep "^data.bin (modified)$" out &&
	new=$(file_sha256 data.bin | cut -c1-12) &&
	test_grep "^  oid     .* -> $new$" out &&
	git lepton diff data.bin >out2 &&
	test_cmp out out2 &&
	echo more >>data.bin &&
	git lepton diff v1 data.bin >out &&
	test_grep "chunks  ? (content not in the local store)" out
'

test_expect_success 'vN with one model path in HEAD needs no path' '
	git rm -q --cached data.bin &&
	test_tick && git commit -q -m "data out" &&
	test_when_finished "git reset -q --hard HEAD~1" &&
	git lepton diff v4 v5 >out &&
	test_grep "^model.safetensors (modified)$" out
'

test_expect_success 'vN is refused when HEAD has several model paths' '
	test_expect_code 129 git lepton diff v1 v2 2>err &&
	test_grep "HEAD has 2 model paths" err
'

test_expect_success '--json' '
	git lepton diff --json v1 v2 data.bin >json &&
	test_grep "^\[{\"path\":\"data.bin\",\"status\":\"modified\"" json &&
	chunks=$(sed -n "s/.*\"chunks\":{\"total\":\([0-9]*\),\"shared\":\([0-9]*\),\"changed\":\([0-9]*\),\"changed_bytes\":\([0-9]*\),\"removed\":\([0-9]*\)}.*/\1 \2 \3 \4 \5/p" json) &&
	set -- $chunks &&
	test $# = 5 &&
	test $1 = $(($2 + $3)) && test $2 -ge 1 && test $5 -ge 1 &&
	test $4 -ge 4194304 && test $4 -lt 8388608 &&
	test_grep "\"new\":{\"oid\":\"$(file_sha256 .git/versions/data.bin.v2)\",\"size\":8388608" json &&
	test_grep "\"tensors\":null" json &&
	git lepton diff --json v2 v3 model.safetensors >json &&
	test_grep "\"added\":\[{\"name\":\"extra.weight\",\"dtype\":\"BF16\",\"shape\":\[64, 64\]}\]" json
'

# tensor_line KIND <OUT: the tensor lines of that kind, names only
tensor_names () {
	sed -n "s/^    $1 *\([^ ]*\).*/\1/p"
}

test_expect_success 'tensors: the retrained ones are the changed ones' '
	git lepton diff v1 v2 model.safetensors >out &&
	test-genmodel --size-mb 1 --seed 7 --version 2 --changed 0.3 --list >list &&
	grep -v " v0$" list | cut -d" " -f1 | sort >expect &&
	test_line_count -gt 0 expect &&
	tensor_names changed <out | sort >actual &&
	test_cmp expect actual &&
	total=$(wc -l <list | tr -d " ") &&
	changed=$(wc -l <expect | tr -d " ") &&
	test_grep "^  tensors $total -> $total: 0 added, 0 removed, 0 renamed, 0 retyped, $changed changed, $(($total - $changed)) unchanged$" out
'

test_expect_success 'tensors: one added, one removed, a dtype change' '
	git lepton diff v2 v3 model.safetensors >out &&
	test_grep "^    added    extra.weight  BF16 \[64, 64\]$" out &&
	test_grep "0 changed" out &&
	git lepton diff v3 v4 model.safetensors >out &&
	test_grep "^    removed  model.layers.0.mlp.up_proj.weight  BF16 \[176, 64\]$" out &&
	test_grep ": 0 added, 1 removed, 0 renamed, 0 retyped, 0 changed" out &&
	git lepton diff v4 v5 model.safetensors >out &&
	n=$(test-genmodel --size-mb 1 --seed 7 --add-tensor extra.weight:64x64 \
		--drop-tensor model.layers.0.mlp.up_proj.weight --list | wc -l | tr -d " ") &&
	test_grep ": 0 added, 0 removed, 0 renamed, $n retyped, 0 changed, 0 unchanged$" out &&
	test_grep "^    retyped  extra.weight  BF16 \[64, 64\] -> F16 \[64, 64\]$" out
'

test_expect_success 'tensors: a rename keeps the bytes under a new name' '
	test-genmodel r.safetensors --size-mb 1 --seed 8 &&
	git add r.safetensors && test_tick && git commit -q -m r1 &&
	test-genmodel r.safetensors --size-mb 1 --seed 8 \
		--rename-tensor model.layers.1.mlp.up_proj.weight=model.layers.1.mlp.up.weight \
		--add-tensor fresh.weight:8x8 &&
	git add r.safetensors && test_tick && git commit -q -m r2 &&
	git lepton diff HEAD~1 HEAD r.safetensors >out &&
	test_grep "^    renamed  model.layers.1.mlp.up_proj.weight -> model.layers.1.mlp.up.weight$" out &&
	test_grep "^    added    fresh.weight " out &&
	test_grep ": 1 added, 0 removed, 1 renamed, 0 retyped, 0 changed" out
'

test_expect_success 'tensors: a nudge of every element, measured' '
	test-genmodel r.safetensors --size-mb 1 --seed 8 --dtype f32 &&
	git add r.safetensors && test_tick && git commit -q -m f32 &&
	test-genmodel r.safetensors --size-mb 1 --seed 8 --dtype f32 --version 2 --perturb 0.5 &&
	git lepton diff --json r.safetensors >json &&
	git lepton diff r.safetensors >out &&
	line=$(grep "^    changed  model.layers.0.self_attn.q_proj.weight " out) &&
	pct=$(echo "$line" | sed "s/.*  \([0-9.]*\) % of elements.*/\1/") &&
	awk -v p="$pct" "BEGIN { exit !(p > 45 && p < 55) }" &&
	rel=$(echo "$line" | sed "s/.*rel L2 \([0-9.e+-]*\).*/\1/") &&
	max=$(echo "$line" | sed "s/.*max |diff| \([0-9.e+-]*\).*/\1/") &&
	# one unit in the last place of an F32 is about 1e-7 of the value
	awk -v r="$rel" -v m="$max" "BEGIN { exit !(r > 0 && r < 1e-6 && m > 0 && m < 1e-5) }" &&
	test_grep "\"changed\":\[{\"old\":{\"name\":" json &&
	test_grep "\"max_abs_diff\":" json &&
	git checkout -- r.safetensors
'

test_expect_success 'tensors: the work tree file is read as it is' '
	test-genmodel r.safetensors --size-mb 1 --seed 8 --dtype f32 \
		--drop-tensor model.layers.0.input_layernorm.weight &&
	git lepton diff >out &&
	test_grep "^r.safetensors (modified)$" out &&
	test_grep "^    removed  model.layers.0.input_layernorm.weight  F32 \[32\]$" out &&
	git checkout -- r.safetensors
'

test_expect_success 'metadata: added, removed and changed keys' '
	test-genmodel m.safetensors --size-mb 1 --seed 9 --meta license=mit --meta step=100 &&
	git add m.safetensors && test_tick && git commit -q -m m1 &&
	test-genmodel m.safetensors --size-mb 1 --seed 9 --meta license=apache --meta base=x &&
	git add m.safetensors && test_tick && git commit -q -m m2 &&
	git lepton diff HEAD~1 HEAD m.safetensors >out &&
	test_grep "^  metadata$" out &&
	test_grep "^    changed  license: mit -> apache$" out &&
	test_grep "^    removed  step (was 100)$" out &&
	test_grep "^    added    base = x$" out &&
	git lepton diff --json HEAD~1 HEAD m.safetensors >json &&
	test_grep "\"metadata\":\[.*{\"key\":\"license\",\"old\":\"mit\",\"new\":\"apache\"}" json
'

test_expect_success 'tensors: not compared when the content is not local' '
	oid=$(git cat-file blob HEAD~1:m.safetensors | sed -n "s/^oid sha256://p") &&
	mv "$(lepton_recipe_path $oid)" recipe.saved &&
	test_when_finished "mv recipe.saved \"$(lepton_recipe_path $oid)\"" &&
	git lepton diff HEAD~1 HEAD m.safetensors >out &&
	test_grep "^m.safetensors (modified)$" out &&
	test_grep ! "^  tensors" out
'

test_expect_success 'git diff shows a line per tensor (diff=lepton textconv)' '
	git diff $(version_commit model.safetensors 2) $(version_commit model.safetensors 3) \
		-- model.safetensors >out &&
	test_grep "^-# safetensors, 66 tensors$" out &&
	test_grep "^+# safetensors, 67 tensors$" out &&
	test_grep "^+tensor extra.weight BF16 \[64, 64\] [0-9a-f]\{16\}$" out &&
	test "$(grep -c "^[-+]tensor" out)" = 1 &&
	git diff $(version_commit model.safetensors 1) $(version_commit model.safetensors 2) \
		-- model.safetensors >out &&
	test-genmodel --size-mb 1 --seed 7 --version 2 --changed 0.3 --list >list2 &&
	test "$(grep -c "^+tensor" out)" = "$(grep -v " v0$" list2 | wc -l | tr -d " ")" &&
	git diff $(version_commit model.safetensors 4) $(version_commit model.safetensors 5) \
		-- model.safetensors >out &&
	test_grep "^+tensor extra.weight F16 \[64, 64\]" out
'

test_expect_success 'git diff of other binary content: size and SHA-256' '
	git diff $(version_commit data.bin 1) $(version_commit data.bin 2) -- data.bin >out &&
	test_grep "^-# git-lepton: binary, 8.0 MiB, sha256 $(file_sha256 .git/versions/data.bin.v1)$" out &&
	test_grep "^+# git-lepton: binary, 8.0 MiB, sha256 $(file_sha256 .git/versions/data.bin.v2)$" out
'

test_expect_success 'errors: no such version, unknown path, bad revision' '
	test_must_fail git lepton diff v1 v9 data.bin 2>err &&
	test_grep "error: .data.bin. has 3 versions; there is no v9" err &&
	test_must_fail git lepton diff HEAD~1 HEAD nope.bin 2>err &&
	test_grep "nope.bin" err &&
	test_must_fail git lepton diff HEAD~1 HEAD -- nosuchrev 2>err &&
	test_grep "nosuchrev" err &&
	test_expect_code 129 git lepton diff --bogus 2>err
'

test_done
