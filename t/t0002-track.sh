#!/bin/sh

test_description='git lepton track and untrack

Patterns go to the top-level .gitattributes as
"<pattern> filter=lepton diff=lepton merge=lepton -text", once.'

. "$(dirname "$0")"/test-lib.sh

attr_line () {
	echo "$1 $LEPTON_ATTR_LINE_SUFFIX"
}

test_expect_success 'setup' '
	git init -q &&
	git lepton install --local &&
	test_commit initial
'

test_expect_success 'track appends the attribute line' '
	git lepton track "*.bin" &&
	attr_line "*.bin" >expect &&
	test_cmp expect .gitattributes &&
	echo "x.bin: filter: lepton" >expect &&
	git check-attr filter x.bin >actual &&
	test_cmp expect actual
'

test_expect_success 'tracking again does not duplicate the line' '
	git lepton track "*.bin" >out 2>&1 &&
	test_grep already out &&
	attr_line "*.bin" >expect &&
	test_cmp expect .gitattributes
'

test_expect_success 'track keeps the lines that were there' '
	printf "*.txt text\n" >.gitattributes &&
	git lepton track "*.bin" "*.safetensors" &&
	{
		echo "*.txt text" &&
		attr_line "*.bin" &&
		attr_line "*.safetensors"
	} >expect &&
	test_cmp expect .gitattributes
'

test_expect_success 'track adds a missing final newline before its line' '
	printf "%s" "$(cat .gitattributes)" >no-newline &&
	cp no-newline .gitattributes &&
	git lepton track "*.gguf" &&
	{
		cat no-newline &&
		echo &&
		attr_line "*.gguf"
	} >expect &&
	test_cmp expect .gitattributes
'

test_expect_success 'track from a subdirectory writes the top-level file' '
	git add .gitattributes &&
	git commit -q -m attributes &&
	mkdir -p sub/deeper &&
	(
		cd sub/deeper &&
		git lepton track "*.onnx"
	) &&
	test_path_is_missing sub/.gitattributes &&
	test_path_is_missing sub/deeper/.gitattributes &&
	test_grep "onnx $LEPTON_ATTR_LINE_SUFFIX\$" .gitattributes &&
	echo "sub/deeper/m.onnx: filter: lepton" >expect &&
	git check-attr filter sub/deeper/m.onnx >actual &&
	test_cmp expect actual
'

test_expect_success 'track without patterns lists them' '
	git lepton track >out &&
	test_grep -F "*.bin" out &&
	test_grep -F "*.safetensors" out &&
	test_grep -F "*.gguf" out &&
	test_grep ! -F "*.txt" out
'

test_expect_success 'untrack removes the line and nothing else' '
	cp .gitattributes before &&
	git lepton untrack "*.bin" &&
	grep -v -F "*.bin filter=lepton" before >expect &&
	test_cmp expect .gitattributes &&
	echo "x.bin: filter: unspecified" >expect &&
	git check-attr filter x.bin >actual &&
	test_cmp expect actual &&
	git lepton track >out &&
	test_grep ! -F "*.bin" out
'

test_expect_success 'untrack of a pattern not tracked fails or says so' '
	cp .gitattributes before &&
	test_might_fail git lepton untrack "*.nothing" >out 2>&1 &&
	test -s out &&
	test_cmp before .gitattributes
'

test_expect_success 'tracking a pattern that matches files committed raw warns' '
	make_file old.pt 3000 &&
	mkdir -p weights &&
	make_file "weights/layer 1.pt" 3000 &&
	git add old.pt weights &&
	git commit -q -m "raw weights" &&
	git lepton track "*.pt" 2>err &&
	test_grep "old.pt" err &&
	test_grep "layer 1.pt" err &&
	test_grep "$LEPTON_ATTR_LINE_SUFFIX" .gitattributes
'

test_expect_success 'after add --renormalize, tracking another pattern does not warn' '
	git add .gitattributes &&
	git add --renormalize . &&
	git commit -q -m renormalized &&
	assert_pointer old.pt &&
	git lepton track "*.ckpt" 2>err &&
	test_must_be_empty err
'

test_done
