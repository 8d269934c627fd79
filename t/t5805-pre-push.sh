#!/bin/sh

test_description='code on an ordinary git remote, content in a store named by .leptonconfig

A committed .leptonconfig ([lepton] url = <store>) names the store (a
directory here, S3 in t5815, WebDAV in t5825).  git
push to a bare repository runs the pre-push hook that git lepton install
put in place: it uploads the content of the commits being pushed first,
and refuses the push when the upload fails.  A clone of the bare
repository (git lepton installed) fetches content from that store.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
. "$TEST_DIRECTORY"/lib-remote.sh

CODE="$TRASH_DIRECTORY/code.git"

# set_store_url URL: point src's .leptonconfig at URL and commit it.
set_store_url () {
	printf "[lepton]\n\turl = %s\n" "$1" >src/.leptonconfig &&
	git -C src add .leptonconfig &&
	test_tick &&
	git -C src commit -q -m "store at $1"
}

# commit_model NAME DATA: commit a copy of DATA as src/NAME.
commit_model () {
	cp "$2" "src/$1" &&
	git -C src add "$1" &&
	test_tick &&
	git -C src commit -q -m "$1 from $(basename "$2")"
}

test_expect_success 'setup: a bare repository and a repository with a model' '
	git init -q --bare "$CODE" &&
	setup_repo src &&
	test_path_is_file src/.git/hooks/pre-push &&
	set_store_url "$STORE_URL" &&
	make_model "$DATA/m1" 2 21 &&
	make_model "$DATA/m2" 2 21 2 &&
	make_model "$DATA/m3" 2 21 3 &&
	make_file "$DATA/x1" 300K x1 &&
	M1=$(file_sha256 "$DATA/m1") &&
	M2=$(file_sha256 "$DATA/m2") &&
	M3=$(file_sha256 "$DATA/m3") &&
	X1=$(file_sha256 "$DATA/x1") &&
	commit_model model.safetensors "$DATA/m1" &&
	git -C src remote add origin "$CODE"
'

test_expect_success 'git push to the bare repository uploads the content first' '
	store_is_missing &&
	git -C src push origin main 2>err &&
	assert_store_marker &&
	assert_remote_has $M1 &&
	test "$(git -C "$CODE" rev-parse main)" = "$(git -C src rev-parse main)" &&
	git -C "$CODE" cat-file blob main:model.safetensors >pointer &&
	make_pointer "$DATA/m1" >expect &&
	test_cmp expect pointer
'

test_expect_success 'a clone of the bare repository fetches content from the store' '
	git clone -q "$CODE" clone1 &&
	test_cmp_bin "$DATA/m1" clone1/model.safetensors &&
	(
		cd clone1 &&
		assert_in_store $M1 &&
		git lepton fsck &&
		assert_clean_status
	)
'

test_expect_success 'a new version: pushed, pulled, and the old one still checks out' '
	commit_model model.safetensors "$DATA/m2" &&
	git -C src push -q origin main &&
	assert_remote_has $M2 &&
	git -C clone1 pull -q --ff-only &&
	test_cmp_bin "$DATA/m2" clone1/model.safetensors &&
	rm -rf clone2 &&
	git clone -q "$CODE" clone2 &&
	(
		cd clone2 &&
		test_cmp_bin "$DATA/m2" model.safetensors &&
		git checkout -q HEAD~1 &&
		test_cmp_bin "$DATA/m1" model.safetensors
	)
'

test_expect_success 'a push without new content leaves the store as it is' '
	echo notes >src/notes.txt &&
	git -C src add notes.txt &&
	test_tick &&
	git -C src commit -q -m notes &&
	store_snapshot snap.before &&
	git -C src push -q origin main &&
	store_snapshot snap.after &&
	test_cmp snap.before snap.after &&
	test "$(git -C "$CODE" rev-parse main)" = "$(git -C src rev-parse main)"
'

test_expect_success 'a new branch with its own model; deleting it uploads nothing' '
	git -C src checkout -q -b side &&
	commit_model side.bin "$DATA/x1" &&
	git -C src push -q origin side &&
	assert_remote_has $X1 &&
	store_snapshot snap.before &&
	git -C src push -q origin --delete side &&
	store_snapshot snap.after &&
	test_cmp snap.before snap.after &&
	test_must_fail git -C "$CODE" rev-parse -q --verify refs/heads/side &&
	git -C src checkout -q main
'

test_expect_success 'an upload that fails refuses the push' '
	echo "a file, not a directory" >blocker &&
	set_store_url "$TRASH_DIRECTORY/blocker/store" &&
	commit_model model.safetensors "$DATA/m3" &&
	before=$(git -C "$CODE" rev-parse main) &&
	test_must_fail git -C src push origin main 2>err &&
	cat err >&3 &&
	test_grep "blocker" err &&
	test "$(git -C "$CODE" rev-parse main)" = "$before" &&
	assert_remote_lacks $M3
'

test_expect_success DIRSTORE,!ROOT 'a store that cannot be written refuses the push' '
	set_store_url "$STORE_URL" &&
	before=$(git -C "$CODE" rev-parse main) &&
	chmod -R a-w "$STORE" &&
	test_must_fail git -C src push origin main 2>err &&
	chmod -R u+w "$STORE" &&
	test_grep -i -e "permission" -e "not writable" -e "read-only" err &&
	test "$(git -C "$CODE" rev-parse main)" = "$before"
'

test_expect_success 'once the store is reachable again, the push goes through' '
	set_store_url "$STORE_URL" &&
	git -C src push -q origin main &&
	assert_remote_has $M3 &&
	git -C clone1 pull -q --ff-only &&
	test_cmp_bin "$DATA/m3" clone1/model.safetensors
'

test_expect_success LEPTON_PUSH 'push --no-verify skips the upload; git lepton push makes up for it' '
	make_file "$DATA/x2" 200K x2 &&
	X2=$(file_sha256 "$DATA/x2") &&
	commit_model side.bin "$DATA/x2" &&
	git -C src push -q --no-verify origin main &&
	assert_remote_lacks $X2 &&
	git -C src lepton push origin main &&
	assert_remote_has $X2 &&
	rm -rf clone3 &&
	git clone -q "$CODE" clone3 &&
	test_cmp_bin "$DATA/x2" clone3/side.bin &&
	test_cmp_bin "$DATA/m3" clone3/model.safetensors
'

test_done
