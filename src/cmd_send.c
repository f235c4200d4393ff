/* cmd_send: work in progress. */
#include "strbuf.h"
