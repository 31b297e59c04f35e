/* Plugin "openai": registers openairealtime. */
#include <config.h>

#include "gstopenairealtime.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER (openairealtime, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, openai,
    "OpenAI Realtime API session as a GStreamer element",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
