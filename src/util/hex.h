/* Hexadecimal encoding of octets. */
#ifndef SMIMEGW_HEX_H
#define SMIMEGW_HEX_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the len octets at in to out as 2 * len hexadecimal digits,
 * lower-case unless upper, followed by a NUL, so out needs 2 * len + 1
 * octets. Returns the position of the NUL, where more text may follow. */
char *hex_encode(char *out, const unsigned char *in, size_t len, bool upper);

#endif
