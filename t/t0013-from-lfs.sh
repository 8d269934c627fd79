#!/bin/sh
test_description='a repository that moves from git-lfs keeps its history and content

The pointers git-lfs committed are the pointers git-lepton reads; the
content git-lfs kept in .git/lfs/objects is imported into the store the
first time a checkout needs it, verified by SHA-256.'

. ./test-lib.sh

test_lazy_prereq LFS 'git lfs version'

test_expect_success LFS 'setup: a model committed with git-lfs' '
	git init -q repo &&
	(
		cd repo &&
		git lfs install --local >/dev/null &&
		git lfs track "*.bin" >/dev/null &&
		make_file model.bin 9M lfs-model &&
		git add .gitattributes model.bin &&
		git commit -q -m "with git-lfs" &&
		git lfs uninstall --local >/dev/null 2>&1 &&
		git config --local --remove-section filter.lfs 2>/dev/null;
		test_path_is_file .git/lfs/objects/$(file_sha256 model.bin | cut -c1-2)/$(file_sha256 model.bin | cut -c3-4)/$(file_sha256 model.bin)
	) &&
	cp repo/model.bin model.saved
'

test_expect_success LFS 'switch the repository to git-lepton' '
	(
		cd repo &&
		git lepton install --local >/dev/null &&
		sed -i "/filter=lfs/d" .gitattributes &&
		git lepton track "*.bin" >/dev/null &&
		git add .gitattributes &&
		git commit -q -m "move to git-lepton" &&
		test "$(git rev-parse HEAD~1:model.bin)" = "$(git rev-parse HEAD:model.bin)"
	)
'

test_expect_success LFS 'checkout imports the git-lfs content, verified' '
	(
		cd repo &&
		rm model.bin &&
		# git may have cleaned the work tree file into the store while
		# switching; start from a store without it, as in a fresh clone
		rm -rf .git/lepton &&
		git checkout -- model.bin &&
		assert_in_store "$(file_sha256 ../model.saved)" &&
		assert_clean_status
	) &&
	test_cmp_bin model.saved repo/model.bin
'

test_expect_success LFS 'a damaged git-lfs object is refused, not checked out' '
	(
		cd repo &&
		rm -rf .git/lepton &&
		oid=$(file_sha256 ../model.saved) &&
		obj=.git/lfs/objects/$(echo $oid | cut -c1-2)/$(echo $oid | cut -c3-4)/$oid &&
		chmod u+w "$obj" &&
		printf x | dd of="$obj" bs=1 seek=1000 conv=notrunc 2>/dev/null &&
		rm model.bin &&
		test_must_fail git checkout -- model.bin 2>../err &&
		test_path_is_missing model.bin &&
		assert_not_in_store "$oid"
	) &&
	test_grep "damaged" err
'

test_done
