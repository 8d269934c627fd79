/* Model formats: the dtype table, format detection, and reading a header
 * from a file or a stream.  The readers are safetensors.c and gguf.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "model.h"
#include "banned.h"

/*
 * Every dtype either format knows.  GGUF block sizes are ggml's
 * (ggml-common.h); QK_K is 256.
 */
static const struct model_dtype dtypes[] = {
	/* name, width, float, block elems, block bytes, ggml id, safetensors */
	{ "F32", 4, 1, 1, 4, 0, 1 },
	{ "F16", 2, 1, 1, 2, 1, 1 },
	{ "Q4_0", 0, 0, 32, 18, 2, 0 },
	{ "Q4_1", 0, 0, 32, 20, 3, 0 },
	{ "Q5_0", 0, 0, 32, 22, 6, 0 },
	{ "Q5_1", 0, 0, 32, 24, 7, 0 },
	{ "Q8_0", 0, 0, 32, 34, 8, 0 },
	{ "Q8_1", 0, 0, 32, 36, 9, 0 },
	{ "Q2_K", 0, 0, 256, 84, 10, 0 },
	{ "Q3_K", 0, 0, 256, 110, 11, 0 },
	{ "Q4_K", 0, 0, 256, 144, 12, 0 },
	{ "Q5_K", 0, 0, 256, 176, 13, 0 },
	{ "Q6_K", 0, 0, 256, 210, 14, 0 },
	{ "Q8_K", 0, 0, 256, 292, 15, 0 },
	{ "IQ2_XXS", 0, 0, 256, 66, 16, 0 },
	{ "IQ2_XS", 0, 0, 256, 74, 17, 0 },
	{ "IQ3_XXS", 0, 0, 256, 98, 18, 0 },
	{ "IQ1_S", 0, 0, 256, 50, 19, 0 },
	{ "IQ4_NL", 0, 0, 32, 18, 20, 0 },
	{ "IQ3_S", 0, 0, 256, 110, 21, 0 },
	{ "IQ2_S", 0, 0, 256, 82, 22, 0 },
	{ "IQ4_XS", 0, 0, 256, 136, 23, 0 },
	{ "I8", 1, 0, 1, 1, 24, 1 },
	{ "I16", 2, 0, 1, 2, 25, 1 },
	{ "I32", 4, 0, 1, 4, 26, 1 },
	{ "I64", 8, 0, 1, 8, 27, 1 },
	{ "F64", 8, 1, 1, 8, 28, 1 },
	{ "IQ1_M", 0, 0, 256, 56, 29, 0 },
	{ "BF16", 2, 1, 1, 2, 30, 1 },
	{ "TQ1_0", 0, 0, 256, 54, 34, 0 },
	{ "TQ2_0", 0, 0, 256, 66, 35, 0 },
	{ "MXFP4", 0, 0, 32, 17, 39, 0 },
	/* safetensors only */
	{ "BOOL", 1, 0, 1, 1, -1, 1 },
	{ "U8", 1, 0, 1, 1, -1, 1 },
	{ "U16", 2, 0, 1, 2, -1, 1 },
	{ "U32", 4, 0, 1, 4, -1, 1 },
	{ "U64", 8, 0, 1, 8, -1, 1 },
	{ "F8_E5M2", 1, 1, 1, 1, -1, 1 },
	{ "F8_E4M3", 1, 1, 1, 1, -1, 1 },
	{ "F8_E8M0", 1, 1, 1, 1, -1, 1 },
	{ "C64", 8, 0, 1, 8, -1, 1 },
};

const struct model_dtype *model_dtype_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
		if (dtypes[i].safetensors && strlen(dtypes[i].name) == len &&
		    !memcmp(dtypes[i].name, name, len))
			return &dtypes[i];
	return NULL;
}

const struct model_dtype *model_dtype_by_ggml(uint32_t type)
{
	for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
		if (dtypes[i].ggml_type >= 0 && (uint32_t)dtypes[i].ggml_type == type)
			return &dtypes[i];
	return NULL;
}

void model_info_init(struct model_info *m)
{
	memset(m, 0, sizeof(*m));
}

void model_info_release(struct model_info *m)
{
	for (size_t i = 0; i < m->n_tensors; i++)
		free(m->tensors[i].name);
	for (size_t i = 0; i < m->n_meta; i++) {
		free(m->meta[i].key);
		free(m->meta[i].value);
	}
	free(m->tensors);
	free(m->meta);
	model_info_init(m);
}

const char *model_format_name(enum model_format f)
{
	switch (f) {
	case MODEL_SAFETENSORS:
		return "safetensors";
	case MODEL_GGUF:
		return "gguf";
	default:
		return "opaque";
	}
}

static int cmp_offset(const void *a, const void *b)
{
	const struct model_tensor *x = a, *y = b;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

void model_sort_tensors(struct model_info *m)
{
	if (m->n_tensors > 1)
		qsort(m->tensors, m->n_tensors, sizeof(*m->tensors), cmp_offset);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *model_find_duplicate(char *const *names, size_t n)
{
	const char *dup = NULL;
	char **sorted;

	if (n < 2)
		return NULL;
	sorted = xmalloc(n * sizeof(*sorted));
	memcpy(sorted, names, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_name);
	for (size_t i = 1; i < n && !dup; i++)
		if (!strcmp(sorted[i - 1], sorted[i]))
			dup = sorted[i];
	free(sorted);
	return dup;
}

static int looks_like_safetensors(const unsigned char *head, size_t len)
{
	/* no magic: a length, then a JSON object that starts with a key,
	 * its end or white space */
	if (len < 9 || head[8] != '{')
		return 0;
	if (len < 10)
		return 1;
	return head[9] == '"' || head[9] == '}' || head[9] == ' ' || head[9] == '\n' ||
	       head[9] == '\r' || head[9] == '\t';
}

int model_header_need(uint64_t *need, enum model_format *format, const void *head, size_t len)
{
	const unsigned char *p = head;
	struct model_info scratch;
	int ret;

	*need = 0;
	*format = MODEL_OPAQUE;
	if (len >= 4 && !memcmp(p, "GGUF", 4)) {
		*format = MODEL_GGUF;
		model_info_init(&scratch);
		ret = gguf_parse(&scratch, need, p, len, UINT64_MAX);
		if (!ret)
			*need = scratch.header_size;
		model_info_release(&scratch);
		if (ret && *need <= len)
			return ret;
		return 0;
	}
	if (len < 10) {
		/* too short to tell: ask for more, the caller stops at the end */
		if ((len < 4 && !memcmp(p, "GGUF", len)) || len < 9 || p[8] == '{')
			*need = 10;
		return 0;
	}
	if (!looks_like_safetensors(p, len))
		return 0;
	*format = MODEL_SAFETENSORS;
	if (get_le64(p) > MODEL_SAFETENSORS_MAX_HEADER)
		return lepton_error_set(
		    LEPTON_EINVALID,
		    "safetensors header length %llu is over the limit of %llu bytes",
		    (unsigned long long)get_le64(p),
		    (unsigned long long)MODEL_SAFETENSORS_MAX_HEADER);
	*need = 8 + get_le64(p);
	return 0;
}

int model_parse(struct model_info *out, const void *head, size_t len, uint64_t file_size)
{
	const unsigned char *p = head;
	uint64_t need;

	model_info_init(out);
	if (len >= 4 && !memcmp(p, "GGUF", 4))
		return gguf_parse(out, &need, p, len, file_size);
	if (looks_like_safetensors(p, len))
		return safetensors_parse(out, p, len, file_size);
	return 0;
}

int model_check_size(const struct model_info *m, uint64_t file_size)
{
	uint64_t end;

	if (m->format == MODEL_OPAQUE)
		return 0;
	if (m->header_size > file_size)
		return lepton_error_set(
		    LEPTON_EINVALID, "the header needs %llu bytes, the file has %llu",
		    (unsigned long long)m->header_size, (unsigned long long)file_size);
	end = m->header_size + m->data_size;
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		if (t->offset > file_size || t->size > file_size - t->offset)
			return lepton_error_set(
			    LEPTON_EINVALID,
			    "tensor '%s': data at %llu..%llu is outside the file of %llu bytes",
			    t->name, (unsigned long long)t->offset,
			    (unsigned long long)(t->offset + t->size),
			    (unsigned long long)file_size);
	}
	if (end > file_size)
		return lepton_error_set(LEPTON_EINVALID,
					"the data region ends at byte %llu, the file has %llu",
					(unsigned long long)end, (unsigned long long)file_size);
	if (m->format == MODEL_SAFETENSORS && end != file_size)
		return lepton_error_set(
		    LEPTON_EINVALID,
		    "%llu trailing bytes after the data region, which ends at %llu",
		    (unsigned long long)(file_size - end), (unsigned long long)end);
	return 0;
}

int model_parse_stream(struct model_info *out, model_read_fn read, void *ctx, uint64_t file_size)
{
	struct buf head = BUF_INIT;
	enum model_format format;
	uint64_t need = 65536, max = MODEL_GGUF_MAX_HEADER + 4096;
	int ret = 0, eof = 0;

	model_info_init(out);
	if (max < MODEL_SAFETENSORS_MAX_HEADER + 8)
		max = MODEL_SAFETENSORS_MAX_HEADER + 8;
	for (;;) {
		if (!eof && need > head.len) {
			uint64_t want = need;
			if (want > max)
				want = max;
			if (file_size != UINT64_MAX && want > file_size)
				want = file_size;
			while (head.len < want) {
				long n;
				buf_grow(&head, (size_t)(want - head.len));
				n = read(ctx, head.data + head.len, (size_t)(want - head.len));
				if (n < 0) {
					ret = n;
					goto done;
				}
				if (n == 0) {
					eof = 1;
					break;
				}
				buf_setlen(&head, head.len + (size_t)n);
			}
			if (file_size != UINT64_MAX && head.len >= file_size)
				eof = 1;
		}
		ret = model_header_need(&need, &format, head.data, head.len);
		if (ret)
			goto done;
		if (format == MODEL_OPAQUE && need <= head.len)
			goto done;
		if (need <= head.len || eof || head.len >= max)
			break;
	}
	if (eof && file_size == UINT64_MAX)
		file_size = head.len;
	ret = model_parse(out, head.data, head.len, file_size);
	if (!ret && file_size != UINT64_MAX)
		ret = model_check_size(out, file_size);
done:
	if (ret)
		model_info_release(out);
	buf_release(&head);
	return ret;
}

static long read_fd(void *ctx, void *buf, size_t len)
{
	return (long)read_full(*(int *)ctx, buf, len);
}

int model_parse_fd(struct model_info *out, int fd)
{
	struct stat st;
	uint64_t size = UINT64_MAX;

	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	return model_parse_stream(out, read_fd, &fd, size);
}

int model_parse_file(struct model_info *out, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	model_info_init(out);
	if (fd < 0)
		return lepton_error_errno(LEPTON_EIO, "cannot open '%s'", path);
	ret = model_parse_fd(out, fd);
	close(fd);
	return ret;
}
