/*
 * json_out: compact JSON text of jansson values, the same bytes as
 * json_dumps(j, JSON_COMPACT), written straight into a strbuf.
 */
#include "lib/json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/text.h"
#include "lib/utf8.h"

static int out_string(struct strbuf *out, const char *s, size_t len,
		      int flags)
{
	if (!utf8_valid(s, len))
		return -1;
	text_add_json_string(out, s, len, flags & JSON_OUT_ASCII);
	return 0;
}

int json_out(struct strbuf *out, const json_t *j, int flags)
{
	char num[40];
	int ret = 0;

	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *v;
		int first = 1;

		strbuf_addch(out, '{');
		json_object_foreach((json_t *)j, key, v) {
			if (!first)
				strbuf_addch(out, ',');
			first = 0;
			if (out_string(out, key, strlen(key), flags) ||
			    (strbuf_addch(out, ':'), json_out(out, v, flags)))
				return -1;
		}
		strbuf_addch(out, '}');
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;

		strbuf_addch(out, '[');
		json_array_foreach(j, i, v) {
			if (i)
				strbuf_addch(out, ',');
			if (json_out(out, v, flags))
				return -1;
		}
		strbuf_addch(out, ']');
		break;
	}
	case JSON_STRING:
		ret = out_string(out, json_string_value(j),
				 json_string_length(j), flags);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(j));
		strbuf_addstr(out, num);
		break;
	case JSON_REAL: {
		/* Rare in herald: jansson's own formatting, to match it. */
		char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);

		if (!text)
			return -1;
		strbuf_addstr(out, text);
		free(text);
		break;
	}
	case JSON_TRUE:
		strbuf_addstr(out, "true");
		break;
	case JSON_FALSE:
		strbuf_addstr(out, "false");
		break;
	case JSON_NULL:
		strbuf_addstr(out, "null");
		break;
	}
	return ret || strbuf_overflowed(out) ? -1 : 0;
}
