/* Fast checks that a run of octets is 7-bit text, for the lines of
 * an entity that is about to be signed or encrypted. */
#ifndef SMIMEGW_OCTETS_H
#define SMIMEGW_OCTETS_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true when none of the len octets at p is NUL or above 127. CR and
 * LF are accepted, so the caller checks line ends. p need not be aligned. */
bool octets_are_7bit(const unsigned char *p, size_t len);

/* Returns true when none of the len octets at p is NUL, CR or above 127,
 * which suits the content of one line with its CRLF left out. LF is
 * accepted. */
bool octets_are_7bit_without_cr(const unsigned char *p, size_t len);

#endif
