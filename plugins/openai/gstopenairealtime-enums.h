/* Enumerations of the openai plugin's properties (openairealtime's and
 * openailive's).  gnome.mkenums_simple turns
 * this header into GTypes (gstopenairealtime-enumtypes.h), so that
 * gst-inspect-1.0 lists every value with its nick. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* The API's voices (session.audio.output.voice). */
typedef enum {
  GST_OPENAI_REALTIME_VOICE_ALLOY,
  GST_OPENAI_REALTIME_VOICE_ASH,
  GST_OPENAI_REALTIME_VOICE_BALLAD,
  GST_OPENAI_REALTIME_VOICE_CORAL,
  GST_OPENAI_REALTIME_VOICE_ECHO,
  GST_OPENAI_REALTIME_VOICE_SAGE,
  GST_OPENAI_REALTIME_VOICE_SHIMMER,
  GST_OPENAI_REALTIME_VOICE_VERSE,
  GST_OPENAI_REALTIME_VOICE_MARIN,
  GST_OPENAI_REALTIME_VOICE_CEDAR,
} GstOpenaiRealtimeVoice;

/* session.audio.input.noise_reduction */
typedef enum {
  GST_OPENAI_REALTIME_NOISE_REDUCTION_NONE,
  GST_OPENAI_REALTIME_NOISE_REDUCTION_NEAR_FIELD,
  GST_OPENAI_REALTIME_NOISE_REDUCTION_FAR_FIELD,
} GstOpenaiRealtimeNoiseReduction;

/* session.audio.input.turn_detection.type */
typedef enum {
  GST_OPENAI_REALTIME_TURN_DETECTION_SERVER_VAD,
  GST_OPENAI_REALTIME_TURN_DETECTION_SEMANTIC_VAD,
  GST_OPENAI_REALTIME_TURN_DETECTION_NONE,
} GstOpenaiRealtimeTurnDetection;

/* semantic_vad eagerness */
typedef enum {
  GST_OPENAI_REALTIME_EAGERNESS_AUTO,
  GST_OPENAI_REALTIME_EAGERNESS_LOW,
  GST_OPENAI_REALTIME_EAGERNESS_MEDIUM,
  GST_OPENAI_REALTIME_EAGERNESS_HIGH,
} GstOpenaiRealtimeEagerness;

/* session.reasoning.effort (reasoning models such as gpt-realtime-2.x);
 * UNSET sends no `reasoning`: the API's default applies. */
typedef enum {
  GST_OPENAI_REALTIME_REASONING_EFFORT_UNSET,
  GST_OPENAI_REALTIME_REASONING_EFFORT_MINIMAL,
  GST_OPENAI_REALTIME_REASONING_EFFORT_LOW,
  GST_OPENAI_REALTIME_REASONING_EFFORT_MEDIUM,
  GST_OPENAI_REALTIME_REASONING_EFFORT_HIGH,
  GST_OPENAI_REALTIME_REASONING_EFFORT_XHIGH,
} GstOpenaiRealtimeReasoningEffort;

/* openailive: session.delegation.type, who does the model's work
 * (GPT-Live hands tasks off instead of calling tools itself). */
typedef enum {
  GST_OPENAI_LIVE_DELEGATION_CLIENT,     /* the application (delegation signal) */
  GST_OPENAI_LIVE_DELEGATION_RESPONSES,  /* a Responses model, with the tools */
} GstOpenaiLiveDelegation;

G_END_DECLS
