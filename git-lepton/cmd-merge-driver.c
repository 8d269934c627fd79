/*
 * merge-driver: git's merge.lepton.driver.  Models do not merge byte by
 * byte, and a line merge of two pointers would write conflict markers into
 * a pointer.  So a merge takes the side that changed; when both changed
 * differently it keeps ours and reports a conflict, as git does for binary
 * files.  The sides are pointers, or raw files committed before tracking,
 * so they are compared and copied as streams.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "banned.h"

#define BLOCK 65536

/* 1 if the two files hold the same bytes, 0 if not, -1 if unreadable. */
static int same_content(const char *a, const char *b)
{
	char ba[BLOCK], bb[BLOCK];
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	int ret = -1;

	if (fa < 0 || fb < 0)
		goto done;
	for (;;) {
		ssize_t na = read_full(fa, ba, BLOCK), nb = read_full(fb, bb, BLOCK);
		if (na < 0 || nb < 0)
			goto done;
		if (na != nb || memcmp(ba, bb, (size_t)na)) {
			ret = 0;
			goto done;
		}
		if (na < BLOCK) {
			ret = 1;
			goto done;
		}
	}
done:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return ret;
}

static int copy_content(const char *from, const char *to)
{
	char block[BLOCK];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, ret = -1;
	ssize_t n;

	if (in < 0)
		goto done;
	out = open(to, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (out < 0)
		goto done;
	while ((n = read_full(in, block, BLOCK)) > 0)
		if (write_all(out, block, (size_t)n))
			goto done;
	ret = n < 0 ? -1 : 0;
done:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0)
		ret = -1;
	return ret;
}

int cmd_merge_driver(int argc, const char **argv, struct lepton_repo *repo)
{
	const char *base, *ours, *theirs, *path;
	int theirs_same_as_base, ours_same_as_base, sides_agree;

	/* git lepton merge-driver %O %A %B [%P] */
	if (argc != 4 && argc != 5)
		return usage_error(argv[0], NULL);
	base = argv[1];
	ours = argv[2];
	theirs = argv[3];
	path = argc == 5 ? argv[4] : ours;

	theirs_same_as_base = same_content(theirs, base);
	ours_same_as_base = same_content(ours, base);
	sides_agree = same_content(ours, theirs);
	if (theirs_same_as_base < 0 || ours_same_as_base < 0 || sides_agree < 0)
		return error("cannot read the versions of '%s' to merge", path);
	if (theirs_same_as_base || sides_agree)
		return 0; /* %A, ours, already holds the result */
	if (ours_same_as_base) {
		if (copy_content(theirs, ours))
			return error("cannot write the merge result of '%s': %m", path);
		return 0;
	}
	fprintf(stderr,
		"warning: '%s' changed on both sides; keeping ours. Pick a version with 'git "
		"checkout --ours' or '--theirs', then 'git add' it\n",
		path);
	return EXIT_FAIL;
}
