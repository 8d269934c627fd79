/* textconv: what `git diff` shows for a tracked file (diff.lepton.textconv). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "banned.h"

int cmd_textconv(int argc, const char **argv, struct lepton_repo *repo)
{
	struct buf head = BUF_INIT;
	struct lepton_pointer p;
	char size[32];
	int fd, ret = 0;
	ssize_t n;

	if (argc != 2)
		return usage_error(argv[0], NULL);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error("cannot open '%s': %m", argv[1]);
	buf_grow(&head, POINTER_MAX_SIZE);
	n = read_full(fd, head.data, POINTER_MAX_SIZE);
	if (n < 0) {
		ret = error("cannot read '%s'", argv[1]);
		goto done;
	}
	buf_setlen(&head, (size_t)n);
	if (n < POINTER_MAX_SIZE && pointer_parse(&p, NULL, head.data, head.len) == 0) {
		struct lepton_store *s = NULL;
		int present =
		    repo && !store_open(&s, repo->store_path, 0) && store_has_file(s, &p.oid);
		store_free(s);
		fwrite(head.data, 1, head.len, stdout);
		printf("# git-lepton: %s, content %s\n", human_size(size, sizeof(size), p.size),
		       present ? "present locally" : "not in the local store");
		goto done;
	}
	/* not a pointer: show it as it is */
	fwrite(head.data, 1, head.len, stdout);
	while ((n = read(fd, head.data, POINTER_MAX_SIZE)) > 0)
		fwrite(head.data, 1, (size_t)n, stdout);
done:
	close(fd);
	buf_release(&head);
	return ret;
}
