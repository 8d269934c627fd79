#!/bin/sh

test_description='branches, merges, odd names, modes and subdirectories

Switching branches restores each version of a model; merges of branches
that changed different models; names with spaces and non-ASCII letters;
the executable bit; files in subdirectories.'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: two versions of a model on two branches' '
	setup_repo &&
	mkdir -p .test-saved &&
	echo "/.test-saved/" >>.git/info/exclude &&
	make_file model.bin 6000000 v1 &&
	make_file other.safetensors 300000 o1 &&
	cp model.bin .test-saved/model.v1 &&
	cp other.safetensors .test-saved/other.v1 &&
	git add model.bin other.safetensors &&
	git commit -q -m v1 &&
	git checkout -q -b retrain &&
	make_file model.bin 6000000 v2 &&
	cp model.bin .test-saved/model.v2 &&
	git add model.bin &&
	git commit -q -m v2 &&
	assert_pointer_of model.bin .test-saved/model.v2 &&
	test "$(git rev-parse HEAD:model.bin)" != "$(git rev-parse main:model.bin)"
'

test_expect_success 'switching branches restores the right bytes each way' '
	git checkout -q main &&
	test_cmp_bin .test-saved/model.v1 model.bin &&
	assert_clean_status &&
	git checkout -q retrain &&
	test_cmp_bin .test-saved/model.v2 model.bin &&
	assert_clean_status &&
	git switch -q main &&
	test_cmp_bin .test-saved/model.v1 model.bin &&
	test_cmp_bin .test-saved/other.v1 other.safetensors &&
	assert_clean_status
'

test_expect_success 'checkout of a file from another branch' '
	git checkout retrain -- model.bin &&
	test_cmp_bin .test-saved/model.v2 model.bin &&
	git status --porcelain --untracked-files=no >actual &&
	echo "M  model.bin" >expect &&
	test_cmp expect actual &&
	git reset -q --hard &&
	test_cmp_bin .test-saved/model.v1 model.bin &&
	assert_clean_status
'

test_expect_success 'setup: another branch changes another model' '
	git checkout -q -b tune main &&
	make_file other.safetensors 300000 o2 &&
	cp other.safetensors .test-saved/other.v2 &&
	git add other.safetensors &&
	git commit -q -m "tune other"
'

test_expect_success 'merging both branches takes each change' '
	git checkout -q main &&
	git merge -q --no-edit retrain &&
	git merge -q --no-edit tune &&
	test "$(git rev-list --count --merges HEAD)" = 1 &&
	test_cmp_bin .test-saved/model.v2 model.bin &&
	test_cmp_bin .test-saved/other.v2 other.safetensors &&
	assert_pointer_of model.bin .test-saved/model.v2 &&
	assert_pointer_of other.safetensors .test-saved/other.v2 &&
	assert_clean_status
'

test_expect_success 'after the merge, a fresh checkout of each parent still works' '
	git checkout -q HEAD^1 &&
	test_cmp_bin .test-saved/model.v2 model.bin &&
	test_cmp_bin .test-saved/other.v1 other.safetensors &&
	git checkout -q main^2 &&
	test_cmp_bin .test-saved/model.v1 model.bin &&
	test_cmp_bin .test-saved/other.v2 other.safetensors &&
	git checkout -q main &&
	assert_clean_status
'

test_expect_success 'names with spaces and non-ASCII letters' '
	make_file "my model ü.bin" 70000 unicode &&
	cp "my model ü.bin" .test-saved/unicode &&
	make_file " lead-space.bin" 100 lead &&
	cp " lead-space.bin" .test-saved/lead &&
	git add "my model ü.bin" " lead-space.bin" &&
	git commit -q -m "odd names" &&
	assert_pointer_of "my model ü.bin" .test-saved/unicode &&
	assert_pointer_of " lead-space.bin" .test-saved/lead &&
	rm "my model ü.bin" " lead-space.bin" &&
	git checkout -- . &&
	test_cmp_bin .test-saved/unicode "my model ü.bin" &&
	test_cmp_bin .test-saved/lead " lead-space.bin" &&
	assert_clean_status
'

test_expect_success 'the executable bit is kept' '
	make_file run.bin 2000 exec &&
	chmod +x run.bin &&
	git add run.bin &&
	git commit -q -m executable &&
	git ls-files -s run.bin >actual &&
	test_grep "^100755 " actual &&
	assert_pointer_of run.bin run.bin &&
	rm run.bin &&
	git checkout -- run.bin &&
	test_path_is_executable run.bin &&
	assert_clean_status
'

test_expect_success 'the executable bit survives a branch switch' '
	git checkout -q retrain &&
	test_path_is_missing run.bin &&
	git checkout -q main &&
	test_path_is_executable run.bin &&
	assert_pointer_of run.bin run.bin
'

test_expect_success 'files in subdirectories' '
	mkdir -p models/llama/7b "models/with space" &&
	make_file models/llama/7b/weights.safetensors 123456 sub1 &&
	make_file "models/with space/w.bin" 654321 sub2 &&
	cp models/llama/7b/weights.safetensors .test-saved/sub1 &&
	cp "models/with space/w.bin" .test-saved/sub2 &&
	(
		cd models/llama &&
		git add 7b/weights.safetensors
	) &&
	git add "models/with space" &&
	git commit -q -m subdirectories &&
	assert_pointer_of models/llama/7b/weights.safetensors .test-saved/sub1 &&
	assert_pointer_of "models/with space/w.bin" .test-saved/sub2 &&
	rm -r models &&
	(
		cd "$TRASH_DIRECTORY" &&
		git checkout -- models
	) &&
	test_cmp_bin .test-saved/sub1 models/llama/7b/weights.safetensors &&
	test_cmp_bin .test-saved/sub2 "models/with space/w.bin" &&
	assert_clean_status
'

test_expect_success 'checkout from inside a subdirectory' '
	rm models/llama/7b/weights.safetensors &&
	(
		cd models/llama/7b &&
		git checkout -- weights.safetensors
	) &&
	test_cmp_bin .test-saved/sub1 models/llama/7b/weights.safetensors
'

test_expect_success 'a merge with a conflict on a model does not corrupt it' '
	git checkout -q -b side1 main &&
	make_file conflict.bin 40000 c1 &&
	git add conflict.bin &&
	git commit -q -m side1 &&
	git checkout -q -b side2 main &&
	make_file conflict.bin 40000 c2 &&
	cp conflict.bin .test-saved/c2 &&
	git add conflict.bin &&
	git commit -q -m side2 &&
	test_must_fail git merge -q --no-edit side1 >out 2>&1 &&
	test_cmp_bin .test-saved/c2 conflict.bin &&
	git merge --abort &&
	test_cmp_bin .test-saved/c2 conflict.bin &&
	assert_clean_status
'

test_expect_success 'merge-driver takes the side that changed, and keeps ours on a conflict' '
	printf base >O && printf base >A && printf theirs >B &&
	git lepton merge-driver O A B model.bin &&
	test "$(cat A)" = theirs &&
	printf ours >A && printf base >B &&
	git lepton merge-driver O A B model.bin &&
	test "$(cat A)" = ours &&
	printf same >A && printf same >B &&
	git lepton merge-driver O A B model.bin &&
	test "$(cat A)" = same &&
	printf ours >A && printf theirs >B &&
	test_must_fail git lepton merge-driver O A B model.bin 2>err &&
	test "$(cat A)" = ours &&
	test_grep "model.bin" err &&
	test_must_fail git lepton merge-driver O missing B 2>err &&
	test_grep "cannot read" err
'

test_done
