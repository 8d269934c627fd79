/* FastCDC: see fastcdc.h. */
#include <pthread.h>
#include <string.h>

#include "error.h"
#include "fastcdc.h"
#include "banned.h"

#define GEAR_SEED 0x6c6570746f6e4344ull /* "leptonCD" */

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void gear_fill(void)
{
	uint64_t x = GEAR_SEED;

	/* splitmix64 */
	for (int i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		gear[i] = z ^ (z >> 31);
	}
}

const uint64_t *fastcdc_gear(void)
{
	pthread_once(&gear_once, gear_fill);
	return gear;
}

/*
 * A mask of `bits` ones spread over the high half of the hash, every other
 * bit from bit 63 down: with the gear hash's left shift, bit k depends on
 * the last k + 1 bytes, so a cut depends on a window of about 64 bytes.
 */
static uint64_t spread_mask(unsigned bits)
{
	uint64_t m = 0;
	for (unsigned i = 0; i < bits && i < 32; i++)
		m |= 1ull << (63 - 2 * i);
	return m;
}

int fastcdc_init(struct fastcdc *f, size_t min, size_t avg, size_t max)
{
	unsigned bits = 0;

	memset(f, 0, sizeof(*f));
	f->min = min ? min : FASTCDC_MIN_DEFAULT;
	f->avg = avg ? avg : FASTCDC_AVG_DEFAULT;
	f->max = max ? max : FASTCDC_MAX_DEFAULT;
	if (f->min < 64 || f->min >= f->avg || f->avg >= f->max)
		return lepton_error_set(LEPTON_EINVALID,
					"chunk sizes min %zu, avg %zu, max %zu: need 64 <= min < "
					"avg < max",
					f->min, f->avg, f->max);
	while (((size_t)2 << bits) <= f->avg)
		bits++;
	/* bits = floor(log2(avg)); level 2 normalization */
	f->mask_s = spread_mask(bits + 2);
	f->mask_l = spread_mask(bits > 2 ? bits - 2 : 1);
	fastcdc_gear();
	return 0;
}

void fastcdc_reset(struct fastcdc *f)
{
	f->hash = 0;
	f->pos = 0;
}

size_t fastcdc_next(struct fastcdc *f, const unsigned char *data, size_t len, int *cut)
{
	size_t pos0 = f->pos; /* position of data[0] in the chunk */
	size_t i = 0, end;
	uint64_t h = f->hash;

	*cut = 0;
	/* no cut before min: those bytes are not even hashed */
	if (pos0 < f->min) {
		if (f->min - pos0 >= len) {
			f->pos += len;
			return len;
		}
		i = f->min - pos0;
	}
	/* before the average size: the harder mask */
	if (pos0 + i < f->avg) {
		end = f->avg - pos0;
		if (end > len)
			end = len;
		for (; i < end; i++) {
			h = (h << 1) + gear[data[i]];
			if (!(h & f->mask_s)) {
				i++;
				goto cut_here;
			}
		}
	}
	/* after it: the easier one, up to the maximum */
	end = f->max - pos0;
	if (end > len)
		end = len;
	for (; i < end; i++) {
		h = (h << 1) + gear[data[i]];
		if (!(h & f->mask_l)) {
			i++;
			goto cut_here;
		}
	}
	if (pos0 + i >= f->max)
		goto cut_here;
	f->pos = pos0 + i;
	f->hash = h;
	return i;
cut_here:
	fastcdc_reset(f);
	*cut = 1;
	return i;
}
