/*
 * Unit tests for catalog: the YAML format, every error with its line,
 * unknown keys (and the known key one nearly is), a "#…" value YAML took
 * for a comment, aliases and nesting, and lookups over 50,000 services.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/catalog.h"
#include "lib/strbuf.h"

/* Parses text; returns catalog_parse() and leaves the message in err. */
static int parse(struct catalog *cat, const char *text,
		 struct errlist *warnings, struct errbuf *err)
{
	errbuf_clear(err);
	return catalog_parse(cat, text, strlen(text), "catalog.yaml",
			     warnings, err);
}

/* Asserts that text fails with exactly the message want. */
static void assert_error(const char *text, const char *want)
{
	struct catalog cat = CATALOG_INIT;
	struct errbuf err;

	assert_int_equal(parse(&cat, text, NULL, &err), HERALD_EINVAL);
	assert_string_equal(err.msg, want);
	assert_int_equal(cat.nr, 0);
	assert_null(cat.services);
	assert_null(catalog_lookup(&cat, "api"));
	catalog_release(&cat);
}

/* Asserts that text fails with a message starting with prefix. */
static void assert_error_prefix(const char *text, const char *prefix)
{
	struct catalog cat = CATALOG_INIT;
	struct errbuf err;

	assert_int_equal(parse(&cat, text, NULL, &err), HERALD_EINVAL);
	if (strncmp(err.msg, prefix, strlen(prefix)))
		fail_msg("\"%s\" does not start with \"%s\"", err.msg, prefix);
	assert_null(strchr(err.msg, '\n'));
	assert_int_equal(cat.nr, 0);
	catalog_release(&cat);
}

static void test_valid(void **state)
{
	static const char text[] =
		"# The service catalog\n"
		"services:\n"
		"  - name: api\n"
		"    owner: backend-team\n"
		"    ownerIm: \"#backend-deploys\"\n"
		"  - name: 'web'\n"
		"    ownerIm: \"@jane\"\n"
		"  - ownerIm: '@ops@example.com'\n"
		"    name: billing\n"
		"  - name: 123\n"
		"  - {name: worker, owner: \"\", ownerIm: ~}\n";
	struct catalog cat = CATALOG_INIT;
	struct errlist warnings = ERRLIST_INIT;
	struct errbuf err;
	const struct catalog_service *s;

	assert_int_equal(parse(&cat, text, &warnings, &err), 0);
	assert_int_equal(warnings.nr, 0);
	assert_int_equal(cat.nr, 5);
	assert_string_equal(cat.services[0].name, "api");
	assert_string_equal(cat.services[4].name, "worker");

	s = catalog_lookup(&cat, "api");
	assert_non_null(s);
	assert_string_equal(s->owner, "backend-team");
	assert_string_equal(s->owner_im, "#backend-deploys");
	assert_int_equal(s->line, 3);

	s = catalog_lookup(&cat, "web");
	assert_non_null(s);
	assert_null(s->owner);
	assert_string_equal(s->owner_im, "@jane");
	assert_int_equal(s->line, 6);

	s = catalog_lookup(&cat, "billing");
	assert_non_null(s);
	assert_string_equal(s->owner_im, "@ops@example.com");

	s = catalog_lookup(&cat, "123");
	assert_non_null(s);
	assert_null(s->owner);
	assert_null(s->owner_im);

	s = catalog_lookup(&cat, "worker");
	assert_non_null(s);
	assert_null(s->owner);
	assert_null(s->owner_im);
	assert_int_equal(s->line, 11);

	assert_null(catalog_lookup(&cat, "API"));
	assert_null(catalog_lookup(&cat, "ap"));
	assert_null(catalog_lookup(&cat, ""));
	assert_null(catalog_lookup(&cat, NULL));
	catalog_release(&cat);
	assert_int_equal(cat.nr, 0);
	errlist_release(&warnings);
}

static void test_empty(void **state)
{
	static const char *const texts[] = {
		"", "\n", "# nothing yet\n", "---\n", "---\n...\n", "~\n",
		"services: []\n", "services:\n", "services: ~\n", "{}\n",
	};
	struct errbuf err;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct catalog cat = CATALOG_INIT;

		if (parse(&cat, texts[i], NULL, &err) != 0)
			fail_msg("\"%s\": %s", texts[i], err.msg);
		assert_int_equal(cat.nr, 0);
		assert_null(catalog_lookup(&cat, "api"));
		catalog_release(&cat);
	}
}

static void test_replaces(void **state)
{
	struct catalog cat = CATALOG_INIT;
	struct errbuf err;

	assert_int_equal(parse(&cat, "services: [{name: a}, {name: b}]", NULL,
			       &err), 0);
	assert_int_equal(cat.nr, 2);
	assert_int_equal(parse(&cat, "services: [{name: c}]", NULL, &err), 0);
	assert_int_equal(cat.nr, 1);
	assert_null(catalog_lookup(&cat, "a"));
	assert_non_null(catalog_lookup(&cat, "c"));
	/* A failed parse leaves the catalog empty. */
	assert_int_equal(parse(&cat, "services: [{owner: x}]", NULL, &err),
			 HERALD_EINVAL);
	assert_int_equal(cat.nr, 0);
	assert_null(catalog_lookup(&cat, "c"));
	catalog_release(&cat);
}

static void test_duplicate(void **state)
{
	assert_error("services:\n"
		     "  - name: api\n"
		     "    owner: a\n"
		     "  - name: web\n"
		     "  - name: \"api\"\n",
		     "catalog.yaml:5: service \"api\" is listed twice (first "
		     "at line 2): remove one or rename it");
	assert_error("services:\n"
		     "- name: x\n"
		     "- name: y\n"
		     "- owner: z\n"
		     "  name: x\n",
		     "catalog.yaml:4: service \"x\" is listed twice (first "
		     "at line 2): remove one or rename it");
	assert_error("services:\n"
		     "  - name: api\n"
		     "    owner: a\n"
		     "    name: web\n",
		     "catalog.yaml:4: name is given twice in the service at "
		     "line 2 (first at line 2): keep one");
	assert_error("services: []\n"
		     "other: 1\n"
		     "services: []\n",
		     "catalog.yaml:3: services is given twice (first at line "
		     "1): put every service in one list");
}

static void test_missing_name(void **state)
{
	assert_error("services:\n"
		     "  - name: api\n"
		     "  - owner: team\n"
		     "    ownerIm: \"#x\"\n",
		     "catalog.yaml:3: the service has no name: add \"name: "
		     "<app>\" with the app its events carry");
	assert_error("services:\n"
		     "  - name:\n",
		     "catalog.yaml:2: the service has no name: add \"name: "
		     "<app>\" with the app its events carry");
	assert_error("services:\n"
		     "  - name: ''\n",
		     "catalog.yaml:2: the service has no name: add \"name: "
		     "<app>\" with the app its events carry");
	assert_error("services:\n"
		     "  - {}\n",
		     "catalog.yaml:2: the service has no name: add \"name: "
		     "<app>\" with the app its events carry");
}

static void test_wrong_types(void **state)
{
	assert_error("services:\n"
		     "  - name:\n"
		     "      first: api\n",
		     "catalog.yaml:3: name of the service at line 2 is a "
		     "mapping: expected a string");
	assert_error("services:\n"
		     "  - name: api\n"
		     "    ownerIm: [\"#a\", \"#b\"]\n",
		     "catalog.yaml:3: ownerIm of the service at line 2 is a "
		     "list: expected a string");
	assert_error("services:\n"
		     "  - name: [api]\n",
		     "catalog.yaml:2: name of the service at line 2 is a "
		     "list: expected a string");
	assert_error("services:\n"
		     "  name: api\n",
		     "catalog.yaml:2: services is a mapping: expected a list "
		     "of services (\"- name: <app>\")");
	assert_error("services: api\n",
		     "catalog.yaml:1: services is a scalar: expected a list "
		     "of services (\"- name: <app>\")");
	assert_error("services:\n"
		     "  - api\n",
		     "catalog.yaml:2: a service is a scalar: expected a "
		     "mapping with name, owner and ownerIm");
	assert_error("services:\n"
		     "  - [api]\n",
		     "catalog.yaml:2: a service is a list: expected a mapping "
		     "with name, owner and ownerIm");
	assert_error("- name: api\n",
		     "catalog.yaml:1: the catalog is a list: expected a "
		     "mapping with a services list (\"services:\")");
	assert_error("hello\n",
		     "catalog.yaml:1: the catalog is a scalar: expected a "
		     "mapping with a services list (\"services:\")");
	assert_error("services:\n"
		     "  - ? [a]\n"
		     "    : b\n",
		     "catalog.yaml:2: a key of the service at line 2 is a "
		     "list: expected name, owner or ownerIm");
	assert_error("? {a: b}\n"
		     ": c\n",
		     "catalog.yaml:1: a top-level key is a mapping: expected "
		     "services");
	assert_error("services:\n"
		     "  - name: \"a\\0b\"\n",
		     "catalog.yaml:2: name contains a NUL character: remove "
		     "it");
}

static void test_bad_yaml(void **state)
{
	assert_error("services:\n"
		     "  - name: api\n"
		     "    team: [unclosed\n",
		     "catalog.yaml:4:1: invalid YAML: did not find expected "
		     "',' or ']' (while parsing a flow sequence at line 3, "
		     "column 11): fix the syntax there");
	assert_error_prefix("services:\n"
			    "  - name: api\n"
			    "   owner: x\n",
			    "catalog.yaml:3:");
	assert_error_prefix("services:\n"
			    "\t- name: api\n",
			    "catalog.yaml:2:");
	assert_error_prefix("services:\n"
			    "  - name: \"api\n",
			    "catalog.yaml:3:");
	assert_error_prefix("services: []\n"
			    "---\n"
			    "services: []\n",
			    "catalog.yaml:2: a second YAML document starts "
			    "here");
	/* Not UTF-8. */
	assert_error("services:\n"
		     "  - name: caf\xe9\n",
		     "catalog.yaml:2: invalid YAML: incomplete UTF-8 octet "
		     "sequence (byte 23): save the file as UTF-8 text");
}

static void test_unknown_keys(void **state)
{
	static const char text[] =
		"version: 2\n"
		"services:\n"
		"  - name: api\n"
		"    team: {lead: jane, members: [a, b, {c: [d]}]}\n"
		"    ownerIm: \"#api\"\n"
		"    ownerIM: \"#typo\"\n"
		"  - name: web\n"
		"metadata:\n"
		"  labels:\n"
		"    - x\n";
	struct catalog cat = CATALOG_INIT;
	struct errlist warnings = ERRLIST_INIT;
	struct errbuf err;

	assert_int_equal(parse(&cat, text, &warnings, &err), 0);
	assert_int_equal(cat.nr, 2);
	assert_string_equal(catalog_lookup(&cat, "api")->owner_im, "#api");
	assert_non_null(catalog_lookup(&cat, "web"));
	assert_int_equal(warnings.nr, 4);
	assert_string_equal(warnings.items[0],
			    "catalog.yaml:1: unknown key \"version\" skipped: "
			    "herald reads only services");
	assert_string_equal(warnings.items[1],
			    "catalog.yaml:4: unknown key \"team\" skipped: a "
			    "service takes name, owner and ownerIm");
	assert_string_equal(warnings.items[2],
			    "catalog.yaml:6: unknown key \"ownerIM\" skipped: "
			    "did you mean ownerIm? (a service takes name, "
			    "owner and ownerIm)");
	assert_string_equal(warnings.items[3],
			    "catalog.yaml:8: unknown key \"metadata\" skipped: "
			    "herald reads only services");
	catalog_release(&cat);
	errlist_release(&warnings);

	/* NULL warnings are fine. */
	assert_int_equal(parse(&cat, text, NULL, &err), 0);
	assert_int_equal(cat.nr, 2);
	catalog_release(&cat);
}

/* An unknown key one edit from a known one: the warning names it first. */
static void test_near_keys(void **state)
{
	static const char text[] =
		"service:\n"
		"  - name: api\n"
		"services:\n"
		"  - name: web\n"
		"    ownr: jane\n"
		"    Name: web2\n"
		"    ownreIm: \"#x\"\n";
	struct catalog cat = CATALOG_INIT;
	struct errlist warnings = ERRLIST_INIT;
	struct errbuf err;

	assert_int_equal(parse(&cat, text, &warnings, &err), 0);
	assert_int_equal(cat.nr, 1);
	assert_int_equal(warnings.nr, 4);
	assert_string_equal(warnings.items[0],
			    "catalog.yaml:1: unknown key \"service\" skipped: "
			    "did you mean services? (herald reads only "
			    "services)");
	assert_string_equal(warnings.items[1],
			    "catalog.yaml:5: unknown key \"ownr\" skipped: did "
			    "you mean owner? (a service takes name, owner and "
			    "ownerIm)");
	assert_string_equal(warnings.items[2],
			    "catalog.yaml:6: unknown key \"Name\" skipped: did "
			    "you mean name? (a service takes name, owner and "
			    "ownerIm)");
	/* Two letters swapped count as one edit. */
	assert_string_equal(warnings.items[3],
			    "catalog.yaml:7: unknown key \"ownreIm\" skipped: "
			    "did you mean ownerIm? (a service takes name, "
			    "owner and ownerIm)");
	errlist_release(&warnings);
	catalog_release(&cat);
}

/* "ownerIm: #chan" is a comment to YAML: the empty value is warned about. */
static void test_comment_value(void **state)
{
	static const char text[] =
		"services:\n"
		"  - name: api\n"
		"    ownerIm: #backend-deploys   \n"
		"    owner:   # the team\n"
		"  - name: web\n"
		"    ownerIm: \"#web\" # a real comment\n"
		"  - name: db\n"
		"    ownerIm:\n"
		"    owner: \"\"\n";
	struct catalog cat = CATALOG_INIT;
	struct errlist warnings = ERRLIST_INIT;
	struct errbuf err;

	assert_int_equal(parse(&cat, text, &warnings, &err), 0);
	assert_int_equal(cat.nr, 3);
	assert_null(catalog_lookup(&cat, "api")->owner_im);
	assert_string_equal(catalog_lookup(&cat, "web")->owner_im, "#web");
	assert_int_equal(warnings.nr, 2);
	assert_string_equal(warnings.items[0],
			    "catalog.yaml:3: ownerIm is empty: YAML reads the "
			    "unquoted #backend-deploys as a comment; quote it: "
			    "ownerIm: \"#backend-deploys\"");
	assert_string_equal(warnings.items[1],
			    "catalog.yaml:4: owner is empty: YAML reads the "
			    "unquoted # the team as a comment; quote it: "
			    "owner: \"# the team\"");
	errlist_release(&warnings);
	catalog_release(&cat);
}

static void test_many_unknown_keys(void **state)
{
	struct strbuf text = STRBUF_INIT;
	struct catalog cat = CATALOG_INIT;
	struct errlist warnings = ERRLIST_INIT;
	struct errbuf err;

	strbuf_addstr(&text, "services:\n");
	for (int i = 0; i < 100; i++)
		strbuf_addf(&text, "  - name: s%d\n    team: t\n", i);
	assert_int_equal(catalog_parse(&cat, text.buf, text.len, "c.yaml",
				       &warnings, &err), 0);
	assert_int_equal(cat.nr, 100);
	assert_int_equal(warnings.nr, 51);
	assert_string_equal(warnings.items[49], "c.yaml:101: unknown key "
			    "\"team\" skipped: a service takes name, owner and "
			    "ownerIm");
	assert_string_equal(warnings.items[50], "c.yaml:103: 50 more unknown "
			    "keys skipped from here on");
	catalog_release(&cat);
	errlist_release(&warnings);
	strbuf_release(&text);
}

static void test_aliases(void **state)
{
	assert_error("services:\n"
		     "  - name: api\n"
		     "    owner: &team backend\n"
		     "  - name: web\n"
		     "    owner: *team\n",
		     "catalog.yaml:3: anchors (&name) are not supported: "
		     "write the value out in full");
	assert_error("services:\n"
		     "  - name: api\n"
		     "    owner: *team\n",
		     "catalog.yaml:3: aliases (*name) are not supported: write "
		     "the value out in full");
	/* Also inside a value that would otherwise be skipped. */
	assert_error("x: &a [1, 2]\n"
		     "services: []\n",
		     "catalog.yaml:1: anchors (&name) are not supported: "
		     "write the value out in full");
	assert_error_prefix("a: &a [\"lol\",\"lol\"]\n"
			    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
			    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
			    "catalog.yaml:1: anchors");
}

static void test_depth(void **state)
{
	struct strbuf text = STRBUF_INIT;
	struct catalog cat = CATALOG_INIT;
	struct errbuf err;

	strbuf_addstr(&text, "services: []\nextra: ");
	for (int i = 0; i < 10000; i++)
		strbuf_addch(&text, '[');
	assert_int_equal(catalog_parse(&cat, text.buf, text.len, "deep.yaml",
				       NULL, &err), HERALD_EINVAL);
	assert_string_equal(err.msg, "deep.yaml:2: nested more than 64 levels "
			    "deep: flatten the structure");
	catalog_release(&cat);

	/* 60 levels inside an unknown key are fine. */
	strbuf_reset(&text);
	strbuf_addstr(&text, "services: [{name: a}]\nextra: ");
	for (int i = 0; i < 60; i++)
		strbuf_addch(&text, '[');
	for (int i = 0; i < 60; i++)
		strbuf_addch(&text, ']');
	strbuf_addch(&text, '\n');
	assert_int_equal(catalog_parse(&cat, text.buf, text.len, "deep.yaml",
				       NULL, &err), 0);
	assert_int_equal(cat.nr, 1);
	catalog_release(&cat);
	strbuf_release(&text);
}

static void test_50000_services(void **state)
{
	enum { N = 50000 };
	struct strbuf text = STRBUF_INIT;
	struct catalog cat = CATALOG_INIT;
	struct errbuf err;
	char name[64], want_err[256];

	strbuf_addstr(&text, "services:\n");
	for (int i = 0; i < N; i++)
		strbuf_addf(&text, "  - name: svc-%d\n    owner: team-%d\n"
			    "    ownerIm: \"#chan-%d\"\n", i, i % 97, i);
	assert_int_equal(catalog_parse(&cat, text.buf, text.len, "big.yaml",
				       NULL, &err), 0);
	assert_int_equal(cat.nr, N);
	/* Load factor at most 0.5, slots a power of two. */
	assert_true(cat.slots_nr >= 2 * cat.nr);
	assert_int_equal(cat.slots_nr & (cat.slots_nr - 1), 0);
	for (int i = 0; i < N; i++) {
		const struct catalog_service *s;
		char want[64];

		snprintf(name, sizeof(name), "svc-%d", i);
		s = catalog_lookup(&cat, name);
		if (!s)
			fail_msg("%s not found", name);
		assert_string_equal(s->name, name);
		snprintf(want, sizeof(want), "#chan-%d", i);
		assert_string_equal(s->owner_im, want);
		assert_int_equal(s->line, 2 + 3 * (unsigned)i);
	}
	for (int i = N; i < N + 1000; i++) {
		snprintf(name, sizeof(name), "svc-%d", i);
		assert_null(catalog_lookup(&cat, name));
	}
	catalog_release(&cat);

	/* A duplicate at the very end is still found. */
	strbuf_addstr(&text, "  - name: svc-12345\n");
	assert_int_equal(catalog_parse(&cat, text.buf, text.len, "big.yaml",
				       NULL, &err), HERALD_EINVAL);
	snprintf(want_err, sizeof(want_err), "big.yaml:%d: service "
		 "\"svc-12345\" is listed twice (first at line %d): remove one or rename it",
		 2 + 3 * N, 2 + 3 * 12345);
	assert_string_equal(err.msg, want_err);
	catalog_release(&cat);
	strbuf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_replaces),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_missing_name),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_yaml),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_near_keys),
		cmocka_unit_test(test_comment_value),
		cmocka_unit_test(test_many_unknown_keys),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_50000_services),
	};

	return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
