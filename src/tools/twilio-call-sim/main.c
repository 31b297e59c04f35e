/* twilio-call-sim — a faithful local Twilio: places calls as Twilio does
 * (the voice webhook and its TwiML, or a Media Stream straight away), plays
 * the caller's audio, plays back what the server sends as Twilio does
 * (marks, clear), validates every frame and prints a JSON summary per call.
 * docs/twilio-call-sim.md is its manual.
 */
#include "sim-audio.h"
#include "sim-run.h"
#include "sim-sid.h"

#include "gtr-protocol.h"
#include "gtr-option-error.h"
#include "gtr-tool-exit.h"

#include <gst/gst.h>
#include <errno.h>
#include <string.h>

#define DEFAULT_STREAM_SID  "MZ5c4d3b2a1f0e9d8c7b6a5f4e3d2c1b0a"
#define DEFAULT_CALL_SID    "CA0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"
#define DEFAULT_ACCOUNT_SID "AC9f8e7d6c5b4a39281706f5e4d3c2b1a0"
#define DEFAULT_PLAY        "silence:3000"
#define DEFAULT_LINGER_MS   2000
/* Twilio's own documentation numbers: a caller and the app's number */
#define DEFAULT_FROM        "+15017122661"
#define DEFAULT_TO          "+15558675310"
#define DEFAULT_WEBHOOK_TIMEOUT_MS 10000
#define MAX_CALLS           10000
#define DEFAULT_LOAD_DURATION_MS 10000

/* Everything the command line says, before it is checked. */
typedef struct {
  SimConfig cfg;
  GPtrArray *play;      /* segments in command-line order (--play and --wav) */
  char **params;
  char **dtmf;
  gint linger_ms;
  gint until_quiet_ms;
  char *auth_token_file;
  gint calls;
  gint ramp_ms;
  gint webhook_timeout_ms;
  gboolean load;
  gint duration_ms;     /* -1: not given */
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

static gboolean
parse_params (Options *o, GError **error)
{
  o->cfg.param_names = g_ptr_array_new_with_free_func (g_free);
  o->cfg.param_values = g_ptr_array_new_with_free_func (g_free);
  for (char **p = o->params; p && *p; p++) {
    const char *eq = strchr (*p, '=');

    if (eq == NULL || eq == *p)
      return gtr_option_error (error, "bad --param '%s' (expected NAME=VALUE)", *p);
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
      return gtr_option_error (error, "bad --dtmf '%s' (expected DIGIT@MS)", *p);
    d.digit[0] = (*p)[0];
    errno = 0;
    d.at_ms = g_ascii_strtoll (*p + 2, &end, 10);
    if (errno != 0 || *end != '\0' || gtr_twilio_dtmf_digit_to_number (d.digit) < 0)
      return gtr_option_error (error, "bad --dtmf '%s' (expected DIGIT@MS)", *p);
    g_array_append_val (o->cfg.dtmf, d);
  }
  g_array_sort (o->cfg.dtmf, compare_dtmf);
  return TRUE;
}

/* An absolute URL with a host, in one of the two schemes. */
static gboolean
check_url (const char *option, const char *url, const char *scheme1,
    const char *scheme2, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;

  if (uri == NULL || (g_strcmp0 (scheme, scheme1) != 0 && g_strcmp0 (scheme, scheme2) != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return gtr_option_error (error, "%s '%s' must be a %s:// or %s:// URL", option,
        url, scheme1, scheme2);
  return TRUE;
}

static gboolean
check_target (Options *o, GError **error)
{
  SimConfig *cfg = &o->cfg;

  if ((cfg->url == NULL) == (cfg->twiml_url == NULL))
    return gtr_option_error (error, "give one of --url (a Media Stream) or --twiml-url (the voice webhook)");
  if (cfg->url != NULL && cfg->public_url != NULL)
    return gtr_option_error (error, "--public-url is for --twiml-url: with --url use --signature-url");
  if (cfg->url != NULL)
    return check_url ("--url", cfg->url, "ws", "wss", error);
  if (o->params != NULL)
    return gtr_option_error (error, "--param is for --url: with --twiml-url the "
        "customParameters are the TwiML's <Parameter>s");
  if (cfg->signature_url != NULL)
    return gtr_option_error (error, "--signature-url is for --url: with --twiml-url "
        "use --public-url");
  if (!check_url ("--twiml-url", cfg->twiml_url, "http", "https", error))
    return FALSE;
  if (cfg->public_url != NULL &&
      (cfg->tunnel = sim_tunnel_new (cfg->public_url, cfg->twiml_url, error)) == NULL)
    return FALSE;
  return TRUE;
}

/* The token: --auth-token-file, --auth-token (visible in ps), or
 * TWILIO_AUTH_TOKEN.  Never printed, not even in an error. */
static gboolean
load_auth_token (Options *o, GError **error)
{
  SimConfig *cfg = &o->cfg;
  const char *env = g_getenv ("TWILIO_AUTH_TOKEN");
  g_autoptr (GError) local = NULL;
  char *contents = NULL;

  if (o->auth_token_file != NULL && cfg->auth_token != NULL)
    return gtr_option_error (error, "--auth-token and --auth-token-file exclude each other");
  if (o->auth_token_file != NULL) {
    if (!g_file_get_contents (o->auth_token_file, &contents, NULL, &local))
      return gtr_option_error (error, "--auth-token-file: %s", local->message);
    cfg->auth_token = g_strstrip (contents);
    if (*cfg->auth_token == '\0')
      return gtr_option_error (error, "--auth-token-file %s is empty", o->auth_token_file);
  } else if (cfg->auth_token == NULL && env != NULL && *env != '\0') {
    cfg->auth_token = g_strdup (env);
  }
  return TRUE;
}

/* --calls, --ramp-ms and what several calls need: ids to derive from, a
 * record name per call. */
static gboolean
check_calls (Options *o, GError **error)
{
  SimConfig *cfg = &o->cfg;

  if (o->calls < 1 || o->calls > MAX_CALLS)
    return gtr_option_error (error, "--calls takes 1 to %d", MAX_CALLS);
  if (o->ramp_ms < 0)
    return gtr_option_error (error, "--ramp-ms takes MS >= 0");
  if (o->webhook_timeout_ms < 1)
    return gtr_option_error (error, "--webhook-timeout-ms takes MS >= 1");
  cfg->calls = o->calls;
  cfg->ramp_ms = o->ramp_ms;
  cfg->webhook_timeout_ms = o->webhook_timeout_ms;
  if (cfg->calls == 1)
    return TRUE;
  if (!sim_sid_is_valid (cfg->call_sid, "CA") || !sim_sid_is_valid (cfg->stream_sid, "MZ"))
    return gtr_option_error (error, "with --calls > 1, --call-sid and --stream-sid "
        "must be CA/MZ and 32 hex digits (the calls' ids are derived from them)");
  if (cfg->record_path != NULL && strstr (cfg->record_path, "%d") == NULL
      && !g_file_test (cfg->record_path, G_FILE_TEST_IS_DIR))
    return gtr_option_error (error, "with --calls > 1, --record is a pattern with %%d "
        "(the call's number) or an existing directory");
  return TRUE;
}

/* --load and --duration-ms: the frames are the caller, and the one report
 * is the output. */
static gboolean
check_load (Options *o, GError **error)
{
  SimConfig *cfg = &o->cfg;

  if (!o->load) {
    if (o->duration_ms >= 0)
      return gtr_option_error (error, "--duration-ms goes with --load");
    return TRUE;
  }
  if (o->play->len > 0 || cfg->fast || cfg->record_path != NULL)
    return gtr_option_error (error, "--load sends numbered frames in real time and "
        "records nothing: no --play, --wav, --fast or --record");
  if (o->duration_ms == 0 || o->duration_ms > 24 * 3600 * 1000)
    return gtr_option_error (error, "--duration-ms takes 20 to 86400000 MS");
  cfg->load_duration_ms = o->duration_ms > 0 ? o->duration_ms : DEFAULT_LOAD_DURATION_MS;
  if (cfg->load_duration_ms < 20)
    return gtr_option_error (error, "--duration-ms takes 20 to 86400000 MS");
  return TRUE;
}

static void
set_default (char **value, const char *fallback)
{
  if (*value == NULL)
    *value = g_strdup (fallback);
}

static gboolean
check_options (Options *o, GError **error)
{
  SimConfig *cfg = &o->cfg;

  if (!check_target (o, error) || !parse_params (o, error) ||
      !parse_dtmf (o, error) || !load_auth_token (o, error))
    return FALSE;
  if (o->linger_ms < -1 || o->until_quiet_ms < -1)
    return gtr_option_error (error, "--linger and --until-quiet take MS >= 0");
  if (o->linger_ms >= 0 && o->until_quiet_ms >= 0)
    return gtr_option_error (error, "--linger and --until-quiet exclude each other");
  cfg->linger_ms = o->linger_ms >= 0 ? o->linger_ms : DEFAULT_LINGER_MS;
  cfg->until_quiet_ms = o->until_quiet_ms;
  set_default (&cfg->stream_sid, DEFAULT_STREAM_SID);
  set_default (&cfg->call_sid, DEFAULT_CALL_SID);
  set_default (&cfg->account_sid, DEFAULT_ACCOUNT_SID);
  set_default (&cfg->from, DEFAULT_FROM);
  set_default (&cfg->to, DEFAULT_TO);
  if (!check_load (o, error))
    return FALSE;
  if (o->play->len == 0)
    g_ptr_array_add (o->play, g_strdup (DEFAULT_PLAY));
  return check_calls (o, error);
}

static gboolean
parse_options (Options *o, int *argc, char ***argv, GError **error)
{
  SimConfig *c = &o->cfg;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &c->url, "Media Stream WebSocket to call straight away (ws:// or wss://)", "URL" },
    { "twiml-url", 0, 0, G_OPTION_ARG_STRING, &c->twiml_url, "Voice webhook to POST, executing the TwiML it answers (http:// or https://)", "URL" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &c->from, "The caller's number (webhook From/Caller; default " DEFAULT_FROM ")", "NUMBER" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &c->to, "The number called (webhook To/Called; default " DEFAULT_TO ")", "NUMBER" },
    { "webhook-timeout-ms", 0, 0, G_OPTION_ARG_INT, &o->webhook_timeout_ms, "Fail a webhook that has not answered within MS (default 10000)", "MS" },
    { "auth-token-file", 0, 0, G_OPTION_ARG_FILENAME, &o->auth_token_file, "Sign with the Twilio auth token in FILE (default: $TWILIO_AUTH_TOKEN)", "FILE" },
    { "auth-token", 0, 0, G_OPTION_ARG_STRING, &c->auth_token, "Sign with this auth token (visible in ps: prefer the file or the environment)", "TOKEN" },
    { "signature-url", 0, 0, G_OPTION_ARG_STRING, &c->signature_url, "--url only: the public URL Twilio signs (default: --url)", "URL" },
    { "public-url", 0, 0, G_OPTION_ARG_STRING, &c->public_url, "--twiml-url only: the public origin Twilio would use (a tunnel's), signed over and mapped to --twiml-url's", "ORIGIN" },
    { "calls", 0, 0, G_OPTION_ARG_INT, &o->calls, "Place N concurrent calls (default 1)", "N" },
    { "ramp-ms", 0, 0, G_OPTION_ARG_INT, &o->ramp_ms, "Start the calls MS apart (default 0)", "MS" },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &c->ca_file, "Trust this CA (PEM) for https:// and wss://", "PEM" },
    { "play", 0, 0, G_OPTION_ARG_CALLBACK, on_play, "Caller audio segment, in order: tone:HZ:MS | silence:MS | wav:PATH (default silence:3000)", "SPEC" },
    { "wav", 0, 0, G_OPTION_ARG_CALLBACK, on_play, "Shorthand for --play wav:PATH", "PATH" },
    { "stream-sid", 0, 0, G_OPTION_ARG_STRING, &c->stream_sid, "streamSid (MZ...; with --calls, the base of the calls' ids)", "SID" },
    { "call-sid", 0, 0, G_OPTION_ARG_STRING, &c->call_sid, "CallSid (CA...; with --calls, the base of the calls' ids)", "SID" },
    { "account-sid", 0, 0, G_OPTION_ARG_STRING, &c->account_sid, "accountSid (AC...)", "SID" },
    { "param", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->params, "--url only: a start.customParameters entry", "NAME=VALUE" },
    { "dtmf", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->dtmf, "Send a dtmf DIGIT MS after the first media", "DIGIT@MS" },
    { "linger", 0, 0, G_OPTION_ARG_INT, &o->linger_ms, "After the caller audio, keep the call up this long (default 2000)", "MS" },
    { "until-quiet", 0, 0, G_OPTION_ARG_INT, &o->until_quiet_ms, "After the caller audio, end once nothing was received and nothing played for MS", "MS" },
    { "no-stop", 0, 0, G_OPTION_ARG_NONE, &c->no_stop, "Close the socket without sending stop", NULL },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &c->fast, "Send the caller audio as fast as possible (playback stays real time)", NULL },
    { "record", 0, 0, G_OPTION_ARG_FILENAME, &c->record_path, "Write what the caller heard as a mu-law WAV (several calls: a %d pattern or a directory)", "OUT.wav" },
    { "load", 0, 0, G_OPTION_ARG_NONE, &o->load, "Load mode: numbered frames, matched when they come back; one JSON report (replaces --play)", NULL },
    { "duration-ms", 0, 0, G_OPTION_ARG_INT, &o->duration_ms, "--load: how long each call sends its frames (default 10000)", "MS" },
    { "summary", 0, 0, G_OPTION_ARG_FILENAME, &c->summary_path, "Also write the JSON summary line(s) here", "OUT.json" },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- a local Twilio: places calls through the voice webhook or to a Media Stream");
  GOptionGroup *group = g_option_group_new ("sim", "twilio-call-sim", "Show options", o, NULL);

  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (ctx, group);
  g_option_context_set_summary (ctx, "Exit: 0 ok, 1 protocol violations received, "
      "2 usage error, 3 could not connect / handshake rejected, 4 webhook "
      "answered non-2xx, 5 webhook timed out, 6 malformed TwiML, 7 bad <Stream url>.\n"
      "A JSON summary line per call on stdout, then an aggregate line when "
      "--calls > 1; with --load, one JSON report instead (docs/twilio-call-sim.md).");
  if (!g_option_context_parse (ctx, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    return gtr_option_error (error, "unexpected argument '%s'", (*argv)[1]);
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
  g_free (c->twiml_url);
  g_free (c->from);
  g_free (c->to);
  g_free (o->auth_token_file);
  g_free (c->auth_token);
  g_free (c->signature_url);
  g_free (c->public_url);
  g_clear_pointer (&c->tunnel, sim_tunnel_free);
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
  Options o = { .linger_ms = -1, .until_quiet_ms = -1, .calls = 1, .duration_ms = -1,
    .webhook_timeout_ms = DEFAULT_WEBHOOK_TIMEOUT_MS };
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
    code = sim_run (&o.cfg, caller);
  }
  options_clear (&o);
  gst_deinit ();
  /* https webhooks and wss streams leave TLS workers in GLib's pool */
  gtr_stop_idle_pool_threads ();
  return code;
}
