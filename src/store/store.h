/* On-disk store of blobs and Email records, per account, that survives
 * restarts. Layout under the root:
 *   format                                     "smimegw store format 2"
 *   accounts/<accountId>/blobs/<blobId>        media type, LF, blob content
 *   accounts/<accountId>/blobs/<blobId>.type   only for a blob written by
 *                                              format 1: its media type,
 *                                              and the blob file is the
 *                                              content alone
 *   accounts/<accountId>/emails/<emailId>.json Email record (JSON object)
 *   accounts/<accountId>/state                 Email state counter
 * Every file is written to a temporary "<name>.tmp.XXXXXX" beside it, synced
 * and renamed, so a crash or a full disk never leaves a half-written file
 * under its final name. Directories are created with mode 0700, files 0600.
 *
 * Functions returning int return 0, or -1 with *error_r set to an allocated
 * message naming the path or value and the reason. Functions returning
 * enum store_status set *error_r only for STORE_ERROR. */
#ifndef SMIMEGW_STORE_H
#define SMIMEGW_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum store_status { STORE_OK = 0, STORE_NOT_FOUND = 1, STORE_ERROR = -1 };

struct store; /* thread-safe; one per daemon */

/* Opens (creating with mode 0700) the store rooted at path. Checks it is
 * writable, takes a POSIX record lock on <root>/lock so that a second daemon
 * cannot open the same root, removes temporary files left by an earlier
 * crash, and checks the format file (writing it into a new store or one
 * of format 1). */
int store_open(const char *path, struct store **store_r, char **error_r);
/* Releases the lock and frees the store; NULL is ignored. */
void store_close(struct store *store);

/* Account ids and blob/email ids must match [A-Za-z0-9_-]{1,255}; anything
 * else is STORE_NOT_FOUND for reads and an error for writes (so ids can never
 * escape the account folder). */
bool store_id_valid(const char *id);

/* Stores data as a blob of account; the blob id is "G" + hex SHA-256 of the
 * content (so the same content gives the same id), type is the media type
 * stored with it. A NULL type stores "application/octet-stream". A type that
 * is empty, longer than 255 bytes or contains control characters is an
 * error. Storing the same content again with another type replaces the
 * type; with the same type it writes nothing. Atomic (fs_write_atomic).
 * *blob_id_r allocated. */
int store_blob_put(struct store *store, const char *account_id,
    const void *data, size_t len, const char *type, char **blob_id_r,
    char **error_r);

/* Stores data as a new blob of account under a new random id ("B" and 24
 * hex digits) without computing a hash, for content that is unique anyway,
 * such as a message that was just created with a random Message-ID.
 * Otherwise like store_blob_put. */
int store_blob_add(struct store *store, const char *account_id,
    const void *data, size_t len, const char *type, char **blob_id_r,
    char **error_r);

/* Reads a blob of account_id; *data_r allocated (NUL-terminated after len
 * bytes), *type_r allocated (may be "application/octet-stream").
 * STORE_NOT_FOUND for an unknown id or a blob of another account. */
enum store_status store_blob_get(struct store *store, const char *account_id,
    const char *blob_id, char **data_r, size_t *len_r, char **type_r,
    char **error_r);

/* Size of a blob's content without reading it, or STORE_NOT_FOUND.
 * STORE_ERROR (logged) when the file cannot be read, is not a regular file
 * or does not start with a media type. */
enum store_status store_blob_size(struct store *store, const char *account_id,
    const char *blob_id, size_t *size_r);

/* Removes a blob. STORE_NOT_FOUND when it does not exist. Used
 * to take back a blob whose Email could not be stored; blob ids are content
 * hashes, so callers delete only a blob that did not exist before. */
enum store_status store_blob_delete(struct store *store, const char *account_id,
    const char *blob_id, char **error_r);

/* Email records: a JSON object per email id. put writes atomically (replaces
 * an existing record); record is not consumed. A record that is not an
 * object or serializes to more than 16 MiB is an error. */
int store_email_put(struct store *store, const char *account_id,
    const char *email_id, json_t *record, char **error_r);
/* *record_r is a new reference owned by the caller. */
enum store_status store_email_get(struct store *store, const char *account_id,
    const char *email_id, json_t **record_r, char **error_r);
/* Unlinks the record file. Blobs are never deleted here: the caller decides
 * whether the message blob is still referenced. */
enum store_status store_email_delete(struct store *store,
    const char *account_id, const char *email_id, char **error_r);

/* All email ids of the account, sorted by strcmp; *ids_r allocated array of
 * allocated strings (NULL when *count_r is 0). An account with no emails
 * folder yet has no ids. */
int store_email_list(struct store *store, const char *account_id,
    char ***ids_r, size_t *count_r, char **error_r);
void store_ids_free(char **ids, size_t count);

/* A new random id with the given one-letter prefix, e.g. "M" + 24 hex chars
 * (96 bits from RAND_bytes). The prefix must be a valid id character. Aborts
 * when the random generator fails, as on out-of-memory. */
char *store_new_id(char prefix);

/* The account's Email state string, and a bump of it after a change
 * (persisted in the account folder, so it survives a restart). The state is
 * a decimal counter, "0" for an account that never changed. The state file
 * is read once per account, on first use. While the store is open, the file
 * contains a value reserved ahead of the counter, which store_close replaces
 * with the counter, so after a crash the state goes on above every value
 * handed out before. store_email_state returns an allocated string, or NULL
 * (and logs the path and reason) when the id is invalid or the state file
 * cannot be read. A bump that needs a new reservation returns after it is
 * in the file. state_r may be NULL. */
char *store_email_state(struct store *store, const char *account_id);
int store_email_state_bump(struct store *store, const char *account_id,
    char **state_r, char **error_r);

#endif
