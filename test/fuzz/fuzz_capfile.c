/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_capfile: any bytes as a capture file must give
 * packets or a clean error, never a crash, hang or out-of-bounds read.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "cmn_capfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/renkei-fuzz-capfile-%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    char err[256];
    struct cmn_capfile *cf = cmn_capfile_open(path, err, sizeof(err));
    if (cf) {
        struct cmn_cap_pkt pkt;
        volatile uint32_t sink = 0;
        for (int i = 0; i < 100000 && cmn_capfile_next(cf, &pkt) == 1; i++)
            if (pkt.caplen)
                sink ^= pkt.data[pkt.caplen - 1] ^ pkt.linktype;
        (void)sink;
        cmn_capfile_close(&cf);
    }
    struct cmn_capfile_info info;
    (void)cmn_capfile_scan(path, &info, err, sizeof(err));
    unlink(path);
    return 0;
}
