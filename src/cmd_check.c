/* cmd_check: work in progress. */
#include "strbuf.h"
