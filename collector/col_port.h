/* SPDX-License-Identifier: MIT
 * col_port: DPDK EAL start-up and the one RX port a collector reads. Builds
 * the EAL arguments for each source (a capture file through the net_pcap
 * vdev, a live interface through net_af_packet, or raw EAL arguments for a
 * real NIC), configures one RX queue with a private mbuf pool, promiscuous
 * mode, and RX timestamps when the PMD offers them. One per process (EAL is
 * process-wide); only the RX thread calls col_port_rx_* after col_port_new.
 */
#ifndef COL_PORT_H
#define COL_PORT_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

enum col_source {
    COL_SRC_PCAP = 1,  /* capture file replayed by net_pcap */
    COL_SRC_IFACE = 2, /* live interface via net_af_packet */
    COL_SRC_EAL = 3,   /* user-supplied EAL arguments (PCI NIC, any vdev) */
};

struct col_port_config {
    const char *prog;        /* argv[0] for EAL */
    enum col_source source;  /* which of the next three is used */
    const char *pcap;        /* COL_SRC_PCAP: file to replay */
    const char *iface;       /* COL_SRC_IFACE: interface name */
    const char *eal;         /* COL_SRC_EAL: whitespace-separated EAL arguments */
    char *const *extra;      /* more EAL arguments (after `--` on the command line) */
    int n_extra;             /* entries in extra */
    const char *file_prefix; /* EAL --file-prefix, unique per process */
    uint32_t nb_mbufs;       /* mbuf pool size (0: 8191) */
};

struct col_port;

/* Start EAL and the port. NULL after logging why (EAL arguments included). */
struct col_port *col_port_new(const struct col_port_config *cfg);

/* Stop and close the port, free the pool, clean EAL up. Accepts NULL; NULLs *p. */
void col_port_destroy(struct col_port **p);

/* DPDK port id to pass to rte_eth_rx_burst. */
uint16_t col_port_id(const struct col_port *p);

/* RX timestamp dynamic field: true with its offset, valid flag and the factor
 * to ns when the PMD fills it with capture time (net_pcap: µs since the epoch,
 * so ns-resolution files lose their last digits). False: use wall clock. */
bool col_port_ts_field(const struct col_port *p, int *offset /* OUT */, uint64_t *flag /* OUT */,
                       uint32_t *mult /* OUT */);

/* CPUs for the threads other than RX (sender, ZeroMQ I/O): true with the
 * process's allowed CPUs minus the RX lcore's when raw EAL arguments pinned
 * the lcore to a strict subset of them; false otherwise (leave them be). */
bool col_port_helper_cpus(const struct col_port *p, cpu_set_t *cpus /* OUT */);

/* Port drop counters since start (rte_eth_stats): imissed, rx_nombuf,
 * ierrors. For an iface port, missed includes the kernel's drops of the
 * af_packet ring, which the driver does not report. Called by the RX
 * thread only (the ring count is read and reset). */
void col_port_drops(struct col_port *p, uint64_t *missed /* OUT */, uint64_t *nombuf /* OUT */,
                    uint64_t *errors /* OUT */);

#endif /* COL_PORT_H */
