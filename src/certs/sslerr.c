/* OpenSSL error queue to message text. */
#include "certs/sslerr.h"

#include <openssl/err.h>

#include "util/xmalloc.h"

char *
sslerr_pop(void)
{
	unsigned long code = ERR_peek_last_error();
	char buf[256];

	ERR_clear_error();
	if (code == 0)
		return xstrdup("unknown OpenSSL error");
	ERR_error_string_n(code, buf, sizeof(buf));
	return xstrdup(buf);
}
