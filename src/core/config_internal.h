/*
 * config_internal: what the config module's files share (config.c, the
 * variables and loading; config_mapping.c, the channel mapping;
 * config_check.c, the checks across variables and the catalog). Nothing
 * outside them includes it.
 */
#ifndef HERALD_CONFIG_INTERNAL_H
#define HERALD_CONFIG_INTERNAL_H

#include "core/config.h"

#define FILE_VAR_MAX 64		/* the length of a NAME_FILE name, NUL too */

/* Appends v quoted for a message, cut after 120 bytes. */
void config__quote(struct strbuf *sb, struct strview v);

/* Adds the problem 'name "value" <fmt...>', the value redacted. */
void config__problem_value(struct errlist *list, const char *name,
			   struct strview value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The name of the NAME_FILE variable that goes with name. */
void config__file_var_name(const char *name, char out[FILE_VAR_MAX]);

/* Empties cfg->mapping. */
void config__mapping_clear(struct config *cfg);

/*
 * Loads the mapping variable var (NAME, or the file NAME_FILE names) into
 * cfg, each bad item a problem; its channels are checked as destinations
 * of cfg->provider, which is loaded first.
 */
void config__load_mapping(const struct config_var *var,
			  const struct config_source *src, struct config *cfg,
			  struct errlist *problems);

/*
 * After every variable has loaded: what only the variables together say
 * (config_check.c): the default channel as a destination of the provider,
 * the provider's API URL (plain http only to loopback), the token's shape.
 */
void config__check_loaded(const struct config *cfg, struct errlist *problems);

#endif
