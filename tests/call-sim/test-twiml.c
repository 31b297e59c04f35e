/* twilio-call-sim's TwiML parser, ids and tunnel, without a network: what
 * each document becomes, every way a document is refused, how URLs move
 * between a tunnel's two origins. */
#include "sim-sid.h"
#include "sim-tunnel.h"
#include "sim-twiml.h"

#include <string.h>

static GPtrArray *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *verbs = sim_twiml_parse (text, -1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (verbs);
  return verbs;
}

static const SimVerb *
verb_at (GPtrArray *verbs, guint i)
{
  g_assert_cmpuint (i, <, verbs->len);
  return g_ptr_array_index (verbs, i);
}

static void
test_every_verb (void)
{
  g_autoptr (GPtrArray) verbs = parse_ok (
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!-- a comment -->\n"
      "<Response>\n"
      "  <Say voice=\"Polly.Amy\" language=\"en-GB\">Hello <break time=\"1s\"/>"
      "<prosody rate=\"slow\">and welcome</prosody> &amp; more.</Say>\n"
      "  <Pause/>\n"
      "  <Pause length=\"3\"/>\n"
      "  <Connect action=\"/after\" method=\"get\">\n"
      "    <Stream url=\"wss://example.ngrok.app/media\" name=\"s1\">\n"
      "      <Parameter name=\"From\" value=\"+15017122661\"/>\n"
      "      <Parameter name=\"empty\" value=\"\"/>\n"
      "    </Stream>\n"
      "  </Connect>\n"
      "  <Redirect method=\"GET\"> /next </Redirect>\n"
      "  <Redirect>/other</Redirect>\n"
      "  <Dial timeout=\"20\"> +15551230000 </Dial>\n"
      "  <Dial><Sip>sip:agent@example.com</Sip><Sip>sip:backup@example.com</Sip></Dial>\n"
      "  <Dial><Number sendDigits=\"1\">+15550000001</Number></Dial>\n"
      "  <Hangup/>\n"
      "</Response>\n");
  const SimVerb *v;

  g_assert_cmpuint (verbs->len, ==, 10);
  v = verb_at (verbs, 0);
  g_assert_cmpint (v->type, ==, SIM_VERB_SAY);
  g_assert_cmpstr (sim_verb_name (v), ==, "Say");
  g_assert_cmpstr (v->text, ==, "Hello and welcome & more.");
  g_assert_cmpint (verb_at (verbs, 1)->pause_ms, ==, 1000);   /* Twilio's default */
  g_assert_cmpint (verb_at (verbs, 2)->pause_ms, ==, 3000);
  v = verb_at (verbs, 3);
  g_assert_cmpint (v->type, ==, SIM_VERB_CONNECT);
  g_assert_cmpstr (v->text, ==, "wss://example.ngrok.app/media");
  g_assert_cmpstr (v->action, ==, "/after");
  g_assert_cmpstr (v->method, ==, "GET");
  g_assert_cmpuint (v->param_names->len, ==, 3);   /* NULL-terminated */
  g_assert_cmpstr (g_ptr_array_index (v->param_names, 0), ==, "From");
  g_assert_cmpstr (g_ptr_array_index (v->param_values, 0), ==, "+15017122661");
  g_assert_cmpstr (g_ptr_array_index (v->param_names, 1), ==, "empty");
  g_assert_cmpstr (g_ptr_array_index (v->param_values, 1), ==, "");
  g_assert_null (g_ptr_array_index (v->param_names, 2));
  v = verb_at (verbs, 4);
  g_assert_cmpint (v->type, ==, SIM_VERB_REDIRECT);
  g_assert_cmpstr (v->text, ==, "/next");
  g_assert_cmpstr (v->method, ==, "GET");
  g_assert_cmpstr (verb_at (verbs, 5)->method, ==, "POST");   /* the default */
  g_assert_cmpstr (verb_at (verbs, 6)->text, ==, "+15551230000");
  g_assert_cmpstr (verb_at (verbs, 7)->text, ==, "sip:agent@example.com");   /* the first */
  g_assert_cmpstr (verb_at (verbs, 8)->text, ==, "+15550000001");
  g_assert_cmpint (verb_at (verbs, 9)->type, ==, SIM_VERB_HANGUP);
}

static void
test_empty_response (void)
{
  g_autoptr (GPtrArray) a = parse_ok ("<Response/>");
  g_autoptr (GPtrArray) b = parse_ok ("<Response>\n</Response>");

  g_assert_cmpuint (a->len, ==, 0);
  g_assert_cmpuint (b->len, ==, 0);
}

static void
test_refused (void)
{
  static const struct {
    const char *twiml;
    const char *says;
  } cases[] = {
    { "", "empty" },
    { "not xml at all", "" },
    { "<Response><Say>unclosed</Response>", "" },
    { "<Response>", "" },
    { "<Reply><Hangup/></Reply>", "<Reply>, not <Response>" },
    { "<Response/><Response/>", "second root" },
    { "<Response><Gather/></Response>", "<Gather> is not a verb" },
    { "<Response>stray text</Response>", "unexpected text" },
    { "<Response><Hangup>now</Hangup></Response>", "unexpected text" },
    { "<Response><Pause length=\"soon\"/></Response>", "length=\"soon\"" },
    { "<Response><Pause length=\"-1\"/></Response>", "length=\"-1\"" },
    { "<Response><Pause length=\"99999\"/></Response>", "length=\"99999\"" },
    { "<Response><Redirect/></Response>", "without a URL" },
    { "<Response><Redirect method=\"PUT\">/x</Redirect></Response>", "method=\"PUT\"" },
    { "<Response><Dial/></Response>", "<Dial> without" },
    { "<Response><Dial><Conference>room</Conference></Dial></Response>", "<Conference> inside <Dial>" },
    { "<Response><Connect/></Response>", "without a <Stream>" },
    { "<Response><Connect><Room>r</Room></Connect></Response>", "<Room> inside <Connect>" },
    { "<Response><Connect><Stream/></Connect></Response>", "without a url" },
    { "<Response><Connect><Stream url=\"wss://a/b\"/><Stream url=\"wss://a/c\"/></Connect></Response>", "one <Stream>" },
    { "<Response><Connect><Stream url=\"wss://a/b\"><Parameter value=\"v\"/></Stream></Connect></Response>", "<Parameter> needs" },
    { "<Response><Connect><Stream url=\"wss://a/b\"><Parameter name=\"n\"/></Stream></Connect></Response>", "<Parameter> needs" },
    { "<Response><Connect><Parameter name=\"n\" value=\"v\"/></Connect></Response>", "<Parameter> inside <Connect>" },
    { "<Response><Say><script>x</script></Say></Response>", "<script> inside <Say>" },
    { "<Response><Hangup><Say>x</Say></Hangup></Response>", "<Say> inside <Hangup>" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    GPtrArray *verbs = sim_twiml_parse (cases[i].twiml, -1, &error);

    g_test_message ("%s → %s", cases[i].twiml, error ? error->message : "(accepted)");
    g_assert_null (verbs);
    g_assert_error (error, SIM_TWIML_ERROR, SIM_TWIML_ERROR_MALFORMED);
    g_assert_nonnull (strstr (error->message, cases[i].says));
  }
}

/* Errors name the line, so a user finds the fault in a long document. */
static void
test_refusal_names_line (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (sim_twiml_parse ("<Response>\n  <Say>hi</Say>\n  <Play>x.mp3</Play>\n</Response>",
          -1, &error));
  g_assert_nonnull (strstr (error->message, "line 3"));
}

static void
test_stream_url (void)
{
  static const char *const good[] = {
    "wss://example.ngrok.app/media", "ws://127.0.0.1:8080/media", "wss://h",
  };
  static const char *const bad[] = {
    "https://example.com/media", "http://127.0.0.1/media", "example.com/media",
    "wss://", "wss:///media", "wss://example.com/media?call=1", "",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_true (sim_twiml_check_stream_url (good[i], &error));
    g_assert_no_error (error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_false (sim_twiml_check_stream_url (bad[i], &error));
    g_assert_error (error, SIM_TWIML_ERROR, SIM_TWIML_ERROR_STREAM_URL);
  }
}

static void
test_sids (void)
{
  const char *base = "CA0a1b2c3d4e5f6a7b8c9d0e1ffffffffe";
  g_autofree char *s0 = sim_sid_derive (base, 0);
  g_autofree char *s1 = sim_sid_derive (base, 1);
  g_autofree char *s2 = sim_sid_derive (base, 2);

  g_assert_true (sim_sid_is_valid ("CA0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d", "CA"));
  g_assert_false (sim_sid_is_valid ("MZ0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d", "CA"));
  g_assert_false (sim_sid_is_valid ("CA0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5", "CA"));
  g_assert_false (sim_sid_is_valid ("CA0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5dd", "CA"));
  g_assert_false (sim_sid_is_valid ("CA0a1b2c3d4e5f6a7b8c9d0e1f2a3b4cXd", "CA"));
  g_assert_true (sim_sid_is_valid (base, "CA"));
  g_assert_cmpstr (s0, ==, base);
  g_assert_cmpstr (s1, ==, "CA0a1b2c3d4e5f6a7b8c9d0e1fffffffff");
  g_assert_cmpstr (s2, ==, "CA0a1b2c3d4e5f6a7b8c9d0e1f00000000");   /* wraps, stays valid */
  g_assert_true (sim_sid_is_valid (s2, "CA"));
  {
    g_autofree char *odd = sim_sid_derive ("MZ1", 1);
    g_autofree char *odd0 = sim_sid_derive ("MZ1", 0);

    g_assert_cmpstr (odd, ==, "MZ1-1");
    g_assert_cmpstr (odd0, ==, "MZ1");
  }
}

static void
test_tunnel (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SimTunnel) t = sim_tunnel_new ("https://example.ngrok.app",
      "http://127.0.0.1:8080/twiml", &error);
  static const char *const to_local[][2] = {
    { "wss://example.ngrok.app/media", "ws://127.0.0.1:8080/media" },
    { "https://example.ngrok.app/next?x=1", "http://127.0.0.1:8080/next?x=1" },
    { "https://example.ngrok.app:443/next", "http://127.0.0.1:8080/next" },
    { "https://other.example/next", "https://other.example/next" },      /* another host */
    { "http://example.ngrok.app/next", "http://example.ngrok.app/next" }, /* another port */
  };
  static const char *const to_public[][2] = {
    { "http://127.0.0.1:8080/twiml", "https://example.ngrok.app/twiml" },
    { "ws://127.0.0.1:8080/media", "wss://example.ngrok.app/media" },
    { "http://127.0.0.1:9090/twiml", "http://127.0.0.1:9090/twiml" },
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (to_local); i++) {
    g_autofree char *got = sim_tunnel_to_local (t, to_local[i][0]);

    g_assert_cmpstr (got, ==, to_local[i][1]);
  }
  for (guint i = 0; i < G_N_ELEMENTS (to_public); i++) {
    g_autofree char *got = sim_tunnel_to_public (t, to_public[i][0]);

    g_assert_cmpstr (got, ==, to_public[i][1]);
  }
  {
    g_autofree char *same = sim_tunnel_to_local (NULL, "wss://example.ngrok.app/media");

    g_assert_cmpstr (same, ==, "wss://example.ngrok.app/media");
  }
  {
    /* a TLS terminator in front of a plain port: same host and port */
    g_autoptr (SimTunnel) tls = sim_tunnel_new ("https://127.0.0.1:8080",
        "http://127.0.0.1:8080/twiml", NULL);
    g_autofree char *ws = sim_tunnel_to_local (tls, "wss://127.0.0.1:8080/media");
    g_autofree char *signed_as = sim_tunnel_to_public (tls, "http://127.0.0.1:8080/twiml");

    g_assert_cmpstr (ws, ==, "ws://127.0.0.1:8080/media");
    g_assert_cmpstr (signed_as, ==, "https://127.0.0.1:8080/twiml");
  }
  for (guint i = 0; i < 3; i++) {
    static const char *const bad[] = { "https://x.example/path", "wss://x.example", "x.example" };
    g_autoptr (GError) e = NULL;

    g_assert_null (sim_tunnel_new (bad[i], "http://127.0.0.1:8080/twiml", &e));
    g_assert_nonnull (e);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/call-sim/twiml/every-verb", test_every_verb);
  g_test_add_func ("/call-sim/twiml/empty-response", test_empty_response);
  g_test_add_func ("/call-sim/twiml/refused", test_refused);
  g_test_add_func ("/call-sim/twiml/refusal-names-line", test_refusal_names_line);
  g_test_add_func ("/call-sim/twiml/stream-url", test_stream_url);
  g_test_add_func ("/call-sim/sids", test_sids);
  g_test_add_func ("/call-sim/tunnel", test_tunnel);
  return g_test_run ();
}
