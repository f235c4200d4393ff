/*
 * engine_silences: the active silences, as the engine applies them.
 *
 * The engine keeps a copy of the silences in effect (read from the store
 * at start and again whenever the API adds or ends one) under its own
 * lock: the preparer thread matches each notification that would post a
 * new message against it, and any thread may replace it. A silence that
 * runs out needs no reload: matching looks at the time. The loop keeps
 * herald_silences_active up to date as silences run out.
 */
#include "daemon/engine_internal.h"

#include <math.h>
#include <stdlib.h>

#include "core/silence.h"
#include "daemon/log.h"
#include "daemon/metrics.h"

/*
 * Sets herald_silences_active and silences_next_end (when the next active
 * one runs out or the next pending one starts: INFINITY for none);
 * silence_lock held.
 */
static void count_active(struct engine *e, double now)
{
	size_t n = 0;
	double next = INFINITY;

	for (size_t i = 0; i < e->silences_nr; i++) {
		const struct silence *s = &e->silences[i];

		if (s->ended_at <= 0 && now < s->starts_at &&
		    s->starts_at < next)
			next = s->starts_at;	/* it becomes active then */
		if (!silence_is_active(s, now))
			continue;
		n++;
		if (s->ends_at < next)
			next = s->ends_at;
	}
	e->silences_next_end = next;
	metrics_silences_active(e->metrics, (double)n);
}

int engine_silences_reload(struct engine *e, struct errbuf *err)
{
	struct silence *set = NULL, *old;
	size_t nr = 0, old_nr;
	double now = store_now();
	int ret;

	ret = store_silence_list(e->store, now, &set, &nr, err);
	if (ret)
		return ret;
	pthread_mutex_lock(&e->silence_lock);
	old = e->silences;
	old_nr = e->silences_nr;
	e->silences = set;
	e->silences_nr = nr;
	count_active(e, now);
	pthread_mutex_unlock(&e->silence_lock);
	silence_array_free(old, old_nr);
	return 0;
}

void engine_api_silences(void *arg)
{
	struct errbuf err;

	if (engine_silences_reload(arg, &err) < 0)
		log_event(LOG_ERROR, "silences not reloaded", "error", err.msg,
			  "hint", "the change applies from the next start",
			  NULL);
}

int64_t engine__silenced(struct engine *e, const struct event *ev,
			 const char *dest, char *why, size_t size)
{
	struct silence_subject subj;
	const struct silence *s;
	int64_t id = 0;

	silence_subject_of(&subj, ev, dest);
	pthread_mutex_lock(&e->silence_lock);
	s = silence_find(e->silences, e->silences_nr, &subj, store_now());
	if (s) {
		id = s->id;
		silence_reason(s, why, size);
	}
	pthread_mutex_unlock(&e->silence_lock);
	return id;
}

void engine__silences_tick(struct engine *e)
{
	double now = store_now();

	pthread_mutex_lock(&e->silence_lock);
	if (now >= e->silences_next_end)
		count_active(e, now);
	pthread_mutex_unlock(&e->silence_lock);
}

void engine__silences_clear(struct engine *e)
{
	silence_array_free(e->silences, e->silences_nr);
	e->silences = NULL;
	e->silences_nr = 0;
}
