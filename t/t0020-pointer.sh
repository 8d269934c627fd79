#!/bin/sh

test_description='pointers, and clean and smudge by hand

git lepton pointer --file and --check; git lepton clean and smudge on
stdin and stdout, as git runs them with filter.lepton.clean/smudge.'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup' '
	setup_repo &&
	mkdir -p .test-data &&
	echo "/.test-data/" >>.git/info/exclude &&
	make_file .test-data/model 300000 m &&
	make_pointer .test-data/model >.test-data/model.ptr &&
	OID=$(file_sha256 .test-data/model)
'

test_expect_success 'pointer --file prints the canonical pointer' '
	git lepton pointer --file .test-data/model >actual &&
	test_cmp_bin .test-data/model.ptr actual
'

test_expect_success 'pointer --file of an empty file and of a big one' '
	: >empty &&
	git lepton pointer --file empty >actual &&
	make_pointer empty >expect &&
	test_cmp expect actual &&
	make_file big 9000001 big &&
	git lepton pointer --file big >actual &&
	make_pointer big >expect &&
	test_cmp expect actual
'

test_expect_success 'pointer --file does not store the content' '
	assert_not_in_store "$OID"
'

test_expect_success 'pointer --file of a missing file fails' '
	test_must_fail git lepton pointer --file no-such-file 2>err &&
	test_grep no-such-file err
'

test_expect_success 'pointer --check accepts a canonical pointer' '
	git lepton pointer --check .test-data/model.ptr
'

test_expect_success 'setup: pointers that are not canonical or not valid' '
	(
		cd .test-data &&
		cp model bad-not-a-pointer &&
		sed "s/\$/\r/" model.ptr >bad-crlf &&
		sed "s/^oid sha256:.*/oid sha256:$(echo $OID | tr a-f A-F)/" model.ptr >bad-upper &&
		sed "/^size /d" model.ptr >bad-nosize &&
		{
			cat model.ptr &&
			echo "zzz extra"
		} >bad-extrakey &&
		{
			sed -n 1p model.ptr &&
			echo "ext-0-foo sha256:$OID" &&
			sed -n "2,3p" model.ptr
		} >bad-ext &&
		{
			sed -n 1,2p model.ptr &&
			printf "size 300000%1020s\n" ""
		} >bad-oversized &&
		test "$(file_size bad-oversized)" -ge 1024 &&
		sed "s/^size /size 0/" model.ptr >bad-leadingzero &&
		{
			sed -n 2p model.ptr &&
			sed -n 1p model.ptr &&
			sed -n 3p model.ptr
		} >bad-order &&
		sed "s/^oid sha256:\(.*\)./oid sha256:\1/" model.ptr >bad-shortoid &&
		printf "%s" "$(cat model.ptr)" >bad-nofinalnewline
	)
'

for bad in not-a-pointer crlf upper nosize extrakey ext oversized leadingzero order shortoid nofinalnewline
do
	test_expect_success "pointer --check refuses $bad" "
		test_must_fail git lepton pointer --check .test-data/bad-$bad
	"
done

test_expect_success 'clean prints the pointer and stores the content' '
	assert_not_in_store "$OID" &&
	git lepton clean <.test-data/model >actual &&
	test_cmp_bin .test-data/model.ptr actual &&
	assert_in_store "$OID"
'

test_expect_success 'clean -- PATH, as git runs it' '
	make_file .test-data/m2 70000 m2 &&
	git lepton clean -- "some dir/m2.bin" <.test-data/m2 >actual &&
	make_pointer .test-data/m2 >expect &&
	test_cmp_bin expect actual &&
	assert_in_store "$(file_sha256 .test-data/m2)"
'

test_expect_success 'clean of an empty input is empty' '
	: >empty &&
	git lepton clean <empty >actual &&
	test_must_be_empty actual
'

test_expect_success 'smudge prints the bytes' '
	git lepton smudge <.test-data/model.ptr >actual &&
	test_cmp_bin .test-data/model actual &&
	git lepton smudge -- model.bin <.test-data/model.ptr >actual &&
	test_cmp_bin .test-data/model actual
'

test_expect_success 'smudge of missing content fails and names the oid' '
	make_file .test-data/absent 1000 absent &&
	make_pointer .test-data/absent >absent.ptr &&
	test_must_fail git lepton smudge -- absent.bin <absent.ptr >out 2>err &&
	test_grep "$(file_sha256 .test-data/absent)" err &&
	test_must_be_empty out
'

test_expect_success 'clean of a canonical pointer gives it back unchanged' '
	git lepton clean <absent.ptr >actual &&
	test_cmp_bin absent.ptr actual &&
	assert_not_in_store "$(file_sha256 .test-data/absent)"
'

test_expect_success 'clean normalises a CRLF pointer' '
	git lepton clean <.test-data/bad-crlf >actual &&
	test_cmp_bin .test-data/model.ptr actual
'

test_expect_success 'clean refuses a malformed pointer' '
	printf "version https://git-lfs.github.com/spec/v1\nthis is not right\n" >malformed &&
	test_must_fail git lepton clean -- malformed.bin <malformed >out 2>err &&
	test_grep -i "error" err &&
	test_must_be_empty out
'

test_expect_success 'clean refuses a pointer with a bad oid' '
	printf "version https://git-lfs.github.com/spec/v1\noid sha256:zz\nsize 1\n" >badoid &&
	test_must_fail git lepton clean <badoid >out 2>err &&
	test -s err
'

test_expect_success 'git add of a pointer file stores no content, keeps the pointer' '
	cp absent.ptr pointer-as-file.bin &&
	git add pointer-as-file.bin &&
	git cat-file blob :pointer-as-file.bin >actual &&
	test_cmp_bin absent.ptr actual
'

test_expect_success 'smudge followed by clean is the identity on pointers' '
	git lepton smudge <.test-data/model.ptr | git lepton clean >actual &&
	test_cmp_bin .test-data/model.ptr actual
'

test_expect_success 'clean and smudge need a repository' '
	mkdir -p "$TEST_TMP/norepo" &&
	(
		cd "$TEST_TMP/norepo" &&
		GIT_CEILING_DIRECTORIES=$TEST_TMP &&
		export GIT_CEILING_DIRECTORIES &&
		test_must_fail git rev-parse --git-dir &&
		test_must_fail git lepton clean <"$TRASH_DIRECTORY/.test-data/model" >out 2>err &&
		test -s err
	)
'

test_done
