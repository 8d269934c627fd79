/* pointer: build the pointer of a file, or check that one is canonical. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "pointer.h"
#include "banned.h"

static int pointer_of_file(const char *path)
{
	struct sha256_ctx ctx;
	struct lepton_pointer p = { .size = 0 };
	struct buf data = BUF_INIT, out = BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return error("cannot open '%s': %m", path);
	sha256_init(&ctx);
	buf_grow(&data, 1 << 20);
	while ((n = read_full(fd, data.data, 1 << 20)) > 0) {
		sha256_update(&ctx, data.data, (size_t)n);
		p.size += (uint64_t)n;
	}
	close(fd);
	sha256_final(&p.oid, &ctx);
	buf_release(&data);
	if (n < 0)
		return error("cannot read '%s'", path);
	pointer_format(&out, &p);
	fwrite(out.data, 1, out.len, stdout);
	buf_release(&out);
	return 0;
}

static int check_pointer(const char *path, int fd)
{
	struct buf data;
	struct lepton_pointer p;
	int canonical, err;

	buf_init_limit(&data, POINTER_MAX_SIZE);
	if (buf_read_fd(&data, fd)) {
		buf_release(&data);
		return error("'%s' is not a pointer: it is %d bytes or more", path,
			     POINTER_MAX_SIZE);
	}
	err = pointer_parse(&p, &canonical, data.data, data.len);
	buf_release(&data);
	if (err == LEPTON_ENOTFOUND)
		return error("'%s' is not a pointer", path);
	if (err)
		return error("'%s' is a malformed pointer: %s", path, lepton_error_last());
	if (!canonical)
		return error("'%s' is a pointer, but not in canonical form; 'git lepton clean' "
			     "normalises it",
			     path);
	return 0;
}

int cmd_pointer(int argc, const char **argv, struct lepton_repo *repo)
{
	if (argc == 3 && !strcmp(argv[1], "--file"))
		return pointer_of_file(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--check") && !strcmp(argv[2], "--stdin"))
		return check_pointer("<stdin>", 0);
	if (argc == 3 && !strcmp(argv[1], "--check")) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC), ret;
		if (fd < 0)
			return error("cannot open '%s': %m", argv[2]);
		ret = check_pointer(argv[2], fd);
		close(fd);
		return ret;
	}
	return usage_error(argv[0], NULL);
}
