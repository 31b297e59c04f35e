/* Plugin "twilio": twiliosrc and twiliosink, a Twilio Media Stream as pads. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gsttwiliosink.h"
#include "gsttwiliosrc.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (twiliosrc, plugin);
  ret |= GST_ELEMENT_REGISTER (twiliosink, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, twilio,
    "Twilio Media Streams (phone calls over WebSocket) as GStreamer pads",
    plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
