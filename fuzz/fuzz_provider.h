/*
 * Shared by the fuzz targets of the platforms' answer classification
 * (fuzz_slack_response.c, fuzz_discord_response.c): the provider under
 * test, made once, and the check every text of a result must pass.
 */
#ifndef HERALD_FUZZ_PROVIDER_H
#define HERALD_FUZZ_PROVIDER_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/provider.h"

/* The provider of kind with token, created on the first call and kept. */
static struct provider *fuzz_provider(enum provider_kind kind,
				      const char *token)
{
	static struct provider *p;
	struct config cfg;
	struct errbuf err;

	if (p)
		return p;
	config_init(&cfg);
	cfg.provider = kind;
	cfg.token = xstrdup(token);
	if (provider_new(&p, &cfg, &err))
		abort();
	config_release(&cfg);
	return p;
}

/*
 * Aborts unless s is NUL-terminated within size bytes, valid UTF-8 and free
 * of control characters.
 */
static void fuzz_check_text(const char *s, size_t size)
{
	json_t *j;

	if (strnlen(s, size) >= size)
		abort();
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
	j = json_string(s);	/* NULL: not valid UTF-8 */
	if (!j)
		abort();
	json_decref(j);
}

#endif
