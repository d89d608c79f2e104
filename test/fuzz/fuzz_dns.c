/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_dns: the first byte picks UDP (even) or TCP
 * framing (odd), the rest is the payload. Any bytes must give pairs or an
 * error code, never a crash, an out-of-bounds read or an unterminated name;
 * the services-file parser gets the same bytes as text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_dns.h"
#include "cmn_names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct cmn_dns_name out[16];
    long n = (data[0] & 1) ? cmn_dns_parse_tcp(data + 1, size - 1, out, 16)
                           : cmn_dns_parse(data + 1, size - 1, out, 16);
    volatile size_t sink = 0;
    for (long i = 0; i < n; i++) {
        size_t l = strnlen(out[i].name, sizeof(out[i].name));
        if (l >= sizeof(out[i].name) || l == 0)
            abort();
        sink += l + out[i].ip[15] + out[i].rtype;
    }
    struct cmn_service_entry *e = NULL;
    char err[256];
    long k =
        cmn_names_parse_services((const char *)data + 1, size - 1, "fuzz", &e, err, sizeof(err));
    if (k > 0)
        sink += e[0].port;
    free(e);
    (void)sink;
    return 0;
}
