#!/bin/sh

test_description='git add and git checkout of tracked files

Sizes around the chunk size: the pointer goes to git, the content to the
store, and checkout gives back the same bytes.'

. "$(dirname "$0")"/test-lib.sh

# name size: the chunk size is 4 MiB
SIZES='empty.bin:0 one.bin:1 chunk.bin:4194304 chunk1.bin:4194305 ten.safetensors:10485760'

test_expect_success 'setup' '
	setup_repo &&
	mkdir saved &&
	for spec in $SIZES
	do
		name=${spec%:*} &&
		size=${spec#*:} &&
		make_file "$name" "$size" &&
		cp "$name" "saved/$name" || return 1
	done
'

test_expect_success 'add and commit' '
	git add *.bin *.safetensors &&
	git commit -q -m models &&
	git ls-files >actual &&
	cat >expect <<-\EOF &&
	.gitattributes
	chunk.bin
	chunk1.bin
	empty.bin
	one.bin
	ten.safetensors
	EOF
	test_cmp expect actual
'

test_expect_success 'an empty file stays an empty blob' '
	test "$(git cat-file -s :empty.bin)" = 0 &&
	test "$(git cat-file -s HEAD:empty.bin)" = 0
'

test_expect_success 'every other file is a canonical pointer of its bytes' '
	for spec in $SIZES
	do
		name=${spec%:*} &&
		size=${spec#*:} &&
		if test "$size" = 0
		then
			continue
		fi &&
		assert_pointer_size "$name" "$size" &&
		assert_pointer_of "$name" "saved/$name" || return 1
	done
'

test_expect_success 'the content is in the store' '
	for name in one.bin chunk.bin chunk1.bin ten.safetensors
	do
		oid=$(pointer_oid "$name") &&
		test -n "$oid" &&
		assert_in_store "$oid" || return 1
	done
'

test_expect_success 'the committed blobs are the staged pointers' '
	for name in one.bin chunk.bin chunk1.bin ten.safetensors
	do
		git cat-file blob "HEAD:$name" >committed &&
		git cat-file blob ":$name" >staged &&
		test_cmp staged committed || return 1
	done
'

test_expect_success 'status is clean after the commit' '
	assert_clean_status
'

test_expect_success 'checkout -- . gives back the bytes' '
	rm -f *.bin *.safetensors &&
	git checkout -- . &&
	for spec in $SIZES
	do
		name=${spec%:*} &&
		test_cmp_bin "saved/$name" "$name" || return 1
	done &&
	assert_clean_status
'

test_expect_success 'checkout HEAD -- file gives back the bytes' '
	rm chunk1.bin &&
	git checkout HEAD -- chunk1.bin &&
	test_cmp_bin saved/chunk1.bin chunk1.bin &&
	assert_clean_status
'

test_expect_success 'a changed file is restored by checkout, not left changed' '
	make_file ten.safetensors 10485760 other &&
	git status --porcelain --untracked-files=no >actual &&
	echo " M ten.safetensors" >expect &&
	test_cmp expect actual &&
	git checkout -- ten.safetensors &&
	test_cmp_bin saved/ten.safetensors ten.safetensors
'

test_expect_success 'the same content under two names is stored once and checked out twice' '
	cp saved/chunk1.bin copy.bin &&
	git add copy.bin &&
	test "$(pointer_oid copy.bin)" = "$(pointer_oid chunk1.bin)" &&
	git commit -q -m copy &&
	rm copy.bin chunk1.bin &&
	git checkout -- . &&
	test_cmp_bin saved/chunk1.bin copy.bin &&
	test_cmp_bin saved/chunk1.bin chunk1.bin
'

test_expect_success 'a second worktree shares the store' '
	git worktree add -q wt HEAD &&
	for spec in $SIZES
	do
		name=${spec%:*} &&
		test_cmp_bin "saved/$name" "wt/$name" || return 1
	done &&
	(
		cd wt &&
		assert_clean_status
	)
'

test_expect_success 'a file added in the worktree is seen by the main one' '
	make_file wt/new.bin 5000 new &&
	cp wt/new.bin saved/new.bin &&
	(
		cd wt &&
		git add new.bin &&
		git commit -q -m "from the worktree" &&
		assert_pointer_of new.bin new.bin &&
		assert_in_store "$(pointer_oid new.bin)"
	) &&
	test_path_is_missing .git/worktrees/wt/lepton &&
	git merge -q --ff-only "$(git -C wt rev-parse HEAD)" &&
	test_cmp_bin saved/new.bin new.bin
'

test_expect_success 'a clone that shares nothing cannot check out, and says so' '
	git clone -q --no-local . clone &&
	(
		cd clone &&
		git lepton install --local &&
		rm -f one.bin &&
		test_must_fail git checkout -- one.bin 2>err &&
		test_grep "$(git cat-file blob HEAD:one.bin | sed -n "s/^oid sha256://p")" err
	)
'

test_expect_success 'lepton.compressionLevel stores compressible chunks with zstd' '
	git init -q zrepo &&
	(
		cd zrepo &&
		git lepton install --local >/dev/null &&
		git lepton track "*.bin" >/dev/null &&
		git config lepton.compressionLevel 3 &&
		for i in $(seq 1 200000); do echo "weight $i"; done >text.bin &&
		make_file random.bin 3M zrandom &&
		git add . &&
		git commit -q -m compressed &&
		packs=$(du -cb .git/lepton/packs/*.pack | tail -n 1 | cut -f1) &&
		raw=$(( $(file_size text.bin) + $(file_size random.bin) )) &&
		test "$packs" -lt $(( raw * 3 / 4 )) &&
		cp text.bin random.bin ../ &&
		rm text.bin random.bin &&
		git checkout -- . &&
		test_cmp_bin ../text.bin text.bin &&
		test_cmp_bin ../random.bin random.bin &&
		git lepton fsck --full
	)
'

test_done
