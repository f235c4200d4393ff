/* text: work in progress. */
#include "strbuf.h"
