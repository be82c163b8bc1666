/*
 * The hub: the process-wide registry of subscribers to mailbox changes.
 * Connections of every thread notify through it after their commits.
 */
#include "store-private.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/net.h"

struct store_sub {
	struct store_sub *next;
	int64_t mailbox_id; /* 0: every mailbox */
	int fd;
};

struct store_hub {
	pthread_mutex_t lock;
	struct store_sub *subs;
};

struct store_hub *
store_hub_new(void)
{
	struct store_hub *hub = sb_calloc(1, sizeof(*hub));

	if (pthread_mutex_init(&hub->lock, NULL) != 0)
		abort();
	return hub;
}

void
store_hub_free(struct store_hub **hubp)
{
	struct store_hub *hub = *hubp;

	if (hub == NULL)
		return;
	/* A subscription left over would be a dangling eventfd: a bug. */
	if (hub->subs != NULL)
		abort();
	pthread_mutex_destroy(&hub->lock);
	free(hub);
	*hubp = NULL;
}

int
store_subscribe(struct store_hub *hub, int64_t mailbox_id,
                struct store_sub **sub_r, const char **error_r)
{
	struct store_sub *sub = sb_calloc(1, sizeof(*sub));

	if (sb_event_new(&sub->fd, error_r) < 0) {
		free(sub);
		return -1;
	}
	sub->mailbox_id = mailbox_id;
	pthread_mutex_lock(&hub->lock);
	sub->next = hub->subs;
	hub->subs = sub;
	pthread_mutex_unlock(&hub->lock);
	*sub_r = sub;
	return 0;
}

int
store_subscribe_ops(struct store_hub *hub, int64_t account_id,
                    struct store_sub **sub_r, const char **error_r)
{
	return store_subscribe(hub, store_ops_key(account_id), sub_r, error_r);
}

int
store_subscribe_outbox(struct store_hub *hub, int64_t account_id,
                       struct store_sub **sub_r, const char **error_r)
{
	return store_subscribe(hub, store_outbox_key(account_id), sub_r,
	                       error_r);
}

int
store_sub_fd(const struct store_sub *sub)
{
	return sub->fd;
}

void
store_unsubscribe(struct store_hub *hub, struct store_sub **subp)
{
	struct store_sub *sub = *subp, **pp;

	if (sub == NULL)
		return;
	pthread_mutex_lock(&hub->lock);
	for (pp = &hub->subs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == sub) {
			*pp = sub->next;
			break;
		}
	}
	pthread_mutex_unlock(&hub->lock);
	sb_event_close(&sub->fd);
	free(sub);
	*subp = NULL;
}

void
store_hub_notify(struct store_hub *hub, const int64_t *mailbox_ids,
                 size_t count)
{
	struct store_sub *sub;
	size_t i;

	pthread_mutex_lock(&hub->lock);
	for (sub = hub->subs; sub != NULL; sub = sub->next) {
		for (i = 0; i < count; i++) {
			/* Op queues (negative ids) only to their own. */
			if ((sub->mailbox_id == 0 && mailbox_ids[i] > 0) ||
			    sub->mailbox_id == mailbox_ids[i]) {
				sb_event_signal(sub->fd);
				break;
			}
		}
	}
	pthread_mutex_unlock(&hub->lock);
}
