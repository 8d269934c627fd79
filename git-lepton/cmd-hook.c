/* hook: what the installed hooks run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "model.h"
#include "run.h"
#include "versions.h"
#include "banned.h"

#define DEFAULT_MAX_RAW_SIZE (10ll << 20)

/* File names that are model weights whatever their content. */
static const char *const model_extensions[] = {
	".safetensors", ".gguf", ".onnx", ".pt",     ".pth",     ".bin",
	".ckpt",        ".h5",   ".pb",   ".tflite", ".msgpack",
};

static const char *model_extension(const char *path)
{
	size_t len = strlen(path);
	for (size_t i = 0; i < sizeof(model_extensions) / sizeof(*model_extensions); i++) {
		size_t n = strlen(model_extensions[i]);
		if (len > n && !strcasecmp(path + len - n, model_extensions[i]))
			return model_extensions[i];
	}
	return NULL;
}

/*
 * Commit policy: lepton.maxRawSize from git config (default 10 MiB), then
 * what the staged .leptonconfig says (git config format, committed with
 * the project so everyone gets the same checks).  0: no limit.
 */
struct policy {
	long long max_raw_size;
	long long max_size;
	struct buf require_metadata; /* "key1,key2", empty: none */
	struct buf allowed_dtypes;   /* "BF16,F16", empty: any */
	int from_file;               /* a .leptonconfig is staged */
	int strict_extensions;       /* refuse a .safetensors/.gguf that is not one */
};

static void policy_release(struct policy *p)
{
	buf_release(&p->require_metadata);
	buf_release(&p->allowed_dtypes);
}

/* A text key of the staged .leptonconfig, into out (empty when unset). */
static void leptonconfig_string(struct buf *out, const char *key)
{
	if (run_git(out, "config", "--blob=:.leptonconfig", "--get", key, (char *)NULL))
		buf_reset(out);
	buf_rtrim(out);
}

/* Is name in the comma-separated list (blanks around items allowed)? */
static int list_has(const char *list, const char *name, int icase)
{
	size_t len = strlen(name);
	const char *p = list;
	while (*p) {
		const char *end;
		size_t n;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		end = p;
		while (*end && *end != ',')
			end++;
		n = (size_t)(end - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n && n == len && !(icase ? strncasecmp(p, name, n) : strncmp(p, name, n)))
			return 1;
		p = end;
	}
	return 0;
}

/*
 * One size from git config (blob NULL) or from the staged .leptonconfig:
 * 1 and *out, 0 when unset, negative (message set) when the value is not a
 * size.  Asked of git itself, which knows `git -c` and the k/M/G suffixes.
 */
static int config_size(long long *out, const char *key, const char *blob)
{
	struct buf val = BUF_INIT;
	char *end;
	int code = blob ? run_git(&val, "config", blob, "--type=int", "--get", key, (char *)NULL)
			: run_git(&val, "config", "--type=int", "--get", key, (char *)NULL);
	int ret = 0;

	if (code == 1)
		goto done;
	buf_rtrim(&val);
	if (code || !val.len || (*out = strtoll(val.data, &end, 10), *end) || *out < 0)
		ret = lepton_error_set(LEPTON_EINVALID,
				       "'%s' has a bad %s; write a size such as 10M or 2G",
				       blob ? ".leptonconfig" : "git config", key);
	else
		ret = 1;
done:
	buf_release(&val);
	return ret;
}

static int load_policy(struct policy *out, git_index *index)
{
	static const char blob[] = "--blob=:.leptonconfig";
	int err, have_raw;

	memset(out, 0, sizeof(*out));
	buf_init(&out->require_metadata, 0);
	buf_init(&out->allowed_dtypes, 0);
	out->max_raw_size = DEFAULT_MAX_RAW_SIZE;
	if ((have_raw = config_size(&out->max_raw_size, "lepton.maxRawSize", NULL)) < 0)
		return have_raw;
	if (!git_index_get_bypath(index, ".leptonconfig", 0))
		return 0;
	out->from_file = 1;
	if ((err = config_size(&out->max_size, "lepton.maxSize", blob)) < 0)
		return err;
	if (!have_raw && (err = config_size(&out->max_raw_size, "lepton.maxRawSize", blob)) < 0)
		return err;
	{
		struct buf strict = BUF_INIT;
		leptonconfig_string(&strict, "lepton.strictExtensions");
		out->strict_extensions = !strcasecmp(strict.data, "true") ||
					 !strcasecmp(strict.data, "yes") ||
					 !strcmp(strict.data, "1");
		buf_release(&strict);
	}
	leptonconfig_string(&out->require_metadata, "lepton.requireMetadata");
	leptonconfig_string(&out->allowed_dtypes, "lepton.allowedDtypes");
	return 0;
}

static long long blob_size(git_repository *repo, const git_oid *blob)
{
	git_odb *odb;
	git_object_t type;
	size_t len = 0;
	if (git_repository_odb(&odb, repo) < 0)
		return -1;
	if (git_odb_read_header(&len, &type, odb, blob) < 0)
		len = 0;
	git_odb_free(odb);
	return (long long)len;
}

/* A model file staged without git-lepton: refused when it is large. */
static int check_untracked(struct lepton_repo *repo, const struct policy *pol, const char *path,
			   const git_oid *blob)
{
	const char *ext = model_extension(path);
	char size[32], limit[32];
	long long n;

	if (!ext || pol->max_raw_size <= 0)
		return 0;
	n = blob_size(repo->git, blob);
	if (n <= pol->max_raw_size)
		return 0;
	error("'%s' is a %s model file staged as raw bytes, over lepton.maxRawSize (%s); run "
	      "'git lepton track \"*%s\"' and then 'git add --renormalize \"%s\"'",
	      path, human_size(size, sizeof(size), (unsigned long long)n),
	      human_size(limit, sizeof(limit), (unsigned long long)pol->max_raw_size), ext, path);
	return 1;
}

/* The policy's checks on a parsed model; the number of refusals. */
static int check_model(const struct policy *pol, const char *path, const struct model_info *m)
{
	int refused = 0;

	if (pol->require_metadata.len) {
		struct buf missing = BUF_INIT;
		const char *p = pol->require_metadata.data;
		while (*p) {
			const char *end = strchr(p, ',');
			struct buf key = BUF_INIT;
			size_t n = end ? (size_t)(end - p) : strlen(p);
			int found = 0;
			buf_add(&key, p, n);
			buf_rtrim(&key);
			while (key.len && (key.data[0] == ' ' || key.data[0] == '\t')) {
				memmove(key.data, key.data + 1, key.len);
				key.len--;
			}
			for (size_t i = 0; key.len && i < m->n_meta; i++)
				found |= !strcmp(m->meta[i].key, key.data);
			if (key.len && !found)
				buf_addf(&missing, "%s'%s'", missing.len ? ", " : "", key.data);
			buf_release(&key);
			p = end ? end + 1 : p + n;
		}
		if (missing.len) {
			error("'%s' lacks the metadata %s that .leptonconfig requires "
			      "(lepton.requireMetadata); add %s to the model's metadata and 'git "
			      "add' it again",
			      path, missing.data, strchr(missing.data, ',') ? "them" : "it");
			refused++;
		}
		buf_release(&missing);
	}
	if (pol->allowed_dtypes.len) {
		for (size_t i = 0; i < m->n_tensors; i++) {
			const struct model_tensor *t = &m->tensors[i];
			if (list_has(pol->allowed_dtypes.data, t->dtype, 1))
				continue;
			error("'%s': tensor '%s' is %s, not one of the dtypes .leptonconfig allows "
			      "(lepton.allowedDtypes = %s); convert it, or add %s there",
			      path, t->name, t->dtype, pol->allowed_dtypes.data, t->dtype);
			refused++;
			break; /* one line a file is enough */
		}
	}
	return refused;
}

/*
 * A tracked model file, staged as a pointer: its format validates (the
 * bytes come from the local store: the index holds only the pointer), and
 * the policy's checks.  Returns the number of refusals.
 */
static int check_tracked(struct lepton_store *store, const struct policy *pol, const char *path,
			 const struct lepton_pointer *p)
{
	const char *ext = model_extension(path);
	int expect_format = ext && (!strcasecmp(ext, ".safetensors") || !strcasecmp(ext, ".gguf"));
	struct model_info m;
	char size[32], limit[32], hex[OID_HEXSZ + 1];
	int refused = 0, parse_ret, err;

	if (pol->max_size > 0 && p->size > (unsigned long long)pol->max_size) {
		error("'%s' is %s, over lepton.maxSize (%s) of .leptonconfig; commit a smaller "
		      "model or raise lepton.maxSize in .leptonconfig",
		      path, human_size(size, sizeof(size), p->size),
		      human_size(limit, sizeof(limit), (unsigned long long)pol->max_size));
		refused++;
	}
	if (!p->size)
		return refused;
	if (!store || !store_has_file(store, &p->oid)) {
		warning("cannot validate '%s': its content '%s' is not in the local store", path,
			oid_to_hex(hex, &p->oid));
		return refused;
	}
	err = version_parse_stored(&m, &parse_ret, store, p);
	if (err) {
		error("cannot validate '%s': %s; run 'git lepton fsck'", path, lepton_error_last());
		refused++;
	} else if (parse_ret) {
		error("'%s' is not a valid model file: %s; fix or re-export the model, or leave it "
		      "out with 'git restore --staged \"%s\"'",
		      path, lepton_error_last(), path);
		refused++;
	} else if (m.format == MODEL_OPAQUE && expect_format && pol->strict_extensions) {
		error("'%s' is not a %s file (its header is not one; lepton.strictExtensions is "
		      "set in .leptonconfig); fix or re-export the model, or leave it out with "
		      "'git restore --staged \"%s\"'",
		      path, ext + 1, path);
		refused++;
	} else if (m.format == MODEL_OPAQUE && expect_format) {
		warning("'%s' is not a %s file; it is committed as opaque bytes", path, ext + 1);
	} else if (m.format != MODEL_OPAQUE)
		refused += check_model(pol, path, &m);
	model_info_release(&m);
	return refused;
}

/* Refuse tracked paths staged as raw bytes, and malformed pointers, among
 * what this commit changes (not what earlier commits let in). */
static int pre_commit(struct lepton_repo *repo)
{
	git_index *index = NULL;
	git_object *head = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	struct lepton_store *store = NULL;
	struct policy pol = { .max_raw_size = 0 };
	int refused = 0, ret = 0, err;

	if (git_repository_index(&index, repo->git) < 0 ||
	    (git_revparse_single(&head, repo->git, "HEAD^{tree}") < 0 &&
	     git_repository_head_unborn(repo->git) != 1)) {
		fprintf(stderr, "fatal: cannot read the index or HEAD: %s\n", git_error_message());
		ret = EXIT_GIT;
		goto done;
	}
	tree = (git_tree *)head;
	if ((err = load_policy(&pol, index))) {
		ret = report_error(err);
		goto done;
	}
	if (git_diff_tree_to_index(&diff, repo->git, tree, index, NULL) < 0) {
		fprintf(stderr, "fatal: cannot compare the index with HEAD: %s\n",
			git_error_message());
		ret = EXIT_GIT;
		goto done;
	}
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = d->new_file.path;
		struct lepton_pointer p;
		int kind;

		if (d->status == GIT_DELTA_DELETED || blob_is_empty(&d->new_file.id))
			continue;
		if (!path_is_tracked(repo->git, path, GIT_ATTR_CHECK_INDEX_THEN_FILE)) {
			refused += check_untracked(repo, &pol, path, &d->new_file.id);
			continue;
		}
		kind = blob_pointer(repo->git, &d->new_file.id, &p);
		if (kind == 1) {
			if (!store && store_open(&store, repo->store_path, 0))
				store = NULL;
			refused += check_tracked(store, &pol, path, &p);
			continue;
		}
		if (kind == LEPTON_EINVALID)
			error("'%s' is staged as a malformed pointer (%s); restore it with 'git "
			      "checkout HEAD -- \"%s\"' or add the real file again",
			      path, lepton_error_last(), path);
		else
			error("'%s' is tracked by git-lepton but staged as raw bytes; run 'git "
			      "lepton "
			      "install' and then 'git add --renormalize \"%s\"'",
			      path, path);
		refused++;
	}
	if (refused) {
		fprintf(stderr, "hint: 'git commit --no-verify' commits anyway\n");
		ret = EXIT_FAIL;
	}
done:
	policy_release(&pol);
	store_free(store);
	git_diff_free(diff);
	git_object_free(head);
	git_index_free(index);
	return ret;
}

int cmd_hook(int argc, const char **argv, struct lepton_repo *repo)
{
	if (argc < 2)
		return usage_error(argv[0], "no hook named");
	/* validate: the same checks, for the pre-commit framework */
	if (!strcmp(argv[1], "pre-commit") || !strcmp(argv[1], "validate"))
		return pre_commit(repo);
	if (!strcmp(argv[1], "pre-push"))
		return hook_pre_push(argc, argv, repo);
	if (!strcmp(argv[1], "post-checkout"))
		return 0;
	return usage_error(argv[0], "unknown hook '%s'", argv[1]);
}
