/* twilio-call-sim: the summary lines' members, one way for every file that
 * writes them (the call, its streams, the run's aggregate). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

void sim_json_add_int (JsonBuilder *b, const char *name, gint64 value);
void sim_json_add_double (JsonBuilder *b, const char *name, double value);
/* null when `value` is NULL */
void sim_json_add_string (JsonBuilder *b, const char *name, const char *value);
/* an array of the strings in `values` */
void sim_json_add_strings (JsonBuilder *b, const char *name, GPtrArray *values);
/* The object `b` built, as one line. */
char *sim_json_line (JsonBuilder *b);

G_END_DECLS
