/* hook: what the installed hooks run. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "banned.h"

/* Refuse tracked paths staged as raw bytes, and malformed pointers, among
 * what this commit changes (not what earlier commits let in). */
static int pre_commit(struct lepton_repo *repo)
{
	git_index *index = NULL;
	git_object *head = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	int refused = 0, ret = 0;

	if (git_repository_index(&index, repo->git) < 0 ||
	    (git_revparse_single(&head, repo->git, "HEAD^{tree}") < 0 &&
	     git_repository_head_unborn(repo->git) != 1)) {
		fprintf(stderr, "fatal: cannot read the index or HEAD: %s\n", git_error_message());
		ret = EXIT_GIT;
		goto done;
	}
	tree = (git_tree *)head;
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
		if (!path_is_tracked(repo->git, path, GIT_ATTR_CHECK_INDEX_THEN_FILE))
			continue;
		kind = blob_pointer(repo->git, &d->new_file.id, &p);
		if (kind == 1)
			continue;
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
	git_diff_free(diff);
	git_object_free(head);
	git_index_free(index);
	return ret;
}

int cmd_hook(int argc, const char **argv, struct lepton_repo *repo)
{
	if (argc < 2)
		return usage_error(argv[0], "no hook named");
	if (!strcmp(argv[1], "pre-commit"))
		return pre_commit(repo);
	if (!strcmp(argv[1], "pre-push"))
		return hook_pre_push(argc, argv, repo);
	if (!strcmp(argv[1], "post-checkout"))
		return 0;
	return usage_error(argv[0], "unknown hook '%s'", argv[1]);
}
