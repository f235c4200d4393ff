/*
 * redact: the process-wide secret list and the one redaction pass (see
 * redact.h).
 *
 * A pass walks the text once. At each byte it tries the secrets that start
 * with that byte (a table of first bytes skips the others fast) and, at a
 * "://", the user information of a URL. The list sits behind a read-write
 * lock: every pass shares it, registering takes it alone.
 */
#include "lib/redact.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static char **secrets;				/* under lock */
static size_t *secret_lens;			/* under lock */
static size_t secrets_nr;			/* under lock */
static unsigned char secret_first[256];		/* under lock */

void redact_add_secret(const char *secret)
{
	if (!secret || !*secret)
		return;
	pthread_rwlock_wrlock(&lock);
	for (size_t i = 0; i < secrets_nr; i++) {
		if (!strcmp(secrets[i], secret))
			goto out;
	}
	secrets = xrealloc(secrets, (secrets_nr + 1) * sizeof(*secrets));
	secret_lens = xrealloc(secret_lens,
			       (secrets_nr + 1) * sizeof(*secret_lens));
	secret_lens[secrets_nr] = strlen(secret);
	secret_first[(unsigned char)*secret] = 1;
	secrets[secrets_nr++] = xstrdup(secret);
out:
	pthread_rwlock_unlock(&lock);
}

void redact_clear_secrets(void)
{
	pthread_rwlock_wrlock(&lock);
	for (size_t i = 0; i < secrets_nr; i++) {
		explicit_bzero(secrets[i], secret_lens[i]);
		free(secrets[i]);
	}
	free(secrets);
	free(secret_lens);
	secrets = NULL;
	secret_lens = NULL;
	secrets_nr = 0;
	memset(secret_first, 0, sizeof(secret_first));
	pthread_rwlock_unlock(&lock);
}

/*
 * The length of the longest secret (registered, or also) that s[0..len)
 * starts with, or 0. len > 0; called under the lock.
 */
static size_t secret_at(const char *s, size_t len, const char *also,
			size_t also_len)
{
	size_t best = 0;

	if (also_len && also_len <= len && *s == *also &&
	    !memcmp(s, also, also_len))
		best = also_len;
	if (!secret_first[(unsigned char)*s])
		return best;
	for (size_t k = 0; k < secrets_nr; k++) {
		size_t n = secret_lens[k];

		if (n > best && n <= len && !memcmp(s, secrets[k], n))
			best = n;
	}
	return best;
}

/*
 * Whether byte c can be part of a URL's authority as it appears in text:
 * anything but white space, controls, what ends the authority (/ ? #) and
 * what quotes or delimits a URL in herald's output (" < > \).
 */
static int authority_byte(unsigned char c)
{
	return c > 0x20 && c != 0x7f && !strchr("/?#\"<>\\", c);
}

/*
 * When s[i..] starts with "://": sets [*from, *to) to the credentials in
 * the URL's user information (the password, or the user when there is no
 * password) and returns 1; returns 0 when there are none, or they are
 * REDACT_MARK already.
 */
static int credentials_at(const char *s, size_t len, size_t i, size_t *from,
			  size_t *to)
{
	size_t start = i + 3, end, at = 0, colon;

	if (len - i < 3 || memcmp(s + i, "://", 3))
		return 0;
	for (end = start; end < len && authority_byte((unsigned char)s[end]);
	     end++) {
		if (s[end] == '@')
			at = end;
	}
	if (at <= start)
		return 0;
	for (colon = start; colon < at && s[colon] != ':'; colon++)
		;
	if (colon + 1 == at)
		return 0;	/* "user:@host": an empty password */
	*from = colon < at ? colon + 1 : start;
	*to = at;
	return *to - *from != strlen(REDACT_MARK) ||
	       memcmp(s + *from, REDACT_MARK, *to - *from);
}

int redact(struct strbuf *out, const char *s, size_t len, const char *also)
{
	size_t also_len = also ? strlen(also) : 0;
	size_t i = 0, start = 0, n, from = 0, to = 0;
	int hit = 0, cred = 0;

	/*
	 * At a "://" with credentials, [from, to) is noted and the bytes
	 * before it are still looked at for secrets (the user name of
	 * "https://user:password@host" may be one).
	 */
	pthread_rwlock_rdlock(&lock);
	while (i < len) {
		if (cred && i >= to)
			cred = 0;
		if (cred && i >= from) {
			strbuf_add(out, s + start, i - start);
			strbuf_addstr(out, REDACT_MARK);
			i = to;
			start = to;
			cred = 0;
			hit = 1;
		} else if ((n = secret_at(s + i, len - i, also, also_len))) {
			strbuf_add(out, s + start, i - start);
			strbuf_addstr(out, REDACT_MARK);
			i += n;
			if (cred && i >= from && i < to) {
				i = to;	/* one mark for both */
				cred = 0;
			}
			start = i;
			hit = 1;
		} else if (!cred && s[i] == ':' &&
			   credentials_at(s, len, i, &from, &to)) {
			cred = 1;
			i++;
		} else {
			i++;
		}
	}
	pthread_rwlock_unlock(&lock);
	strbuf_add(out, s + start, len - start);
	return hit;
}

int redact_needed(const char *s, size_t len, const char *also)
{
	size_t also_len = also ? strlen(also) : 0, from, to;
	int hit = 0;

	pthread_rwlock_rdlock(&lock);
	for (size_t i = 0; i < len && !hit; i++)
		hit = secret_at(s + i, len - i, also, also_len) ||
		      (s[i] == ':' && credentials_at(s, len, i, &from, &to));
	pthread_rwlock_unlock(&lock);
	return hit;
}

int redact_inplace(char *buf, size_t size, const char *also)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len, n;
	int hit = 0;

	if (!size)
		goto out;
	len = strnlen(buf, size);
	if (!redact_needed(buf, len, also))
		goto out;
	hit = redact(&sb, buf, len, also);
	n = sb.len;
	if (n > size - 1) {
		n = size - 1;
		while (n && ((unsigned char)sb.buf[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, sb.buf, n);
	buf[n] = '\0';
out:
	strbuf_release(&sb);
	return hit;
}
