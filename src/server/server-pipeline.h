/* The per-call pipeline: the --pipeline description and the --agent file,
 * checked once at start-up, then made once per call. */
#pragma once

#include <gst/gst.h>

#include "server-config.h"

G_BEGIN_DECLS

typedef struct {
  char *description;
  char *agent_factory;          /* the agent element's factory, NULL: none */
  GPtrArray *agent_keys;        /* property names from --agent, in file order */
  GPtrArray *agent_values;      /* their values, gst-launch syntax */
  char *api_key;                /* secret, for the agent's api-key */
  char *realtime_url;           /* for the agent's uri */
} ServerPipeline;

/* One call's pipeline and the elements the server talks to (each owned by
 * the pipeline; `agent` may be NULL when the description has none). */
typedef struct {
  GstElement *pipeline;
  GstElement *src;
  GstElement *sink;
  GstElement *agent;
} ServerPipelineElements;

/* Check the description (parses; one twiliosrc, a twiliosink), find the
 * agent element (named "agent", else the first openairealtime or
 * openailive), load the agent file and check every key against that
 * element's properties.  FALSE with a G_OPTION_ERROR naming the problem. */
gboolean server_pipeline_init (ServerPipeline *pipeline, const ServerConfig *config,
    GError **error);

/* A new pipeline in NULL with the agent's settings applied.  Any thread. */
gboolean server_pipeline_make (const ServerPipeline *pipeline,
    ServerPipelineElements *out, GError **error);

void server_pipeline_clear (ServerPipeline *pipeline);

G_END_DECLS
