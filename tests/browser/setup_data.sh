#!/bin/sh
# The data the dashboard's browser test looks at, stored with the ltvd
# binary $LTVD in $DATABASE_URL (empty, migrated by the first command): the
# CDNOW sample with made-up acquisition channels (search, social, referral by
# the id), Fader & Hardie's regular yearly cohort as 1,000 subscriptions
# started 1990-01-01 (years 1 to 7 observed by the test's as_of,
# 1997-09-30), a tenant `empty` with no data (no model), and three keys,
# printed as "KEY <default's read key>", "INGEST <default's ingest key>"
# and "PLATFORM <a platform key with read>". The spend by channel
# (tests/data/cdnow_spend.csv) cannot be imported: it is written as the
# body of PUT /v1/acquisition/spend to DIR/spend.json, for the test to send
# once the server runs.   Usage: setup_data.sh DIR
set -eu
dir=$1
awk -F, 'NR == 1 { print $0 ",acquisition_channel"; next }
         { split("search,social,referral", c, ","); print $0 "," c[$1 % 3 + 1] }' \
  tests/data/cdnow_sample_transactions.csv > "$dir/txns.csv"
"$LTVD" import "$dir/txns.csv" >/dev/null
awk 'BEGIN { split("1000,631,468,382,326,289,262,241", s, ",")
  print "id,customer_id,subscription_id,event,occurred_at,amount,billing_period"
  for (i = 0; i < 1000; i++) {
    for (t = 0; t < 8 && i < s[t + 1]; t++)
      printf "e%d,s%d,s%d,%s,%d-01-01T00:00:00Z,100,year\n", t, i, i, t ? "renew" : "start", 1990 + t
    if (t < 8) printf "x,s%d,s%d,cancel,%d-12-01T00:00:00Z,0,year\n", i, i, 1989 + t
  } }' > "$dir/events.csv"
"$LTVD" import --subscriptions "$dir/events.csv" >/dev/null
"$LTVD" tenant create empty >/dev/null
echo "KEY $("$LTVD" key create --scopes read --name dashboard)"
awk -F, 'NR > 1 { printf "%s{\"channel\":\"%s\",\"month\":\"%s\",\"spend\":%s,\"leads\":%s}",
                   n++ ? "," : "{\"items\":[", $1, $2, $3, $4 == "" ? "null" : $4 }
         END { print "]}" }' tests/data/cdnow_spend.csv > "$dir/spend.json"
echo "INGEST $("$LTVD" key create --scopes ingest --name dashboard-ingest)"
echo "PLATFORM $("$LTVD" key create --scopes read,platform --tenant '*' --name dashboard-platform)"
