/* twilio-call-sim — a faithful local Twilio: places one Media Streams call
 * against a WebSocket server, plays the caller's audio, plays back what the
 * server sends as Twilio does (marks, clear), validates every frame and
 * prints a JSON summary.  docs/twilio-call-sim.md is its manual.
 */
#include "sim-audio.h"
#include "sim-call.h"

#include "gtr-protocol.h"

#include <gst/gst.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define DEFAULT_STREAM_SID  "MZ5c4d3b2a1f0e9d8c7b6a5f4e3d2c1b0a"
#define DEFAULT_CALL_SID    "CA0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
#define DEFAULT_ACCOUNT_SID "AC9f8e7d6c5b4a39281706f5e4d3c2b1a0"
#define DEFAULT_PLAY        "silence:3000"
#define DEFAULT_LINGER_MS   2000

/* Everything the command line says, before it is checked. */
typedef struct {
  SimConfig cfg;
  GPtrArray *play;      /* segments in command-line order (--play and --wav) */
  char **params;
  char **dtmf;
  gint linger_ms;
  gint until_quiet_ms;
} Options;

static gboolean
on_play (const char *name, const char *value, gpointer data, GError **error)
{
  Options *o = data;

  if (g_str_equal (name, "--wav"))
    g_ptr_array_add (o->play, g_strconcat ("wav:", value, NULL));
  else
    g_ptr_array_add (o->play, g_strdup (value));
  return TRUE;
}

static gboolean usage_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
usage_error (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (G_OPTION_ERROR,
          G_OPTION_ERROR_BAD_VALUE, format, args));
  va_end (args);
  return FALSE;
}

static gboolean
parse_params (Options *o, GError **error)
{
  o->cfg.param_names = g_ptr_array_new_with_free_func (g_free);
  o->cfg.param_values = g_ptr_array_new_with_free_func (g_free);
  for (char **p = o->params; p && *p; p++) {
    const char *eq = strchr (*p, '=');

    if (eq == NULL || eq == *p)
      return usage_error (error, "bad --param '%s' (expected NAME=VALUE)", *p);
    g_ptr_array_add (o->cfg.param_names, g_strndup (*p, eq - *p));
    g_ptr_array_add (o->cfg.param_values, g_strdup (eq + 1));
  }
  g_ptr_array_add (o->cfg.param_names, NULL);
  g_ptr_array_add (o->cfg.param_values, NULL);
  return TRUE;
}

static gint
compare_dtmf (gconstpointer a, gconstpointer b)
{
  gint64 x = ((const SimDtmf *) a)->at_ms, y = ((const SimDtmf *) b)->at_ms;

  return (x > y) - (x < y);
}

static gboolean
parse_dtmf (Options *o, GError **error)
{
  o->cfg.dtmf = g_array_new (FALSE, TRUE, sizeof (SimDtmf));
  for (char **p = o->dtmf; p && *p; p++) {
    SimDtmf d = { { 0 }, 0 };
    char *end = NULL;

    if (strlen (*p) < 3 || (*p)[1] != '@' || !g_ascii_isdigit ((*p)[2]))
      return usage_error (error, "bad --dtmf '%s' (expected DIGIT@MS)", *p);
    d.digit[0] = (*p)[0];
    errno = 0;
    d.at_ms = g_ascii_strtoll (*p + 2, &end, 10);
    if (errno != 0 || *end != '\0' || gtr_twilio_dtmf_digit_to_number (d.digit) < 0)
      return usage_error (error, "bad --dtmf '%s' (expected DIGIT@MS)", *p);
    g_array_append_val (o->cfg.dtmf, d);
  }
  g_array_sort (o->cfg.dtmf, compare_dtmf);
  return TRUE;
}

static gboolean
check_url (const char *url, GError **error)
{
  if (url == NULL)
    return usage_error (error, "--url is required");
  if (!g_str_has_prefix (url, "ws://") && !g_str_has_prefix (url, "wss://"))
    return usage_error (error, "--url '%s' must be ws:// or wss://", url);
  return TRUE;
}

static gboolean
check_options (Options *o, GError **error)
{
  SimConfig *cfg = &o->cfg;

  if (!check_url (cfg->url, error) || !parse_params (o, error) ||
      !parse_dtmf (o, error))
    return FALSE;
  if (o->linger_ms < -1 || o->until_quiet_ms < -1)
    return usage_error (error, "--linger and --until-quiet take MS >= 0");
  if (o->linger_ms >= 0 && o->until_quiet_ms >= 0)
    return usage_error (error, "--linger and --until-quiet exclude each other");
  cfg->linger_ms = o->linger_ms >= 0 ? o->linger_ms : DEFAULT_LINGER_MS;
  cfg->until_quiet_ms = o->until_quiet_ms;
  if (cfg->stream_sid == NULL)
    cfg->stream_sid = g_strdup (DEFAULT_STREAM_SID);
  if (cfg->call_sid == NULL)
    cfg->call_sid = g_strdup (DEFAULT_CALL_SID);
  if (cfg->account_sid == NULL)
    cfg->account_sid = g_strdup (DEFAULT_ACCOUNT_SID);
  if (o->play->len == 0)
    g_ptr_array_add (o->play, g_strdup (DEFAULT_PLAY));
  return TRUE;
}

static gboolean
parse_options (Options *o, int *argc, char ***argv, GError **error)
{
  SimConfig *c = &o->cfg;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &c->url, "Media Stream WebSocket to call (ws:// or wss://; required)", "URL" },
    { "auth-token", 0, 0, G_OPTION_ARG_STRING, &c->auth_token, "Sign the handshake (X-Twilio-Signature) with this Twilio auth token", "TOKEN" },
    { "signature-url", 0, 0, G_OPTION_ARG_STRING, &c->signature_url, "The public URL Twilio signs (default: --url)", "URL" },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &c->ca_file, "Trust this CA (PEM) for wss://", "PEM" },
    { "play", 0, 0, G_OPTION_ARG_CALLBACK, on_play, "Caller audio segment, in order: tone:HZ:MS | silence:MS | wav:PATH (default silence:3000)", "SPEC" },
    { "wav", 0, 0, G_OPTION_ARG_CALLBACK, on_play, "Shorthand for --play wav:PATH", "PATH" },
    { "stream-sid", 0, 0, G_OPTION_ARG_STRING, &c->stream_sid, "streamSid (MZ...)", "SID" },
    { "call-sid", 0, 0, G_OPTION_ARG_STRING, &c->call_sid, "callSid (CA...)", "SID" },
    { "account-sid", 0, 0, G_OPTION_ARG_STRING, &c->account_sid, "accountSid (AC...)", "SID" },
    { "param", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->params, "start.customParameters entry", "NAME=VALUE" },
    { "dtmf", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->dtmf, "Send a dtmf DIGIT MS after the first media", "DIGIT@MS" },
    { "linger", 0, 0, G_OPTION_ARG_INT, &o->linger_ms, "After the caller audio, keep the call up this long (default 2000)", "MS" },
    { "until-quiet", 0, 0, G_OPTION_ARG_INT, &o->until_quiet_ms, "After the caller audio, end once nothing was received and nothing played for MS", "MS" },
    { "no-stop", 0, 0, G_OPTION_ARG_NONE, &c->no_stop, "Close the socket without sending stop", NULL },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &c->fast, "Send the caller audio as fast as possible (playback stays real time)", NULL },
    { "record", 0, 0, G_OPTION_ARG_FILENAME, &c->record_path, "Write what the caller heard as a mu-law WAV", "OUT.wav" },
    { "summary", 0, 0, G_OPTION_ARG_FILENAME, &c->summary_path, "Also write the JSON summary here", "OUT.json" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- a local Twilio Media Streams caller");
  GOptionGroup *group = g_option_group_new ("sim", "twilio-call-sim", "Show options", o, NULL);

  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (ctx, group);
  g_option_context_set_summary (ctx, "Exit: 0 ok, 1 protocol violations received, "
      "2 usage error, 3 could not connect / handshake rejected.\n"
      "The JSON summary is the last line on stdout (docs/twilio-call-sim.md).");
  if (!g_option_context_parse (ctx, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    return usage_error (error, "unexpected argument '%s'", (*argv)[1]);
  return check_options (o, error);
}

/* All --play segments, concatenated. */
static GBytes *
render_caller (GPtrArray *play, GError **error)
{
  GByteArray *all = g_byte_array_new ();

  for (guint i = 0; i < play->len; i++) {
    g_autoptr (GBytes) seg = sim_audio_render (g_ptr_array_index (play, i), error);
    gsize size;
    const guint8 *data;

    if (seg == NULL) {
      g_byte_array_unref (all);
      return NULL;
    }
    data = g_bytes_get_data (seg, &size);
    g_byte_array_append (all, data, size);
  }
  return g_byte_array_free_to_bytes (all);
}

static void
options_clear (Options *o)
{
  SimConfig *c = &o->cfg;

  g_free (c->url);
  g_free (c->auth_token);
  g_free (c->signature_url);
  g_free (c->ca_file);
  g_free (c->stream_sid);
  g_free (c->call_sid);
  g_free (c->account_sid);
  g_free (c->record_path);
  g_free (c->summary_path);
  g_clear_pointer (&c->param_names, g_ptr_array_unref);
  g_clear_pointer (&c->param_values, g_ptr_array_unref);
  g_clear_pointer (&c->dtmf, g_array_unref);
  g_ptr_array_unref (o->play);
  g_strfreev (o->params);
  g_strfreev (o->dtmf);
}

int
main (int argc, char **argv)
{
  Options o = { .linger_ms = -1, .until_quiet_ms = -1 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) caller = NULL;
  int code = SIM_EXIT_USAGE;

  o.play = g_ptr_array_new_with_free_func (g_free);
  gst_init (NULL, NULL);
  if (!parse_options (&o, &argc, &argv, &error)) {
    g_printerr ("twilio-call-sim: %s (see --help)\n", error->message);
  } else if ((caller = render_caller (o.play, &error)) == NULL) {
    g_printerr ("twilio-call-sim: %s\n", error->message);
  } else {
    code = sim_call_run (&o.cfg, caller);
  }
  options_clear (&o);
  gst_deinit ();
  return code;
}
