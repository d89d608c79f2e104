/* SPDX-License-Identifier: MIT
 * col_convert: pcapng (mixed link types) -> classic pcap of CMN_LINK_RENKEI.
 * One sequential read and one sequential write; memory is the capfile reader's
 * bounded block buffer plus stdio's.
 */
#define CMN_LOG_TAG "convert"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_capfile.h"
#include "cmn_log.h"
#include "cmn_parse.h"
#include "col_convert.h"

static void s_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int col_convert_renkei(const char *in, char *out_path, size_t out_len, uint64_t *packets, char *err,
                       size_t errlen)
{
    int rc = -EIO, fd = -1;
    FILE *out = NULL;
    struct cmn_capfile *cf = cmn_capfile_open(in, err, errlen);
    if (!cf)
        return -EINVAL;
    const char *dir = getenv("TMPDIR");
    snprintf(out_path, out_len, "%s/renkei-col-%d-XXXXXX", dir && *dir ? dir : "/tmp",
             (int)getpid());
    fd = mkstemp(out_path);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file %s: %s", out_path, strerror(errno));
        out_path[0] = '\0';
        goto err;
    }
    out = fdopen(fd, "wb");
    if (!out) {
        snprintf(err, errlen, "fdopen %s: %s", out_path, strerror(errno));
        goto err;
    }
    fd = -1;
    uint8_t gh[24];
    s_le32(gh, 0xa1b23c4du); /* nanosecond pcap */
    gh[4] = 2, gh[5] = 0, gh[6] = 4, gh[7] = 0;
    memset(gh + 8, 0, 8);
    s_le32(gh + 16, 256u * 1024u + CMN_PARSE_RENKEI_HLEN);
    s_le32(gh + 20, CMN_LINK_RENKEI);
    if (fwrite(gh, 1, sizeof(gh), out) != sizeof(gh))
        goto werr;
    struct cmn_cap_pkt p;
    uint64_t n = 0;
    int r;
    while ((r = cmn_capfile_next(cf, &p)) == 1) {
        uint8_t rh[16 + CMN_PARSE_RENKEI_HLEN];
        s_le32(rh, (uint32_t)(p.ts_ns / 1000000000ull));
        s_le32(rh + 4, (uint32_t)(p.ts_ns % 1000000000ull));
        s_le32(rh + 8, p.caplen + CMN_PARSE_RENKEI_HLEN);
        s_le32(rh + 12, p.origlen + CMN_PARSE_RENKEI_HLEN);
        cmn_parse_renkei_header(rh + 16, p.linktype);
        if (fwrite(rh, 1, sizeof(rh), out) != sizeof(rh) ||
            fwrite(p.data, 1, p.caplen, out) != p.caplen)
            goto werr;
        n++;
    }
    if (r < 0)
        CMN_LOG(WARN, "%s; converted the %llu packets before it", cmn_capfile_error(cf),
                (unsigned long long)n);
    if (fclose(out) != 0) {
        out = NULL;
        goto werr;
    }
    out = NULL;
    cmn_capfile_close(&cf);
    *packets = n;
    CMN_LOG(INFO, "%s: %llu packets of mixed link types converted to %s", in, (unsigned long long)n,
            out_path);
    return 0;
werr:
    snprintf(err, errlen, "writing %s: %s", out_path, strerror(errno));
err:
    if (out)
        fclose(out);
    if (fd >= 0)
        close(fd);
    if (out_path[0])
        unlink(out_path);
    out_path[0] = '\0';
    cmn_capfile_close(&cf);
    return rc;
}
