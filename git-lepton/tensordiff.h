#ifndef LEPTON_TENSORDIFF_H
#define LEPTON_TENSORDIFF_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "pointer.h"
#include "store.h"

/*
 * Tensor-by-tensor comparison of two versions of a model: which tensors
 * were added, removed, renamed (same bytes, new name), changed dtype or
 * shape, or changed values; for changed float tensors (F32, F16, BF16,
 * F64) the fraction of elements that changed, the largest absolute
 * difference and the relative L2 norm of the change, ||new - old|| / ||old||.
 *
 * Both files are read as streams, in tensor order, in blocks of 1 MiB:
 * memory does not grow with the model.  The new file is read once; the old
 * one once as long as the common tensors come in the same order in both
 * (a tensor out of order makes the old stream start again from the top).
 * Renames cost one more pass over the added and removed tensors only.
 */

/* Where a version's bytes come from: stored content, or a file. */
struct tensor_source {
	struct lepton_store *store; /* with pointer, for stored content */
	struct lepton_pointer pointer;
	const char *file; /* else a file on disk */
};

enum tensor_change_kind {
	TENSOR_ADDED,
	TENSOR_REMOVED,
	TENSOR_RENAMED,
	TENSOR_RETYPED, /* dtype or shape changed: values not compared */
	TENSOR_CHANGED,
};

struct tensor_change {
	enum tensor_change_kind kind;
	const struct model_tensor *old, *new; /* into the model_info given; NULL when absent */
	/* TENSOR_CHANGED: */
	uint64_t units, changed_units; /* elements, or bytes for block-quantized dtypes */
	int units_are_bytes;
	int have_float_stats;
	double max_abs_diff, rel_l2; /* rel_l2 < 0: the old tensor is all zeros */
};

struct meta_change {
	const char *key, *old_value, *new_value; /* a value is NULL when absent */
};

struct tensor_diff {
	size_t nr, alloc;
	struct tensor_change *changes; /* added, removed, renamed, retyped, changed;
					  each group in the new (or old) file's order */
	size_t unchanged;
	size_t meta_nr, meta_alloc;
	struct meta_change *meta; /* keys into the model_info given */
};

/*
 * Compare old and new (parsed headers of the two versions), reading tensor
 * bytes from a and b.  out points into old and new, which must outlive it.
 * 0, or a negative error when a source cannot be read.
 */
int tensor_diff_compute(struct tensor_diff *out, const struct model_info *old,
			const struct model_info *new, const struct tensor_source *a,
			const struct tensor_source *b);
void tensor_diff_release(struct tensor_diff *d);

/* SHA-256 of every tensor's bytes (out holds m->n_tensors), read as one
 * stream: what `git diff` shows through the textconv. */
int tensor_hash_all(struct lepton_oid *out, const struct model_info *m,
		    const struct tensor_source *src);

/* "[1345, 64]" into out. */
void tensor_shape_format(struct buf *out, const struct model_tensor *t);

#endif
