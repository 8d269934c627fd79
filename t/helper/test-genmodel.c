/*
 * test-genmodel: deterministic synthetic models for the tests and the bench.
 *
 *   test-genmodel OUT --size-mb N [--seed S] [--dtype bf16|f16|f32]
 *                 [--version K --changed F] [--perturb P]
 *                 [--add-tensor NAME[:R[xC]]]... [--drop-tensor NAME]...
 *                 [--rename-tensor OLD=NEW]...
 *                 [--meta KEY=VALUE]... [--list]
 *   test-genmodel OUT --raw (--size-bytes N | --size-mb N) [--seed S]
 *
 * A model is a safetensors file: an 8-byte little-endian header length, a
 * JSON header ("__metadata__" first, then each tensor's dtype, shape and
 * data_offsets, padded with spaces to a multiple of 8), then the tensors'
 * bytes back to back.  Names and shapes follow a LLaMA-like stack whose
 * hidden size grows with --size-mb; the tensors take at least N MiB, and
 * at most a few KiB more.  Weights are normally distributed, scaled like an
 * initialised layer, so exponents and mantissas look like a real model's.
 *
 * The same arguments always give the same bytes.  A tensor's bytes depend
 * only on the seed, its name and the version its content comes from, never
 * on its position, so adding or dropping a tensor leaves the others alone.
 * --rename-tensor gives a tensor a new name and keeps its bytes (its
 * content still comes from the old name).
 * Version K is version K-1 with about a fraction F of the tensors retrained
 * (--changed F; each version draws its own tensors, so retrained tensors
 * accumulate over versions).  --perturb P then nudges each element by one
 * unit in the last place with probability P (a full fine-tune: every tensor
 * moves a little).  --list prints each tensor and the version its content
 * comes from; without OUT it writes no file.  OUT "-" is standard output.
 *
 * --raw writes exactly N pseudo-random bytes: an opaque, incompressible file.
 *
 * Memory stays at about 4 MiB whatever the size: the header is built first
 * (it only needs the shapes), then each tensor is generated and written in
 * 1 MiB blocks.  Speed: one xoshiro256++ draw and a table lookup per element (an
 * inverse normal CDF with 65536 knots, linearly interpolated in fixed point,
 * so no log or sin per element and no floating-point contraction to vary
 * the bytes between compilers).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../git-lepton/banned.h"

#define MIB          1048576.0
#define BLOCK_BYTES  (1u << 20)
#define NORMAL_KNOTS 65536
#define FIXED_SHIFT  32 /* quantiles are int64 in units of 2^-32: no overflow below */

enum dtype { DTYPE_BF16, DTYPE_F16, DTYPE_F32 };

static const struct {
	const char *option, *json;
	size_t size;
} dtypes[] = {
	[DTYPE_BF16] = { "bf16", "BF16", 2 },
	[DTYPE_F16] = { "f16", "F16", 2 },
	[DTYPE_F32] = { "f32", "F32", 4 },
};

struct options {
	const char *out;
	double size_mb;
	uint64_t size_bytes; /* --raw only; 0: from size_mb */
	uint64_t seed;
	enum dtype dtype;
	unsigned version;
	double changed;
	double perturb;
	int raw;
	int list;
	const char **add, **drop, **meta, **rename;
	size_t add_nr, drop_nr, meta_nr, rename_nr;
};

struct tensor {
	char *name;
	uint64_t rows, cols; /* cols == 0: a vector of `rows` elements */
	int is_norm;         /* a layer norm: weights around 1, not around 0 */
	char *content_name;  /* --rename-tensor: the name its bytes come from, or NULL */
};

struct plan {
	struct tensor *items;
	size_t nr, alloc;
	uint64_t hidden;
};

/* A growable text buffer for the JSON header. */
struct text {
	char *data;
	size_t len, alloc;
};

/* Buffered output to a file descriptor. */
struct output {
	const char *path;
	int fd;
	unsigned char *buf;
	size_t len;
};

struct rng {
	uint64_t s[4];
};

static int64_t normal_quantile[NORMAL_KNOTS + 1];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	fputs("test-genmodel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xrealloc_or_die(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q)
		die("out of memory allocating %zu bytes", size);
	return q;
}

static char *xstrdup_or_die(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xrealloc_or_die(NULL, n);
	memcpy(p, s, n);
	return p;
}

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Mix two 64-bit words into one well-spread key. */
static uint64_t mix2(uint64_t a, uint64_t b)
{
	uint64_t state = a ^ (b * 0xd6e8feb86659fd93ULL);
	splitmix64(&state);
	return splitmix64(&state);
}

static uint64_t hash_name(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return mix2(h, 0);
}

static void rng_init(struct rng *r, uint64_t key)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&key);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl64(s[0] + s[3], 23) + s[0];
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* A uniform double in [0, 1) from a key. */
static double unit_from_key(uint64_t key)
{
	return (double)(mix2(key, 1) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the normal law ---- */

/* Inverse of the standard normal CDF (P. J. Acklam's rational
 * approximation, relative error below 1.2e-9), for 0 < p < 1. */
static double inverse_normal_cdf(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
				    -2.759285104469687e+02, 1.383577518672690e+02,
				    -3.066479806614716e+01, 2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
				    -1.556989798598866e+02, 6.680131188771972e+01,
				    -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
				    -2.400758277161838e+00, -2.549732539343734e+00,
				    4.374664141464968e+00,  2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
				    2.445134137142996e+00, 3.754408661907416e+00 };
	const double low = 0.02425;
	double q, r;

	if (p < low || p > 1 - low) {
		q = sqrt(-2 * log(p < low ? p : 1 - p));
		r = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
		return p < low ? r : -r;
	}
	q = p - 0.5;
	r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
	       (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/*
 * Knot k holds the quantile of k / NORMAL_KNOTS; the two ends, which would
 * be infinite, hold the quantile of a sixteenth of a bin.  A draw picks a
 * bin and a point inside it uniformly, so the law is the normal one up to
 * the piecewise-linear CDF between knots.
 */
static void normal_table_init(void)
{
	double tail = inverse_normal_cdf(1.0 / (16.0 * NORMAL_KNOTS));
	for (int k = 0; k <= NORMAL_KNOTS; k++) {
		double x = k == 0              ? tail
			   : k == NORMAL_KNOTS ? -tail
					       : inverse_normal_cdf((double)k / NORMAL_KNOTS);
		normal_quantile[k] = (int64_t)llround(ldexp(x, FIXED_SHIFT));
	}
}

/* A standard normal draw in units of 2^-FIXED_SHIFT, from 40 random bits. */
static inline int64_t normal_fixed(uint64_t bits)
{
	unsigned k = (unsigned)(bits >> 48);
	int64_t frac = (int64_t)((bits >> 24) & 0xffffff);
	int64_t lo = normal_quantile[k], width = normal_quantile[k + 1] - lo;
	return lo + ((width * frac) >> 24);
}

/* ---- number formats ---- */

static inline uint32_t float_bits(float f)
{
	uint32_t x;
	memcpy(&x, &f, sizeof(x));
	return x;
}

static inline float bits_float(uint32_t x)
{
	float f;
	memcpy(&f, &x, sizeof(f));
	return f;
}

/* Round to nearest even; the values here are never NaN. */
static inline uint16_t bf16_from_float(float f)
{
	uint32_t x = float_bits(f);
	return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* IEEE half with round to nearest even, subnormals included. */
static inline uint16_t f16_from_float(float f)
{
	const uint32_t f16_overflow = (127 + 16) << 23;
	const uint32_t smallest_normal = (127 - 14) << 23;
	const uint32_t denorm_magic = ((127 - 15) + (23 - 10) + 1) << 23;
	uint32_t x = float_bits(f);
	uint32_t sign = (x >> 16) & 0x8000;
	uint32_t h;

	x &= 0x7fffffff;
	if (x >= f16_overflow) {
		h = x > 0x7f800000 ? 0x7e00 : 0x7c00;
	} else if (x < smallest_normal) {
		/* adding 0.5 lets the FPU do the rounding of the low bits */
		h = float_bits(bits_float(x) + bits_float(denorm_magic)) - denorm_magic;
	} else {
		uint32_t odd = (x >> 13) & 1;
		x += ((uint32_t)(15 - 127) << 23) + 0xfff + odd;
		h = x >> 13;
	}
	return (uint16_t)(sign | h);
}

static inline void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void store_element(unsigned char *p, enum dtype dtype, float v)
{
	switch (dtype) {
	case DTYPE_BF16:
		put_le16(p, bf16_from_float(v));
		break;
	case DTYPE_F16:
		put_le16(p, f16_from_float(v));
		break;
	case DTYPE_F32:
		put_le32(p, float_bits(v));
		break;
	}
}

/* One unit in the last place, towards or away from zero. */
static void nudge_element(unsigned char *p, enum dtype dtype, int up)
{
	if (dtype == DTYPE_F32) {
		uint32_t x = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			     (uint32_t)p[3] << 24;
		uint32_t mag = x & 0x7fffffff;
		mag = (up || !mag) ? mag + 1 : mag - 1;
		put_le32(p, (x & 0x80000000) | mag);
	} else {
		uint16_t x = (uint16_t)(p[0] | p[1] << 8);
		uint16_t mag = x & 0x7fff;
		mag = (uint16_t)((up || !mag) ? mag + 1 : mag - 1);
		put_le16(p, (uint16_t)((x & 0x8000) | mag));
	}
}

/* ---- text ---- */

static void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_addf(struct text *t, const char *fmt, ...)
{
	for (;;) {
		size_t room = t->alloc - t->len;
		va_list ap;
		int n;

		va_start(ap, fmt);
		n = vsnprintf(t->data + t->len, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("cannot format the header");
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		t->alloc = t->alloc * 2 + (size_t)n + 64;
		t->data = xrealloc_or_die(t->data, t->alloc);
	}
}

/* A JSON string, quoted and escaped. */
static void text_add_json_string(struct text *t, const char *s)
{
	text_addf(t, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			text_addf(t, "\\%c", *p);
		else if (*p < 0x20)
			text_addf(t, "\\u%04x", *p);
		else
			text_addf(t, "%c", *p);
	}
	text_addf(t, "\"");
}

/* ---- output ---- */

static void output_open(struct output *o, const char *path)
{
	o->path = path;
	o->len = 0;
	o->buf = xrealloc_or_die(NULL, BLOCK_BYTES);
	if (!strcmp(path, "-")) {
		o->fd = STDOUT_FILENO;
		return;
	}
	o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (o->fd < 0)
		die("cannot create '%s': %s", path, strerror(errno));
}

static void output_flush(struct output *o)
{
	size_t done = 0;
	while (done < o->len) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("cannot write '%s': %s", o->path,
			    n < 0 ? strerror(errno) : "short write");
		done += (size_t)n;
	}
	o->len = 0;
}

static void output_write(struct output *o, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len) {
		size_t n = BLOCK_BYTES - o->len < len ? BLOCK_BYTES - o->len : len;
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		p += n;
		len -= n;
		if (o->len == BLOCK_BYTES)
			output_flush(o);
	}
}

static void output_close(struct output *o)
{
	output_flush(o);
	if (o->fd != STDOUT_FILENO && close(o->fd) < 0)
		die("cannot write '%s': %s", o->path, strerror(errno));
	free(o->buf);
}

/* ---- the plan: which tensors, in which order ---- */

static uint64_t tensor_elements(const struct tensor *t)
{
	return t->rows * (t->cols ? t->cols : 1);
}

static void plan_add(struct plan *p, const char *name, uint64_t rows, uint64_t cols, int is_norm)
{
	if (p->nr == p->alloc) {
		p->alloc = p->alloc ? 2 * p->alloc : 64;
		p->items = xrealloc_or_die(p->items, p->alloc * sizeof(*p->items));
	}
	p->items[p->nr].name = xstrdup_or_die(name);
	p->items[p->nr].rows = rows;
	p->items[p->nr].cols = cols;
	p->items[p->nr].is_norm = is_norm;
	p->items[p->nr].content_name = NULL;
	p->nr++;
}

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->nr; i++) {
		free(p->items[i].name);
		free(p->items[i].content_name);
	}
	free(p->items);
}

/*
 * A LLaMA-like stack for `target` elements: the hidden size d is the largest
 * power of two (at most 8192) that leaves room for eight layers of about
 * 12 d^2 weights; the embedding and the head take a vocabulary of up to
 * 32000 tokens; whole layers fill the rest, and the vocabulary is then
 * stretched so the total reaches the target.
 */
static void plan_llama(struct plan *p, uint64_t target)
{
	uint64_t d = 8, ffn, layer, vocab, layers, fixed;
	char name[128];

	while (d < 8192 && 96 * (2 * d) * (2 * d) <= target)
		d *= 2;
	ffn = (8 * d / 3 + 7) / 8 * 8;
	layer = 4 * d * d + 3 * d * ffn + 2 * d;
	vocab = target / (8 * d);
	if (vocab > 32000)
		vocab = 32000;
	layers = target > 2 * vocab * d + d ? (target - 2 * vocab * d - d) / layer : 0;
	if (!layers)
		layers = 1;
	fixed = layers * layer + d;
	vocab = target > fixed ? (target - fixed + 2 * d - 1) / (2 * d) : 1;
	p->hidden = d;

	plan_add(p, "model.embed_tokens.weight", vocab, d, 0);
	for (uint64_t l = 0; l < layers; l++) {
		static const struct {
			const char *suffix;
			int shape; /* 0: [d], 1: [d, d], 2: [ffn, d], 3: [d, ffn] */
		} parts[] = {
			{ "input_layernorm.weight", 0 },  { "self_attn.q_proj.weight", 1 },
			{ "self_attn.k_proj.weight", 1 }, { "self_attn.v_proj.weight", 1 },
			{ "self_attn.o_proj.weight", 1 }, { "post_attention_layernorm.weight", 0 },
			{ "mlp.gate_proj.weight", 2 },    { "mlp.up_proj.weight", 2 },
			{ "mlp.down_proj.weight", 3 },
		};
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			int s = parts[i].shape;
			snprintf(name, sizeof(name), "model.layers.%" PRIu64 ".%s", l,
				 parts[i].suffix);
			plan_add(p, name, s == 2 ? ffn : d, s == 0 ? 0 : s == 3 ? ffn : d, s == 0);
		}
	}
	plan_add(p, "model.norm.weight", d, 0, 1);
	plan_add(p, "lm_head.weight", vocab, d, 0);
}

static int plan_find(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->nr; i++)
		if (!strcmp(p->items[i].name, name))
			return (int)i;
	return -1;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		die("bad %s '%s'", what, s);
	return (uint64_t)v;
}

/* "NAME" is a [d, d] matrix, "NAME:R" a vector, "NAME:RxC" a matrix. */
static void plan_add_spec(struct plan *p, const char *spec)
{
	char *name = xstrdup_or_die(spec), *shape = strrchr(name, ':');
	uint64_t rows = p->hidden, cols = p->hidden;

	if (shape) {
		char *x = strchr(shape + 1, 'x');
		*shape++ = '\0';
		if (x)
			*x++ = '\0';
		rows = parse_u64(shape, "tensor shape");
		cols = x ? parse_u64(x, "tensor shape") : 0;
		if (!rows || (x && !cols))
			die("bad tensor shape in '%s'", spec);
	}
	if (!*name)
		die("empty tensor name in '%s'", spec);
	if (plan_find(p, name) >= 0)
		die("tensor '%s' already exists", name);
	plan_add(p, name, rows, cols, 0);
	free(name);
}

static void plan_drop(struct plan *p, const char *name)
{
	int i = plan_find(p, name);
	if (i < 0)
		die("no tensor '%s' to drop", name);
	free(p->items[i].name);
	memmove(p->items + i, p->items + i + 1, (p->nr - (size_t)i - 1) * sizeof(*p->items));
	p->nr--;
}

/* ---- versions ---- */

/* The latest version, at most opt->version, that retrained this tensor. */
/* OLD=NEW: the tensor OLD is called NEW, with the same bytes. */
static void plan_rename(struct plan *p, const char *spec)
{
	char *old = xstrdup_or_die(spec), *eq = strchr(old, '=');
	int i;

	if (!eq || eq == old || !eq[1])
		die("bad rename '%s': write OLD=NEW", spec);
	*eq = '\0';
	i = plan_find(p, old);
	if (i < 0)
		die("no tensor '%s' to rename", old);
	if (plan_find(p, eq + 1) >= 0)
		die("tensor '%s' already exists", eq + 1);
	if (!p->items[i].content_name)
		p->items[i].content_name = p->items[i].name;
	else
		free(p->items[i].name);
	p->items[i].name = xstrdup_or_die(eq + 1);
	free(old);
}

static const char *content_name(const struct tensor *t)
{
	return t->content_name ? t->content_name : t->name;
}

static unsigned content_version(const struct options *opt, uint64_t name_key)
{
	for (unsigned v = opt->version; v > 0; v--)
		if (unit_from_key(mix2(name_key, mix2(opt->seed, 0x7e7a11ed00000000ULL + v))) <
		    opt->changed)
			return v;
	return 0;
}

/* ---- writing ---- */

static void build_header(struct text *h, const struct options *opt, const struct plan *p)
{
	uint64_t offset = 0;
	size_t esize = dtypes[opt->dtype].size;

	text_addf(h, "{\"__metadata__\":{\"format\":\"pt\"");
	for (size_t i = 0; i < opt->meta_nr; i++) {
		char *key = xstrdup_or_die(opt->meta[i]), *value = strchr(key, '=');
		if (!value)
			die("bad --meta '%s'; use KEY=VALUE", opt->meta[i]);
		*value++ = '\0';
		text_addf(h, ",");
		text_add_json_string(h, key);
		text_addf(h, ":");
		text_add_json_string(h, value);
		free(key);
	}
	text_addf(h, "}");
	for (size_t i = 0; i < p->nr; i++) {
		const struct tensor *t = &p->items[i];
		uint64_t bytes = tensor_elements(t) * esize;

		text_addf(h, ",");
		text_add_json_string(h, t->name);
		text_addf(h, ":{\"dtype\":\"%s\",\"shape\":[%" PRIu64, dtypes[opt->dtype].json,
			  t->rows);
		if (t->cols)
			text_addf(h, ",%" PRIu64, t->cols);
		text_addf(h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", offset,
			  offset + bytes);
		offset += bytes;
	}
	text_addf(h, "}");
	while (h->len % 8)
		text_addf(h, " ");
}

static void write_tensor(struct output *o, const struct options *opt, const struct tensor *t,
			 unsigned char *block)
{
	enum dtype dtype = opt->dtype;
	size_t esize = dtypes[dtype].size, per_block = BLOCK_BYTES / esize;
	uint64_t name_key = hash_name(content_name(t));
	uint64_t remaining = tensor_elements(t);
	unsigned from = content_version(opt, name_key);
	/* Perturbation draws differ per version, so v1 and v2 move apart. */
	uint64_t perturb_limit = (uint64_t)(opt->perturb * 4294967296.0);
	struct rng values, nudges;
	double scale;

	rng_init(&values, mix2(name_key, mix2(opt->seed, from)));
	rng_init(&nudges, mix2(name_key, mix2(opt->seed, 0x9e55ed0000000000ULL + opt->version)));
	/* matrices: N(0, 1/cols) as at initialisation; norms: N(1, 0.02^2) */
	scale = ldexp(t->is_norm ? 0.02 : 1.0 / sqrt((double)(t->cols ? t->cols : t->rows)),
		      -FIXED_SHIFT);

	while (remaining) {
		size_t n = remaining < per_block ? (size_t)remaining : per_block;
		for (size_t j = 0; j < n; j++) {
			double x = (double)normal_fixed(rng_next(&values)) * scale;
			store_element(block + j * esize, dtype, (float)(t->is_norm ? 1.0 + x : x));
		}
		if (perturb_limit) {
			for (size_t j = 0; j < n; j++) {
				uint64_t r = rng_next(&nudges);
				if ((r & 0xffffffff) < perturb_limit)
					nudge_element(block + j * esize, dtype, (int)(r >> 63));
			}
		}
		output_write(o, block, n * esize);
		remaining -= n;
	}
}

static void list_plan(const struct options *opt, const struct plan *p)
{
	for (size_t i = 0; i < p->nr; i++) {
		const struct tensor *t = &p->items[i];
		printf("%s %s [%" PRIu64, t->name, dtypes[opt->dtype].json, t->rows);
		if (t->cols)
			printf(",%" PRIu64, t->cols);
		printf("] %" PRIu64 " v%u\n", tensor_elements(t) * dtypes[opt->dtype].size,
		       content_version(opt, hash_name(content_name(t))));
	}
	if (fflush(stdout))
		die("cannot write the list: %s", strerror(errno));
}

static void write_model(const struct options *opt)
{
	size_t esize = dtypes[opt->dtype].size;
	struct plan plan = { 0 };
	struct text header = { 0 };
	struct output out;
	unsigned char length[8], *block;

	plan_llama(&plan, (uint64_t)ceil(opt->size_mb * MIB / (double)esize));
	for (size_t i = 0; i < opt->drop_nr; i++)
		plan_drop(&plan, opt->drop[i]);
	for (size_t i = 0; i < opt->rename_nr; i++)
		plan_rename(&plan, opt->rename[i]);
	for (size_t i = 0; i < opt->add_nr; i++)
		plan_add_spec(&plan, opt->add[i]);
	if (opt->list)
		list_plan(opt, &plan);
	if (!opt->out)
		goto done;

	build_header(&header, opt, &plan);
	for (int i = 0; i < 8; i++)
		length[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
	normal_table_init();
	output_open(&out, opt->out);
	output_write(&out, length, sizeof(length));
	output_write(&out, header.data, header.len);
	block = xrealloc_or_die(NULL, BLOCK_BYTES);
	for (size_t i = 0; i < plan.nr; i++)
		write_tensor(&out, opt, &plan.items[i], block);
	free(block);
	output_close(&out);
done:
	free(header.data);
	plan_release(&plan);
}

static void write_raw(const struct options *opt)
{
	uint64_t remaining =
	    opt->size_bytes ? opt->size_bytes : (uint64_t)llround(opt->size_mb * MIB);
	unsigned char *block = xrealloc_or_die(NULL, BLOCK_BYTES);
	struct output out;
	struct rng r;

	rng_init(&r, mix2(opt->seed, 0x2a3d0000ULL));
	output_open(&out, opt->out);
	while (remaining) {
		size_t n = remaining < BLOCK_BYTES ? (size_t)remaining : BLOCK_BYTES;
		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = rng_next(&r);
			for (size_t k = 0; k < 8 && i + k < n; k++)
				block[i + k] = (unsigned char)(v >> (8 * k));
		}
		output_write(&out, block, n);
		remaining -= n;
	}
	free(block);
	output_close(&out);
}

/* ---- command line ---- */

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fputs("usage: test-genmodel OUT --size-mb N [--seed S] [--dtype bf16|f16|f32]\n"
	      "                     [--version K --changed F] [--perturb P]\n"
	      "                     [--add-tensor NAME[:R[xC]]]... [--drop-tensor NAME]...\n"
	      "                     [--rename-tensor OLD=NEW]...\n"
	      "                     [--meta KEY=VALUE]... [--list]\n"
	      "   or: test-genmodel OUT --raw (--size-bytes N | --size-mb N) [--seed S]\n",
	      stderr);
	exit(129);
}

static double parse_double(const char *s, const char *what, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max))
		die("bad %s '%s'", what, s);
	return v;
}

static void push_arg(const char ***list, size_t *nr, const char *arg)
{
	*list = xrealloc_or_die(*list, (*nr + 1) * sizeof(**list));
	(*list)[(*nr)++] = arg;
}

static void parse_options(struct options *opt, int argc, char **argv)
{
	int have_size = 0;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		int takes_value = 1;

		if (!strcmp(arg, "--raw"))
			opt->raw = 1, takes_value = 0;
		else if (!strcmp(arg, "--list"))
			opt->list = 1, takes_value = 0;
		else if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			usage();
		else if ((arg[0] != '-' || !strcmp(arg, "-")) && !opt->out)
			opt->out = arg, takes_value = 0;
		else if (!value)
			usage();
		else if (!strcmp(arg, "--size-mb"))
			opt->size_mb = parse_double(value, "size", 1e-6, 1e9), have_size = 1;
		else if (!strcmp(arg, "--size-bytes"))
			opt->size_bytes = parse_u64(value, "size"), have_size = 1;
		else if (!strcmp(arg, "--seed"))
			opt->seed = parse_u64(value, "seed");
		else if (!strcmp(arg, "--version"))
			opt->version = (unsigned)parse_double(value, "version", 0, 1e6);
		else if (!strcmp(arg, "--changed"))
			opt->changed = parse_double(value, "fraction", 0, 1);
		else if (!strcmp(arg, "--perturb"))
			opt->perturb = parse_double(value, "probability", 0, 1);
		else if (!strcmp(arg, "--add-tensor"))
			push_arg(&opt->add, &opt->add_nr, value);
		else if (!strcmp(arg, "--drop-tensor"))
			push_arg(&opt->drop, &opt->drop_nr, value);
		else if (!strcmp(arg, "--rename-tensor"))
			push_arg(&opt->rename, &opt->rename_nr, value);
		else if (!strcmp(arg, "--meta"))
			push_arg(&opt->meta, &opt->meta_nr, value);
		else if (!strcmp(arg, "--dtype")) {
			size_t d;
			for (d = 0; d < sizeof(dtypes) / sizeof(dtypes[0]); d++)
				if (!strcmp(value, dtypes[d].option))
					break;
			if (d == sizeof(dtypes) / sizeof(dtypes[0]))
				die("unknown dtype '%s'; use bf16, f16 or f32", value);
			opt->dtype = (enum dtype)d;
		} else
			usage();
		i += takes_value;
	}
	if (!have_size || (!opt->out && !opt->list))
		usage();
	if (opt->raw && !opt->out)
		usage();
	if (opt->size_bytes && !opt->raw)
		die("--size-bytes goes with --raw; models take --size-mb");
	if (opt->perturb > 0 && opt->perturb * 4294967296.0 < 1)
		die("--perturb %g is below the resolution 2^-32", opt->perturb);
	if (opt->version != 0 && opt->changed == 0 && opt->perturb == 0)
		fputs("test-genmodel: warning: --version without --changed or --perturb "
		      "gives the base model\n",
		      stderr);
}

int main(int argc, char **argv)
{
	struct options opt = { .seed = 1, .dtype = DTYPE_BF16 };

	parse_options(&opt, argc, argv);
	if (opt.raw)
		write_raw(&opt);
	else
		write_model(&opt);
	free(opt.add);
	free(opt.drop);
	free(opt.rename);
	free(opt.meta);
	return 0;
}
