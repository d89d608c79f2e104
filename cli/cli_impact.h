/* SPDX-License-Identifier: MIT
 * cli_impact: `renkei impact`, the BCP question "what breaks if this
 * fails?" over a database (reporter/rep_impact.h does the work).
 */
#ifndef CLI_IMPACT_H
#define CLI_IMPACT_H

/* `renkei impact --db DB --fail TARGET [--fail TARGET]... [options]`;
 * argv[0] is "impact". Returns the process exit status (CMN_EXIT_*): 2 for
 * a bad option or a target that matches nothing. */
int cli_impact_main(int argc, char **argv);

#endif /* CLI_IMPACT_H */
