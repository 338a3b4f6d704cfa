/* Hexadecimal encoding of octets. */
#ifndef SMIMEGW_HEX_H
#define SMIMEGW_HEX_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

/* Writes the len octets at in to out as 2 * len hexadecimal digits,
 * lower-case unless upper, followed by a NUL, so out needs 2 * len + 1
 * octets. Returns the position of the NUL, where more text may follow. */
char *hex_encode(char *out, const unsigned char *in, size_t len, bool upper);

/* Appends prefix and then the two hexadecimal digits of octet to out,
 * lower-case unless upper, as in the "=3D" of quoted-printable, the "%20"
 * of percent-encoding or the "\2a" of an LDAP filter value. */
void hex_append_escape(struct strbuf *out, char prefix, unsigned char octet,
    bool upper);

#endif
