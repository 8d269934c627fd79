#ifndef LEPTON_FUZZ_MODEL_H
#define LEPTON_FUZZ_MODEL_H

/*
 * The checks the model fuzz targets share: parse data as a whole file,
 * then check what model.h promises of an accepted header, the streaming
 * detection, and the chunker's cut of the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "error.h"
#include "model.h"
#include "fuzz.h"

static inline void fuzz_check_info(const struct model_info *m, uint64_t size)
{
	uint64_t end = 0;

	if (m->format == MODEL_OPAQUE) {
		if (m->n_tensors || m->n_meta)
			fuzz_fail("an opaque result holds tensors");
		return;
	}
	if (m->header_size > size)
		fuzz_fail("an accepted header is longer than the file");
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct model_tensor *t = &m->tensors[i];
		if (!t->name || !t->dtype || t->ndim > MODEL_MAX_DIMS)
			fuzz_fail("a tensor without a name, dtype or sane shape");
		if (t->offset < m->header_size || t->offset > size || t->size > size - t->offset)
			fuzz_fail("an accepted tensor lies outside the file");
		if (i && t->offset < end)
			fuzz_fail("accepted tensors overlap or are not sorted");
		if (t->offset + t->size > end)
			end = t->offset + t->size;
	}
	if (m->format == MODEL_SAFETENSORS && m->header_size + m->data_size != size)
		fuzz_fail("an accepted safetensors file has trailing bytes");
	for (size_t i = 0; i < m->n_meta; i++)
		if (!m->meta[i].key || !m->meta[i].value)
			fuzz_fail("a metadata entry without key or value");
}

static inline void fuzz_check_chunks(const struct model_info *m, const unsigned char *data,
				     size_t size)
{
	struct chunker c;
	uint64_t at = 0, expect = 0;

	/* small FastCDC sizes, so that short inputs get several opaque cuts */
	if (chunker_init_sizes(&c, m, 64, 256, 1024))
		fuzz_fail("chunker_init refused a parsed header");
	for (;;) {
		struct chunk_span span;
		size_t want = size - (size_t)at, n;
		if (want > 333)
			want = 333;
		n = chunker_next_cut(&c, data + at, want, at + want == size, &span);
		at += n;
		if (span.len) {
			if (span.offset != expect || span.len > CHUNK_MAX ||
			    expect + span.len != at)
				fuzz_fail("chunks do not tile the file");
			expect = at;
		} else if (at == size && n == want) {
			break;
		}
	}
	if (expect != size)
		fuzz_fail("chunks do not cover the file");
	chunker_release(&c);
}

static inline void fuzz_model(const unsigned char *data, size_t size)
{
	struct model_info m;
	enum model_format format;
	uint64_t need;
	int ret;

	ret = model_parse(&m, data, size, size);
	if (ret && m.format != MODEL_OPAQUE)
		fuzz_fail("a refused header left a format");
	if (!ret)
		fuzz_check_info(&m, size);
	fuzz_check_chunks(ret ? NULL : &m, data, size);
	model_info_release(&m);

	/* the streaming path: the header from its own prefix, the rest later */
	ret = model_header_need(&need, &format, data, size);
	if (!ret && format != MODEL_OPAQUE && need <= size) {
		ret = model_parse(&m, data, (size_t)need, UINT64_MAX);
		if (!ret && !model_check_size(&m, size))
			fuzz_check_info(&m, size);
		model_info_release(&m);
	}
	lepton_error_clear();
}

#endif
