/* Shared by the tools and the server: a usage error as GOption reports one. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sets `error` to G_OPTION_ERROR_BAD_VALUE with the message; returns FALSE,
 * so a check can end with `return gtr_option_error (error, …);`. */
gboolean gtr_option_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
