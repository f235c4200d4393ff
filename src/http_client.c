/* http_client: work in progress. */
#include "strbuf.h"
