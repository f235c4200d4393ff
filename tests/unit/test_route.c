/*
 * Unit tests for route: destination syntax per provider, routing precedence
 * (each level beats the next), the unrouted reason, and invalid
 * destinations named by where they came from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/route.h"
#include "lib/strbuf.h"

static void expect_dest(const char *s, enum provider_kind provider,
			enum dest_kind kind, const char *raw, const char *target)
{
	struct destination d;
	struct errbuf err = { "" };
	int ret = destination_parse(&d, s, provider, &err);

	if (ret)
		print_message("# %s (%s): %s\n", s, provider_kind_name(provider),
			      err.msg);
	assert_int_equal(ret, 0);
	assert_int_equal(d.kind, kind);
	assert_string_equal(d.raw, raw);
	assert_string_equal(d.target, target);
	destination_release(&d);
	assert_null(d.raw);
	assert_null(d.target);
}

static void expect_bad_dest(const char *s, enum provider_kind provider,
			    const char *msg)
{
	struct destination d;
	struct errbuf err = { "" };

	assert_int_equal(destination_parse(&d, s, provider, &err), HERALD_EINVAL);
	assert_string_equal(err.msg, msg);
	assert_null(d.raw);
	assert_null(d.target);
	destination_release(&d);
}

static void test_slack_destinations(void **state)
{
	const enum provider_kind P = PROVIDER_SLACK;

	expect_dest("#deploys", P, DEST_CHANNEL_NAME, "#deploys", "deploys");
	expect_dest("deploys", P, DEST_CHANNEL_NAME, "deploys", "deploys");
	expect_dest("  #backend_deploys-1 \n", P, DEST_CHANNEL_NAME,
		    "#backend_deploys-1", "backend_deploys-1");
	expect_dest("#d\xc3\xa9ploiements", P, DEST_CHANNEL_NAME,
		    "#d\xc3\xa9ploiements", "d\xc3\xa9ploiements");
	expect_dest("C0123ABCDEF", P, DEST_CHANNEL_ID, "C0123ABCDEF", "C0123ABCDEF");
	expect_dest("#C0123ABCDEF", P, DEST_CHANNEL_ID, "#C0123ABCDEF", "C0123ABCDEF");
	expect_dest("G01234567", P, DEST_CHANNEL_ID, "G01234567", "G01234567");
	expect_dest("D0123ABCDE", P, DEST_CHANNEL_ID, "D0123ABCDE", "D0123ABCDE");
	/* Digits are a valid Slack channel name, not an ID. */
	expect_dest("123456789012345678", P, DEST_CHANNEL_NAME,
		    "123456789012345678", "123456789012345678");
	expect_dest("@U0123ABCDEF", P, DEST_USER_ID, "@U0123ABCDEF", "U0123ABCDEF");
	expect_dest("@W0123ABCD", P, DEST_USER_ID, "@W0123ABCD", "W0123ABCD");
	expect_dest("@jane", P, DEST_USER_NAME, "@jane", "jane");
	expect_dest("@jane.doe", P, DEST_USER_NAME, "@jane.doe", "jane.doe");
	expect_dest("@U0123", P, DEST_USER_NAME, "@U0123", "U0123");
	expect_dest("@jane@example.com", P, DEST_USER_EMAIL, "@jane@example.com",
		    "jane@example.com");
	expect_dest("@123456789012345678", P, DEST_USER_NAME, "@123456789012345678",
		    "123456789012345678");
}

static void test_discord_destinations(void **state)
{
	const enum provider_kind P = PROVIDER_DISCORD;

	expect_dest("#deploys", P, DEST_CHANNEL_NAME, "#deploys", "deploys");
	expect_dest("deploys", P, DEST_CHANNEL_NAME, "deploys", "deploys");
	expect_dest("#G\xc3\xa9n\xc3\xa9ral.Ops", P, DEST_CHANNEL_NAME,
		    "#G\xc3\xa9n\xc3\xa9ral.Ops", "G\xc3\xa9n\xc3\xa9ral.Ops");
	expect_dest("123456789012345678", P, DEST_CHANNEL_ID, "123456789012345678",
		    "123456789012345678");
	expect_dest("#12345678901234567", P, DEST_CHANNEL_ID, "#12345678901234567",
		    "12345678901234567");
	expect_dest("12345678901234567890", P, DEST_CHANNEL_ID,
		    "12345678901234567890", "12345678901234567890");
	/* 16 and 21 digits are not snowflakes. */
	expect_dest("1234567890123456", P, DEST_CHANNEL_NAME, "1234567890123456",
		    "1234567890123456");
	expect_dest("123456789012345678901", P, DEST_CHANNEL_NAME,
		    "123456789012345678901", "123456789012345678901");
	/* A Slack-looking ID is just a name on Discord. */
	expect_dest("C0123ABCDEF", P, DEST_CHANNEL_NAME, "C0123ABCDEF", "C0123ABCDEF");
	expect_dest("@123456789012345678", P, DEST_USER_ID, "@123456789012345678",
		    "123456789012345678");
	expect_dest("@jane", P, DEST_USER_NAME, "@jane", "jane");
	expect_dest("@U0123ABCDEF", P, DEST_USER_NAME, "@U0123ABCDEF", "U0123ABCDEF");
}

static void test_log_destinations(void **state)
{
	const enum provider_kind P = PROVIDER_LOG;

	expect_dest("#deploys", P, DEST_CHANNEL_NAME, "#deploys", "deploys");
	expect_dest("#Deploys", P, DEST_CHANNEL_NAME, "#Deploys", "Deploys");
	expect_dest("C0123ABCDEF", P, DEST_CHANNEL_ID, "C0123ABCDEF", "C0123ABCDEF");
	expect_dest("123456789012345678", P, DEST_CHANNEL_ID, "123456789012345678",
		    "123456789012345678");
	expect_dest("@U0123ABCDEF", P, DEST_USER_ID, "@U0123ABCDEF", "U0123ABCDEF");
	expect_dest("@123456789012345678", P, DEST_USER_ID, "@123456789012345678",
		    "123456789012345678");
	expect_dest("@x@y.z", P, DEST_USER_EMAIL, "@x@y.z", "x@y.z");
	expect_dest("@jane", P, DEST_USER_NAME, "@jane", "jane");
}

static void test_invalid_destinations(void **state)
{
	char longname[100];
	char msg[256];

	expect_bad_dest("#dep loys", PROVIDER_SLACK,
			"\"#dep loys\": a channel name cannot contain white space");
	expect_bad_dest("#dep loys", PROVIDER_DISCORD,
			"\"#dep loys\": a channel name cannot contain white space");
	expect_bad_dest("dep\tloys", PROVIDER_LOG,
			"\"dep\\u0009loys\": a channel name cannot contain white space");
	expect_bad_dest("#dep\xc2\xa0loys", PROVIDER_DISCORD,
			"\"#dep\xc2\xa0loys\": a channel name cannot contain white space");
	expect_bad_dest("#a\x01", PROVIDER_SLACK,
			"\"#a\\u0001\": a channel name cannot contain control characters");
	expect_bad_dest("#a\xff", PROVIDER_SLACK,
			"\"#a\\xff\": a channel name is not valid UTF-8");
	expect_bad_dest("", PROVIDER_SLACK,
			"empty destination; expected #channel, a channel ID or @person");
	expect_bad_dest(" \t ", PROVIDER_DISCORD,
			"empty destination; expected #channel, a channel ID or @person");
	expect_bad_dest(NULL, PROVIDER_SLACK,
			"no destination given; expected #channel, a channel ID or @person");
	expect_bad_dest("#", PROVIDER_SLACK, "\"#\": no channel name after \"#\"");
	expect_bad_dest("@", PROVIDER_DISCORD, "\"@\": no user after \"@\"; expected "
			"@name, @<user id> or @email");
	expect_bad_dest("#Deploys", PROVIDER_SLACK, "\"#Deploys\": a Slack channel name "
			"is lower case; write it in lower case, or give the channel ID (C…)");
	expect_bad_dest("#dep.loys", PROVIDER_SLACK, "\"#dep.loys\": a Slack channel "
			"name can only hold lower-case letters, digits, \"-\" and \"_\"");
	expect_bad_dest("##deploys", PROVIDER_SLACK, "\"##deploys\": a Slack channel "
			"name can only hold lower-case letters, digits, \"-\" and \"_\"");
	expect_bad_dest("#a<b", PROVIDER_DISCORD,
			"\"#a<b\": a channel name cannot contain \"#\", \"@\", \"<\" or \">\"");
	expect_bad_dest("@jane@example.com", PROVIDER_DISCORD,
			"\"@jane@example.com\": Discord cannot message by email; use "
			"@username or @<user id>");
	expect_bad_dest("@jane@example", PROVIDER_SLACK, "\"@jane@example\": not a "
			"valid email address; expected @name@example.com");
	expect_bad_dest("@jane@@example.com", PROVIDER_SLACK, "\"@jane@@example.com\": "
			"not a valid email address; expected @name@example.com");
	expect_bad_dest("@ja ne", PROVIDER_SLACK,
			"\"@ja ne\": a user name cannot contain white space");
	expect_bad_dest("@<@U0123ABCDEF>", PROVIDER_SLACK, "\"@<@U0123ABCDEF>\": a "
			"user name cannot contain \"<\" or \">\"; write the name or ID "
			"without mention brackets");
	expect_bad_dest("@#ops", PROVIDER_DISCORD,
			"\"@#ops\": a user name cannot contain \"#\"");

	memset(longname, 'a', 82);
	longname[0] = '#';
	longname[82] = '\0';
	snprintf(msg, sizeof(msg), "\"%.80s…\": a Slack channel name is longer "
		 "than 80 characters", longname);
	expect_bad_dest(longname, PROVIDER_SLACK, msg);
	longname[81] = '\0';
	expect_dest(longname, PROVIDER_SLACK, DEST_CHANNEL_NAME, longname, longname + 1);
}

static void test_dest_kind(void **state)
{
	struct destination d = { DEST_CHANNEL_ID, NULL, NULL };

	assert_false(destination_is_dm(&d));
	assert_string_equal(destination_kind_word(&d), "channel");
	d.kind = DEST_CHANNEL_NAME;
	assert_false(destination_is_dm(&d));
	d.kind = DEST_USER_ID;
	assert_true(destination_is_dm(&d));
	assert_string_equal(destination_kind_word(&d), "dm");
	d.kind = DEST_USER_EMAIL;
	assert_true(destination_is_dm(&d));
	d.kind = DEST_USER_NAME;
	assert_true(destination_is_dm(&d));
}

static const char catalog_yaml[] =
	"services:\n"
	"  - name: api\n"
	"    owner: backend-team\n"
	"    ownerIm: \"#backend-deploys\"\n"
	"  - name: web\n"
	"    owner: frontend\n"
	"  - name: worker\n"
	"    ownerIm: \"@jane\"\n"
	"  - name: bad\n"
	"    ownerIm: \"#Bad Channel\"\n";

struct fixture {
	struct config cfg;
	struct channel_mapping mapping[2];
	struct catalog cat;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct errbuf err;

	if (!f)
		return -1;
	f->cfg.provider = PROVIDER_SLACK;
	f->cfg.default_channel = "#general";
	f->mapping[0] = (struct channel_mapping){ "production", "#prod-deploys" };
	f->mapping[1] = (struct channel_mapping){ "staging", "C0123ABCDEF" };
	f->cfg.mapping = f->mapping;
	f->cfg.mapping_nr = 2;
	if (catalog_parse(&f->cat, catalog_yaml, sizeof(catalog_yaml) - 1,
			  "catalog.yaml", NULL, &err)) {
		print_message("# catalog_parse: %s\n", err.msg);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	catalog_release(&f->cat);
	free(f);
	return 0;
}

static void expect_route(const struct event *ev, const struct config *cfg,
			 const struct catalog *cat, enum route_source source,
			 const char *raw, const char *reason)
{
	struct route r;
	struct errbuf err = { "" };
	int ret = route_event(&r, ev, cfg, cat, &err);

	if (ret)
		print_message("# route_event: %s\n", err.msg);
	assert_int_equal(ret, 0);
	assert_int_equal(r.source, source);
	assert_non_null(r.reason);
	assert_string_equal(r.reason, reason);
	if (raw)
		assert_string_equal(r.dest.raw, raw);
	else
		assert_null(r.dest.raw);
	route_release(&r);
	assert_null(r.reason);
	assert_null(r.dest.raw);
}

static void test_precedence(void **state)
{
	struct fixture *f = *state;
	struct event ev = EVENT_INIT;

	ev.type = EVENT_DEPLOY;
	ev.status = EVENT_STARTED;
	ev.app = "api";
	ev.env = "production";
	ev.channel = "#override";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_EVENT_CHANNEL, "#override",
		     "the event's channel field");
	ev.channel = NULL;
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_OWNER_IM, "#backend-deploys",
		     "owner IM of app api, from the catalog");
	ev.app = "worker";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_OWNER_IM, "@jane",
		     "owner IM of app worker, from the catalog");
	ev.app = "web";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_ENV_MAPPING, "#prod-deploys",
		     "channel mapping for environment production "
		     "(NOTIFICATIONS_CHANNEL_MAPPING)");
	ev.env = "staging";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_ENV_MAPPING, "C0123ABCDEF",
		     "channel mapping for environment staging "
		     "(NOTIFICATIONS_CHANNEL_MAPPING)");
	ev.env = "qa";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_DEFAULT, "#general",
		     "default channel (NOTIFICATIONS_DEFAULT_CHANNEL)");
	/* Without a catalog the mapping decides. */
	ev.app = "api";
	ev.env = "production";
	expect_route(&ev, &f->cfg, NULL, ROUTE_ENV_MAPPING, "#prod-deploys",
		     "channel mapping for environment production "
		     "(NOTIFICATIONS_CHANNEL_MAPPING)");
}

static void test_unrouted(void **state)
{
	struct fixture *f = *state;
	struct event ev = EVENT_INIT;

	f->cfg.default_channel = NULL;
	ev.type = EVENT_DEPLOY;
	ev.app = "web";
	ev.env = "qa";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_UNROUTED, NULL,
		     "unrouted: no channel in the event, app web has no owner IM "
		     "in the catalog, no mapping for environment qa, and "
		     "NOTIFICATIONS_DEFAULT_CHANNEL is unset");
	ev.app = "ghost";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_UNROUTED, NULL,
		     "unrouted: no channel in the event, app ghost is not in the "
		     "catalog, no mapping for environment qa, and "
		     "NOTIFICATIONS_DEFAULT_CHANNEL is unset");
	expect_route(&ev, &f->cfg, NULL, ROUTE_UNROUTED, NULL,
		     "unrouted: no channel in the event, no catalog is loaded "
		     "(HERALD_CATALOG), no mapping for environment qa, and "
		     "NOTIFICATIONS_DEFAULT_CHANNEL is unset");
	ev.type = EVENT_MESSAGE;
	ev.app = NULL;
	ev.env = NULL;
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_UNROUTED, NULL,
		     "unrouted: no channel in the event, the event has no app, the "
		     "event has no env, and NOTIFICATIONS_DEFAULT_CHANNEL is unset");
	expect_route(&ev, NULL, NULL, ROUTE_UNROUTED, NULL,
		     "unrouted: no channel in the event, the event has no app, the "
		     "event has no env, and NOTIFICATIONS_DEFAULT_CHANNEL is unset");
	/* The default catches what nothing else routes. */
	f->cfg.default_channel = "#general";
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_DEFAULT, "#general",
		     "default channel (NOTIFICATIONS_DEFAULT_CHANNEL)");
}

static void expect_route_error(const struct event *ev, const struct config *cfg,
			       const struct catalog *cat, const char *prefix,
			       const char *suffix)
{
	struct route r;
	struct errbuf err = { "" };

	assert_int_equal(route_event(&r, ev, cfg, cat, &err), HERALD_EINVAL);
	assert_int_equal(r.source, ROUTE_UNROUTED);
	assert_null(r.reason);
	assert_null(r.dest.raw);
	if (strncmp(err.msg, prefix, strlen(prefix)) ||
	    strlen(err.msg) < strlen(suffix) ||
	    strcmp(err.msg + strlen(err.msg) - strlen(suffix), suffix))
		print_message("# got: %s\n", err.msg);
	assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);
	assert_true(strlen(err.msg) >= strlen(suffix));
	assert_string_equal(err.msg + strlen(err.msg) - strlen(suffix), suffix);
	route_release(&r);
}

static void test_invalid_at_each_level(void **state)
{
	struct fixture *f = *state;
	struct event ev = EVENT_INIT;
	struct channel_mapping bad_map = { "qa", "@" };

	ev.type = EVENT_DEPLOY;
	ev.app = "api";
	ev.env = "production";
	ev.channel = "#dep loys";
	expect_route_error(&ev, &f->cfg, &f->cat, "the event's channel field: ",
			   "\"#dep loys\": a channel name cannot contain white space");
	ev.channel = NULL;
	ev.app = "bad";
	expect_route_error(&ev, &f->cfg, &f->cat, "ownerIm of app bad in the catalog",
			   ": \"#Bad Channel\": a channel name cannot contain white "
			   "space");
	ev.app = "web";
	f->cfg.provider = PROVIDER_DISCORD;
	expect_route(&ev, &f->cfg, &f->cat, ROUTE_ENV_MAPPING, "#prod-deploys",
		     "channel mapping for environment production "
		     "(NOTIFICATIONS_CHANNEL_MAPPING)");
	f->mapping[0].channel = "@ops@example.com";
	expect_route_error(&ev, &f->cfg, &f->cat,
			   "NOTIFICATIONS_CHANNEL_MAPPING for environment production: ",
			   "\"@ops@example.com\": Discord cannot message by email; "
			   "use @username or @<user id>");
	f->mapping[0].channel = "#prod-deploys";
	f->cfg.provider = PROVIDER_SLACK;
	ev.env = "qa";
	f->cfg.default_channel = "#General";
	expect_route_error(&ev, &f->cfg, &f->cat, "NOTIFICATIONS_DEFAULT_CHANNEL: ",
			   "\"#General\": a Slack channel name is lower case; write "
			   "it in lower case, or give the channel ID (C…)");
	f->cfg.default_channel = "#general";
	f->cfg.mapping = &bad_map;
	f->cfg.mapping_nr = 1;
	expect_route_error(&ev, &f->cfg, &f->cat,
			   "NOTIFICATIONS_CHANNEL_MAPPING for environment qa: ",
			   "\"@\": no user after \"@\"; expected @name, @<user id> or "
			   "@email");
	f->cfg.mapping = f->mapping;
	f->cfg.mapping_nr = 2;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slack_destinations),
		cmocka_unit_test(test_discord_destinations),
		cmocka_unit_test(test_log_destinations),
		cmocka_unit_test(test_invalid_destinations),
		cmocka_unit_test(test_dest_kind),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrouted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_at_each_level, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
