/*
 * Exit statuses of meshroot and meshroot-appliance: the single source
 * (docs/exit-codes.md). `meshroot status` keeps the monitoring codes and
 * `meshroot-appliance state check` its 0/3/4.
 */
#ifndef MR_EXIT_H
#define MR_EXIT_H

enum { MR_EXIT_OK=0, MR_EXIT_FAIL=1, MR_EXIT_USAGE=2, MR_EXIT_INPUT=3, MR_EXIT_REFUSED=4,
  MR_EXIT_TOKEN=5, MR_EXIT_LINK=6, MR_EXIT_VERIFY=7, MR_EXIT_NOTHING=8, MR_EXIT_IN_USE=75,
  MR_EXIT_INTERRUPTED=130 };

#endif
