/*
 * route: decides where a notification goes, and parses destinations.
 *
 * Precedence: the event's "channel"; the event's "owner_im" (an
 * Alertmanager owner_im label, say); the catalog's ownerIm for the event's
 * app; NOTIFICATIONS_CHANNEL_MAPPING for its env; the default channel. When
 * none applies the notification is unrouted, never sent somewhere arbitrary.
 * Pure: no I/O.
 */
#ifndef HERALD_ROUTE_H
#define HERALD_ROUTE_H

#include "core/catalog.h"
#include "core/config.h"
#include "lib/errbuf.h"
#include "core/event.h"

enum dest_kind {
	DEST_CHANNEL_NAME,	/* "#deploys" or "deploys" */
	DEST_CHANNEL_ID,	/* Slack C…/G…/D…, Discord digits */
	DEST_USER_ID,		/* Slack "@U…"/"@W…", Discord "@<digits>" */
	DEST_USER_EMAIL,	/* "@jane@example.com" (Slack only) */
	DEST_USER_NAME,		/* "@jane" */
};

/*
 * A parsed destination. target is the name, ID or address without its "#" or
 * "@". Owned strings, freed by destination_release().
 */
struct destination {
	enum dest_kind kind;
	char *raw;		/* as written: "#deploys", "@jane" */
	char *target;		/* "deploys", "jane" */
};

/* Whether the destination is a direct message to a person. */
int destination_is_dm(const struct destination *d);
/* "channel" or "dm". */
const char *destination_kind_word(const struct destination *d);

/*
 * Parses destination syntax for a provider (IDs look different on Slack and
 * Discord; PROVIDER_LOG accepts both), ignoring white space around s. Errors
 * say what is wrong with s; d then holds NULL strings. See docs/events.md.
 */
int destination_parse(struct destination *d, const char *s,
		      enum provider_kind provider, struct errbuf *err);
void destination_release(struct destination *d);

enum route_source {
	ROUTE_UNROUTED,
	ROUTE_EVENT_CHANNEL,
	ROUTE_OWNER_IM,
	ROUTE_ENV_MAPPING,
	ROUTE_DEFAULT,
};

struct route {
	enum route_source source;
	struct destination dest;	/* unset when unrouted */
	char *reason;	/* "owner IM of app api, from the catalog"; owned */
};

#define ROUTE_INIT { ROUTE_UNROUTED, { 0, NULL, NULL }, NULL }

/*
 * Routes ev; r is an output (need not be initialised) and cfg and cat may be
 * NULL. An unrouted event is not an error: it returns 0 with source
 * ROUTE_UNROUTED and a reason saying what was tried. An invalid destination
 * at the level that applies (a bad "channel" in the event, say) returns
 * HERALD_EINVAL with err naming where it came from; lower levels are not
 * tried. On error r is left as ROUTE_INIT.
 */
int route_event(struct route *r, const struct event *ev,
		const struct config *cfg, const struct catalog *cat,
		struct errbuf *err);
void route_release(struct route *r);

#endif
