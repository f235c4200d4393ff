/* slack: work in progress. */
#include "strbuf.h"
