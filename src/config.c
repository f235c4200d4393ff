/* config: work in progress. */
#include "strbuf.h"
