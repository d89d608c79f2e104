/* SPDX-License-Identifier: MIT
 * rep_static: the files the report serves under /static/: the graph
 * renderer's scripts vendored from npm at build time (sigma.js, graphology)
 * with their licence files, and renkei's own small script. They are read
 * from a directory installed beside the binary (<bin>/../share/renkei/static,
 * or $RENKEI_STATIC_DIR), never from the network; a missing directory only
 * means the graph page falls back to its table.
 */
#ifndef REP_STATIC_H
#define REP_STATIC_H

#include "rep_http.h"

/* The static directory: $RENKEI_STATIC_DIR when set, else
 * <directory of the executable>/../share/renkei/static when it exists, else
 * NULL. The returned string is the caller's to free. */
char *rep_static_find(void);

/* Answer /static/<name> from `dir` (may be NULL) into r: the file with its
 * type, or a 404 for a missing file or a name that is not a plain file name
 * ([A-Za-z0-9._-], no leading dot). 0, or -EIO on a read error. */
int rep_static_serve(const char *dir, const char *name, struct rep_resp *r);

#endif /* REP_STATIC_H */
