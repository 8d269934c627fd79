# A model history for the version commands' tests (t0080-t0082); source it
# after test-lib.sh.
#
# make_version_history builds, in the current directory:
#   model.safetensors  5 versions (test-genmodel): v1 base; v2 30 % of the
#                      tensors retrained; a commit of README only; v3 a
#                      tensor added; the file deleted, then re-added with
#                      the same bytes (no new version); v4 a tensor dropped;
#                      v5 the whole model in F16 instead of BF16
#   data.bin           3 versions of 8 MiB (two 4 MiB chunks): v1 A;
#                      v2 the first chunk of A and a new one; v3 A again
# Each version's bytes are kept in .git/versions/<file>.vN and the commit
# that made it in .git/versions/<file>.vN.commit.

version_keep_ () {
	# version_keep_ FILE N: remember FILE's bytes and HEAD as version N
	cp "$1" ".git/versions/$1.v$2" &&
	git rev-parse HEAD >".git/versions/$1.v$2.commit"
}

# version_commit N: the commit that made version N of FILE
version_commit () {
	cat ".git/versions/$1.v$2.commit"
}

version_model_ () {
	# version_model_ ARGS...: model.safetensors with these extra options
	test-genmodel model.safetensors --size-mb 1 --seed 7 "$@"
}

make_version_history () {
	setup_repo &&
	mkdir -p .git/versions &&
	make_file .git/versions/A 8M history-a &&
	make_file .git/versions/B 4M history-b &&

	version_model_ &&
	cp .git/versions/A data.bin &&
	git add model.safetensors data.bin &&
	test_tick && git commit -q -m "base model" &&
	version_keep_ model.safetensors 1 && version_keep_ data.bin 1 &&

	version_model_ --version 2 --changed 0.3 &&
	head -c 4194304 .git/versions/A >data.bin &&
	cat .git/versions/B >>data.bin &&
	git add model.safetensors data.bin &&
	test_tick && git commit -q -m "retrain 30 %" &&
	version_keep_ model.safetensors 2 && version_keep_ data.bin 2 &&

	echo "a model" >README &&
	git add README &&
	test_tick && git commit -q -m "readme only" &&

	version_model_ --version 2 --changed 0.3 --add-tensor extra.weight:64x64 &&
	git add model.safetensors &&
	test_tick && git commit -q -m "add a tensor" &&
	version_keep_ model.safetensors 3 &&

	git rm -q model.safetensors &&
	test_tick && git commit -q -m "remove the model" &&
	cp .git/versions/model.safetensors.v3 model.safetensors &&
	git add model.safetensors &&
	test_tick && git commit -q -m "the model back, same bytes" &&

	version_model_ --version 2 --changed 0.3 --add-tensor extra.weight:64x64 \
		--drop-tensor model.layers.0.mlp.up_proj.weight &&
	git add model.safetensors &&
	test_tick && git commit -q -m "drop a tensor" &&
	version_keep_ model.safetensors 4 &&

	version_model_ --version 2 --changed 0.3 --add-tensor extra.weight:64x64 \
		--drop-tensor model.layers.0.mlp.up_proj.weight --dtype f16 &&
	cp .git/versions/A data.bin &&
	git add model.safetensors data.bin &&
	test_tick && git commit -q -m "to f16; data back to A" &&
	version_keep_ model.safetensors 5 && version_keep_ data.bin 3 &&
	assert_clean_status
}
