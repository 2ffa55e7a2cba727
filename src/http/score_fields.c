/* The marketer fields of a customer document, in JSON and CSV (see
 * score_fields.h; computed by app/marketer_fields.c). */
#include "http/score_fields.h"

#include <stdint.h>

#include "app/marketer_fields.h"
#include "summary/summary.h"

/* What the two formats print for an unknown value. */
typedef struct fmt {
    const char *sep;  /* before each value */
    const char *none; /* an unknown value */
    bool json;
} fmt;

static void lead(json_out *b, const fmt *f, const char *key)
{
    json_out_raw(b, f->sep);
    if (f->json)
        json_out_key(b, key);
}

static void real(json_out *b, const fmt *f, const char *key, bool has, double v)
{
    lead(b, f, key);
    if (has)
        json_out_real(b, v);
    else
        json_out_raw(b, f->none);
}

/* An exact decimal: v / 10^digits, trailing zeros dropped (74.02, not
 * 74.019999999999996 as %.17g writes the double), v >= 0, 1 <= digits <= 18. */
static void decimal(json_out *b, const fmt *f, const char *key, int64_t v, int digits)
{
    int64_t scale = 1;
    for (int i = 0; i < digits; i++)
        scale *= 10;
    int64_t frac = v % scale;
    char s[20];
    s[0] = '.';
    for (int i = digits; i >= 1; i--) {
        s[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    int n = digits + 1;
    while (n > 2 && s[n - 1] == '0')
        n--;
    s[n] = '\0';
    lead(b, f, key);
    json_out_int(b, (long long)(v / scale));
    json_out_raw(b, s);
}

static void text(json_out *b, const fmt *f, const char *key, const char *s)
{
    lead(b, f, key);
    if (s == NULL)
        json_out_raw(b, f->none);
    else if (f->json)
        json_out_str(b, s);
    else
        json_out_raw(b, s); /* dates and tier names need no quoting */
}

static void write_fields(json_out *b, const fmt *f, const cache_model *m,
                         const app_score_opts *o, const app_score_row *row)
{
    app_marketer k;
    app_marketer_fields(m, o, row, &k);
    _Static_assert(CACHE_AMOUNT_UNITS == 10000, "historic_value's 4 decimals");
    decimal(b, f, "historic_value", k.historic_units, 4);
    lead(b, f, "historic_purchases");
    json_out_int(b, (long long)k.historic_purchases);
    real(b, f, "average_order_value", true, k.average_order_value);
    real(b, f, "average_days_between_purchases", k.has_days_between, k.days_between);
    char day[11];
    text(b, f, "expected_next_purchase_by",
         k.has_next && summary_format_day(k.next_purchase_by, day) == 0 ? day : NULL);
    if (k.has_percentile)
        decimal(b, f, "predicted_ltv_percentile", k.percentile_tenths, 1);
    else
        real(b, f, "predicted_ltv_percentile", false, 0);
    text(b, f, "predicted_spend_tier", k.tier);
}

void score_fields_write(json_out *b, const cache_model *m, const app_score_opts *o,
                        const app_score_row *row)
{
    static const fmt f = {",", "null", true};
    write_fields(b, &f, m, o, row);
}

void score_fields_csv(json_out *b, const cache_model *m, const app_score_opts *o,
                      const app_score_row *row)
{
    static const fmt f = {",", "", false};
    write_fields(b, &f, m, o, row);
}
