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
	test-genmodel big.onnx --raw --size-mb 11 --seed 1 &&
	git add big.onnx &&
	head=$(git rev-parse HEAD) &&
	test_must_fail git commit -q -m big 2>err &&
	test "$(git rev-parse HEAD)" = "$head" &&
	test_grep "^error: .big.onnx. is a 11.0 MiB model file staged as raw bytes, over lepton.maxRawSize (10.0 MiB)" err &&
	test_grep "git lepton track \"\*.onnx\"" err &&
	test_grep "git add --renormalize \"big.onnx\"" err &&
	test_grep "no-verify" err &&
	test_line_count = 1 user-hook.log
'

test_expect_success 'the hook by hand, as the pre-commit framework runs it' '
	test_expect_code 1 git lepton hook validate 2>err &&
	test_grep "big.onnx" err
'

test_expect_success 'the fix the message gives works' '
	git lepton track "*.onnx" &&
	git add .gitattributes &&
	git add --renormalize big.onnx &&
	assert_pointer big.onnx &&
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

test_expect_success 'a tracked model that does not validate is refused' '
	test-genmodel good.safetensors --size-mb 1 --seed 10 &&
	head -c 300000 good.safetensors >cut.safetensors &&
	git add cut.safetensors &&
	assert_pointer cut.safetensors &&
	test_must_fail git commit -q -m cut 2>err &&
	test_grep "^error: .cut.safetensors. is not a valid model file: tensor .* is outside the file of 300000 bytes" err &&
	test_grep "git restore --staged \"cut.safetensors\"" err &&
	git restore --staged cut.safetensors
'

test_expect_success 'a .safetensors that is not one: a warning, refused when strict' '
	test-genmodel noise.safetensors --raw --size-mb 1 --seed 11 &&
	git add noise.safetensors &&
	git lepton hook validate 2>err &&
	test_grep "^warning: .noise.safetensors. is not a safetensors file; it is committed as opaque bytes" err &&
	printf "[lepton]\n\tstrictExtensions = true\n" >.leptonconfig &&
	git add .leptonconfig &&
	test_must_fail git commit -q -m noise 2>err &&
	test_grep "^error: .noise.safetensors. is not a safetensors file" err &&
	git restore --staged noise.safetensors &&
	git rm -q --cached .leptonconfig &&
	rm .leptonconfig &&
	git add good.safetensors &&
	git commit -q -m good
'

test_expect_success 'a model whose content is not in the local store is not refused' '
	test-genmodel away.safetensors --size-mb 1 --seed 12 &&
	git add away.safetensors &&
	oid=$(pointer_oid away.safetensors) &&
	mv "$(lepton_recipe_path $oid)" recipe.saved &&
	git lepton hook validate 2>err &&
	test_grep "cannot validate .away.safetensors.: its content .$oid. is not in the local store" err &&
	mv recipe.saved "$(lepton_recipe_path $oid)" &&
	git commit -q -m away
'

test_expect_success '.leptonconfig lepton.requireMetadata names the missing keys' '
	printf "[lepton]\n\trequireMetadata = license, base_model\n" >.leptonconfig &&
	git add .leptonconfig &&
	test-genmodel meta.safetensors --size-mb 1 --seed 13 --meta license=mit &&
	git add meta.safetensors &&
	test_must_fail git commit -q -m meta 2>err &&
	test_grep "^error: .meta.safetensors. lacks the metadata .base_model. that .leptonconfig requires" err &&
	test_grep ! "license" err &&
	test-genmodel meta.safetensors --size-mb 1 --seed 13 --meta license=mit --meta base_model=x &&
	git add meta.safetensors &&
	git commit -q -m meta
'

test_expect_success '.leptonconfig lepton.allowedDtypes refuses other dtypes' '
	printf "[lepton]\n\tallowedDtypes = BF16,F16\n" >.leptonconfig &&
	git add .leptonconfig &&
	test-genmodel f32.safetensors --size-mb 1 --seed 14 --dtype f32 &&
	git add f32.safetensors &&
	test_must_fail git commit -q -m f32 2>err &&
	test_grep "^error: .f32.safetensors.: tensor .model.embed_tokens.weight. is F32, not one of the dtypes .leptonconfig allows" err &&
	test_line_count = 2 err &&
	test-genmodel f32.safetensors --size-mb 1 --seed 14 --dtype f16 &&
	git add f32.safetensors &&
	git commit -q -m f16 &&
	git rm -q .leptonconfig &&
	git commit -q -m "no policy"
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
