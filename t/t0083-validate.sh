#!/bin/sh

test_description='pre-commit validation of model files

A model file (by extension) staged without git-lepton over
lepton.maxRawSize (10 MiB by default) is refused; a committed
.leptonconfig may cap model sizes (lepton.maxSize).  Each refusal names
the file and the command that fixes it; --no-verify commits anyway; a
user hook that was there before install still runs after ours.'

. "$(dirname "$0")"/test-lib.sh

test_expect_success 'setup: a user hook, then git-lepton installed over it' '
	git init -q &&
	write_script .git/hooks/pre-commit <<-\EOF &&
	echo ran >>user-hook.log
	test ! -f refuse-by-user
	EOF
	git lepton install --local &&
	test_path_is_executable .git/hooks/pre-commit.chained &&
	git lepton track "*.safetensors" &&
	git add .gitattributes &&
	git commit -q -m track &&
	test_line_count = 1 user-hook.log
'

test_expect_success 'a large model file staged without git-lepton is refused' '
	test-genmodel big.gguf --raw --size-mb 11 --seed 1 &&
	git add big.gguf &&
	head=$(git rev-parse HEAD) &&
	test_must_fail git commit -q -m big 2>err &&
	test "$(git rev-parse HEAD)" = "$head" &&
	test_grep "^error: .big.gguf. is a 11.0 MiB model file staged as raw bytes, over lepton.maxRawSize (10.0 MiB)" err &&
	test_grep "git lepton track \"\*.gguf\"" err &&
	test_grep "git add --renormalize \"big.gguf\"" err &&
	test_grep "no-verify" err &&
	test_line_count = 1 user-hook.log
'

test_expect_success 'the hook by hand, as the pre-commit framework runs it' '
	test_expect_code 1 git lepton hook validate 2>err &&
	test_grep "big.gguf" err
'

test_expect_success 'the fix the message gives works' '
	git lepton track "*.gguf" &&
	git add .gitattributes &&
	git add --renormalize big.gguf &&
	assert_pointer big.gguf &&
	git commit -q -m big &&
	test_line_count = 2 user-hook.log
'

test_expect_success 'small model files and other large files pass' '
	test-genmodel small.onnx --raw --size-mb 1 --seed 2 &&
	test-genmodel large.dat --raw --size-mb 11 --seed 3 &&
	git add small.onnx large.dat &&
	git commit -q -m small
'

test_expect_success 'lepton.maxRawSize moves the limit; the extension is case-blind' '
	test-genmodel weights.PT --raw --size-mb 2 --seed 4 &&
	git add weights.PT &&
	test_must_fail git -c lepton.maxRawSize=1M commit -q -m pt 2>err &&
	test_grep "weights.PT. is a 2.0 MiB model file" err &&
	test_grep "over lepton.maxRawSize (1.0 MiB)" err &&
	git -c lepton.maxRawSize=0 commit -q -m "no limit"
'

test_expect_success '.leptonconfig lepton.maxSize refuses a larger tracked model' '
	printf "[lepton]\n\tmaxSize = 2M\n" >.leptonconfig &&
	git add .leptonconfig &&
	git commit -q -m policy &&
	test-genmodel model.safetensors --size-mb 3 --seed 5 &&
	git add model.safetensors &&
	assert_pointer model.safetensors &&
	test_must_fail git commit -q -m model 2>err &&
	test_grep "^error: .model.safetensors. is 3.0 MiB, over lepton.maxSize (2.0 MiB) of .leptonconfig" err &&
	test_grep "raise lepton.maxSize in .leptonconfig" err
'

test_expect_success 'the staged .leptonconfig is the one that counts' '
	printf "[lepton]\n\tmaxSize = 1G\n" >.leptonconfig &&
	test_must_fail git lepton hook validate 2>err &&
	git add .leptonconfig &&
	git lepton hook validate &&
	git commit -q -m "model, larger limit"
'

test_expect_success '.leptonconfig lepton.maxRawSize applies when git config has none' '
	printf "[lepton]\n\tmaxRawSize = 512k\n" >.leptonconfig &&
	git add .leptonconfig &&
	test-genmodel tiny.ckpt --raw --size-mb 1 --seed 6 &&
	git add tiny.ckpt &&
	test_must_fail git commit -q -m tiny 2>err &&
	test_grep "over lepton.maxRawSize (512.0 KiB)" err &&
	git -c lepton.maxRawSize=2M commit -q -m tiny
'

test_expect_success 'a bad size in .leptonconfig is an error that says so' '
	printf "[lepton]\n\tmaxSize = lots\n" >.leptonconfig &&
	git add .leptonconfig &&
	test_must_fail git commit -q -m bad 2>err &&
	test_grep "error: .\.leptonconfig. has a bad lepton.maxSize" err &&
	git rm -q --cached .leptonconfig &&
	rm .leptonconfig
'

test_expect_success 'git commit --no-verify commits anyway, and skips the user hook too' '
	test-genmodel skip.bin --raw --size-mb 11 --seed 7 &&
	git add skip.bin &&
	before=$(wc -l <user-hook.log) &&
	git commit -q --no-verify -m "skip the checks" &&
	test "$(git cat-file -s HEAD:skip.bin)" = 11534336 &&
	test "$(wc -l <user-hook.log)" = "$before"
'

test_expect_success 'the user hook still refuses after ours passed' '
	: >refuse-by-user &&
	echo x >notes.txt &&
	git add notes.txt &&
	test_must_fail git commit -q -m notes &&
	rm refuse-by-user &&
	git commit -q -m notes
'

test_expect_success 'the pre-commit framework finds the hook' '
	yaml="$TEST_DIRECTORY/../.pre-commit-hooks.yaml" &&
	test_grep "^- id: git-lepton-validate$" "$yaml" &&
	test_grep "entry: git lepton hook validate" "$yaml"
'

test_done
