/*
 * merge-driver: git's merge.lepton.driver.  Models do not merge byte by
 * byte, and a line merge of two pointers would write conflict markers into
 * a pointer.  So a merge takes the side that changed; when both changed
 * differently it keeps ours and reports a conflict, as git does for binary
 * files.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "error.h"
#include "banned.h"

static int read_side(struct buf *out, const char *path)
{
	int err;
	buf_init_limit(out, 64u << 20);
	err = buf_read_file(out, path);
	if (err)
		return report_error(err);
	return 0;
}

int cmd_merge_driver(int argc, const char **argv, struct lepton_repo *repo)
{
	struct buf base, ours, theirs;
	int ret;

	/* git lepton merge-driver %O %A %B [%P] */
	if (argc != 4 && argc != 5)
		return usage_error(argv[0], NULL);
	if ((ret = read_side(&base, argv[1])))
		return ret;
	if ((ret = read_side(&ours, argv[2])) || (ret = read_side(&theirs, argv[3])))
		goto done;
	if (theirs.len == ours.len && !memcmp(theirs.data, ours.data, ours.len))
		ret = 0; /* both sides agree */
	else if (theirs.len == base.len && !memcmp(theirs.data, base.data, base.len))
		ret = 0; /* only ours changed: %A already holds the result */
	else if (ours.len == base.len && !memcmp(ours.data, base.data, base.len)) {
		/* only theirs changed: the result is theirs */
		FILE *f = fopen(argv[2], "wb");
		if (!f || fwrite(theirs.data, 1, theirs.len, f) != theirs.len)
			ret = error("cannot write '%s': %m", argv[2]);
		if (f && fclose(f) && !ret)
			ret = error("cannot write '%s': %m", argv[2]);
	} else {
		fprintf(stderr,
			"warning: '%s' changed on both sides; keeping ours. Pick a version "
			"with 'git checkout --ours' or '--theirs', then 'git add' it\n",
			argc == 5 ? argv[4] : argv[2]);
		ret = EXIT_FAIL;
	}
done:
	buf_release(&base);
	buf_release(&ours);
	buf_release(&theirs);
	return ret;
}
