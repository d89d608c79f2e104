/* SPDX-License-Identifier: MIT
 * mrg_live: the merger's live window in memory — every row of sessions_all
 * (live sessions and retired folds), the endpoints, and what is derived from
 * them (edges, services, hosts, groups, meta totals, the epoch's usage per
 * edge) — as C hash tables, kept equal to what docs/SCHEMA.md defines as the
 * derived tables of those rows (mrg_db_refresh_full recomputes the same rows
 * in SQL; test_mrg_refresh compares both after every epoch). Each session
 * delta is applied in C (the edge rule of mrg_rule.h, per session); mrg_db
 * then writes only the rows that changed, once per epoch, visiting them
 * here.
 *
 * One epoch: mrg_live_epoch_begin, mrg_live_put_endpoint for each endpoint
 * row, then mrg_live_add_session for each distinct delta (mrg_db
 * deduplicates; each delta is decided at once, with the endpoints as the
 * epoch leaves them), mrg_live_derive, the visitors (writes),
 * mrg_live_changes_done; then
 * mrg_live_retire with the cut of mrg_rollup, the visitors again,
 * mrg_live_changes_done. Memory is bounded by a memcap: past it, new rows are
 * refused (counted), and past MRG_LIVE_EVICT_AT of it the oldest live
 * sessions are retired early at the end of the epoch (counted), which changes
 * no derived row, except that a session with deltas after its early
 * retirement is a new row and counts again in its edge's sessions (as after
 * an idle retirement; test_merger_memcap.sh).
 *
 * Contract: single-threaded, owned by mrg_db. Addresses are 16 bytes
 * (cmn_ip.h); texts handed to visitors are borrowed until the visitor
 * returns. Times are ns.
 */
#ifndef MRG_LIVE_H
#define MRG_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"

#define MRG_LIVE_MEMCAP_DEFAULT (4ull << 30) /* bytes, merger key memcap_mb */
#define MRG_LIVE_EVICT_AT       0.9          /* share of memcap that starts eviction */
#define MRG_LIVE_EVICT_TO       0.8          /* share of memcap eviction brings it down to */

struct mrg_live;

struct mrg_live_config {
    uint64_t memcap; /* bytes; 0: MRG_LIVE_MEMCAP_DEFAULT */
    uint64_t seed;   /* hash seed */
};

struct mrg_live_stats {
    uint64_t bytes;            /* memory held */
    uint64_t hosts;            /* addresses known */
    uint64_t sessions;         /* live session rows */
    uint64_t retired_rows;     /* retired fold rows */
    uint64_t endpoints;        /* endpoint objects (reported or referenced) */
    uint64_t edges;            /* edge objects (shown or not) */
    uint64_t groups;           /* group rows */
    uint64_t sessions_evicted; /* live sessions retired early for the memcap */
    uint64_t refused;          /* deltas and endpoint rows refused for the memcap */
};

/* One row of sessions_all (a session, or a retired fold: retired > 0). */
struct mrg_live_row {
    const char *a_ip, *b_ip; /* export texts */
    int32_t a_port, b_port;  /* ports, -1 on a retired row's client side */
    uint8_t proto, flags;    /* IP protocol, CMN_SESS_* */
    uint32_t epochs;         /* epoch deltas merged */
    uint32_t retired;        /* sessions folded in; 0 for a live session */
    uint64_t pkts[2], bytes[2], syn[2], synack[2], ack[2], fin[2], rst[2]; /* [CMN_DIR_*] */
    uint64_t first_ns, last_ns;                                            /* times */
};

/* An endpoints-table key (deletions). */
struct mrg_live_ep_key {
    const char *ip; /* export text */
    uint8_t proto;  /* IP protocol */
    uint16_t port;  /* port */
};

/* One edges row. */
struct mrg_live_edge {
    const char *client_ip, *server_ip;      /* export texts */
    const uint8_t *client_key, *server_key; /* 16-byte sort keys */
    uint8_t proto;                          /* IP protocol */
    uint16_t server_port;                   /* the service's port */
    uint64_t pkts_c2s, bytes_c2s;           /* client -> server */
    uint64_t pkts_s2c, bytes_s2c;           /* server -> client */
    uint64_t sessions, first_ns, last_ns;   /* distinct client ports + retired, times */
};

/* One services row. */
struct mrg_live_service {
    const char *ip;                /* export text */
    const uint8_t *key;            /* sort key */
    uint8_t proto;                 /* IP protocol */
    uint16_t port;                 /* port */
    uint64_t clients, pkts, bytes; /* over its shown edges */
    double confidence;             /* the endpoint's */
    uint64_t first_ns, last_ns;    /* the endpoint's */
};

/* One hosts row. */
struct mrg_live_host {
    const char *ip;             /* export text */
    const uint8_t *key;         /* sort key */
    const char *name;           /* host_names name, or NULL */
    const uint8_t *addr;        /* the 16-byte address (network text) */
    uint64_t provided, used;    /* services provided, edges as client */
    uint64_t po, bo, pi, bi;    /* packets / bytes out, in */
    uint64_t first_ns, last_ns; /* times */
};

/* One groups row. */
struct mrg_live_group {
    const char *ip;                /* the group address's text */
    uint8_t proto;                 /* IP protocol */
    uint16_t port;                 /* the group side's port */
    uint64_t senders, pkts, bytes; /* distinct senders, both directions */
    uint64_t first_ns, last_ns;    /* times */
};

/* One usage_edges row of the epoch (this commit's deltas). */
struct mrg_live_usage {
    const char *server_ip, *client_ip;                           /* export texts */
    uint8_t proto;                                               /* IP protocol */
    uint16_t server_port;                                        /* port */
    uint64_t pkts_c2s, bytes_c2s, pkts_s2c, bytes_s2c, sessions; /* sums, deltas */
};

/* meta totals over sessions_all. */
struct mrg_live_totals {
    uint64_t pkts, bytes;       /* both directions */
    bool any;                   /* some row: first/last valid */
    uint64_t first_ns, last_ns; /* times */
};

/* Visitors: return 0 to go on, non-zero to stop (the visit returns -EIO).
 * `put` false: the row is to be deleted (key fields only). */
typedef int (*mrg_live_row_fn)(void *ctx, const struct mrg_live_row *r, bool put);
typedef int (*mrg_live_ep_fn)(void *ctx, const struct mrg_live_ep_key *k);
typedef int (*mrg_live_edge_fn)(void *ctx, const struct mrg_live_edge *e, bool put);
typedef int (*mrg_live_service_fn)(void *ctx, const struct mrg_live_service *s, bool put);
typedef int (*mrg_live_host_fn)(void *ctx, const struct mrg_live_host *h);
typedef int (*mrg_live_group_fn)(void *ctx, const struct mrg_live_group *g);
typedef int (*mrg_live_usage_fn)(void *ctx, const struct mrg_live_usage *u);
typedef int (*mrg_live_epw_fn)(void *ctx, const struct cmn_endpoint_rec *e, float conf);

/* New, empty window. Aborts when out of memory at start. */
struct mrg_live *mrg_live_new(const struct mrg_live_config *cfg);

/* Free; accepts NULL and NULLs the caller's pointer. */
void mrg_live_destroy(struct mrg_live **lv);

/* Start applying one commit (an epoch, or late results for it). */
void mrg_live_epoch_begin(struct mrg_live *lv);

/* Apply one distinct session delta (after the commit's endpoint rows):
 * counters, hosts, groups, totals, its row's server side, edge and usage. 0,
 * or -ENOSPC when the memcap refused a new row (counted; not applied). */
int mrg_live_add_session(struct mrg_live *lv, const struct cmn_session_rec *r);

/* Replace the endpoint (e->ip, proto, port) with row e (confidence already
 * clamped to [0, 1] by the caller, as stored). Returns 1 when the caller is
 * to write the endpoints row now (not `defer`, or the endpoint is or was a
 * server: services read it), 0 when the row waits for the next checkpoint
 * (copied; mrg_live_visit_endpoints), -ENOSPC when refused (counted). */
int mrg_live_put_endpoint(struct mrg_live *lv, const struct cmn_endpoint_rec *e, float conf,
                          bool defer);

/* Decide the server side of every row the commit can have changed (its
 * deltas, the rows of endpoints that became or stopped being servers or
 * whose confidence decides), and update edges, services, hosts, groups and
 * totals. */
void mrg_live_derive(struct mrg_live *lv);

/* Retire every live session with last_ns < cut (folded per pair, proto and
 * server port into retired rows, docs/SCHEMA.md), delete non-server
 * endpoint rows with last_ns < cut, then retire the oldest sessions while
 * memory is past MRG_LIVE_EVICT_AT of the memcap. No derived row changes
 * (but a self-edge's distinct client ports: they are recounted). */
void mrg_live_retire(struct mrg_live *lv, bool cut_valid, uint64_t cut);

/* Per-session detail changed since the last mrg_live_detail_done (the
 * checkpoint set, written together so that sessions_all is whole in the
 * tables): session rows (put: changed; delete: retired), retired folds,
 * endpoint rows waiting (mrg_live_put_endpoint deferred them) and deleted.
 * Each returns 0 or -EIO (a visitor stopped). */
int mrg_live_visit_sessions(struct mrg_live *lv, mrg_live_row_fn fn, void *ctx);
int mrg_live_visit_retired(struct mrg_live *lv, mrg_live_row_fn fn, void *ctx);
int mrg_live_visit_endpoints(struct mrg_live *lv, mrg_live_epw_fn fn, void *ctx);
int mrg_live_visit_endpoint_deletes(struct mrg_live *lv, mrg_live_ep_fn fn, void *ctx);

/* Forget the detail lists (written and committed); whether any is left. */
void mrg_live_detail_done(struct mrg_live *lv);
bool mrg_live_detail_pending(const struct mrg_live *lv);

/* Aggregates changed since the last mrg_live_changes_done, written every
 * commit: edges (delete: no longer shown), services, hosts, groups, the
 * commit's usage rows. Each returns 0 or -EIO. */
int mrg_live_visit_edges(struct mrg_live *lv, mrg_live_edge_fn fn, void *ctx);
int mrg_live_visit_services(struct mrg_live *lv, mrg_live_service_fn fn, void *ctx);
int mrg_live_visit_hosts(struct mrg_live *lv, mrg_live_host_fn fn, void *ctx);
int mrg_live_visit_groups(struct mrg_live *lv, mrg_live_group_fn fn, void *ctx);
int mrg_live_visit_usage(struct mrg_live *lv, mrg_live_usage_fn fn, void *ctx);

/* Forget the aggregate change lists (after they were written). */
void mrg_live_changes_done(struct mrg_live *lv);

/* meta totals (packets, bytes, first_seen_ns, last_seen_ns). */
void mrg_live_totals(const struct mrg_live *lv, struct mrg_live_totals *out /* OUT */);

/* Name of address ip for hosts.name (host_names: the first name per address
 * wins, the caller decides); NULL clears. Changes no change list. */
void mrg_live_set_name(struct mrg_live *lv, const uint8_t ip[16], const char *name);

/* Reload (a restarted merger): one row of sessions (retired == 0) or of
 * sessions_retired, one endpoints row (role, stored confidence, times), as
 * stored. Then mrg_live_load_done derives everything and puts every derived
 * row in the change lists (the caller rewrites the derived tables). 0 or
 * -ENOSPC (memcap) / -EINVAL (a duplicate key). */
int mrg_live_load_row(struct mrg_live *lv, const uint8_t a_ip[16], const uint8_t b_ip[16],
                      int32_t a_port, int32_t b_port, const struct mrg_live_row *r);
int mrg_live_load_endpoint(struct mrg_live *lv, const uint8_t ip[16], uint8_t proto, uint16_t port,
                           uint8_t role, double conf, uint64_t first_ns, uint64_t last_ns);
void mrg_live_load_done(struct mrg_live *lv);

void mrg_live_get_stats(const struct mrg_live *lv, struct mrg_live_stats *out /* OUT */);

/* Change the memcap (bytes; 0: the default). */
void mrg_live_set_memcap(struct mrg_live *lv, uint64_t memcap);

#endif /* MRG_LIVE_H */
