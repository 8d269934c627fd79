/* install and uninstall: the filter configuration and the hooks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "hooks.h"
#include "pack.h"
#include "run.h"
#include "banned.h"

static const char *const filter_config[][2] = {
	{ "filter.lepton.process", "git-lepton filter-process" },
	{ "filter.lepton.clean", "git-lepton clean -- %f" },
	{ "filter.lepton.smudge", "git-lepton smudge -- %f" },
	{ "filter.lepton.required", "true" },
	{ "diff.lepton.textconv", "git-lepton textconv" },
	{ "merge.lepton.name", "git-lepton: keep one version of a model" },
	{ "merge.lepton.driver", "git-lepton merge-driver %O %A %B %P" },
};

struct install_opts {
	const char *scope; /* "--global", "--local", "--system" */
	int skip_repo;
};

static int parse_opts(int argc, const char **argv, struct lepton_repo *repo, struct install_opts *o)
{
	o->scope = "--global";
	o->skip_repo = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--local") || !strcmp(argv[i], "--global") ||
		    !strcmp(argv[i], "--system"))
			o->scope = argv[i];
		else if (!strcmp(argv[i], "--skip-repo"))
			o->skip_repo = 1;
		else
			return usage_error(argv[0], "unknown option '%s'", argv[i]);
	}
	if (!strcmp(o->scope, "--local") && !repo) {
		fprintf(stderr, "fatal: --local can only be used inside a git repository\n");
		return EXIT_GIT;
	}
	return 0;
}

/* The hooks directory as git sees it (core.hooksPath honoured). */
static int hooks_dir(struct buf *out)
{
	int ret = run_git(out, "rev-parse", "--git-path", "hooks", (char *)NULL);
	buf_rtrim(out);
	if (ret || !out->len)
		return error("cannot find the hooks directory");
	return 0;
}

static int is_ours(const char *path)
{
	struct buf text;
	int ours;
	buf_init_limit(&text, 1 << 20);
	ours = !buf_read_file(&text, path) && strstr(text.data, HOOK_MARKER) != NULL;
	buf_release(&text);
	return ours;
}

static int same_text(const char *path, const char *text)
{
	struct buf have;
	int same;
	buf_init_limit(&have, 1 << 20);
	same = !buf_read_file(&have, path) && !strcmp(have.data, text);
	buf_release(&have);
	return same;
}

static int install_hook(const char *dir, const struct hook_script *h)
{
	struct buf path = BUF_INIT, chained = BUF_INIT, tmp = BUF_INIT;
	int ret = 0;

	buf_addf(&path, "%s/%s", dir, h->name);
	buf_addf(&chained, "%s.chained", path.data);
	if (access(path.data, F_OK) == 0) {
		if (same_text(path.data, h->text))
			goto done;
		if (!is_ours(path.data)) {
			if (access(chained.data, F_OK) == 0) {
				ret = error(
				    "hook '%s' exists and so does '%s'; merge them by hand, then "
				    "run 'git lepton install' again",
				    path.data, chained.data);
				goto done;
			}
			if (rename(path.data, chained.data) < 0) {
				ret = error("cannot keep hook '%s' as '%s': %m", path.data,
					    chained.data);
				goto done;
			}
			printf("kept existing hook '%s' as '%s'\n", h->name, chained.data);
		}
	}
	if (write_file_atomic(dir, path.data, h->text, strlen(h->text), 0) ||
	    chmod(path.data, 0755) < 0)
		ret = error("cannot write hook '%s': %s", path.data, lepton_error_last());
done:
	buf_release(&path);
	buf_release(&chained);
	buf_release(&tmp);
	return ret;
}

static int install_hooks(void)
{
	struct buf dir = BUF_INIT;
	int ret = hooks_dir(&dir);

	if (!ret && mkdir(dir.data, 0777) < 0 && errno != EEXIST)
		ret = error("cannot create '%s': %m", dir.data);
	for (const struct hook_script *h = hook_scripts; !ret && h->name; h++)
		ret = install_hook(dir.data, h);
	buf_release(&dir);
	return ret;
}

int cmd_install(int argc, const char **argv, struct lepton_repo *repo)
{
	struct install_opts o;
	int ret = parse_opts(argc, argv, repo, &o);

	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(filter_config) / sizeof(*filter_config); i++) {
		struct buf have = BUF_INIT;
		/* leave the file alone when the value is already there */
		int got =
		    run_git(&have, "config", o.scope, "--get", filter_config[i][0], (char *)NULL);
		buf_rtrim(&have);
		if (got != 0 || strcmp(have.data, filter_config[i][1]))
			got = run_git(NULL, "config", o.scope, "--replace-all", filter_config[i][0],
				      filter_config[i][1], (char *)NULL);
		else
			got = 0;
		buf_release(&have);
		if (got)
			return error("cannot set '%s' with 'git config %s'", filter_config[i][0],
				     o.scope);
	}
	if (repo && repo->workdir && !o.skip_repo && (ret = install_hooks()))
		return ret;
	printf("git-lepton installed: filter configured (%s)%s\n", o.scope + 2,
	       repo && repo->workdir && !o.skip_repo ? ", hooks installed" : "");
	return 0;
}

static int uninstall_hooks(void)
{
	struct buf dir = BUF_INIT, path = BUF_INIT, chained = BUF_INIT;
	int ret = hooks_dir(&dir);

	for (const struct hook_script *h = hook_scripts; !ret && h->name; h++) {
		buf_reset(&path);
		buf_reset(&chained);
		buf_addf(&path, "%s/%s", dir.data, h->name);
		buf_addf(&chained, "%s.chained", path.data);
		if (access(path.data, F_OK) == 0 && !is_ours(path.data))
			continue; /* someone else's now */
		unlink(path.data);
		if (access(chained.data, F_OK) == 0 && rename(chained.data, path.data) < 0)
			ret = error("cannot restore hook '%s': %m", path.data);
	}
	buf_release(&dir);
	buf_release(&path);
	buf_release(&chained);
	return ret;
}

int cmd_uninstall(int argc, const char **argv, struct lepton_repo *repo)
{
	static const char *const sections[] = { "filter.lepton", "diff.lepton", "merge.lepton" };
	struct install_opts o;
	int ret = parse_opts(argc, argv, repo, &o);

	if (ret)
		return ret;
	/* a missing section is not an error: uninstall twice is fine */
	for (size_t i = 0; i < sizeof(sections) / sizeof(*sections); i++) {
		struct buf found = BUF_INIT, pattern = BUF_INIT;
		buf_addf(&pattern, "^%s\\.", sections[i]);
		if (!run_git(&found, "config", o.scope, "--get-regexp", pattern.data,
			     (char *)NULL) &&
		    run_git(NULL, "config", o.scope, "--remove-section", sections[i], (char *)NULL))
			ret =
			    error("cannot remove '%s' with 'git config %s'", sections[i], o.scope);
		buf_release(&found);
		buf_release(&pattern);
	}
	if (ret)
		return ret;
	if (repo && repo->workdir && !o.skip_repo && (ret = uninstall_hooks()))
		return ret;
	printf("git-lepton uninstalled (%s)\n", o.scope + 2);
	return 0;
}
