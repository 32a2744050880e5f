#include "providers/provider.h"

void hoist_provider_close(struct hoist_provider *provider)
{
	if (provider && provider->ops && provider->ops->close)
		provider->ops->close(provider);
}

const char *hoist_provider_state_name(int state)
{
	switch (state) {
	case HOIST_PINST_STARTING:
		return "starting";
	case HOIST_PINST_RUNNING:
		return "running";
	case HOIST_PINST_EXITED:
		return "exited";
	case HOIST_PINST_LOST:
		return "lost";
	case HOIST_PINST_GONE:
		return "gone";
	default:
		return "unknown";
	}
}
