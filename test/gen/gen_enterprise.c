// SPDX-License-Identifier: MIT
// renkei-gen: synthetic enterprise traffic with ground truth. Builds offices of
// PCs and a data centre of servers (multi-tier apps, infrastructure services),
// schedules TCP/UDP sessions to hit a packet target, interleaves them in time
// order through a heap, writes a classic pcap and a truth JSON that follows
// the export contract (docs: /work/shared/EXPORT_SCHEMA.md) so that
// test/gen/score.py can grade renkei's export against it.
#include "gen_pkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_US       1000LL
#define NS_MS       1000000LL
#define NS_S        1000000000LL
#define EPH_LO      32768 /* Linux ip_local_port_range */
#define EPH_HI      60999
#define SEG_GAP_NS  (12 * NS_US) /* back-to-back 1500 B frames at 1 Gbit/s */
#define FRAG_MTU_V4 1480         /* IPv4 fragment payload (multiple of 8) */
#define PCS_PER_OFF 50           /* PCs per office /24 */
#define MIN_SERVERS 9

/* ---- PRNG: splitmix64, one 64-bit word of state per stream ---- */

static uint64_t s_rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double s_unif(uint64_t *x)
{
    return (double)(s_rnd(x) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [lo, hi]. */
static uint32_t s_range(uint64_t *x, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(((s_rnd(x) >> 32) * ((uint64_t)hi - lo + 1)) >> 32);
}

/* Log-uniform integer in [lo, hi]: many small, some large, like real sizes. */
static uint32_t s_logu(uint64_t *x, uint32_t lo, uint32_t hi)
{
    double v;
    if (lo >= hi)
        return lo;
    v = exp(log((double)lo) + s_unif(x) * (log((double)hi) - log((double)lo)));
    if (v < lo)
        v = lo;
    if (v > hi)
        v = hi;
    return (uint32_t)v;
}

/* ---- traffic profiles ---- */

enum kind { K_TCP, K_UDP, K_SCAN, K_FLOOD, K_PROBE, K_RAW };

enum prof {
    P_DNS,
    P_KRB_U,
    P_KRB_T,
    P_LDAP,
    P_NTP,
    P_SMB,
    P_SYSLOG,
    P_IMAP,
    P_IMAPS,
    P_SMTP,
    P_SSH,
    P_HTTP,
    P_HTTPS,
    P_APP,
    P_DB,
    P_MQ,
    P_FTP,
    P_FTPD,
    P_MON,
    P_SCAN,
    P_FLOOD,
    P_PROBE,
    P_P2P,
    P_FTPP,
    P_LOWC,
    P_RAW,  /* one scripted packet (struct raw): traceroute, ICMP, broadcast, multicast */
    P_DHCP, /* a client's unicast DHCP packets (struct raw): its edge to udp/67 */
    P_COUNT
};

struct profile {
    uint8_t kind;             /* enum kind */
    uint8_t proto;            /* 6 or 17 */
    uint16_t port;            /* default server port */
    uint16_t exch_min;        /* request/response exchanges per session */
    uint16_t exch_max;        /* " */
    uint32_t req_min;         /* request bytes (log-uniform) */
    uint32_t req_max;         /* " */
    uint32_t resp_min;        /* response bytes; resp_max 0 = one-way */
    uint32_t resp_max;        /* " */
    uint32_t think_min_us;    /* gap between exchanges */
    uint32_t think_max_us;    /* " */
    uint32_t proc_min_us;     /* server processing before a response */
    uint32_t proc_max_us;     /* " */
    uint8_t rst_pct;          /* sessions torn down by RST */
    uint8_t srv_close_pct;    /* sessions the server closes with FIN */
    uint8_t big_pct;          /* UDP responses above the MTU (--fragments) */
    uint8_t server_initiates; /* active FTP data: the server sends the SYN */
};

/* clang-format off */
static const struct profile PROF[P_COUNT] = {
    [P_DNS]    = {K_UDP, 17, 53,    1, 1,    28, 60,     45, 300,    0, 0,            100, 2000,    0, 0, 5, 0},
    [P_KRB_U]  = {K_UDP, 17, 88,    1, 2,    180, 400,   500, 1400,  1000, 20000,     200, 3000,    0, 0, 25, 0},
    [P_KRB_T]  = {K_TCP, 6, 88,     1, 2,    1200, 2000, 1300, 3000, 1000, 20000,     200, 3000,    0, 0, 0, 0},
    [P_LDAP]   = {K_TCP, 6, 389,    2, 12,   60, 400,    100, 4000,  2000, 200000,    100, 5000,    5, 10, 0, 0},
    [P_NTP]    = {K_UDP, 17, 123,   1, 1,    48, 48,     48, 48,     0, 0,            20, 200,      0, 0, 0, 0},
    [P_SMB]    = {K_TCP, 6, 445,    5, 60,   80, 4000,   100, 32768, 20000, 2000000,  100, 3000,    3, 0, 0, 0},
    [P_SYSLOG] = {K_UDP, 17, 514,   5, 80,   60, 600,    0, 0,       50000, 2000000,  0, 0,         0, 0, 0, 0},
    [P_IMAP]   = {K_TCP, 6, 143,    3, 30,   20, 200,    40, 20000,  500000, 30000000, 200, 5000,   5, 5, 0, 0},
    [P_IMAPS]  = {K_TCP, 6, 993,    3, 30,   20, 200,    40, 20000,  500000, 30000000, 200, 5000,   5, 5, 0, 0},
    [P_SMTP]   = {K_TCP, 6, 587,    6, 10,   20, 30000,  20, 200,    2000, 50000,     500, 20000,   0, 30, 0, 0},
    [P_SSH]    = {K_TCP, 6, 22,     20, 300, 36, 120,    36, 1200,   50000, 3000000,  100, 2000,    2, 0, 0, 0},
    [P_HTTP]   = {K_TCP, 6, 80,     1, 4,    300, 800,   300, 30000, 10000, 500000,   1000, 50000,  5, 40, 0, 0},
    [P_HTTPS]  = {K_TCP, 6, 443,    2, 12,   200, 1500,  200, 60000,  10000, 1000000, 1000, 50000,  15, 10, 0, 0},
    [P_APP]    = {K_TCP, 6, 8080,   1, 3,    200, 2000,  200, 20000, 1000, 10000,     1000, 30000,  0, 0, 0, 0},
    [P_DB]     = {K_TCP, 6, 5432,   1, 20,   60, 1000,   60, 30000,  200, 5000,       200, 10000,   0, 0, 0, 0},
    [P_MQ]     = {K_TCP, 6, 5672,   2, 20,   100, 3000,  20, 200,    1000, 50000,     100, 1000,    0, 0, 0, 0},
    [P_FTP]    = {K_TCP, 6, 21,     6, 12,   6, 40,      20, 120,    100000, 1000000, 100, 2000,    0, 0, 0, 0},
    [P_FTPD]   = {K_TCP, 6, 20,     1, 1,    1000, 200000, 0, 0,     0, 0,            0, 0,         0, 0, 0, 1},
    [P_MON]    = {K_TCP, 6, 10050,  1, 1,    20, 40,     100, 800,   0, 0,            200, 2000,    0, 0, 0, 0},
    [P_SCAN]   = {K_SCAN, 6, 0,     0, 0,    0, 0,       0, 0,       0, 0,            0, 0,         0, 0, 0, 0},
    [P_FLOOD]  = {K_FLOOD, 6, 443,  0, 0,    0, 0,       0, 0,       0, 0,            0, 0,         0, 0, 0, 0},
    [P_PROBE]  = {K_PROBE, 6, 0,    0, 0,    0, 0,       0, 0,       0, 0,            0, 0,         0, 0, 0, 0},
    [P_P2P]    = {K_TCP, 6, 0,      2, 8,    100, 2000,  100, 20000, 10000, 500000,   100, 5000,    0, 10, 0, 0},
    [P_FTPP]   = {K_TCP, 6, 0,      1, 1,    1000, 200000, 0, 0,     0, 0,            0, 0,         0, 0, 0, 0},
    [P_LOWC]   = {K_TCP, 6, 50020,  20, 40,  100, 800,   100, 3000,  100000, 400000,  100, 2000,    0, 0, 0, 0},
    [P_RAW]    = {K_RAW, 17, 0,     0, 0,    0, 0,       0, 0,       0, 0,            0, 0,         0, 0, 0, 0},
    [P_DHCP]   = {K_RAW, 17, 67,    0, 0,    0, 0,       0, 0,       0, 0,            0, 0,         0, 0, 0, 0},
};
/* clang-format on */

/* ---- model ---- */

enum role { R_PC, R_DC, R_FILE, R_LOG, R_MAIL, R_NMS, R_WEB, R_APP, R_DB, R_MQ, R_EXT };

struct host {
    uint8_t v6;         /* address family */
    uint8_t addr[16];   /* network order; IPv4 in the first 4 bytes */
    uint8_t mac[6];     /* station MAC derived from the index */
    uint8_t ttl;        /* TTL / hop limit as seen at the core */
    uint8_t role;       /* enum role of the owning machine */
    uint16_t vlan;      /* office VLAN for --vlan, 0 = untagged */
    uint16_t ipid;      /* IPv4 identification counter */
    uint16_t port_next; /* ephemeral port cursor */
    uint16_t last_port; /* last ephemeral port freed, candidate for reuse */
    int64_t last_free;  /* when last_port was freed (ns) */
    int64_t rtt;        /* round trip capture point <-> host (ns) */
    uint64_t pk_out;    /* truth: packets sent */
    uint64_t by_out;    /* truth: IP bytes sent */
    uint64_t pk_in;     /* truth: packets received */
    uint64_t by_in;     /* truth: IP bytes received */
    uint8_t is_server;  /* truth: server side of a counted edge */
    uint8_t is_client;  /* truth: client side of a counted edge */
};

struct machine {
    uint32_t h4;  /* IPv4 host index */
    uint32_t h6;  /* IPv6 host index or UINT32_MAX */
    uint8_t role; /* enum role */
    uint16_t grp; /* application group (tiers), office for PCs */
};

struct edge {
    uint32_t ch;       /* client host */
    uint32_t sh;       /* server host */
    uint16_t port;     /* server port (0 for the scan's noise edge) */
    uint16_t cport;    /* fixed client port, 0 = ephemeral per session */
    uint8_t prof;      /* enum prof */
    uint8_t noise;     /* scan/flood traffic: counts in totals only */
    int32_t link;      /* FTP control: its data edge, else -1 */
    int32_t event;     /* noise: index into events, else -1 */
    double weight;     /* relative session rate */
    uint64_t pk[2];    /* truth packets: [0] client->server, [1] server->client */
    uint64_t by[2];    /* truth IP bytes, same directions */
    uint64_t creal;    /* truth: client packets that are not a pure SYN or an RST */
    uint32_t sessions; /* truth: distinct client ports (filled at the end) */
};

struct event {
    const char *kind; /* "port_scan", "syn_flood" */
    uint32_t target;  /* host index */
    uint32_t source;  /* scanner host index, UINT32_MAX for many */
    uint16_t port;    /* attacked port, 0 = many */
    uint32_t sources; /* distinct source addresses */
    uint64_t packets; /* packets both ways */
    int64_t first;    /* ns */
    int64_t last;     /* ns */
};

struct spec {
    int64_t start;  /* ns from capture start; negative = already running */
    uint32_t edge;  /* edge index */
    uint32_t seed;  /* per-session PRNG seed */
    uint32_t order; /* creation order: stable tie-break */
    uint16_t port;  /* responder port override (scan probes) */
    uint8_t open;   /* scan probe: the port answers SYN+ACK */
    uint8_t probe;  /* P_PROBE sessions: enum probe */
    uint8_t brief;  /* --cover: one exchange of the smallest sizes */
    uint32_t raw;   /* P_RAW / P_DHCP: index + 1 into gen.raws, else 0 */
};

/* One scripted packet (P_RAW, P_DHCP specs): a datagram, or an ICMP error
 * quoting the first bytes of a datagram (traceroute, closed ports). */
struct raw {
    uint32_t src, dst;     /* host indexes */
    uint8_t proto;         /* 17, 1 (ICMP) or 58 (ICMPv6) */
    uint8_t ttl;           /* TTL / hop limit, 0 = the source's */
    uint8_t payload;       /* enum gen_payload of a datagram */
    uint8_t dir;           /* P_DHCP: 0 client -> server, 1 back */
    uint8_t icmp_type;     /* ICMP: error type and code */
    uint8_t icmp_code;     /* " */
    uint8_t qttl;          /* ICMP: the quoted datagram's TTL */
    uint16_t sport, dport; /* datagram ports, or the quoted datagram's */
    uint16_t len;          /* datagram payload, or the quoted datagram's */
    uint32_t qsrc, qdst;   /* ICMP: the quoted datagram's hosts */
    uint32_t grp;          /* index + 1 into gen.groups when dst is a group */
};

/* Truth of traffic to a broadcast / multicast address (EXPORT_SCHEMA groups). */
#define GROUP_SENDERS_MAX 256
struct group {
    uint32_t host;                    /* group address's host index */
    uint8_t proto;                    /* 17 */
    uint16_t port;                    /* group-side port */
    uint64_t pk, by;                  /* packets, IP bytes */
    uint32_t nsend;                   /* distinct senders */
    uint32_t send[GROUP_SENDERS_MAX]; /* their host indexes */
};

/* --probes: what a P_PROBE session sends (docs: probers are no clients). */
enum probe {
    PR_HALF,    /* SYN, the port's SYN+ACK, RST: half-open */
    PR_CONNECT, /* SYN, SYN+ACK, ACK, RST+ACK: a connect scan, nothing else sent */
    PR_FIN,     /* one FIN, unanswered by an open port */
    PR_NULL,    /* one segment without flags */
    PR_XMAS     /* FIN+PSH+URG */
};

enum st {
    ST_SYN,
    ST_SYNACK,
    ST_HSACK,
    ST_REQ,
    ST_REQ_ACK,
    ST_RESP,
    ST_RESP_ACK,
    ST_FIN1,
    ST_FIN2,
    ST_FIN3,
    ST_RST,
    ST_UREQ,
    ST_URESP,
    ST_SCAN_REPLY,
    ST_SCAN_RST,
    ST_FLOOD_SA,
    ST_FLOOD_SA2,
    ST_PROBE,
    ST_PROBE_ACK,
    ST_PROBE_RST,
    ST_RAW,
    ST_DONE
};

enum close { CL_I_FIN, CL_R_FIN, CL_I_RST, CL_R_RST };

struct sess {
    int64_t t;         /* time of the next packet (ns) */
    uint64_t rng;      /* session PRNG */
    int64_t rtt_i;     /* capture <-> initiator round trip */
    int64_t rtt_r;     /* capture <-> responder round trip */
    uint32_t edge;     /* edge index */
    uint32_t ih;       /* initiator host */
    uint32_t rh;       /* responder host */
    uint32_t iseq;     /* initiator's next sequence number */
    uint32_t rseq;     /* responder's next sequence number */
    uint32_t left;     /* bytes left in the current burst */
    uint32_t resp;     /* response bytes of the current exchange */
    uint32_t frag_off; /* next fragment offset of the current datagram */
    uint32_t flow;     /* IPv6 flow label */
    uint16_t iport;    /* initiator port */
    uint16_t rport;    /* responder port */
    uint16_t exch;     /* exchanges left after the current one */
    uint16_t frag_id;  /* IPv4 id shared by the current datagram's fragments */
    uint8_t st;        /* enum st */
    uint8_t unacked;   /* segments since the receiver last ACKed */
    uint8_t close;     /* enum close */
    uint8_t open;      /* scan probe answered with SYN+ACK */
    uint8_t probe;     /* enum probe (P_PROBE sessions) */
    uint8_t emitted;   /* a packet of it reached the capture */
    uint8_t real[2];   /* side d sent a TCP packet other than a pure SYN or an RST */
    /* truth of this session on its edge, [0] client -> server, [1] back:
     * packets, IP bytes, "real" client packets, and TCP flag counts (packets,
     * SYN, SYN+ACK, ACK, FIN, RST) for the per-session probe rule */
    uint32_t tpk[2];
    uint64_t tby[2];
    uint32_t treal;
    uint32_t fl[2][6];
    uint8_t eph;   /* client port came from the ephemeral allocator */
    uint8_t v6;    /* family of the session */
    uint8_t brief; /* spec's brief: one exchange, smallest request and response */
    uint32_t raw;  /* spec's raw */
};

/* One packet the state machine produced, before addressing. */
struct step {
    int64_t t;         /* capture time (ns) */
    uint32_t seq;      /* TCP */
    uint32_t ack;      /* TCP */
    uint32_t len;      /* TCP payload / UDP datagram payload */
    uint32_t frag_off; /* UDP fragment offset */
    uint32_t frag_len; /* UDP fragment bytes, 0 = whole */
    uint16_t win;      /* TCP window */
    uint8_t dir;       /* 0 initiator->responder, 1 back */
    uint8_t flags;     /* TCP flags */
};

struct opts {
    uint64_t seed;      /* --seed */
    uint64_t packets;   /* --packets, approximate target */
    uint32_t pcs;       /* --pcs */
    uint32_t servers;   /* --servers */
    double duration;    /* --duration seconds */
    int64_t start_ns;   /* --start, ns since the epoch */
    uint32_t snaplen;   /* --snaplen */
    bool nsec;          /* --nsec */
    bool vlan;          /* --vlan */
    bool midstream;     /* --midstream */
    bool monitor;       /* --monitor */
    bool scan;          /* --scan */
    bool flood;         /* --flood */
    bool ftp;           /* --ftp-active */
    bool fragments;     /* --fragments */
    bool probes;        /* --probes */
    bool p2p;           /* --p2p */
    bool ftp_passive;   /* --ftp-passive */
    bool midstream_low; /* --midstream-low */
    bool cover;         /* --cover */
    bool traceroute;    /* --traceroute */
    bool closed_udp;    /* --closed-udp */
    bool dhcp;          /* --dhcp */
    bool multicast;     /* --multicast */
    int ipv6;           /* --ipv6 PCT, -1 = the fixed dual-stack offices and groups */
    const char *out;    /* --out */
    const char *truth;  /* --truth */
    const char *dup;    /* --dup */
};

struct gen {
    struct opts o;                      /* options */
    int64_t dur;                        /* capture length (ns) */
    uint64_t rng;                       /* global PRNG: model, schedule, ports */
    struct host *hosts;                 /* all addresses */
    uint32_t nhosts;                    /* " */
    uint32_t cap_hosts;                 /* " */
    struct machine *mach;               /* PCs then servers */
    uint32_t nmach;                     /* " */
    uint32_t npcs;                      /* first npcs machines are PCs */
    struct edge *edges;                 /* client -> service pairs */
    uint32_t nedges;                    /* " */
    uint32_t cap_edges;                 /* " */
    struct event events[4];             /* scenario events */
    uint32_t nevents;                   /* " */
    struct spec *specs;                 /* scheduled sessions */
    size_t nspecs;                      /* " */
    size_t cap_specs;                   /* " */
    struct sess *pool;                  /* session slots */
    uint32_t npool;                     /* " */
    uint32_t cap_pool;                  /* " */
    uint32_t *free_slots;               /* free slot stack */
    uint32_t nfree;                     /* " */
    uint32_t *heap;                     /* active sessions by next time */
    uint32_t nheap;                     /* " */
    uint64_t *conn;                     /* (edge << 16 | client port) per counted session */
    size_t nconn;                       /* " */
    size_t cap_conn;                    /* " */
    struct gen_pcap *pcap;              /* primary capture */
    struct gen_pcap *dupcap;            /* redundant switch capture, or NULL */
    uint8_t frame[GEN_FRAME_MAX + 64];  /* frame scratch */
    uint8_t dframe[GEN_FRAME_MAX + 64]; /* dup frame scratch */
    int64_t dup_last;                   /* last dup timestamp, keeps the dup file ordered */
    uint64_t meta_pk;                   /* truth: packets */
    uint64_t meta_by;                   /* truth: IP bytes */
    int64_t first;                      /* first packet time */
    int64_t last;                       /* last packet time */
    uint16_t scan_sport;                /* the scanner's fixed source port */
    struct raw *raws;                   /* scripted packets */
    uint32_t nraws;                     /* " */
    uint32_t cap_raws;                  /* " */
    uint32_t raw_edge;                  /* the noise edge raw packets belong to */
    struct group *groups;               /* broadcast / multicast truth */
    uint32_t ngroups;                   /* " */
    uint8_t qbuf[GEN_FRAME_MAX + 64];   /* quoted datagram scratch */
    uint64_t *spoke;                    /* (host << 32 | port): TCP ports that sent a
                                           packet other than a pure SYN or an RST */
    size_t nspoke;                      /* " (sorted, unique after the run) */
    size_t cap_spoke;                   /* " */
};

static void *s_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "renkei-gen: out of memory\n");
        abort();
    }
    return q;
}

static uint32_t s_host_add(struct gen *g, bool v6, const uint8_t *addr, uint8_t ttl, int64_t rtt,
                           uint16_t vlan, uint8_t role)
{
    struct host *h;
    uint32_t i = g->nhosts;

    if (g->nhosts == g->cap_hosts) {
        g->cap_hosts = g->cap_hosts ? 2 * g->cap_hosts : 1024;
        g->hosts = s_xrealloc(g->hosts, g->cap_hosts * sizeof(*g->hosts));
    }
    h = &g->hosts[g->nhosts++];
    memset(h, 0, sizeof(*h));
    h->v6 = v6;
    memcpy(h->addr, addr, v6 ? 16 : 4);
    h->mac[0] = 0x02;
    h->mac[1] = v6 ? 0x06 : 0x04;
    h->mac[2] = (uint8_t)(i >> 24);
    h->mac[3] = (uint8_t)(i >> 16);
    h->mac[4] = (uint8_t)(i >> 8);
    h->mac[5] = (uint8_t)i;
    h->ttl = ttl;
    h->rtt = rtt;
    h->vlan = vlan;
    h->role = role;
    h->ipid = (uint16_t)s_rnd(&g->rng);
    h->port_next = (uint16_t)s_range(&g->rng, EPH_LO, EPH_HI);
    return i;
}

static uint32_t s_edge_add(struct gen *g, uint32_t ch, uint32_t sh, enum prof p, uint16_t port,
                           double weight)
{
    struct edge *e;

    if (g->nedges == g->cap_edges) {
        g->cap_edges = g->cap_edges ? 2 * g->cap_edges : 4096;
        g->edges = s_xrealloc(g->edges, g->cap_edges * sizeof(*g->edges));
    }
    e = &g->edges[g->nedges];
    memset(e, 0, sizeof(*e));
    e->ch = ch;
    e->sh = sh;
    e->prof = (uint8_t)p;
    e->port = port ? port : PROF[p].port;
    e->weight = weight;
    e->link = -1;
    e->event = -1;
    return g->nedges++;
}

/* --ipv6 PCT: whether machine i is dual-stack (a fixed hash of i: about PCT
 * percent of them; 100 all, 0 none). */
static bool s_share(uint32_t i, uint32_t pct)
{
    return (uint32_t)(((uint64_t)(i + 1) * 2654435761u >> 7) % 100) < pct;
}

/* Prefer IPv6 between two dual-stack machines when want6 is set. */
static void s_pair(const struct gen *g, uint32_t cm, uint32_t sm, bool want6, uint32_t *ch,
                   uint32_t *sh)
{
    const struct machine *c = &g->mach[cm], *s = &g->mach[sm];
    if (want6 && c->h6 != UINT32_MAX && s->h6 != UINT32_MAX) {
        *ch = c->h6;
        *sh = s->h6;
    } else {
        *ch = c->h4;
        *sh = s->h4;
    }
}

static uint32_t s_medge(struct gen *g, uint32_t cm, uint32_t sm, enum prof p, uint16_t port,
                        double w, bool want6)
{
    uint32_t ch, sh;
    s_pair(g, cm, sm, want6 || g->o.ipv6 >= 0, &ch, &sh);
    return s_edge_add(g, ch, sh, p, port, w);
}

/* --probes: a PC that uses a web service also probes it from other ports
 * (half-open, connect, FIN); a stealth scanner sends FIN, Null and Xmas to
 * open and closed ports of that server (event stealth_scan); a connect
 * scanner completes handshakes with its open ports, ssh included, and sends
 * nothing else. All noise: no edge, no client; a port only scanners reached
 * is no service. The sessions are scheduled by s_probe_specs. */
static void s_probe_model(struct gen *g, uint32_t npcs)
{
    uint32_t i, k;
    for (i = 0; i < g->nedges; i++) {
        const struct edge *e = &g->edges[i];
        if ((e->prof == P_HTTPS || e->prof == P_HTTP) && !e->noise &&
            g->hosts[e->ch].role == R_PC && !g->hosts[e->sh].v6 && e->ch != g->mach[npcs - 2].h4 &&
            e->ch != g->mach[npcs - 3].h4)
            break;
    }
    if (i == g->nedges)
        return;
    uint32_t ch = g->edges[i].ch, sh = g->edges[i].sh;
    uint16_t port = g->edges[i].port;
    g->edges[i].weight *= 20; /* sure to have sessions */
    k = s_edge_add(g, ch, sh, P_PROBE, port, 0);
    g->edges[k].noise = 1;
    k = s_edge_add(g, g->mach[npcs - 2].h4, sh, P_PROBE, port, 0);
    g->edges[k].noise = 1;
    g->edges[k].event = (int32_t)g->nevents;
    struct event *ev = &g->events[g->nevents++];
    ev->kind = "stealth_scan";
    ev->target = sh;
    ev->source = g->mach[npcs - 2].h4;
    ev->port = 0;
    ev->sources = 1;
    k = s_edge_add(g, g->mach[npcs - 3].h4, sh, P_PROBE, port, 0);
    g->edges[k].noise = 1;
}

/* ---- scripted packets: traceroute, closed ports, DHCP, multicast ---- */

static void s_spec_push(struct gen *g, int64_t start, uint32_t edge, uint16_t port, uint8_t open);
static uint16_t s_port_fresh(struct gen *g, struct host *h);

/* Schedule raw packet r at t on edge (the noise edge when edge is UINT32_MAX). */
static void s_raw_push(struct gen *g, int64_t t, uint32_t edge, const struct raw *r)
{
    if (g->nraws == g->cap_raws) {
        g->cap_raws = g->cap_raws ? 2 * g->cap_raws : 256;
        g->raws = s_xrealloc(g->raws, g->cap_raws * sizeof(*g->raws));
    }
    g->raws[g->nraws++] = *r;
    s_spec_push(g, t < 0 ? 0 : t, edge == UINT32_MAX ? g->raw_edge : edge, 0, 0);
    g->specs[g->nspecs - 1].raw = g->nraws;
}

/* A host for an address that is no machine: router, group, 0.0.0.0. */
static uint32_t s_addr_host(struct gen *g, bool v6, const uint8_t *a, uint8_t ttl)
{
    uint32_t i;
    for (i = 0; i < g->nhosts; i++)
        if (g->hosts[i].v6 == v6 && memcmp(g->hosts[i].addr, a, v6 ? 16 : 4) == 0)
            return i;
    i = s_host_add(g, v6, a, ttl, 500 * NS_US, 0, R_EXT);
    if (v6 && a[0] == 0xff) { /* 33:33 + the group's last 4 bytes */
        static const uint8_t m[2] = {0x33, 0x33};
        memcpy(g->hosts[i].mac, m, 2);
        memcpy(g->hosts[i].mac + 2, a + 12, 4);
    } else if (!v6 && a[0] >= 224 && a[0] < 240) { /* 01:00:5e + 23 bits */
        uint8_t m[6] = {0x01, 0x00, 0x5e, (uint8_t)(a[1] & 0x7f), a[2], a[3]};
        memcpy(g->hosts[i].mac, m, 6);
    } else if (!v6 && a[3] == 255) {
        memset(g->hosts[i].mac, 0xff, 6);
    }
    return i;
}

/* The group of traffic to host gh's (proto, port), created once. */
static uint32_t s_group(struct gen *g, uint32_t gh, uint16_t port)
{
    uint32_t i;
    for (i = 0; i < g->ngroups; i++)
        if (g->groups[i].host == gh && g->groups[i].port == port)
            return i + 1;
    g->groups = s_xrealloc(g->groups, (g->ngroups + 1) * sizeof(*g->groups));
    memset(&g->groups[g->ngroups], 0, sizeof(g->groups[0]));
    g->groups[g->ngroups].host = gh;
    g->groups[g->ngroups].proto = 17;
    g->groups[g->ngroups].port = port;
    return ++g->ngroups;
}

/* A datagram src:sport -> dst:dport of len payload bytes. */
static struct raw s_dgram(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint16_t len,
                          uint8_t payload)
{
    struct raw r;
    memset(&r, 0, sizeof(r));
    r.src = src;
    r.dst = dst;
    r.proto = 17;
    r.sport = sport;
    r.dport = dport;
    r.len = len;
    r.payload = payload;
    return r;
}

/* from's ICMP error about datagram d (port unreachable, or time exceeded
 * when ttl_exceeded), sent to d's source. */
static struct raw s_icmp_err(const struct gen *g, uint32_t from, const struct raw *d,
                             bool ttl_exceeded)
{
    struct raw r = *d;
    bool v6 = g->hosts[d->src].v6;
    r.src = from;
    r.dst = d->src;
    r.qsrc = d->src;
    r.qdst = d->dst;
    r.qttl = d->ttl ? d->ttl : 1;
    r.proto = v6 ? 58 : 1;
    r.ttl = 0;
    r.grp = 0;
    if (ttl_exceeded) {
        r.icmp_type = v6 ? 3 : 11;
        r.icmp_code = 0;
    } else {
        r.icmp_type = v6 ? 1 : 3;
        r.icmp_code = v6 ? 4 : 3;
    }
    return r;
}

/* --traceroute: from host tr to host dst, Linux style: three UDP probes
 * per hop to ports 33434 + n from one source port, TTL 1, 2, 3; the two
 * routers answer time exceeded, the target port unreachable. No service,
 * no edge. */
static void s_trace(struct gen *g, uint32_t tr, uint32_t dst, int64_t t0)
{
    bool v6 = g->hosts[tr].v6;
    uint8_t a1[16] = {10, 255, 255, 1}, a2[16] = {172, 16, 255, 254};
    if (v6) {
        static const uint8_t b1[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0,
                                       0,    0,    0,    0,    0,    0,    0, 1};
        memcpy(a1, b1, 16);
        memcpy(a2, b1, 16);
        a2[15] = 2;
    }
    uint32_t hop[3] = {s_addr_host(g, v6, a1, 255), s_addr_host(g, v6, a2, 254), dst};
    uint16_t sport = s_port_fresh(g, &g->hosts[tr]);
    for (uint32_t n = 0; n < 9; n++) {
        int64_t t = t0 + (int64_t)n * 40 * NS_MS;
        struct raw p = s_dgram(tr, dst, sport, (uint16_t)(33434 + n), 32, GEN_PL_BINARY);
        p.ttl = (uint8_t)(n / 3 + 1);
        s_raw_push(g, t, UINT32_MAX, &p);
        struct raw e = s_icmp_err(g, hop[n / 3], &p, n / 3 < 2);
        s_raw_push(g, t + (int64_t)(2 + n / 3) * NS_MS, UINT32_MAX, &e);
    }
}

/* --closed-udp: host c asks dst's closed port (two tries from one port),
 * answered both times by port unreachable. */
static void s_closed(struct gen *g, uint32_t c, uint32_t dst, uint16_t port, int64_t t0)
{
    uint16_t sport = s_port_fresh(g, &g->hosts[c]);
    for (int k = 0; k < 2; k++) {
        int64_t t = t0 + (int64_t)k * NS_S;
        struct raw p = s_dgram(c, dst, sport, port, 43, GEN_PL_BINARY);
        s_raw_push(g, t, UINT32_MAX, &p);
        struct raw e = s_icmp_err(g, dst, &p, false);
        s_raw_push(g, t + 300 * NS_US, UINT32_MAX, &e);
    }
}

/* Group traffic: src:sport -> group address ga:port. */
static void s_to_group(struct gen *g, int64_t t, uint32_t src, bool v6, const uint8_t *ga,
                       uint16_t sport, uint16_t port, uint16_t len, uint8_t payload)
{
    uint32_t gh = s_addr_host(g, v6, ga, 1);
    struct raw r = s_dgram(src, gh, sport, port, len, payload);
    r.ttl = v6 || ga[0] != 255 ? 255 : 64;
    r.grp = s_group(g, gh, port);
    s_raw_push(g, t, UINT32_MAX, &r);
}

/* --dhcp: PC pc leases its address from server srv (discover, offer,
 * request, ack; the offer or the ack broadcast, the other to the address
 * offered), then renews it (unicast both ways). The unicast packets are the
 * PC's edge to the server's udp/67; the broadcasts go to groups. */
static void s_dhcp(struct gen *g, uint32_t pc, uint32_t srv, int64_t t0, bool bcast_offer)
{
    static const uint8_t zero[16] = {0}, bc[16] = {255, 255, 255, 255};
    uint32_t z = s_addr_host(g, false, zero, 128);
    uint32_t e = s_edge_add(g, pc, srv, P_DHCP, 67, 0);
    g->edges[e].cport = 68;
    int64_t rt = g->hosts[srv].rtt;
    s_to_group(g, t0, z, false, bc, 68, 67, GEN_BOOTP_LEN, GEN_PL_BOOTP);
    if (bcast_offer) {
        s_to_group(g, t0 + rt, srv, false, bc, 67, 68, GEN_BOOTP_LEN, GEN_PL_BOOTP);
    } else {
        struct raw r = s_dgram(srv, pc, 67, 68, GEN_BOOTP_LEN, GEN_PL_BOOTP);
        r.dir = 1;
        s_raw_push(g, t0 + rt, e, &r);
    }
    s_to_group(g, t0 + 10 * NS_MS, z, false, bc, 68, 67, GEN_BOOTP_LEN, GEN_PL_BOOTP);
    if (!bcast_offer) {
        s_to_group(g, t0 + 10 * NS_MS + rt, srv, false, bc, 67, 68, GEN_BOOTP_LEN, GEN_PL_BOOTP);
    } else {
        struct raw r = s_dgram(srv, pc, 67, 68, GEN_BOOTP_LEN, GEN_PL_BOOTP);
        r.dir = 1;
        s_raw_push(g, t0 + 10 * NS_MS + rt, e, &r);
    }
    int64_t tr = t0 + g->dur / 2;
    struct raw q = s_dgram(pc, srv, 68, 67, GEN_BOOTP_LEN, GEN_PL_BOOTP);
    s_raw_push(g, tr, e, &q);
    struct raw a = s_dgram(srv, pc, 67, 68, GEN_BOOTP_LEN, GEN_PL_BOOTP);
    a.dir = 1;
    s_raw_push(g, tr + rt, e, &a);
}

/* --multicast: SSDP searches, mDNS (IPv4 and, from dual-stack PCs, IPv6),
 * LLMNR and NetBIOS name queries to the office broadcast; no service, no
 * edge, no client: groups. */
static void s_multicast(struct gen *g, uint32_t m, int64_t t0)
{
    static const uint8_t ssdp[16] = {239, 255, 255, 250}, mdns[16] = {224, 0, 0, 251},
                         llmnr[16] = {224, 0, 0, 252},
                         mdns6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};
    uint32_t h = g->mach[m].h4; /* an index: s_addr_host may move g->hosts */
    uint8_t nb[16] = {g->hosts[h].addr[0], g->hosts[h].addr[1], g->hosts[h].addr[2], 255};
    for (int k = 0; k < 2; k++) {
        int64_t t = t0 + (int64_t)k * 5 * NS_S;
        s_to_group(g, t, h, false, ssdp, s_port_fresh(g, &g->hosts[h]), 1900, GEN_SSDP_LEN,
                   GEN_PL_SSDP);
        s_to_group(g, t + NS_MS, h, false, mdns, 5353, 5353, 40, GEN_PL_DNS_QUERY);
        s_to_group(g, t + 2 * NS_MS, h, false, llmnr, s_port_fresh(g, &g->hosts[h]), 5355, 40,
                   GEN_PL_DNS_QUERY);
        s_to_group(g, t + 3 * NS_MS, h, false, nb, 137, 137, 50, GEN_PL_DNS_QUERY);
        if (g->mach[m].h6 != UINT32_MAX)
            s_to_group(g, t + 4 * NS_MS, g->mach[m].h6, true, mdns6, 5353, 5353, 40,
                       GEN_PL_DNS_QUERY);
    }
}

/* The scripted scenarios' hosts, edges and packets (scheduled here). */
static void s_raw_model(struct gen *g, uint32_t npcs, uint32_t dcm, uint32_t webm, uint32_t logm)
{
    if (!(g->o.traceroute || g->o.closed_udp || g->o.dhcp || g->o.multicast))
        return;
    g->raw_edge = s_edge_add(g, g->mach[0].h4, g->mach[dcm].h4, P_RAW, 0, 0);
    g->edges[g->raw_edge].noise = 1;
    int64_t span = g->dur * 8 / 10;
    if (g->o.traceroute) {
        uint32_t tm = npcs >= 8 ? npcs - 4 : 0;
        s_trace(g, g->mach[tm].h4, g->mach[webm].h4, g->dur / 10);
        for (uint32_t i = npcs; i < g->nmach; i++) /* and an IPv6 server, if any */
            if (g->mach[tm].h6 != UINT32_MAX && g->mach[i].h6 != UINT32_MAX) {
                s_trace(g, g->mach[tm].h6, g->mach[i].h6, g->dur / 5);
                break;
            }
    }
    if (g->o.closed_udp) {
        uint32_t cm = npcs >= 8 ? npcs - 5 : 0;
        s_closed(g, g->mach[cm].h4, g->mach[webm].h4, 161, g->dur / 3);
        s_closed(g, g->mach[cm].h4, g->mach[logm].h4, 5060, g->dur / 2);
    }
    if (g->o.dhcp) {
        for (uint32_t i = 0; i < 4 && i < npcs; i++)
            s_dhcp(g, g->mach[(i * 7) % npcs].h4, g->mach[dcm].h4,
                   (int64_t)(s_unif(&g->rng) * (double)(span / 2)), i % 2 == 0);
    }
    if (g->o.multicast) {
        for (uint32_t i = 0; i < 6 && i < npcs; i++)
            s_multicast(g, (i * 11) % npcs, (int64_t)(s_unif(&g->rng) * (double)(span / 2)));
    }
}

/* Offices of PCs, a data centre of servers, and who talks to whom. */
static void s_build_model(struct gen *g)
{
    uint32_t npcs = g->o.pcs, nsrv = g->o.servers, i, k;
    uint32_t *web = calloc(nsrv, sizeof(uint32_t)), *app = calloc(nsrv, sizeof(uint32_t));
    uint32_t *db = calloc(nsrv, sizeof(uint32_t)), *mq = calloc(nsrv, sizeof(uint32_t));
    uint32_t *file = calloc(nsrv, sizeof(uint32_t));
    uint32_t nweb = 0, napp = 0, ndb = 0, nmq = 0, nfile = 0, dc[2] = {0, 0}, logm = 0, mail = 0,
             nms = 0;
    static const uint16_t db_ports[3] = {5432, 3306, 1433};

    if (!web || !app || !db || !mq || !file)
        abort();
    g->mach = calloc(npcs + nsrv, sizeof(*g->mach));
    if (!g->mach)
        abort();
    g->npcs = npcs;

    for (i = 0; i < npcs; i++) {
        uint32_t off = i / PCS_PER_OFF, idx = i % PCS_PER_OFF;
        uint8_t a[16] = {10, (uint8_t)(10 + off / 256), (uint8_t)(off % 256), (uint8_t)(20 + idx)};
        int64_t rtt = (1000 + (int64_t)(off % 8) * 1500) * NS_US;
        uint16_t vlan = (uint16_t)(100 + off % 1000);
        struct machine *m = &g->mach[g->nmach++];

        m->role = R_PC;
        m->grp = (uint16_t)off;
        m->h4 = s_host_add(g, false, a, 126, rtt, vlan, R_PC);
        m->h6 = UINT32_MAX;
        if (g->o.ipv6 < 0 ? off % 3 == 1 : s_share(i, (uint32_t)g->o.ipv6)) { /* dual-stack */
            uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, (uint8_t)(off >> 8), (uint8_t)off};
            b[15] = (uint8_t)(0x20 + idx);
            m->h6 = s_host_add(g, true, b, 126, rtt, vlan, R_PC);
        }
    }
    for (i = 0; i < nsrv; i++) {
        uint8_t a[16] = {172, 16, (uint8_t)(i / 200), (uint8_t)(10 + i % 200)};
        struct machine *m = &g->mach[g->nmach];
        int64_t rtt = (int64_t)s_range(&g->rng, 60, 250) * NS_US;
        uint32_t j, grp = 0;
        uint8_t role;
        bool v6 = false;

        if (i < 6) {
            static const uint8_t fixed[6] = {R_DC, R_DC, R_FILE, R_LOG, R_MAIL, R_NMS};
            role = fixed[i];
        } else {
            static const uint8_t tiers[4] = {R_WEB, R_APP, R_DB, R_MQ};
            j = i - 6;
            grp = j / 4;
            role = tiers[j % 4];
            if (role == R_MQ && grp % 2 == 1)
                role = R_FILE;
            v6 = grp % 3 == 1 && role != R_FILE;
        }
        if (g->o.ipv6 >= 0)
            v6 = s_share(npcs + i, (uint32_t)g->o.ipv6);
        m->role = role;
        m->grp = (uint16_t)grp;
        m->h4 = s_host_add(g, false, a, 63, rtt, 0, role);
        m->h6 = UINT32_MAX;
        if (v6) {
            uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x10};
            b[14] = (uint8_t)((0x100 + i) >> 8);
            b[15] = (uint8_t)(0x100 + i);
            m->h6 = s_host_add(g, true, b, 63, rtt, 0, role);
        }
        switch (role) {
            case R_DC:
                dc[i] = g->nmach;
                break;
            case R_FILE:
                file[nfile++] = g->nmach;
                break;
            case R_LOG:
                logm = g->nmach;
                break;
            case R_MAIL:
                mail = g->nmach;
                break;
            case R_NMS:
                nms = g->nmach;
                break;
            case R_WEB:
                web[nweb++] = g->nmach;
                break;
            case R_APP:
                app[napp++] = g->nmach;
                break;
            case R_DB:
                db[ndb++] = g->nmach;
                break;
            default:
                mq[nmq++] = g->nmach;
                break;
        }
        g->nmach++;
    }

    /* PCs: infrastructure, mail, files, the intranet web; admins use ssh. */
    for (i = 0; i < npcs; i++) {
        uint32_t d = dc[i % 2], w1 = web[i % nweb], w2 = web[(i * 7 + 3) % nweb];
        s_medge(g, i, d, P_DNS, 0, 60, false);
        s_medge(g, i, dc[(i + 1) % 2], P_DNS, 0, 6, false);
        s_medge(g, i, d, P_KRB_U, 0, 4, false);
        s_medge(g, i, d, P_KRB_T, 0, 2, false);
        s_medge(g, i, d, P_LDAP, 0, 6, false);
        s_medge(g, i, d, P_NTP, 0, 2, false);
        s_medge(g, i, file[i % nfile], P_SMB, 0, 3, false);
        s_medge(g, i, mail, i % 5 ? P_IMAPS : P_IMAP, 0, 3, false);
        s_medge(g, i, mail, P_SMTP, 0, 1, false);
        s_medge(g, i, w1, P_HTTPS, 0, 30, true);
        s_medge(g, i, w2, P_HTTP, 0, 5, false);
        if (w2 != w1)
            s_medge(g, i, w2, P_HTTPS, 0, 10, false);
        if (i < (npcs / 50 > 2 ? npcs / 50 : 2)) {
            uint32_t last = UINT32_MAX;
            for (k = 0; k < 3; k++) {
                uint32_t sm = npcs + (i * 3 + k * 5) % nsrv;
                if (sm == last || (k == 2 && sm == npcs + (i * 3) % nsrv))
                    continue;
                s_medge(g, i, sm, P_SSH, 0, 2, false);
                last = sm;
            }
        }
        if (g->o.ftp && (i % 10 == 3 || npcs < 4)) {
            uint32_t c = s_medge(g, i, file[0], P_FTP, 0, 1, false);
            g->edges[c].link = (int32_t)s_medge(g, i, file[0], P_FTPD, 0, 0, false);
        }
        /* passive FTP: one control session, then one upload to a port the
         * server names (>= 50000, one session each); the data edge follows
         * its control edge (s_schedule) */
        if (g->o.ftp_passive && i % 10 == 5) {
            s_medge(g, i, file[0], P_FTP, 0, 0, false);
            s_medge(g, i, file[0], P_FTPP, (uint16_t)(50000 + i * 7), 0, false);
        }
    }
    /* Servers: dns, ntp 123<->123, syslog, ldap/kerberos, tiers. */
    for (i = npcs; i < g->nmach; i++) {
        struct machine *m = &g->mach[i];
        uint32_t d = dc[i % 2], e;
        if (m->role != R_DC) {
            s_medge(g, i, d, P_DNS, 0, 100, false);
            e = s_medge(g, i, d, P_NTP, 0, 60, false);
            g->edges[e].cport = 123;
        }
        if (i != logm) {
            e = s_medge(g, i, logm, P_SYSLOG, 0, 20, false);
            g->edges[e].cport = (uint16_t)s_range(&g->rng, EPH_LO, EPH_HI);
        }
        if (m->role == R_WEB || m->role == R_APP || m->role == R_MAIL || m->role == R_FILE ||
            m->role == R_NMS)
            s_medge(g, i, d, P_LDAP, 0, 10, false);
        if (m->role == R_FILE || m->role == R_MAIL)
            s_medge(g, i, d, P_KRB_T, 0, 2, false);
        if (m->role == R_WEB)
            s_medge(g, i, m->grp < napp ? app[m->grp] : app[0], P_APP, 0, 200, true);
        if (m->role == R_APP) {
            uint32_t dm = m->grp < ndb ? db[m->grp] : db[0];
            s_medge(g, i, dm, P_DB, db_ports[g->mach[dm].grp % 3], 600, true);
            if (nmq)
                s_medge(g, i, mq[m->grp / 2 < nmq ? m->grp / 2 : 0], P_MQ, 0, 100, true);
        }
    }
    k = s_medge(g, dc[1], dc[0], P_NTP, 0, 60, false);
    g->edges[k].cport = 123;
    k = s_medge(g, dc[0], dc[1], P_DNS, 0, 20, false); /* forwarder: dns 53<->53 */
    g->edges[k].cport = 53;
    s_medge(g, dc[0], dc[1], P_LDAP, 0, 10, false);
    s_medge(g, dc[1], dc[0], P_LDAP, 0, 10, false);

    /* Scenario edges. Monitor: one host, the same port on every server. */
    if (g->o.monitor) {
        for (i = npcs; i < g->nmach; i++)
            if (i != nms)
                s_medge(g, nms, i, P_MON, 0, 0, false);
    }
    if (g->o.scan) {
        uint32_t scanner = g->mach[npcs - 1].h4, target = g->mach[app[0]].h4;
        struct event *ev = &g->events[g->nevents];
        k = s_edge_add(g, scanner, target, P_SCAN, 0, 0);
        g->edges[k].port = 0;
        g->edges[k].noise = 1;
        g->edges[k].event = (int32_t)g->nevents++;
        ev->kind = "port_scan";
        ev->target = target;
        ev->source = scanner;
        ev->port = 0;
        ev->sources = 1;
        g->scan_sport = (uint16_t)s_range(&g->rng, 40000, 65000);
    }
    if (g->o.probes && npcs >= 4)
        s_probe_model(g, npcs);
    /* --midstream-low: three PCs, from fixed ports below the server's, hold
     * long conversations with an app server's 50020 already running when the
     * capture starts (no handshake seen) */
    if (g->o.midstream_low && npcs >= 12) {
        for (i = 0; i < 3; i++) {
            k = s_edge_add(g, g->mach[8 + i].h4, g->mach[npcs + g->o.servers / 2].h4, P_LOWC, 0, 0);
            g->edges[k].cport = (uint16_t)(20000 + 17 * i);
        }
    }
    /* --p2p: PCs 0 and 1 listen on high ports, each reached once by two
     * other PCs: one-off listeners are services */
    if (g->o.p2p && npcs >= 8) {
        static const uint16_t lport[2] = {45678, 51413};
        for (i = 0; i < 4; i++)
            s_edge_add(g, g->mach[2 + i].h4, g->mach[i / 2].h4, P_P2P, lport[i / 2], 0);
    }
    if (g->o.flood) {
        struct event *ev = &g->events[g->nevents];
        ev->kind = "syn_flood";
        ev->target = g->mach[web[0]].h4;
        ev->source = UINT32_MAX;
        ev->port = 443;
        g->nevents++;
    }
    s_raw_model(g, npcs, dc[0], web[0], logm);
    free(web);
    free(app);
    free(db);
    free(mq);
    free(file);
}

/* Public-looking IPv4 source for spoofed SYNs (no private, loopback, multicast). */
static void s_public_v4(uint64_t *x, uint8_t *a)
{
    for (;;) {
        uint32_t v = (uint32_t)s_rnd(x);
        a[0] = (uint8_t)(v >> 24);
        a[1] = (uint8_t)(v >> 16);
        a[2] = (uint8_t)(v >> 8);
        a[3] = (uint8_t)v;
        if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 || a[3] == 0 || a[3] == 255)
            continue;
        if ((a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
            (a[0] == 169 && a[1] == 254) || (a[0] == 100 && (a[1] & 0xc0) == 64))
            continue;
        return;
    }
}

/* ---- the session state machine ---- */

static uint32_t s_dgram_max(const struct gen *g, const struct sess *s)
{
    if (g->o.fragments && !s->v6)
        return 8000; /* a few fragments at most */
    return s->v6 ? 1452 : 1472;
}

/* Start the next exchange at t, or close when none is left. */
static void s_exchange(const struct gen *g, struct sess *s, int64_t t)
{
    const struct profile *pf = &PROF[g->edges[s->edge].prof];
    uint32_t mx = s_dgram_max(g, s);

    s->t = t;
    if (s->exch == 0) {
        if (pf->kind == K_TCP)
            s->st = (s->close == CL_I_RST || s->close == CL_R_RST) ? ST_RST : ST_FIN1;
        else
            s->st = ST_DONE;
        return;
    }
    s->exch--;
    if (s->brief) {
        s->left = pf->req_min;
        s->resp = pf->resp_max ? pf->resp_min : 0;
    } else {
        s->left = s_logu(&s->rng, pf->req_min, pf->req_max);
        s->resp = pf->resp_max ? s_logu(&s->rng, pf->resp_min, pf->resp_max) : 0;
    }
    if (pf->kind == K_UDP) {
        if (!s->brief && pf->big_pct && s_range(&s->rng, 0, 99) < pf->big_pct)
            s->resp = s_range(&s->rng, 1500, 4000);
        if (s->left > mx)
            s->left = mx;
        if (s->resp > mx)
            s->resp = mx;
        s->st = ST_UREQ;
    } else {
        s->st = ST_REQ;
    }
    s->unacked = 0;
    s->frag_off = 0;
}

static int64_t s_think(struct sess *s, const struct profile *pf)
{
    return (int64_t)s_logu(&s->rng, pf->think_min_us ? pf->think_min_us : 1,
                           pf->think_max_us ? pf->think_max_us : 1) *
           NS_US;
}

static int64_t s_proc(struct sess *s, const struct profile *pf)
{
    if (!pf->proc_max_us)
        return 20 * NS_US;
    return (int64_t)s_logu(&s->rng, pf->proc_min_us, pf->proc_max_us) * NS_US;
}

/* Round trip with +-10 % jitter. */
static int64_t s_jit(struct sess *s, int64_t rtt)
{
    return rtt - rtt / 10 + (int64_t)(s_unif(&s->rng) * (double)(rtt / 5));
}

static void s_sess_init(const struct gen *g, struct sess *s, const struct spec *sp)
{
    const struct edge *e = &g->edges[sp->edge];
    const struct profile *pf = &PROF[e->prof];
    uint32_t r;

    memset(s, 0, sizeof(*s));
    s->rng = g->o.seed * 0x2545f4914f6cdd1dull ^ ((uint64_t)sp->seed << 17) ^ sp->order;
    s->edge = sp->edge;
    s->t = sp->start;
    if (pf->server_initiates) {
        s->ih = e->sh;
        s->rh = e->ch;
    } else {
        s->ih = e->ch;
        s->rh = e->sh;
    }
    s->v6 = g->hosts[s->ih].v6;
    s->rtt_i = g->hosts[s->ih].rtt;
    s->rtt_r = g->hosts[s->rh].rtt;
    s->iseq = (uint32_t)s_rnd(&s->rng);
    s->rseq = (uint32_t)s_rnd(&s->rng);
    s->flow = (uint32_t)s_rnd(&s->rng) & 0xfffff;
    s->exch = (uint16_t)s_range(&s->rng, pf->exch_min, pf->exch_max);
    s->brief = sp->brief;
    if (s->brief)
        s->exch = 1;
    r = s_range(&s->rng, 0, 99);
    if (r < pf->rst_pct)
        s->close = r % 3 == 2 ? CL_R_RST : CL_I_RST;
    else if (r < (uint32_t)pf->rst_pct + pf->srv_close_pct)
        s->close = CL_R_FIN;
    else
        s->close = CL_I_FIN;
    s->open = sp->open;
    s->probe = sp->probe;
    s->raw = sp->raw;
    switch (pf->kind) {
        case K_UDP:
            s_exchange(g, s, sp->start);
            break;
        case K_PROBE:
            s->st = s->probe >= PR_FIN ? ST_PROBE : ST_SYN;
            break;
        case K_RAW:
            s->st = ST_RAW;
            break;
        default:
            s->st = ST_SYN; /* scans and floods start with a SYN too */
            break;
    }
}

/* Emit one data segment of the burst from side d (0 initiator). */
static void s_segment(struct sess *s, struct step *o, uint8_t d)
{
    uint32_t mss = s->v6 ? 1440 : 1460;
    uint32_t n = s->left < mss ? s->left : mss;
    uint32_t *seq = d ? &s->rseq : &s->iseq;

    o->dir = d;
    o->flags = GEN_TH_ACK | (n == s->left ? GEN_TH_PSH : 0);
    o->seq = *seq;
    o->ack = d ? s->iseq : s->rseq;
    o->len = n;
    *seq += n;
    s->left -= n;
    s->unacked++;
}

/* Produce the packet due at s->t into o and advance s (ST_DONE at the end).
 * Touches nothing but s, so the schedule can dry-run sessions to count them. */
static void s_step(const struct gen *g, struct sess *s, struct step *o)
{
    const struct profile *pf = &PROF[g->edges[s->edge].prof];
    uint8_t cd = (s->close == CL_R_FIN || s->close == CL_R_RST) ? 1 : 0; /* closing side */

    memset(o, 0, sizeof(*o));
    o->t = s->t;
    o->win = 64240;
    switch (s->st) {
        case ST_SYN:
            o->dir = 0;
            o->flags = GEN_TH_SYN;
            o->seq = s->iseq++;
            o->win = 64240;
            if (pf->kind == K_SCAN) {
                o->win = 1024;
                s->st = ST_SCAN_REPLY;
            } else if (pf->kind == K_PROBE) {
                s->st = ST_SCAN_REPLY;
            } else if (pf->kind == K_FLOOD) {
                s->st = ST_FLOOD_SA;
            } else {
                s->st = ST_SYNACK;
            }
            s->t += s_jit(s, s->rtt_r);
            break;
        case ST_SYNACK:
            o->dir = 1;
            o->flags = GEN_TH_SYN | GEN_TH_ACK;
            o->seq = s->rseq++;
            o->ack = s->iseq;
            o->win = 65160;
            s->st = ST_HSACK;
            s->t += s_jit(s, s->rtt_i);
            break;
        case ST_HSACK:
            o->dir = 0;
            o->flags = GEN_TH_ACK;
            o->seq = s->iseq;
            o->ack = s->rseq;
            s_exchange(g, s, s->t + (int64_t)s_range(&s->rng, 10, 300) * NS_US);
            break;
        case ST_REQ:
            s_segment(s, o, 0);
            if (s->left && s->unacked < 2) {
                s->t += SEG_GAP_NS;
            } else if (s->left || !s->resp) {
                s->st = ST_REQ_ACK;
                s->t += s_jit(s, s->rtt_r);
            } else {
                s->st = ST_RESP;
                s->left = s->resp;
                s->unacked = 0;
                s->t += s_jit(s, s->rtt_r) + s_proc(s, pf);
            }
            break;
        case ST_REQ_ACK:
            o->dir = 1;
            o->flags = GEN_TH_ACK;
            o->seq = s->rseq;
            o->ack = s->iseq;
            if (s->left) {
                s->st = ST_REQ;
                s->unacked = 0;
                s->t += s_jit(s, s->rtt_i);
            } else {
                s_exchange(g, s, s->t + s_think(s, pf));
            }
            break;
        case ST_RESP:
            s_segment(s, o, 1);
            if (s->left && s->unacked < 2) {
                s->t += SEG_GAP_NS;
            } else {
                s->st = ST_RESP_ACK;
                s->t += s_jit(s, s->rtt_i);
            }
            break;
        case ST_RESP_ACK:
            o->dir = 0;
            o->flags = GEN_TH_ACK;
            o->seq = s->iseq;
            o->ack = s->rseq;
            if (s->left) {
                s->st = ST_RESP;
                s->unacked = 0;
                s->t += s_jit(s, s->rtt_r);
            } else {
                s_exchange(g, s, s->t + s_think(s, pf));
            }
            break;
        case ST_FIN1:
        case ST_FIN2:
        case ST_FIN3: {
            /* FIN1 closer FIN, FIN2 other FIN, FIN3 closer ACK */
            uint8_t d = s->st == ST_FIN2 ? (uint8_t)!cd : cd;
            uint32_t *seq = d ? &s->rseq : &s->iseq;
            o->dir = d;
            o->flags = GEN_TH_ACK | (s->st == ST_FIN3 ? 0 : GEN_TH_FIN);
            o->seq = *seq;
            o->ack = d ? s->iseq : s->rseq;
            if (s->st != ST_FIN3)
                ++*seq;
            s->t += s_jit(s, d ? s->rtt_i : s->rtt_r);
            s->st = s->st == ST_FIN1 ? ST_FIN2 : s->st == ST_FIN2 ? ST_FIN3 : ST_DONE;
            break;
        }
        case ST_RST:
            o->dir = cd;
            o->flags = GEN_TH_RST | GEN_TH_ACK;
            o->seq = cd ? s->rseq : s->iseq;
            o->ack = cd ? s->iseq : s->rseq;
            o->win = 0;
            s->st = ST_DONE;
            break;
        case ST_UREQ:
        case ST_URESP: {
            uint8_t d = s->st == ST_URESP;
            uint32_t size = d ? s->resp : s->left;
            uint32_t dg = 8 + size;
            o->dir = d;
            o->len = size;
            if (dg > 8 + 1472 && !s->v6) {
                uint32_t n = dg - s->frag_off < FRAG_MTU_V4 ? dg - s->frag_off : FRAG_MTU_V4;
                o->frag_off = s->frag_off;
                o->frag_len = n;
                s->frag_off += n;
                if (s->frag_off < dg) {
                    s->t += SEG_GAP_NS;
                    break;
                }
            }
            s->frag_off = 0;
            if (!d && s->resp) {
                s->st = ST_URESP;
                s->t += s_jit(s, s->rtt_r) + s_proc(s, pf);
            } else {
                s_exchange(g, s, s->t + s_think(s, pf));
            }
            break;
        }
        case ST_SCAN_REPLY:
            o->dir = 1;
            o->ack = s->iseq;
            if (s->open) {
                o->flags = GEN_TH_SYN | GEN_TH_ACK;
                o->seq = s->rseq++;
                o->win = 65160;
                s->st = pf->kind == K_PROBE && s->probe == PR_CONNECT ? ST_PROBE_ACK : ST_SCAN_RST;
                s->t += s_jit(s, s->rtt_i);
            } else {
                o->flags = GEN_TH_RST | GEN_TH_ACK;
                o->seq = 0;
                o->win = 0;
                s->st = ST_DONE;
            }
            break;
        case ST_PROBE: { /* FIN, Null, Xmas: an open port stays silent */
            static const uint8_t fl[] = {
                [PR_FIN] = GEN_TH_FIN, [PR_NULL] = 0, [PR_XMAS] = GEN_TH_FIN | GEN_TH_PSH | 0x20};
            o->dir = 0;
            o->flags = fl[s->probe];
            o->seq = s->iseq;
            o->win = 1024;
            s->st = s->open ? ST_DONE : ST_SCAN_REPLY;
            s->t += s_jit(s, s->rtt_r);
            break;
        }
        case ST_PROBE_ACK: /* connect scan: the handshake's ACK, then the close */
            o->dir = 0;
            o->flags = GEN_TH_ACK;
            o->seq = s->iseq;
            o->ack = s->rseq;
            s->st = ST_PROBE_RST;
            s->t += 100 * NS_US;
            break;
        case ST_PROBE_RST:
            o->dir = 0;
            o->flags = GEN_TH_RST | GEN_TH_ACK;
            o->seq = s->iseq;
            o->ack = s->rseq;
            o->win = 0;
            s->st = ST_DONE;
            break;
        case ST_RAW: /* one scripted packet (s_emit_raw) */
            o->dir = g->raws[s->raw - 1].dir;
            s->st = ST_DONE;
            break;
        case ST_SCAN_RST:
            o->dir = 0;
            o->flags = GEN_TH_RST;
            o->seq = s->iseq;
            o->win = 0;
            s->st = ST_DONE;
            break;
        case ST_FLOOD_SA:
        case ST_FLOOD_SA2:
            o->dir = 1;
            o->flags = GEN_TH_SYN | GEN_TH_ACK;
            o->seq = s->rseq;
            o->ack = s->iseq;
            o->win = 65160;
            s->t += NS_S; /* the kernel's first SYN+ACK retransmit */
            s->st = s->st == ST_FLOOD_SA ? ST_FLOOD_SA2 : ST_DONE;
            break;
        default:
            s->st = ST_DONE;
            break;
    }
}

/* Dry run: packets of the session inside the capture window; *len gets the
 * time from its start to its last packet. */
static uint32_t s_count(const struct gen *g, const struct spec *sp, int64_t *len)
{
    struct sess s;
    struct step o;
    uint32_t n = 0;
    int64_t lastt = sp->start;

    s_sess_init(g, &s, sp);
    while (s.st != ST_DONE && s.t < g->dur) {
        s_step(g, &s, &o);
        if (o.t >= 0)
            n++;
        lastt = o.t;
    }
    if (len)
        *len = lastt - sp->start;
    return n;
}

/* ---- schedule ---- */

static void s_spec_push(struct gen *g, int64_t start, uint32_t edge, uint16_t port, uint8_t open)
{
    struct spec *sp;
    if (g->nspecs == g->cap_specs) {
        g->cap_specs = g->cap_specs ? 2 * g->cap_specs : 65536;
        g->specs = s_xrealloc(g->specs, g->cap_specs * sizeof(*g->specs));
    }
    sp = &g->specs[g->nspecs];
    sp->start = start;
    sp->edge = edge;
    sp->seed = (uint32_t)s_rnd(&g->rng);
    sp->order = (uint32_t)g->nspecs;
    sp->port = port;
    sp->open = open;
    sp->probe = 0;
    sp->brief = 0;
    sp->raw = 0;
    g->nspecs++;
}

static int s_spec_cmp(const void *a, const void *b)
{
    const struct spec *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool s_edge_has_port(const struct gen *g, uint32_t sh, uint16_t port)
{
    uint32_t i;
    for (i = 0; i < g->nedges; i++)
        if (g->edges[i].sh == sh && !g->edges[i].noise && PROF[g->edges[i].prof].proto == 6 &&
            g->edges[i].port == port)
            return true;
    return false;
}

/* Active FTP: after the control session starts, the server opens 1-3 data
 * connections from port 20. Returns their packets in the window. */
static uint64_t s_ftp_data(struct gen *g, uint32_t ctl, int64_t start)
{
    uint32_t k, nd = s_range(&g->rng, 1, 3);
    uint64_t n = 0;
    for (k = 0; k < nd; k++) {
        s_spec_push(g, start + 300 * NS_MS + (int64_t)k * 800 * NS_MS, (uint32_t)g->edges[ctl].link,
                    0, 0);
        n += s_count(g, &g->specs[g->nspecs - 1], NULL);
    }
    return n;
}

/* --probes sessions of probe edge k (s_probe_model): the stealth scanner's
 * (the edge with an event), the connect scanner's (ssh listens on the target
 * for it alone unless a client uses it), or the real client's. */
static void s_probe_specs(struct gen *g, uint32_t k)
{
    const struct edge *e = &g->edges[k];
    struct pr {
        uint16_t port;
        uint8_t probe;
    } list[8];
    uint32_t n = 0, j;
    bool stealth = e->event >= 0,
         connect = !stealth && g->hosts[e->ch].role == R_PC && g->edges[k - 1].prof == P_PROBE;
    if (stealth) {
        list[n++] = (struct pr){e->port, PR_FIN};
        list[n++] = (struct pr){e->port, PR_NULL};
        list[n++] = (struct pr){e->port, PR_XMAS};
        list[n++] = (struct pr){3390, PR_FIN};
        list[n++] = (struct pr){3391, PR_NULL};
        list[n++] = (struct pr){3392, PR_XMAS};
    } else if (connect) {
        list[n++] = (struct pr){22, PR_CONNECT};
        list[n++] = (struct pr){e->port, PR_CONNECT};
        list[n++] = (struct pr){8081, PR_CONNECT};
    } else {
        list[n++] = (struct pr){e->port, PR_HALF};
        list[n++] = (struct pr){e->port, PR_HALF};
        list[n++] = (struct pr){e->port, PR_FIN};
        list[n++] = (struct pr){e->port, PR_CONNECT};
    }
    for (j = 0; j < n; j++) {
        int64_t t = (int64_t)((0.1 + 0.8 * s_unif(&g->rng)) * (double)g->dur);
        uint8_t open = list[j].port == 22 || s_edge_has_port(g, e->sh, list[j].port);
        s_spec_push(g, t, k, list[j].port, open);
        g->specs[g->nspecs - 1].probe = list[j].probe;
    }
}

/* Scenario sessions first (they are fixed), then sample ordinary sessions by
 * edge weight until the packet target is reached. */
static void s_schedule(struct gen *g)
{
    uint64_t total = 0, tries = 0;
    double *cum = malloc(g->nedges * sizeof(double)), sum = 0;
    uint32_t i, nw = 0, nftp;
    uint32_t *widx = malloc(g->nedges * sizeof(uint32_t));
    size_t first;

    if (!cum || !widx)
        abort();
    for (i = 0; i < g->nedges; i++) {
        struct edge *e = &g->edges[i];
        if (e->prof == P_MON) {
            int64_t per = 60 * NS_S, t;
            int64_t ph = (int64_t)(s_unif(&g->rng) * (double)(g->dur < per ? g->dur : per));
            for (t = ph; t < g->dur; t += per)
                s_spec_push(g, t, i, 0, 0);
        } else if (e->prof == P_SCAN) {
            static const uint16_t extra[] = {1433, 3306, 5432, 5672, 8080, 8443, 10050};
            uint16_t ports[1024 + 7];
            uint32_t n = 0, j;
            int64_t t0 = g->dur / 4;
            for (j = 1; j <= 1024; j++)
                ports[n++] = (uint16_t)j;
            for (j = 0; j < 7; j++)
                ports[n++] = extra[j];
            for (j = n - 1; j > 0; j--) { /* nmap probes in random order */
                uint32_t r = s_range(&g->rng, 0, j);
                uint16_t tmp = ports[j];
                ports[j] = ports[r];
                ports[r] = tmp;
            }
            for (j = 0; j < n; j++)
                s_spec_push(g, t0 + (int64_t)j * 300 * NS_US, i, ports[j],
                            s_edge_has_port(g, e->sh, ports[j]));
        } else if (e->prof == P_PROBE) {
            s_probe_specs(g, i);
        } else if (e->prof == P_LOWC) { /* running for 20-50 % of it already */
            int64_t len;
            s_spec_push(g, 0, i, 0, 0);
            s_count(g, &g->specs[g->nspecs - 1], &len);
            g->specs[g->nspecs - 1].start = -(int64_t)((0.2 + 0.3 * s_unif(&g->rng)) * (double)len);
        } else if (e->prof == P_P2P) {
            s_spec_push(g, (int64_t)((0.05 + 0.8 * s_unif(&g->rng)) * (double)g->dur), i, 0, 0);
        } else if (e->prof == P_FTPP) { /* its control edge is the one before */
            int64_t st = (int64_t)((0.05 + 0.7 * s_unif(&g->rng)) * (double)g->dur);
            s_spec_push(g, st, i - 1, 0, 0);
            s_spec_push(g, st + 400 * NS_MS, i, 0, 0);
        }
    }
    if (g->o.flood) {
        struct event *ev = &g->events[g->nevents - 1];
        uint32_t nsyn = (uint32_t)(g->o.packets / 30 > 1000 ? g->o.packets / 30 : 1000);
        uint32_t npool = nsyn / 2 < 5000 ? nsyn / 2 : 5000, base = g->nedges, j;
        int64_t t0 = g->dur / 2, win = g->dur * 3 / 10 < 10 * NS_S ? g->dur * 3 / 10 : 10 * NS_S;
        for (j = 0; j < npool; j++) {
            uint8_t a[16];
            uint32_t h, k;
            s_public_v4(&g->rng, a);
            h = s_host_add(g, false, a, (uint8_t)s_range(&g->rng, 40, 60),
                           (int64_t)s_range(&g->rng, 20, 150) * NS_MS, 0, R_EXT);
            k = s_edge_add(g, h, ev->target, P_FLOOD, 443, 0);
            g->edges[k].noise = 1;
            g->edges[k].event = (int32_t)(g->nevents - 1);
        }
        for (j = 0; j < nsyn; j++)
            s_spec_push(g, t0 + (int64_t)(s_unif(&g->rng) * (double)win),
                        base + s_range(&g->rng, 0, npool - 1), 0, 0);
        cum = s_xrealloc(cum, g->nedges * sizeof(double));
        widx = s_xrealloc(widx, g->nedges * sizeof(uint32_t));
    }
    /* a few FTP sessions for sure; more come from the weights below */
    for (i = 0, nftp = 0; i < g->nedges && nftp < 4; i++) {
        if (g->edges[i].link >= 0) {
            int64_t st = (int64_t)(s_unif(&g->rng) * (double)g->dur * 0.8);
            s_spec_push(g, st, i, 0, 0);
            s_ftp_data(g, i, st);
            nftp++;
        }
    }
    /* --cover: one brief session (one exchange of the profile's smallest
     * request and response: 2 packets over UDP, about 8 over TCP) of every
     * weighted edge first, so that the truth holds every client -> service
     * pair of the model (about 12 per PC) at the fewest packets; started in
     * the first 80 % of the capture, so each is over well before its end.
     * The weighted sampling below adds ordinary sessions while the packet
     * target is not reached. */
    for (i = 0; g->o.cover && i < g->nedges; i++) {
        if (g->edges[i].weight > 0) {
            s_spec_push(g, (int64_t)(s_unif(&g->rng) * (double)g->dur * 0.8), i, 0, 0);
            g->specs[g->nspecs - 1].brief = 1;
            if (g->edges[i].link >= 0)
                s_ftp_data(g, i, g->specs[g->nspecs - 1].start);
        }
    }
    for (first = 0; first < g->nspecs; first++)
        total += s_count(g, &g->specs[first], NULL);

    for (i = 0; i < g->nedges; i++) {
        if (g->edges[i].weight > 0) {
            sum += g->edges[i].weight;
            cum[nw] = sum;
            widx[nw++] = i;
        }
    }
    while (total < g->o.packets && nw && tries++ < g->o.packets * 4 + 1000) {
        double u = s_unif(&g->rng) * sum;
        uint32_t lo = 0, hi = nw - 1, e;
        struct spec *sp;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (cum[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        e = widx[lo];
        s_spec_push(g, (int64_t)(s_unif(&g->rng) * (double)g->dur), e, 0, 0);
        sp = &g->specs[g->nspecs - 1];
        if (g->o.midstream && s_range(&g->rng, 0, 99) < 10) {
            int64_t len;
            int64_t st = sp->start;
            sp->start = 0;
            s_count(g, sp, &len);
            if (len > 10 * NS_MS)
                st = -(int64_t)((0.2 + 0.7 * s_unif(&g->rng)) * (double)len);
            sp->start = st;
        }
        total += s_count(g, sp, NULL);
        if (g->edges[e].link >= 0)
            total += s_ftp_data(g, e, sp->start);
    }
    qsort(g->specs, g->nspecs, sizeof(*g->specs), s_spec_cmp);
    free(cum);
    free(widx);
}

/* ---- the run: heap of active sessions, emission, truth ---- */

static bool s_before(const struct gen *g, uint32_t a, uint32_t b)
{
    const struct sess *x = &g->pool[a], *y = &g->pool[b];
    return x->t < y->t || (x->t == y->t && a < b);
}

static void s_heap_down(struct gen *g, uint32_t i)
{
    uint32_t n = g->nheap, v = g->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s_before(g, g->heap[c + 1], g->heap[c]))
            c++;
        if (!s_before(g, g->heap[c], v))
            break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    g->heap[i] = v;
}

static void s_heap_push(struct gen *g, uint32_t slot)
{
    uint32_t i = g->nheap++;
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!s_before(g, slot, g->heap[p]))
            break;
        g->heap[i] = g->heap[p];
        i = p;
    }
    g->heap[i] = slot;
}

static uint32_t s_slot_get(struct gen *g)
{
    if (g->nfree)
        return g->free_slots[--g->nfree];
    if (g->npool == g->cap_pool) {
        g->cap_pool = g->cap_pool ? 2 * g->cap_pool : 4096;
        g->pool = s_xrealloc(g->pool, g->cap_pool * sizeof(*g->pool));
        g->free_slots = s_xrealloc(g->free_slots, g->cap_pool * sizeof(uint32_t));
        g->heap = s_xrealloc(g->heap, g->cap_pool * sizeof(uint32_t));
    }
    return g->npool++;
}

/* Next new ephemeral port of h (never one it used last). */
static uint16_t s_port_fresh(struct gen *g, struct host *h)
{
    h->port_next = (uint16_t)(h->port_next + s_range(&g->rng, 1, 7));
    if (h->port_next > EPH_HI || h->port_next < EPH_LO)
        h->port_next = (uint16_t)(EPH_LO + h->port_next % 64);
    return h->port_next;
}

/* Next ephemeral port of h at time t; sometimes the port its last finished
 * session used, so the same 5-tuple recurs over time as on real hosts. */
static uint16_t s_port_alloc(struct gen *g, struct host *h, int64_t t)
{
    if (h->last_port && h->last_free < t && s_range(&g->rng, 0, 7) == 0) {
        uint16_t p = h->last_port;
        h->last_port = 0;
        return p;
    }
    return s_port_fresh(g, h);
}

static void s_activate(struct gen *g, const struct spec *sp)
{
    uint32_t slot = s_slot_get(g);
    struct sess *s = &g->pool[slot];
    const struct edge *e;

    s_sess_init(g, s, sp);
    e = &g->edges[sp->edge];
    switch (e->prof) {
        case P_FTPD:
            s->iport = 20;
            s->rport = s_port_alloc(g, &g->hosts[e->ch], sp->start);
            s->eph = 1;
            break;
        case P_SCAN:
            s->iport = g->scan_sport;
            s->rport = sp->port;
            break;
        case P_PROBE: /* a fresh port: a probe is its own session */
            s->iport = s_port_fresh(g, &g->hosts[e->ch]);
            s->rport = sp->port;
            break;
        case P_FLOOD:
            s->iport = (uint16_t)s_range(&g->rng, 1024, 65535);
            s->rport = e->port;
            break;
        case P_RAW:
        case P_DHCP: /* ports in the raw packet */
            break;
        default:
            s->iport = e->cport ? e->cport : s_port_alloc(g, &g->hosts[e->ch], sp->start);
            s->eph = !e->cport;
            s->rport = e->port;
            break;
    }
    s_heap_push(g, slot);
}

static void s_conn_add(struct gen *g, uint64_t key)
{
    if (g->nconn == g->cap_conn) {
        g->cap_conn = g->cap_conn ? 2 * g->cap_conn : 65536;
        g->conn = s_xrealloc(g->conn, g->cap_conn * sizeof(*g->conn));
    }
    g->conn[g->nconn++] = key;
}

/* Write g->frame (flen bytes on the wire) at capture time t, and its
 * redundant copy. */
static void s_write(struct gen *g, int64_t t, size_t flen, uint16_t vlan)
{
    size_t have = flen < g->o.snaplen ? flen : g->o.snaplen;
    gen_pcap_write(g->pcap, (uint64_t)(g->o.start_ns + t), g->frame, have, flen);
    if (g->dupcap) {
        size_t grow, dn;
        uint16_t vid = vlan ? (uint16_t)(vlan + 2000) : 4000;
        int64_t dt = t + 3 * NS_US + (int64_t)s_range(&g->rng, 0, 2000);
        if (dt < g->dup_last)
            dt = g->dup_last;
        g->dup_last = dt;
        dn = gen_pkt_redirect(g->frame, have, g->dframe, vid, &grow);
        gen_pcap_write(g->dupcap, (uint64_t)(g->o.start_ns + dt), g->dframe, dn, flen + grow);
    }
}

/* Truth of any packet: meta and host totals. */
static void s_truth_pkt(struct gen *g, uint32_t si, uint32_t di, int64_t t, uint32_t iplen)
{
    if (!g->meta_pk)
        g->first = t;
    g->last = t;
    g->meta_pk++;
    g->meta_by += iplen;
    g->hosts[si].pk_out++;
    g->hosts[si].by_out += iplen;
    g->hosts[di].pk_in++;
    g->hosts[di].by_in += iplen;
}

/* One scripted packet (ST_RAW): a datagram, or an ICMP error quoting one. */
static void s_emit_raw(struct gen *g, struct sess *s, const struct step *o)
{
    const struct raw *r = &g->raws[s->raw - 1];
    const struct host *src = &g->hosts[r->src], *dst = &g->hosts[r->dst];
    struct gen_pkt p;
    uint32_t iplen;

    memset(&p, 0, sizeof(p));
    p.src = src->addr;
    p.dst = dst->addr;
    p.smac = src->mac;
    p.dmac = dst->mac;
    p.v6 = src->v6;
    p.proto = r->proto;
    p.ttl = r->ttl ? r->ttl : src->ttl;
    p.vlan = g->o.vlan ? (src->vlan ? src->vlan : dst->vlan) : 0;
    p.ipid = ++g->hosts[r->src].ipid;
    p.flow = (uint32_t)(r->src * 2654435761u) & 0xfffff;
    if (r->proto == 17) {
        p.sport = r->sport;
        p.dport = r->dport;
        p.len = r->len;
        p.payload = r->payload;
    } else { /* the quoted datagram: its IP header and 8 bytes of UDP header */
        const struct host *qs = &g->hosts[r->qsrc], *qd = &g->hosts[r->qdst];
        struct gen_pkt q;
        uint32_t qlen;
        memset(&q, 0, sizeof(q));
        q.src = qs->addr;
        q.dst = qd->addr;
        q.smac = qs->mac;
        q.dmac = qd->mac;
        q.v6 = qs->v6;
        q.proto = 17;
        q.ttl = r->qttl;
        q.sport = r->sport;
        q.dport = r->dport;
        q.len = r->len;
        q.payload = GEN_PL_BINARY;
        q.ipid = g->hosts[r->qsrc].ipid;
        gen_pkt_build(&q, g->qbuf, sizeof(g->qbuf) - 64, &qlen);
        p.icmp_type = r->icmp_type;
        p.icmp_code = r->icmp_code;
        p.quote = g->qbuf + 14;
        p.quote_len = (q.v6 ? 40 : 20) + 8;
    }
    size_t flen = gen_pkt_build(&p, g->frame, g->o.snaplen, &iplen);
    s_write(g, o->t, flen, p.vlan);
    s_truth_pkt(g, r->src, r->dst, o->t, iplen);
    struct edge *e = &g->edges[s->edge];
    if (!e->noise) { /* P_DHCP: a client's unicast packet */
        e->pk[r->dir]++;
        e->by[r->dir] += iplen;
        if (r->dir == 0)
            e->creal++;
        if (e->pk[0] + e->pk[1] == 1) /* its first: one session (client port 68) */
            s_conn_add(g, (uint64_t)s->edge << 16 | e->cport);
    }
    if (r->grp) {
        struct group *gr = &g->groups[r->grp - 1];
        uint32_t k;
        gr->pk++;
        gr->by += iplen;
        for (k = 0; k < gr->nsend && gr->send[k] != r->src; k++)
            ;
        if (k == gr->nsend && k < GROUP_SENDERS_MAX)
            gr->send[gr->nsend++] = r->src;
    }
    s->emitted = 1;
}

static void s_emit(struct gen *g, struct sess *s, const struct step *o)
{
    if (s->raw) {
        s_emit_raw(g, s, o);
        return;
    }
    struct edge *e = &g->edges[s->edge];
    uint32_t si = o->dir ? s->rh : s->ih, di = o->dir ? s->ih : s->rh;
    struct host *src = &g->hosts[si], *dst = &g->hosts[di];
    struct gen_pkt p;
    uint32_t iplen;
    size_t flen;

    memset(&p, 0, sizeof(p));
    p.src = src->addr;
    p.dst = dst->addr;
    p.smac = src->mac;
    p.dmac = dst->mac;
    p.v6 = src->v6;
    p.proto = PROF[e->prof].proto;
    p.ttl = src->ttl;
    p.tcp_flags = o->flags;
    p.sport = o->dir ? s->rport : s->iport;
    p.dport = o->dir ? s->iport : s->rport;
    p.vlan = g->o.vlan ? (src->vlan ? src->vlan : dst->vlan) : 0;
    p.win = o->win;
    p.seq = o->seq;
    p.ack = o->ack;
    p.flow = o->dir ? s->flow ^ 0x5a5a5 : s->flow;
    p.len = o->len;
    if (e->prof == P_DNS)
        p.payload = o->dir ? GEN_PL_DNS_REPLY : GEN_PL_DNS_QUERY;
    else if (e->prof == P_SYSLOG)
        p.payload = GEN_PL_TEXT;
    p.frag_off = o->frag_off;
    p.frag_len = o->frag_len;
    if (o->frag_len) {
        if (o->frag_off == 0)
            s->frag_id = ++src->ipid;
        p.ipid = s->frag_id;
    } else {
        p.ipid = ++src->ipid;
    }
    flen = gen_pkt_build(&p, g->frame, g->o.snaplen, &iplen);
    s_write(g, o->t, flen, p.vlan);
    s_truth_pkt(g, si, di, o->t, iplen);
    if (p.proto == 6 && !s->real[o->dir] &&
        !((o->flags & 0x02 && !(o->flags & 0x10)) || o->flags & 0x04)) {
        s->real[o->dir] = 1; /* once per session and side */
        if (g->nspoke == g->cap_spoke) {
            g->cap_spoke = g->cap_spoke ? 2 * g->cap_spoke : 65536;
            g->spoke = s_xrealloc(g->spoke, g->cap_spoke * sizeof(*g->spoke));
        }
        g->spoke[g->nspoke++] = (uint64_t)si << 32 | p.sport;
    }
    if (e->noise && e->event >= 0) {
        struct event *ev = &g->events[e->event];
        if (ev->source == UINT32_MAX && si == e->ch && !e->pk[0]++)
            ev->sources++; /* a flood source that did send (noise edges count nothing else) */
        if (!ev->packets)
            ev->first = o->t;
        ev->last = o->t;
        ev->packets++;
    } else if (!e->noise) {
        int d = si == e->ch ? 0 : 1;
        e->pk[d]++;
        e->by[d] += iplen;
        s->tpk[d]++;
        s->tby[d] += iplen;
        if (d == 0 && (PROF[e->prof].proto != 6 ||
                       !((o->flags & 0x02 && !(o->flags & 0x10)) || o->flags & 0x04))) {
            e->creal++;
            s->treal++;
        }
        uint32_t *f = s->fl[d];
        f[0]++;
        f[1] += (o->flags & 0x02) != 0;
        f[2] += (o->flags & 0x12) == 0x12;
        f[3] += (o->flags & 0x10) != 0;
        f[4] += (o->flags & 0x01) != 0;
        f[5] += (o->flags & 0x04) != 0;
    }
    s->emitted = 1;
}

/* The edge rule's probe test (docs/SCHEMA.md "Edge rule", merger/mrg_rule.h
 * MRG_PROBE_AB) on one TCP session's flag counts c (client) and v (server):
 * only pure SYNs and RSTs from the client (half-open, or a mid-stream
 * session seen only by its client's RST); or neither SYN nor ACK from it
 * and nothing but RSTs back (FIN, Null, Xmas); or a completed handshake the
 * client closed after sending nothing but its ACK (connect scan). */
static bool s_is_probe(const uint32_t c[6], const uint32_t v[6])
{
    if ((int64_t)c[0] - ((int64_t)c[1] - c[2]) - c[5] <= 0)
        return true;
    if (c[3] == 0 && c[1] == 0 && v[0] == v[5])
        return true;
    return v[2] > 0 && c[1] > c[2] && c[5] + c[4] > 0 &&
           (int64_t)c[0] - c[1] - c[5] - c[4] - (v[4] ? 1 : 0) <= 1;
}

static void s_finish(struct gen *g, uint32_t slot)
{
    struct sess *s = &g->pool[slot];
    struct edge *e = &g->edges[s->edge];
    if (!e->noise && s->tpk[0] + s->tpk[1]) {
        if (PROF[e->prof].proto == 6 && s_is_probe(s->fl[0], s->fl[1])) {
            /* a probe adds nothing to its edge: take its packets back */
            for (int d = 0; d < 2; d++) {
                e->pk[d] -= s->tpk[d];
                e->by[d] -= s->tby[d];
            }
            e->creal -= s->treal;
        } else if (!s->raw) { /* a session of the edge (raw DHCP counts its own) */
            uint16_t cport = PROF[e->prof].server_initiates ? s->rport : s->iport;
            s_conn_add(g, (uint64_t)s->edge << 16 | cport);
        }
    }
    if (s->eph) {
        struct host *c = &g->hosts[e->ch];
        c->last_port = PROF[e->prof].server_initiates ? s->rport : s->iport;
        c->last_free = s->t;
    }
    g->free_slots[g->nfree++] = slot;
}

static void s_run(struct gen *g)
{
    size_t next = 0;
    struct step o;

    while (next < g->nspecs || g->nheap) {
        uint32_t slot;
        struct sess *s;
        if (next < g->nspecs && (!g->nheap || g->specs[next].start <= g->pool[g->heap[0]].t)) {
            s_activate(g, &g->specs[next++]);
            continue;
        }
        slot = g->heap[0];
        s = &g->pool[slot];
        if (s->t >= g->dur || s->st == ST_DONE) {
            g->heap[0] = g->heap[--g->nheap];
            if (g->nheap)
                s_heap_down(g, 0);
            s_finish(g, slot);
            continue;
        }
        s_step(g, s, &o);
        if (o.t >= 0)
            s_emit(g, s, &o);
        s_heap_down(g, 0); /* key grew: sift the root down */
    }
}

/* ---- truth output ---- */

static int s_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void s_sessions(struct gen *g)
{
    size_t i, n = 0;
    qsort(g->spoke, g->nspoke, sizeof(*g->spoke), s_u64_cmp);
    for (i = 0; i < g->nspoke; i++)
        if (i == 0 || g->spoke[i] != g->spoke[i - 1])
            g->spoke[n++] = g->spoke[i];
    g->nspoke = n;
    qsort(g->conn, g->nconn, sizeof(*g->conn), s_u64_cmp);
    for (i = 0; i < g->nconn; i++)
        if (i == 0 || g->conn[i] != g->conn[i - 1])
            g->edges[g->conn[i] >> 16].sessions++;
}

static const char *s_ip(const struct host *h, char *buf, size_t n)
{
    return inet_ntop(h->v6 ? AF_INET6 : AF_INET, h->addr, buf, (socklen_t)n);
}

static const char *s_proto(const struct edge *e)
{
    return PROF[e->prof].proto == 6 ? "tcp" : "udp";
}

/* days since 1970-01-01 <-> civil date (H. Hinnant's algorithms) */
static int64_t s_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void s_rfc3339(int64_t ns, char *buf, size_t n)
{
    int64_t secs = ns / NS_S, z, era, y;
    unsigned doe, yoe, doy, mp, d, m;
    int64_t sod;
    if (ns < 0 && ns % NS_S)
        secs--;
    z = (secs >= 0 ? secs : secs - 86399) / 86400;
    sod = secs - z * 86400;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, n, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), (int)((ns - secs * NS_S) / 1000));
}

/* An edge of the truth: real traffic (not scan/flood noise) in which the
 * client sent at least one packet that is not a pure SYN or an RST (a TCP
 * "edge" of SYNs only cannot be told from a spoofed flood source). */
/* A TCP port that never sent anything but pure SYNs and RSTs in the capture
 * (a mid-stream session seen only by its client's last packets) shows no
 * server there (trk_role.h, gate G2): its edges are not counted. */
static bool s_spoke(const struct gen *g, uint32_t h, uint16_t port)
{
    uint64_t k = (uint64_t)h << 32 | port;
    size_t lo = 0, hi = g->nspoke;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->spoke[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nspoke && g->spoke[lo] == k;
}

static bool s_edge_counted(const struct gen *g, const struct edge *e)
{
    return !e->noise && e->pk[0] + e->pk[1] &&
           (PROF[e->prof].proto != 6 || (e->creal && s_spoke(g, e->sh, e->port)));
}

/* Client port of a counted edge that is itself a service: a fixed well-known
 * port (ntp 123<->123, dns 53<->53 between servers: both ends are servers;
 * the initiator is the client of the edge). 0 when none. */
static uint16_t s_edge_client_service(const struct edge *e)
{
    return e->cport && e->cport < 1024 ? e->cport : 0;
}

static int s_write_truth(struct gen *g, const char *path)
{
    FILE *f = fopen(path, "w");
    char a[64], b[64], t1[64], t2[64];
    uint32_t i, j;
    bool firstrow;
    uint64_t *keys;
    uint32_t nk;

    if (!f) {
        fprintf(stderr, "renkei-gen: cannot create %s: %s\n", path, strerror(errno));
        return -errno;
    }
    s_rfc3339(g->o.start_ns + g->first, t1, sizeof(t1));
    s_rfc3339(g->o.start_ns + g->last, t2, sizeof(t2));
    fprintf(f,
            "{\n\"meta\": {\"generator\": \"renkei-gen\", \"seed\": %" PRIu64
            ", \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64
            ", \"first_seen\": \"%s\", \"last_seen\": \"%s\", \"pcs\": %u, \"servers\": %u"
            ", \"sessions_scheduled\": %zu, \"duplicates_in_dup_file\": %" PRIu64 "},\n",
            g->o.seed, g->meta_pk, g->meta_by, t1, t2, g->o.pcs, g->o.servers, g->nspecs,
            g->dupcap ? g->meta_pk : 0);

    /* services: (server ip, proto, port) of every counted edge, plus the
     * well-known client port of server-to-server edges; key << 1 | 1 for an
     * edge (one per client), | 0 for such a client port. A service has at
     * least one client (EXPORT_SCHEMA.md): a well-known port that only began
     * sessions (ntp 123 -> 123 of a server's own time sync) is not one, so
     * keys without an edge are left out below. */
    keys = malloc((2 * g->nedges + 1) * sizeof(*keys));
    if (!keys)
        abort();
    for (i = 0, nk = 0; i < g->nedges; i++) {
        const struct edge *e = &g->edges[i];
        uint64_t pr = PROF[e->prof].proto;
        if (!s_edge_counted(g, e))
            continue;
        keys[nk++] = ((uint64_t)e->sh << 32 | pr << 16 | e->port) << 1 | 1;
        if (s_edge_client_service(e)) {
            keys[nk++] = ((uint64_t)e->ch << 32 | pr << 16 | s_edge_client_service(e)) << 1;
            g->hosts[e->ch].is_server = 1;
        }
    }
    qsort(keys, nk, sizeof(*keys), s_u64_cmp);
    fprintf(f, "\"services\": [");
    firstrow = true;
    for (i = 0; i < nk; i = j) {
        uint64_t key = keys[i] >> 1;
        const struct host *h = &g->hosts[key >> 32];
        uint32_t clients = 0;
        for (j = i; j < nk && keys[j] >> 1 == key; j++)
            clients += (uint32_t)(keys[j] & 1);
        if (clients == 0)
            continue;
        fprintf(f, "%s\n {\"ip\": \"%s\", \"proto\": \"%s\", \"port\": %u, \"clients\": %u}",
                firstrow ? "" : ",", s_ip(h, a, sizeof(a)), (key >> 16 & 0xff) == 6 ? "tcp" : "udp",
                (unsigned)(key & 0xffff), clients);
        firstrow = false;
    }
    free(keys);
    fprintf(f, "\n],\n\"edges\": [");
    firstrow = true;
    for (i = 0; i < g->nedges; i++) {
        struct edge *e = &g->edges[i];
        if (!s_edge_counted(g, e))
            continue;
        g->hosts[e->ch].is_client = 1;
        g->hosts[e->sh].is_server = 1;
        fprintf(f,
                "%s\n {\"client_ip\": \"%s\", \"server_ip\": \"%s\", \"proto\": \"%s\", "
                "\"server_port\": %u, \"packets_c2s\": %" PRIu64 ", \"bytes_c2s\": %" PRIu64
                ", \"packets_s2c\": %" PRIu64 ", \"bytes_s2c\": %" PRIu64 ", \"sessions\": %u}",
                firstrow ? "" : ",", s_ip(&g->hosts[e->ch], a, sizeof(a)),
                s_ip(&g->hosts[e->sh], b, sizeof(b)), s_proto(e), e->port, e->pk[0], e->by[0],
                e->pk[1], e->by[1], e->sessions);
        firstrow = false;
    }
    fprintf(f, "\n],\n\"hosts\": [");
    firstrow = true;
    for (i = 0; i < g->nhosts; i++) {
        const struct host *h = &g->hosts[i];
        const char *kind =
            h->is_server ? (h->is_client ? "both" : "server") : (h->is_client ? "client" : "noise");
        if (!(h->pk_in + h->pk_out))
            continue;
        fprintf(f,
                "%s\n {\"ip\": \"%s\", \"kind\": \"%s\", \"packets_out\": %" PRIu64
                ", \"bytes_out\": %" PRIu64 ", \"packets_in\": %" PRIu64 ", \"bytes_in\": %" PRIu64
                "}",
                firstrow ? "" : ",", s_ip(h, a, sizeof(a)), kind, h->pk_out, h->by_out, h->pk_in,
                h->by_in);
        firstrow = false;
    }
    fprintf(f, "\n],\n\"groups\": [");
    for (i = 0; i < g->ngroups; i++) {
        const struct group *gr = &g->groups[i];
        fprintf(f,
                "%s\n {\"group_ip\": \"%s\", \"proto\": \"udp\", \"port\": %u, \"senders\": %u"
                ", \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
                i ? "," : "", s_ip(&g->hosts[gr->host], a, sizeof(a)), gr->port, gr->nsend, gr->pk,
                gr->by);
    }
    fprintf(f, "\n],\n\"events\": [");
    for (i = 0; i < g->nevents; i++) {
        const struct event *ev = &g->events[i];
        s_rfc3339(g->o.start_ns + ev->first, t1, sizeof(t1));
        s_rfc3339(g->o.start_ns + ev->last, t2, sizeof(t2));
        fprintf(f,
                "%s\n {\"kind\": \"%s\", \"target_ip\": \"%s\", \"port\": %u, \"source_ip\": %s%s%s"
                ", \"source_count\": %u, \"packets\": %" PRIu64
                ", \"first_seen\": \"%s\", \"last_seen\": \"%s\"}",
                i ? "," : "", ev->kind, s_ip(&g->hosts[ev->target], a, sizeof(a)), ev->port,
                ev->source == UINT32_MAX ? "" : "\"",
                ev->source == UINT32_MAX ? "null" : s_ip(&g->hosts[ev->source], b, sizeof(b)),
                ev->source == UINT32_MAX ? "" : "\"", ev->sources, ev->packets, t1, t2);
    }
    fprintf(f, "\n]\n}\n");
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

/* ---- command line ---- */

static int s_parse_start(const char *s, int64_t *ns)
{
    int y, mo, d, h, mi, sec, n = 0;
    char *end;
    double frac = 0;
    int64_t off = 0;

    if (s[strspn(s, "0123456789.")] == '\0') { /* epoch seconds */
        double v = strtod(s, &end);
        if (*end || end == s)
            return -EINVAL;
        *ns = (int64_t)(v * 1e9);
        return 0;
    }
    if (sscanf(s, "%d-%d-%d%*1[Tt ]%d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -EINVAL;
    s += n;
    if (*s == '.') {
        frac = strtod(s, &end);
        s = end;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int oh, om;
        if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2)
            return -EINVAL;
        off = (int64_t)(oh * 3600 + om * 60) * (*s == '-' ? -1 : 1);
        s += 6;
    } else {
        return -EINVAL;
    }
    if (*s || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -EINVAL;
    *ns = ((s_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec) -
           off) *
              NS_S +
          (int64_t)(frac * 1e9);
    return 0;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: renkei-gen [options]\n"
            "  --seed N          PRNG seed (default 1)\n"
            "  --packets N       approximate packet target (default 100000)\n"
            "  --pcs N           office PCs, 50 per /24 office (default 200)\n"
            "  --servers N       data-centre servers, >= %d (default 40)\n"
            "  --duration SEC    capture length in seconds (default 60)\n"
            "  --start T         capture start, RFC 3339 or epoch seconds (default "
            "2026-01-01T00:00:00Z)\n"
            "  --out FILE        pcap to write (default gen.pcap)\n"
            "  --truth FILE      truth JSON to write (default gen.truth.json)\n"
            "  --nsec            nanosecond pcap timestamps (default microseconds)\n"
            "  --snaplen N       cut records to N bytes, >= 96 (default 65535)\n"
            "  --vlan            tag office traffic with 802.1Q (VLAN 100 + office)\n"
            "  --midstream       some conversations already running at capture start\n"
            "  --monitor         one host polls tcp/10050 on every server (a client)\n"
            "  --scan            SYN scan of one server's ports 1-1024+; event port_scan\n"
            "  --flood           spoofed SYN flood at a web server's 443; event syn_flood\n"
            "  --ftp-active      active FTP: data connections from the server's port 20\n"
            "  --fragments       some large UDP datagrams (dns, kerberos) fragmented\n"
            "  --midstream-low   conversations running at capture start, client port below\n"
            "                    the server's (fixed 20000+ to 50020)\n"
            "  --p2p             two PCs listen on high ports, each reached once by two PCs\n"
            "  --ftp-passive     passive FTP: control, then one upload to a high server port\n"
            "  --probes          half-open, connect and FIN/Null/Xmas probes of a web service,\n"
            "                    one from a host that also uses it; event stealth_scan\n"
            "  --cover           one brief session of every client -> service pair of the\n"
            "                    model (about 12 per PC) before sampling up to --packets\n"
            "  --traceroute      a PC traceroutes a server (IPv4, and IPv6 when dual-stack):\n"
            "                    UDP to 33434+, time exceeded and port unreachable answers\n"
            "  --closed-udp      UDP to closed ports of two servers, answered by ICMP\n"
            "                    port unreachable\n"
            "  --dhcp            four PCs lease and renew from a DC's udp/67 (broadcasts\n"
            "                    from 0.0.0.0 and to 255.255.255.255, unicast answers)\n"
            "  --multicast       SSDP, mDNS (IPv4, IPv6), LLMNR and NetBIOS name queries\n"
            "                    to multicast groups and the office broadcast\n"
            "  --ipv6 PCT        about PCT %% of the machines dual-stack, IPv6 between any\n"
            "                    two of them (100: all traffic of the model over IPv6)\n"
            "  --dup FILE        also write the redundant core switch's copy\n",
            MIN_SERVERS);
}

static int s_parse(int argc, char **argv, struct opts *o)
{
    enum {
        O_SEED = 256,
        O_PKTS,
        O_PCS,
        O_SRV,
        O_DUR,
        O_START,
        O_OUT,
        O_TRUTH,
        O_NSEC,
        O_SNAP,
        O_VLAN,
        O_MID,
        O_MON,
        O_SCAN,
        O_FLOOD,
        O_FTP,
        O_FRAG,
        O_DUP,
        O_PROBES,
        O_P2P,
        O_FTPP,
        O_MIDLOW,
        O_COVER,
        O_TRACE,
        O_CLOSED,
        O_DHCP,
        O_MCAST,
        O_IPV6,
        O_HELP
    };
    /* a grid of pairs (clang-format would put an odd count one per line) */
    /* clang-format off */
    static const struct option lo[] = {
        {"seed", required_argument, 0, O_SEED},    {"packets", required_argument, 0, O_PKTS},
        {"pcs", required_argument, 0, O_PCS},      {"servers", required_argument, 0, O_SRV},
        {"duration", required_argument, 0, O_DUR}, {"start", required_argument, 0, O_START},
        {"out", required_argument, 0, O_OUT},      {"truth", required_argument, 0, O_TRUTH},
        {"nsec", no_argument, 0, O_NSEC},          {"snaplen", required_argument, 0, O_SNAP},
        {"vlan", no_argument, 0, O_VLAN},          {"midstream", no_argument, 0, O_MID},
        {"monitor", no_argument, 0, O_MON},        {"scan", no_argument, 0, O_SCAN},
        {"flood", no_argument, 0, O_FLOOD},        {"ftp-active", no_argument, 0, O_FTP},
        {"fragments", no_argument, 0, O_FRAG},     {"dup", required_argument, 0, O_DUP},
        {"probes", no_argument, 0, O_PROBES},      {"p2p", no_argument, 0, O_P2P},
        {"ftp-passive", no_argument, 0, O_FTPP},   {"midstream-low", no_argument, 0, O_MIDLOW},
        {"cover", no_argument, 0, O_COVER},        {"help", no_argument, 0, O_HELP},
        {"traceroute", no_argument, 0, O_TRACE},   {"closed-udp", no_argument, 0, O_CLOSED},
        {"dhcp", no_argument, 0, O_DHCP},          {"multicast", no_argument, 0, O_MCAST},
        {"ipv6", required_argument, 0, O_IPV6},    {0, 0, 0, 0}};
    /* clang-format on */
    int c;
    char *end;

    o->seed = 1;
    o->packets = 100000;
    o->pcs = 200;
    o->servers = 40;
    o->duration = 60;
    o->start_ns = 1767225600LL * NS_S; /* 2026-01-01T00:00:00Z */
    o->snaplen = 65535;
    o->out = "gen.pcap";
    o->truth = "gen.truth.json";
    o->ipv6 = -1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        errno = 0;
        switch (c) {
            case O_SEED:
                o->seed = strtoull(optarg, &end, 0);
                break;
            case O_PKTS:
                o->packets = strtoull(optarg, &end, 0);
                break;
            case O_PCS:
                o->pcs = (uint32_t)strtoul(optarg, &end, 0);
                break;
            case O_SRV:
                o->servers = (uint32_t)strtoul(optarg, &end, 0);
                break;
            case O_DUR:
                o->duration = strtod(optarg, &end);
                break;
            case O_SNAP:
                o->snaplen = (uint32_t)strtoul(optarg, &end, 0);
                break;
            case O_START:
                if (s_parse_start(optarg, &o->start_ns) < 0) {
                    fprintf(stderr, "renkei-gen: bad --start '%s'\n", optarg);
                    return -EINVAL;
                }
                continue;
            case O_OUT:
                o->out = optarg;
                continue;
            case O_TRUTH:
                o->truth = optarg;
                continue;
            case O_DUP:
                o->dup = optarg;
                continue;
            case O_NSEC:
                o->nsec = true;
                continue;
            case O_VLAN:
                o->vlan = true;
                continue;
            case O_MID:
                o->midstream = true;
                continue;
            case O_MON:
                o->monitor = true;
                continue;
            case O_SCAN:
                o->scan = true;
                continue;
            case O_FLOOD:
                o->flood = true;
                continue;
            case O_FTP:
                o->ftp = true;
                continue;
            case O_FRAG:
                o->fragments = true;
                continue;
            case O_PROBES:
                o->probes = true;
                continue;
            case O_P2P:
                o->p2p = true;
                continue;
            case O_FTPP:
                o->ftp_passive = true;
                continue;
            case O_MIDLOW:
                o->midstream_low = true;
                continue;
            case O_COVER:
                o->cover = true;
                continue;
            case O_TRACE:
                o->traceroute = true;
                continue;
            case O_CLOSED:
                o->closed_udp = true;
                continue;
            case O_DHCP:
                o->dhcp = true;
                continue;
            case O_MCAST:
                o->multicast = true;
                continue;
            case O_IPV6: {
                unsigned long v = strtoul(optarg, &end, 10);
                if (v > 100) {
                    fprintf(stderr, "renkei-gen: --ipv6 takes a percentage 0-100, not '%s'\n",
                            optarg);
                    return -EINVAL;
                }
                o->ipv6 = (int)v;
                break;
            }
            case O_HELP:
            case 'h':
                s_usage(stdout);
                exit(0);
            default:
                s_usage(stderr);
                return -EINVAL;
        }
        if (errno || *end || end == optarg) {
            fprintf(stderr, "renkei-gen: bad number '%s'\n", optarg);
            return -EINVAL;
        }
    }
    if (optind < argc || o->pcs < 1 || o->pcs > 60000 || o->servers < MIN_SERVERS ||
        o->servers > 50000 || !(o->duration > 0.001) || o->duration > 86400 * 7 ||
        o->snaplen < 96 || o->snaplen > 262144) {
        fprintf(stderr,
                "renkei-gen: bad arguments (need pcs 1-60000, servers %d-50000, "
                "duration > 0, snaplen 96-262144)\n",
                MIN_SERVERS);
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct gen g;
    struct timespec t0, t1;
    double secs;
    int rc = 0;

    if (s_parse(argc, argv, &g.o) < 0)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    g.dur = (int64_t)(g.o.duration * 1e9);
    g.rng = g.o.seed ^ 0x6a09e667f3bcc908ull;
    gen_pkt_init(g.o.seed);
    s_build_model(&g);
    s_schedule(&g);

    g.pcap = gen_pcap_open(g.o.out, g.o.snaplen, g.o.nsec);
    if (!g.pcap)
        return 1;
    if (g.o.dup) {
        g.dupcap = gen_pcap_open(g.o.dup, g.o.snaplen + 4, g.o.nsec);
        if (!g.dupcap)
            return 1;
    }
    s_run(&g);
    if (gen_pcap_close(&g.pcap) < 0 || gen_pcap_close(&g.dupcap) < 0) {
        fprintf(stderr, "renkei-gen: write error\n");
        rc = 1;
    }
    s_sessions(&g);
    if (s_write_truth(&g, g.o.truth) < 0)
        rc = 1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr,
            "renkei-gen: %" PRIu64 " packets, %" PRIu64
            " IP bytes, %zu sessions, %u hosts, %u edges in %.2f s (%.1f Mpkt/s)\n",
            g.meta_pk, g.meta_by, g.nspecs, g.nhosts, g.nedges, secs,
            secs > 0 ? (double)g.meta_pk / secs / 1e6 : 0.0);
    free(g.hosts);
    free(g.mach);
    free(g.edges);
    free(g.specs);
    free(g.pool);
    free(g.free_slots);
    free(g.heap);
    free(g.conn);
    free(g.raws);
    free(g.spoke);
    free(g.groups);
    return rc;
}
