/* provider: work in progress. */
#include "strbuf.h"
