/* The table of JMAP methods this server implements. */
#include <string.h>

#include "jmap/jmap.h"
#include "jmap/methods.h"

static const struct jmap_method jmap_methods[] = {
	{ "Core/echo", JMAP_CAP_CORE, jmap_core_echo },
	{ "Email/get", JMAP_CAP_MAIL, jmap_email_get },
	{ "Email/set", JMAP_CAP_MAIL, jmap_email_set },
	{ "Mailbox/get", JMAP_CAP_MAIL, jmap_mailbox_get },
};

const struct jmap_method *
jmap_method_find(const char *name)
{
	for (size_t i = 0; i < sizeof(jmap_methods) / sizeof(jmap_methods[0]); i++) {
		if (strcmp(jmap_methods[i].name, name) == 0)
			return &jmap_methods[i];
	}
	return NULL;
}
