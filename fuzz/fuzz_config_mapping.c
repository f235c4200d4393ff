/*
 * Fuzz target: NOTIFICATIONS_CHANNEL_MAPPING parsing. The input, made a
 * NUL-terminated string, goes through config_parse_mapping(); every problem
 * must be one line and every parsed entry must be found again by
 * config_channel_for_env().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = xstrndup((const char *)data, size);
	struct errlist problems = ERRLIST_INIT;
	struct config cfg;

	config_init(&cfg);
	config_parse_mapping(&cfg, value, &problems);
	for (size_t i = 0; i < problems.nr; i++)
		if (strchr(problems.items[i], '\n'))
			abort();
	for (size_t i = 0; i < cfg.mapping_nr; i++) {
		const struct channel_mapping *m = &cfg.mapping[i];
		const char *channel = config_channel_for_env(&cfg, m->env);

		if (!*m->env || !*m->channel || channel != m->channel)
			abort();
	}
	config_release(&cfg);
	errlist_release(&problems);
	free(value);
	return 0;
}
