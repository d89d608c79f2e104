/* SPDX-License-Identifier: MIT
 * col_batch: two rte_rings (free, full) over a fixed array of batches. Both
 * rings are SP/SC: exactly one RX thread and one sender thread use them, so
 * enqueue/dequeue are a few loads and stores, no locked instructions.
 */
#define CMN_LOG_TAG "batch"
#include <stdio.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_ring.h>

#include "cmn_log.h"
#include "col_batch.h"

struct col_queue {
    struct rte_ring *free_r; /* empty batches, RX dequeues */
    struct rte_ring *full_r; /* filled batches, sender dequeues */
    uint32_t nbatches;       /* batches owned */
    struct col_batch **all;  /* every batch, for destroy */
};

struct col_queue *col_queue_new(const char *name, uint32_t nbatches, uint32_t batch_records)
{
    char rn[RTE_RING_NAMESIZE];
    struct col_queue *q = calloc(1, sizeof(*q));
    if (!q)
        goto err;
    q->nbatches = nbatches;
    q->all = calloc(nbatches, sizeof(*q->all));
    if (!q->all)
        goto err;
    uint32_t size = rte_align32pow2(nbatches + 1);
    snprintf(rn, sizeof(rn), "%s_f", name);
    q->free_r = rte_ring_create(rn, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(rn, sizeof(rn), "%s_q", name);
    q->full_r = rte_ring_create(rn, size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!q->free_r || !q->full_r) {
        CMN_LOG(ERR, "cannot create rings for %s: %s", name, rte_strerror(rte_errno));
        goto err;
    }
    for (uint32_t i = 0; i < nbatches; i++) {
        q->all[i] =
            malloc(sizeof(struct col_batch) + (size_t)batch_records * sizeof(struct cmn_record));
        if (!q->all[i])
            goto err;
        q->all[i]->n = 0;
        q->all[i]->cap = batch_records;
        q->all[i]->opened_ns = 0;
        rte_ring_sp_enqueue(q->free_r, q->all[i]);
    }
    return q;
err:
    if (!q || !q->all)
        CMN_LOG(ERR, "out of memory for %u batches of %u records", nbatches, batch_records);
    col_queue_destroy(&q);
    return NULL;
}

void col_queue_destroy(struct col_queue **qp)
{
    if (!qp || !*qp)
        return;
    struct col_queue *q = *qp;
    if (q->all)
        for (uint32_t i = 0; i < q->nbatches; i++)
            free(q->all[i]);
    free(q->all);
    rte_ring_free(q->free_r);
    rte_ring_free(q->full_r);
    free(q);
    *qp = NULL;
}

struct col_batch *col_queue_get(struct col_queue *q)
{
    void *b;
    if (rte_ring_sc_dequeue(q->free_r, &b) != 0)
        return NULL;
    struct col_batch *bt = b;
    bt->n = 0;
    return bt;
}

void col_queue_submit(struct col_queue *q, struct col_batch *b)
{
    int rc = rte_ring_sp_enqueue(q->full_r, b);
    (void)CMN_NEVER(rc != 0); /* the ring holds every batch */
}

struct col_batch *col_queue_take(struct col_queue *q)
{
    void *b;
    if (rte_ring_sc_dequeue(q->full_r, &b) != 0)
        return NULL;
    return b;
}

void col_queue_release(struct col_queue *q, struct col_batch *b)
{
    int rc = rte_ring_sp_enqueue(q->free_r, b);
    (void)CMN_NEVER(rc != 0);
}
