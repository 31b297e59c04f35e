/* The per-call pipeline template: see server-pipeline.h and docs/server.md
 * ("The agent file", "--pipeline"). */
#include "server-pipeline.h"
#include "gtr-option-error.h"

#include <string.h>

#define AGENT_GROUP "agent"

/* Properties an agent file may not set: secrets belong to the environment,
 * the API address to --realtime-url, and the rest is GStreamer's. */
static const char *const reserved_keys[] = {
  "api-key", "uri", "name", "parent", NULL
};

static const char *
factory_name (GstElement *element)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  return factory ? gst_plugin_feature_get_name (factory) : "";
}

typedef struct {
  const char *factory;          /* match by factory name, or */
  gboolean agent;               /* the agent: named "agent" or an OpenAI element */
  GstElement *found;            /* the first match (a new reference) */
  guint count;
} FindArgs;

static gboolean
is_agent_factory (const char *name)
{
  return g_str_equal (name, "openairealtime") || g_str_equal (name, "openailive");
}

static void
find_one (const GValue *item, gpointer data)
{
  GstElement *element = g_value_get_object (item);
  FindArgs *args = data;
  gboolean match;

  if (args->agent) {
    char *name = gst_element_get_name (element);

    /* a name wins over the factory: an element named "agent" replaces any
     * earlier OpenAI one */
    if (g_str_equal (name, "agent")) {
      gst_clear_object (&args->found);
      args->agent = FALSE;    /* settled */
      args->found = gst_object_ref (element);
      args->count = 1;
      g_free (name);
      return;
    }
    g_free (name);
    match = is_agent_factory (factory_name (element));
  } else {
    match = args->factory && g_str_equal (factory_name (element), args->factory);
  }
  if (!match)
    return;
  if (args->count++ == 0)
    args->found = gst_object_ref (element);
}

/* The first element of `bin` (at any depth) that `args` describes. */
static GstElement *
find_element (GstBin *bin, FindArgs *args)
{
  GstIterator *it = gst_bin_iterate_recurse (bin);

  while (gst_iterator_foreach (it, find_one, args) == GST_ITERATOR_RESYNC) {
    gst_clear_object (&args->found);
    args->count = 0;
    gst_iterator_resync (it);
  }
  gst_iterator_free (it);
  return args->found;
}

/* The parsed description, always a GstPipeline. */
static GstElement *
parse_description (const char *description, GError **error)
{
  GError *local = NULL;
  GstElement *element = gst_parse_launch_full (description, NULL,
      GST_PARSE_FLAG_FATAL_ERRORS, &local);
  GstElement *pipeline;

  if (!element) {
    gtr_option_error (error, "--pipeline '%s': %s", description,
        local ? local->message : "could not be parsed");
    g_clear_error (&local);
    return NULL;
  }
  g_clear_error (&local);
  if (GST_IS_PIPELINE (element))
    return element;
  pipeline = gst_pipeline_new (NULL);
  gst_bin_add (GST_BIN (pipeline), element);
  return pipeline;
}

static gboolean
find_elements (const char *description, ServerPipelineElements *out,
    GError **error)
{
  FindArgs src = { .factory = "twiliosrc" }, sink = { .factory = "twiliosink" };
  FindArgs agent = { .agent = TRUE };

  memset (out, 0, sizeof (*out));
  if (!(out->pipeline = parse_description (description, error)))
    return FALSE;
  out->src = find_element (GST_BIN (out->pipeline), &src);
  out->sink = find_element (GST_BIN (out->pipeline), &sink);
  out->agent = find_element (GST_BIN (out->pipeline), &agent);
  /* the pipeline keeps them alive: hand out borrowed pointers */
  gst_clear_object (&src.found);
  gst_clear_object (&sink.found);
  gst_clear_object (&agent.found);
  if (src.count != 1 || sink.count < 1) {
    gtr_option_error (error, "--pipeline '%s' must contain exactly one twiliosrc "
        "(it has %u) and a twiliosink (it has %u): the call's WebSocket is "
        "handed to the twiliosrc, and the twiliosink answers on it",
        description, src.count, sink.count);
    gst_clear_object (&out->pipeline);
    return FALSE;
  }
  return TRUE;
}

static gboolean
has_property (GstElement *element, const char *name)
{
  return element && g_object_class_find_property (G_OBJECT_GET_CLASS (element), name);
}

static gboolean
is_reserved (const char *key)
{
  return g_strv_contains (reserved_keys, key);
}

/* The value must be what gst-launch would accept for this property. */
static gboolean
check_agent_value (GstElement *agent, const char *file, const char *key,
    const char *value, GError **error)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (agent), key);
  GValue parsed = G_VALUE_INIT;
  const char *factory = factory_name (agent);

  if (is_reserved (key))
    return gtr_option_error (error, "--agent %s: '%s' cannot be set in the agent "
        "file (the API key comes from OPENAI_API_KEY or --api-key-file, the "
        "address from --realtime-url)", file, key);
  if (!pspec)
    return gtr_option_error (error, "--agent %s: unknown key '%s': %s has no such "
        "property (gst-inspect-1.0 %s lists them)", file, key, factory, factory);
  if (!(pspec->flags & G_PARAM_WRITABLE) || (pspec->flags & G_PARAM_CONSTRUCT_ONLY))
    return gtr_option_error (error, "--agent %s: '%s' of %s cannot be set", file,
        key, factory);
  g_value_init (&parsed, G_PARAM_SPEC_VALUE_TYPE (pspec));
  if (!gst_value_deserialize_with_pspec (&parsed, value, pspec)) {
    g_value_unset (&parsed);
    return gtr_option_error (error, "--agent %s: '%s' is not a valid value for "
        "'%s' (%s)", file, value, key, g_type_name (G_PARAM_SPEC_VALUE_TYPE (pspec)));
  }
  if (g_param_value_validate (pspec, &parsed)) {
    g_value_unset (&parsed);
    return gtr_option_error (error, "--agent %s: '%s' is out of range for '%s'",
        file, value, key);
  }
  g_value_unset (&parsed);
  return TRUE;
}

static gboolean
load_agent_file (ServerPipeline *self, GstElement *agent, const char *file,
    GError **error)
{
  g_autoptr (GKeyFile) keys = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) groups = NULL, names = NULL;

  if (!g_key_file_load_from_file (keys, file, G_KEY_FILE_NONE, &local))
    return gtr_option_error (error, "--agent %s: %s", file, local->message);
  groups = g_key_file_get_groups (keys, NULL);
  for (guint i = 0; groups[i]; i++)
    if (!g_str_equal (groups[i], AGENT_GROUP))
      return gtr_option_error (error, "--agent %s: unknown group [%s]: the file has "
          "one group, [" AGENT_GROUP "]", file, groups[i]);
  if (!agent)
    return gtr_option_error (error, "--agent %s: the pipeline '%s' has no agent "
        "element (openairealtime, openailive, or one named \"agent\")", file,
        self->description);
  names = g_key_file_get_keys (keys, AGENT_GROUP, NULL, NULL);
  for (guint i = 0; names && names[i]; i++) {
    char *value = g_key_file_get_string (keys, AGENT_GROUP, names[i], &local);

    if (!value)
      return gtr_option_error (error, "--agent %s: %s", file, local->message);
    if (!check_agent_value (agent, file, names[i], value, error)) {
      g_free (value);
      return FALSE;
    }
    g_ptr_array_add (self->agent_keys, g_strdup (names[i]));
    g_ptr_array_add (self->agent_values, value);
  }
  return TRUE;
}

gboolean
server_pipeline_init (ServerPipeline *self, const ServerConfig *config,
    GError **error)
{
  ServerPipelineElements check;
  gboolean ok = TRUE;

  memset (self, 0, sizeof (*self));
  self->description = g_strdup (config->pipeline);
  self->agent_keys = g_ptr_array_new_with_free_func (g_free);
  self->agent_values = g_ptr_array_new_with_free_func (g_free);
  self->api_key = g_strdup (config->api_key);
  self->realtime_url = g_strdup (config->realtime_url);
  /* argv is public (ps, /proc): a key written into the description is a leak
   * we refuse rather than carry out */
  if (strstr (self->description, "api-key") || strstr (self->description, "auth-token"))
    return gtr_option_error (error, "--pipeline must not set api-key or auth-token: "
        "secrets come from the environment or from --api-key-file / "
        "--auth-token-file, never from the command line");
  if (!find_elements (self->description, &check, error))
    return FALSE;
  if (check.agent)
    self->agent_factory = g_strdup (factory_name (check.agent));
  if (config->agent_file)
    ok = load_agent_file (self, check.agent, config->agent_file, error);
  if (ok && has_property (check.agent, "api-key") && !self->api_key)
    ok = gtr_option_error (error, "no OpenAI API key: set OPENAI_API_KEY in the "
        "environment or give --api-key-file");
  gst_object_unref (check.pipeline);
  return ok;
}

gboolean
server_pipeline_make (const ServerPipeline *self, ServerPipelineElements *out,
    GError **error)
{
  if (!find_elements (self->description, out, error))
    return FALSE;
  /* never listen: the server hands the call over */
  if (has_property (out->src, "embedded"))
    g_object_set (out->src, "embedded", TRUE, NULL);
  /* the call's audio goes downstream from the network thread it arrives on,
   * unless the description says otherwise (docs/server.md, --pipeline) */
  if (has_property (out->src, "run-to-completion")
      && !strstr (self->description, "run-to-completion"))
    g_object_set (out->src, "run-to-completion", TRUE, NULL);
  if (!out->agent)
    return TRUE;
  /* checked at start-up: these parse */
  for (guint i = 0; i < self->agent_keys->len; i++)
    gst_util_set_object_arg (G_OBJECT (out->agent),
        g_ptr_array_index (self->agent_keys, i),
        g_ptr_array_index (self->agent_values, i));
  if (self->api_key && has_property (out->agent, "api-key"))
    g_object_set (out->agent, "api-key", self->api_key, NULL);
  if (self->realtime_url && has_property (out->agent, "uri"))
    g_object_set (out->agent, "uri", self->realtime_url, NULL);
  return TRUE;
}

void
server_pipeline_clear (ServerPipeline *self)
{
  g_free (self->description);
  g_free (self->agent_factory);
  g_clear_pointer (&self->agent_keys, g_ptr_array_unref);
  g_clear_pointer (&self->agent_values, g_ptr_array_unref);
  if (self->api_key)
    memset (self->api_key, 0, strlen (self->api_key));
  g_free (self->api_key);
  g_free (self->realtime_url);
  memset (self, 0, sizeof (*self));
}
