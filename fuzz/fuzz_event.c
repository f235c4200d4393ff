/*
 * Fuzz target for event_parse_many: any bytes, as one event or an array.
 * Must never crash or leak; a parsed event must survive the JSON round trip,
 * and event_write_json() must write what jansson writes of it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "inputs/event_json.h"
#include "lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist problems = ERRLIST_INIT;
	struct event *events = NULL;
	size_t nr = 0;
	int ret;

	ret = event_parse_many((const char *)data, size, 100, &events, &nr,
			       &problems);
	if (ret && (events || nr || !problems.nr))
		abort();
	for (size_t i = 0; i < nr; i++) {
		json_t *j = event_to_json(&events[i]);
		struct event again;
		struct errbuf err;
		char *key;

		if (event_from_json(&again, j, "", &err))
			abort();
		if (again.timestamp != events[i].timestamp ||
		    again.type != events[i].type ||
		    again.status != events[i].status)
			abort();
		key = event_correlation_key(&events[i]);
		free(key);
		{
			struct strbuf sb = STRBUF_INIT;
			char *dump = json_dumps(j, JSON_COMPACT);

			event_write_json(&events[i], &sb);
			if (!dump || strcmp(dump, sb.buf))
				abort();
			free(dump);
			strbuf_release(&sb);
		}
		event_release(&again);
		json_decref(j);
	}
	event_array_free(events, nr);
	errlist_release(&problems);
	return 0;
}
