#!/bin/sh

test_description='git lepton diff: how two versions of model files differ

No revision: HEAD against the work tree; one: that revision against the
work tree; two: one against the other.  vN, PATH@vN and git revisions are
accepted.  Chunks shared and changed come from the recipes.'

. "$(dirname "$0")"/test-lib.sh
. "$TEST_DIRECTORY"/lib-versions.sh

test_expect_success 'setup: a history of five model versions' '
	make_version_history
'

test_expect_success 'a clean work tree shows nothing' '
	git lepton diff >out &&
	test_must_be_empty out
'

test_expect_success 'vN vM PATH: size, oid and chunks' '
	git lepton diff v1 v2 data.bin >out &&
	old=$(file_sha256 .git/versions/data.bin.v1 | cut -c1-12) &&
	new=$(file_sha256 .git/versions/data.bin.v2 | cut -c1-12) &&
	test_grep "^data.bin (modified)$" out &&
	test_grep "^  oid     $old -> $new$" out &&
	test_grep "^  size    8.0 MiB -> 8.0 MiB (+0 B)$" out &&
	test_grep "^  chunks  1 shared, 1 changed (4.0 MiB), 1 removed$" out &&
	test_line_count = 4 out
'

test_expect_success 'the same versions in the other order, and as PATH@vN' '
	git lepton diff data.bin@v2 data.bin@v1 >out &&
	test_grep "^  chunks  1 shared, 1 changed (4.0 MiB), 1 removed$" out &&
	git lepton diff data.bin@v1 data.bin@v3 data.bin >out &&
	test_must_be_empty out
'

test_expect_success 'git revisions work, and the size change is signed' '
	git lepton diff $(version_commit model.safetensors 2) $(version_commit model.safetensors 3) \
		model.safetensors >out &&
	s2=$(file_size .git/versions/model.safetensors.v2) &&
	s3=$(file_size .git/versions/model.safetensors.v3) &&
	test_grep "(+$(($s3 - $s2)) B)" out &&
	git lepton diff v3 v2 model.safetensors >out &&
	test_grep "(-$(($s3 - $s2)) B)" out
'

test_expect_success 'without paths: every model file that differs' '
	git lepton diff HEAD~1 HEAD >out &&
	test_grep "^model.safetensors (modified)$" out &&
	test_grep "^data.bin (modified)$" out &&
	git lepton diff HEAD~2 HEAD~1 >out &&
	test_grep "^model.safetensors (modified)$" out &&
	test_grep ! "^data.bin" out
'

test_expect_success 'a deleted and an added model file' '
	git lepton diff HEAD~4 HEAD~3 >out &&
	test_grep "^model.safetensors (deleted)$" out &&
	git lepton diff HEAD~3 HEAD~2 >out &&
	test_grep "^model.safetensors (added)$" out &&
	test_grep "^  chunks  0 shared" out
'

test_expect_success 'the work tree: a changed file, not stored yet' '
	test_when_finished "git checkout -- data.bin" &&
	cp .git/versions/data.bin.v2 data.bin &&
	git lepton diff >out &&
	test_grep "^data.bin (modified)$" out &&
	new=$(file_sha256 data.bin | cut -c1-12) &&
	test_grep "^  oid     .* -> $new$" out &&
	git lepton diff data.bin >out2 &&
	test_cmp out out2 &&
	echo more >>data.bin &&
	git lepton diff v1 data.bin >out &&
	test_grep "chunks  ? (content not in the local store)" out
'

test_expect_success 'vN with one model path in HEAD needs no path' '
	git rm -q --cached data.bin &&
	test_tick && git commit -q -m "data out" &&
	test_when_finished "git reset -q --hard HEAD~1" &&
	git lepton diff v4 v5 >out &&
	test_grep "^model.safetensors (modified)$" out
'

test_expect_success 'vN is refused when HEAD has several model paths' '
	test_expect_code 129 git lepton diff v1 v2 2>err &&
	test_grep "HEAD has 2 model paths" err
'

test_expect_success '--json' '
	git lepton diff --json v1 v2 data.bin >json &&
	test_grep "^\[{\"path\":\"data.bin\",\"status\":\"modified\"" json &&
	test_grep "\"chunks\":{\"total\":2,\"shared\":1,\"changed\":1,\"changed_bytes\":4194304,\"removed\":1}" json &&
	test_grep "\"new\":{\"oid\":\"$(file_sha256 .git/versions/data.bin.v2)\",\"size\":8388608" json
'

test_expect_success 'errors: no such version, unknown path, bad revision' '
	test_must_fail git lepton diff v1 v9 data.bin 2>err &&
	test_grep "error: .data.bin. has 3 versions; there is no v9" err &&
	test_must_fail git lepton diff HEAD~1 HEAD nope.bin 2>err &&
	test_grep "nope.bin" err &&
	test_must_fail git lepton diff HEAD~1 HEAD -- nosuchrev 2>err &&
	test_grep "nosuchrev" err &&
	test_expect_code 129 git lepton diff --bogus 2>err
'

test_done
