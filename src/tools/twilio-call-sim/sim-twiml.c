/* twilio-call-sim: TwiML (see sim-twiml.h). */
#include "sim-twiml.h"

#include <errno.h>

G_DEFINE_QUARK (sim-twiml-error-quark, sim_twiml_error)

#define DEFAULT_PAUSE_S 1
#define MAX_PAUSE_S     3600   /* a bound of ours: a sim call should not sit for hours */

/* SSML elements Twilio allows inside <Say>: their text is spoken. */
static const char *const ssml_elements[] = {
  "break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as",
  "sub", "w", "amazon:domain", "amazon:effect", NULL
};

/* The verbs the sim executes, in SimVerbType order. */
static const char *const verb_names[] = {
  "Say", "Pause", "Hangup", "Redirect", "Dial", "Connect"
};

/* Where the parser is: the verb being read and what inside it. */
typedef struct {
  GMarkupParseContext *ctx;
  GPtrArray *verbs;
  SimVerb *verb;           /* the open top-level verb, or NULL */
  guint depth;             /* open elements, <Response> being 1 */
  gboolean have_root;
  gboolean in_target;      /* inside <Dial>'s first <Number>/<Sip>/<Client> */
  guint dial_targets;
  gboolean have_stream;
  GString *text;           /* the open verb's text */
} Parser;

const char *
sim_verb_name (const SimVerb *verb)
{
  return verb_names[verb->type];
}

static void
verb_free (SimVerb *v)
{
  g_free (v->text);
  g_free (v->method);
  g_free (v->action);
  g_clear_pointer (&v->param_names, g_ptr_array_unref);
  g_clear_pointer (&v->param_values, g_ptr_array_unref);
  g_free (v);
}

static gboolean fail (Parser *p, GError **error, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* A TwiML error at the parser's position: "line 3: <Gather> is …". */
static gboolean
fail (Parser *p, GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;
  gint line = 0;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_markup_parse_context_get_position (p->ctx, &line, NULL);
  g_set_error (error, SIM_TWIML_ERROR, SIM_TWIML_ERROR_MALFORMED, "line %d: %s",
      line, msg);
  return FALSE;
}

static const char *
attr (const char **names, const char **values, const char *name)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_equal (names[i], name))
      return values[i];
  return NULL;
}

static gboolean
in_list (const char *const *list, const char *name)
{
  for (guint i = 0; list[i] != NULL; i++)
    if (g_str_equal (list[i], name))
      return TRUE;
  return FALSE;
}

/* A method attribute: POST when absent, as Twilio defaults it. */
static gboolean
take_method (Parser *p, SimVerb *v, const char *method, GError **error)
{
  if (method == NULL)
    method = "POST";
  if (g_ascii_strcasecmp (method, "POST") != 0 && g_ascii_strcasecmp (method, "GET") != 0)
    return fail (p, error, "method=\"%s\" (expected GET or POST)", method);
  v->method = g_ascii_strup (method, -1);
  return TRUE;
}

static gboolean
parse_pause_length (Parser *p, SimVerb *v, const char *length, GError **error)
{
  char *end = NULL;
  guint64 s = DEFAULT_PAUSE_S;

  if (length != NULL) {
    errno = 0;
    s = g_ascii_strtoull (length, &end, 10);
    if (!g_ascii_isdigit (length[0]) || errno != 0 || *end != '\0' || s > MAX_PAUSE_S)
      return fail (p, error, "<Pause length=\"%s\"> (expected whole seconds, 0 to %d)",
          length, MAX_PAUSE_S);
  }
  v->pause_ms = (gint64) s * 1000;
  return TRUE;
}

static gint
verb_type (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (verb_names); i++)
    if (g_str_equal (verb_names[i], name))
      return i;
  return -1;
}

/* A top-level verb opens. */
static gboolean
open_verb (Parser *p, const char *name, const char **names, const char **values,
    GError **error)
{
  gint type = verb_type (name);
  SimVerb *v;

  if (type < 0)
    return fail (p, error, "<%s> is not a verb twilio-call-sim executes "
        "(Say, Pause, Hangup, Redirect, Dial, Connect)", name);
  v = g_new0 (SimVerb, 1);
  v->type = type;
  g_ptr_array_add (p->verbs, v);
  p->verb = v;
  p->dial_targets = 0;
  p->have_stream = FALSE;
  g_string_truncate (p->text, 0);
  switch (v->type) {
    case SIM_VERB_PAUSE:
      return parse_pause_length (p, v, attr (names, values, "length"), error);
    case SIM_VERB_REDIRECT:
      return take_method (p, v, attr (names, values, "method"), error);
    case SIM_VERB_CONNECT:
      v->param_names = g_ptr_array_new_with_free_func (g_free);
      v->param_values = g_ptr_array_new_with_free_func (g_free);
      v->action = g_strdup (attr (names, values, "action"));
      return take_method (p, v, attr (names, values, "method"), error);
    default:
      return TRUE;
  }
}

static gboolean
open_stream (Parser *p, const char **names, const char **values, GError **error)
{
  const char *url = attr (names, values, "url");

  if (p->have_stream)
    return fail (p, error, "<Connect> holds one <Stream>");
  if (url == NULL || *url == '\0')
    return fail (p, error, "<Stream> without a url attribute");
  p->have_stream = TRUE;
  p->verb->text = g_strdup (url);
  return TRUE;
}

static gboolean
open_parameter (Parser *p, const char **names, const char **values, GError **error)
{
  const char *name = attr (names, values, "name");
  const char *value = attr (names, values, "value");

  if (name == NULL || *name == '\0' || value == NULL)
    return fail (p, error, "<Parameter> needs a name and a value attribute");
  g_ptr_array_add (p->verb->param_names, g_strdup (name));
  g_ptr_array_add (p->verb->param_values, g_strdup (value));
  return TRUE;
}

/* An element inside a verb: what may be there depends on the verb. */
static gboolean
open_inner (Parser *p, const char *name, const char **names, const char **values,
    GError **error)
{
  const char *parent = g_markup_parse_context_get_element_stack (p->ctx)->next->data;
  static const char *const dial_nouns[] = { "Number", "Sip", "Client", NULL };

  switch (p->verb->type) {
    case SIM_VERB_SAY:
      if (in_list (ssml_elements, name))
        return TRUE;
      break;
    case SIM_VERB_CONNECT:
      if (p->depth == 3 && g_str_equal (name, "Stream"))
        return open_stream (p, names, values, error);
      if (p->depth == 4 && g_str_equal (parent, "Stream") && g_str_equal (name, "Parameter"))
        return open_parameter (p, names, values, error);
      break;
    case SIM_VERB_DIAL:
      if (p->depth == 3 && in_list (dial_nouns, name)) {
        p->in_target = p->dial_targets++ == 0;
        return TRUE;
      }
      break;
    default:
      break;
  }
  return fail (p, error, "<%s> inside <%s> is not something twilio-call-sim "
      "executes", name, parent);
}

static void
on_start_element (GMarkupParseContext *ctx, const char *name, const char **names,
    const char **values, gpointer user_data, GError **error)
{
  Parser *p = user_data;

  p->depth++;
  if (p->depth == 1) {
    if (p->have_root)
      fail (p, error, "a second root element <%s>", name);
    else if (!g_str_equal (name, "Response"))
      fail (p, error, "the root element is <%s>, not <Response>", name);
    p->have_root = TRUE;
    return;
  }
  if (p->depth == 2) {
    open_verb (p, name, names, values, error);
    return;
  }
  open_inner (p, name, names, values, error);
}

static gboolean
has_text (const char *text, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (text[i]))
      return TRUE;
  return FALSE;
}

static void
on_text (GMarkupParseContext *ctx, const char *text, gsize len,
    gpointer user_data, GError **error)
{
  Parser *p = user_data;
  gboolean wanted = FALSE;

  if (p->verb != NULL && p->depth >= 2) {
    switch (p->verb->type) {
      case SIM_VERB_SAY:
        wanted = TRUE;
        break;
      case SIM_VERB_REDIRECT:
        wanted = p->depth == 2;
        break;
      case SIM_VERB_DIAL:
        if (p->depth == 3 && !p->in_target)
          return;   /* a further target: the sim records the first */
        wanted = TRUE;
        break;
      default:
        break;
    }
  }
  if (wanted)
    g_string_append_len (p->text, text, len);
  else if (has_text (text, len))
    fail (p, error, "unexpected text in <%s>",
        (const char *) g_markup_parse_context_get_element ((GMarkupParseContext *) ctx));
}

/* A top-level verb closes: its text becomes what it says, where it goes. */
static gboolean
close_verb (Parser *p, GError **error)
{
  SimVerb *v = p->verb;
  g_autofree char *text = g_strstrip (g_strdup (p->text->str));

  p->verb = NULL;
  switch (v->type) {
    case SIM_VERB_SAY:
      v->text = g_steal_pointer (&text);
      return TRUE;
    case SIM_VERB_REDIRECT:
      if (*text == '\0')
        return fail (p, error, "<Redirect> without a URL");
      v->text = g_steal_pointer (&text);
      return TRUE;
    case SIM_VERB_DIAL:
      if (*text == '\0')
        return fail (p, error, "<Dial> without a number, <Number>, <Sip> or <Client>");
      v->text = g_steal_pointer (&text);
      return TRUE;
    case SIM_VERB_CONNECT:
      if (!p->have_stream)
        return fail (p, error, "<Connect> without a <Stream>");
      g_ptr_array_add (v->param_names, NULL);
      g_ptr_array_add (v->param_values, NULL);
      return TRUE;
    default:
      return TRUE;
  }
}

static void
on_end_element (GMarkupParseContext *ctx, const char *name, gpointer user_data,
    GError **error)
{
  Parser *p = user_data;

  if (p->depth == 2)
    close_verb (p, error);
  else if (p->depth == 3)
    p->in_target = FALSE;
  p->depth--;
}

GPtrArray *
sim_twiml_parse (const char *text, gssize len, GError **error)
{
  static const GMarkupParser callbacks = {
    .start_element = on_start_element,
    .end_element = on_end_element,
    .text = on_text,
  };
  Parser p = { 0 };
  g_autoptr (GError) local = NULL;
  gboolean ok;

  p.verbs = g_ptr_array_new_with_free_func ((GDestroyNotify) verb_free);
  p.text = g_string_new (NULL);
  p.ctx = g_markup_parse_context_new (&callbacks, 0, &p, NULL);
  ok = g_markup_parse_context_parse (p.ctx, text, len, &local) &&
      g_markup_parse_context_end_parse (p.ctx, &local);
  g_markup_parse_context_free (p.ctx);
  g_string_free (p.text, TRUE);
  if (!ok) {
    g_ptr_array_unref (p.verbs);
    /* GMarkup's own errors already say where ("Error on line 2 char 7: …") */
    if (local->domain == SIM_TWIML_ERROR)
      g_propagate_error (error, g_steal_pointer (&local));
    else
      g_set_error (error, SIM_TWIML_ERROR, SIM_TWIML_ERROR_MALFORMED, "%s",
          local->message);
    return NULL;
  }
  return p.verbs;
}

gboolean
sim_twiml_check_stream_url (const char *url, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;

  if (uri == NULL || (g_strcmp0 (scheme, "ws") != 0 && g_strcmp0 (scheme, "wss") != 0)
      || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0') {
    g_set_error (error, SIM_TWIML_ERROR, SIM_TWIML_ERROR_STREAM_URL,
        "<Stream url=\"%s\"> is not a ws:// or wss:// URL", url);
    return FALSE;
  }
  if (g_uri_get_query (uri) != NULL) {
    g_set_error (error, SIM_TWIML_ERROR, SIM_TWIML_ERROR_STREAM_URL,
        "<Stream url=\"%s\"> has a query string, which Twilio does not allow "
        "(pass per-call data as <Parameter>)", url);
    return FALSE;
  }
  return TRUE;
}
