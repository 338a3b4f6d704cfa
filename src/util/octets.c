/* 7-bit checks that test eight octets at once, because they run over every
 * line of each entity that is signed or encrypted. */
#include "util/octets.h"

#include <stdint.h>
#include <string.h>

#define OCTETS_ONES UINT64_C(0x0101010101010101)
#define OCTETS_HIGHS UINT64_C(0x8080808080808080)
#define OCTETS_CRS UINT64_C(0x0d0d0d0d0d0d0d0d)

/* Returns whether one of the eight octets of w is zero. The expression
 * (w - 0x01..01) & ~w & 0x80..80 is non-zero exactly when one is. */
static bool
octets_word_has_zero(uint64_t w)
{
	return ((w - OCTETS_ONES) & ~w & OCTETS_HIGHS) != 0;
}

/* Tests the octets eight at a time. An octet above 127 sets its high bit,
 * NUL is a zero octet of w and CR a zero octet of w ^ 0x0d..0d. The last
 * len % 8 octets are tested one at a time. */
static bool
octets_check(const unsigned char *p, size_t len, bool reject_cr)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		if ((w & OCTETS_HIGHS) != 0 || octets_word_has_zero(w))
			return false;
		if (reject_cr && octets_word_has_zero(w ^ OCTETS_CRS))
			return false;
	}
	for (; i < len; i++) {
		if (p[i] == 0 || p[i] > 127 || (reject_cr && p[i] == '\r'))
			return false;
	}
	return true;
}

bool
octets_are_7bit(const unsigned char *p, size_t len)
{
	return octets_check(p, len, false);
}

bool
octets_are_7bit_without_cr(const unsigned char *p, size_t len)
{
	return octets_check(p, len, true);
}
