/*
 * Fuzz target for the weekly summary: its parsers and its messages. The
 * input is split at its first two NUL bytes into HERALD_SUMMARY_ENVS, a
 * HERALD_SUMMARY (also tried as a --week) and herald event JSON (one
 * event or an array). The parsers must accept or refuse without harm; the
 * events' summary of the week of 2026-11-25 (UTC), rendered for both
 * platforms, must keep every limit, hold valid UTF-8 and mention nobody,
 * and its JSON must encode: aborts otherwise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "core/summary.h"
#include "inputs/event_json.h"
#include "lib/text.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_summary.c:%d: %s\n", __LINE__, #cond); \
		abort();						\
	}								\
} while (0)

static size_t units(const char *s)
{
	CHECK(s);
	CHECK(utf8_valid(s, strlen(s)));
	return text_units(s, strlen(s));
}

static void check_strings(const json_t *j, int slack)
{
	const char *key, *s;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		s = json_string_value(j);
		CHECK(utf8_valid(s, json_string_length(j)));
		CHECK(!strstr(s, "@everyone") && !strstr(s, "@here"));
		if (slack)
			CHECK(!strstr(s, "<!") && !strstr(s, "<@") &&
			      !strstr(s, "<#") && !strstr(s, "@channel"));
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v)
			check_strings(v, slack);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			check_strings(v, slack);
	}
}

static void check_bodies(const struct summary *s)
{
	json_t *slack = summary_render_slack(s), *discord =
		summary_render_discord(s), *b, *embed;
	size_t i;
	char *dump;

	check_strings(slack, 1);
	CHECK(units(json_string_value(json_object_get(slack, "text"))) <=
	      SLACK_TEXT_MAX);
	json_array_foreach(json_object_get(slack, "blocks"), i, b) {
		const json_t *t = json_object_get(json_object_get(b, "text"),
						  "text");

		if (t)
			CHECK(units(json_string_value(t)) <=
			      SLACK_SECTION_TEXT_MAX);
	}
	dump = json_dumps(json_object_get(slack, "blocks"), JSON_COMPACT);
	CHECK(dump && units(dump) <= SLACK_BLOCKS_CHARS_MAX);
	free(dump);

	check_strings(discord, 0);
	CHECK(units(json_string_value(json_object_get(discord, "content"))) <=
	      DISCORD_CONTENT_MAX);
	embed = json_array_get(json_object_get(discord, "embeds"), 0);
	CHECK(units(json_string_value(json_object_get(embed, "description")))
	      <= DISCORD_DESCRIPTION_MAX);
	json_decref(slack);
	json_decref(discord);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nul1, *nul2;
	char *envs, *sched;
	struct summary_pair *pairs = NULL;
	struct summary_schedule sc;
	struct summary_week w;
	struct errlist problems = ERRLIST_INIT;
	struct errbuf err;
	struct event *evs = NULL;
	struct summary_event *sev;
	char **stories;
	struct summary s;
	size_t pairs_nr = 0, nr = 0;
	json_t *j;
	char *dump;

	nul1 = memchr(text, '\0', size);
	if (!nul1)
		return 0;
	nul2 = memchr(nul1 + 1, '\0', size - (size_t)(nul1 + 1 - text));
	if (!nul2)
		return 0;
	envs = strndup(text, (size_t)(nul1 - text));
	sched = strndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
	if (summary_pairs_parse("E", envs, &pairs, &pairs_nr, &problems) < 0)
		CHECK(problems.nr > 0 && !pairs && !pairs_nr);
	if (!summary_schedule_parse(sched, &sc, &err) && sc.enabled)
		CHECK(sc.wday >= 1 && sc.wday <= 7 && sc.hour < 24 &&
		      sc.minute < 60);
	if (!summary_week_parse(sched, &w, &err))
		CHECK(w.week >= 1 && w.week <= 53);

	setenv("TZ", "UTC", 1);
	if (event_parse_many(nul2 + 1, size - (size_t)(nul2 + 1 - text), 1000,
			     &evs, &nr, NULL) < 0)
		goto out;
	sev = calloc(nr ? nr : 1, sizeof(*sev));
	stories = calloc(nr ? nr : 1, sizeof(*stories));
	for (size_t i = 0; i < nr; i++) {
		stories[i] = event_correlation_key(&evs[i]);
		sev[i] = (struct summary_event){
			evs[i].type, evs[i].status, evs[i].app, evs[i].env,
			evs[i].actor, evs[i].version ? evs[i].version :
			evs[i].sha, stories[i], evs[i].timestamp > 0 ?
			evs[i].timestamp : 1795600000 + (time_t)i * 3600,
		};
	}
	summary_compute(&s, (struct summary_week){ 2026, 48 }, sev, nr,
			pairs, pairs_nr);
	CHECK(s.alert_s >= 0 && s.alert_s <= 7 * 86400L * (long)(nr + 1));
	check_bodies(&s);
	j = summary_to_json(&s);
	dump = json_dumps(j, JSON_COMPACT);
	CHECK(dump);
	free(dump);
	json_decref(j);
	summary_release(&s);
	for (size_t i = 0; i < nr; i++)
		free(stories[i]);
	free(stories);
	free(sev);
out:
	event_array_free(evs, nr);
	summary_pairs_free(pairs, pairs_nr);
	errlist_release(&problems);
	free(envs);
	free(sched);
	return 0;
}
