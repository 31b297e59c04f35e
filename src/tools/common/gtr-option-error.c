#include "gtr-option-error.h"

#include <stdarg.h>

gboolean
gtr_option_error (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (G_OPTION_ERROR,
          G_OPTION_ERROR_BAD_VALUE, format, args));
  va_end (args);
  return FALSE;
}
