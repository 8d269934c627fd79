/*
 * test-backend: the calls of git-lepton/backend.h from the command line, on
 * any store URL this build understands (a directory today; s3:// and
 * http(s):// when those backends are built in), so a test can look into a
 * store through the same code the helper uses, or check one backend
 * against another.
 *
 *   test-backend URL get KEY               the object on stdout
 *   test-backend URL exists KEY            exit 0 if it exists, 2 if not
 *   test-backend URL list PREFIX           the names directly under PREFIX
 *   test-backend URL put KEY FILE          write FILE as KEY
 *   test-backend URL delete KEY            remove KEY (missing is fine)
 *   test-backend URL create                make the store's root
 *   test-backend URL etag KEY              the object's etag (empty line:
 *                                          there is none)
 *   test-backend URL put-if KEY FILE ETAG  write FILE as KEY if its etag is
 *                                          still ETAG ("": if it does not
 *                                          exist); exit 3 when it changed
 *
 * Exit codes: 0 done, 1 failed (a message on stderr), 2 no such object
 * (get, exists), 3 conflict (put-if), 129 usage.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "error.h"
#include "banned.h"

static const char usage_text[] = "usage: test-backend URL (get|exists|etag|delete) KEY\n"
				 "       test-backend URL list PREFIX\n"
				 "       test-backend URL put KEY FILE\n"
				 "       test-backend URL put-if KEY FILE ETAG\n"
				 "       test-backend URL create\n";

static int print_name(void *data, const char *name)
{
	(void)data;
	return printf("%s\n", name) < 0 ? lepton_error_errno(LEPTON_EIO, "cannot write to stdout")
					: 0;
}

static int usage(void)
{
	fputs(usage_text, stderr);
	return 129;
}

int main(int argc, char **argv)
{
	struct backend *b = NULL;
	struct buf data, etag;
	const char *cmd;
	int fd = STDOUT_FILENO;
	int ret = 1;
	int err = 0;

	buf_init(&data, 0);
	buf_init(&etag, 0);
	if (argc < 3) {
		ret = usage();
		goto done;
	}
	cmd = argv[2];
	if ((!strcmp(cmd, "create") && argc != 3) ||
	    ((!strcmp(cmd, "get") || !strcmp(cmd, "exists") || !strcmp(cmd, "etag") ||
	      !strcmp(cmd, "delete") || !strcmp(cmd, "list")) &&
	     argc != 4) ||
	    (!strcmp(cmd, "put") && argc != 5) || (!strcmp(cmd, "put-if") && argc != 6)) {
		ret = usage();
		goto done;
	}

	err = backend_open(&b, argv[1]);
	if (err < 0)
		goto done;

	if (!strcmp(cmd, "get")) {
		err = backend_get_stream(b, argv[3], backend_sink_fd, &fd);
		if (err == LEPTON_ENOTFOUND)
			ret = 2;
	} else if (!strcmp(cmd, "exists")) {
		err = backend_exists(b, argv[3]);
		if (err >= 0) {
			ret = err ? 0 : 2;
			err = 0;
			goto done;
		}
	} else if (!strcmp(cmd, "etag")) {
		err = backend_get_versioned(b, argv[3], &data, &etag);
		if (!err)
			printf("%s\n", etag.data);
	} else if (!strcmp(cmd, "list")) {
		err = backend_list(b, argv[3], print_name, NULL);
	} else if (!strcmp(cmd, "put")) {
		err = backend_put_file(b, argv[3], argv[4]);
	} else if (!strcmp(cmd, "put-if")) {
		err = buf_read_file(&data, argv[4]);
		if (!err)
			err = backend_put_if(b, argv[3], data.data, data.len, argv[5]);
		if (err == LEPTON_ECONFLICT)
			ret = 3;
	} else if (!strcmp(cmd, "delete")) {
		err = backend_delete(b, argv[3]);
	} else if (!strcmp(cmd, "create")) {
		err = backend_create(b);
	} else {
		ret = usage();
		goto done;
	}
	if (!err)
		ret = 0;

done:
	if (err < 0)
		fprintf(stderr, "error: %s\n", lepton_error_last());
	if (fflush(stdout) && !ret) {
		fprintf(stderr, "error: cannot write to stdout\n");
		ret = 1;
	}
	backend_free(b);
	buf_release(&etag);
	buf_release(&data);
	return ret;
}
