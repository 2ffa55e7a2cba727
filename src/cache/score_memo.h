/* The purchase model's numbers per customer history for requests at options
 * other than the score table's (a list page at a custom horizon): a page of
 * 1,000 customers at horizon_days=1095 needs each one's 36-month CLV, about
 * 12 us of CPU per customer for BG/NBD; customers who share a history
 * (purchase days, span, age) share those numbers, and dashboards poll the
 * same pages. One bounded memo for the process (CACHE_SCORE_MEMO_SLOTS,
 * direct-mapped, newest wins), keyed by the snapshot's serial (unique in
 * the process, so never another tenant's), the spec's day, horizon and
 * discount, and the history. */
#ifndef LTVD_CACHE_SCORE_MEMO_H
#define LTVD_CACHE_SCORE_MEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/scores.h"

#define CACHE_SCORE_MEMO_SLOTS (1u << 15) /* 88 bytes each: ~2.9 MB */

/* The row of s under sp (sp->model_version is m->serial; sp->as_of_day at
 * or after s's last day), as the score table computes it, from the memo or
 * computed and kept. False (row untouched) when s cannot be scored at sp's
 * day (before its first or last day): the caller scores it otherwise. */
bool cache_score_memo_row(const cache_model *m, const cache_scores_spec *sp,
                          const cache_summary *s, cache_score_row *row);

/* Readies the memo (its locks, its pages faulted in: ~2.9 MB resident
 * and, on this project's machines, about 9 ms): at start-up, so that the
 * first list page at a custom horizon does not pay for it. The first
 * look-up does it otherwise. */
void cache_score_memo_prepare(void);

/* Memo look-ups answered from it and computed (for tests and benchmarks). */
void cache_score_memo_counts(uint64_t *hits, uint64_t *misses);

#endif
