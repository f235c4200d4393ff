/* discord: work in progress. */
#include "strbuf.h"
