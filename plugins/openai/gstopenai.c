/* Plugin "openai": registers openairealtime (Realtime API) and openailive
 * (GPT-Live). */
#include <config.h>

#include "gstopenairealtime.h"
#include "gstopenailive.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER (openairealtime, plugin)
      && GST_ELEMENT_REGISTER (openailive, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, openai,
    "OpenAI voice API sessions (Realtime, GPT-Live) as GStreamer elements",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
