/* SPDX-License-Identifier: MIT
 * col_batch: a fixed array of batches in one prefaulted region (transparent
 * huge pages where allowed), a single-producer/single-consumer ring
 * of filled batches (RX -> sender: one acquire load and one release store per
 * side) and a mutex-guarded LIFO of free ones. The free list is touched once
 * per batch (thousands of records), by RX and by whoever releases (sender,
 * ZeroMQ's I/O thread), so an uncontended mutex costs nothing measurable and,
 * unlike a spin lock, cannot burn RX's core while a preempted holder sleeps
 * on a 2-core host. LIFO order keeps the few batches in use warm in cache.
 */
#define CMN_LOG_TAG "batch"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cmn_log.h"
#include "cmn_wire.h"
#include "col_batch.h"

#define COL_HUGE (2u << 20) /* huge page size and alignment of the batch memory */

struct col_queue {
    /* filled ring: head written by RX only, tail by the sender only */
    _Alignas(64) uint32_t head;    /* next slot RX writes (atomic) */
    _Alignas(64) uint32_t tail;    /* next slot the sender reads (atomic) */
    _Alignas(64) uint32_t mask;    /* ring size - 1 (power of two > nbatches) */
    struct col_batch **ring;       /* filled batches in submit order */
    pthread_mutex_t lock;          /* guards nfree and free_stack */
    uint32_t nfree;                /* entries in free_stack */
    struct col_batch **free_stack; /* free batches, top = most recently released */
    uint32_t nbatches;             /* batches owned */
    struct col_batch **all;        /* every batch, at mem + i * stride */
    void *mem;                     /* one region for all batches */
};

struct col_queue *col_queue_new(uint32_t nbatches, uint32_t batch_records)
{
    struct col_queue *q = calloc(1, sizeof(*q));
    if (!q)
        goto err;
    uint32_t size = 1;
    while (size <= nbatches)
        size <<= 1;
    q->mask = size - 1;
    q->nbatches = nbatches;
    q->ring = calloc(size, sizeof(*q->ring));
    q->free_stack = calloc(nbatches, sizeof(*q->free_stack));
    q->all = calloc(nbatches, sizeof(*q->all));
    if (!q->ring || !q->free_stack || !q->all)
        goto err;
    pthread_mutex_init(&q->lock, NULL);
    size_t stride = sizeof(struct col_batch) + (size_t)batch_records * sizeof(struct cmn_record) +
                    COL_BATCH_TAILROOM;
    stride = (stride + 63) & ~(size_t)63;
    /* One 2 MiB-aligned region, transparent huge pages where allowed, every
     * page touched now: a page fault (or a TLB miss per 4 KiB) on the RX
     * path costs more than the record it delays, and the deep batches are
     * reached exactly when RX is already behind. */
    size_t total = (stride * nbatches + COL_HUGE - 1) & ~(size_t)(COL_HUGE - 1);
    q->mem = aligned_alloc(COL_HUGE, total);
    if (!q->mem)
        goto err;
    (void)madvise(q->mem, total, MADV_HUGEPAGE); /* advisory: 4 KiB pages work too */
    memset(q->mem, 0, total);
    for (uint32_t i = 0; i < nbatches; i++) {
        struct col_batch *b = (struct col_batch *)((uint8_t *)q->mem + i * stride);
        b->cap = batch_records;
        b->q = q;
        q->all[i] = b;
        q->free_stack[nbatches - 1 - i] = b;
    }
    q->nfree = nbatches;
    return q;
err:
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
        pthread_mutex_destroy(&q->lock);
    free(q->mem);
    free(q->all);
    free(q->free_stack);
    free(q->ring);
    free(q);
    *qp = NULL;
}

struct col_batch *col_queue_get(struct col_queue *q)
{
    struct col_batch *b = NULL;
    /* RX is the only taker: an empty list seen here stays empty until a
     * release, so a dropping RX thread does not take the lock per look. */
    if (__atomic_load_n(&q->nfree, __ATOMIC_RELAXED) == 0)
        return NULL;
    pthread_mutex_lock(&q->lock);
    if (q->nfree > 0) {
        b = q->free_stack[q->nfree - 1];
        __atomic_store_n(&q->nfree, q->nfree - 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&q->lock);
    if (b)
        b->n = 0;
    return b;
}

void col_queue_submit(struct col_queue *q, struct col_batch *b)
{
    uint32_t h = q->head; /* only RX writes head */
    uint32_t t = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
    if (CMN_NEVER(h - t > q->mask)) /* the ring holds every batch */
        return;
    q->ring[h & q->mask] = b;
    __atomic_store_n(&q->head, h + 1, __ATOMIC_RELEASE);
}

struct col_batch *col_queue_take(struct col_queue *q)
{
    uint32_t t = q->tail; /* only the sender writes tail */
    if (__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == t)
        return NULL;
    struct col_batch *b = q->ring[t & q->mask];
    __atomic_store_n(&q->tail, t + 1, __ATOMIC_RELEASE);
    return b;
}

void col_queue_release(struct col_queue *q, struct col_batch *b)
{
    pthread_mutex_lock(&q->lock);
    if (!CMN_NEVER(q->nfree >= q->nbatches)) { /* released twice */
        q->free_stack[q->nfree] = b;
        __atomic_store_n(&q->nfree, q->nfree + 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&q->lock);
}

uint32_t col_queue_free_count(struct col_queue *q)
{
    pthread_mutex_lock(&q->lock);
    uint32_t n = q->nfree;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void col_batch_free(void *data, void *hint)
{
    (void)data;
    struct col_batch *b = hint;
    col_queue_release(b->q, b);
}

size_t col_batch_frame(struct col_batch *b, uint32_t collector_id, uint64_t seq, uint8_t **start)
{
    return cmn_wire_frame_batch((uint8_t *)b->rec, b->n, collector_id, seq, b->n ? b->first_ts : 0,
                                b->n ? b->last_ts : 0, start);
}
