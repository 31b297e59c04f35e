#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_OPENAI_REALTIME (gst_openai_realtime_get_type ())
G_DECLARE_FINAL_TYPE (GstOpenaiRealtime, gst_openai_realtime, GST, OPENAI_REALTIME, GstElement)

GST_ELEMENT_REGISTER_DECLARE (openairealtime);

G_END_DECLS
