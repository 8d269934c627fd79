/* clean, smudge and filter-process: the filter as git runs it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "filter.h"
#include "banned.h"

/* "[-- PATH]" or "[PATH]": the path git passes as %f, for messages */
static int path_arg(int argc, const char **argv, const char **path)
{
	int i = 1;
	*path = "<stdin>";
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	else if (i < argc && argv[i][0] == '-')
		return usage_error(argv[0], "unknown option '%s'", argv[i]);
	if (i < argc)
		*path = argv[i++];
	if (i < argc)
		return usage_error(argv[0], "too many arguments");
	return 0;
}

int cmd_clean(int argc, const char **argv, struct lepton_repo *repo)
{
	struct lepton_store *s = NULL;
	struct buf pointer = BUF_INIT;
	const char *path;
	int in = 0, out = 1, err, ret = 0;

	if ((ret = path_arg(argc, argv, &path)))
		return ret;
	if ((err = repo_open_store(repo, &s)) ||
	    (err = filter_clean(s, path, filter_read_fd, &in, &pointer)) ||
	    (err = write_all(out, pointer.data, pointer.len)))
		ret = report_error(err);
	buf_release(&pointer);
	store_free(s);
	return ret;
}

int cmd_smudge(int argc, const char **argv, struct lepton_repo *repo)
{
	struct lepton_store *s = NULL;
	const char *path;
	int in = 0, out = 1, err, ret;

	if ((ret = path_arg(argc, argv, &path)))
		return ret;
	if ((err = repo_open_store(repo, &s))) {
		ret = report_error(err);
		goto done;
	}
	err = filter_smudge(s, path, filter_read_fd, &in, filter_write_fd, &out, NULL);
	if (err == SMUDGE_MALFORMED)
		warning("%s", lepton_error_last());
	else if (err < 0)
		ret = report_error(err);
done:
	store_free(s);
	return ret;
}

int cmd_filter_process(int argc, const char **argv, struct lepton_repo *repo)
{
	struct lepton_store *s = NULL;
	int err, ret = 0;

	if (argc > 1)
		return usage_error(argv[0], "unexpected argument '%s'", argv[1]);
	if ((err = repo_open_store(repo, &s)) || (err = filter_process(s, 0, 1)))
		ret = report_error(err);
	store_free(s);
	return ret;
}
