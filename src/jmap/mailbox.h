/* The fixed role mailboxes of every account. */
#ifndef SMIMEGW_JMAP_MAILBOX_H
#define SMIMEGW_JMAP_MAILBOX_H

#include <stdbool.h>

/* Returns true when id names one of the account's mailboxes. */
bool jmap_mailbox_exists(const char *id);

#endif
