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

TEST_MAIN(TEST_ENTRY(ip_v4_roundtrip) TEST_ENTRY(ip_v6_rfc5952) TEST_ENTRY(ip_prefix)
              TEST_ENTRY(ip_network_and_proto))
