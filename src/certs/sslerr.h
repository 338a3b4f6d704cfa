/* OpenSSL error queue to message text, for the certs module's errors. */
#ifndef SMIMEGW_SSLERR_H
#define SMIMEGW_SSLERR_H

/* Returns the reason of the most recent error in this thread's OpenSSL
 * error queue as an allocated string ("unknown OpenSSL error" when the queue
 * is empty), and clears the queue. */
char *sslerr_pop(void);

#endif
