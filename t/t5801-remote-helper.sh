#!/bin/sh

test_description='git-remote-lepton: push, clone, fetch and pull through a lepton:: store

Conformance with what git users expect of any remote: clone with the
same bytes, pull, new and deleted branches, forced pushes, tags,
old:new refspecs, refused non-fast-forwards, --dry-run and --atomic,
empty repositories, repositories without model files, the three URL
forms, the helper protocol itself, and stores that are missing, foreign
or of another version.'

. "$(dirname "$0")"/test-lib.sh
LEPTON_TEST_BACKEND_AWARE=t
. "$TEST_DIRECTORY"/lib-remote.sh

# the store (lib-backend.sh): a directory, S3 or WebDAV
URL="lepton::$STORE_URL"

# commit_file REPO FILE TEXT: write and commit one small text file.
commit_file () {
	printf '%s\n' "$3" >"$1/$2" &&
	git -C "$1" add "$2" &&
	test_tick &&
	git -C "$1" commit -q -m "$3"
}

test_expect_success 'setup: a repository with two versions of a model' '
	setup_repo src &&
	make_model "$DATA/m1" 3 7 1 &&
	make_model "$DATA/m2" 3 7 2 &&
	! cmp -s "$DATA/m1" "$DATA/m2" &&
	cp "$DATA/m1" src/model.safetensors &&
	echo "a readme" >src/readme.txt &&
	git -C src add model.safetensors readme.txt &&
	test_tick &&
	git -C src commit -q -m v1 &&
	cp "$DATA/m2" src/model.safetensors &&
	git -C src add model.safetensors &&
	test_tick &&
	git -C src commit -q -m v2 &&
	OID1=$(file_sha256 "$DATA/m1") &&
	OID2=$(file_sha256 "$DATA/m2")
'

test_expect_success 'the first push creates the store: content, history, refs' '
	store_is_missing &&
	git -C src remote add origin "$URL" &&
	git -C src push origin main 2>err &&
	test_grep "\[new branch\]" err &&
	assert_store_marker &&
	store_exists git/refs &&
	store_ls git/packs >keys &&
	grep "^git/packs/pack-.*\.pack$" keys >packs &&
	test_line_count -ge 1 packs &&
	assert_remote_has $OID1 &&
	assert_remote_has $OID2 &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	test "$(git -C src rev-parse origin/main)" = "$(git -C src rev-parse main)"
'

test_expect_success 'protocol: capabilities, and nothing else on stdout' '
	(
		cd src &&
		printf "capabilities\n\n" | helper_talk "$STORE_URL"
	) >out 2>err &&
	test_grep -x -e fetch -e "\*fetch" out &&
	test_grep -x -e push -e "\*push" out &&
	test_grep -x -e option -e "\*option" out &&
	test_grep ! -v -e "^\*\{0,1\}[a-z][a-z0-9-]*\( .*\)\{0,1\}$" -e "^$" out &&
	test "$(tail -n 1 out)" = ""
'

test_expect_success 'protocol: list shows real ids and HEAD as a symref' '
	main=$(git -C src rev-parse main) &&
	(
		cd src &&
		printf "list\n\n" | helper_talk "$STORE_URL"
	) >out 2>err &&
	test_grep -x "$main refs/heads/main" out &&
	test_grep -x "@refs/heads/main HEAD" out &&
	test "$(tail -n 1 out)" = "" &&
	(
		cd src &&
		printf "list for-push\n\n" | helper_talk "$STORE_URL"
	) >out 2>err &&
	test_grep -x "$main refs/heads/main" out
'

test_expect_success 'protocol: options it knows get ok, others unsupported' '
	(
		cd src &&
		printf "%s\n" capabilities "option verbosity 1" "option progress false" \
			"option dry-run true" "option followtags true" "option atomic true" \
			"option frobnicate yes" "" | helper_talk "$STORE_URL"
	) >out 2>err &&
	sed -e "1,/^$/d" out >answers &&
	printf "%s\n" ok ok ok ok ok unsupported >expect &&
	test_cmp expect answers
'

test_expect_success 'git ls-remote outside a repository' '
	mkdir -p outside &&
	(
		cd outside &&
		git ls-remote "$URL" >../out
	) &&
	test_grep "refs/heads/main" out
'

test_expect_success 'clone gives the same bytes and the same history' '
	git clone "$URL" clone1 2>err &&
	test_cmp_bin "$DATA/m2" clone1/model.safetensors &&
	test_cmp src/readme.txt clone1/readme.txt &&
	test "$(git -C clone1 rev-parse HEAD)" = "$(git -C src rev-parse main)" &&
	test "$(git -C clone1 symbolic-ref HEAD)" = refs/heads/main &&
	test "$(git -C clone1 config remote.origin.url)" = "$URL" &&
	git -C clone1 fsck &&
	(
		cd clone1 &&
		assert_clean_status &&
		git checkout -q HEAD~1 &&
		test_cmp_bin "$DATA/m1" model.safetensors &&
		git checkout -q main &&
		test_cmp_bin "$DATA/m2" model.safetensors
	)
'

test_expect_success 'git lepton fsck of a fresh clone is clean' '
	git clone -q "$URL" clone-fsck &&
	(cd clone-fsck && git lepton fsck)
'

test_expect_success 'pull brings a new version' '
	make_model "$DATA/m3" 3 7 3 &&
	cp "$DATA/m3" src/model.safetensors &&
	git -C src add model.safetensors &&
	test_tick &&
	git -C src commit -q -m v3 &&
	git -C src push -q origin main &&
	git -C clone1 pull -q --ff-only &&
	test_cmp_bin "$DATA/m3" clone1/model.safetensors &&
	test "$(git -C clone1 rev-parse HEAD)" = "$(git -C src rev-parse main)" &&
	(cd clone1 && assert_clean_status)
'

test_expect_success 'push a new branch; another clone fetches it' '
	git -C clone1 checkout -q -b topic &&
	commit_file clone1 topic.txt "on topic" &&
	git -C clone1 push origin topic 2>err &&
	test_grep "\[new branch\]" err &&
	assert_remote_ref "$URL" refs/heads/topic "$(git -C clone1 rev-parse topic)" &&
	git -C src fetch -q origin &&
	test "$(git -C src rev-parse origin/topic)" = "$(git -C clone1 rev-parse topic)" &&
	git -C clone1 checkout -q main
'

test_expect_success 'old:new refspecs' '
	git -C src push origin main~1:refs/heads/older main:copy &&
	assert_remote_ref "$URL" refs/heads/older "$(git -C src rev-parse main~1)" &&
	assert_remote_ref "$URL" refs/heads/copy "$(git -C src rev-parse main)" &&
	git -C clone1 push origin topic:refs/heads/topic2 &&
	assert_remote_ref "$URL" refs/heads/topic2 "$(git -C clone1 rev-parse topic)"
'

test_expect_success 'delete branches with --delete and with :branch' '
	git -C clone1 push origin --delete topic 2>err &&
	test_grep "\[deleted\]" err &&
	assert_remote_ref "$URL" refs/heads/topic "" &&
	git -C clone1 push origin :topic2 :copy &&
	assert_remote_ref "$URL" refs/heads/topic2 "" &&
	assert_remote_ref "$URL" refs/heads/copy "" &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	git -C src fetch -q --prune origin &&
	test_must_fail git -C src rev-parse -q --verify refs/remotes/origin/topic
'

test_expect_success 'tags: lightweight and annotated with --tags' '
	git -C src tag light main~1 &&
	git -C src tag -a -m "release one" rel1 main &&
	git -C src push origin --tags &&
	assert_remote_ref "$URL" refs/tags/light "$(git -C src rev-parse main~1)" &&
	assert_remote_ref "$URL" refs/tags/rel1 "$(git -C src rev-parse rel1)" &&
	git clone -q "$URL" clone-tags &&
	git -C clone-tags tag >actual &&
	printf "light\nrel1\n" >expect &&
	test_cmp expect actual &&
	test "$(git -C clone-tags cat-file -t rel1)" = tag &&
	test "$(git -C clone-tags rev-parse rel1^{commit})" = "$(git -C src rev-parse main)" &&
	(
		cd clone-tags &&
		git checkout -q light &&
		test_cmp_bin "$DATA/m2" model.safetensors
	)
'

test_expect_success 'tags: --follow-tags sends the annotated tag of a pushed commit' '
	commit_file src readme.txt "the readme grows" &&
	git -C src tag -a -m "release two" rel2 &&
	git -C src tag light2 &&
	git -C src push --follow-tags origin main &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	assert_remote_ref "$URL" refs/tags/rel2 "$(git -C src rev-parse rel2)" &&
	assert_remote_ref "$URL" refs/tags/light2 ""
'

test_expect_success 'delete a tag' '
	git -C src push origin :refs/tags/light &&
	assert_remote_ref "$URL" refs/tags/light "" &&
	assert_remote_ref "$URL" refs/tags/rel1 "$(git -C src rev-parse rel1)"
'

test_expect_success 'a push behind the remote is refused and changes nothing' '
	git -C clone1 pull -q --ff-only &&
	commit_file clone1 c1.txt "from clone1" &&
	git -C clone1 push -q origin main &&
	theirs=$(git -C clone1 rev-parse main) &&
	commit_file src s1.txt "from src" &&
	store_snapshot snap.before &&
	test_must_fail git -C src push origin main 2>err &&
	assert_push_rejected err &&
	store_snapshot snap.after &&
	test_cmp snap.before snap.after &&
	assert_remote_ref "$URL" refs/heads/main "$theirs"
'

test_expect_success 'once fetched, the diverged push is a non-fast-forward' '
	git -C src fetch -q origin &&
	test_must_fail git -C src push origin main 2>err &&
	test_grep "\[rejected\]" err &&
	test_grep "non-fast-forward" err &&
	assert_remote_ref "$URL" refs/heads/main "$theirs"
'

test_expect_success 'forced push with --force and with +refspec' '
	git -C src push --force origin main 2>err &&
	test_grep "forced update" err &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	git -C clone1 push origin +main &&
	assert_remote_ref "$URL" refs/heads/main "$theirs" &&
	git -C src push origin +main &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	git clone -q "$URL" clone-forced &&
	test "$(git -C clone-forced rev-parse HEAD)" = "$(git -C src rev-parse main)" &&
	test_cmp_bin "$DATA/m3" clone-forced/model.safetensors &&
	test_cmp src/s1.txt clone-forced/s1.txt &&
	test_path_is_missing clone-forced/c1.txt &&
	git -C clone-forced fsck
'

test_expect_success 'push --dry-run changes nothing in the store' '
	make_model "$DATA/extra" 1 99 &&
	EXTRA=$(file_sha256 "$DATA/extra") &&
	cp "$DATA/extra" src/extra.safetensors &&
	git -C src add extra.safetensors &&
	test_tick &&
	git -C src commit -q -m extra &&
	store_snapshot snap.before &&
	git -C src push --dry-run origin main main:refs/heads/dry 2>err &&
	test_grep "main -> main" err &&
	test_grep "main -> dry" err &&
	git -C src push --dry-run origin --delete older &&
	git -C src push --dry-run --force origin main~3:main &&
	git -C src push --dry-run --tags origin &&
	store_snapshot snap.after &&
	test_cmp snap.before snap.after &&
	assert_remote_lacks $EXTRA &&
	test "$(git -C src rev-parse origin/main)" != "$(git -C src rev-parse main)" &&
	git -C src push -q origin main &&
	assert_remote_has $EXTRA &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)"
'

test_expect_success 'push --atomic: one refused ref refuses them all' '
	store_snapshot snap.before &&
	test_must_fail git -C src push --atomic origin main~1:main main:refs/heads/atom 2>err &&
	store_snapshot snap.after &&
	test_cmp snap.before snap.after &&
	assert_remote_ref "$URL" refs/heads/atom "" &&
	assert_remote_ref "$URL" refs/heads/main "$(git -C src rev-parse main)" &&
	git -C src push --atomic origin main:refs/heads/atom main~1:refs/heads/atom2 &&
	assert_remote_ref "$URL" refs/heads/atom "$(git -C src rev-parse main)" &&
	assert_remote_ref "$URL" refs/heads/atom2 "$(git -C src rev-parse main~1)"
'

test_expect_success 'an empty repository: pushing no commits leaves no broken store' '
	git init -q empty &&
	test_might_fail git -C empty push "lepton::$(store_url empty-store)" --all 2>err &&
	if ! store_is_missing -s empty-store 4>/dev/null
	then
		assert_store_marker -s empty-store &&
		ls_remote "lepton::$(store_url empty-store)" >refs &&
		test_must_be_empty refs
	fi
'

test_expect_success 'an empty repository: clone of a store without refs, then push' '
	git -C src push -q "lepton::$(store_url store0)" main:refs/heads/scratch &&
	git -C src push -q "lepton::$(store_url store0)" --delete scratch &&
	ls_remote "lepton::$(store_url store0)" >refs &&
	test_grep ! refs/heads/ refs &&
	git clone "lepton::$(store_url store0)" clone-empty 2>err &&
	test_grep "empty repository" err &&
	test_must_fail git -C clone-empty rev-parse -q --verify HEAD &&
	commit_file clone-empty first.txt "first" &&
	git -C clone-empty push origin main &&
	assert_remote_ref "lepton::$(store_url store0)" refs/heads/main \
		"$(git -C clone-empty rev-parse main)"
'

test_expect_success 'a repository with no model content at all' '
	git init -q plain &&
	commit_file plain one.txt one &&
	commit_file plain two.txt two &&
	git -C plain push -q "lepton::$(store_url plain-store)" main &&
	assert_store_marker -s plain-store &&
	store_ls -s plain-store recipes >recipes &&
	test_must_be_empty recipes &&
	git clone -q "lepton::$(store_url plain-store)" plain-clone &&
	test_cmp plain/two.txt plain-clone/two.txt &&
	test "$(git -C plain-clone rev-parse HEAD)" = "$(git -C plain rev-parse HEAD)" &&
	git -C plain-clone fsck
'

test_expect_success DIRSTORE 'a store path with spaces' '
	mkdir "dir with spaces" &&
	spaced="lepton::$TRASH_DIRECTORY/dir with spaces/the store" &&
	git -C src push -q "$spaced" main &&
	assert_store_marker "dir with spaces/the store" &&
	git clone -q "$spaced" "clone with spaces" &&
	test_cmp_bin "$DATA/extra" "clone with spaces/extra.safetensors" &&
	test_cmp_bin "$DATA/m3" "clone with spaces/model.safetensors" &&
	git -C "clone with spaces" fetch -q origin
'

test_expect_success DIRSTORE 'URL form lepton::file:///abs/path' '
	git clone -q "lepton::file://$STORE" clone-fileurl &&
	test_cmp_bin "$DATA/m3" clone-fileurl/model.safetensors &&
	test "$(git -C clone-fileurl rev-parse HEAD)" = "$(git -C src rev-parse main)" &&
	commit_file clone-fileurl f.txt "through a file url" &&
	git -C clone-fileurl push -q origin main:refs/heads/fileurl &&
	assert_remote_ref "$URL" refs/heads/fileurl "$(git -C clone-fileurl rev-parse HEAD)"
'

test_expect_success DIRSTORE 'URL form lepton::./relative, from where git runs' '
	git -C src push -q lepton::../store main:refs/heads/relative &&
	assert_remote_ref "$URL" refs/heads/relative "$(git -C src rev-parse main)" &&
	(
		cd src &&
		git ls-remote lepton::./../store >../rel-refs
	) &&
	test_grep "refs/heads/relative" rel-refs
'

test_expect_success DIRSTORE 'git clone lepton::./relative checks out the content' '
	git clone -q lepton::./store clone-rel &&
	test "$(git -C clone-rel rev-parse HEAD)" = "$(git -C src rev-parse main)" &&
	test_cmp_bin "$DATA/m3" clone-rel/model.safetensors
'

test_expect_success 'a directory that is not a lepton store is refused' '
	echo precious >precious &&
	store_put -s notstore file precious &&
	test_must_fail git -C src push "lepton::$(store_url notstore)" main 2>err &&
	test_grep "not a \(git-\)\{0,1\}lepton store" err &&
	store_ls -s notstore >actual &&
	echo file >expect &&
	test_cmp expect actual &&
	test_must_fail git clone "lepton::$(store_url notstore)" clone-notstore 2>err &&
	test_grep "not a \(git-\)\{0,1\}lepton store" err &&
	test_path_is_missing clone-notstore
'

test_expect_success 'an empty directory becomes a store on the first push' '
	store_make_empty -s emptydir &&
	git -C src push -q "lepton::$(store_url emptydir)" main &&
	assert_store_marker -s emptydir &&
	assert_remote_ref "lepton::$(store_url emptydir)" refs/heads/main "$(git -C src rev-parse main)"
'

test_expect_success 'clone and fetch of a missing store fail with a clear error' '
	test_must_fail git clone "lepton::$(store_url missing)" clone-missing 2>err &&
	test_grep "missing" err &&
	test_path_is_missing clone-missing &&
	test_must_fail git -C src fetch "lepton::$(store_url missing)" 2>err &&
	test_grep "missing" err &&
	store_is_missing -s missing
'

test_expect_success 'a store of another format version is refused' '
	store_copy store store-v2 &&
	echo "lepton store 2" >marker-v2 &&
	store_put -s store-v2 lepton-store marker-v2 &&
	test_must_fail git clone "lepton::$(store_url store-v2)" clone-v2 2>err &&
	test_grep -i -e "version" -e "upgrade" err &&
	test_must_fail git -C src push "lepton::$(store_url store-v2)" main:refs/heads/v2 2>err &&
	test_grep -i -e "version" -e "upgrade" err &&
	store_cat -s store-v2 lepton-store >actual &&
	test_cmp marker-v2 actual
'

test_expect_success SCRIPT 'progress on a terminal' '
	write_script clone-tty.sh <<-EOF &&
	git clone "$URL" clone-tty
	EOF
	write_script clone-tty-q.sh <<-EOF &&
	git clone -q "$URL" clone-tty-q
	EOF
	script -qec ./clone-tty.sh /dev/null >tty.out 2>&1 &&
	test_cmp_bin "$DATA/m3" clone-tty/model.safetensors &&
	test_grep "[0-9]%" tty.out
'

test_expect_success SCRIPT 'no progress on a terminal with -q' '
	script -qec ./clone-tty-q.sh /dev/null >tty-q.out 2>&1 &&
	test_cmp_bin "$DATA/m3" clone-tty-q/model.safetensors &&
	test_grep ! "%" tty-q.out
'

test_expect_success SCRIPT 'push shows progress on a terminal' '
	make_model "$DATA/tty" 2 77 &&
	cp "$DATA/tty" clone-tty/tty.safetensors &&
	git -C clone-tty add tty.safetensors &&
	test_tick &&
	git -C clone-tty commit -q -m tty &&
	write_script push-tty.sh <<-\EOF &&
	cd clone-tty &&
	git push origin main:refs/heads/tty
	EOF
	script -qec ./push-tty.sh /dev/null >tty-push.out 2>&1 &&
	test_grep "[0-9]%" tty-push.out &&
	assert_remote_has $(file_sha256 "$DATA/tty")
'

test_expect_success SCRIPT 'push -q shows no progress on a terminal' '
	make_model "$DATA/tty2" 2 78 &&
	cp "$DATA/tty2" clone-tty/tty.safetensors &&
	git -C clone-tty add tty.safetensors &&
	test_tick &&
	git -C clone-tty commit -q -m tty2 &&
	write_script push-tty-q.sh <<-\EOF &&
	cd clone-tty &&
	git push -q origin main:refs/heads/tty
	EOF
	script -qec ./push-tty-q.sh /dev/null >tty-push-q.out 2>&1 &&
	assert_remote_has $(file_sha256 "$DATA/tty2") &&
	test_grep ! "%" tty-push-q.out
'

test_expect_success 'no progress lines when stderr is not a terminal' '
	git clone "$URL" clone-notty 2>err &&
	test_grep ! "%" err
'

test_done
