#!/bin/sh

test_description='git lepton log: the versions of model paths

Versions follow first-parent history: a commit is a version when the
content differs from the previous version (a delete and re-add of the
same bytes is not one).  Added bytes and changed chunks come from the
recipes in the local store, "?" when the content is not there.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-versions.sh

# json_field VERSION FIELD <JSON: the value of FIELD in the object of VERSION
json_field () {
	tr '{' '\n' | grep "\"version\":$1," | sed -n "s/.*\"$2\":\\(\"[^\"]*\"\\|[a-z0-9]*\\).*/\\1/p" | tr -d '"'
}

test_expect_success 'setup: a history of five model versions' '
	make_version_history
'

test_expect_success 'log PATH lists five versions, newest first' '
	git lepton log model.safetensors >out &&
	test_grep "^model.safetensors: 5 versions$" out &&
	grep "^v[0-9]" out | cut -d" " -f1 >versions &&
	printf "v5\nv4\nv3\nv2\nv1\n" >expect &&
	test_cmp expect versions
'

test_expect_success 'each version is the commit that brought its content' '
	git lepton log --json model.safetensors >json &&
	for n in 1 2 3 4 5
	do
		test "$(json_field $n commit <json)" = "$(version_commit model.safetensors $n)" || return 1
	done
'

test_expect_success 'the versions are the first-parent commits that changed the pointer' '
	# every commit that touched the path, minus the delete and the re-add
	git rev-list --first-parent --reverse HEAD -- model.safetensors >touched &&
	test_line_count = 7 touched &&
	for c in $(cat touched)
	do
		if git cat-file -e $c:model.safetensors 2>/dev/null &&
		   ! git diff --quiet $c^ $c -- model.safetensors &&
		   test "$(git rev-parse $c:model.safetensors)" != "$last"
		then
			echo $c
			last=$(git rev-parse $c:model.safetensors)
		fi
	done >expect &&
	git lepton log --json model.safetensors | tr "{" "\n" |
		sed -n "s/.*\"commit\":\"\([0-9a-f]*\)\".*/\1/p" >actual.newest &&
	tac actual.newest >actual &&
	test_cmp expect actual
'

test_expect_success 'the table shows short commit, date, author, size, subject' '
	git lepton log model.safetensors >out &&
	short=$(git rev-parse --short=7 $(version_commit model.safetensors 3)) &&
	line=$(grep "^v3 " out) &&
	case "$line" in
	*"$short"*"A U Thor"*"add a tensor") : ;;
	*) echo >&4 "v3 line: $line"; false ;;
	esac &&
	size=$(file_size .git/versions/model.safetensors.v3) &&
	test "$(git lepton log --json model.safetensors | json_field 3 size)" = "$size"
'

test_expect_success 'added bytes and changed chunks come from the recipes' '
	# data.bin is opaque bytes: the writer cuts it with FastCDC, so the
	# counts follow content-defined cuts, not 4 MiB ones
	git lepton log --json data.bin >json &&
	n=$(json_field 1 chunks <json) &&
	test "$n" -gt 2 &&
	test "$(json_field 1 added_bytes <json)" = 8388608 &&
	test "$(json_field 1 chunks_changed <json)" = "$n" &&
	# v2 keeps A first half: the chunks before the change are shared
	a2=$(json_field 2 added_bytes <json) &&
	c2=$(json_field 2 chunks_changed <json) &&
	test "$a2" -ge 4194304 && test "$a2" -lt 8388608 &&
	test "$c2" -ge 1 && test "$c2" -lt "$(json_field 2 chunks <json)" &&
	# back to A: the chunks v2 did not have (the store had them from v1)
	a3=$(json_field 3 added_bytes <json) &&
	test "$a3" -ge 4194304 && test "$a3" -lt 8388608 &&
	test "$(json_field 3 chunks_changed <json)" -lt "$n" &&
	git lepton log data.bin >out &&
	test_grep "^data.bin: 3 versions$" out &&
	test_grep "chunks changed" out &&
	test_grep "^v2 .* [4-7]\.[0-9] MiB  *$c2/[0-9]* " out &&
	test_grep "^v1 .* 8\.0 MiB  *$n/$n " out
'

test_expect_success 'tensors changed come from the tensor maps' '
	git lepton log --json model.safetensors >json &&
	all=$(test-genmodel --list --size-mb 1 --seed 7 | wc -l) &&
	retrained=$(test-genmodel --list --size-mb 1 --seed 7 --version 2 --changed 0.3 |
		awk "\$NF != \"v0\"" | wc -l) &&
	test "$retrained" -gt 0 && test "$retrained" -lt "$all" &&
	test "$(json_field 1 tensors <json)" = "$all" &&
	test "$(json_field 1 tensors_changed <json)" = "$all" &&
	# small tensors share chunks: still counted one by one
	test "$(json_field 2 tensors_changed <json)" = "$retrained" &&
	test "$(json_field 3 tensors <json)" = $(($all + 1)) &&
	test "$(json_field 3 tensors_changed <json)" = 1 &&
	test "$(json_field 4 tensors_changed <json)" = 1 &&
	test "$(json_field 5 tensors_changed <json)" = "$(json_field 5 tensors <json)" &&
	git lepton log model.safetensors >out &&
	test_grep "tensors changed" out &&
	test_grep "^v2 .* $retrained/$all " out &&
	# opaque bytes have no tensors
	git lepton log data.bin >out &&
	test_grep "^v1 .* - " out
'

test_expect_success 'the columns line up' '
	git lepton log data.bin >out &&
	grep -v ":" out | while IFS= read -r line
	do
		echo "$line" | awk "{ print index(\$0, \"  \") }"
	done | sort -u >starts &&
	test_line_count = 1 starts
'

test_expect_success 'without PATH: every model file of HEAD' '
	git lepton log >out &&
	test_grep "^data.bin: 3 versions$" out &&
	test_grep "^model.safetensors: 5 versions$" out &&
	test_grep ! README out
'

test_expect_success 'content not in the local store shows "?"' '
	recipe=$(lepton_recipe_path $(git show $(version_commit data.bin 2):data.bin |
		sed -n "s/^oid sha256://p")) &&
	mv "$recipe" recipe.saved &&
	test_when_finished "mv recipe.saved \"$recipe\"" &&
	git lepton log data.bin >out &&
	test_grep "^v1 .* 8\.0 MiB  *\([0-9]*\)/\1 " out &&
	test_grep "^v2 .* ?  *? " out &&
	test_grep "^v3 .* ?  *? " out &&
	git lepton log --json data.bin >json &&
	test "$(json_field 2 added_bytes <json)" = null &&
	test "$(json_field 2 local <json)" = false &&
	test "$(json_field 3 local <json)" = true &&
	test "$(json_field 3 added_bytes <json)" = null
'

test_expect_success 'log REV -- PATH counts versions from REV' '
	git lepton log HEAD~3 -- model.safetensors >out &&
	test_grep "^model.safetensors: 3 versions$" out &&
	git lepton log "model.safetensors@v2" -- model.safetensors >out &&
	test_grep "^model.safetensors: 2 versions$" out
'

test_expect_success 'log --all adds model files of other branches' '
	git checkout -q -b side &&
	test-genmodel other.safetensors --size-mb 1 --seed 9 &&
	git add other.safetensors &&
	test_tick && git commit -q -m other &&
	git checkout -q - &&
	git lepton log >out &&
	test_grep ! other.safetensors out &&
	git lepton log --all >out &&
	test_grep "^other.safetensors: 1 version on side$" out &&
	test_grep "^model.safetensors: 5 versions$" out
'

test_expect_success 'json is one array of paths' '
	git lepton log --json >json &&
	test "$(head -c 2 json)" = "[{" &&
	test "$(grep -o "\"path\":" json | wc -l)" = 2
'

test_expect_success 'an unknown path is an error' '
	test_expect_code 1 git lepton log nope.bin 2>err &&
	test_grep "error: .nope.bin. has no versions" err
'

test_expect_success 'an unknown revision or option is an error' '
	test_must_fail git lepton log nosuchrev -- model.safetensors 2>err &&
	test_grep "nosuchrev" err &&
	test_expect_code 129 git lepton log --frobnicate 2>err &&
	test_grep "usage" err
'

test_expect_success 'before the first commit there are no versions' '
	git init -q empty &&
	(
		cd empty &&
		test_must_fail git lepton log 2>err &&
		test_grep "no commit yet" err
	)
'

test_done
