/* ls-files and status: the model files git knows, and their content. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "error.h"
#include "banned.h"

struct ls_state {
	struct lepton_repo *repo;
	struct lepton_store *store;
	int long_oid, show_size;
	int malformed;
};

static void print_entry(struct ls_state *st, const char *path, const struct lepton_pointer *p)
{
	char hex[OID_HEXSZ + 1], size[32];
	int present = st->store && store_has_file(st->store, &p->oid);
	oid_to_hex(hex, &p->oid);
	printf("%.*s %c %s", st->long_oid ? OID_HEXSZ : 10, hex, present ? '*' : '-', path);
	if (st->show_size)
		printf(" (%s)", human_size(size, sizeof(size), p->size));
	putchar('\n');
}

static int ls_tree_cb(const char *root, const git_tree_entry *entry, void *data)
{
	struct ls_state *st = data;
	struct lepton_pointer p;
	struct buf path = BUF_INIT;
	int ret;

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	buf_addf(&path, "%s%s", root, git_tree_entry_name(entry));
	ret = blob_pointer(st->repo->git, git_tree_entry_id(entry), &p);
	if (ret == 1)
		print_entry(st, path.data, &p);
	else if (ret == LEPTON_EINVALID) {
		warning("'%s' holds a malformed pointer: %s", path.data, lepton_error_last());
		st->malformed = 1;
	}
	buf_release(&path);
	return 0;
}

int cmd_ls_files(int argc, const char **argv, struct lepton_repo *repo)
{
	struct ls_state st = { .repo = repo };
	const char *rev = NULL;
	git_object *obj = NULL;
	git_tree *tree = NULL;
	int ret = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--long") || !strcmp(argv[i], "-l"))
			st.long_oid = 1;
		else if (!strcmp(argv[i], "--size") || !strcmp(argv[i], "-s"))
			st.show_size = 1;
		else if (argv[i][0] == '-')
			return usage_error(argv[0], "unknown option '%s'", argv[i]);
		else if (!rev)
			rev = argv[i];
		else
			return usage_error(argv[0], "too many revisions");
	}
	store_open(&st.store, repo->store_path, 0); /* no store: nothing is present */

	if (!rev && git_repository_head_unborn(repo->git) == 1) {
		/* no commit yet: list what is staged */
		git_index *index;
		if (git_repository_index(&index, repo->git) < 0) {
			ret = error("cannot read the index: %s", git_error_message());
			goto done;
		}
		for (size_t i = 0; i < git_index_entrycount(index); i++) {
			const git_index_entry *e = git_index_get_byindex(index, i);
			struct lepton_pointer p;
			if (blob_pointer(repo->git, &e->id, &p) == 1)
				print_entry(&st, e->path, &p);
		}
		git_index_free(index);
		goto done;
	}
	if (git_revparse_single(&obj, repo->git, rev ? rev : "HEAD") < 0 ||
	    git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) < 0) {
		fprintf(stderr, "fatal: '%s' is not a valid revision: %s\n", rev ? rev : "HEAD",
			git_error_message());
		ret = EXIT_GIT;
		goto done;
	}
	git_tree_walk(tree, GIT_TREEWALK_PRE, ls_tree_cb, &st);
done:
	git_tree_free(tree);
	git_object_free(obj);
	store_free(st.store);
	return ret;
}

int cmd_status(int argc, const char **argv, struct lepton_repo *repo)
{
	struct lepton_store *store = NULL;
	git_index *index = NULL;
	git_tree *head = NULL;
	git_object *obj = NULL;
	struct buf staged = BUF_INIT, unchanged = BUF_INIT, raw = BUF_INIT, bad = BUF_INIT;
	int missing = 0;

	if (argc > 1)
		return usage_error(argv[0], "unexpected argument '%s'", argv[1]);
	store_open(&store, repo->store_path, 0);
	if (git_repository_index(&index, repo->git) < 0) {
		fprintf(stderr, "fatal: cannot read the index: %s\n", git_error_message());
		return EXIT_GIT;
	}
	if (git_revparse_single(&obj, repo->git, "HEAD^{tree}") == 0)
		head = (git_tree *)obj;

	for (size_t i = 0; i < git_index_entrycount(index); i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		struct lepton_pointer p;
		git_tree_entry *te = NULL;
		const char *change = NULL;
		char size[32], hex[OID_HEXSZ + 1];
		int present, kind = blob_pointer(repo->git, &e->id, &p);

		if (kind == LEPTON_EINVALID) {
			buf_addf(&bad, "\t%s: %s\n", e->path, lepton_error_last());
			continue;
		}
		if (kind != 1) {
			if (kind == 0 && !blob_is_empty(&e->id) &&
			    path_is_tracked(repo->git, e->path, GIT_ATTR_CHECK_FILE_THEN_INDEX))
				buf_addf(&raw, "\t%s\n", e->path);
			continue;
		}
		if (!head || git_tree_entry_bypath(&te, head, e->path) < 0)
			change = "new:      ";
		else if (!git_oid_equal(git_tree_entry_id(te), &e->id))
			change = "modified: ";
		git_tree_entry_free(te);
		present = store && store_has_file(store, &p.oid);
		missing += !present;
		buf_addf(change ? &staged : &unchanged, "\t%s%s  (%s, %.10s, %s)\n",
			 change ? change : "", e->path, human_size(size, sizeof(size), p.size),
			 oid_to_hex(hex, &p.oid), present ? "present" : "content missing locally");
	}
	printf("Model files staged for commit:\n%s", staged.len ? staged.data : "\t(none)\n");
	if (unchanged.len)
		printf("\nModel files unchanged since HEAD:\n%s", unchanged.data);
	if (raw.len)
		printf(
		    "\nTracked files staged as raw bytes (run 'git add --renormalize <path>'):\n%s",
		    raw.data);
	if (bad.len)
		printf("\nMalformed pointers in the index:\n%s", bad.data);
	if (missing)
		printf("\n%d model file%s without content in the local store\n", missing,
		       missing == 1 ? "" : "s");
	buf_release(&staged);
	buf_release(&unchanged);
	buf_release(&raw);
	buf_release(&bad);
	git_object_free(obj);
	git_index_free(index);
	store_free(store);
	return 0;
}
