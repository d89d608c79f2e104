/* SPDX-License-Identifier: MIT
 * col_port: EAL arguments -> rte_eal_init -> one ethdev with one RX queue.
 * For file and af_packet sources EAL runs without hugepages or PCI, on one
 * lcore, with a unique --file-prefix so several collectors share a host; the
 * main thread's CPU affinity is restored afterwards so they do not all pin
 * to the same core.
 */
#define CMN_LOG_TAG "port"
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "cmn_log.h"
#include "col_port.h"

#define COL_PORT_MAX_ARGS 64
#define COL_PORT_RX_DESC  4096 /* 275 us at 14.88 Mpps: covers the RX loop's idle sleeps */

struct col_port {
    uint16_t port_id;              /* the ethdev */
    bool started;                  /* rte_eth_dev_start succeeded */
    bool eal_up;                   /* rte_eal_init succeeded */
    struct rte_mempool *pool;      /* RX mbufs */
    int ts_offset;                 /* timestamp dynfield offset, -1 if none */
    uint64_t ts_flag;              /* ol_flags bit telling the field is valid */
    uint32_t ts_mult;              /* field units to ns */
    cpu_set_t helpers;             /* allowed CPUs outside the RX lcore's (EAL source) */
    bool have_helpers;             /* helpers is not empty */
    char *argv[COL_PORT_MAX_ARGS]; /* EAL argv (owned strings; EAL may keep pointers) */
    int argc;                      /* entries used in argv */
    int ring_fd;                   /* iface: net_af_packet's RX ring socket, -1 if not found */
    uint64_t ring_drops;           /* iface: the kernel's drops of that ring so far */
};

__attribute__((format(printf, 2, 3))) static int s_arg(struct col_port *p, const char *fmt, ...)
{
    if (p->argc >= COL_PORT_MAX_ARGS - 1) {
        CMN_LOG(ERR, "too many EAL arguments (max %d)", COL_PORT_MAX_ARGS - 1);
        return -E2BIG;
    }
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort(); /* out of memory at start-up */
    p->argv[p->argc++] = s;
    return 0;
}

/* Split the `eal` config value on whitespace (no quoting: EAL arguments have no spaces). */
static int s_split(struct col_port *p, const char *line)
{
    const char *s = line;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        const char *e = s;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        char word[512];
        snprintf(word, sizeof(word), "%.*s", (int)(e - s), s);
        if (s_arg(p, "%s", word) != 0)
            return -E2BIG;
        s = e;
    }
    return 0;
}

static int s_first_cpu(const cpu_set_t *set)
{
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, set))
            return i;
    return 0;
}

static int s_build_args(struct col_port *p, const struct col_port_config *c, const cpu_set_t *cpus)
{
    char buf[64];
    int rc = s_arg(p, "%s", c->prog ? c->prog : "renkei-collector");
    if (c->source == COL_SRC_EAL) {
        rc = rc ? rc : s_split(p, c->eal);
    } else {
        if (c->source == COL_SRC_PCAP && strchr(c->pcap, ',')) {
            CMN_LOG(ERR,
                    "%s: a ',' in the capture path cannot be passed to net_pcap; "
                    "rename or link it",
                    c->pcap);
            return -EINVAL;
        }
        snprintf(buf, sizeof(buf), "%d", s_first_cpu(cpus));
        rc = rc ? rc : s_arg(p, "-l");
        rc = rc ? rc : s_arg(p, "%s", buf);
        rc = rc ? rc : s_arg(p, "--no-huge");
        rc = rc ? rc : s_arg(p, "--no-pci");
        rc = rc ? rc : s_arg(p, "-m");
        rc = rc ? rc : s_arg(p, "256");
        rc = rc ? rc : s_arg(p, "--no-telemetry");
        rc = rc ? rc : s_arg(p, "--no-shconf"); /* no runtime files left behind */
        rc = rc ? rc : s_arg(p, "--log-level=*:warning");
        if (c->source == COL_SRC_PCAP)
            rc = rc ? rc : s_arg(p, "--vdev=net_pcap0,rx_pcap=%s", c->pcap);
        else
            rc = rc ? rc : s_arg(p, "--vdev=net_af_packet0,iface=%s", c->iface);
    }
    if (c->file_prefix) {
        rc = rc ? rc : s_arg(p, "--file-prefix");
        rc = rc ? rc : s_arg(p, "%s", c->file_prefix);
    }
    for (int i = 0; i < c->n_extra && rc == 0; i++)
        rc = s_arg(p, "%s", c->extra[i]);
    p->argv[p->argc] = NULL;
    return rc;
}

/* net_af_packet (DPDK 22.11, and later releases as of this writing) does not
 * report the frames the kernel dropped because its RX ring was full
 * (PACKET_STATISTICS): imissed stays 0 while frames are lost. The driver's
 * ring socket is one of this process's descriptors, an AF_PACKET socket
 * bound to the interface: found here, its drops are read by col_port_drops
 * (the kernel resets the count at each read; nothing else reads it). */
static int s_ring_fd(const char *iface)
{
    unsigned idx = if_nametoindex(iface);
    DIR *d = idx ? opendir("/proc/self/fd") : NULL;
    if (!d)
        return -1;
    int found = -1;
    for (struct dirent *e; found < 0 && (e = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd == dirfd(d))
            continue;
        int dom = 0;
        socklen_t len = sizeof(dom);
        if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0 || dom != AF_PACKET)
            continue;
        struct sockaddr_ll sll;
        len = sizeof(sll);
        memset(&sll, 0, sizeof(sll));
        if (getsockname((int)fd, (struct sockaddr *)&sll, &len) == 0 && sll.sll_ifindex == (int)idx)
            found = (int)fd;
    }
    closedir(d);
    return found;
}

/* The kernel's drops of the ring since the last read (0 without a ring). */
static uint64_t s_ring_drops(int fd)
{
    struct tpacket_stats st;
    socklen_t len = sizeof(st);
    if (fd < 0 || getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0)
        return 0;
    return st.tp_drops;
}

struct col_port *col_port_new(const struct col_port_config *c)
{
    struct col_port *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->ring_fd = -1;
    p->ts_offset = -1;
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    bool have_cpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0;
    if (s_build_args(p, c, &cpus) != 0)
        goto err;

    char line[1024];
    size_t n = 0;
    for (int i = 0; i < p->argc && n < sizeof(line); i++) {
        int w = snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "", p->argv[i]);
        n += w > 0 ? (size_t)w : 0;
    }
    CMN_LOG(INFO, "EAL arguments: %s", line);

    rte_openlog_stream(stderr);        /* keep stdout for --print */
    char *eal_argv[COL_PORT_MAX_ARGS]; /* rte_eal_init permutes its argv */
    memcpy(eal_argv, p->argv, sizeof(eal_argv));
    if (rte_eal_init(p->argc, eal_argv) < 0) {
        CMN_LOG(ERR, "EAL init failed (%s); arguments: %s", rte_strerror(rte_errno), line);
        goto err;
    }
    p->eal_up = true;
    if (c->source != COL_SRC_EAL && have_cpus)
        sched_setaffinity(0, sizeof(cpus), &cpus); /* undo EAL's pinning of the main thread */
    cpu_set_t rx;
    if (c->source == COL_SRC_EAL && have_cpus && sched_getaffinity(0, sizeof(rx), &rx) == 0) {
        /* The user gave the RX lcore its own CPU(s): keep the sender and
         * ZeroMQ's threads off them (col_port_helper_cpus). */
        CPU_ZERO(&p->helpers);
        for (int i = 0; i < CPU_SETSIZE; i++)
            if (CPU_ISSET(i, &cpus) && !CPU_ISSET(i, &rx))
                CPU_SET(i, &p->helpers);
        p->have_helpers = CPU_COUNT(&p->helpers) > 0;
    }

    uint16_t nports = rte_eth_dev_count_avail();
    if (nports == 0) {
        CMN_LOG(ERR, "no DPDK port came up (EAL arguments: %s)", line);
        goto err;
    }
    uint16_t pid;
    RTE_ETH_FOREACH_DEV(pid)
    {
        p->port_id = pid;
        break;
    }
    if (nports > 1)
        CMN_LOG(WARN, "%u ports available, reading port %u only", nports, p->port_id);

    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(p->port_id, &info);
    if (rc != 0) {
        CMN_LOG(ERR, "port %u: dev_info: %s", p->port_id, rte_strerror(-rc));
        goto err;
    }
    char pname[RTE_MEMPOOL_NAMESIZE];
    snprintf(pname, sizeof(pname), "col_rx_%u", p->port_id);
    p->pool =
        rte_pktmbuf_pool_create(pname, c->nb_mbufs ? c->nb_mbufs : 8191, 256, 0,
                                RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_eth_dev_socket_id(p->port_id));
    if (!p->pool) {
        CMN_LOG(ERR, "mbuf pool: %s", rte_strerror(rte_errno));
        goto err;
    }
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    /* Scatter lets frames larger than one mbuf (jumbo, TSO loopback captures)
     * arrive as chains instead of being dropped; timestamps keep capture time. */
    conf.rxmode.offloads =
        info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_TIMESTAMP);
    uint16_t ntx = info.max_tx_queues > 0 ? 1 : 0;
    rc = rte_eth_dev_configure(p->port_id, 1, ntx, &conf);
    if (rc != 0) {
        CMN_LOG(ERR, "port %u: configure: %s", p->port_id, rte_strerror(-rc));
        goto err;
    }
    uint16_t nrx = COL_PORT_RX_DESC, ntxd = 512;
    rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nrx, &ntxd);
    struct rte_eth_rxconf rxc = info.default_rxconf;
    rxc.offloads = conf.rxmode.offloads;
    rc = rte_eth_rx_queue_setup(p->port_id, 0, nrx, rte_eth_dev_socket_id(p->port_id), &rxc,
                                p->pool);
    if (rc == 0 && ntx)
        rc = rte_eth_tx_queue_setup(p->port_id, 0, ntxd, rte_eth_dev_socket_id(p->port_id), NULL);
    if (rc != 0) {
        CMN_LOG(ERR, "port %u: queue setup: %s", p->port_id, rte_strerror(-rc));
        goto err;
    }
    rc = rte_eth_dev_start(p->port_id);
    if (rc != 0) {
        CMN_LOG(ERR, "port %u: start: %s", p->port_id, rte_strerror(-rc));
        goto err;
    }
    p->started = true;
    if (c->source == COL_SRC_IFACE) {
        /* net_af_packet opens its ETH_P_ALL socket and maps the RX ring
         * before binding it to the interface: frames of every interface
         * (loopback included) that arrive in between sit in the ring. They
         * were never seen on this interface; the capture starts after them. */
        struct rte_mbuf *junk[64];
        uint64_t stale = 0;
        for (uint16_t k; (k = rte_eth_rx_burst(p->port_id, 0, junk, 64)) > 0; stale += k)
            rte_pktmbuf_free_bulk(junk, k);
        if (stale)
            CMN_LOG(INFO, "discarded %" PRIu64 " frame(s) queued before the socket was bound to %s",
                    stale, c->iface);
        p->ring_fd = s_ring_fd(c->iface);
        if (p->ring_fd < 0)
            CMN_LOG(WARN,
                    "%s: the af_packet ring socket was not found: frames the kernel drops "
                    "when the ring is full are not counted (drop_rx_missed)",
                    c->iface);
        (void)s_ring_drops(p->ring_fd); /* drops before the capture started: not its own */
    }
    rc = rte_eth_promiscuous_enable(p->port_id);
    if (rc != 0 && rc != -ENOTSUP)
        CMN_LOG(WARN, "port %u: promiscuous mode: %s", p->port_id, rte_strerror(-rc));
    /* net_pcap fills the timestamp field (capture time in µs: it opens files
     * with libpcap's default precision) without advertising the offload.
     * Other PMDs count device clock ticks, not epoch time, so they get wall
     * clock. Mbufs without the flag fall back to wall clock too. */
    int off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
    int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
    if (off >= 0 && bit >= 0 && strcmp(info.driver_name, "net_pcap") == 0) {
        p->ts_offset = off;
        p->ts_flag = 1ull << bit;
        p->ts_mult = 1000;
    }
    CMN_LOG(INFO, "port %u (%s) started: %u RX descriptors, timestamps %s, scatter %s", p->port_id,
            info.driver_name, nrx, p->ts_offset >= 0 ? "from the PMD" : "wall clock",
            (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) ? "on" : "off");
    return p;
err:
    col_port_destroy(&p);
    return NULL;
}

void col_port_destroy(struct col_port **pp)
{
    if (!pp || !*pp)
        return;
    struct col_port *p = *pp;
    if (p->started) {
        rte_eth_dev_stop(p->port_id);
        rte_eth_dev_close(p->port_id);
    }
    if (p->pool)
        rte_mempool_free(p->pool);
    if (p->eal_up) {
        /* --no-shconf leaves only an empty runtime directory; remove it so
         * runs with unique prefixes do not pile up under /var/run/dpdk. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
        rte_eal_cleanup();
        rmdir(dir);
    }
    for (int i = 0; i < p->argc; i++)
        free(p->argv[i]);
    free(p);
    *pp = NULL;
}

uint16_t col_port_id(const struct col_port *p)
{
    return p->port_id;
}

bool col_port_ts_field(const struct col_port *p, int *offset, uint64_t *flag, uint32_t *mult)
{
    *offset = p->ts_offset;
    *flag = p->ts_flag;
    *mult = p->ts_mult;
    return p->ts_offset >= 0;
}

bool col_port_helper_cpus(const struct col_port *p, cpu_set_t *cpus)
{
    if (p->have_helpers)
        *cpus = p->helpers;
    return p->have_helpers;
}

void col_port_drops(struct col_port *p, uint64_t *missed, uint64_t *nombuf, uint64_t *errors)
{
    p->ring_drops += s_ring_drops(p->ring_fd);
    struct rte_eth_stats st;
    if (rte_eth_stats_get(p->port_id, &st) != 0) {
        *missed = p->ring_drops;
        *nombuf = *errors = 0;
        return;
    }
    *missed = st.imissed + p->ring_drops;
    *nombuf = st.rx_nombuf;
    *errors = st.ierrors;
}
