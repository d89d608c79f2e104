/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_ip: address text forms (RFC 5952), prefixes,
 * networks and protocol names as the export contract writes them.
 */
#include <errno.h>
#include <string.h>

#include "cmn_ip.h"
#include "harness.h"

TEST(ip_v4_roundtrip)
{
    uint8_t ip[16];
    char buf[CMN_IP_STRLEN];
    FAIL_IF(cmn_ip_parse("172.16.0.10", ip) != 0);
    FAIL_IF_NOT(cmn_ip_is_v4(ip));
    FAIL_IF(strcmp(cmn_ip_format(ip, buf, sizeof(buf)), "172.16.0.10") != 0);
    uint8_t raw[4] = {10, 3, 0, 20}, ip2[16];
    cmn_ip_from_v4(ip2, raw);
    FAIL_IF(strcmp(cmn_ip_format(ip2, buf, sizeof(buf)), "10.3.0.20") != 0);
    FAIL_IF_NOT(cmn_ip_cmp(ip2, ip) < 0);
    PASS;
}

TEST(ip_v6_rfc5952)
{
    uint8_t ip[16];
    char buf[CMN_IP_STRLEN];
    FAIL_IF(cmn_ip_parse("2001:0db8:0000:0000:0000:0000:0000:0001", ip) != 0);
    FAIL_IF(cmn_ip_is_v4(ip));
    FAIL_IF(strcmp(cmn_ip_format(ip, buf, sizeof(buf)), "2001:db8::1") != 0);
    FAIL_IF(cmn_ip_parse("not-an-ip", ip) != -EINVAL);
    FAIL_IF(cmn_ip_parse("1.2.3.256", ip) != -EINVAL);
    PASS;
}

TEST(ip_prefix)
{
    uint8_t lo[16], hi[16];
    char a[CMN_IP_STRLEN], b[CMN_IP_STRLEN];
    FAIL_IF(cmn_prefix_parse("10.1.2.3/8", lo, hi) != 0);
    FAIL_IF(strcmp(cmn_ip_format(lo, a, sizeof(a)), "10.0.0.0") != 0);
    FAIL_IF(strcmp(cmn_ip_format(hi, b, sizeof(b)), "10.255.255.255") != 0);
    FAIL_IF(cmn_prefix_parse("2001:db8::/32", lo, hi) != 0);
    FAIL_IF(strcmp(cmn_ip_format(hi, b, sizeof(b)), "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") != 0);
    FAIL_IF(cmn_prefix_parse("10.0.0.0/33", lo, hi) != -EINVAL);
    FAIL_IF(cmn_prefix_parse("/8", lo, hi) != -EINVAL);
    FAIL_IF(cmn_prefix_parse("10.0.0.0/x", lo, hi) != -EINVAL);
    PASS;
}

TEST(ip_network_and_proto)
{
    uint8_t ip[16];
    char buf[64];
    cmn_ip_parse("172.16.0.10", ip);
    FAIL_IF(strcmp(cmn_ip_network(ip, buf, sizeof(buf)), "172.16.0.0/24") != 0);
    cmn_ip_parse("2001:db8:1:2:3:4:5:6", ip);
    FAIL_IF(strcmp(cmn_ip_network(ip, buf, sizeof(buf)), "2001:db8:1:2::/64") != 0);
    FAIL_IF(strcmp(cmn_proto_name(6, buf, sizeof(buf)), "tcp") != 0);
    FAIL_IF(strcmp(cmn_proto_name(58, buf, sizeof(buf)), "icmpv6") != 0);
    FAIL_IF(strcmp(cmn_proto_name(47, buf, sizeof(buf)), "47") != 0);
    uint8_t p;
    FAIL_IF(cmn_proto_parse("udp", &p) != 0 || p != 17);
    FAIL_IF(cmn_proto_parse("132", &p) != 0 || p != 132);
    FAIL_IF(cmn_proto_parse("300", &p) != -EINVAL);
    PASS;
}

/* group(dst, src) by text */
static int s_group(const char *dst, const char *src)
{
    uint8_t d[16], s[16];
    if (cmn_ip_parse(dst, d) != 0 || cmn_ip_parse(src, s) != 0)
        return -1;
    return cmn_ip_is_group(d, s) ? 1 : 0;
}

static int s_unspec(const char *a)
{
    uint8_t ip[16];
    if (cmn_ip_parse(a, ip) != 0)
        return -1;
    return cmn_ip_is_unspecified(ip) ? 1 : 0;
}

TEST(ip_groups)
{
    FAIL_IF(s_group("224.0.0.251", "10.0.0.5") != 1);     /* mDNS */
    FAIL_IF(s_group("239.255.255.250", "10.0.0.5") != 1); /* SSDP */
    FAIL_IF(s_group("255.255.255.255", "0.0.0.0") != 1);  /* limited broadcast */
    FAIL_IF(s_group("10.0.0.255", "10.0.0.5") != 1);      /* directed, own /24 */
    FAIL_IF(s_group("10.0.0.255", "10.0.1.5") != 0);      /* .255 from another /24 */
    FAIL_IF(s_group("10.0.0.255", "2001:db8::1") != 0);
    FAIL_IF(s_group("10.0.0.254", "10.0.0.5") != 0);
    FAIL_IF(s_group("223.255.255.1", "10.0.0.5") != 0);
    FAIL_IF(s_group("240.0.0.1", "10.0.0.5") != 0);
    FAIL_IF(s_group("ff02::fb", "fe80::1") != 1);
    FAIL_IF(s_group("fe80::ff", "fe80::1") != 0);
    FAIL_IF(s_group("::ffff:10.0.0.1", "10.0.0.5") != 0);
    uint8_t ip[16];
    cmn_ip_parse("ff05::1:3", ip);
    FAIL_IF_NOT(cmn_ip_is_multicast(ip));
    cmn_ip_parse("255.255.255.255", ip);
    FAIL_IF(cmn_ip_is_multicast(ip));
    FAIL_IF(s_unspec("0.0.0.0") != 1);
    FAIL_IF(s_unspec("::") != 1);
    FAIL_IF(s_unspec("0.0.0.1") != 0);
    FAIL_IF(s_unspec("::1") != 0);
    PASS;
}

TEST_MAIN(TEST_ENTRY(ip_v4_roundtrip) TEST_ENTRY(ip_v6_rfc5952) TEST_ENTRY(ip_prefix)
              TEST_ENTRY(ip_network_and_proto) TEST_ENTRY(ip_groups))
