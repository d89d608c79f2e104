/* SPDX-License-Identifier: MIT
 * bench_floor: the floor an end-to-end run is measured against (issue: "an
 * end-to-end run within 2.5x of reading the capture once"). Maps a classic
 * pcap (microsecond or nanosecond, either byte order) and reads every
 * packet's IP and L4 header once: Ethernet with up to two VLAN tags, IPv4
 * or IPv6 (no extension headers), then the ports of TCP, UDP and SCTP. It
 * folds what it read into a checksum so that nothing can be skipped, and
 * prints the packets, IP packets and the CPU seconds it took.
 *
 * usage: bench_floor CAPTURE.pcap
 * Prints RESULT floor_packets, floor_ip_packets, floor_cpu_s.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t s_u32(const uint8_t *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

static double s_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_floor CAPTURE.pcap\n");
        return 2;
    }
    double c0 = s_cpu();
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 24) {
        fprintf(stderr, "bench_floor: %s: cannot read a pcap\n", argv[1]);
        return 2;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        perror("bench_floor: mmap");
        return 2;
    }
    madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    const uint8_t *m = map;
    uint32_t magic;
    memcpy(&magic, m, 4);
    int swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
        fprintf(stderr, "bench_floor: %s: not a classic pcap\n", argv[1]);
        return 2;
    }
    if (s_u32(m + 20, swap) != 1) {
        fprintf(stderr, "bench_floor: %s: not Ethernet\n", argv[1]);
        return 2;
    }
    size_t off = 24, end = (size_t)st.st_size;
    uint64_t pkts = 0, ip = 0, sum = 0;
    while (off + 16 <= end) {
        uint32_t caplen = s_u32(m + off + 8, swap);
        const uint8_t *p = m + off + 16;
        off += 16 + (size_t)caplen;
        if (off > end)
            break;
        pkts++;
        if (caplen < 14)
            continue;
        size_t l3 = 12;
        uint16_t et = (uint16_t)(p[l3] << 8 | p[l3 + 1]);
        for (int v = 0; v < 2 && (et == 0x8100 || et == 0x88a8) && l3 + 6 <= caplen; v++) {
            l3 += 4;
            et = (uint16_t)(p[l3] << 8 | p[l3 + 1]);
        }
        l3 += 2;
        size_t l4;
        uint8_t proto;
        if (et == 0x0800 && l3 + 20 <= caplen) {
            proto = p[l3 + 9];
            l4 = l3 + (size_t)(p[l3] & 0x0f) * 4;
            sum += s_u32(p + l3 + 12, 0) ^ s_u32(p + l3 + 16, 0) ^ p[l3 + 8];
        } else if (et == 0x86dd && l3 + 40 <= caplen) {
            proto = p[l3 + 6];
            l4 = l3 + 40;
            sum += s_u32(p + l3 + 8, 0) ^ s_u32(p + l3 + 36, 0) ^ p[l3 + 7];
        } else {
            continue;
        }
        ip++;
        if ((proto == 6 || proto == 17 || proto == 132) && l4 + 4 <= caplen)
            sum += s_u32(p + l4, 0) + (proto == 6 && l4 + 14 <= caplen ? p[l4 + 13] : 0);
    }
    double cpu = s_cpu() - c0;
    printf("# %s: %llu packets, %llu IP, checksum %llx, %.3f CPU-s\n", argv[1],
           (unsigned long long)pkts, (unsigned long long)ip, (unsigned long long)sum, cpu);
    printf("RESULT floor_packets %llu packets\n", (unsigned long long)pkts);
    printf("RESULT floor_ip_packets %llu packets\n", (unsigned long long)ip);
    printf("RESULT floor_cpu_s %.4f CPU-s\n", cpu);
    return 0;
}
