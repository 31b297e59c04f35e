/* Small helpers both plugins need.  Header-only: each plugin is its own .so. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* The element's running time now (0 without a clock or before base time). */
static inline GstClockTime
gtr_element_running_time (GstElement *element)
{
  GstClock *clock = gst_element_get_clock (element);
  GstClockTime now, base;

  if (!clock)
    return 0;
  now = gst_clock_get_time (clock);
  base = gst_element_get_base_time (element);
  gst_object_unref (clock);
  return now > base ? now - base : 0;
}

G_END_DECLS
