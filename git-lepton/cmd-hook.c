/* hook: what the installed hooks run. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "banned.h"

static int is_tracked(git_repository *repo, const char *path)
{
	const char *filter = NULL;
	return git_attr_get(&filter, repo, GIT_ATTR_CHECK_INDEX_THEN_FILE, path, "filter") == 0 &&
	       filter && !strcmp(filter, "lepton");
}

/* Refuse tracked paths staged as raw bytes, and malformed pointers. */
static int pre_commit(struct lepton_repo *repo)
{
	git_index *index;
	int refused = 0;

	if (git_repository_index(&index, repo->git) < 0) {
		fprintf(stderr, "fatal: cannot read the index: %s\n", git_error_message());
		return EXIT_GIT;
	}
	for (size_t i = 0; i < git_index_entrycount(index); i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		struct lepton_pointer p;
		int kind;
		if (!git_oid_streq(&e->id, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"))
			continue; /* empty files stay empty */
		if (!is_tracked(repo->git, e->path))
			continue;
		kind = blob_pointer(repo->git, &e->id, &p);
		if (kind == 1)
			continue;
		if (kind == LEPTON_EINVALID)
			error("'%s' is staged as a malformed pointer (%s); restore it with 'git "
			      "checkout HEAD -- %s' or add the real file again",
			      e->path, lepton_error_last(), e->path);
		else
			error("'%s' is tracked by git-lepton but staged as raw bytes; run 'git lepton "
			      "install' and then 'git add --renormalize %s'",
			      e->path, e->path);
		refused++;
	}
	git_index_free(index);
	if (refused)
		fprintf(stderr, "hint: 'git commit --no-verify' commits anyway\n");
	return refused ? EXIT_FAIL : 0;
}

int cmd_hook(int argc, const char **argv, struct lepton_repo *repo)
{
	if (argc < 2)
		return usage_error(argv[0], "no hook named");
	if (!strcmp(argv[1], "pre-commit"))
		return pre_commit(repo);
	if (!strcmp(argv[1], "pre-push")) {
		/* content upload for plain git remotes comes with remote stores;
		 * read the ref list so git's write to us never fails */
		struct buf refs = BUF_INIT;
		buf_read_fd(&refs, 0);
		buf_release(&refs);
		return 0;
	}
	if (!strcmp(argv[1], "post-checkout"))
		return 0;
	return usage_error(argv[0], "unknown hook '%s'", argv[1]);
}
