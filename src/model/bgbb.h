/* BG/BB, the discrete-time "buy till you die" model of Fader, Hardie & Shang
 * (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual Setting"
 * (Marketing Science 29(6)), as lifetimes' BetaGeoBetaBinomFitter names it:
 * parameters alpha, beta (purchase probability p ~ Beta(alpha, beta)) and
 * gamma, delta (death probability theta ~ Beta(gamma, delta)).
 *
 * The model is `bgbb_model` (declared in btyd.h). Its domain, stricter than
 * btyd_check_domain's:
 *   x   = number of opportunities with a repeat purchase,
 *   t_x = the last opportunity with a purchase (0 if none),
 *   T   = n, the number of opportunities observed,
 *   t   = a number of future opportunities,
 * all integers with 0 <= x <= t_x <= n and (x = 0 iff t_x = 0). Anything
 * else, a non-integer count included (lifetimes takes integers only), gives
 * GSL_EDOM. Counts that drive a loop (n for the likelihood, and t for p_n
 * and simulate) are at most BGBB_MAX_OPPORTUNITIES, so no call can hang; the
 * closed-form expectations take t up to BGBB_MAX_HORIZON (2^53, every
 * integer a double holds exactly).
 *
 * p_alive is lifetimes' conditional_probability_alive(0, x, t_x, n): the
 * probability that the customer survived all n opportunities, i.e. is alive
 * at opportunity n. FHS eq. 11 (alive at opportunity n+1) is that value times
 * (delta + n) / (gamma + delta + n). */
#ifndef LTVD_MODEL_BGBB_H
#define LTVD_MODEL_BGBB_H

#include "model/btyd.h"

#define BGBB_MAX_OPPORTUNITIES 1e6
#define BGBB_MAX_HORIZON 9007199254740992.0

#endif
