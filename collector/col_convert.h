/* SPDX-License-Identifier: MIT
 * col_convert: makes a capture replayable through DPDK's net_pcap when
 * libpcap cannot open it as is (a pcapng whose interfaces have different
 * link types). Writes a classic nanosecond pcap of link type CMN_LINK_RENKEI
 * in which every frame carries its original link type in the 8-byte header
 * documented in common/cmn_parse.h. The caller deletes the file at exit.
 */
#ifndef COL_CONVERT_H
#define COL_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/* Convert `in` into a new temporary file (in $TMPDIR or /tmp) whose path is
 * written to out_path. Returns 0 with *packets set, or a negative errno with
 * the reason in err (the temporary file is removed on failure). A damaged
 * tail of `in` ends the conversion after the good packets (not an error). */
int col_convert_renkei(const char *in, char *out_path /* OUT */, size_t out_len,
                       uint64_t *packets /* OUT */, char *err /* OUT */, size_t errlen);

#endif /* COL_CONVERT_H */
