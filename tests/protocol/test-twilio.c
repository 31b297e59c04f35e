/* Tests of the Twilio Media Streams messages (src/protocol/gtr-twilio.c):
 * the samples in $GTR_TESTS_DATA parse to their fields, the builders give
 * the samples byte for byte and round-trip, and malformed input is refused
 * with the right code and a message naming the field. */
#include "gtr-protocol.h"

#include <string.h>

#define SID "MZ00000000000000000000000000000001"
#define ACCOUNT "AC00000000000000000000000000000001"
#define CALL "CA00000000000000000000000000000001"

/* The lines of a sample file in $GTR_TESTS_DATA; NULL (test skipped)
 * when the variable is not set. */
static GStrv
load_lines (const char *file)
{
  const char *dir = g_getenv ("GTR_TESTS_DATA");
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GStrvBuilder) lines = g_strv_builder_new ();
  g_auto (GStrv) split = NULL;

  if (dir == NULL) {
    g_test_skip ("GTR_TESTS_DATA is not set (run through meson test)");
    return NULL;
  }
  path = g_build_filename (dir, file, NULL);
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  split = g_strsplit (contents, "\n", -1);
  for (guint i = 0; split[i]; i++)
    if (split[i][0] != '\0')
      g_strv_builder_add (lines, split[i]);
  return g_strv_builder_end (lines);
}

static GtrTwilioMessage *
parse_ok (const char *text, gboolean outbound)
{
  g_autoptr (GError) error = NULL;
  GtrTwilioMessage *msg = outbound
      ? gtr_twilio_outbound_parse (text, -1, 65536, &error)
      : gtr_twilio_message_parse (text, -1, 65536, &error);

  g_assert_no_error (error);
  g_assert_nonnull (msg);
  return msg;
}

static void
assert_payload (GtrTwilioMessage *msg, const guint8 *data, gsize len)
{
  gsize got_len;
  const guint8 *got = g_bytes_get_data (msg->payload, &got_len);

  g_assert_nonnull (msg->payload);
  g_assert_cmpmem (got, got_len, data, len);
}

/* ------------------------------------------------------------------ */
/* The samples                                                         */

static void
check_connected (GtrTwilioMessage *m)
{
  g_assert_cmpint (m->type, ==, GTR_TWILIO_EVENT_CONNECTED);
  g_assert_cmpstr (m->protocol, ==, "Call");
  g_assert_cmpstr (m->version, ==, "1.0.0");
  g_assert_null (m->stream_sid);
  g_assert_cmpint (m->sequence_number, ==, -1);
}

static void
check_start (GtrTwilioMessage *m)
{
  const char *const tracks[] = { "inbound", NULL };
  const char *const names[] = { "caller", "agent", NULL };
  const char *const values[] = { "+972501234567", "support-he", NULL };

  g_assert_cmpint (m->type, ==, GTR_TWILIO_EVENT_START);
  g_assert_cmpint (m->sequence_number, ==, 1);
  g_assert_cmpstr (m->stream_sid, ==, SID);
  g_assert_cmpstr (m->account_sid, ==, ACCOUNT);
  g_assert_cmpstr (m->call_sid, ==, CALL);
  g_assert_true (g_strv_equal ((const char *const *) m->tracks, tracks));
  g_assert_true (g_strv_equal ((const char *const *) m->custom_parameter_names, names));
  g_assert_true (g_strv_equal ((const char *const *) m->custom_parameter_values, values));
  g_assert_cmpstr (m->encoding, ==, "audio/x-mulaw");
  g_assert_cmpint (m->sample_rate, ==, 8000);
  g_assert_cmpint (m->channels, ==, 1);
}

static void
check_media (GtrTwilioMessage *m)
{
  guint8 silence[160];

  memset (silence, 0xff, sizeof silence);   /* μ-law silence */
  g_assert_cmpint (m->type, ==, GTR_TWILIO_EVENT_MEDIA);
  g_assert_cmpint (m->sequence_number, ==, 2);
  g_assert_cmpstr (m->stream_sid, ==, SID);
  g_assert_cmpstr (m->track, ==, "inbound");
  g_assert_cmpint (m->chunk, ==, 1);
  g_assert_cmpint (m->timestamp_ms, ==, 5);
  assert_payload (m, silence, sizeof silence);
}

static void
check_dtmf (GtrTwilioMessage *m)
{
  g_assert_cmpint (m->type, ==, GTR_TWILIO_EVENT_DTMF);
  g_assert_cmpint (m->sequence_number, ==, 3);
  g_assert_cmpstr (m->stream_sid, ==, SID);
  g_assert_cmpstr (m->track, ==, "inbound_track");
  g_assert_cmpstr (m->digit, ==, "5");
}

static void
check_mark_echo (GtrTwilioMessage *m)
{
  g_assert_cmpint (m->type, ==, GTR_TWILIO_EVENT_MARK);
  g_assert_cmpint (m->sequence_number, ==, 4);
  g_assert_cmpstr (m->stream_sid, ==, SID);
  g_assert_cmpstr (m->name, ==, "item_abc:1200");
}

static void
check_stop (GtrTwilioMessage *m)
{
  g_assert_cmpint (m->type, ==, GTR_TWILIO_EVENT_STOP);
  g_assert_cmpint (m->sequence_number, ==, 5);
  g_assert_cmpstr (m->stream_sid, ==, SID);
  g_assert_cmpstr (m->account_sid, ==, ACCOUNT);
  g_assert_cmpstr (m->call_sid, ==, CALL);
}

typedef void (*Checker) (GtrTwilioMessage *msg);

/* inbound-messages.jsonl, line by line. */
static const Checker inbound_checks[] = {
  check_connected, check_start, check_media, check_dtmf, check_mark_echo, check_stop,
};

static void
test_inbound_samples (void)
{
  g_auto (GStrv) lines = load_lines ("inbound-messages.jsonl");

  if (lines == NULL)
    return;
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (inbound_checks));
  for (guint i = 0; lines[i]; i++) {
    g_autoptr (GtrTwilioMessage) msg = parse_ok (lines[i], FALSE);

    inbound_checks[i] (msg);
  }
}

/* Twilio sends none of these, and a Twilio message is not an app's. */
static void
test_inbound_samples_are_not_outbound (void)
{
  g_auto (GStrv) lines = load_lines ("inbound-messages.jsonl");

  if (lines == NULL)
    return;
  for (guint i = 0; lines[i]; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GtrTwilioMessage) msg = gtr_twilio_outbound_parse (lines[i], -1, 0, &error);

    g_assert_null (msg);
    g_assert_true (g_error_matches (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT)
        || g_error_matches (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_UNKNOWN_FIELD));
  }
}

static void
test_outbound_samples (void)
{
  g_auto (GStrv) lines = load_lines ("outbound-messages.jsonl");
  g_autoptr (GtrTwilioMessage) media = NULL;
  g_autoptr (GtrTwilioMessage) mark = NULL;
  g_autoptr (GtrTwilioMessage) clear = NULL;
  guint8 silence[16];

  if (lines == NULL)
    return;
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  memset (silence, 0xff, sizeof silence);
  media = parse_ok (lines[0], TRUE);
  g_assert_cmpint (media->type, ==, GTR_TWILIO_EVENT_MEDIA);
  g_assert_cmpstr (media->stream_sid, ==, SID);
  g_assert_cmpint (media->sequence_number, ==, -1);
  g_assert_cmpint (media->chunk, ==, -1);
  g_assert_cmpint (media->timestamp_ms, ==, -1);
  g_assert_null (media->track);
  assert_payload (media, silence, sizeof silence);

  mark = parse_ok (lines[1], TRUE);
  g_assert_cmpint (mark->type, ==, GTR_TWILIO_EVENT_MARK);
  g_assert_cmpstr (mark->stream_sid, ==, SID);
  g_assert_cmpstr (mark->name, ==, "item_abc:1200");

  clear = parse_ok (lines[2], TRUE);
  g_assert_cmpint (clear->type, ==, GTR_TWILIO_EVENT_CLEAR);
  g_assert_cmpstr (clear->stream_sid, ==, SID);
}

/* What we send must be Twilio's envelope exactly. */
static void
test_outbound_builders_match_samples (void)
{
  g_auto (GStrv) lines = load_lines ("outbound-messages.jsonl");
  g_autofree char *media = NULL, *mark = NULL, *clear = NULL;
  guint8 silence[16];

  if (lines == NULL)
    return;
  memset (silence, 0xff, sizeof silence);
  media = gtr_twilio_build_media (SID, silence, sizeof silence);
  mark = gtr_twilio_build_mark (SID, "item_abc:1200");
  clear = gtr_twilio_build_clear (SID);
  g_assert_cmpstr (media, ==, lines[0]);
  g_assert_cmpstr (mark, ==, lines[1]);
  g_assert_cmpstr (clear, ==, lines[2]);
}

/* twilio-call-sim sends what Twilio sends, byte for byte. */
static void
test_inbound_builders_match_samples (void)
{
  g_auto (GStrv) lines = load_lines ("inbound-messages.jsonl");
  const char *const names[] = { "caller", "agent", NULL };
  const char *const values[] = { "+972501234567", "support-he", NULL };
  guint8 silence[160];
  char *built[6];

  if (lines == NULL)
    return;
  memset (silence, 0xff, sizeof silence);
  built[0] = gtr_twilio_build_connected ();
  built[1] = gtr_twilio_build_start (1, SID, ACCOUNT, CALL, names, values);
  built[2] = gtr_twilio_build_inbound_media (2, SID, 1, 5, silence, sizeof silence);
  built[3] = gtr_twilio_build_dtmf (3, SID, "5");
  built[4] = gtr_twilio_build_mark_echo (4, SID, "item_abc:1200");
  built[5] = gtr_twilio_build_stop (5, SID, ACCOUNT, CALL);
  for (guint i = 0; i < G_N_ELEMENTS (built); i++) {
    g_assert_cmpstr (built[i], ==, lines[i]);
    g_free (built[i]);
  }
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */

static void
round_trip_media (const guint8 *audio, gsize len)
{
  g_autofree char *out = gtr_twilio_build_media (SID, audio, len);
  g_autofree char *in = gtr_twilio_build_inbound_media (7, SID, 6, 100, audio, len);
  g_autoptr (GtrTwilioMessage) out_msg = parse_ok (out, TRUE);
  g_autoptr (GtrTwilioMessage) in_msg = parse_ok (in, FALSE);

  g_assert_cmpint (out_msg->type, ==, GTR_TWILIO_EVENT_MEDIA);
  g_assert_cmpstr (out_msg->stream_sid, ==, SID);
  assert_payload (out_msg, audio, len);
  g_assert_cmpint (in_msg->type, ==, GTR_TWILIO_EVENT_MEDIA);
  g_assert_cmpint (in_msg->sequence_number, ==, 7);
  g_assert_cmpint (in_msg->chunk, ==, 6);
  g_assert_cmpint (in_msg->timestamp_ms, ==, 100);
  assert_payload (in_msg, audio, len);
}

static void
test_round_trip_media (void)
{
  guint8 all_bytes[256];

  for (guint i = 0; i < sizeof all_bytes; i++)
    all_bytes[i] = (guint8) i;
  round_trip_media (NULL, 0);
  /* 1, 2, 3 bytes: two, one and no padding characters. */
  for (gsize len = 1; len <= 3; len++)
    round_trip_media (all_bytes + 250, len);
  round_trip_media (all_bytes, sizeof all_bytes);
}

/* Names and sids with characters JSON must escape survive intact. */
static const char awkward[] = "q\"uo\\te/\n\t\x01 é ☎";

static void
test_round_trip_mark_clear (void)
{
  g_autofree char *mark = gtr_twilio_build_mark (SID, awkward);
  g_autofree char *empty_name = gtr_twilio_build_mark (SID, "");
  g_autofree char *clear = gtr_twilio_build_clear (awkward);
  g_autoptr (GtrTwilioMessage) m1 = parse_ok (mark, TRUE);
  g_autoptr (GtrTwilioMessage) m2 = parse_ok (empty_name, TRUE);
  g_autoptr (GtrTwilioMessage) c = parse_ok (clear, TRUE);

  g_assert_cmpint (m1->type, ==, GTR_TWILIO_EVENT_MARK);
  g_assert_cmpstr (m1->name, ==, awkward);
  g_assert_cmpstr (m2->name, ==, "");
  g_assert_cmpint (c->type, ==, GTR_TWILIO_EVENT_CLEAR);
  g_assert_cmpstr (c->stream_sid, ==, awkward);
}

static void
test_round_trip_start (void)
{
  const char *const names[] = { "b", awkward, "a", NULL };
  const char *const values[] = { awkward, "2", "", NULL };
  g_autofree char *text = gtr_twilio_build_start (0, SID, ACCOUNT, CALL, names, values);
  g_autofree char *bare = gtr_twilio_build_start (-1, SID, ACCOUNT, CALL, NULL, NULL);
  g_autoptr (GtrTwilioMessage) m = parse_ok (text, FALSE);
  g_autoptr (GtrTwilioMessage) b = parse_ok (bare, FALSE);

  g_assert_cmpint (m->sequence_number, ==, 0);
  g_assert_cmpstr (m->stream_sid, ==, SID);
  g_assert_cmpstr (m->account_sid, ==, ACCOUNT);
  g_assert_cmpstr (m->call_sid, ==, CALL);
  g_assert_true (g_strv_equal ((const char *const *) m->custom_parameter_names, names));
  g_assert_true (g_strv_equal ((const char *const *) m->custom_parameter_values, values));
  g_assert_cmpint (b->sequence_number, ==, -1);
  g_assert_nonnull (b->custom_parameter_names);
  g_assert_null (b->custom_parameter_names[0]);
  g_assert_null (strstr (bare, "sequenceNumber"));
}

static void
test_round_trip_other_inbound (void)
{
  g_autofree char *connected = gtr_twilio_build_connected ();
  g_autofree char *stop = gtr_twilio_build_stop (G_MAXINT64, SID, ACCOUNT, CALL);
  g_autofree char *echo = gtr_twilio_build_mark_echo (9, SID, awkward);
  g_autoptr (GtrTwilioMessage) c = parse_ok (connected, FALSE);
  g_autoptr (GtrTwilioMessage) s = parse_ok (stop, FALSE);
  g_autoptr (GtrTwilioMessage) e = parse_ok (echo, FALSE);

  g_assert_cmpint (c->type, ==, GTR_TWILIO_EVENT_CONNECTED);
  g_assert_cmpint (s->type, ==, GTR_TWILIO_EVENT_STOP);
  g_assert_cmpint (s->sequence_number, ==, G_MAXINT64);
  g_assert_cmpstr (s->account_sid, ==, ACCOUNT);
  g_assert_cmpstr (s->call_sid, ==, CALL);
  g_assert_cmpint (e->type, ==, GTR_TWILIO_EVENT_MARK);
  g_assert_cmpint (e->sequence_number, ==, 9);
  g_assert_cmpstr (e->name, ==, awkward);

  for (gint n = 0; n < 16; n++) {
    const char *digit = gtr_twilio_dtmf_number_to_digit (n);
    g_autofree char *text = gtr_twilio_build_dtmf (n, SID, digit);
    g_autoptr (GtrTwilioMessage) d = parse_ok (text, FALSE);

    g_assert_cmpint (d->type, ==, GTR_TWILIO_EVENT_DTMF);
    g_assert_cmpstr (d->digit, ==, digit);
    g_assert_cmpint (gtr_twilio_dtmf_digit_to_number (d->digit), ==, n);
  }
}

/* ------------------------------------------------------------------ */
/* Tolerance                                                           */

static void
test_numbers_and_extra_fields_accepted (void)
{
  g_autoptr (GtrTwilioMessage) media = parse_ok ("{\"event\":\"media\",\"sequenceNumber\":12,"
      "\"streamSid\":\"MZ1\",\"future\":{\"x\":[1]},\"media\":{\"chunk\":3,\"timestamp\":\"0\","
      "\"payload\":\"\",\"track\":\"inbound\",\"new\":true}}", FALSE);
  g_autoptr (GtrTwilioMessage) start = parse_ok ("{\"event\":\"start\",\"streamSid\":\"MZ1\","
      "\"start\":{\"streamSid\":\"MZ1\",\"accountSid\":\"AC1\",\"callSid\":\"CA1\","
      "\"customParameters\":{\"n\":42,\"t\":true,\"f\":false,\"d\":1.5,\"s\":\"x\"},"
      "\"mediaFormat\":{\"encoding\":\"audio/x-alaw\",\"sampleRate\":16000,\"channels\":2}}}", FALSE);
  g_autoptr (GtrTwilioMessage) stop = parse_ok ("{\"event\":\"stop\",\"streamSid\":\"MZ1\"}", FALSE);
  const char *const values[] = { "42", "true", "false", "1.5", "x", NULL };

  g_assert_cmpint (media->sequence_number, ==, 12);
  g_assert_cmpint (media->chunk, ==, 3);
  g_assert_cmpint (media->timestamp_ms, ==, 0);
  g_assert_cmpuint (g_bytes_get_size (media->payload), ==, 0);
  g_assert_true (g_strv_equal ((const char *const *) start->custom_parameter_values, values));
  g_assert_null (start->tracks);
  g_assert_cmpstr (start->encoding, ==, "audio/x-alaw");
  g_assert_cmpint (start->sample_rate, ==, 16000);
  g_assert_cmpint (start->channels, ==, 2);
  g_assert_null (stop->account_sid);
  g_assert_cmpint (stop->sequence_number, ==, -1);
}

/* A surrogate pair is one character outside the BMP and comes back as it. */
static void
test_surrogate_pair_accepted (void)
{
  g_autoptr (GtrTwilioMessage) stop = parse_ok ("{\"event\":\"stop\","
      "\"streamSid\":\"MZ\\ud83d\\ude00\"}", FALSE);

  g_assert_cmpstr (stop->stream_sid, ==, "MZ\xf0\x9f\x98\x80");
}

static void
test_oversize_limit_is_exact (void)
{
  const char *text = "{\"event\":\"connected\"}";
  gsize len = strlen (text);
  g_autoptr (GError) error = NULL;
  g_autoptr (GtrTwilioMessage) at_limit = gtr_twilio_message_parse (text, -1, len, NULL);
  g_autoptr (GtrTwilioMessage) no_limit = gtr_twilio_message_parse (text, len, 0, NULL);
  g_autoptr (GtrTwilioMessage) over = gtr_twilio_message_parse (text, -1, len - 1, &error);

  g_assert_nonnull (at_limit);
  g_assert_nonnull (no_limit);
  g_assert_null (over);
  g_assert_error (error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_OVERSIZE);
}

/* `len` bounds the text: what follows is never read. */
static void
test_explicit_length (void)
{
  const char *text = "{\"event\":\"clear\",\"streamSid\":\"MZ1\"}garbage";
  g_autoptr (GtrTwilioMessage) msg = gtr_twilio_outbound_parse (text,
      strlen (text) - strlen ("garbage"), 0, NULL);

  g_assert_nonnull (msg);
  g_assert_cmpint (msg->type, ==, GTR_TWILIO_EVENT_CLEAR);
}

/* json-glib's parser recurses once per level with no limit: deep nesting is
 * refused before it, even when it is valid JSON, and a megabyte of '['
 * (which would overflow the stack) is just NOT_JSON.  Brackets inside
 * strings, after an escaped quote, don't count. */
static void
test_nesting_depth (void)
{
  g_autofree char *open = g_strnfill (40, '[');
  g_autofree char *close = g_strnfill (40, ']');
  g_autofree char *deep = g_strconcat ("{\"event\":\"connected\",\"x\":", open, close, "}", NULL);
  g_autofree char *shallow = g_strconcat ("{\"event\":\"connected\",\"x\":[[[1]]]}", NULL);
  g_autofree char *in_string = g_strconcat ("{\"event\":\"connected\",\"x\":\"\\\"", open, "\"}", NULL);
  gsize huge_len = 1 << 20;
  g_autofree char *huge = g_strnfill (huge_len, '[');
  g_autoptr (GError) deep_error = NULL;
  g_autoptr (GError) huge_error = NULL;
  g_autoptr (GtrTwilioMessage) deep_msg = gtr_twilio_message_parse (deep, -1, 0, &deep_error);
  g_autoptr (GtrTwilioMessage) huge_msg = gtr_twilio_message_parse (huge, huge_len, 0, &huge_error);
  g_autoptr (GtrTwilioMessage) shallow_msg = parse_ok (shallow, FALSE);
  g_autoptr (GtrTwilioMessage) string_msg = parse_ok (in_string, FALSE);

  g_assert_null (deep_msg);
  g_assert_error (deep_error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_JSON);
  g_assert_null (huge_msg);
  g_assert_error (huge_error, GTR_PROTOCOL_ERROR, GTR_PROTOCOL_ERROR_NOT_JSON);
  g_assert_cmpint (shallow_msg->type, ==, GTR_TWILIO_EVENT_CONNECTED);
  g_assert_cmpint (string_msg->type, ==, GTR_TWILIO_EVENT_CONNECTED);
}

static void
test_dtmf_mapping (void)
{
  const char *const expected = "0123456789*#ABCD";
  const char *const invalid[] = { "", "E", "a", "55", "-", " ", "+", NULL };

  for (gint n = 0; n < 16; n++) {
    char digit[2] = { expected[n], '\0' };

    g_assert_cmpint (gtr_twilio_dtmf_digit_to_number (digit), ==, n);
    g_assert_cmpstr (gtr_twilio_dtmf_number_to_digit (n), ==, digit);
  }
  for (guint i = 0; invalid[i]; i++)
    g_assert_cmpint (gtr_twilio_dtmf_digit_to_number (invalid[i]), ==, -1);
  g_assert_cmpint (gtr_twilio_dtmf_digit_to_number (NULL), ==, -1);
  g_assert_null (gtr_twilio_dtmf_number_to_digit (-1));
  g_assert_null (gtr_twilio_dtmf_number_to_digit (16));
}

static void
test_event_type_names (void)
{
  g_assert_cmpstr (gtr_twilio_event_type_name (GTR_TWILIO_EVENT_CONNECTED), ==, "connected");
  g_assert_cmpstr (gtr_twilio_event_type_name (GTR_TWILIO_EVENT_START), ==, "start");
  g_assert_cmpstr (gtr_twilio_event_type_name (GTR_TWILIO_EVENT_MEDIA), ==, "media");
  g_assert_cmpstr (gtr_twilio_event_type_name (GTR_TWILIO_EVENT_DTMF), ==, "dtmf");
  g_assert_cmpstr (gtr_twilio_event_type_name (GTR_TWILIO_EVENT_MARK), ==, "mark");
  g_assert_cmpstr (gtr_twilio_event_type_name (GTR_TWILIO_EVENT_STOP), ==, "stop");
  g_assert_cmpstr (gtr_twilio_event_type_name (GTR_TWILIO_EVENT_CLEAR), ==, "clear");
}

/* ------------------------------------------------------------------ */
/* Malformed input                                                     */

typedef struct {
  const char *text;          /* NUL-terminated unless len is set */
  gboolean outbound;         /* through the strict parser */
  GtrProtocolError code;
  const char *field;         /* the error message begins with "<field>: " */
  gsize max_len;             /* 0: 65536 */
  gssize len;                /* 0: -1 (NUL-terminated) */
} Malformed;

#define MEDIA_HEAD "{\"event\":\"media\",\"streamSid\":\"MZ1\","
#define START_HEAD "{\"event\":\"start\",\"streamSid\":\"MZ1\",\"start\":{\"streamSid\":\"MZ1\"," \
  "\"accountSid\":\"AC1\",\"callSid\":\"CA1\","
#define FORMAT_OK "\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}"
#define FORMAT(rate, channels) "\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":" \
  rate ",\"channels\":" channels "}}}"

enum { IN = FALSE, OUT = TRUE };

static const Malformed malformed[] = {
  /* the text as a whole */
  { "{\"event\":\"connected\",\"protocol\":\"Call\"}", IN, GTR_PROTOCOL_ERROR_OVERSIZE, "message", 20 },
  { "{\"event\":\"clear\",\"streamSid\":\"MZ1\"}", OUT, GTR_PROTOCOL_ERROR_OVERSIZE, "message", 10 },
  { "", IN, GTR_PROTOCOL_ERROR_NOT_JSON, "message" },
  { "   ", IN, GTR_PROTOCOL_ERROR_NOT_JSON, "message" },
  { "hello", IN, GTR_PROTOCOL_ERROR_NOT_JSON, "message" },
  { "{\"event\":\"media\"", IN, GTR_PROTOCOL_ERROR_NOT_JSON, "message" },
  { "{\"event\":\"media\xff\xfe\",\"streamSid\":\"MZ1\"}", IN, GTR_PROTOCOL_ERROR_NOT_JSON, "message" },
  { "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":\"\xc3\"}}", OUT, GTR_PROTOCOL_ERROR_NOT_JSON, "message" },
  { "{\"event\":\"clear\",\"streamSid\":\"MZ1\"}\0x", IN, GTR_PROTOCOL_ERROR_NOT_JSON, "message", 0, 37 },
  { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    IN, GTR_PROTOCOL_ERROR_NOT_JSON, "message" },
  { "[{\"event\":\"media\"}]", IN, GTR_PROTOCOL_ERROR_NOT_OBJECT, "message" },
  { "\"media\"", IN, GTR_PROTOCOL_ERROR_NOT_OBJECT, "message" },
  { "42", IN, GTR_PROTOCOL_ERROR_NOT_OBJECT, "message" },
  { "null", OUT, GTR_PROTOCOL_ERROR_NOT_OBJECT, "message" },
  /* the event */
  { "{}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "event" },
  { "{\"event\":null,\"streamSid\":\"MZ1\"}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "event" },
  { "{\"event\":5}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "event" },
  { "{\"event\":[\"media\"]}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "event" },
  { "{\"event\":\"closed\",\"streamSid\":\"MZ1\"}", IN, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, "event" },
  { "{\"event\":\"clear\",\"streamSid\":\"MZ1\"}", IN, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, "event" },
  { "{\"event\":\"MEDIA\",\"streamSid\":\"MZ1\"}", IN, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, "event" },
  /* streamSid */
  { "{\"event\":\"media\",\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "streamSid" },
  { "{\"event\":\"stop\",\"sequenceNumber\":\"5\"}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "streamSid" },
  { "{\"event\":\"dtmf\",\"streamSid\":7,\"dtmf\":{\"digit\":\"1\"}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "streamSid" },
  /* media */
  { MEDIA_HEAD "\"media\":null}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "media" },
  { MEDIA_HEAD "\"media\":[]}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "media" },
  { MEDIA_HEAD "\"media\":{\"track\":\"inbound\"}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":null}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":5}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"ab!d\"}}", IN, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"abc\"}}", IN, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"a===\"}}", IN, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"ab=c\"}}", IN, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"AAAA\\nAAAA\"}}", IN, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"chunk\":\"abc\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "media.chunk" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"chunk\":[1]}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "media.chunk" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"chunk\":-2}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "media.chunk" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"timestamp\":\"-5\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "media.timestamp" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"timestamp\":\"99999999999999999999\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "media.timestamp" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"timestamp\":false}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "media.timestamp" },
  /* in range of gint64 ms, but not once made nanoseconds */
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"timestamp\":\"9223372036855\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "media.timestamp" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"timestamp\":9223372036854775807}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "media.timestamp" },
  { MEDIA_HEAD "\"media\":{\"payload\":\"////\",\"track\":1}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "media.track" },
  /* sequenceNumber */
  { MEDIA_HEAD "\"sequenceNumber\":\"abc\",\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "sequenceNumber" },
  { MEDIA_HEAD "\"sequenceNumber\":\"\",\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "sequenceNumber" },
  { MEDIA_HEAD "\"sequenceNumber\":\" 1\",\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "sequenceNumber" },
  { MEDIA_HEAD "\"sequenceNumber\":\"+1\",\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "sequenceNumber" },
  { MEDIA_HEAD "\"sequenceNumber\":-3,\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "sequenceNumber" },
  { MEDIA_HEAD "\"sequenceNumber\":1.5,\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "sequenceNumber" },
  { MEDIA_HEAD "\"sequenceNumber\":true,\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "sequenceNumber" },
  { MEDIA_HEAD "\"sequenceNumber\":{},\"media\":{\"payload\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "sequenceNumber" },
  /* start */
  { "{\"event\":\"start\",\"streamSid\":\"MZ1\"}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start" },
  { "{\"event\":\"start\",\"streamSid\":\"MZ1\",\"start\":{\"accountSid\":\"AC1\"}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start.streamSid" },
  { "{\"event\":\"start\",\"streamSid\":\"MZ1\",\"start\":{\"streamSid\":\"MZ2\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "start.streamSid" },
  { "{\"event\":\"start\",\"streamSid\":\"MZ1\",\"start\":{\"streamSid\":\"MZ1\",\"callSid\":\"CA1\"}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start.accountSid" },
  { "{\"event\":\"start\",\"streamSid\":\"MZ1\",\"start\":{\"streamSid\":\"MZ1\",\"accountSid\":5}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.accountSid" },
  { "{\"event\":\"start\",\"streamSid\":\"MZ1\",\"start\":{\"streamSid\":\"MZ1\",\"accountSid\":\"AC1\"}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start.callSid" },
  { START_HEAD "\"tracks\":\"inbound\"," FORMAT_OK "}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.tracks" },
  { START_HEAD "\"tracks\":[\"inbound\",1]," FORMAT_OK "}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.tracks[1]" },
  { START_HEAD "\"tracks\":[null]," FORMAT_OK "}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.tracks[0]" },
  { START_HEAD "\"customParameters\":[]," FORMAT_OK "}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.customParameters" },
  { START_HEAD "\"customParameters\":{\"a\":\"x\",\"who\":null}," FORMAT_OK "}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.customParameters.who" },
  /* json-glib would cut the string at an escaped NUL and hide what follows */
  { "{\"event\":\"media\",\"streamSid\":\"MZ1\",\"media\":{\"payload\":\"AAAA\\u0000!!!\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "message" },
  /* json-glib decodes a lone high surrogate into bytes that are not UTF-8
   * (ED A0 80) and drops the character after it: found by fuzz-twilio */
  { "{\"event\":\"stop\",\"streamSid\":\"MZ\\ud800X1\"}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "message" },
  /* the parse is walked for these only when the text holds such an escape:
   * upper-case hex digits are one */
  { "{\"event\":\"stop\",\"streamSid\":\"MZ\\uD800X1\"}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "message" },
  { "{\"event\":\"stop\",\"streamSid\":\"MZ\\uDbFfX1\"}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "message" },
  { "{\"event\":\"stop\",\"streamSid\":\"MZ1\",\"\\udbffx\":1}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "message" },
  { START_HEAD "\"customParameters\":{\"who\":[\"\\ud83d\\\\\"]}," FORMAT_OK "}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "message" },
  { "{\"event\":\"clear\",\"streamSid\":\"MZ\\ud800\\n\"}", OUT, GTR_PROTOCOL_ERROR_BAD_VALUE, "message" },
  { START_HEAD "\"customParameters\":{\"nested\":{\"b\":1}}," FORMAT_OK "}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.customParameters.nested" },
  { START_HEAD "\"tracks\":[]}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start.mediaFormat" },
  { START_HEAD "\"mediaFormat\":\"audio/x-mulaw\"}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.mediaFormat" },
  { START_HEAD "\"mediaFormat\":{\"sampleRate\":8000,\"channels\":1}}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start.mediaFormat.encoding" },
  { START_HEAD "\"mediaFormat\":{\"encoding\":null,\"sampleRate\":8000,\"channels\":1}}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start.mediaFormat.encoding" },
  { START_HEAD FORMAT ("\"8000\"", "1"), IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.mediaFormat.sampleRate" },
  { START_HEAD FORMAT ("0", "1"), IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "start.mediaFormat.sampleRate" },
  { START_HEAD FORMAT ("-8000", "1"), IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "start.mediaFormat.sampleRate" },
  { START_HEAD FORMAT ("8000", "\"1\""), IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "start.mediaFormat.channels" },
  { START_HEAD FORMAT ("8000", "1.5"), IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "start.mediaFormat.channels" },
  { START_HEAD FORMAT ("8000", "null"), IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "start.mediaFormat.channels" },
  { START_HEAD FORMAT ("8000", "99999999999"), IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "start.mediaFormat.channels" },
  /* dtmf, mark, stop */
  { "{\"event\":\"dtmf\",\"streamSid\":\"MZ1\"}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "dtmf" },
  { "{\"event\":\"dtmf\",\"streamSid\":\"MZ1\",\"dtmf\":{\"track\":\"inbound_track\"}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "dtmf.digit" },
  { "{\"event\":\"dtmf\",\"streamSid\":\"MZ1\",\"dtmf\":{\"digit\":5}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "dtmf.digit" },
  { "{\"event\":\"dtmf\",\"streamSid\":\"MZ1\",\"dtmf\":{\"digit\":\"55\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "dtmf.digit" },
  { "{\"event\":\"dtmf\",\"streamSid\":\"MZ1\",\"dtmf\":{\"digit\":\"x\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "dtmf.digit" },
  { "{\"event\":\"dtmf\",\"streamSid\":\"MZ1\",\"dtmf\":{\"digit\":\"\"}}", IN, GTR_PROTOCOL_ERROR_BAD_VALUE, "dtmf.digit" },
  { "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{}}", IN, GTR_PROTOCOL_ERROR_MISSING_FIELD, "mark.name" },
  { "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":{\"a\":null}}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "mark.name" },
  { "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":\"m1\"}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "mark" },
  { "{\"event\":\"stop\",\"streamSid\":\"MZ1\",\"stop\":[]}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "stop" },
  { "{\"event\":\"stop\",\"streamSid\":\"MZ1\",\"stop\":{\"callSid\":5}}", IN, GTR_PROTOCOL_ERROR_BAD_TYPE, "stop.callSid" },
  /* strict: what an app sends to Twilio */
  { "{\"event\":\"start\",\"streamSid\":\"MZ1\"}", OUT, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, "event" },
  { "{\"event\":\"connected\"}", OUT, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, "event" },
  { "{\"event\":\"dtmf\",\"streamSid\":\"MZ1\",\"dtmf\":{\"digit\":\"1\"}}", OUT, GTR_PROTOCOL_ERROR_UNKNOWN_EVENT, "event" },
  { "{\"event\":\"media\",\"streamSid\":\"MZ1\",\"sequenceNumber\":\"1\",\"media\":{\"payload\":\"\"}}", OUT, GTR_PROTOCOL_ERROR_UNKNOWN_FIELD, "sequenceNumber" },
  { "{\"event\":\"media\",\"streamSid\":\"MZ1\",\"media\":{\"payload\":\"\",\"track\":\"outbound\"}}", OUT, GTR_PROTOCOL_ERROR_UNKNOWN_FIELD, "media.track" },
  { "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":{\"name\":\"m\",\"at\":1}}", OUT, GTR_PROTOCOL_ERROR_UNKNOWN_FIELD, "mark.at" },
  { "{\"event\":\"clear\",\"streamSid\":\"MZ1\",\"clear\":{}}", OUT, GTR_PROTOCOL_ERROR_UNKNOWN_FIELD, "clear" },
  { "{\"event\":\"media\",\"media\":{\"payload\":\"\"}}", OUT, GTR_PROTOCOL_ERROR_MISSING_FIELD, "streamSid" },
  { "{\"event\":\"clear\",\"streamSid\":\"\"}", OUT, GTR_PROTOCOL_ERROR_BAD_VALUE, "streamSid" },
  { "{\"event\":\"mark\",\"streamSid\":\"MZ1\",\"mark\":null}", OUT, GTR_PROTOCOL_ERROR_MISSING_FIELD, "mark" },
  { "{\"event\":\"media\",\"streamSid\":\"MZ1\",\"media\":{\"payload\":\"__8-\"}}", OUT, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
  { "{\"event\":\"media\",\"streamSid\":\"MZ1\",\"media\":{\"payload\":\"//// ////\"}}", OUT, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
  { "{\"event\":\"media\",\"streamSid\":\"MZ1\",\"media\":{\"payload\":\"\\u00ff\\u00d8\\u00ff\\u00e0\"}}", OUT, GTR_PROTOCOL_ERROR_BAD_BASE64, "media.payload" },
};

static GtrTwilioMessage *
parse_malformed (const Malformed *m, GError **error)
{
  gsize max_len = m->max_len ? m->max_len : 65536;
  gssize len = m->len ? m->len : -1;

  return m->outbound
      ? gtr_twilio_outbound_parse (m->text, len, max_len, error)
      : gtr_twilio_message_parse (m->text, len, max_len, error);
}

static void
test_malformed (gconstpointer data)
{
  const Malformed *m = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GtrTwilioMessage) msg = parse_malformed (m, &error);
  g_autofree char *prefix = g_strconcat (m->field, ": ", NULL);

  g_assert_null (msg);
  g_assert_nonnull (error);
  if (error->domain != GTR_PROTOCOL_ERROR || error->code != (gint) m->code)
    g_error ("%s: got %s (%s), expected %s", m->text,
        gtr_protocol_error_code_name (error->code), error->message,
        gtr_protocol_error_code_name (m->code));
  if (!g_str_has_prefix (error->message, prefix))
    g_error ("%s: message \"%s\" does not begin with \"%s\"", m->text,
        error->message, prefix);
}

/* A NULL GError** is allowed and nothing leaks or crashes. */
static void
test_malformed_without_gerror (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    g_assert_null (parse_malformed (&malformed[i], NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/twilio/samples/inbound", test_inbound_samples);
  g_test_add_func ("/twilio/samples/inbound-not-outbound", test_inbound_samples_are_not_outbound);
  g_test_add_func ("/twilio/samples/outbound", test_outbound_samples);
  g_test_add_func ("/twilio/build/outbound-exact", test_outbound_builders_match_samples);
  g_test_add_func ("/twilio/build/inbound-exact", test_inbound_builders_match_samples);
  g_test_add_func ("/twilio/round-trip/media", test_round_trip_media);
  g_test_add_func ("/twilio/round-trip/mark-clear", test_round_trip_mark_clear);
  g_test_add_func ("/twilio/round-trip/start", test_round_trip_start);
  g_test_add_func ("/twilio/round-trip/other-inbound", test_round_trip_other_inbound);
  g_test_add_func ("/twilio/tolerant/numbers-and-extra-fields", test_numbers_and_extra_fields_accepted);
  g_test_add_func ("/twilio/tolerant/surrogate-pair", test_surrogate_pair_accepted);
  g_test_add_func ("/twilio/oversize-limit", test_oversize_limit_is_exact);
  g_test_add_func ("/twilio/explicit-length", test_explicit_length);
  g_test_add_func ("/twilio/nesting-depth", test_nesting_depth);
  g_test_add_func ("/twilio/dtmf-mapping", test_dtmf_mapping);
  g_test_add_func ("/twilio/event-type-names", test_event_type_names);
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++) {
    g_autofree char *name = g_strdup_printf ("/twilio/malformed/%02u-%s", i,
        gtr_protocol_error_code_name (malformed[i].code));

    g_test_add_data_func (name, &malformed[i], test_malformed);
  }
  g_test_add_func ("/twilio/malformed/without-gerror", test_malformed_without_gerror);
  return g_test_run ();
}
