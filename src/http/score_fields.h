/* The fields marketers expect (app/marketer_fields.h) as the customer
 * documents write them: members of the JSON document (GET, lists, NDJSON
 * export) and columns of the CSV export, the same numbers in both. */
#ifndef LTVD_HTTP_SCORE_FIELDS_H
#define LTVD_HTTP_SCORE_FIELDS_H

#include "app/customer_query.h"
#include "cache/cache.h"
#include "http/json_out.h"

/* The CSV columns score_fields_csv writes, after a comma. */
#define SCORE_FIELDS_CSV_HEADER                                                          \
    "historic_value,historic_purchases,average_order_value,"                             \
    "average_days_between_purchases,expected_next_purchase_by,"                          \
    "predicted_ltv_percentile,predicted_spend_tier"

/* Appends ,"historic_value":...,"predicted_spend_tier":... (members of an
 * object being written; null for what is unknown) for the customer scored
 * in row with m and o. */
void score_fields_write(json_out *b, const cache_model *m, const app_score_opts *o,
                        const app_score_row *row);

/* Appends the same as CSV cells, each after a comma (empty when unknown). */
void score_fields_csv(json_out *b, const cache_model *m, const app_score_opts *o,
                      const app_score_row *row);

#endif
