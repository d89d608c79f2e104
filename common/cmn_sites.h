/* SPDX-License-Identifier: MIT
 * cmn_sites: named sites (data centres, offices, ...) as lists of CIDRs, for
 * the BCP view: which site a host is in, what fails with "@dc-east". Read
 * from a sites file (one line per site or per added prefix):
 *
 *     # name     kind        CIDR...
 *     dc-east    datacenter  172.16.0.0/16 2001:db8::/48
 *     office-1   office      10.10.0.0/16
 *     office-1   office      10.11.0.0/16      (same site: more prefixes)
 *
 * An address belongs to the site of its longest matching prefix; outside
 * every prefix it has no site (reports then group it by its /24 or /64
 * network). Lookups scan the prefixes (longest first): fine for the few
 * hundred prefixes a sites file holds. Not thread-safe to modify; lookups
 * on a finished set may run concurrently.
 */
#ifndef CMN_SITES_H
#define CMN_SITES_H

#include <stddef.h>
#include <stdint.h>

#define CMN_SITE_NAME_MAX  64 /* name and kind lengths, NUL included */
#define CMN_SITES_MAX      4096
#define CMN_SITES_FILE_MAX (16u << 20) /* bytes: a sites file is small text */

struct cmn_sites;

/* An empty set. Aborts on out of memory. */
struct cmn_sites *cmn_sites_new(void);

/* Free; accepts NULL and NULLs the caller's pointer. */
void cmn_sites_destroy(struct cmn_sites **s);

/* Add prefix `cidr` ("a.b.c.d/n", "x::/n"; a bare address is /32 or /128) to
 * site `name` of `kind`, creating the site. Returns 0, or -EINVAL (bad name,
 * kind or prefix, a kind other than the site's, the same prefix in another
 * site), -ENOSPC past CMN_SITES_MAX sites or prefixes; `err` (may be NULL)
 * receives a one-line reason. */
int cmn_sites_add(struct cmn_sites *s, const char *name, const char *kind, const char *cidr,
                  char *err /* OUT */, size_t errlen);

/* Parse sites-file text (format above). `origin` names the text in
 * messages. Returns the number of lines with a site, or -EINVAL after
 * logging "origin:line: what is wrong" for every bad line (nothing is added
 * from a text with any bad line). */
int cmn_sites_parse(struct cmn_sites *s, const char *text, size_t len, const char *origin);

/* Read and parse the file `path`; directories, FIFOs, devices and files over
 * CMN_SITES_FILE_MAX are refused with a message. NULL after logging why. */
struct cmn_sites *cmn_sites_load(const char *path);

/* Number of sites, and site i's name and kind (borrowed). */
size_t cmn_sites_count(const struct cmn_sites *s);
const char *cmn_sites_name(const struct cmn_sites *s, size_t i);
const char *cmn_sites_kind(const struct cmn_sites *s, size_t i);

/* Prefixes of site i, in the order added, as text ("172.16.0.0/16"). */
size_t cmn_sites_cidr_count(const struct cmn_sites *s, size_t i);
const char *cmn_sites_cidr(const struct cmn_sites *s, size_t i, size_t j);

/* Index of the site called `name`, or -1. */
int cmn_sites_find(const struct cmn_sites *s, const char *name);

/* Site of address `ip` (16 bytes, IPv4 v4-mapped): the longest matching
 * prefix's, or -1 when none matches. */
int cmn_sites_lookup(const struct cmn_sites *s, const uint8_t ip[16]);

#endif /* CMN_SITES_H */
