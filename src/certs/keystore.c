/* Signing keystore: loads PKCS#12 files or PEM key and certificate pairs
 * from a directory that only the daemon's user may read. */
#include "certs/keystore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "certs/certvalue.h"
#include "certs/sslerr.h"
#include "util/xmalloc.h"

/* Key, certificate and passphrase files are a few kilobytes, so a larger
 * file is rejected as the wrong file. */
#define KEYSTORE_FILE_MAX_SIZE (1024 * 1024)

/* Permission bits that let group or others read or write. */
#define KEYSTORE_FORBIDDEN_MODE (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)

struct keystore {
	struct signing_identity *ids;	/* sorted by email, ignoring case */
	size_t count;
};

/* A file's content; wiped when freed because it may hold a key or a
 * passphrase. */
struct keystore_file {
	char *data;
	size_t len;
};

static void
keystore_file_free(struct keystore_file *f)
{
	if (f->data != NULL) {
		OPENSSL_cleanse(f->data, f->len);
		free(f->data);
	}
	f->data = NULL;
	f->len = 0;
}

static int
keystore_check_mode(const char *path, mode_t mode, char **error_r)
{
	if ((mode & KEYSTORE_FORBIDDEN_MODE) == 0)
		return 0;
	*error_r = xasprintf("%s has mode %04o, which lets group or others read or "
	    "write it; restrict it to the owner (chmod %s)", path,
	    (unsigned)(mode & 07777), S_ISDIR(mode) ? "700" : "600");
	return -1;
}

static int
keystore_read_fd(int fd, const char *path, size_t size, struct keystore_file *f,
    char **error_r)
{
	f->data = xmalloc(size + 1);
	f->len = 0;
	while (f->len < size) {
		ssize_t n = read(fd, f->data + f->len, size - f->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("reading %s failed: %s", path,
			    n == 0 ? "file shrank while reading" : strerror(errno));
			keystore_file_free(f);
			return -1;
		}
		f->len += (size_t)n;
	}
	f->data[f->len] = '\0';
	return 0;
}

/* Reads dir/name after checking that it is a regular file with no group or
 * other permissions. Returns 0, 1 when it does not exist and optional is
 * true, or -1 with *error_r. */
static int
keystore_read(const char *dir, const char *name, bool optional,
    struct keystore_file *f, char **error_r)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	int ret = -1;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT && optional)
			ret = 1;
		else
			*error_r = xasprintf("opening %s failed: %s", path, strerror(errno));
		free(path);
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		*error_r = xasprintf("%s is not a regular file", path);
	else if ((size_t)st.st_size > KEYSTORE_FILE_MAX_SIZE)
		*error_r = xasprintf("%s is larger than %d bytes", path,
		    KEYSTORE_FILE_MAX_SIZE);
	else if (keystore_check_mode(path, st.st_mode, error_r) == 0)
		ret = keystore_read_fd(fd, path, (size_t)st.st_size, f, error_r);
	close(fd);
	free(path);
	return ret;
}

/* Strips one trailing newline (LF or CRLF) from a passphrase file. */
static void
keystore_strip_newline(struct keystore_file *pass)
{
	if (pass->len > 0 && pass->data[pass->len - 1] == '\n') {
		pass->data[--pass->len] = '\0';
		if (pass->len > 0 && pass->data[pass->len - 1] == '\r')
			pass->data[--pass->len] = '\0';
	}
}

static char *
keystore_ssl_error(const char *dir, const char *name, const char *what)
{
	char *ssl = sslerr_pop();
	char *msg = xasprintf("%s/%s: %s: %s", dir, name, what, ssl);

	free(ssl);
	return msg;
}

static int
keystore_load_p12(const char *dir, const char *address, struct signing_identity *id,
    char **error_r)
{
	char *name = xasprintf("%s.p12", address);
	char *pass_name = xasprintf("%s.pass", address);
	struct keystore_file file = { NULL, 0 }, pass = { NULL, 0 };
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	int ret = -1;

	if (keystore_read(dir, name, false, &file, error_r) < 0 ||
	    keystore_read(dir, pass_name, false, &pass, error_r) < 0)
		goto fail;
	keystore_strip_newline(&pass);

	p = (const unsigned char *)file.data;
	p12 = d2i_PKCS12(NULL, &p, (long)file.len);
	if (p12 == NULL) {
		*error_r = keystore_ssl_error(dir, name, "not a PKCS#12 file");
		goto fail;
	}
	if (PKCS12_mac_present(p12) &&
	    PKCS12_verify_mac(p12, pass.data, (int)pass.len) != 1) {
		ERR_clear_error();
		*error_r = xasprintf("%s/%s: MAC verification failed: the passphrase "
		    "in %s is wrong or the file is damaged", dir, name, pass_name);
		goto fail;
	}
	if (PKCS12_parse(p12, pass.data, &id->key, &id->cert, &id->chain) != 1) {
		/* OpenSSL 3 has RC2, the certificate encryption of older
		 * exports, only in its legacy provider, which is not loaded. */
		if (ERR_GET_REASON(ERR_peek_last_error()) == ERR_R_UNSUPPORTED)
			*error_r = keystore_ssl_error(dir, name, "reading the PKCS#12 file "
			    "failed because it uses a legacy algorithm such as RC2; export "
			    "it again with AES or 3DES (openssl pkcs12 -export without "
			    "-legacy)");
		else
			*error_r = keystore_ssl_error(dir, name,
			    "reading the PKCS#12 file failed");
		goto fail;
	}
	if (id->key == NULL || id->cert == NULL) {
		*error_r = xasprintf("%s/%s: the PKCS#12 file has no %s", dir, name,
		    id->key == NULL ? "private key" : "certificate matching its key");
		goto fail;
	}
	ret = 0;
fail:
	PKCS12_free(p12);
	keystore_file_free(&file);
	keystore_file_free(&pass);
	free(name);
	free(pass_name);
	return ret;
}

/* PEM passphrase callback: u is the passphrase file, or NULL when there is
 * none, which makes an encrypted key fail instead of prompting. */
static int
keystore_pem_passphrase(char *buf, int size, int rwflag, void *u)
{
	const struct keystore_file *pass = u;

	(void)rwflag;
	if (pass == NULL || pass->len >= (size_t)size)
		return -1;
	memcpy(buf, pass->data, pass->len);
	return (int)pass->len;
}

static int
keystore_load_pem_key(const char *dir, const char *address, struct signing_identity *id,
    char **error_r)
{
	char *name = xasprintf("%s.key", address);
	char *pass_name = xasprintf("%s.pass", address);
	struct keystore_file file = { NULL, 0 }, pass = { NULL, 0 };
	BIO *bio = NULL;
	int has_pass;
	int ret = -1;

	if (keystore_read(dir, name, false, &file, error_r) < 0)
		goto fail;
	has_pass = keystore_read(dir, pass_name, true, &pass, error_r);
	if (has_pass < 0)
		goto fail;
	keystore_strip_newline(&pass);

	bio = BIO_new_mem_buf(file.data, (int)file.len);
	if (bio == NULL)
		abort();
	id->key = PEM_read_bio_PrivateKey(bio, NULL, keystore_pem_passphrase,
	    has_pass == 0 ? &pass : NULL);
	if (id->key == NULL) {
		*error_r = keystore_ssl_error(dir, name, has_pass == 0 ?
		    "reading the private key failed (is the passphrase in the .pass file right?)" :
		    "reading the private key failed (an encrypted key needs a .pass file)");
		goto fail;
	}
	ret = 0;
fail:
	BIO_free(bio);
	keystore_file_free(&file);
	keystore_file_free(&pass);
	free(name);
	free(pass_name);
	return ret;
}

static int
keystore_load_pem(const char *dir, const char *address, struct signing_identity *id,
    char **error_r)
{
	char *name = xasprintf("%s.pem", address);
	struct keystore_file file = { NULL, 0 };
	STACK_OF(X509) *certs = NULL;
	char *error = NULL;
	int ret = -1;

	if (keystore_load_pem_key(dir, address, id, error_r) < 0 ||
	    keystore_read(dir, name, false, &file, error_r) < 0)
		goto fail;
	certs = sk_X509_new_null();
	if (certs == NULL)
		abort();
	if (certvalue_parse((const unsigned char *)file.data, file.len, certs, &error) < 0) {
		*error_r = xasprintf("%s/%s: no certificate could be read: %s", dir, name,
		    error);
		free(error);
		goto fail;
	}
	id->cert = sk_X509_shift(certs);
	id->chain = certs;
	certs = NULL;
	ret = 0;
fail:
	sk_X509_pop_free(certs, X509_free);
	keystore_file_free(&file);
	free(name);
	return ret;
}

static void
keystore_identity_clear(struct signing_identity *id)
{
	free(id->email);
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	memset(id, 0, sizeof(*id));
}

/* Loads the identity for address from "<address><suffix>" (".p12" or
 * ".key") and its companion files, and checks that key and certificate
 * match. */
static int
keystore_load_identity(const char *dir, const char *address, const char *suffix,
    struct signing_identity *id, char **error_r)
{
	bool p12 = strcmp(suffix, ".p12") == 0;

	memset(id, 0, sizeof(*id));
	id->email = xstrdup(address);
	if ((p12 ? keystore_load_p12(dir, address, id, error_r) :
	    keystore_load_pem(dir, address, id, error_r)) < 0)
		goto fail;
	if (id->chain == NULL) {
		id->chain = sk_X509_new_null();
		if (id->chain == NULL)
			abort();
	}
	if (X509_check_private_key(id->cert, id->key) != 1) {
		ERR_clear_error();
		if (p12)
			*error_r = xasprintf("%s/%s.p12: the private key does not match "
			    "the certificate", dir, address);
		else
			*error_r = xasprintf("%s/%s.key: the private key does not match "
			    "the certificate in %s.pem", dir, address, address);
		goto fail;
	}
	return 0;
fail:
	keystore_identity_clear(id);
	return -1;
}

static int
keystore_compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
keystore_compare_ids(const void *a, const void *b)
{
	return strcasecmp(((const struct signing_identity *)a)->email,
	    ((const struct signing_identity *)b)->email);
}

/* Opens dir after checking its mode and returns its sorted file names
 * (allocated array of allocated strings). Returns -1 with *error_r. */
static int
keystore_list(const char *dir, char ***names_r, size_t *count_r, char **error_r)
{
	struct stat st;
	struct dirent *de;
	char **names = NULL;
	size_t count = 0;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		*error_r = xasprintf("opening keystore directory %s failed: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (fstat(dirfd(d), &st) < 0) {
		*error_r = xasprintf("fstat(%s) failed: %s", dir, strerror(errno));
		closedir(d);
		return -1;
	}
	if (keystore_check_mode(dir, st.st_mode, error_r) < 0) {
		closedir(d);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '@') == NULL)
			continue;
		names = xreallocarray(names, count + 1, sizeof(*names));
		names[count++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), keystore_compare_names);
	*names_r = names;
	*count_r = count;
	return 0;
}

/* Returns the key suffix (".p12" or ".key") of name, or NULL. */
static const char *
keystore_key_suffix(const char *name)
{
	size_t len = strlen(name);

	if (len > 4 && strcmp(name + len - 4, ".p12") == 0)
		return ".p12";
	if (len > 4 && strcmp(name + len - 4, ".key") == 0)
		return ".key";
	return NULL;
}

/* Sorts the identities and rejects two for one address. */
static int
keystore_index(const char *dir, struct keystore *ks, char **error_r)
{
	if (ks->count == 0)
		return 0;
	qsort(ks->ids, ks->count, sizeof(*ks->ids), keystore_compare_ids);
	for (size_t i = 1; i < ks->count; i++) {
		if (strcasecmp(ks->ids[i - 1].email, ks->ids[i].email) == 0) {
			*error_r = xasprintf("%s: more than one key for %s (a .p12 and a "
			    ".key file, or names differing only in case)", dir,
			    ks->ids[i].email);
			return -1;
		}
	}
	return 0;
}

int
keystore_load(const char *dir, struct keystore **ks_r, char **error_r)
{
	struct keystore *ks = xcalloc(1, sizeof(*ks));
	char **names = NULL;
	size_t count = 0;
	int ret = -1;

	if (keystore_list(dir, &names, &count, error_r) < 0)
		goto out;
	for (size_t i = 0; i < count; i++) {
		const char *suffix = keystore_key_suffix(names[i]);
		char *address;
		int r;

		if (suffix == NULL)
			continue;
		address = xstrndup(names[i], strlen(names[i]) - strlen(suffix));
		ks->ids = xreallocarray(ks->ids, ks->count + 1, sizeof(*ks->ids));
		r = keystore_load_identity(dir, address, suffix, &ks->ids[ks->count], error_r);
		free(address);
		if (r < 0)
			goto out;
		ks->count++;
	}
	if (keystore_index(dir, ks, error_r) < 0)
		goto out;
	*ks_r = ks;
	ks = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	keystore_free(ks);
	return ret;
}

const struct signing_identity *
keystore_find(const struct keystore *ks, const char *email)
{
	struct signing_identity key = { .email = (char *)email };

	if (ks == NULL || ks->count == 0)
		return NULL;
	return bsearch(&key, ks->ids, ks->count, sizeof(*ks->ids), keystore_compare_ids);
}

size_t
keystore_count(const struct keystore *ks)
{
	return ks != NULL ? ks->count : 0;
}

void
keystore_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->count; i++)
		keystore_identity_clear(&ks->ids[i]);
	free(ks->ids);
	free(ks);
}
