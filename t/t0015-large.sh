#!/bin/sh
test_description='a model over 4 GiB round-trips and git status stays clean

git keeps file sizes in its index modulo 2^32; a size past 4 GiB must not
make git think the file changed, and every 64-bit size and offset in the
store must hold.  Needs about 13 GB of disk: runs with --long or
LEPTON_TEST_LONG=1, which CI sets when the disk has room.'

# a checkout of 4 GiB through git takes a while on a loaded machine
: "${GIT_TEST_TIMEOUT:=600}"
. ./test-lib.sh

SIZE=$((4 * 1073741824 + 4097))

test_expect_success EXPENSIVE 'setup: a repository and a file of 4 GiB + 4097 bytes' '
	setup_repo &&
	mkdir -p .test-data &&
	test-genmodel .test-data/big --raw --size-bytes $SIZE --seed 42 &&
	test "$(file_size .test-data/big)" = $SIZE
'

test_expect_success EXPENSIVE 'git add stores it as a pointer of the right size' '
	cp .test-data/big big.bin &&
	git add big.bin &&
	assert_pointer_of big.bin .test-data/big &&
	git commit -q -m big &&
	assert_in_store "$(pointer_oid big.bin)"
'

test_expect_success EXPENSIVE 'status is clean after the commit' '
	assert_clean_status
'

test_expect_success EXPENSIVE 'checkout brings back every byte, and status stays clean' '
	rm big.bin &&
	git checkout -- big.bin &&
	test "$(file_size big.bin)" = $SIZE &&
	test_cmp_bin .test-data/big big.bin &&
	assert_clean_status
'

test_expect_success EXPENSIVE 'fsck verifies it' '
	git lepton fsck >out &&
	test_grep "^ok" out
'

test_expect_success EXPENSIVE 'clean up the big files' '
	rm -rf big.bin .test-data/big .git/lepton
'

test_done
