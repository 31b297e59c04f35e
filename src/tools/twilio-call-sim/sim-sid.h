/* twilio-call-sim: Twilio's ids (CallSid CA…, StreamSid MZ…): two letters
 * and 32 hex digits.  Several calls of one run derive theirs from a base, so
 * they are unique, valid-looking and predictable. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when `sid` is `prefix` followed by 32 hex digits. */
gboolean sim_sid_is_valid (const char *sid, const char *prefix);

/* The n-th id derived from `base`: n = 0 is the base itself; after it the
 * last 8 hex digits count up (modulo 2^32), the rest is the base's.  A base
 * that does not end in 8 hex digits gets "-n" appended. */
char *sim_sid_derive (const char *base, guint n);

G_END_DECLS
