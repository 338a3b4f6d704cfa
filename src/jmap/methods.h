/* Method handlers, one family per file: core.c, email_set.c, email_get.c,
 * mailbox.c. Contract: see jmap_method_handler in jmap.h. */
#ifndef SMIMEGW_JMAP_METHODS_H
#define SMIMEGW_JMAP_METHODS_H

#include "jmap/jmap.h"

jmap_method_handler jmap_core_echo;
jmap_method_handler jmap_email_get;
jmap_method_handler jmap_email_set;
jmap_method_handler jmap_mailbox_get;

#endif
