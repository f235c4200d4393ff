/*
 * render_summary: a week's summary as a Slack, a Discord and a plain-text
 * message.
 *
 *   Slack    text (the fallback: totals only, no event values), blocks: a
 *            header, one mrkdwn section per part (deploys per environment,
 *            deployers, alerts, apps ahead), a context line with the dates
 *   Discord  content (the headline), one embed: title, the parts in the
 *            description under bold headings, color, footer with the
 *            dates; allowed_mentions {"parse": []}
 *
 * Every value from the events (environments, actors, apps, versions) is
 * cleaned, escaped for the platform's markup (text.h: no @channel,
 * @everyone, mention or link syntax survives) and cut to VALUE_MAX. Each
 * part has a budget of units; the lines that do not fit become "and N
 * more", so a message stays within SLACK_SECTION_TEXT_MAX and
 * SLACK_BLOCKS_CHARS_MAX, and DISCORD_DESCRIPTION_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "core/summary.h"
#include "lib/text.h"

#define VALUE_MAX 60		/* units of one value in a line */
#define DEPLOYS_BUDGET 1200	/* units of each part */
#define DEPLOYERS_BUDGET 500
#define ALERTS_BUDGET 300
#define AHEAD_BUDGET 1500
#define MORE_RESERVE 40		/* kept for "and N more" */

struct style {
	int markup;		/* enum text_markup */
	const char *bold;	/* around headings and names */
	const char *bullet;
};

static const struct style slack_style = { TEXT_SLACK, "*", "• " };
static const struct style discord_style = { TEXT_DISCORD, "**", "• " };
static const struct style plain_style = { TEXT_PLAIN, "", "- " };

static void value(struct strbuf *out, const struct style *st, const char *s)
{
	text_add_fit(out, s, strlen(s), st->markup | TEXT_ONELINE, VALUE_MAX);
}

static void plural(struct strbuf *out, long n, const char *one,
		   const char *many)
{
	strbuf_addf(out, "%ld %s", n, n == 1 ? one : many);
}

/*
 * Appends line to part unless it would go over budget; counts the lines
 * left out in *more.
 */
static void add_line(struct strbuf *part, const struct strbuf *line,
		     size_t budget, size_t *more)
{
	if (*more || text_units(part->buf, part->len) +
		     text_units(line->buf, line->len) + 1 >
		     budget - MORE_RESERVE) {
		(*more)++;
		return;
	}
	if (part->len)
		strbuf_addch(part, '\n');
	strbuf_add(part, line->buf, line->len);
}

static void add_more(struct strbuf *part, size_t more)
{
	if (more)
		strbuf_addf(part, "\n…and %zu more", more);
}

static void deploys_part(const struct summary *s, const struct style *st,
			 struct strbuf *out)
{
	struct strbuf line = STRBUF_INIT;
	size_t more = 0;

	for (size_t i = 0; i < s->envs_nr; i++) {
		const struct summary_env *e = &s->envs[i];

		strbuf_reset(&line);
		strbuf_addf(&line, "%s%s", st->bullet, st->bold);
		value(&line, st, e->env);
		strbuf_addf(&line, "%s: ", st->bold);
		plural(&line, e->deploys, "deploy", "deploys");
		if (e->failed)
			strbuf_addf(&line, " (%ld failed)", e->failed);
		strbuf_addstr(&line, ", ");
		plural(&line, e->rollbacks, "rollback", "rollbacks");
		add_line(out, &line, DEPLOYS_BUDGET, &more);
	}
	if (!s->envs_nr)
		strbuf_addstr(out, "No deploys.");
	add_more(out, more);
	strbuf_release(&line);
}

static void deployers_part(const struct summary *s, const struct style *st,
			   struct strbuf *out)
{
	struct strbuf line = STRBUF_INIT;
	size_t more = 0, shown = 0;

	for (size_t i = 0; i < s->deployers_nr; i++) {
		const struct summary_deployer *d = &s->deployers[i];

		if (shown == SUMMARY_DEPLOYERS_MAX) {
			more++;
			continue;
		}
		strbuf_reset(&line);
		strbuf_addf(&line, "%zu. ", i + 1);
		value(&line, st, d->actor);
		strbuf_addstr(&line, " (");
		plural(&line, d->deploys, "deploy", "deploys");
		strbuf_addch(&line, ')');
		add_line(out, &line, DEPLOYERS_BUDGET, &more);
		shown += !more;
	}
	if (!s->deployers_nr)
		strbuf_addstr(out, "Nobody deployed.");
	add_more(out, more);
	strbuf_release(&line);
}

static void ahead_part(const struct summary *s, const struct style *st,
		       struct strbuf *out)
{
	struct strbuf line = STRBUF_INIT;
	size_t more = 0;

	for (size_t i = 0; i < s->ahead_nr; i++) {
		const struct summary_ahead *a = &s->ahead[i];

		strbuf_reset(&line);
		strbuf_addf(&line, "%s%s", st->bullet, st->bold);
		value(&line, st, a->app);
		strbuf_addf(&line, "%s: ", st->bold);
		value(&line, st, a->ahead_env);
		strbuf_addch(&line, ' ');
		value(&line, st, a->ahead_version);
		strbuf_addstr(&line, ", ");
		value(&line, st, a->behind_env);
		strbuf_addch(&line, ' ');
		value(&line, st, a->behind_version);
		add_line(out, &line, AHEAD_BUDGET, &more);
	}
	if (!s->ahead_nr)
		strbuf_addstr(out, "Every app runs the same version in each "
			      "pair of environments.");
	add_more(out, more);
	strbuf_release(&line);
}

/* "23 Nov – 29 Nov 2026", local. */
static void dates(const struct summary *s, struct strbuf *out)
{
	time_t last = s->end - 12 * 3600;
	struct tm a, b;
	char from[32], to[32];

	if (!localtime_r(&s->start, &a) || !localtime_r(&last, &b) ||
	    !strftime(from, sizeof(from), "%d %b", &a) ||
	    !strftime(to, sizeof(to), "%d %b %Y", &b))
		return;
	strbuf_addf(out, "%s – %s", from, to);
}

static void totals(const struct summary *s, long *deploys, long *failed,
		   long *rollbacks)
{
	*deploys = *failed = *rollbacks = 0;
	for (size_t i = 0; i < s->envs_nr; i++) {
		*deploys += s->envs[i].deploys;
		*failed += s->envs[i].failed;
		*rollbacks += s->envs[i].rollbacks;
	}
}

/* "Weekly summary 2026-W48: 12 deploys (2 failed), 1 rollback". */
static void headline(const struct summary *s, struct strbuf *out)
{
	char name[SUMMARY_WEEK_NAME_MAX];
	long deploys, failed, rollbacks;

	summary_week_name(&s->week, name);
	totals(s, &deploys, &failed, &rollbacks);
	strbuf_addf(out, "Weekly summary %s: ", name);
	plural(out, deploys, "deploy", "deploys");
	if (failed)
		strbuf_addf(out, " (%ld failed)", failed);
	strbuf_addstr(out, ", ");
	plural(out, rollbacks, "rollback", "rollbacks");
}

static const char *const headings[] = {
	"Deploys", "Most active deployers", "Alerts", "Versions ahead"
};

/* Appends part i, its lines counted against its own budget. */
static void part(const struct summary *s, size_t i, const struct style *st,
		 struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;

	switch (i) {
	case 0:
		deploys_part(s, st, &sb);
		break;
	case 1:
		deployers_part(s, st, &sb);
		break;
	case 2:
		summary_alert_sentence(s, &sb);
		break;
	default:
		ahead_part(s, st, &sb);
		break;
	}
	strbuf_add(out, sb.buf, sb.len);
	strbuf_release(&sb);
}

static const char *heading(size_t i)
{
	return headings[i];
}

static json_t *mrkdwn_section(const struct strbuf *text)
{
	return json_pack("{s:s, s:{s:s, s:o, s:b}}", "type", "section",
			 "text", "type", "mrkdwn", "text",
			 render_string(text), "verbatim", 1);
}

json_t *summary_render_slack(const struct summary *s)
{
	char name[SUMMARY_WEEK_NAME_MAX];
	struct strbuf text = STRBUF_INIT, sb = STRBUF_INIT;
	json_t *blocks = json_array(), *body;

	summary_week_name(&s->week, name);
	headline(s, &text);
	strbuf_addf(&sb, "Weekly summary: %s", name);
	json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:o}}",
		"type", "header", "text", "type", "plain_text", "text",
		render_string(&sb)));
	for (size_t i = 0; i < 4; i++) {
		strbuf_reset(&sb);
		strbuf_addf(&sb, "*%s*\n", heading(i));
		part(s, i, &slack_style, &sb);
		json_array_append_new(blocks, mrkdwn_section(&sb));
	}
	strbuf_reset(&sb);
	dates(s, &sb);
	strbuf_addf(&sb, " · %ld events · herald", s->events);
	json_array_append_new(blocks, json_pack("{s:s, s:[{s:s, s:o}]}",
		"type", "context", "elements", "type", "mrkdwn", "text",
		render_string(&sb)));
	body = json_pack("{s:o, s:o, s:b, s:b}", "text", render_string(&text),
			 "blocks", blocks, "unfurl_links", 0,
			 "unfurl_media", 0);
	strbuf_release(&text);
	strbuf_release(&sb);
	return body;
}

json_t *summary_render_discord(const struct summary *s)
{
	char name[SUMMARY_WEEK_NAME_MAX];
	struct strbuf content = STRBUF_INIT, sb = STRBUF_INIT,
		      title = STRBUF_INIT, footer = STRBUF_INIT;
	json_t *body;

	summary_week_name(&s->week, name);
	strbuf_addstr(&content, "📊 ");
	headline(s, &content);
	strbuf_addf(&title, "Weekly summary: %s", name);
	for (size_t i = 0; i < 4; i++) {
		if (i)
			strbuf_addstr(&sb, "\n\n");
		strbuf_addf(&sb, "**%s**\n", heading(i));
		part(s, i, &discord_style, &sb);
	}
	dates(s, &footer);
	strbuf_addf(&footer, " · %ld events · herald", s->events);
	body = json_pack("{s:o, s:[{s:o, s:o, s:i, s:{s:o}}], s:{s:[]}}",
		"content", render_string(&content),
		"embeds", "title", render_string(&title),
		"description", render_string(&sb),
		"color", DISCORD_COLOR_INFO,
		"footer", "text", render_string(&footer),
		"allowed_mentions", "parse");
	strbuf_release(&content);
	strbuf_release(&sb);
	strbuf_release(&title);
	strbuf_release(&footer);
	return body;
}

json_t *summary_render_for(enum provider_kind provider,
			   const struct summary *s)
{
	return provider == PROVIDER_DISCORD ? summary_render_discord(s) :
	       summary_render_slack(s);
}

void summary_render_text(const struct summary *s, struct strbuf *out)
{
	headline(s, out);
	strbuf_addstr(out, "\n");
	dates(s, out);
	strbuf_addf(out, ", %ld events\n", s->events);
	for (size_t i = 0; i < 4; i++) {
		strbuf_addf(out, "\n%s:\n", heading(i));
		part(s, i, &plain_style, out);
		strbuf_addch(out, '\n');
	}
}
