/* Lookup forms of mail addresses: A-label domains through libidn2 and
 * optional case folding of the local part. */
#include "certs/mailaddr.h"

#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "util/xmalloc.h"

static bool
mailaddr_is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

static void
mailaddr_lower_ascii(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
}

char *
mailaddr_domain_ascii(const char *domain, char **error_r)
{
	char *out = NULL, *copy;
	int rc;

	if (domain[0] == '\0') {
		*error_r = xstrdup("the domain is empty");
		return NULL;
	}
	if (mailaddr_is_ascii(domain)) {
		copy = xstrdup(domain);
		mailaddr_lower_ascii(copy);
		return copy;
	}
	rc = idn2_to_ascii_8z(domain, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		*error_r = xasprintf("the domain \"%s\" is not a valid internationalised "
		    "domain name: %s", domain, idn2_strerror(rc));
		return NULL;
	}
	copy = xstrdup(out);
	idn2_free(out);
	mailaddr_lower_ascii(copy);
	return copy;
}

char *
mailaddr_normalize(const char *email, bool fold_local, char **error_r)
{
	const char *at = strrchr(email, '@');
	char *local, *domain, *error = NULL, *out;

	if (at == NULL || at == email) {
		*error_r = xasprintf("\"%s\" is not a mail address: %s", email,
		    at == NULL ? "it has no '@'" : "the local part is empty");
		return NULL;
	}
	domain = mailaddr_domain_ascii(at + 1, &error);
	if (domain == NULL) {
		*error_r = xasprintf("\"%s\" is not a usable mail address: %s", email, error);
		free(error);
		return NULL;
	}
	local = xstrndup(email, (size_t)(at - email));
	/* NOTE: only ASCII letters are folded; non-ASCII local parts (RFC 6531)
	 * must match byte for byte. */
	if (fold_local)
		mailaddr_lower_ascii(local);
	out = xasprintf("%s@%s", local, domain);
	free(local);
	free(domain);
	return out;
}

char *
mailaddr_unicode_form(const char *email)
{
	const char *at = strrchr(email, '@');
	char *unicode = NULL, *out;

	if (at == NULL || (strncmp(at + 1, "xn--", 4) != 0 &&
	    strstr(at + 1, ".xn--") == NULL))
		return NULL;
	if (idn2_to_unicode_8z8z(at + 1, &unicode, 0) != IDN2_OK) {
		idn2_free(unicode);
		return NULL;
	}
	out = xasprintf("%.*s@%s", (int)(at - email), email, unicode);
	idn2_free(unicode);
	return out;
}
