/*
 * inspect: what a model file holds - format, header, metadata, tensors.
 *
 *   git lepton inspect [--json] (FILE | REV:PATH)
 *
 * A file that does not validate is reported as opaque with the reason and
 * exit 0 (it is information); a file that cannot be read is an error.
 * For REV:PATH, and for a work-tree file that is still a pointer, the
 * content comes from the local store; only the header bytes are read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "error.h"
#include "model.h"
#include "banned.h"

#define TEXT_VALUE_MAX 200 /* metadata values longer than this are cut in text output */

/* How one UTF-8 character at s (of at most len bytes) decodes: its length,
 * or 0 when the bytes are not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp < 0xe000))
		return 0;
	return n;
}

/* A JSON string: quotes, escapes, and U+FFFD for bytes that are not UTF-8. */
static void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str);

	putchar('"');
	while (len) {
		size_t n = utf8_len(s, len);
		if (!n) {
			fputs("\\ufffd", stdout);
			n = 1;
		} else if (*s == '"' || *s == '\\') {
			printf("\\%c", *s);
		} else if (*s == '\n') {
			fputs("\\n", stdout);
		} else if (*s == '\t') {
			fputs("\\t", stdout);
		} else if (*s < 0x20 || *s == 0x7f) {
			printf("\\u%04x", *s);
		} else {
			fwrite(s, 1, n, stdout);
		}
		s += n;
		len -= n;
	}
	putchar('"');
}

/* A name or value on one line for people: control characters escaped (a
 * hostile file must not drive the terminal), long values cut. */
static void text_value(const char *str)
{
	size_t len = strlen(str);
	for (size_t i = 0; i < len && i < TEXT_VALUE_MAX; i++) {
		unsigned char c = (unsigned char)str[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	if (len > TEXT_VALUE_MAX)
		printf("... (%zu bytes)", len);
}

static void print_shape(const struct model_tensor *t, int json)
{
	putchar('[');
	for (unsigned d = 0; d < t->ndim; d++)
		printf("%s%" PRIu64, d ? (json ? "," : ", ") : "", t->shape[d]);
	putchar(']');
}

static void print_json(const struct model_info *m, const char *reason)
{
	printf("{\"format\":\"%s\"", model_format_name(m->format));
	if (reason) {
		fputs(",\"reason\":", stdout);
		json_string(reason);
	}
	if (m->format == MODEL_OPAQUE) {
		puts("}");
		return;
	}
	printf(",\"version\":%u,\"header_size\":%" PRIu64 ",\"data_size\":%" PRIu64
	       ",\"alignment\":%" PRIu64 ",\"metadata\":{",
	       m->version, m->header_size, m->data_size, m->alignment);
	for (size_t i = 0; i < m->n_meta; i++) {
		if (i)
			putchar(',');
		json_string(m->meta[i].key);
		putchar(':');
		json_string(m->meta[i].value);
	}
	fputs("},\"tensors\":[", stdout);
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
		json_string(t->name);
		printf(",\"dtype\":\"%s\",\"shape\":", t->dtype);
		print_shape(t, 1);
		printf(",\"bytes\":%" PRIu64 ",\"offset\":%" PRIu64 "}", t->size, t->offset);
	}
	puts("]}");
}

static void print_text(const struct model_info *m, const char *reason)
{
	char size[32];

	printf("format: %s\n", model_format_name(m->format));
	if (reason)
		printf("reason: %s\n", reason);
	if (m->format == MODEL_OPAQUE)
		return;
	if (m->format == MODEL_GGUF)
		printf("version: %u\nalignment: %" PRIu64 "\n", m->version, m->alignment);
	printf("header: %" PRIu64 " bytes\n", m->header_size);
	printf("data: %" PRIu64 " bytes (%s)\n", m->data_size,
	       human_size(size, sizeof(size), m->data_size));
	printf("metadata: %zu\n", m->n_meta);
	for (size_t i = 0; i < m->n_meta; i++) {
		fputs("  ", stdout);
		text_value(m->meta[i].key);
		fputs(": ", stdout);
		text_value(m->meta[i].value);
		putchar('\n');
	}
	printf("tensors: %zu\n", m->n_tensors);
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		fputs("  ", stdout);
		text_value(t->name);
		printf("  %s  ", t->dtype);
		print_shape(t, 0);
		printf("  %" PRIu64 " bytes  at %" PRIu64 "\n", t->size, t->offset);
	}
}

static long read_store(void *ctx, void *buf, size_t len)
{
	return (long)store_reader_read(ctx, buf, len);
}

/* Parse the stored content of a pointer; a negative error when it cannot
 * be read, else 0 with *parse_ret what the parser said. */
static int parse_stored(struct model_info *out, int *parse_ret, struct lepton_repo *repo,
			const struct lepton_pointer *p, const char *what)
{
	struct lepton_store *s = NULL;
	struct store_reader *r = NULL;
	int ret;

	if ((ret = repo_open_store(repo, &s)))
		goto done;
	if ((ret = store_reader_open(&r, s, p))) {
		lepton_error_wrap(ret, "cannot inspect '%s'; fetch its content first", what);
		goto done;
	}
	*parse_ret = model_parse_stream(out, read_store, r, p->size);
	/* a reader's failure is an error, not a verdict on the format */
	if (*parse_ret && *parse_ret != LEPTON_EINVALID)
		ret = *parse_ret;
done:
	store_reader_free(r);
	store_free(s);
	return ret;
}

struct mem_reader {
	const unsigned char *data;
	size_t len, pos;
};

static long read_mem(void *ctx, void *buf, size_t len)
{
	struct mem_reader *m = ctx;
	size_t n = len < m->len - m->pos ? len : m->len - m->pos;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (long)n;
}

/* REV:PATH: a pointer's content from the store, or a raw blob from git */
static int parse_rev_path(struct model_info *out, int *parse_ret, struct lepton_repo *repo,
			  const char *spec)
{
	git_object *obj = NULL;
	struct lepton_pointer p;
	int ret = 0, kind;

	if (git_revparse_single(&obj, repo->git, spec) < 0) {
		ret = lepton_error_set(LEPTON_ENOTFOUND,
				       "'%s' is neither a file nor a revision and path: %s", spec,
				       git_error_message());
		goto done;
	}
	if (git_object_type(obj) != GIT_OBJECT_BLOB) {
		ret = lepton_error_set(LEPTON_EINVALID, "'%s' is not a file", spec);
		goto done;
	}
	kind = blob_pointer(repo->git, git_object_id(obj), &p);
	if (kind < 0) {
		ret = kind;
		goto done;
	}
	if (kind == 1) {
		ret = parse_stored(out, parse_ret, repo, &p, spec);
	} else {
		/* committed as raw bytes: libgit2 has it in memory already */
		git_blob *blob = (git_blob *)obj;
		struct mem_reader view = { git_blob_rawcontent(blob),
					   (size_t)git_blob_rawsize(blob), 0 };
		*parse_ret = model_parse_stream(out, read_mem, &view, (uint64_t)view.len);
	}
done:
	git_object_free(obj);
	return ret;
}

/* A work-tree file; if it is a pointer (not checked out), its stored content. */
static int parse_path(struct model_info *out, int *parse_ret, struct lepton_repo *repo,
		      const char *path)
{
	char head[POINTER_MAX_SIZE];
	struct lepton_pointer p;
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot open '%s'", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = lepton_error_set(LEPTON_EIO, "'%s' is not a regular file", path);
		goto done;
	}
	if (repo && st.st_size > 0 && st.st_size < POINTER_MAX_SIZE) {
		n = read_full(fd, head, sizeof(head));
		if (n < 0) {
			ret = lepton_error_wrap((int)n, "cannot read '%s'", path);
			goto done;
		}
		if (!pointer_parse(&p, NULL, head, (size_t)n)) {
			ret = parse_stored(out, parse_ret, repo, &p, path);
			goto done;
		}
		if (lseek(fd, 0, SEEK_SET) < 0) {
			ret = lepton_error_errno(LEPTON_EIO, "cannot read '%s'", path);
			goto done;
		}
	}
	*parse_ret = model_parse_fd(out, fd);
	if (*parse_ret && *parse_ret != LEPTON_EINVALID)
		ret = lepton_error_wrap(*parse_ret, "cannot read '%s'", path);
done:
	close(fd);
	return ret;
}

int cmd_inspect(int argc, const char **argv, struct lepton_repo *repo)
{
	struct model_info m;
	const char *target = NULL;
	char *reason = NULL;
	int json = 0, parse_ret = 0, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--") && i + 1 < argc && !target)
			target = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error(argv[0], "unknown option '%s'", argv[i]);
		else if (target)
			return usage_error(argv[0], "unexpected argument '%s'", argv[i]);
		else
			target = argv[i];
	}
	if (!target)
		return usage_error(argv[0], NULL);

	model_info_init(&m);
	if (access(target, F_OK) == 0 || !strchr(target, ':') || !repo)
		ret = parse_path(&m, &parse_ret, repo, target);
	else
		ret = parse_rev_path(&m, &parse_ret, repo, target);
	if (ret) {
		model_info_release(&m);
		return report_error(ret);
	}
	if (parse_ret) {
		reason = xstrdup(lepton_error_last());
		model_info_release(&m);
	} else if (m.format == MODEL_OPAQUE) {
		reason = xstrdup("not a safetensors or gguf file");
	}
	if (json)
		print_json(&m, reason);
	else
		print_text(&m, reason);
	free(reason);
	model_info_release(&m);
	return 0;
}
