#ifndef LEPTON_MODEL_H
#define LEPTON_MODEL_H

#include <stddef.h>
#include <stdint.h>

/*
 * A parsed view of a model file's header: which format, where the header
 * ends, and each tensor's name, dtype, shape and place in the file.  Used by
 * the chunker (tensor-aligned cuts), `git lepton inspect`, and later diff
 * and the pre-commit validation.
 *
 * Formats (docs/NOTES.md has the limits and why):
 *   safetensors  8-byte little-endian header length N, N bytes of JSON
 *                (at most MODEL_SAFETENSORS_MAX_HEADER, the reference
 *                reader's limit), then the data region, which the tensors
 *                must cover exactly: contiguous, in any order in the JSON,
 *                no trailing bytes.
 *   GGUF v2, v3  "GGUF", version, counts, key/values, tensor infos, padding
 *                to the alignment, then the data; header at most
 *                MODEL_GGUF_MAX_HEADER bytes.
 * Anything else is MODEL_OPAQUE: bytes with no structure known here.
 *
 * Parsing is a guest in hostile territory: any bytes are refused with
 * LEPTON_EINVALID and a message naming the problem, never a crash, an
 * overflow or an allocation that the input's size does not justify.
 *
 * Ownership: model_parse*() fill a struct that the caller releases with
 * model_info_release() whatever the result (after a failure it is empty).
 */

#define MODEL_MAX_DIMS               8
#define MODEL_SAFETENSORS_MAX_HEADER 100000000ull /* as the reference crate */
#define MODEL_GGUF_MAX_HEADER        (256ull << 20)
#define MODEL_GGUF_MAX_DIMS          4
#define MODEL_GGUF_DEFAULT_ALIGNMENT 32

enum model_format { MODEL_OPAQUE = 0, MODEL_SAFETENSORS = 1, MODEL_GGUF = 2 };

struct model_tensor {
	char *name;          /* owned */
	const char *dtype;   /* static name: "F32","BF16","F16","F64","I8",...,"Q4_0",... */
	unsigned elem_width; /* bytes per element for plain numeric dtypes (1,2,4,8); 0 for
				quantized/block types */
	int is_float;        /* F16/BF16/F32/F64 (and F8 variants): candidates for byte grouping */
	unsigned ndim;
	uint64_t shape[MODEL_MAX_DIMS];
	uint64_t offset; /* absolute byte offset of the tensor's data in the file */
	uint64_t size;   /* bytes */
};

/* value rendered as text (GGUF arrays summarised, e.g. "[string x 32000]") */
struct model_meta {
	char *key, *value;
};

struct model_info {
	enum model_format format;
	unsigned version; /* GGUF version; 0 for safetensors */
	uint64_t
	    header_size;    /* bytes from file start to the first tensor byte (the header chunk) */
	uint64_t data_size; /* bytes of the tensor data region (safetensors: all of it;
			       GGUF: up to the end of the last tensor) */
	size_t n_tensors;
	struct model_tensor *tensors; /* sorted by offset */
	size_t n_meta;
	struct model_meta *meta; /* in file order */
	uint64_t alignment;      /* GGUF; 0 for safetensors */
};

void model_info_init(struct model_info *m);
void model_info_release(struct model_info *m);

/* "opaque", "safetensors", "gguf" */
const char *model_format_name(enum model_format f);

/*
 * How many leading bytes the header needs, from the first `len` bytes of a
 * file.  Returns 0 and sets *format and *need:
 *   MODEL_OPAQUE       not a recognised format (*need 0)
 *   *need <= len       the whole header is there: model_parse() it
 *   *need > len        read at least *need bytes (or up to the end of the
 *                      file) and call again; for GGUF this is a lower bound
 *                      that grows as the header is walked (it at least
 *                      doubles, so a caller re-parses O(log n) times)
 * Returns LEPTON_EINVALID (message set) when the bytes are the start of a
 * known format that cannot be valid (a header length past the limit).
 */
int model_header_need(uint64_t *need, enum model_format *format, const void *head, size_t len);

/*
 * Parse and validate from the first `len` bytes of a file of total size
 * file_size (UINT64_MAX when the size is not known yet: then the "no
 * trailing bytes / data fits the file" checks are left to
 * model_check_size()).  Returns 0, or LEPTON_EINVALID with a message saying
 * exactly what is wrong ("tensor 'x': data_offsets overlap 'y'").
 * MODEL_OPAQUE and 0 for bytes that are not a recognised format at all.
 */
int model_parse(struct model_info *out, const void *head, size_t len, uint64_t file_size);

/* The checks that need the file's size: every tensor inside the file, and
 * for safetensors no byte after the data region.  0 or LEPTON_EINVALID. */
int model_check_size(const struct model_info *m, uint64_t file_size);

/* Parse a file from disk, reading only the header bytes.  LEPTON_EIO when
 * the file cannot be read, LEPTON_EINVALID when it does not validate. */
int model_parse_file(struct model_info *out, const char *path);
int model_parse_fd(struct model_info *out, int fd);

/* The same over any byte stream (a blob read from the store): read() fills
 * buf with up to len bytes and returns how many, 0 at the end, or a
 * negative error (message set).  Only the header bytes are read. */
typedef long (*model_read_fn)(void *ctx, void *buf, size_t len);
int model_parse_stream(struct model_info *out, model_read_fn read, void *ctx, uint64_t file_size);

/* ---- shared between the format readers (model.c) ---- */

struct model_dtype {
	const char *name;    /* safetensors spelling, or ggml's for GGUF-only types */
	unsigned elem_width; /* 0 for block-quantized types */
	int is_float;
	unsigned block_elems; /* elements per block (1 for plain types) */
	unsigned block_bytes; /* bytes per block */
	int ggml_type;        /* GGUF tensor type id, -1 if none */
	int safetensors;      /* valid as a safetensors dtype */
};

/* A safetensors dtype by its name (not NUL-terminated); NULL if unknown. */
const struct model_dtype *model_dtype_by_name(const char *name, size_t len);
/* A GGUF tensor type by ggml's number; NULL if unknown. */
const struct model_dtype *model_dtype_by_ggml(uint32_t type);

/* The format readers, called by model_parse() (same contract). */
int safetensors_parse(struct model_info *out, const unsigned char *head, size_t len,
		      uint64_t file_size);
int gguf_parse(struct model_info *out, uint64_t *need, const unsigned char *head, size_t len,
	       uint64_t file_size);

/* Sort tensors by offset, then size, then name: one order whatever the
 * file's. */
void model_sort_tensors(struct model_info *m);
/* The first name that appears twice among names[0..n), or NULL. */
const char *model_find_duplicate(char *const *names, size_t n);

#endif
