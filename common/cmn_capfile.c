/* SPDX-License-Identifier: MIT
 * cmn_capfile: a bounded-memory reader for classic pcap and pcapng. Every
 * length read from the file is checked against the block or record that holds
 * it before use; anything that does not fit is "damage" with a reason that
 * names the file, the byte offset and the field. No libpcap: the collector
 * needs per-packet link types of pcapng files, which libpcap does not expose.
 * A regular file is memory-mapped: packets are handed out in place, never
 * copied (the collector reads capture files itself this way); should mmap
 * fail, stdio reads into a bounded buffer instead.
 */
#define CMN_LOG_TAG "capfile"
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_capfile.h"
#include "cmn_file.h"
#include "cmn_log.h"

#define CAP_MAX_CAPLEN (256u * 1024u)            /* larger caplen = damage (libpcap's limit) */
#define CAP_MAX_BLOCK  (CAP_MAX_CAPLEN + 65536u) /* packet block incl. options */
#define CAP_MAX_META   (1024u * 1024u)           /* SHB/IDB blocks we read whole */
#define CAP_MAX_IFACES 256u                      /* interfaces per pcapng section */
#define CAP_IOBUF      (1u << 20)                /* stdio buffer */
#define CAP_RELEASE    (64ull << 20)             /* mapped bytes read before they are released */

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAPNG_SHB    0x0a0d0d0au
#define PCAPNG_BOM    0x1a2b3c4du
#define PCAPNG_IDB    0x00000001u
#define PCAPNG_PB     0x00000002u /* obsolete packet block */
#define PCAPNG_SPB    0x00000003u
#define PCAPNG_EPB    0x00000006u

/* One pcapng interface: link type and timestamp scale. */
struct cap_iface {
    uint32_t linktype; /* LINKTYPE_* of the IDB */
    uint32_t snaplen;  /* IDB snaplen (0 = unlimited), bounds SPB caplen */
    uint64_t units;    /* timestamp units per second (10^n or 2^n) */
    int64_t offset_s;  /* if_tsoffset, seconds added to every timestamp */
};

struct cmn_capfile {
    FILE *f;                                 /* the open file (NULL once mapped) */
    uint8_t *map;                            /* the whole file, mapped PROT_READ, or NULL */
    uint64_t size;                           /* bytes mapped */
    uint64_t released;                       /* map bytes before this were given back */
    char path[256];                          /* for messages */
    enum cmn_cap_format format;              /* pcap or pcapng */
    bool swap;                               /* file (or section) byte order differs from ours */
    bool ns;                                 /* pcap: nanosecond timestamps */
    uint32_t linktype;                       /* pcap: file link type; pcapng: first IDB's */
    bool have_linktype;                      /* pcapng: an IDB was seen */
    uint32_t snaplen;                        /* pcap header snaplen */
    uint64_t offset;                         /* file offset of the next unread byte */
    uint64_t packets;                        /* packets returned so far */
    struct cap_iface ifaces[CAP_MAX_IFACES]; /* interfaces of the current section */
    uint32_t n_ifaces;                       /* entries used in ifaces */
    bool fine_ts;                            /* some interface has sub-µs resolution */
    uint8_t *buf;                            /* block / record buffer, CAP_MAX_BLOCK bytes */
    char *iobuf;                             /* stdio buffer */
    char error[256];                         /* last failure, "" if none */
};

static uint32_t s_u32(const struct cmn_capfile *cf, const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return cf->swap ? __builtin_bswap32(v) : v;
}

static uint16_t s_u16(const struct cmn_capfile *cf, const uint8_t *p)
{
    uint16_t v = (uint16_t)(p[0] | p[1] << 8);
    return cf->swap ? __builtin_bswap16(v) : v;
}

__attribute__((format(printf, 2, 3))) static int s_fail(struct cmn_capfile *cf, const char *fmt,
                                                        ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    int n = snprintf(cf->error, sizeof(cf->error), "%s: %s", cf->path, what);
    if (n >= (int)sizeof(cf->error)) /* a long path cuts the message; mark it */
        memcpy(cf->error + sizeof(cf->error) - 4, "...", 4);
    return -EBADMSG;
}

/* Bytes of the map left after the read position. */
static uint64_t s_left(const struct cmn_capfile *cf)
{
    return cf->offset < cf->size ? cf->size - cf->offset : 0;
}

/* Read exactly n bytes. 1 read, 0 clean EOF before any byte, -1 short read. */
static int s_read(struct cmn_capfile *cf, void *dst, size_t n)
{
    if (cf->map) {
        uint64_t left = s_left(cf);
        size_t got = left < n ? (size_t)left : n;
        memcpy(dst, cf->map + cf->offset, got);
        cf->offset += got;
        return got == n ? 1 : got == 0 ? 0 : -1;
    }
    size_t got = fread(dst, 1, n, cf->f);
    cf->offset += got;
    if (got == n)
        return 1;
    return got == 0 ? 0 : -1;
}

static int s_skip(struct cmn_capfile *cf, uint64_t n)
{
    if (n == 0)
        return 0;
    if (cf->map) { /* past the end is found by the next read, as with fseeko */
        cf->offset += n;
        return 0;
    }
    if (fseeko(cf->f, (off_t)n, SEEK_CUR) != 0)
        return -1;
    cf->offset += n;
    return 0;
}

/* The next n bytes: in place when mapped (no copy), else read into cf->buf
 * (n <= its size). NULL on a short read (the callers' "truncated"). */
static const uint8_t *s_take(struct cmn_capfile *cf, size_t n)
{
    if (cf->map) {
        if (s_left(cf) < n) {
            cf->offset = cf->size;
            return NULL;
        }
        const uint8_t *p = cf->map + cf->offset;
        cf->offset += n;
        return p;
    }
    return s_read(cf, cf->buf, n) == 1 ? cf->buf : NULL;
}

/* Units per second to ns: exact for 10^n, 128-bit for 2^n. */
/* ts_ns moved by if_tsoffset's off_s seconds, saturated: a forged offset
 * can neither overflow the multiply nor wrap the time before 1970. */
static uint64_t s_offset(uint64_t ts_ns, int64_t off_s)
{
    const int64_t lim = INT64_MAX / 1000000000ll;
    off_s = off_s > lim ? lim : off_s < -lim ? -lim : off_s;
    int64_t off = off_s * 1000000000ll;
    if (off >= 0)
        return ts_ns > UINT64_MAX - (uint64_t)off ? UINT64_MAX : ts_ns + (uint64_t)off;
    uint64_t neg = (uint64_t)(-off);
    return ts_ns < neg ? 0 : ts_ns - neg;
}

static uint64_t s_ts_ns(uint64_t ts, uint64_t units)
{
    if (units == 1000000000ull)
        return ts;
    if (units == 1000000ull)
        return ts * 1000ull;
    unsigned __int128 v = (unsigned __int128)ts * 1000000000ull / units;
    return (uint64_t)v;
}

/* ---- classic pcap ---- */

static int s_pcap_next(struct cmn_capfile *cf, struct cmn_cap_pkt *pkt)
{
    uint8_t hdr[16];
    uint64_t at = cf->offset;
    int r = s_read(cf, hdr, sizeof(hdr));
    if (r == 0)
        return 0;
    if (r < 0)
        return s_fail(cf, "truncated record header at offset %" PRIu64 " after %" PRIu64 " packets",
                      at, cf->packets);
    uint32_t sec = s_u32(cf, hdr), frac = s_u32(cf, hdr + 4);
    uint32_t caplen = s_u32(cf, hdr + 8), origlen = s_u32(cf, hdr + 12);
    if (caplen > CAP_MAX_CAPLEN)
        return s_fail(cf,
                      "record at offset %" PRIu64 " (after %" PRIu64 " packets) has a %" PRIu32
                      "-byte packet, bigger than the maximum of %u",
                      at, cf->packets, caplen, CAP_MAX_CAPLEN);
    if (frac >= (cf->ns ? 1000000000u : 1000000u))
        return s_fail(cf, "record at offset %" PRIu64 " has a bad timestamp fraction %" PRIu32, at,
                      frac);
    const uint8_t *data = caplen > 0 ? s_take(cf, caplen) : cf->buf;
    if (!data)
        return s_fail(cf,
                      "truncated packet data at offset %" PRIu64 " after %" PRIu64
                      " packets (%" PRIu32 " bytes announced)",
                      at, cf->packets, caplen);
    pkt->data = data;
    pkt->caplen = caplen;
    pkt->origlen = origlen < caplen ? caplen : origlen;
    pkt->ts_ns = (uint64_t)sec * 1000000000ull + (cf->ns ? frac : (uint64_t)frac * 1000ull);
    pkt->linktype = cf->linktype;
    pkt->ifindex = 0;
    return 1;
}

/* ---- pcapng ---- */

/* Walk the options in [p, end): every option must fit, padded to 4. `fn`
 * sees each one (may be NULL). Returns 0 or -EBADMSG. */
typedef void (*cap_opt_fn)(struct cmn_capfile *cf, uint16_t code, const uint8_t *v, uint16_t len,
                           void *arg);

static int s_options(struct cmn_capfile *cf, const uint8_t *p, const uint8_t *end, uint32_t btype,
                     uint64_t at, cap_opt_fn fn, void *arg)
{
    while (p < end) {
        if (end - p < 4)
            return s_fail(cf,
                          "block type 0x%08" PRIx32 " at offset %" PRIu64
                          ": %d stray bytes where an option header should be",
                          btype, at, (int)(end - p));
        uint16_t code = s_u16(cf, p), len = s_u16(cf, p + 2);
        size_t padded = ((size_t)len + 3u) & ~(size_t)3u;
        if (code == 0) /* opt_endofopt */
            return 0;
        if ((size_t)(end - p - 4) < padded)
            return s_fail(cf,
                          "block type 0x%08" PRIx32 " at offset %" PRIu64
                          ": option code %u of length %u exceeds the block (%d bytes left)",
                          btype, at, code, len, (int)(end - p - 4));
        if (fn)
            fn(cf, code, p + 4, len, arg);
        p += 4 + padded;
    }
    return 0;
}

/* IDB options of interest: if_tsresol (9) and if_tsoffset (14). */
static void s_idb_opt(struct cmn_capfile *cf, uint16_t code, const uint8_t *v, uint16_t len,
                      void *arg)
{
    struct cap_iface *ifc = arg;
    if (code == 9 && len >= 1) {
        uint8_t r = v[0];
        uint32_t exp = r & 0x7f;
        if (r & 0x80) {
            ifc->units = exp < 64 ? (1ull << exp) : 0;
        } else {
            uint64_t u = 1;
            for (uint32_t i = 0; i < exp && u != 0; i++)
                u = u > UINT64_MAX / 10 ? 0 : u * 10;
            ifc->units = u;
        }
    } else if (code == 14 && len >= 8) {
        /* one 64-bit integer in the section's byte order */
        uint64_t a = s_u32(cf, v), b = s_u32(cf, v + 4);
        ifc->offset_s = (int64_t)(cf->swap ? (a << 32 | b) : (b << 32 | a));
    }
}

/* Parse a Section Header Block whose 8-byte header was read into h. Sets the
 * section byte order and forgets the previous section's interfaces. */
static int s_shb(struct cmn_capfile *cf, const uint8_t h[8], uint64_t at)
{
    uint8_t bom[4];
    if (s_read(cf, bom, 4) != 1)
        return s_fail(cf, "truncated section header block at offset %" PRIu64, at);
    uint32_t m =
        (uint32_t)bom[0] | (uint32_t)bom[1] << 8 | (uint32_t)bom[2] << 16 | (uint32_t)bom[3] << 24;
    if (m == PCAPNG_BOM)
        cf->swap = false;
    else if (m == __builtin_bswap32(PCAPNG_BOM))
        cf->swap = true;
    else
        return s_fail(
            cf, "section header block at offset %" PRIu64 ": bad byte-order magic 0x%08" PRIx32, at,
            m);
    uint32_t blen = s_u32(cf, h + 4);
    if (blen < 28 || blen % 4 != 0 || blen > CAP_MAX_META)
        return s_fail(cf, "section header block at offset %" PRIu64 ": bad block length %" PRIu32,
                      at, blen);
    uint32_t rest = blen - 12; /* after type, length, BOM */
    const uint8_t *b = s_take(cf, rest);
    if (!b)
        return s_fail(cf, "truncated section header block at offset %" PRIu64, at);
    uint16_t major = s_u16(cf, b), minor = s_u16(cf, b + 2);
    if (major != 1)
        return s_fail(cf, "pcapng major version %u unsupported (section at offset %" PRIu64 ")",
                      major, at);
    (void)minor;
    /* Options before the trailer, as libpcap does: an overlong option is the
     * more telling message when both are wrong. */
    int rc = s_options(cf, b + 12, b + rest - 4, PCAPNG_SHB, at, NULL, NULL);
    if (rc != 0)
        return rc;
    if (s_u32(cf, b + rest - 4) != blen)
        return s_fail(cf,
                      "section header block at offset %" PRIu64
                      ": trailing length differs from leading length %" PRIu32,
                      at, blen);
    cf->n_ifaces = 0;
    return 0;
}

static int s_idb(struct cmn_capfile *cf, const uint8_t *body, uint32_t blen, uint64_t at)
{
    if (blen < 20)
        return s_fail(cf, "interface block at offset %" PRIu64 ": length %" PRIu32 " too short", at,
                      blen);
    if (cf->n_ifaces >= CAP_MAX_IFACES)
        return s_fail(cf, "more than %u interfaces in one section (offset %" PRIu64 ")",
                      CAP_MAX_IFACES, at);
    struct cap_iface *ifc = &cf->ifaces[cf->n_ifaces];
    ifc->linktype = s_u16(cf, body);
    ifc->snaplen = s_u32(cf, body + 4);
    ifc->units = 1000000ull;
    ifc->offset_s = 0;
    int rc = s_options(cf, body + 8, body + blen - 12, PCAPNG_IDB, at, s_idb_opt, ifc);
    if (rc != 0)
        return rc;
    if (ifc->units == 0)
        return s_fail(cf, "interface block at offset %" PRIu64 ": unusable if_tsresol", at);
    if (ifc->units > 1000000ull)
        cf->fine_ts = true;
    if (!cf->have_linktype) {
        cf->linktype = ifc->linktype;
        cf->have_linktype = true;
    }
    cf->n_ifaces++;
    return 0;
}

static int s_pcapng_next(struct cmn_capfile *cf, struct cmn_cap_pkt *pkt)
{
    for (;;) {
        uint8_t h[8];
        uint64_t at = cf->offset;
        int r = s_read(cf, h, 8);
        if (r == 0)
            return 0;
        if (r < 0)
            return s_fail(cf,
                          "truncated block header at offset %" PRIu64 " after %" PRIu64 " packets",
                          at, cf->packets);
        uint32_t raw_type =
            (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        if (raw_type == PCAPNG_SHB) { /* palindromic: same in both byte orders */
            int rc = s_shb(cf, h, at);
            if (rc != 0)
                return rc;
            continue;
        }
        uint32_t type = s_u32(cf, h), blen = s_u32(cf, h + 4);
        if (blen < 12 || blen % 4 != 0)
            return s_fail(cf,
                          "block type 0x%08" PRIx32 " at offset %" PRIu64 " (after %" PRIu64
                          " packets): bad block length %" PRIu32,
                          type, at, cf->packets, blen);
        bool wanted =
            type == PCAPNG_IDB || type == PCAPNG_EPB || type == PCAPNG_SPB || type == PCAPNG_PB;
        if (!wanted) {
            /* Skip unread, but a skip past the end of file is damage, not EOF. */
            uint8_t tail[4];
            if (s_skip(cf, blen - 12) != 0 || s_read(cf, tail, 4) != 1)
                return s_fail(cf, "truncated block type 0x%08" PRIx32 " at offset %" PRIu64, type,
                              at);
            if (s_u32(cf, tail) != blen)
                return s_fail(cf,
                              "block type 0x%08" PRIx32 " at offset %" PRIu64
                              ": trailing length differs from leading length %" PRIu32,
                              type, at, blen);
            continue;
        }
        if (blen > (type == PCAPNG_IDB ? CAP_MAX_META : CAP_MAX_BLOCK))
            return s_fail(cf,
                          "block type 0x%08" PRIx32 " at offset %" PRIu64 " (after %" PRIu64
                          " packets): length %" PRIu32 " exceeds the maximum of %u",
                          type, at, cf->packets, blen,
                          type == PCAPNG_IDB ? CAP_MAX_META : CAP_MAX_BLOCK);
        const uint8_t *b = s_take(cf, blen - 8);
        if (!b)
            return s_fail(cf,
                          "truncated block type 0x%08" PRIx32 " at offset %" PRIu64 " (%" PRIu32
                          " bytes announced)",
                          type, at, blen);
        uint32_t body = blen - 12;
        if (s_u32(cf, b + body) != blen)
            return s_fail(cf,
                          "block type 0x%08" PRIx32 " at offset %" PRIu64
                          ": trailing length differs from leading length %" PRIu32,
                          type, at, blen);
        if (type == PCAPNG_IDB) {
            int rc = s_idb(cf, b, blen, at);
            if (rc != 0)
                return rc;
            continue;
        }
        uint32_t ifidx, caplen, origlen, hdr;
        uint64_t ts = 0;
        if (type == PCAPNG_EPB || type == PCAPNG_PB) {
            if (body < 20)
                return s_fail(cf,
                              "packet block at offset %" PRIu64 ": length %" PRIu32 " too short",
                              at, blen);
            ifidx = type == PCAPNG_EPB ? s_u32(cf, b) : s_u16(cf, b);
            ts = (uint64_t)s_u32(cf, b + 4) << 32 | s_u32(cf, b + 8);
            caplen = s_u32(cf, b + 12);
            origlen = s_u32(cf, b + 16);
            hdr = 20;
            if (caplen > body - hdr)
                return s_fail(cf,
                              "packet block at offset %" PRIu64 ": captured length %" PRIu32
                              " exceeds the block",
                              at, caplen);
            size_t padded = ((size_t)caplen + 3u) & ~(size_t)3u;
            if (padded > body - hdr)
                padded = body - hdr;
            int rc = s_options(cf, b + hdr + padded, b + body, type, at, NULL, NULL);
            if (rc != 0)
                return rc;
        } else { /* SPB: interface 0, caplen from block length and snaplen */
            if (body < 4)
                return s_fail(cf, "simple packet block at offset %" PRIu64 " too short", at);
            ifidx = 0;
            origlen = s_u32(cf, b);
            hdr = 4;
            caplen = body - hdr;
            if (origlen < caplen)
                caplen = origlen;
        }
        if (ifidx >= cf->n_ifaces)
            return s_fail(cf,
                          "packet block at offset %" PRIu64 " names interface %" PRIu32
                          " but the section has %" PRIu32,
                          at, ifidx, cf->n_ifaces);
        const struct cap_iface *ifc = &cf->ifaces[ifidx];
        if (type == PCAPNG_SPB && ifc->snaplen != 0 && caplen > ifc->snaplen)
            caplen = ifc->snaplen;
        if (caplen > CAP_MAX_CAPLEN)
            return s_fail(cf,
                          "packet block at offset %" PRIu64 " (after %" PRIu64
                          " packets) has a %" PRIu32 "-byte packet, bigger than the maximum "
                          "of %u",
                          at, cf->packets, caplen, CAP_MAX_CAPLEN);
        pkt->data = b + hdr;
        pkt->caplen = caplen;
        pkt->origlen = origlen < caplen ? caplen : origlen;
        pkt->ts_ns = s_offset(s_ts_ns(ts, ifc->units), ifc->offset_s);
        pkt->linktype = ifc->linktype;
        pkt->ifindex = ifidx;
        return 1;
    }
}

/* ---- public ---- */

static struct cmn_capfile *s_open(const char *path, char *err, size_t errlen, int *rc)
{
    struct cmn_capfile *cf = calloc(1, sizeof(*cf));
    if (!cf) {
        snprintf(err, errlen, "%s: out of memory", path);
        *rc = -ENOMEM;
        return NULL;
    }
    snprintf(cf->path, sizeof(cf->path), "%s", path);
    cf->buf = malloc(CAP_MAX_META > CAP_MAX_BLOCK ? CAP_MAX_META : CAP_MAX_BLOCK);
    cf->iobuf = malloc(CAP_IOBUF);
    if (!cf->buf || !cf->iobuf) {
        snprintf(err, errlen, "%s: out of memory", path);
        *rc = -ENOMEM;
        goto err;
    }
    cf->f = cmn_file_open(path, "capture", err, errlen); /* no FIFO, device, directory */
    if (!cf->f) {
        *rc = errno == EISDIR || errno == EINVAL ? -EINVAL : -EIO;
        goto err;
    }
    struct stat st;
    if (fstat(fileno(cf->f), &st) == 0 && st.st_size > 0 &&
        (uint64_t)st.st_size <= (uint64_t)SIZE_MAX) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(cf->f), 0);
        if (m != MAP_FAILED) {
            madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
            cf->map = m;
            cf->size = (uint64_t)st.st_size;
            fclose(cf->f);
            cf->f = NULL;
        }
    }
    if (cf->f)
        setvbuf(cf->f, cf->iobuf, _IOFBF, CAP_IOBUF);
    uint8_t h[24];
    int r = s_read(cf, h, 8);
    if (r != 1) {
        snprintf(err, errlen, "%s: %s", path,
                 r == 0 ? "empty file, not a capture" : "too short for a capture file header");
        *rc = -EINVAL;
        goto err;
    }
    uint32_t m = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    if (m == PCAPNG_SHB) {
        cf->format = CMN_CAP_PCAPNG;
        if (s_shb(cf, h, 0) != 0) {
            snprintf(err, errlen, "%s", cf->error);
            *rc = -EINVAL;
            goto err;
        }
        return cf;
    }
    cf->format = CMN_CAP_PCAP;
    if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS) {
        cf->swap = false;
    } else if (m == __builtin_bswap32(PCAP_MAGIC_US) || m == __builtin_bswap32(PCAP_MAGIC_NS)) {
        cf->swap = true;
        m = __builtin_bswap32(m);
    } else {
        snprintf(err, errlen, "%s: not a pcap or pcapng file (magic %02x %02x %02x %02x)", path,
                 h[0], h[1], h[2], h[3]);
        *rc = -EINVAL;
        goto err;
    }
    cf->ns = m == PCAP_MAGIC_NS;
    if (s_read(cf, h + 8, 16) != 1) {
        snprintf(err, errlen, "%s: truncated pcap file header", path);
        *rc = -EINVAL;
        goto err;
    }
    uint16_t major = s_u16(cf, h + 4), minor = s_u16(cf, h + 6);
    if (major != 2) {
        snprintf(err, errlen, "%s: pcap major version %u unsupported", path, major);
        *rc = -EINVAL;
        goto err;
    }
    (void)minor;
    cf->snaplen = s_u32(cf, h + 16);
    cf->linktype = s_u32(cf, h + 20) & 0x03ffffffu; /* upper bits: FCS length flags */
    cf->have_linktype = true;
    return cf;
err:
    cmn_capfile_close(&cf);
    return NULL;
}

struct cmn_capfile *cmn_capfile_open(const char *path, char *err, size_t errlen)
{
    int rc;
    return s_open(path, err, errlen, &rc);
}

int cmn_capfile_next(struct cmn_capfile *cf, struct cmn_cap_pkt *pkt)
{
    if (cf->error[0])
        return -EBADMSG; /* damage is sticky: no resync guesses */
    if (cf->map && cf->offset - cf->released >= CAP_RELEASE) {
        /* the packets before this one are no longer borrowed: give their
         * pages back, so the mapping of a large file does not grow the
         * process's resident set to the file's size */
        long ps = sysconf(_SC_PAGESIZE);
        uint64_t page = ps > 0 ? (uint64_t)ps : 4096, upto = cf->offset / page * page;
        if (upto > cf->released && upto <= cf->size) {
            madvise(cf->map + cf->released, (size_t)(upto - cf->released), MADV_DONTNEED);
            cf->released = upto;
        }
    }
    int rc = cf->format == CMN_CAP_PCAP ? s_pcap_next(cf, pkt) : s_pcapng_next(cf, pkt);
    if (rc == 1)
        cf->packets++;
    else if (rc == 0 && cf->f && ferror(cf->f))
        rc = s_fail(cf, "read error after %" PRIu64 " packets: %s", cf->packets, strerror(EIO));
    return rc;
}

uint64_t cmn_capfile_offset(const struct cmn_capfile *cf)
{
    return cf->offset;
}

uint64_t cmn_capfile_packets(const struct cmn_capfile *cf)
{
    return cf->packets;
}

const char *cmn_capfile_error(const struct cmn_capfile *cf)
{
    return cf->error;
}

enum cmn_cap_format cmn_capfile_format(const struct cmn_capfile *cf)
{
    return cf->format;
}

uint32_t cmn_capfile_linktype(const struct cmn_capfile *cf)
{
    return cf->linktype;
}

void cmn_capfile_close(struct cmn_capfile **cf)
{
    if (!cf || !*cf)
        return;
    if ((*cf)->f)
        fclose((*cf)->f);
    if ((*cf)->map)
        munmap((*cf)->map, (size_t)(*cf)->size);
    free((*cf)->iobuf);
    free((*cf)->buf);
    free(*cf);
    *cf = NULL;
}

int cmn_capfile_scan(const char *path, struct cmn_capfile_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof(*info));
    int rc;
    struct cmn_capfile *cf = s_open(path, err, errlen, &rc);
    if (!cf)
        return rc == -ENOMEM ? -EIO : rc;
    info->format = cf->format;
    info->nanosecond = cf->ns;
    struct cmn_cap_pkt p;
    while ((rc = cmn_capfile_next(cf, &p)) == 1) {
        if (info->packets == 0)
            info->first_ts_ns = p.ts_ns;
        info->last_ts_ns = p.ts_ns;
        info->packets++;
        info->bytes += p.origlen;
        uint32_t i;
        for (i = 0; i < info->n_linktypes; i++)
            if (info->linktypes[i] == p.linktype)
                break;
        if (i == info->n_linktypes) {
            if (info->n_linktypes < sizeof(info->linktypes) / sizeof(info->linktypes[0]))
                info->linktypes[info->n_linktypes++] = p.linktype;
            if (i > 0)
                info->mixed_linktypes = true;
        }
        if (i < info->n_linktypes) /* beyond 8 distinct types: not counted per type */
            info->linktype_packets[i]++;
    }
    if (cf->format == CMN_CAP_PCAPNG)
        info->nanosecond = cf->fine_ts;
    if (rc < 0)
        snprintf(info->trailing_error, sizeof(info->trailing_error), "%s", cf->error);
    if (info->packets == 0 && info->n_linktypes == 0 && cf->have_linktype) {
        info->linktypes[0] = cf->linktype;
        info->n_linktypes = 1;
    }
    cmn_capfile_close(&cf);
    return 0;
}

bool cmn_capfile_linktype_supported(uint32_t linktype)
{
    switch (linktype) {
        case CMN_LINK_NULL:
        case CMN_LINK_EN10MB:
        case CMN_LINK_RAW_OLD:
        case CMN_LINK_RAW_OBSD:
        case CMN_LINK_RAW:
        case CMN_LINK_LOOP:
        case CMN_LINK_SLL:
        case CMN_LINK_IPV4:
        case CMN_LINK_IPV6:
        case CMN_LINK_SLL2:
        case CMN_LINK_RENKEI:
        case CMN_LINK_PPP:
        case CMN_LINK_PPP_HDLC:
        case CMN_LINK_PPP_ETHER:
        case CMN_LINK_C_HDLC:
        case CMN_LINK_IEEE802_11:
        case CMN_LINK_RADIOTAP:
            return true;
        default:
            return false;
    }
}

const char *cmn_capfile_linktype_name(uint32_t linktype, char *buf, size_t len)
{
    /* libpcap's LINKTYPE_ names, without the prefix */
    static const struct {
        uint32_t lt;
        const char *name;
    } names[] = {
        {CMN_LINK_NULL, "NULL"},
        {CMN_LINK_EN10MB, "EN10MB"},
        {CMN_LINK_PPP, "PPP"},
        {CMN_LINK_RAW_OLD, "RAW"},
        {CMN_LINK_RAW_OBSD, "RAW"},
        {CMN_LINK_PPP_HDLC, "PPP_HDLC"},
        {CMN_LINK_PPP_ETHER, "PPP_ETHER"},
        {CMN_LINK_RAW, "RAW"},
        {CMN_LINK_C_HDLC, "C_HDLC"},
        {CMN_LINK_IEEE802_11, "IEEE802_11"},
        {CMN_LINK_LOOP, "LOOP"},
        {CMN_LINK_SLL, "LINUX_SLL"},
        {CMN_LINK_RADIOTAP, "IEEE802_11_RADIOTAP"},
        {CMN_LINK_RENKEI, "USER0"},
        {CMN_LINK_IPV4, "IPV4"},
        {CMN_LINK_IPV6, "IPV6"},
        {CMN_LINK_SLL2, "LINUX_SLL2"},
        {6, "IEEE802_5"},
        {10, "FDDI"},
        {119, "PRISM_HEADER"},
        {163, "IEEE802_11_AVS"},
        {192, "PPI"},
        {195, "IEEE802_15_4"},
        {201, "BLUETOOTH_HCI_H4_WITH_PHDR"},
        {220, "USB_LINUX_MMAPPED"},
        {227, "CAN_SOCKETCAN"},
        {249, "NETLINK"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].lt == linktype)
            return names[i].name;
    snprintf(buf, len, "LINKTYPE_%" PRIu32, linktype);
    return buf;
}
