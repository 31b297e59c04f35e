#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_OPENAI_LIVE (gst_openai_live_get_type ())
G_DECLARE_FINAL_TYPE (GstOpenaiLive, gst_openai_live, GST, OPENAI_LIVE, GstElement)

GST_ELEMENT_REGISTER_DECLARE (openailive);

G_END_DECLS
