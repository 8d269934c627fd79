#!/bin/sh

test_description='git lepton inspect: what a model file holds

Format, header, metadata and tensors of safetensors and GGUF files; a file
that does not validate is shown as opaque with the reason (exit 0); a file
that cannot be read is an error; REV:PATH reads the content from the
local store; --json is valid JSON.'

. "$(dirname "$0")"/test-lib.sh

command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON

# write_gguf FILE VERSION: a small GGUF file, two tensors (F32 [4, 2] and
# Q8_0 [32]), alignment 32
write_gguf () {
	python3 - "$1" "$2" <<-\PY
	import struct, sys
	out, version = sys.argv[1], int(sys.argv[2])
	def s(x):
	    x = x.encode()
	    return struct.pack("<Q", len(x)) + x
	kv = [s("general.architecture") + struct.pack("<I", 8) + s("llama"),
	      s("general.name") + struct.pack("<I", 8) + s('tiny "quoted"\tmodel'),
	      s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2) + s("a") + s("b"),
	      s("llama.context_length") + struct.pack("<II", 4, 2048)]
	tensors = [s("tok_embd.weight") + struct.pack("<IQQIQ", 2, 4, 2, 0, 0),
	           s("blk.0.attn_q.weight") + struct.pack("<IQIQ", 1, 32, 8, 32)]
	head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv)) + b"".join(kv) + b"".join(tensors)
	head += b"\0" * (-len(head) % 32)
	data = bytes(range(32)) + bytes(34)
	open(out, "wb").write(head + data)
	PY
}

test_expect_success 'safetensors: format, metadata, tensor table' '
	test-genmodel model.safetensors --size-mb 1 --meta purpose=testing &&
	git lepton inspect model.safetensors >out &&
	test_grep "^format: safetensors" out &&
	test_grep "^header: [0-9]* bytes" out &&
	test_grep "^  purpose: testing" out &&
	test_grep "^  model.embed_tokens.weight  BF16  \[[0-9]*, [0-9]*\]  [0-9]* bytes  at [0-9]*" out &&
	test-genmodel --size-mb 1 --list >list &&
	n=$(wc -l <list | tr -d " ") &&
	test_grep "^tensors: $n$" out &&
	test $(grep -c "^  .*  BF16  \[" out) = $n
'

test_expect_success 'safetensors: the offsets and sizes are the file'"'"'s' '
	size=$(file_size model.safetensors) &&
	last=$(tail -n 1 out) &&
	bytes=$(echo "$last" | sed -n "s/.*  \([0-9]*\) bytes  at \([0-9]*\)$/\1/p") &&
	at=$(echo "$last" | sed -n "s/.*  \([0-9]*\) bytes  at \([0-9]*\)$/\2/p") &&
	test $((bytes + at)) = $size
'

test_expect_success PYTHON 'gguf v2 and v3' '
	for v in 2 3
	do
		write_gguf tiny$v.gguf $v &&
		git lepton inspect tiny$v.gguf >out &&
		test_grep "^format: gguf" out &&
		test_grep "^version: $v" out &&
		test_grep "^alignment: 32" out &&
		test_grep "^  general.architecture: llama" out &&
		test_grep "^  tokenizer.ggml.tokens: \[string x 2\]" out &&
		test_grep "^  llama.context_length: 2048" out &&
		test_grep "^  tok_embd.weight  F32  \[4, 2\]  32 bytes" out &&
		test_grep "^  blk.0.attn_q.weight  Q8_0  \[32\]  34 bytes" out || return 1
	done
'

test_expect_success PYTHON '--json is valid JSON with the same facts' '
	git lepton inspect --json tiny3.gguf >out.json &&
	python3 -c "
import json, sys
d = json.load(open(\"out.json\"))
assert d[\"format\"] == \"gguf\" and d[\"version\"] == 3, d
assert d[\"metadata\"][\"general.name\"] == \"tiny \\\"quoted\\\"\\tmodel\", d[\"metadata\"]
t = d[\"tensors\"]
assert [x[\"name\"] for x in t] == [\"tok_embd.weight\", \"blk.0.attn_q.weight\"], t
assert t[1][\"shape\"] == [32] and t[1][\"bytes\"] == 34 and t[1][\"dtype\"] == \"Q8_0\", t
" &&
	git lepton inspect model.safetensors --json >st.json &&
	python3 -c "
import json
d = json.load(open(\"st.json\"))
assert d[\"format\"] == \"safetensors\" and len(d[\"tensors\"]) > 10
"
'

test_expect_success 'a hostile file is opaque and says why, exit 0' '
	cp model.safetensors trailing.safetensors &&
	printf xyz >>trailing.safetensors &&
	git lepton inspect trailing.safetensors >out &&
	test_grep "^format: opaque" out &&
	test_grep "^reason: 3 trailing bytes after the data region" out &&
	head -c 1000 model.safetensors >cut.safetensors &&
	git lepton inspect cut.safetensors >out &&
	test_grep "^reason: safetensors header length [0-9]* goes beyond the end of the file" out
'

test_expect_success PYTHON 'a hostile gguf says why, in JSON too' '
	write_gguf bad.gguf 3 &&
	printf "\377\377\377\377" | dd of=bad.gguf bs=1 seek=16 conv=notrunc 2>/dev/null &&
	git lepton inspect bad.gguf >out &&
	test_grep "^format: opaque" out &&
	test_grep "^reason: gguf key/value count [0-9]* cannot fit in the file" out &&
	git lepton inspect --json bad.gguf >bad.json &&
	python3 -c "
import json
d = json.load(open(\"bad.json\"))
assert d[\"format\"] == \"opaque\" and \"cannot fit\" in d[\"reason\"], d
"
'

test_expect_success PYTHON 'names that would drive a terminal are escaped' '
	cat >evil.py <<-\EOF &&
	import json, struct
	h = json.dumps({"evil\x1b[31m\nname": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}).encode()
	open("evil.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"x")
	EOF
	python3 evil.py &&
	git lepton inspect evil.safetensors >out &&
	test_grep "^  evil.x1b\[31m.nname  U8  \[1\]  1 bytes" out &&
	! grep "$(printf "\033")" out &&
	git lepton inspect --json evil.safetensors >evil.json &&
	cat >check.py <<-\EOF &&
	import json
	d = json.load(open("evil.json"))
	assert d["tensors"][0]["name"] == "evil\x1b[31m\nname", d
	EOF
	python3 check.py
'

test_expect_success 'a file that is no model is opaque' '
	make_file random.bin 5000 &&
	git lepton inspect random.bin >out &&
	test_grep "^format: opaque" out &&
	test_grep "^reason: not a safetensors or gguf file" out
'

test_expect_success 'a file that cannot be read is an error' '
	test_must_fail git lepton inspect no-such-file 2>err &&
	test_grep "no-such-file" err &&
	mkdir dir.safetensors &&
	test_must_fail git lepton inspect dir.safetensors 2>err &&
	test_grep "not a regular file" err
'

test_expect_success 'usage' '
	test_expect_code 129 git lepton inspect &&
	test_expect_code 129 git lepton inspect --frobnicate x &&
	test_expect_code 129 git lepton inspect a b
'

test_expect_success 'REV:PATH reads the content from the local store' '
	setup_repo repo &&
	cp model.safetensors repo/ &&
	(
		cd repo &&
		git add model.safetensors &&
		git commit -q -m model &&
		git lepton inspect HEAD:model.safetensors >../rev.out &&
		rm model.safetensors &&
		git lepton inspect HEAD:model.safetensors >../rev2.out
	) &&
	git lepton inspect model.safetensors >file.out &&
	test_cmp file.out rev.out &&
	test_cmp file.out rev2.out
'

test_expect_success 'a pointer in the work tree is inspected through the store' '
	(
		cd repo &&
		git show HEAD:model.safetensors >pointer.safetensors &&
		test $(file_size pointer.safetensors) -lt 1024 &&
		git lepton inspect pointer.safetensors >../ptr.out
	) &&
	test_cmp file.out ptr.out
'

test_expect_success PYTHON 'REV:PATH of a file committed as raw bytes' '
	cp tiny3.gguf repo/ &&
	(
		cd repo &&
		git add tiny3.gguf &&
		git commit -q -m gguf &&
		git lepton inspect HEAD:tiny3.gguf >../raw.out
	) &&
	git lepton inspect tiny3.gguf >expect &&
	test_cmp expect raw.out
'

test_expect_success 'content missing from the store is an error' '
	rm -rf repo/.git/lepton &&
	(
		cd repo &&
		test_must_fail git lepton inspect HEAD:model.safetensors 2>../err
	) &&
	test_grep "cannot inspect .HEAD:model.safetensors.; fetch its content first" err
'

test_expect_success 'a revision or path that does not exist is an error' '
	(
		cd repo &&
		test_must_fail git lepton inspect HEAD:nope.safetensors 2>../err
	) &&
	test_grep "nope.safetensors" err
'

test_done
