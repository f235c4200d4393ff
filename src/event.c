/* event: work in progress. */
#include "strbuf.h"
