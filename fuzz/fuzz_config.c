/*
 * Fuzz target for config_load(): every variable of config_vars[] read from
 * an environment and files made of the input, which is text:
 *
 *   NAME=VALUE        a variable (the last one of a name counts); a line
 *    more             starting with a space or tab goes on with the value
 *                     after a newline
 *   ---PATH           the rest, up to the next line starting with "---",
 *   contents          is the file PATH (for the NAME_FILE variables); a
 *                     path with no such section cannot be read
 *
 * This reaches every number, duration, boolean and choice parser, the
 * string checks (URLs, listen address, database, labels, guild), the
 * secrets and their files, and the channel mapping, inline and as a file.
 *
 * config_load() must return 0 exactly when it added no problem; every
 * problem is one line of valid UTF-8; every number is its default or
 * within its variable's bounds; every string set is trimmed and not empty;
 * every mapping entry is trimmed, not empty, found again by
 * config_channel_for_env(); config_check_environ()'s warnings about the
 * names are one line of UTF-8 too; and no value given for a secret (NAME
 * or the contents of NAME_FILE) appears in any problem nor, once
 * config_register_secrets() ran, in what `herald config` shows
 * (config_var_show(), config_var_json()) more often than another value
 * of the same shape in its place does (which tells herald's own words
 * from a leak). A secret is only looked for when it is 6 bytes or more
 * and no other value or file holds it (where it may rightly show).
 * Aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/config.h"
#include "lib/redact.h"
#include "lib/text.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_config.c:%d: %s\n", __LINE__, #cond);	\
		abort();						\
	}								\
} while (0)

#define MAX_VARS 64
#define MAX_FILES 8

struct env {
	char *names[MAX_VARS];
	struct strbuf values[MAX_VARS];
	size_t nr;
	const char *paths[MAX_FILES];
	const char *files[MAX_FILES];
	size_t files_len[MAX_FILES];
	size_t files_nr;
};

static const char *env_get(void *ctx, const char *name)
{
	struct env *e = ctx;
	const char *v = NULL;

	for (size_t i = 0; i < e->nr; i++)
		if (!strcmp(e->names[i], name))
			v = e->values[i].buf;
	return v;
}

static int env_read_file(void *ctx, const char *path, struct strbuf *out,
			 struct errbuf *err)
{
	struct env *e = ctx;
	struct strbuf q = STRBUF_INIT;
	int ret = 0;

	text_add_quoted(&q, path, strlen(path), 100);
	for (size_t i = 0; i < e->files_nr; i++) {
		if (strcmp(e->paths[i], path))
			continue;
		if (strbuf_add(out, e->files[i], e->files_len[i]) < 0)
			ret = errbuf_set(err, HERALD_ELIMIT, "%s is larger "
					 "than %zu KiB", q.buf,
					 out->max / 1024);
		goto out;
	}
	ret = errbuf_set(err, HERALD_EIO, "cannot read %s: No such file or "
			 "directory", q.buf);
out:
	strbuf_release(&q);
	return ret;
}

/* Splits text (NUL-terminated, modified) into the environment and files. */
static void parse_input(struct env *e, char *text, const char *end)
{
	char *p = text;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line_end = nl ? nl : (char *)end;

		if (!strncmp(p, "---", 3))
			break;
		*line_end = '\0';
		if ((*p == ' ' || *p == '\t') && e->nr) {
			strbuf_addch(&e->values[e->nr - 1], '\n');
			strbuf_addstr(&e->values[e->nr - 1], p + 1);
		} else if (strchr(p, '=') && e->nr < MAX_VARS) {
			char *eq = strchr(p, '=');

			*eq = '\0';
			e->names[e->nr] = p;
			strbuf_init(&e->values[e->nr], 0);
			strbuf_addstr(&e->values[e->nr], eq + 1);
			e->nr++;
		}
		p = nl ? nl + 1 : (char *)end;
	}
	/* p is at "---PATH\n" or the end. */
	while (p < end && e->files_nr < MAX_FILES) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *body = nl ? nl + 1 : (char *)end, *q;

		for (q = body; q < end; q++)
			if ((q == body || q[-1] == '\n') && end - q >= 3 &&
			    !memcmp(q, "---", 3))
				break;
		if (nl)
			*nl = '\0';
		e->paths[e->files_nr] = p + 3;
		e->files[e->files_nr] = body;
		e->files_len[e->files_nr] = (size_t)(q - body);
		e->files_nr++;
		p = q;
	}
}

/* Whether needle occurs in hay[0..len). */
static int holds(const char *hay, size_t len, const char *needle, size_t n)
{
	return n && memmem(hay, len, needle, n) != NULL;
}

struct secret {
	const char *value;
	size_t len;
	const char *owner;	/* the variable or file it is the value of */
};

/* A secret is looked for when no other value or file holds it. */
static int checkable(const struct env *e, const struct secret *s)
{
	if (s->len < 6)
		return 0;
	for (size_t i = 0; i < e->nr; i++) {
		if (e->values[i].buf == s->owner)
			continue;
		if (holds(e->values[i].buf, e->values[i].len, s->value, s->len) ||
		    holds(e->names[i], strlen(e->names[i]), s->value, s->len))
			return 0;
	}
	for (size_t i = 0; i < e->files_nr; i++) {
		if (e->files[i] == s->owner)
			continue;
		if (holds(e->files[i], e->files_len[i], s->value, s->len) ||
		    holds(e->paths[i], strlen(e->paths[i]), s->value, s->len))
			return 0;
	}
	return 1;
}

/* The values given for secrets: NAME, or the file NAME_FILE names. */
static size_t collect_secrets(const struct env *e, struct secret *out,
			      size_t max)
{
	size_t nr = 0;

	for (size_t v = 0; v < config_vars_nr; v++) {
		const struct config_var *var = &config_vars[v];
		char file_var[128];
		const char *val, *path;

		if (var->type != CONFIG_SECRET)
			continue;
		snprintf(file_var, sizeof(file_var), "%s_FILE", var->name);
		val = env_get((void *)e, var->name);
		path = env_get((void *)e, file_var);
		if (val && nr < max)
			out[nr++] = (struct secret){ val, strlen(val), val };
		for (size_t i = 0; path && i < e->files_nr; i++) {
			size_t len = e->files_len[i];

			if (strcmp(e->paths[i], path) || nr == max)
				continue;
			if (len && e->files[i][len - 1] == '\n')
				len--;
			if (len && e->files[i][len - 1] == '\r')
				len--;
			out[nr++] = (struct secret){ e->files[i], len,
						     e->files[i] };
		}
	}
	return nr;
}

static int trimmed(const char *s)
{
	size_t n = strlen(s);

	return n && !strchr(" \t\r\n\v\f", s[0]) && !strchr(" \t\r\n\v\f", s[n - 1]);
}

static void check_values(const struct config *cfg, const struct config *def)
{
	for (size_t v = 0; v < config_vars_nr; v++) {
		const struct config_var *var = &config_vars[v];
		const void *at = (const char *)cfg + var->offset;
		const void *d = (const char *)def + var->offset;
		long n;
		double x;

		switch (var->type) {
		case CONFIG_LONG:
		case CONFIG_DURATION:
		case CONFIG_SECONDS:
			n = *(const long *)at;
			if (n == *(const long *)d)
				break;
			if (var->type == CONFIG_SECONDS) {
				CHECK(n % 1000 == 0);
				n /= 1000;
			}
			CHECK(n >= (long)var->min && n <= (long)var->max);
			break;
		case CONFIG_DOUBLE:
			x = *(const double *)at;
			if (x == *(const double *)d)
				break;
			CHECK(x >= var->min && x <= var->max);
			if (var->flags & CONFIG_ABOVE_MIN)
				CHECK(x > var->min);
			break;
		case CONFIG_BOOL:
			CHECK(*(const int *)at == 0 || *(const int *)at == 1);
			break;
		case CONFIG_STRING:
		case CONFIG_CHOICE:
			if (*(char *const *)at)
				CHECK(trimmed(*(char *const *)at));
			break;
		case CONFIG_PROVIDER:
			CHECK(provider_kind_name(cfg->provider));
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < cfg->mapping_nr; i++) {
		const struct channel_mapping *m = &cfg->mapping[i];

		CHECK(trimmed(m->env) && trimmed(m->channel));
		CHECK(config_channel_for_env(cfg, m->env) == m->channel);
	}
}

/*
 * Loads the configuration of e and appends to out everything it shows: its
 * problems, then each variable as `herald config` shows it and as --json
 * writes it. With check, also checks the invariants above.
 */
static void load_all(struct env *e, struct strbuf *out, int check)
{
	struct config cfg, def;
	struct config_source src = { env_get, env_read_file, e };
	struct errlist problems = ERRLIST_INIT;
	int ret;

	redact_clear_secrets();
	config_init(&def);
	config_init(&cfg);
	ret = config_load(&cfg, &src, &problems);
	if (check) {
		CHECK((ret == 0) == (problems.nr == 0));
		CHECK(ret == 0 || ret == HERALD_EINVAL);
		check_values(&cfg, &def);
	}
	for (size_t i = 0; i < problems.nr; i++) {
		const char *p = problems.items[i];

		if (check && (!*p || strchr(p, '\n') ||
			      !utf8_valid(p, strlen(p)))) {
			fprintf(stderr, "fuzz_config.c: a problem that is not "
				"one line of UTF-8: \"");
			for (const char *c = p; *c; c++)
				fprintf(stderr, (unsigned char)*c < 0x20 ||
					(unsigned char)*c >= 0x7f ? "\\x%02x" :
					"%c", (unsigned char)*c);
			fprintf(stderr, "\"\n");
			abort();
		}
		strbuf_addstr(out, p);
		strbuf_addch(out, '\n');
	}

	/*
	 * The names in the environment: warnings about look-alikes (the
	 * same for every value, so only on the checking pass: the edit
	 * distances are slow under the sanitizers).
	 */
	if (check) {
		struct errlist warnings = ERRLIST_INIT;
		char *envp[MAX_VARS + 1];

		size_t n = 0;

		/* herald's own names never warn: only the others are given. */
		for (size_t i = 0; i < e->nr; i++) {
			struct strbuf sb = STRBUF_INIT;
			size_t len = strlen(e->names[i]);

			if (config_var_find(e->names[i]) || (len > 5 &&
			    !strcmp(e->names[i] + len - 5, "_FILE") &&
			    (strbuf_add(&sb, e->names[i], len - 5),
			     config_var_find(sb.buf)))) {
				strbuf_release(&sb);
				continue;
			}
			strbuf_reset(&sb);
			strbuf_addf(&sb, "%s=%s", e->names[i], e->values[i].buf);
			envp[n++] = strbuf_detach(&sb, NULL);
		}
		envp[n] = NULL;
		config_check_environ(envp, &warnings);
		for (size_t i = 0; i < warnings.nr; i++) {
			const char *w = warnings.items[i];

			if (!*w || strchr(w, '\n') ||
			    !utf8_valid(w, strlen(w))) {
				fprintf(stderr, "fuzz_config.c: a warning that "
					"is not one line of UTF-8: %s\n", w);
				abort();
			}
			strbuf_addstr(out, w);
			strbuf_addch(out, '\n');
		}
		for (size_t i = 0; i < n; i++)
			free(envp[i]);
		errlist_release(&warnings);
	}

	config_register_secrets(&cfg);
	for (size_t v = 0; v < config_vars_nr; v++) {
		json_t *j = config_var_json(&config_vars[v], &cfg);
		char *dump = json_dumps(j, JSON_ENCODE_ANY);

		if (!j || !dump) {
			fprintf(stderr, "fuzz_config.c: config_var_json() of "
				"%s is no JSON value\n", config_vars[v].name);
			abort();
		}
		config_var_show(&config_vars[v], &cfg, out);
		strbuf_addch(out, '\n');
		strbuf_addstr(out, dump);
		strbuf_addch(out, '\n');
		free(dump);
		json_decref(j);
	}
	redact_clear_secrets();
	config_release(&cfg);
	config_release(&def);
	errlist_release(&problems);
}

static size_t count(const struct strbuf *sb, const char *needle, size_t n)
{
	const char *p = sb->buf, *end = sb->buf + sb->len;
	size_t nr = 0;

	while ((p = memmem(p, (size_t)(end - p), needle, n))) {
		nr++;
		p++;
	}
	return nr;
}

/*
 * Changes every letter and digit of s to the next one (z to a, 9 to 0),
 * or back: a value of the same shape (white space and punctuation where
 * they were), different at every such place. 0 when s has none.
 */
static int shift(char *s, size_t len, int back)
{
	int any = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i], lo, hi;

		if (c >= 'a' && c <= 'z') {
			lo = 'a';
			hi = 'z';
		} else if (c >= 'A' && c <= 'Z') {
			lo = 'A';
			hi = 'Z';
		} else if (c >= '0' && c <= '9') {
			lo = '0';
			hi = '9';
		} else {
			continue;
		}
		any = 1;
		if (!back)
			s[i] = c == hi ? lo : (char)(c + 1);
		else
			s[i] = c == lo ? hi : (char)(c - 1);
	}
	return any;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env e;
	struct strbuf shown = STRBUF_INIT;
	struct secret secrets[16];
	size_t nsecrets;
	char *text = malloc(size + 1);

	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&e, 0, sizeof(e));
	parse_input(&e, text, text + size);

	load_all(&e, &shown, 1);

	/*
	 * A secret shows when it appears more often than another value of
	 * the same shape in its place does: so that herald's own words (a
	 * secret may be "NOTIFICATIONS_PROVID") are not taken for it.
	 */
	nsecrets = collect_secrets(&e, secrets, 16);
	for (size_t i = 0; i < nsecrets; i++) {
		const struct secret *sec = &secrets[i];
		struct strbuf other = STRBUF_INIT;
		char *value = (char *)sec->value;
		size_t before, after;

		if (!checkable(&e, sec))
			continue;
		before = count(&shown, sec->value, sec->len);
		if (!before || !shift(value, sec->len, 0))
			continue;
		load_all(&e, &other, 0);
		shift(value, sec->len, 1);
		after = count(&other, sec->value, sec->len);
		strbuf_release(&other);
		if (before > after) {
			fprintf(stderr, "fuzz_config.c: the secret %.*s shows "
				"(%zu times, %zu as another value):\n%s\n",
				(int)sec->len, sec->value, before, after,
				shown.buf);
			abort();
		}
	}

	strbuf_release(&shown);
	for (size_t i = 0; i < e.nr; i++)
		strbuf_release(&e.values[i]);
	free(text);
	return 0;
}
