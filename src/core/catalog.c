/*
 * catalog: parses the service catalog YAML with libyaml's event parser (no
 * document tree, so large catalogs load fast) and indexes the services by
 * name in an open-addressing hash table (FNV-1a, linear probing, at most
 * half full). Anchors and aliases are refused and nesting is capped, so a
 * hostile file cannot blow up memory or time.
 */
#include "core/catalog.h"
#include "lib/text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "lib/strbuf.h"

#define MAX_DEPTH 64		/* nested mappings and sequences */
#define QUOTE_MAX 80		/* bytes of a name shown in a message */
#define MAX_WARNINGS 50		/* unknown keys warned about one each */

struct parse {
	yaml_parser_t parser;
	yaml_event_t ev;
	int have_ev;
	int depth;
	const char *filename;
	const char *text;
	size_t len;
	size_t unknown;		/* unknown keys seen */
	unsigned unknown_line;	/* the first one not warned about */
	size_t key_end;		/* where the current key ends in the text */
	unsigned key_line;	/* and its line */
	struct catalog *cat;
	struct errlist *warnings;
	struct errbuf *err;
};

/* The slot that holds name, or the empty slot where it would go. */
static size_t find_slot(const struct catalog *cat, const char *name)
{
	size_t mask = cat->slots_nr - 1;
	size_t i = (size_t)fnv1a(name, FNV1A_BASIS) & mask;

	while (cat->slots[i] &&
	       strcmp(cat->services[cat->slots[i] - 1].name, name))
		i = (i + 1) & mask;
	return i;
}

static void rehash(struct catalog *cat, size_t slots_nr)
{
	free(cat->slots);
	cat->slots = xcalloc(slots_nr, sizeof(*cat->slots));
	cat->slots_nr = slots_nr;
	for (size_t i = 0; i < cat->nr; i++)
		cat->slots[find_slot(cat, cat->services[i].name)] = i + 1;
}

const struct catalog_service *catalog_lookup(const struct catalog *cat,
					     const char *name)
{
	size_t i;

	if (!name || !cat->slots_nr)
		return NULL;
	i = find_slot(cat, name);
	return cat->slots[i] ? &cat->services[cat->slots[i] - 1] : NULL;
}

void catalog_release(struct catalog *cat)
{
	for (size_t i = 0; i < cat->nr; i++) {
		free(cat->services[i].name);
		free(cat->services[i].owner);
		free(cat->services[i].owner_im);
	}
	free(cat->services);
	free(cat->slots);
	memset(cat, 0, sizeof(*cat));
}

/* Appends s quoted for a message, cut after QUOTE_MAX bytes. */
static void quote(struct strbuf *sb, const char *s)
{
	text_add_quoted(sb, s, strlen(s), QUOTE_MAX);
}

static unsigned ev_line(const struct parse *p)
{
	return (unsigned)p->ev.start_mark.line + 1;
}

/* Sets "file:line: <fmt...>" as the error and returns HERALD_EINVAL. */
static int fail(struct parse *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, unsigned line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	errbuf_set(p->err, HERALD_EINVAL, "%s:%u: %s", p->filename, line,
		   sb.buf);
	strbuf_release(&sb);
	return HERALD_EINVAL;
}

/* 1 when a and b differ by at most one edit (or only in case). */
static int near_miss(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i = 0, j = 0;
	int edits = 0;

	if (!strcasecmp(a, b))
		return 1;
	if (la > lb + 1 || lb > la + 1)
		return 0;
	while (i < la && j < lb) {
		if (a[i] == b[j]) {
			i++;
			j++;
			continue;
		}
		if (++edits > 1)
			return 0;
		if (la > lb)
			i++;
		else if (lb > la)
			j++;
		else if (i + 1 < la && a[i] == b[j + 1] && a[i + 1] == b[j]) {
			i += 2;		/* two letters swapped */
			j += 2;
		} else {
			i++;
			j++;
		}
	}
	return edits + (int)(la - i) + (int)(lb - j) <= 1;
}

/*
 * Warns about an unknown key; advice lists the known ones, and one of
 * known (NULL-terminated) that the key nearly is comes first.
 */
static void warn_key(struct parse *p, unsigned line, const char *key,
		     const char *const *known, const char *advice)
{
	struct strbuf q = STRBUF_INIT;
	const char *near = NULL;

	if (!p->warnings)
		return;
	if (++p->unknown > MAX_WARNINGS) {
		if (!p->unknown_line)
			p->unknown_line = line;
		return;
	}
	for (size_t i = 0; known[i] && !near; i++)
		if (near_miss(key, known[i]))
			near = known[i];
	quote(&q, key);
	if (near)
		errlist_add(p->warnings, "%s:%u: unknown key %s skipped: did "
			    "you mean %s? (%s)", p->filename, line, q.buf, near,
			    advice);
	else
		errlist_add(p->warnings, "%s:%u: unknown key %s skipped: %s",
			    p->filename, line, q.buf, advice);
	strbuf_release(&q);
}

static const char *node_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return "a scalar";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "not a value";
	}
}

/* The line of the byte at offset in the text. */
static unsigned offset_line(const struct parse *p, size_t offset)
{
	unsigned line = 1;

	for (size_t i = 0; i < offset && i < p->len; i++)
		line += p->text[i] == '\n';
	return line;
}

/*
 * Moves to the next event. Fails on a syntax error, an anchor or alias, or
 * nesting deeper than MAX_DEPTH.
 */
static int next(struct parse *p)
{
	const yaml_char_t *anchor = NULL;

	if (p->have_ev)
		yaml_event_delete(&p->ev);
	p->have_ev = 0;
	if (!yaml_parser_parse(&p->parser, &p->ev)) {
		const yaml_parser_t *y = &p->parser;
		struct strbuf ctx = STRBUF_INIT;

		if (y->error == YAML_READER_ERROR)
			return fail(p, offset_line(p, y->problem_offset),
				    "invalid YAML: %s (byte %zu): save the "
				    "file as UTF-8 text",
				    y->problem ? y->problem : "bad input",
				    y->problem_offset);
		if (y->error == YAML_MEMORY_ERROR)
			abort();

		if (y->context)
			strbuf_addf(&ctx, " (%s at line %zu, column %zu)",
				    y->context, y->context_mark.line + 1,
				    y->context_mark.column + 1);
		errbuf_set(p->err, HERALD_EINVAL, "%s:%zu:%zu: invalid YAML: "
			   "%s%s: fix the syntax there", p->filename,
			   y->problem_mark.line + 1,
			   y->problem_mark.column + 1,
			   y->problem ? y->problem : "parse error", ctx.buf);
		strbuf_release(&ctx);
		return HERALD_EINVAL;
	}
	p->have_ev = 1;
	switch (p->ev.type) {
	case YAML_ALIAS_EVENT:
		return fail(p, ev_line(p), "aliases (*name) are not supported: "
			    "write the value out in full");
	case YAML_SCALAR_EVENT:
		anchor = p->ev.data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = p->ev.data.sequence_start.anchor;
		p->depth++;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = p->ev.data.mapping_start.anchor;
		p->depth++;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		p->depth--;
		break;
	default:
		break;
	}
	if (anchor)
		return fail(p, ev_line(p), "anchors (&name) are not supported: "
			    "write the value out in full");
	if (p->depth > MAX_DEPTH)
		return fail(p, ev_line(p), "nested more than %d levels deep: "
			    "flatten the structure", MAX_DEPTH);
	return 0;
}

/* Skips the value whose first event is the current one. */
static int skip_value(struct parse *p)
{
	int depth = p->depth;
	int ret;

	if (p->ev.type != YAML_SEQUENCE_START_EVENT &&
	    p->ev.type != YAML_MAPPING_START_EVENT)
		return 0;
	while (p->depth >= depth)
		if ((ret = next(p)) < 0)
			return ret;
	return 0;
}

/* 1 for an untagged plain null: nothing, ~ or null. */
static int is_null(const yaml_event_t *ev)
{
	const char *v;

	if (ev->type != YAML_SCALAR_EVENT || !ev->data.scalar.plain_implicit ||
	    ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)ev->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* The current scalar as a new string; fails on an embedded NUL. */
static int scalar_dup(struct parse *p, const char *what, char **out)
{
	const char *v = (const char *)p->ev.data.scalar.value;
	size_t len = p->ev.data.scalar.length;

	if (memchr(v, '\0', len))
		return fail(p, ev_line(p), "%s contains a NUL character: "
			    "remove it", what);
	free(*out);
	*out = xstrndup(v, len);
	return 0;
}

/*
 * Warns when the empty value of key, which ended at key_end in the text,
 * is empty only because YAML took an unquoted "#…" after it for a comment.
 */
static void warn_comment(struct parse *p, const char *key, size_t key_end,
			 unsigned line)
{
	const char *s = p->text + key_end, *end = p->text + p->len, *word;
	struct strbuf q = STRBUF_INIT;

	if (!p->warnings || key_end >= p->len)
		return;
	while (s < end && (*s == ' ' || *s == '\t' || *s == ':'))
		s++;
	if (s >= end || *s != '#')
		return;
	word = s;
	while (s < end && *s != '\n' && *s != '\r')
		s++;
	while (s > word && (s[-1] == ' ' || s[-1] == '\t'))
		s--;
	text_add_quoted(&q, word, (size_t)(s - word), QUOTE_MAX);
	errlist_add(p->warnings, "%s:%u: %s is empty: YAML reads the unquoted "
		    "%.*s as a comment; quote it: %s: %s", p->filename, line,
		    key, (int)(s - word), word, key, q.buf);
	strbuf_release(&q);
}

/* Reads the optional string value of key into *out (NULL for null/""). */
static int string_field(struct parse *p, const char *key, unsigned entry_line,
			char **out)
{
	int ret;

	if (p->ev.type != YAML_SCALAR_EVENT)
		return fail(p, ev_line(p), "%s of the service at line %u is "
			    "%s: expected a string", key, entry_line,
			    node_kind(&p->ev));
	if (is_null(&p->ev) || !p->ev.data.scalar.length) {
		if (!p->ev.data.scalar.length && p->ev.data.scalar.style ==
		    YAML_PLAIN_SCALAR_STYLE)
			warn_comment(p, key, p->key_end, p->key_line);
		free(*out);
		*out = NULL;
		return 0;
	}
	if ((ret = scalar_dup(p, key, out)) < 0)
		return ret;
	return 0;
}

static void add_service(struct catalog *cat, struct catalog_service *svc,
			size_t *alloc)
{
	if (cat->nr == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 16;
		cat->services = xrealloc(cat->services,
					 *alloc * sizeof(*cat->services));
	}
	cat->services[cat->nr++] = *svc;
	if ((cat->nr) * 2 > cat->slots_nr)
		rehash(cat, cat->slots_nr ? cat->slots_nr * 2 : 16);
	else
		cat->slots[find_slot(cat, svc->name)] = cat->nr;
}

/* Parses one service; the current event is its MAPPING_START. */
static int parse_service(struct parse *p, size_t *alloc)
{
	static const char *const keys[] = {
		"name", "owner", "ownerIm", NULL
	};
	struct catalog_service svc = { NULL, NULL, NULL, ev_line(p) };
	char **fields[] = { &svc.name, &svc.owner, &svc.owner_im };
	unsigned seen[3] = { 0, 0, 0 };
	char *key = NULL;
	const struct catalog_service *first;
	struct strbuf q = STRBUF_INIT;
	int ret;

	for (;;) {
		unsigned key_line;
		size_t k;

		if ((ret = next(p)) < 0)
			goto out;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			ret = fail(p, ev_line(p), "a key of the service at "
				   "line %u is %s: expected name, owner or "
				   "ownerIm", svc.line, node_kind(&p->ev));
			goto out;
		}
		key_line = ev_line(p);
		p->key_end = p->ev.end_mark.index;
		p->key_line = key_line;
		if ((ret = scalar_dup(p, "a key", &key)) < 0)
			goto out;
		if ((ret = next(p)) < 0)
			goto out;
		for (k = 0; k < 3; k++)
			if (!strcmp(key, keys[k]))
				break;
		if (k == 3) {
			warn_key(p, key_line, key, keys, "a service takes "
				 "name, owner and ownerIm");
			if ((ret = skip_value(p)) < 0)
				goto out;
			continue;
		}
		if (seen[k]) {
			ret = fail(p, key_line, "%s is given twice in the "
				   "service at line %u (first at line %u): "
				   "keep one", key, svc.line, seen[k]);
			goto out;
		}
		seen[k] = key_line;
		if ((ret = string_field(p, key, svc.line, fields[k])) < 0)
			goto out;
	}

	if (!svc.name) {
		ret = fail(p, svc.line, "the service has no name: add "
			   "\"name: <app>\" with the app its events carry");
		goto out;
	}
	first = catalog_lookup(p->cat, svc.name);
	if (first) {
		quote(&q, svc.name);
		ret = fail(p, svc.line, "service %s is listed twice (first at "
			   "line %u): remove one or rename it", q.buf,
			   first->line);
		goto out;
	}
	add_service(p->cat, &svc, alloc);
	memset(&svc, 0, sizeof(svc));
	ret = 0;
out:
	free(svc.name);
	free(svc.owner);
	free(svc.owner_im);
	free(key);
	strbuf_release(&q);
	return ret;
}

/* Parses the services list; the current event is its first one. */
static int parse_services(struct parse *p)
{
	size_t alloc = 0;
	int ret;

	if (is_null(&p->ev))
		return 0;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(p, ev_line(p), "services is %s: expected a list "
			    "of services (\"- name: <app>\")",
			    node_kind(&p->ev));
	for (;;) {
		if ((ret = next(p)) < 0)
			return ret;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (p->ev.type != YAML_MAPPING_START_EVENT)
			return fail(p, ev_line(p), "a service is %s: expected "
				    "a mapping with name, owner and ownerIm",
				    node_kind(&p->ev));
		if ((ret = parse_service(p, &alloc)) < 0)
			return ret;
	}
}

/* Parses the top-level mapping; the current event is its MAPPING_START. */
static int parse_top(struct parse *p)
{
	static const char *const top_keys[] = { "services", NULL };
	unsigned services_line = 0;
	char *key = NULL;
	int ret;

	for (;;) {
		unsigned key_line;

		if ((ret = next(p)) < 0)
			goto out;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			ret = fail(p, ev_line(p), "a top-level key is %s: "
				   "expected services", node_kind(&p->ev));
			goto out;
		}
		key_line = ev_line(p);
		if ((ret = scalar_dup(p, "a key", &key)) < 0)
			goto out;
		if ((ret = next(p)) < 0)
			goto out;
		if (strcmp(key, "services")) {
			warn_key(p, key_line, key, top_keys,
				 "herald reads only services");
			if ((ret = skip_value(p)) < 0)
				goto out;
			continue;
		}
		if (services_line) {
			ret = fail(p, key_line, "services is given twice "
				   "(first at line %u): put every service in "
				   "one list", services_line);
			goto out;
		}
		services_line = key_line;
		if ((ret = parse_services(p)) < 0)
			goto out;
	}
	ret = 0;
out:
	free(key);
	return ret;
}

static int parse_stream(struct parse *p)
{
	int ret;

	if ((ret = next(p)) < 0)	/* STREAM_START */
		return ret;
	if ((ret = next(p)) < 0)
		return ret;
	if (p->ev.type == YAML_STREAM_END_EVENT)
		return 0;		/* no document: an empty catalog */
	if ((ret = next(p)) < 0)	/* the document's root node */
		return ret;
	if (p->ev.type == YAML_MAPPING_START_EVENT)
		ret = parse_top(p);
	else if (!is_null(&p->ev))
		ret = fail(p, ev_line(p), "the catalog is %s: expected a "
			   "mapping with a services list (\"services:\")",
			   node_kind(&p->ev));
	if (ret < 0)
		return ret;
	if ((ret = next(p)) < 0)	/* DOCUMENT_END */
		return ret;
	if ((ret = next(p)) < 0)
		return ret;
	if (p->ev.type != YAML_STREAM_END_EVENT)
		return fail(p, ev_line(p), "a second YAML document starts "
			    "here: put every service in one document");
	return 0;
}

int catalog_parse(struct catalog *cat, const char *text, size_t len,
		  const char *filename, struct errlist *warnings,
		  struct errbuf *err)
{
	struct catalog fresh = CATALOG_INIT;
	struct parse p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.filename = filename ? filename : "catalog";
	p.text = text;
	p.len = len;
	p.cat = &fresh;
	p.warnings = warnings;
	p.err = err;
	if (!yaml_parser_initialize(&p.parser))
		abort();
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)text,
				     len);

	ret = parse_stream(&p);
	if (p.unknown > MAX_WARNINGS)
		errlist_add(warnings, "%s:%u: %zu more unknown keys skipped "
			    "from here on", p.filename, p.unknown_line,
			    p.unknown - MAX_WARNINGS);
	if (p.have_ev)
		yaml_event_delete(&p.ev);
	yaml_parser_delete(&p.parser);

	catalog_release(cat);
	if (ret < 0)
		catalog_release(&fresh);
	else
		*cat = fresh;
	return ret;
}
