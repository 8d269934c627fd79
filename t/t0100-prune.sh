#!/bin/sh

test_description='git lepton prune and gc (local mode)

prune drops the local content of old versions only when a remote store
holds it whole, and never what HEAD, the index, a stash, another worktree
or an unpushed commit needs; gc consolidates the local packs.  Killed at
any point, both leave a valid store.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-versions.sh

# store_sum: a checksum of the local store's packs and recipes
store_sum () {
	(cd .git/lepton && find packs recipes -type f | sort | xargs cat | sha256sum)
}

# has_local FILE N: version N of FILE has its content in the local store
has_local () {
	test -f "$(recipe_of .git/versions/$1.v$2)"
}

# recipe_of BYTES [STORE]: the recipe's path of the file BYTES in a store
recipe_of () {
	echo "${2:-.git/lepton}/recipes/$(file_sha256 "$1" | sed "s|^..|&/|")"
}

test_expect_success 'setup: five versions, pushed to a lepton store' '
	make_version_history &&
	git config lepton.hardlinks false &&
	echo /remote-store >>.git/info/exclude &&
	echo /wt2 >>.git/info/exclude &&
	git remote add origin "lepton::$PWD/remote-store" &&
	git push -q origin main 2>err &&
	git lepton gc -q &&
	test "$(ls .git/lepton/packs/*.idx | wc -l)" = 1
'

test_expect_success 'prune needs --keep or --older-than' '
	test_expect_code 129 git lepton prune
'

test_expect_success 'prune --dry-run lists what would go and changes nothing' '
	store_sum >before &&
	git lepton prune --keep 2 --dry-run >out &&
	cat out &&
	test_grep "would drop .model.safetensors. v1" out &&
	test_grep "would drop .model.safetensors. v2" out &&
	test_grep "would drop .model.safetensors. v3" out &&
	test_grep ! "v4\|v5\|data.bin" out &&
	test_grep "would free" out &&
	store_sum >after &&
	test_cmp before after
'
test_expect_success 'prune --older-than drops only versions older than the date' '
	when=$(git log -1 --format=%ct "$(version_commit model.safetensors 3)") &&
	git lepton prune --keep 0 --older-than "@$when" --dry-run >out &&
	cat out &&
	test_grep "would drop .model.safetensors. v1" out &&
	test_grep "would drop .model.safetensors. v2" out &&
	test_grep ! "v3\|v4\|v5" out &&
	test_must_fail git lepton prune --older-than "not a date at all" 2>err &&
	test_grep "not a date git understands" err
'

test_expect_success 'prune keeps what a worktree, a stash and the index need' '
	git worktree add -q --detach wt2 "$(version_commit model.safetensors 2)" &&
	cp .git/versions/model.safetensors.v1 model.safetensors &&
	git stash -q &&
	cp .git/versions/model.safetensors.v3 model.safetensors &&
	git add model.safetensors &&
	git lepton prune --keep 2 >out &&
	cat out &&
	test_grep "nothing to prune" out &&
	has_local model.safetensors 1 &&
	has_local model.safetensors 2 &&
	has_local model.safetensors 3 &&
	git reset -q --hard &&
	git stash drop -q &&
	git worktree remove wt2
'

test_expect_success 'prune keeps an unpushed commit that is not among the newest' '
	git checkout -q -b wip &&
	test-genmodel model.safetensors --size-mb 1 --seed 8 &&
	git add model.safetensors && git commit -q -m v6 &&
	cp model.safetensors .git/versions/model.safetensors.v6 &&
	test-genmodel model.safetensors --size-mb 1 --seed 9 &&
	git add model.safetensors && git commit -q -m v7 &&
	git lepton prune --keep 1 --dry-run >out &&
	cat out &&
	test_grep "would drop .model.safetensors. v4" out &&
	test_grep ! "v6" out &&
	git checkout -q main &&
	git branch -q -D wip
'

test_expect_success 'prune keeps what the remote store lost' '
	lost=$(recipe_of .git/versions/model.safetensors.v1 remote-store) &&
	mv "$lost" ../lost-recipe &&
	git lepton prune --keep 2 --dry-run >out 2>err &&
	cat out err &&
	test_grep "keep (not whole in the remote store): .model.safetensors. v1" out &&
	test_grep ! "would drop .model.safetensors. v1" out &&
	test_grep "would drop .model.safetensors. v2" out &&
	mv ../lost-recipe "$lost"
'

test_expect_success 'prune without a remote store drops nothing' '
	store_sum >before &&
	git remote rename origin elsewhere &&
	git config remote.elsewhere.url /nonexistent &&
	test_must_fail git lepton prune --keep 2 2>err &&
	test_grep "nothing was pruned" err &&
	git config remote.elsewhere.url "lepton::$PWD/remote-store" &&
	git remote rename elsewhere origin &&
	store_sum >after &&
	test_cmp before after
'

test_expect_success 'prune --keep 2 drops old versions; the kept ones are whole' '
	git lepton prune --keep 2 >out &&
	cat out &&
	test_grep "dropped .model.safetensors. v1" out &&
	test_grep "freed 3 files" out &&
	! has_local model.safetensors 1 &&
	! has_local model.safetensors 2 &&
	! has_local model.safetensors 3 &&
	has_local model.safetensors 4 &&
	has_local model.safetensors 5 &&
	has_local data.bin 1 && has_local data.bin 2 &&
	git lepton export "$(version_commit model.safetensors 4)" model.safetensors v4.out &&
	test_cmp_bin .git/versions/model.safetensors.v4 v4.out &&
	rm -f model.safetensors && git checkout -- model.safetensors &&
	test_cmp_bin .git/versions/model.safetensors.v5 model.safetensors &&
	git lepton fsck >out &&
	test_grep "^ok" out
'

test_expect_success 'dropped versions come back from the remote on checkout' '
	git checkout "$(version_commit model.safetensors 2)" -- model.safetensors &&
	test_cmp_bin .git/versions/model.safetensors.v2 model.safetensors &&
	has_local model.safetensors 2 &&
	git reset -q --hard
'

for point in prune-pack-written prune-recipes-deleted prune-pack-deleted
do
	test_expect_success "a prune killed at $point leaves a valid store" '
		git checkout "$(version_commit model.safetensors 1)" -- model.safetensors &&
		git reset -q --hard &&
		has_local model.safetensors 1 &&
		test_must_fail ok=signal env GIT_LEPTON_TEST_DIE_AT=$point \
			git-lepton prune --keep 2 &&
		git lepton fsck >out &&
		test_grep "^ok" out &&
		git lepton export HEAD model.safetensors v5.out &&
		test_cmp_bin .git/versions/model.safetensors.v5 v5.out &&
		git lepton prune --keep 2 &&
		! has_local model.safetensors 1
	'
done

test_expect_success 'gc without --remote consolidates the local packs' '
	git checkout "$(version_commit model.safetensors 1)" -- model.safetensors &&
	git checkout "$(version_commit model.safetensors 3)" -- model.safetensors &&
	git reset -q --hard &&
	test "$(ls .git/lepton/packs/*.idx | wc -l)" -gt 1 &&
	git lepton gc 2>err &&
	test_grep "local: [0-9]* packs -> 1" err &&
	test "$(ls .git/lepton/packs/*.idx | wc -l)" = 1 &&
	has_local model.safetensors 1 && has_local model.safetensors 3 &&
	git lepton fsck >out &&
	test_grep "^ok" out
'

test_done
