/* Scoring a page's histories ahead, on a second thread: a list page at a
 * custom horizon whose histories are not in the process's memo
 * (score_memo.h) costs about 7 us of CPU per customer (BG/NBD, 36 months);
 * while the request's thread scores the first half of such a page, a
 * helper puts the second half's numbers into the memo, where the request
 * then finds them. The values are the memo's own (cache_score_memo_row), so
 * the page is the same with or without the helper. */
#ifndef LTVD_CACHE_SCORE_AHEAD_H
#define LTVD_CACHE_SCORE_AHEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "cache/scores.h"

typedef struct cache_score_ahead cache_score_ahead;

/* Starts a thread that asks the memo for each of s[0..n) under sp (copied:
 * the caller may change them; m must stay referenced until the end).
 * NULL when n is 0, or no memory or thread could be had: the caller then
 * scores them itself, as it would anyway. */
cache_score_ahead *cache_score_ahead_start(const cache_model *m,
                                           const cache_scores_spec *sp,
                                           const cache_summary *const *s, size_t n);

/* Waits for the thread: when `finish`, until it has scored all; else it
 * stops at its next customer. Frees a (NULL: nothing). */
void cache_score_ahead_end(cache_score_ahead *a, bool finish);

#endif
