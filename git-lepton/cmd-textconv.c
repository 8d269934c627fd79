/* textconv: what `git diff` shows for a tracked file (diff.lepton.textconv). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "model.h"
#include "tensordiff.h"
#include "versions.h"
#include "banned.h"

/*
 * The tensor table of a model, one line a tensor with a hash of its bytes,
 * so `git diff` shows a changed, added or removed tensor as a changed
 * line.  Costs one read of the tensors.  1 when printed, 0 when m is not
 * a model, negative when the bytes cannot be read.
 */
static int print_tensor_table(const struct model_info *m, const struct tensor_source *src)
{
	struct lepton_oid *hashes;
	struct buf shape = BUF_INIT;
	char hex[OID_HEXSZ + 1];
	int err;

	if (m->format == MODEL_OPAQUE)
		return 0;
	hashes = xcalloc(m->n_tensors + 1, sizeof(*hashes));
	if ((err = tensor_hash_all(hashes, m, src)))
		goto done;
	printf("# %s, %zu tensors\n", model_format_name(m->format), m->n_tensors);
	for (size_t i = 0; i < m->n_meta; i++)
		printf("metadata %s = %s\n", m->meta[i].key, m->meta[i].value);
	for (size_t i = 0; i < m->n_tensors; i++) {
		buf_reset(&shape);
		tensor_shape_format(&shape, &m->tensors[i]);
		printf("tensor %s %s %s %.16s\n", m->tensors[i].name, m->tensors[i].dtype,
		       shape.data, oid_to_hex(hex, &hashes[i]));
	}
	err = 1;
done:
	free(hashes);
	buf_release(&shape);
	return err;
}

/* Stored content of a pointer: its tensor table when it is a model. */
static void print_stored(struct lepton_store *s, const struct lepton_pointer *p)
{
	struct tensor_source src = { .store = s, .pointer = *p };
	struct model_info m;
	int parse_ret;

	if (!version_parse_stored(&m, &parse_ret, s, p) && !parse_ret)
		print_tensor_table(&m, &src);
	lepton_error_clear();
	model_info_release(&m);
}

/*
 * The bytes themselves (git smudges a blob before it hands it to a
 * textconv): a model's tensor table; other binary bytes as their size and
 * SHA-256; text as it is.
 */
static int print_file(int fd, const char *path, struct buf *head)
{
	struct tensor_source src = { .file = path };
	struct model_info m;
	struct sha256_ctx ctx;
	struct lepton_oid oid;
	unsigned long long total = 0;
	char hex[OID_HEXSZ + 1], size[32];
	ssize_t n;
	int ret = 0;

	model_info_init(&m);
	if (lseek(fd, 0, SEEK_SET) == 0 && model_parse_fd(&m, fd) == 0 &&
	    m.format != MODEL_OPAQUE) {
		ret = print_tensor_table(&m, &src);
		model_info_release(&m);
		if (ret > 0)
			return 0;
	} else
		model_info_release(&m);
	lepton_error_clear();
	if (lseek(fd, 0, SEEK_SET) < 0)
		return error("cannot read '%s': %m", path);
	buf_setlen(head, 0);
	n = read_full(fd, head->data, POINTER_MAX_SIZE);
	if (n < 0)
		return error("cannot read '%s'", path);
	if (!memchr(head->data, '\0', (size_t)n)) {
		/* text: show it as it is */
		do
			fwrite(head->data, 1, (size_t)n, stdout);
		while ((n = read(fd, head->data, POINTER_MAX_SIZE)) > 0);
		return 0;
	}
	sha256_init(&ctx);
	do {
		sha256_update(&ctx, head->data, (size_t)n);
		total += (unsigned long long)n;
	} while ((n = read(fd, head->data, POINTER_MAX_SIZE)) > 0);
	sha256_final(&oid, &ctx);
	if (n < 0)
		return error("cannot read '%s'", path);
	printf("# git-lepton: binary, %s, sha256 %s\n", human_size(size, sizeof(size), total),
	       oid_to_hex(hex, &oid));
	return ret;
}

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
		fwrite(head.data, 1, head.len, stdout);
		printf("# git-lepton: %s, content %s\n", human_size(size, sizeof(size), p.size),
		       present ? "present locally" : "not in the local store");
		if (present)
			print_stored(s, &p);
		store_free(s);
		goto done;
	}
	ret = print_file(fd, argv[1], &head);
done:
	close(fd);
	buf_release(&head);
	return ret;
}
