/* SPDX-License-Identifier: MIT
 * test_col_dns: the collector's DNS name ring and extraction. The ring keeps
 * order, refuses entries when full and never blocks; col_dns_extract turns
 * a captured DNS response (Ethernet/IPv4/UDP from port 53) into names with
 * the packet's time and counts queries, fragments and bad messages apart.
 * Doubles as the col_dns usage example.
 */
#include <stdint.h>
#include <string.h>

#include "cmn_capfile.h"
#include "cmn_parse.h"
#include "col_dns.h"
#include "col_stats.h"
#include "harness.h"

TEST(ring)
{
    FAIL_IF_NOT(col_dns_new(0) == NULL);
    struct col_dns *d = col_dns_new(3); /* rounded up to 4 */
    FAIL_IF_NOT(d);
    struct col_dns_entry e, out[8];
    memset(&e, 0, sizeof(e));
    for (int i = 0; i < 4; i++) {
        e.ts_ns = (uint64_t)i;
        FAIL_IF_NOT(col_dns_push(d, &e));
    }
    FAIL_IF(col_dns_push(d, &e)); /* full */
    FAIL_IF_NOT(col_dns_pop(d, out, 3) == 3);
    FAIL_IF_NOT(out[0].ts_ns == 0 && out[2].ts_ns == 2);
    e.ts_ns = 9;
    FAIL_IF_NOT(col_dns_push(d, &e));
    FAIL_IF_NOT(col_dns_pop(d, out, 8) == 2);
    FAIL_IF_NOT(out[0].ts_ns == 3 && out[1].ts_ns == 9);
    FAIL_IF_NOT(col_dns_pop(d, out, 8) == 0);
    col_dns_destroy(&d);
    FAIL_IF_NOT(d == NULL);
    col_dns_destroy(&d);
    FAIL_IF_NOT(col_dns_wanted(17, 53) && col_dns_wanted(6, 53) && col_dns_wanted(17, 5353) &&
                col_dns_wanted(17, 5355));
    FAIL_IF(col_dns_wanted(17, 54) || col_dns_wanted(1, 53));
    PASS;
}

/* Ethernet/IPv4/UDP 53 -> 40000 frame around DNS bytes; returns its length. */
static uint32_t s_frame(uint8_t *f, const uint8_t *dns, size_t n, uint16_t frag)
{
    memset(f, 0, 64);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *u = ip + 20;
    uint16_t tot = (uint16_t)(28 + n);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
    ip[6] = (uint8_t)(frag >> 8), ip[7] = (uint8_t)frag;
    ip[8] = 64, ip[9] = 17;
    ip[12] = 10, ip[15] = 53;
    ip[16] = 10, ip[19] = 7;
    u[1] = 53, u[2] = 0x9c, u[3] = 0x40;
    u[4] = (uint8_t)((8 + n) >> 8), u[5] = (uint8_t)(8 + n);
    memcpy(u + 8, dns, n);
    return (uint32_t)(14 + tot);
}

TEST(extract)
{
    /* response: 1 answer, "h.example" A 10.1.2.3 */
    static const uint8_t resp[] = {0x12, 0x34, 0x81, 0x80, 0,   0,   0,   1,   0,   0, 0, 0, 1,
                                   'h',  7,    'e',  'x',  'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0,
                                   1,    0,    0,    0,    60,  0,   4,   10,  1,   2, 3};
    uint8_t f[256];
    uint64_t v[COL_STAT_COUNT] = {0};
    struct col_dns *d = col_dns_new(16);
    struct cmn_record r;
    uint32_t len = s_frame(f, resp, sizeof(resp), 0);
    FAIL_IF_NOT(cmn_parse_packet(f, len, CMN_LINK_EN10MB, 777, NULL, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(col_dns_wanted(r.proto, r.sport));
    col_dns_extract(d, f, len, CMN_LINK_EN10MB, NULL, &r, v);
    FAIL_IF_NOT(v[COL_STAT_DNS_RESPONSES] == 1 && v[COL_STAT_DNS_NAMES] == 1);
    struct col_dns_entry out[4];
    FAIL_IF_NOT(col_dns_pop(d, out, 4) == 1);
    FAIL_IF_NOT(out[0].ts_ns == 777 && strcmp(out[0].n.name, "h.example") == 0);
    FAIL_IF_NOT(out[0].n.ip[15] == 3 && out[0].n.rtype == CMN_DNS_A);

    /* the same bytes as a query: nothing, nothing counted as bad */
    uint8_t q[sizeof(resp)];
    memcpy(q, resp, sizeof(q));
    q[2] = 0x01;
    len = s_frame(f, q, sizeof(q), 0);
    FAIL_IF_NOT(cmn_parse_packet(f, len, CMN_LINK_EN10MB, 1, NULL, &r) == CMN_PARSE_OK);
    col_dns_extract(d, f, len, CMN_LINK_EN10MB, NULL, &r, v);
    FAIL_IF_NOT(v[COL_STAT_DNS_RESPONSES] == 1 && v[COL_STAT_DNS_MALFORMED] == 0);

    /* cut short: malformed; a first fragment: skipped */
    len = s_frame(f, resp, sizeof(resp) - 2, 0);
    FAIL_IF_NOT(cmn_parse_packet(f, len, CMN_LINK_EN10MB, 1, NULL, &r) == CMN_PARSE_OK);
    col_dns_extract(d, f, len, CMN_LINK_EN10MB, NULL, &r, v);
    FAIL_IF_NOT(v[COL_STAT_DNS_MALFORMED] == 1);
    len = s_frame(f, resp, sizeof(resp), 0x2000); /* more fragments */
    FAIL_IF_NOT(cmn_parse_packet(f, len, CMN_LINK_EN10MB, 1, NULL, &r) == CMN_PARSE_OK);
    col_dns_extract(d, f, len, CMN_LINK_EN10MB, NULL, &r, v);
    FAIL_IF_NOT(v[COL_STAT_DNS_SKIPPED] == 1);

    /* a full ring drops and counts; without a ring (print mode) names are counted only */
    struct col_dns *tiny = col_dns_new(2);
    len = s_frame(f, resp, sizeof(resp), 0);
    FAIL_IF_NOT(cmn_parse_packet(f, len, CMN_LINK_EN10MB, 1, NULL, &r) == CMN_PARSE_OK);
    for (int i = 0; i < 3; i++)
        col_dns_extract(tiny, f, len, CMN_LINK_EN10MB, NULL, &r, v);
    FAIL_IF_NOT(v[COL_STAT_DNS_DROPPED] == 1);
    col_dns_extract(NULL, f, len, CMN_LINK_EN10MB, NULL, &r, v);
    FAIL_IF_NOT(v[COL_STAT_DNS_NAMES] == 1 + 2 + 1);
    FAIL_IF_NOT(strcmp(col_stats_name(COL_STAT_DNS_DROPPED), "dns_dropped") == 0);
    col_dns_destroy(&tiny);
    col_dns_destroy(&d);
    PASS;
}

TEST_MAIN(TEST_ENTRY(ring) TEST_ENTRY(extract))
