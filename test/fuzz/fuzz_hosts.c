/* SPDX-License-Identifier: MIT
 * Fuzz target for the merger's hosts_file reader (mrg_db_load_hosts_file,
 * /etc/hosts format): any bytes as the file, loaded into an in-memory
 * database. Every line is good, skipped or counted, never a crash, a leak,
 * or an SQLite error on names with any bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmn_log.h"
#include "mrg_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mrg_db *s_db;
static char s_path[64];

static void s_cleanup(void)
{
    unlink(s_path);
    mrg_db_close(&s_db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_db) {
        cmn_log_init("fuzz_hosts", CMN_LOG_OFF);
        s_db = mrg_db_open(":memory:");
        if (!s_db)
            abort();
        snprintf(s_path, sizeof(s_path), "/tmp/renkei-fuzz-hosts-%d", (int)getpid());
        atexit(s_cleanup);
    }
    if (size > 65536)
        return 0;
    FILE *f = fopen(s_path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    if (mrg_db_load_hosts_file(s_db, s_path) == -EIO)
        abort(); /* a database error: names are bound, never spliced into SQL */
    return 0;
}
