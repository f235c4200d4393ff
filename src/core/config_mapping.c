/*
 * config_mapping: NOTIFICATIONS_CHANNEL_MAPPING and its _FILE form: the
 * env=channel items, each bad one reported with its number, and each
 * channel checked as a destination of the configured provider, so that a
 * missing comma ("staging=#s production=#p") is caught when the
 * configuration loads, not when the first event goes there.
 */
#include "core/config.h"
#include "core/config_internal.h"
#include "core/route.h"
#include "lib/text.h"

#include <stdlib.h>
#include <string.h>

#define MAPPING_FILE_MAX (256u * 1024)

static int parse_mapping(struct config *cfg, const char *value,
			 const char *where, int in_file,
			 struct errlist *problems);

/*
 * The mapping, or NAME_FILE: a file in the same syntax (one item a line is
 * fine), read again on each load, so `herald serve` picks up an edit on
 * SIGHUP.
 */
void config__load_mapping(const struct config_var *var,
			 const struct config_source *src, struct config *cfg,
			 struct errlist *problems)
{
	char file_var[FILE_VAR_MAX];
	const char *value, *path;
	struct strbuf text = STRBUF_INIT, where = STRBUF_INIT;
	struct errbuf err;

	config__file_var_name(var->name, file_var);
	value = src->getenv(src->ctx, var->name);
	path = src->getenv(src->ctx, file_var);
	if (path && !*path)
		path = NULL;
	if (!path) {
		parse_mapping(cfg, value, var->name, 0, problems);
		goto out;
	}
	config__mapping_clear(cfg);
	if (value && *value) {
		errlist_add(problems, "%s and %s are both set: set only one",
			    var->name, file_var);
		goto out;
	}
	strbuf_init(&text, MAPPING_FILE_MAX);
	errbuf_clear(&err);
	if (src->read_file(src->ctx, path, &text, &err) < 0) {
		errlist_add(problems, "%s: %s", file_var,
			    err.msg[0] ? err.msg : "cannot read the file");
		goto out;
	}
	strbuf_addf(&where, "%s ", file_var);
	config__quote(&where, STRVIEW(path));
	parse_mapping(cfg, text.buf, where.buf, 1, problems);
out:
	strbuf_release(&text);
	strbuf_release(&where);
}

/*
 * Adds '<where>: item N "<text>" <what>', where is the variable, or the
 * file variable and the file's path.
 */
static void mapping_problem(struct errlist *problems, const char *where,
			    size_t item, struct strview text, const char *what)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s: item %zu ", where, item);
	config__quote(&sb, text);
	strbuf_addf(&sb, " %s", what);
	errlist_add(problems, "%s", sb.buf);
	strbuf_release(&sb);
}

/* White space, a control character or ";": where items were joined. */
static int joint(char c)
{
	return (unsigned char)c <= ' ' || c == 0x7f || c == ';';
}

/*
 * The items a missing comma joined, with commas: "staging=#s production=#p"
 * becomes "staging=#s,production=#p" (white space around "=" kept out).
 */
static void split_suggestion(struct strbuf *out, struct strview whole)
{
	struct strbuf sugg = STRBUF_INIT;
	size_t i = 0;
	int first = 1, prev_eq = 0;

	while (i < whole.len) {
		size_t start, len;

		while (i < whole.len && joint(whole.ptr[i]))
			i++;
		start = i;
		while (i < whole.len && !joint(whole.ptr[i]))
			i++;
		len = i - start;
		if (!len)
			break;
		if (!first && !prev_eq && whole.ptr[start] != '=')
			strbuf_addch(&sugg, memchr(whole.ptr + start, '=', len) ?
				     ',' : ' ');
		strbuf_add(&sugg, whole.ptr + start, len);
		prev_eq = whole.ptr[i - 1] == '=';
		first = 0;
	}
	/* Bytes that are not UTF-8 become U+FFFD: a problem is text. */
	text_add_clean(out, sugg.buf, sugg.len);
	strbuf_release(&sugg);
}

/*
 * 1 with what set when the channel of an item is not a destination of the
 * provider: another "=" in it (a comma forgotten), or bad syntax.
 */
static int channel_problem(const struct config *cfg, struct strview whole,
			   struct strview channel, struct strbuf *what)
{
	struct destination d;
	struct errbuf err;
	char *text;
	int bad;

	strbuf_reset(what);
	if (memchr(channel.ptr, '=', channel.len)) {
		strbuf_addstr(what, "holds a second \"=\": separate items with "
			      "commas, e.g. ");
		split_suggestion(what, whole);
		return 1;
	}
	text = xstrndup(channel.ptr, channel.len);
	bad = destination_parse(&d, text, cfg->provider, &err) < 0;
	if (bad)
		strbuf_addf(what, "has a channel that is not a destination: %s",
			    err.msg);
	else
		destination_release(&d);
	free(text);
	return bad;
}

/*
 * The mapping syntax; items are separated by commas and, in a file
 * (in_file), also by line ends, and there a line starting with "#" is a
 * comment.
 */
static int parse_mapping(struct config *cfg, const char *value,
			 const char *where, int in_file,
			 struct errlist *problems)
{
	struct strbuf what = STRBUF_INIT;
	size_t *items = NULL;	/* the item number of each mapping entry */
	size_t alloc = 0, item = 0;
	const char *p = value;
	int ret = 0, line_start = 1;

	config__mapping_clear(cfg);
	if (!value)
		goto out;
	for (;;) {
		const char *comma = p + strcspn(p, in_file ? ",\n" : ",");
		size_t len = (size_t)(comma - p);
		struct strview whole = strview_trim((struct strview){ p, len });
		struct strview env, channel;
		const char *eq;
		size_t dup = 0;

		if (in_file && line_start && whole.len && whole.ptr[0] == '#') {
			comma = p + strcspn(p, "\n");
			goto next;
		}
		item++;
		if (!whole.len)
			goto next;
		eq = memchr(whole.ptr, '=', whole.len);
		if (!eq) {
			mapping_problem(problems, where, item, whole,
					"has no \"=\": expected env=channel");
			ret = HERALD_EINVAL;
			goto next;
		}
		env = strview_trim((struct strview){
			whole.ptr, (size_t)(eq - whole.ptr) });
		channel = strview_trim((struct strview){
			eq + 1, whole.len - (size_t)(eq - whole.ptr) - 1 });
		if (!env.len) {
			mapping_problem(problems, where, item, whole,
					"has no environment before \"=\": "
					"expected env=channel");
			ret = HERALD_EINVAL;
			goto next;
		}
		if (!channel.len) {
			mapping_problem(problems, where, item, whole,
					"has no channel after \"=\": expected "
					"env=channel");
			ret = HERALD_EINVAL;
			goto next;
		}
		if (channel_problem(cfg, whole, channel, &what)) {
			mapping_problem(problems, where, item, whole, what.buf);
			ret = HERALD_EINVAL;
			goto next;
		}
		for (size_t i = 0; i < cfg->mapping_nr; i++) {
			if (strview_eq(env, cfg->mapping[i].env)) {
				dup = items[i];
				break;
			}
		}
		if (dup) {
			strbuf_reset(&what);
			strbuf_addstr(&what, "names environment ");
			config__quote(&what, env);
			strbuf_addf(&what, " again (first in item %zu): each "
				    "environment maps to one channel", dup);
			mapping_problem(problems, where, item, whole, what.buf);
			ret = HERALD_EINVAL;
			goto next;
		}
		if (cfg->mapping_nr == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			cfg->mapping = xrealloc(cfg->mapping,
						alloc * sizeof(*cfg->mapping));
			items = xrealloc(items, alloc * sizeof(*items));
		}
		cfg->mapping[cfg->mapping_nr].env = xstrndup(env.ptr, env.len);
		cfg->mapping[cfg->mapping_nr].channel =
			xstrndup(channel.ptr, channel.len);
		items[cfg->mapping_nr++] = item;
next:
		if (!*comma)
			break;
		line_start = *comma == '\n';
		p = comma + 1;
	}
out:
	free(items);
	strbuf_release(&what);
	return ret;
}

int config_parse_mapping(struct config *cfg, const char *value,
			 struct errlist *problems)
{
	return parse_mapping(cfg, value, "NOTIFICATIONS_CHANNEL_MAPPING", 0,
			     problems);
}

const char *config_channel_for_env(const struct config *cfg, const char *env)
{
	if (!env)
		return NULL;
	for (size_t i = 0; i < cfg->mapping_nr; i++)
		if (!strcmp(cfg->mapping[i].env, env))
			return cfg->mapping[i].channel;
	return NULL;
}