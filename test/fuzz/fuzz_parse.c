/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_parse: the first byte picks a link type, the
 * rest is the frame. Any bytes must give a record or a named drop reason,
 * never a crash or an out-of-bounds read.
 */
#include <stdint.h>
#include <string.h>

#include "cmn_capfile.h"
#include "cmn_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* append only: the corpus names link types by index (first byte) */
    static const uint32_t links[] = {
        CMN_LINK_EN10MB, CMN_LINK_SLL,        CMN_LINK_SLL2,     CMN_LINK_RAW,
        CMN_LINK_NULL,   CMN_LINK_LOOP,       CMN_LINK_IPV4,     CMN_LINK_IPV6,
        CMN_LINK_RENKEI, CMN_LINK_PPP,        CMN_LINK_PPP_HDLC, CMN_LINK_PPP_ETHER,
        CMN_LINK_C_HDLC, CMN_LINK_IEEE802_11, CMN_LINK_RADIOTAP, 192 /* PPI: unsupported */};
    if (size < 1)
        return 0;
    uint32_t lt = links[data[0] % (sizeof(links) / sizeof(links[0]))];
    struct cmn_parse_opts opts = {.keep_outer = (data[0] & 0x80) != 0};
    struct cmn_record rec;
    memset(&rec, 0, sizeof(rec));
    enum cmn_parse_result r = cmn_parse_packet(data + 1, (uint32_t)(size - 1), lt, 1, &opts, &rec);
    const char *name = cmn_parse_result_name(r);
    volatile size_t sink = strlen(name) + rec.ip_len;
    (void)sink;
    return 0;
}
