#!/bin/sh

test_description='git lepton prune --remote

On a remote store, a file is dropped when it is a version of a path that
is among the newest K versions of that path in the history of no ref of
the store, and is in no ref'"'"'s tip tree.  The new pack is uploaded
before anything goes; old packs are retired (deleted after the grace
period).'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-versions.sh

remote_recipe () {
	echo "remote-store/recipes/$(file_sha256 "$1" | sed "s|^..|&/|")"
}

remote_has () {
	test -f "$(remote_recipe .git/versions/$1.v$2)"
}

test_expect_success 'setup: six versions pushed to a lepton store' '
	make_version_history &&
	test-genmodel model.safetensors --size-mb 1 --seed 11 &&
	git add model.safetensors && test_tick && git commit -q -m v6 &&
	cp model.safetensors .git/versions/model.safetensors.v6 &&
	git rev-parse HEAD >.git/versions/model.safetensors.v6.commit &&
	echo /remote-store >>.git/info/exclude &&
	git config lepton.hardlinks false &&
	git remote add origin "lepton::$PWD/remote-store" &&
	git push -q origin main 2>err &&
	for n in 1 2 3 4 5 6
	do
		remote_has model.safetensors $n || return 1
	done
'

test_expect_success 'prune --remote --dry-run lists and changes nothing' '
	(cd remote-store && find packs recipes -type f | sort | xargs cat | sha256sum) >before &&
	git lepton prune --remote origin --keep 2 --dry-run >out &&
	cat out &&
	test_grep "would drop .model.safetensors. v1" out &&
	test_grep "would drop .model.safetensors. v4" out &&
	test_grep ! "v5\\|v6" out &&
	test_grep "would free 4 files, [1-9][0-9]* chunks" out &&
	sed -n "s/.*would free \(4 files, [0-9]* chunks\).*/\1/p" out >dry-run-frees &&
	(cd remote-store && find packs recipes -type f | sort | xargs cat | sha256sum) >after &&
	test_cmp before after
'

test_expect_success 'a branch of the store keeps its own newest versions' '
	git push -q origin "$(version_commit model.safetensors 3):refs/heads/old" 2>err &&
	git lepton prune --remote origin --keep 2 --dry-run >out &&
	cat out &&
	test_grep ! "v2\\|v3" out &&
	test_grep "would drop .model.safetensors. v1" out &&
	test_grep "would drop .model.safetensors. v4" out &&
	git push -q origin :refs/heads/old 2>err
'

test_expect_success 'prune --remote --keep 2 drops four versions' '
	git lepton prune --remote origin --keep 2 --grace=0 >out &&
	cat out &&
	test_grep "freed 4 files" out &&
	# what the dry run announced is what went
	test_grep "freed $(cat dry-run-frees)" out &&
	for n in 1 2 3 4
	do
		! remote_has model.safetensors $n || return 1
	done &&
	remote_has model.safetensors 5 &&
	remote_has model.safetensors 6 &&
	remote_has data.bin 3 && remote_has data.bin 2 &&
	test "$(ls remote-store/packs/*.idx | wc -l)" = 1 &&
	git lepton fsck --remote origin >out &&
	test_grep "^ok" out
'

test_expect_success 'a clone checks out the kept versions byte for byte' '
	git clone -q --no-checkout "lepton::$PWD/remote-store" clone 2>err &&
	(cd clone && git lepton install --local >/dev/null && git checkout -q main) &&
	test_cmp_bin .git/versions/model.safetensors.v6 clone/model.safetensors &&
	test_cmp_bin .git/versions/data.bin.v3 clone/data.bin &&
	(cd clone && git checkout -q "$(cd .. && version_commit model.safetensors 5)" &&
	 test_cmp_bin ../.git/versions/model.safetensors.v5 model.safetensors)
'

for point in prune-remote-pack-written prune-remote-recipes-deleted
do
	test_expect_success "a prune --remote killed at $point leaves a valid store" '
		test_must_fail ok=signal env GIT_LEPTON_TEST_DIE_AT=$point \
			git-lepton prune --remote origin --keep 1 --grace=0 &&
		git lepton fsck --remote origin >out &&
		test_grep "^ok" out &&
		remote_has model.safetensors 6
	'
done

test_expect_success 'prune --remote --keep 1 after the killed ones' '
	git lepton prune --remote origin --keep 1 --grace=0 &&
	! remote_has model.safetensors 5 &&
	! remote_has data.bin 2 &&
	remote_has model.safetensors 6 &&
	git lepton fsck --remote origin >out &&
	test_grep "^ok" out &&
	test_grep "6 files of old versions are not in the store" out
'

test_expect_success 'prune --remote needs the history of every ref' '
	git -C clone commit -q --allow-empty -m "not here" &&
	git -C clone push -q origin HEAD:refs/heads/elsewhere 2>err &&
	test_must_fail git lepton prune --remote origin --keep 1 2>err &&
	test_grep "fetch it first" err
'

test_done
