/*
 * store.c - the operations of struct hoist_store that do not depend on
 * the back end.
 */
#include "orchestrator/store.h"

#include <stddef.h>

void hoist_store_close(struct hoist_store *store)
{
	if (!store)
		return;
	store->ops->close(store);
}
