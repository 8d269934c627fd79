#!/bin/sh

test_description='a push killed at each point of its sequence

GIT_LEPTON_TEST_DIE_AT=<point> makes the push kill itself (SIGKILL) at a
named point: after a content pack, after all content, after the history
pack, while holding the refs lock, right after the refs swap.  After each:
the store verifies, a clone sees either the old or the new tip and every
byte of the version it checks out, and the same push run again completes.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-remote.sh

STORE="$TRASH_DIRECTORY/store"
URL="lepton::$STORE"

test_expect_success 'a repository pushed once' '
	setup_repo src &&
	git -C src config lepton.hardlinks false &&
	make_model "$DATA/v0" 3 40 &&
	cp "$DATA/v0" src/model.safetensors &&
	git -C src add model.safetensors &&
	git -C src commit -q -m v0 &&
	git -C src remote add origin "$URL" &&
	git -C src push -q origin HEAD:refs/heads/main &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse HEAD)"
'

n=0
for point in push-content-pack push-content push-history push-refs-locked push-refs-written
do
	n=$(($n + 1))
	test_expect_success "killed at $point: the store stays valid" '
		make_model "$DATA/v$n" 3 40 $(($n + 1)) &&
		cp "$DATA/v$n" src/model.safetensors &&
		git -C src commit -q -a -m "v$n" &&
		before=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
		test_must_fail env GIT_LEPTON_TEST_DIE_AT='"$point"' \
			git -C src push -q origin HEAD:refs/heads/main 2>err &&
		cat err >&3 &&
		git -C src lepton fsck --remote origin &&
		after=$(ls_remote "$URL" refs/heads/main | cut -f1) &&
		if test '"$point"' = push-refs-written
		then
			test "$after" = "$(git -C src rev-parse HEAD)"
		else
			test "$after" = "$before"
		fi &&
		rm -rf clone-'"$point"' &&
		git clone -q "$URL" clone-'"$point"' &&
		tip=$(git -C clone-'"$point"' rev-parse HEAD) &&
		test "$tip" = "$after" &&
		test_cmp_bin "$(git -C src show "$tip:model.safetensors" >/dev/null &&
			if test "$tip" = "$(git -C src rev-parse HEAD)"; then echo "$DATA/v$n"; else echo "$DATA/v$(($n - 1))"; fi)" \
			clone-'"$point"'/model.safetensors
	'

	test_expect_success "after $point: the push run again completes" '
		git -C src push -q origin HEAD:refs/heads/main &&
		assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse HEAD)" &&
		git -C src lepton fsck --remote origin &&
		rm -rf again-'"$point"' &&
		git clone -q "$URL" again-'"$point"' &&
		test_cmp_bin "$DATA/v$n" again-'"$point"'/model.safetensors
	'
done

test_expect_success 'a lock left by a killed push does not block the next one' '
	# the push killed right after the swap left its lock behind
	test_path_is_file "$STORE/git/refs.lock" &&
	echo more >src/more.txt &&
	git -C src add more.txt &&
	git -C src commit -q -m more &&
	git -C src push -q origin HEAD:refs/heads/main &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse HEAD)" &&
	test_path_is_missing "$STORE/git/refs.lock"
'

test_done
