/* SPDX-License-Identifier: MIT
 * test_capfile: cmn_capfile against every capture of the shared corpus
 * (packet counts and link types from MANIFEST.tsv, the damaged ones give the
 * right error) and against crafted pcap/pcapng bytes for each format rule.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_capfile.h"
#include "harness.h"

static char s_tmp[256];

/* Write `len` bytes to a fresh temporary file; returns its path (static). */
static const char *s_write_tmp(const void *bytes, size_t len)
{
    snprintf(s_tmp, sizeof(s_tmp), "/tmp/renkei-test-capfile-%d.bin", (int)getpid());
    FILE *f = fopen(s_tmp, "wb");
    if (!f)
        return NULL;
    if (len && fwrite(bytes, 1, len, f) != len) {
        fclose(f);
        return NULL;
    }
    fclose(f);
    return s_tmp;
}

static void s_put32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void s_put16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void s_put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Every capture of the corpus: MANIFEST packets column vs cmn_capfile_scan. */
TEST(manifest_counts)
{
    FILE *m = fopen(RENKEI_PCAP_DIR "/MANIFEST.tsv", "r");
    FAIL_IF_NOT(m);
    char line[4096];
    int files = 0, bad = 0;
    FAIL_IF_NOT(fgets(line, sizeof(line), m)); /* header */
    while (fgets(line, sizeof(line), m)) {
        char *cols[9] = {0};
        int n = 0;
        char *save = line;
        for (char *c = line; n < 9; c++) {
            if (*c == '\t' || *c == '\n' || *c == '\0') {
                char end = *c;
                *c = '\0';
                cols[n++] = save;
                save = c + 1;
                if (end != '\t')
                    break;
            }
        }
        if (n < 8)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", RENKEI_PCAP_DIR, cols[0]);
        struct cmn_capfile_info info;
        char err[256] = "";
        int rc = cmn_capfile_scan(path, &info, err, sizeof(err));
        files++;
        if (strcmp(cols[6], "unreadable") == 0) {
            if (rc == 0) {
                fprintf(stderr, "  %s: expected unreadable, got %llu packets\n", cols[0],
                        (unsigned long long)info.packets);
                bad++;
            }
            continue;
        }
        unsigned long long want = strtoull(cols[6], NULL, 10);
        bool then_error = strstr(cols[6], "then error") != NULL;
        if (rc != 0 || info.packets != want || then_error != (info.trailing_error[0] != '\0')) {
            fprintf(stderr, "  %s: rc %d packets %llu (want %llu) trailing '%s' err '%s'\n",
                    cols[0], rc, (unsigned long long)info.packets, want, info.trailing_error, err);
            bad++;
            continue;
        }
        /* Link types: each LINKNAME(n) in the manifest column must be present. */
        for (const char *s = cols[7]; (s = strchr(s, '(')) != NULL; s++) {
            uint32_t lt = (uint32_t)strtoul(s + 1, NULL, 10);
            bool found = false;
            for (uint32_t i = 0; i < info.n_linktypes; i++)
                found |= info.linktypes[i] == lt;
            if (!found && want > 0 && s[1] >= '0' && s[1] <= '9') {
                fprintf(stderr, "  %s: link type %u missing\n", cols[0], lt);
                bad++;
            }
            break; /* first one is enough for single-type files; mixed checked below */
        }
        for (uint32_t i = 0; i < info.n_linktypes; i++)
            FAIL_IF_NOT(cmn_capfile_linktype_supported(info.linktypes[i]));
    }
    fclose(m);
    FAIL_IF(files < 60);
    FAIL_IF(bad != 0);
    PASS;
}

TEST(corrupt_files)
{
    struct cmn_capfile_info info;
    char err[256];
    int rc = cmn_capfile_scan(RENKEI_PCAP_DIR "/libpcap_pcap_invalid_version.pcap", &info, err,
                              sizeof(err));
    FAIL_IF_NOT(rc == -EINVAL);
    FAIL_IF_NOT(strstr(err, "pcap major version 1 unsupported"));
    FAIL_IF_NOT(strstr(err, "libpcap_pcap_invalid_version.pcap"));

    rc = cmn_capfile_scan(RENKEI_PCAP_DIR "/libpcap_shb_option_too_long.pcapng", &info, err,
                          sizeof(err));
    FAIL_IF_NOT(rc == -EINVAL);
    FAIL_IF_NOT(strstr(err, "option code 12336 of length 12336 exceeds the block"));

    rc = cmn_capfile_scan(RENKEI_PCAP_DIR "/suricata_tls_der_bogus_record_header.pcap", &info, err,
                          sizeof(err));
    FAIL_IF_NOT(rc == 0);
    FAIL_IF_NOT(info.packets == 6);
    FAIL_IF_NOT(strstr(info.trailing_error, "4325376-byte packet"));

    /* The reader itself: 6 packets, then -EBADMSG, sticky. */
    struct cmn_capfile *cf = cmn_capfile_open(
        RENKEI_PCAP_DIR "/suricata_tls_der_bogus_record_header.pcap", err, sizeof(err));
    FAIL_IF_NOT(cf);
    FAIL_IF_NOT(cmn_capfile_format(cf) == CMN_CAP_PCAP);
    FAIL_IF_NOT(cmn_capfile_linktype(cf) == CMN_LINK_EN10MB);
    struct cmn_cap_pkt p;
    int n = 0;
    while ((rc = cmn_capfile_next(cf, &p)) == 1)
        n++;
    FAIL_IF_NOT(n == 6 && rc == -EBADMSG);
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == -EBADMSG);
    FAIL_IF_NOT(strstr(cmn_capfile_error(cf), "bigger than the maximum"));
    cmn_capfile_close(&cf);
    FAIL_IF_NOT(cf == NULL);
    cmn_capfile_close(&cf); /* NULL is fine */

    FAIL_IF_NOT(cmn_capfile_open("/nonexistent/x.pcap", err, sizeof(err)) == NULL);
    FAIL_IF_NOT(strstr(err, "/nonexistent/x.pcap"));
    FAIL_IF_NOT(cmn_capfile_scan("/nonexistent/x.pcap", &info, err, sizeof(err)) == -EIO);
    PASS;
}

TEST(mixed_pcapng)
{
    struct cmn_capfile_info info;
    char err[256];
    FAIL_IF(cmn_capfile_scan(RENKEI_PCAP_DIR "/pcapplusplus_many_interfaces.pcapng", &info, err,
                             sizeof(err)) != 0);
    FAIL_IF_NOT(info.format == CMN_CAP_PCAPNG && info.mixed_linktypes);
    /* 11 IDBs of 3 link types; packets use two: Ethernet (62) and NULL (2) */
    FAIL_IF_NOT(info.packets == 64 && info.n_linktypes == 2);
    for (uint32_t i = 0; i < 2; i++) /* packets per link type */
        FAIL_IF_NOT(info.linktype_packets[i] == (info.linktypes[i] == CMN_LINK_EN10MB ? 62u : 2u));
    FAIL_IF(cmn_capfile_scan(RENKEI_PCAP_DIR "/pcapplusplus_pcapng_eth_and_sll.pcapng", &info, err,
                             sizeof(err)) != 0);
    FAIL_IF_NOT(info.mixed_linktypes && info.n_linktypes == 2 && info.packets == 159);
    FAIL_IF(cmn_capfile_scan(RENKEI_PCAP_DIR "/zeek_wikipedia_browse.pcap", &info, err,
                             sizeof(err)) != 0);
    FAIL_IF(info.mixed_linktypes || info.nanosecond || info.format != CMN_CAP_PCAP);
    FAIL_IF(info.first_ts_ns == 0 || info.last_ts_ns < info.first_ts_ns);
    PASS;
}

TEST(nanosecond_timestamps)
{
    struct cmn_capfile_info us, ns;
    char err[256];
    FAIL_IF(cmn_capfile_scan(RENKEI_PCAP_DIR "/pcapplusplus_nanosecs_big_endian.pcap", &ns, err,
                             sizeof(err)) != 0);
    FAIL_IF_NOT(ns.nanosecond && ns.packets == 10);
    FAIL_IF(ns.first_ts_ns % 1000 == 0 && ns.last_ts_ns % 1000 == 0); /* real ns digits */
    FAIL_IF(cmn_capfile_scan(RENKEI_PCAP_DIR "/zeek_tls12.pcap", &us, err, sizeof(err)) != 0);
    FAIL_IF(us.nanosecond || us.first_ts_ns % 1000 != 0);
    PASS;
}

/* Crafted classic pcap, big-endian µs, one 4-byte packet. */
TEST(crafted_pcap_be)
{
    uint8_t b[24 + 16 + 4] = {0};
    s_put32be(b, 0xa1b2c3d4u);
    b[4] = 0, b[5] = 2, b[6] = 0, b[7] = 4;
    s_put32be(b + 16, 65535);
    s_put32be(b + 20, 101);
    s_put32be(b + 24, 10);     /* 10 s */
    s_put32be(b + 28, 500000); /* .5 s */
    s_put32be(b + 32, 4);
    s_put32be(b + 36, 60);
    memcpy(b + 40, "\x45\x00\x00\x3c", 4);
    const char *path = s_write_tmp(b, sizeof(b));
    char err[256];
    struct cmn_capfile *cf = cmn_capfile_open(path, err, sizeof(err));
    FAIL_IF_NOT(cf);
    FAIL_IF_NOT(cmn_capfile_linktype(cf) == CMN_LINK_RAW);
    struct cmn_cap_pkt p;
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 1);
    FAIL_IF_NOT(p.caplen == 4 && p.origlen == 60 && p.ts_ns == 10500000000ull);
    FAIL_IF_NOT(p.data[0] == 0x45);
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 0);
    FAIL_IF_NOT(cmn_capfile_error(cf)[0] == '\0');
    cmn_capfile_close(&cf);

    /* Cut inside the packet data: damage after 0 packets. */
    path = s_write_tmp(b, sizeof(b) - 2);
    cf = cmn_capfile_open(path, err, sizeof(err));
    FAIL_IF_NOT(cf);
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == -EBADMSG);
    FAIL_IF_NOT(strstr(cmn_capfile_error(cf), "truncated packet data"));
    cmn_capfile_close(&cf);

    /* Not a capture at all; and an empty file. */
    path = s_write_tmp("hello world, not a pcap", 23);
    FAIL_IF(cmn_capfile_open(path, err, sizeof(err)));
    FAIL_IF_NOT(strstr(err, "not a pcap or pcapng"));
    path = s_write_tmp("", 0);
    FAIL_IF(cmn_capfile_open(path, err, sizeof(err)));
    unlink(path);
    PASS;
}

/* Build a little-endian pcapng block into b; returns its length. */
static size_t s_block(uint8_t *b, uint32_t type, const uint8_t *body, uint32_t blen_body)
{
    uint32_t total = 12 + ((blen_body + 3) & ~3u);
    memset(b, 0, total);
    s_put32le(b, type);
    s_put32le(b + 4, total);
    memcpy(b + 8, body, blen_body);
    s_put32le(b + total - 4, total);
    return total;
}

/* Two sections: LE with an ns-resolution Ethernet IDB and an EPB, an unknown
 * block to skip, then a BE section with an SLL IDB, an SPB and an obsolete PB. */
TEST(crafted_pcapng_sections)
{
    uint8_t f[1024];
    size_t n = 0;
    uint8_t body[128];
    /* SHB LE: BOM, 1.0, section length -1, no options */
    memset(body, 0, sizeof(body));
    s_put32le(body, 0x1a2b3c4d);
    s_put16le(body + 4, 1);
    memset(body + 8, 0xff, 8);
    n += s_block(f + n, 0x0a0d0d0a, body, 16);
    /* IDB: Ethernet, snaplen 0, if_tsresol 9, end of options */
    memset(body, 0, sizeof(body));
    s_put16le(body, 1);
    s_put16le(body + 8, 9);
    s_put16le(body + 10, 1);
    body[12] = 9;
    n += s_block(f + n, 1, body, 20);
    /* custom block (0x00000bad) to skip */
    n += s_block(f + n, 0xbad, (const uint8_t *)"skip me!", 8);
    /* EPB: iface 0, ts 1.5e9+7 ns, caplen 3, len 64 */
    memset(body, 0, sizeof(body));
    uint64_t ts = 1500000007ull;
    s_put32le(body + 4, (uint32_t)(ts >> 32));
    s_put32le(body + 8, (uint32_t)ts);
    s_put32le(body + 12, 3);
    s_put32le(body + 16, 64);
    memcpy(body + 20, "abc", 3);
    size_t epb = n;
    n += s_block(f + n, 6, body, 24);
    /* Section 2, big-endian. */
    memset(f + n, 0, 28);
    s_put32be(f + n, 0x0a0d0d0a);
    s_put32be(f + n + 4, 28);
    s_put32be(f + n + 8, 0x1a2b3c4d);
    f[n + 13] = 1; /* major 1, BE */
    memset(f + n + 16, 0xff, 8);
    s_put32be(f + n + 24, 28);
    n += 28;
    /* IDB BE: SLL, snaplen 2 */
    memset(f + n, 0, 20);
    s_put32be(f + n, 1);
    s_put32be(f + n + 4, 20);
    f[n + 9] = 113;
    s_put32be(f + n + 12, 2);
    s_put32be(f + n + 16, 20);
    n += 20;
    /* SPB BE: origlen 5, 8 bytes of data room -> caplen min(5, snaplen 2) = 2 */
    memset(f + n, 0, 24);
    s_put32be(f + n, 3);
    s_put32be(f + n + 4, 24);
    s_put32be(f + n + 8, 5);
    memcpy(f + n + 12, "xyzzy", 5);
    s_put32be(f + n + 20, 24);
    n += 24;
    /* PB BE (obsolete): iface 0 (16 bit), drops, ts 0:2000000 µs, caplen 1, len 1 */
    memset(f + n, 0, 36);
    s_put32be(f + n, 2);
    s_put32be(f + n + 4, 36);
    s_put32be(f + n + 16, 2000000);
    s_put32be(f + n + 20, 1);
    s_put32be(f + n + 24, 1);
    f[n + 28] = 'Q';
    s_put32be(f + n + 32, 36);
    n += 36;

    const char *path = s_write_tmp(f, n);
    char err[256];
    struct cmn_capfile *cf = cmn_capfile_open(path, err, sizeof(err));
    FAIL_IF_NOT(cf);
    FAIL_IF_NOT(cmn_capfile_format(cf) == CMN_CAP_PCAPNG);
    struct cmn_cap_pkt p;
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 1);
    FAIL_IF_NOT(cmn_capfile_linktype(cf) == CMN_LINK_EN10MB);
    FAIL_IF_NOT(p.linktype == 1 && p.caplen == 3 && p.origlen == 64 && p.ts_ns == ts);
    FAIL_IF_NOT(memcmp(p.data, "abc", 3) == 0);
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 1);
    FAIL_IF_NOT(p.linktype == 113 && p.caplen == 2 && p.origlen == 5 && p.ifindex == 0);
    FAIL_IF_NOT(memcmp(p.data, "xy", 2) == 0);
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 1);
    FAIL_IF_NOT(p.linktype == 113 && p.caplen == 1 && p.data[0] == 'Q');
    FAIL_IF_NOT(p.ts_ns == 2000000000ull);
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 0);
    cmn_capfile_close(&cf);

    struct cmn_capfile_info info;
    FAIL_IF(cmn_capfile_scan(path, &info, err, sizeof(err)) != 0);
    FAIL_IF_NOT(info.packets == 3 && info.mixed_linktypes && info.nanosecond);
    FAIL_IF_NOT(info.bytes == 64 + 5 + 1);

    /* Damage: EPB naming interface 7. */
    s_put32le(f + epb + 8, 7);
    path = s_write_tmp(f, n);
    cf = cmn_capfile_open(path, err, sizeof(err));
    FAIL_IF_NOT(cf);
    FAIL_IF_NOT(cmn_capfile_next(cf, &p) == -EBADMSG);
    FAIL_IF_NOT(strstr(cmn_capfile_error(cf), "interface 7"));
    cmn_capfile_close(&cf);
    s_put32le(f + epb + 8, 0);

    /* Damage: a block length that is not a multiple of 4. */
    s_put32le(f + epb + 4, 33);
    path = s_write_tmp(f, n);
    FAIL_IF(cmn_capfile_scan(path, &info, err, sizeof(err)) != 0);
    FAIL_IF_NOT(info.packets == 0 && strstr(info.trailing_error, "bad block length 33"));
    unlink(path);
    PASS;
}

/* if_tsoffset moves every timestamp of its interface, saturated: a
 * negative one past 1970 gives 0, a forged huge one the largest time. */
TEST(pcapng_tsoffset_saturates)
{
    const int64_t offs[] = {-5, -100, 1000, INT64_MAX, INT64_MIN};
    const uint64_t ts = 7000000000ull; /* 7 s, ns units */
    const int64_t lim = INT64_MAX / 1000000000ll;
    const uint64_t want[] = {2000000000ull, 0, 1007000000000ull, (uint64_t)lim * 1000000000ull + ts,
                             0};
    for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
        uint8_t f[512], body[64];
        size_t n = 0;
        memset(body, 0, sizeof(body));
        s_put32le(body, 0x1a2b3c4d);
        s_put16le(body + 4, 1);
        memset(body + 8, 0xff, 8);
        n += s_block(f + n, 0x0a0d0d0a, body, 16);
        /* IDB: Ethernet, if_tsresol 9, if_tsoffset offs[k], end of options */
        memset(body, 0, sizeof(body));
        s_put16le(body, 1);
        s_put16le(body + 8, 9);
        s_put16le(body + 10, 1);
        body[12] = 9;
        s_put16le(body + 16, 14);
        s_put16le(body + 18, 8);
        uint64_t o = (uint64_t)offs[k];
        s_put32le(body + 20, (uint32_t)o);
        s_put32le(body + 24, (uint32_t)(o >> 32));
        n += s_block(f + n, 1, body, 32);
        memset(body, 0, sizeof(body));
        s_put32le(body + 4, (uint32_t)(ts >> 32));
        s_put32le(body + 8, (uint32_t)ts);
        s_put32le(body + 12, 4);
        s_put32le(body + 16, 4);
        n += s_block(f + n, 6, body, 24);
        const char *path = s_write_tmp(f, n);
        char err[256];
        struct cmn_capfile *cf = cmn_capfile_open(path, err, sizeof(err));
        FAIL_IF_NOT(cf);
        struct cmn_cap_pkt p;
        FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 1);
        FAIL_IF_NOT(p.ts_ns == want[k]);
        cmn_capfile_close(&cf);
        unlink(path);
    }
    PASS;
}

TEST(linktypes_supported)
{
    FAIL_IF_NOT(cmn_capfile_linktype_supported(CMN_LINK_EN10MB));
    FAIL_IF_NOT(cmn_capfile_linktype_supported(CMN_LINK_SLL2));
    FAIL_IF_NOT(cmn_capfile_linktype_supported(CMN_LINK_RENKEI));
    const uint32_t added[] = {CMN_LINK_PPP,    CMN_LINK_PPP_HDLC,   CMN_LINK_PPP_ETHER,
                              CMN_LINK_C_HDLC, CMN_LINK_IEEE802_11, CMN_LINK_RADIOTAP};
    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++)
        FAIL_IF_NOT(cmn_capfile_linktype_supported(added[i]));
    FAIL_IF(cmn_capfile_linktype_supported(192)); /* PPI */
    FAIL_IF(cmn_capfile_linktype_supported(6));   /* token ring */
    char buf[24];
    FAIL_IF(strcmp(cmn_capfile_linktype_name(CMN_LINK_RADIOTAP, buf, sizeof(buf)),
                   "IEEE802_11_RADIOTAP") != 0);
    FAIL_IF(strcmp(cmn_capfile_linktype_name(192, buf, sizeof(buf)), "PPI") != 0);
    FAIL_IF(strcmp(cmn_capfile_linktype_name(4000, buf, sizeof(buf)), "LINKTYPE_4000") != 0);
    PASS;
}

TEST_MAIN(TEST_ENTRY(manifest_counts) TEST_ENTRY(corrupt_files) TEST_ENTRY(mixed_pcapng)
              TEST_ENTRY(nanosecond_timestamps) TEST_ENTRY(crafted_pcap_be)
                  TEST_ENTRY(crafted_pcapng_sections) TEST_ENTRY(pcapng_tsoffset_saturates)
                      TEST_ENTRY(linktypes_supported))
