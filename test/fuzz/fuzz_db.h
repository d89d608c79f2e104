/* SPDX-License-Identifier: MIT
 * fuzz_db.h: the small database the reporter's fuzz targets (fuzz_api,
 * fuzz_pages) answer from: one client using one postgresql service, written
 * by the merger's own code. Aborts on failure (a harness bug).
 */
#ifndef FUZZ_DB_H
#define FUZZ_DB_H

#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_record.h"
#include "mrg_db.h"

static inline void fuzz_db_build(const char *path)
{
    struct mrg_db *db = mrg_db_open(path);
    if (!db)
        abort();
    struct cmn_session_rec s;
    memset(&s, 0, sizeof(s));
    cmn_ip_parse("10.3.0.20", s.a_ip);
    cmn_ip_parse("172.16.0.10", s.b_ip);
    s.a_port = 50000;
    s.b_port = 5432;
    s.proto = 6;
    s.flags = CMN_SESS_A_INIT;
    s.pkts[0] = s.pkts[1] = 10;
    s.bytes[0] = s.bytes[1] = 1000;
    s.first_ns = 1767225600000000000ull;
    s.last_ns = s.first_ns + 1000000000ull;
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    cmn_ip_parse("172.16.0.10", e.ip);
    e.proto = 6;
    e.port = 5432;
    e.role = CMN_ROLE_SERVER;
    e.confidence = 0.9f;
    struct mrg_part part = {.sessions = &s, .n_sessions = 1, .endpoints = &e, .n_endpoints = 1};
    if (mrg_db_commit_epoch(db, 29453760, 60000000000ull, true, &part, 1, NULL) != 0)
        abort();
    mrg_db_close(&db);
}

#endif /* FUZZ_DB_H */
