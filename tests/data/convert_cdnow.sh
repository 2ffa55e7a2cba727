#!/bin/sh
# Derives cdnow_sample_transactions.csv from Fader & Hardie's CDNOW_sample.txt
# (whitespace separated, CRLF, leading space; columns: master id, sample id,
# YYYYMMDD, number of CDs, dollars).
# Output: customer_id,occurred_at,amount with customer_id = the sample id
# without zero padding (as in the ID column of cdnow_customers_summary.csv),
# occurred_at = YYYY-MM-DD, amount = the dollar value as written. Row order is
# kept; the master id and the number of CDs are dropped.
# Usage (from the repository root or anywhere): tests/data/convert_cdnow.sh
set -eu
dir=$(dirname "$0")
in="$dir/CDNOW_sample.txt"
out="$dir/cdnow_sample_transactions.csv"
LC_ALL=C awk '
BEGIN { print "customer_id,occurred_at,amount" }
{
    sub(/\r$/, "")
    if (NF != 5 || length($3) != 8 || $3 !~ /^[0-9]+$/ ||
        $5 !~ /^[0-9]+\.[0-9]+$/) {
        printf "%s:%d: unexpected line\n", FILENAME, NR > "/dev/stderr"
        exit 1
    }
    printf "%d,%s-%s-%s,%s\n", $2 + 0, substr($3, 1, 4), substr($3, 5, 2),
           substr($3, 7, 2), $5
}' "$in" > "$out.tmp"
mv "$out.tmp" "$out"
