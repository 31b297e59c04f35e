/* twiliosrc under a stream of mutated Twilio conversations.
 *
 * Each round is one call to a standalone `twiliosrc port=0` in a GstHarness,
 * from a real libsoup WebSocket client on 127.0.0.1: a valid call (connected,
 * start, media, dtmf, marks, maybe stop) from the protocol builders and
 * tests/data/inbound-messages.jsonl, mutated (see fuzz-common.h), then — if
 * the call is still on — a known media message.  What a user sees must be
 * one of three things: the known payload comes out byte for byte; the call
 * ended with EOS and a twilio/stop message; or a `start` with another media
 * format was a STREAM/FORMAT error.  No crash, no critical (gst-check makes
 * them fatal), and the element goes back to NULL and serves the next round
 * (mostly the same element, READY→PLAYING again; sometimes a new one). */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <string.h>

#include "fuzz-common.h"
#include "gtr-events.h"
#include "gtr-netloop.h"
#include "gtr-protocol.h"
#include "twilio-test-client.h"

#define SID TEST_STREAM_SID
#define OTHER_SID "MZ00000000000000000000000000000002"
#define SOUP_PAYLOAD_FACTOR 16   /* as in gsttwiliosrc.c: frames beyond close the socket */

/* One element, kept from round to round. */
typedef struct {
  GstHarness *h;
  GstBus *bus;
  guint calls;
} Src;

/* A round: its frames and what the user has seen so far. */
typedef struct {
  GRand *rand;
  guint max_message_size;
  GPtrArray *frames;        /* FuzzFrame */
  guint counted;            /* frames the element should count (reach its handler) */
  gboolean hung_up;         /* the peer ended the connection itself */
  gboolean abandon;         /* the pipeline stops while frames still arrive */
  gboolean pause;           /* PAUSED while they arrive, PLAYING again before the known one */
  TestClient *client;
  guint8 known[160];        /* the payload that must come out */
  /* seen */
  char *start_sid;
  char *stop_reason;
  gboolean eos;
  GError *error;
  gboolean payload;
} Round;

typedef struct {
  guint payload, ended, format_error, abandoned, not_started;
} Outcomes;

static char **templates;    /* inbound-messages.jsonl and the Twilio corpus */

/* ------------------------------------------------------------------------ */
/* The element                                                              */

static Src *
src_new (void)
{
  Src *src = g_new0 (Src, 1);

  src->h = gst_harness_new ("twiliosrc");
  src->bus = gst_bus_new ();
  gst_element_set_bus (src->h->element, src->bus);
  return src;
}

static void
drain_harness (Src *src)
{
  GstBuffer *buffer;
  GstEvent *event;

  while ((buffer = gst_harness_try_pull (src->h)))
    gst_buffer_unref (buffer);
  while ((event = gst_harness_try_pull_event (src->h)))
    gst_event_unref (event);
  gst_bus_set_flushing (src->bus, TRUE);
  gst_bus_set_flushing (src->bus, FALSE);
}

static void
src_free (Src *src)
{
  gst_harness_teardown (src->h);
  gst_bus_set_flushing (src->bus, TRUE);
  gst_object_unref (src->bus);
  g_free (src);
}

/* NULL → READY → PLAYING: returns the bound port. */
static guint
src_listen (Src *src, guint max_message_size)
{
  gint port = 0;

  g_object_set (src->h->element, "port", 0, "max-message-size", max_message_size, NULL);
  fail_unless_equals_int (gst_element_set_state (src->h->element, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  g_object_get (src->h->element, "port", &port, NULL);
  fail_unless (port > 0);
  gst_harness_play (src->h);
  return (guint) port;
}

static void
src_stop (Src *src)
{
  fail_unless_equals_int (gst_element_set_state (src->h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  drain_harness (src);
  src->calls++;
}

static guint64
stat (Src *src, const char *field)
{
  GstStructure *stats;
  guint64 value = 0;

  g_object_get (src->h->element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, field, &value), "no stats field %s", field);
  gst_structure_free (stats);
  return value;
}

/* ------------------------------------------------------------------------ */
/* Twilio's messages                                                        */

/* Custom parameters come from the TwiML verbatim: any name, any text. */
static const char *const param_names[] = { "caller", "lang", "", "a b", "é", "{x}",
  "stream-sid", "0", "x",
};

static char *
build_start (GRand *rand, const char *sid)
{
  gboolean odd = fuzz_chance (rand, 0.2);
  const char *const names[] = { "caller", "lang",
    odd ? param_names[fuzz_pick (rand, G_N_ELEMENTS (param_names))] : NULL, NULL };
  const char *const values[] = { "+15550100", "fr", "{caller}", NULL };

  return gtr_twilio_build_start (1, sid, TEST_ACCOUNT_SID, TEST_CALL_SID, names, values);
}

static char *
build_media (GRand *rand, const char *sid, gint64 chunk, gint64 timestamp_ms)
{
  static const gsize sizes[] = { 0, 1, 80, 160, 160, 160, 320, 4000, 40000 };
  gsize len = sizes[fuzz_pick (rand, G_N_ELEMENTS (sizes))];
  g_autoptr (GBytes) audio = fuzz_random_bytes (rand, len);

  return gtr_twilio_build_inbound_media (chunk < G_MAXINT64 ? chunk + 1 : 1, sid,
      chunk, timestamp_ms, g_bytes_get_data (audio, NULL), len);
}

static void
add_text (Round *r, char *text, const char *label)
{
  g_ptr_array_add (r->frames, fuzz_frame_text (text, label));
}

/* A plausible call: what Twilio sends, in Twilio's order. */
static void
valid_call (Round *r)
{
  GRand *rand = r->rand;
  guint media = (guint) fuzz_pick (rand, 6);

  if (fuzz_chance (rand, 0.8))
    add_text (r, gtr_twilio_build_connected (), "connected");
  add_text (r, build_start (rand, SID), "start");
  for (guint i = 1; i <= media; i++) {
    add_text (r, build_media (rand, SID, i, (i - 1) * 20), "media");
    if (fuzz_chance (rand, 0.15))
      add_text (r, gtr_twilio_build_dtmf (i + 100, SID,
              gtr_twilio_dtmf_number_to_digit (fuzz_pick (rand, 16))), "dtmf");
    if (fuzz_chance (rand, 0.15))
      add_text (r, gtr_twilio_build_mark_echo (i + 200, SID, "item_1:100"), "mark");
  }
  if (fuzz_chance (rand, 0.12))
    add_text (r, gtr_twilio_build_stop (99, SID, TEST_ACCOUNT_SID, TEST_CALL_SID), "stop");
}

/* Something Twilio would not send, inserted somewhere. */
static FuzzFrame *
odd_message (Round *r)
{
  GRand *rand = r->rand;
  guint max = r->max_message_size;

  switch (fuzz_pick (rand, 12)) {
    case 0: {
      g_autoptr (GBytes) bytes = fuzz_random_bytes (rand, fuzz_pick (rand, 64));
      return fuzz_frame_new (FUZZ_FRAME_BINARY, g_steal_pointer (&bytes), "binary");
    }
    case 1:
      return fuzz_frame_text (g_strdup_printf ("{\"event\":\"%s\",\"streamSid\":\"" SID "\"}",
              fuzz_chance (rand, 0.5) ? "clear" : "hello"), "unknown-event");
    case 2:
      return fuzz_frame_text (build_start (rand, fuzz_chance (rand, 0.5) ? SID : OTHER_SID),
          "second-start");
    case 3:
      return fuzz_frame_text (build_media (rand, SID, fuzz_pick (rand, 3), 0), "chunk-back");
    case 4: {
      static const gint64 near_max[] = { G_MAXINT64, G_MAXINT64 - 1, G_MAXINT64 / 1000000 + 1,
        G_MAXINT64 - 20 };
      gint64 t = near_max[fuzz_pick (rand, G_N_ELEMENTS (near_max))];
      return fuzz_frame_text (build_media (rand, SID, fuzz_chance (rand, 0.5) ? 5 : t, t),
          "timestamp-max");
    }
    case 5:
      return fuzz_frame_text (build_media (rand, OTHER_SID, 3, 40), "other-sid");
    case 6: {
      /* a mark frame at the parser's limit, one side or the other */
      gsize size = max - 1 + (gsize) fuzz_pick (rand, 3);
      g_autofree char *mark = gtr_twilio_build_mark_echo (7, SID, "m");
      return fuzz_frame_text (fuzz_pad_json (mark, size), size > max ? "over-limit" : "at-limit");
    }
    case 7: {
      /* at libsoup's limit: one byte more and it closes the socket */
      gsize limit = MAX ((gsize) max * SOUP_PAYLOAD_FACTOR, 128 * 1024);
      gsize size = limit + (fuzz_chance (rand, 0.5) ? 0 : 1);
      g_autofree char *mark = gtr_twilio_build_mark_echo (7, SID, "m");
      return fuzz_frame_text (fuzz_pad_json (mark, size), size > limit ? "soup-over" : "soup-at");
    }
    case 8:
      return fuzz_frame_new (FUZZ_FRAME_CLOSE, NULL, "hang-up");
    case 9:
      return fuzz_frame_text (gtr_twilio_build_stop (98, SID, TEST_ACCOUNT_SID, TEST_CALL_SID),
          "stop");
    case 10:
      return fuzz_frame_text (g_strdup_printf ("{\"event\":\"media\",\"streamSid\":\"" SID
              "\",\"media\":{\"chunk\":\"%d\",\"timestamp\":\"20\",\"payload\":\"\"}}",
              fuzz_pick (rand, 9)), "empty-payload");
    default:
      if (templates && templates[0])
        return fuzz_frame_text (g_strdup (templates[fuzz_pick (rand,
                        (gint) g_strv_length (templates))]), "template");
      return fuzz_frame_text (gtr_twilio_build_connected (), "connected");
  }
}

/* Mutate one frame's JSON in place (value or text). */
static void
mutate_frame (Round *r, guint i)
{
  FuzzFrame *frame = r->frames->pdata[i];
  g_autofree char *text = NULL;
  g_autoptr (GString) label = NULL;
  char *mutated;

  if (frame->kind != FUZZ_FRAME_TEXT)
    return;
  text = g_strndup (g_bytes_get_data (frame->data, NULL), g_bytes_get_size (frame->data));
  if (fuzz_chance (r->rand, 0.3)) {
    r->frames->pdata[i] = fuzz_mutate_text (r->rand, text);
    fuzz_frame_free (frame);
    return;
  }
  label = g_string_new (frame->label);
  g_string_append_c (label, '~');
  mutated = fuzz_mutate_json_value (r->rand, text, label);
  if (!mutated)
    return;
  r->frames->pdata[i] = fuzz_frame_text (mutated, label->str);
  fuzz_frame_free (frame);
}

/* Frames after one that ends the connection never leave. */
static void
cut_after_end (Round *r)
{
  guint soup_limit = MAX (r->max_message_size * SOUP_PAYLOAD_FACTOR, 128 * 1024);

  for (guint i = 0; i < r->frames->len; i++) {
    FuzzFrame *frame = r->frames->pdata[i];
    gboolean too_big = frame->data && g_bytes_get_size (frame->data) > soup_limit;

    if (fuzz_frame_ends_connection (frame) || too_big) {
      g_ptr_array_set_size (r->frames, i + 1);
      r->hung_up = TRUE;
      return;
    }
    r->counted++;
  }
}

static void
build_sequence (Round *r)
{
  GRand *rand = r->rand;
  guint inserts = (guint) fuzz_pick (rand, 4), shuffles = (guint) fuzz_pick (rand, 3);

  valid_call (r);
  for (guint i = 0; i < inserts; i++)
    g_ptr_array_insert (r->frames, fuzz_pick (rand, (gint) r->frames->len + 1),
        odd_message (r));
  for (guint i = 0; i < r->frames->len; i++)
    if (fuzz_chance (rand, 0.25))
      mutate_frame (r, i);
  for (guint i = 0; i < shuffles; i++)
    fuzz_shuffle_frames (rand, r->frames);
  cut_after_end (r);
}

/* ------------------------------------------------------------------------ */
/* Watching                                                                 */

static void
note_message (Round *r, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && !r->error) {
    gst_message_parse_error (msg, &r->error, NULL);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s) {
    if (gst_structure_has_name (s, GTR_MESSAGE_START) && !r->start_sid)
      r->start_sid = g_strdup (gst_structure_get_string (s, "stream-sid"));
    else if (gst_structure_has_name (s, GTR_MESSAGE_STOP) && !r->stop_reason)
      r->stop_reason = g_strdup (gst_structure_get_string (s, "reason"));
  }
}

/* Take in everything the element has put out so far. */
static void
observe (Src *src, Round *r)
{
  GstBuffer *buffer;
  GstEvent *event;
  GstMessage *msg;

  while ((msg = gst_bus_pop (src->bus))) {
    note_message (r, msg);
    gst_message_unref (msg);
  }
  while ((event = gst_harness_try_pull_event (src->h))) {
    r->eos |= GST_EVENT_TYPE (event) == GST_EVENT_EOS;
    gst_event_unref (event);
  }
  while ((buffer = gst_harness_try_pull (src->h))) {
    fail_unless (gst_buffer_get_size (buffer) > 0, "an empty buffer came out");
    r->payload |= gst_buffer_get_size (buffer) == sizeof r->known
        && gst_buffer_memcmp (buffer, 0, r->known, sizeof r->known) == 0;
    gst_buffer_unref (buffer);
  }
  test_client_pump (r->client, 2);
}

static gboolean
net_barrier (gpointer unused)
{
  return G_SOURCE_REMOVE;
}

/* Until the element has handled every frame sent so far (or the call is
 * over): its `frames` counter, then one turn of its network thread so the
 * last frame's handler has returned (bus messages posted). */
static void
wait_handled (Src *src, Round *r, guint sent)
{
  gint64 deadline = g_get_monotonic_time () + fuzz_wait_ms () * G_TIME_SPAN_MILLISECOND;

  while (stat (src, "frames") < sent && !r->client->closed && !r->eos) {
    fail_unless (g_get_monotonic_time () < deadline,
        "twiliosrc handled %" G_GUINT64_FORMAT " of %u frames", stat (src, "frames"), sent);
    observe (src, r);
  }
  gtr_netloop_run_sync (NULL, net_barrier, NULL);
  observe (src, r);
}

/* libsoup attaches the source that writes the rest of a frame the socket
 * did not take at once to the thread-default context of the moment: it
 * must be the client's, or a large frame never leaves. */
static void
client_send (Round *r, const FuzzFrame *frame)
{
  g_main_context_push_thread_default (r->client->context);
  fuzz_frame_send (r->client->conn, frame, TRUE);
  g_main_context_pop_thread_default (r->client->context);
  test_client_pump (r->client, 0);
}

static void
client_send_text (Round *r, char *text)
{
  FuzzFrame *frame = fuzz_frame_text (text, "known");

  client_send (r, frame);
  fuzz_frame_free (frame);
}

static guint
send_frames (Src *src, Round *r)
{
  guint sent = 0;

  for (guint i = 0; i < r->frames->len; i++) {
    FuzzFrame *frame = r->frames->pdata[i];

    /* Raw frames go straight to the socket: libsoup must have written all
     * before, which it has once the element has received it. */
    if (frame->kind == FUZZ_FRAME_INVALID_UTF8)
      wait_handled (src, r, sent);
    client_send (r, frame);
    if (frame->kind == FUZZ_FRAME_TEXT || frame->kind == FUZZ_FRAME_BINARY)
      sent++;
  }
  return MIN (sent, r->counted);
}

/* ------------------------------------------------------------------------ */
/* Outcomes                                                                 */

static gboolean
is_format_error (const GError *error)
{
  return g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT)
      && g_str_has_prefix (error->message, "Twilio's stream format is ")
      && !strstr (error->message, "is audio/x-mulaw, 8000 Hz, 1 channel(s)");
}

static void
fail_round (Round *r, const char *why)
{
  g_autofree char *frames = fuzz_frames_describe (r->frames, 2000);

  fail ("%s; frames: %s; seen: start %s, stop %s, eos %d, error %s", why, frames,
      r->start_sid, r->stop_reason, r->eos, r->error ? r->error->message : "none");
}

typedef enum { EXPECT_PAYLOAD, EXPECT_END } Expect;

/* Wait for what a user must see. */
static void
wait_outcome (Src *src, Round *r, Expect expect, Outcomes *outcomes)
{
  gint64 deadline = g_get_monotonic_time () + fuzz_wait_ms () * G_TIME_SPAN_MILLISECOND;

  for (;;) {
    observe (src, r);
    if (r->error) {
      if (!is_format_error (r->error))
        fail_round (r, "an element error other than a refused media format");
      outcomes->format_error++;
      return;
    }
    if (expect == EXPECT_PAYLOAD && r->payload) {
      outcomes->payload++;
      return;
    }
    /* A standalone element's call is the connection that sent `start`: one
     * that closed before it was never the call, and the element waits for
     * the next connection without an EOS. */
    if (expect == EXPECT_END && !r->eos && stat (src, "closed-before-start") > 0) {
      outcomes->not_started++;
      return;
    }
    if (r->eos && r->stop_reason) {
      if (expect == EXPECT_PAYLOAD)
        fail_round (r, "the call ended although nothing ended it");
      if (!r->hung_up && !g_str_equal (r->stop_reason, "stop"))
        fail_round (r, "twilio/stop is not 'stop' although the peer did not hang up");
      outcomes->ended++;
      return;
    }
    if (g_get_monotonic_time () > deadline)
      fail_round (r, expect == EXPECT_PAYLOAD ? "the known payload did not come out"
          : "the call did not end with EOS and twilio/stop");
  }
}

/* After the sequence: a valid start (a second one, if one was accepted) and
 * the known media, for the stream the element accepted.  FALSE when no such
 * media fits in max-message-size (an accepted streamSid can be long): the
 * round then hangs up instead. */
static gboolean
send_known (Round *r)
{
  const char *sid = r->start_sid ? r->start_sid : SID;
  char *media;

  if (!r->start_sid || fuzz_chance (r->rand, 0.3))
    client_send_text (r, build_start (r->rand, SID));
  for (gsize i = 0; i < sizeof r->known; i++)
    r->known[i] = (guint8) g_rand_int (r->rand);
  media = gtr_twilio_build_inbound_media (500, sid, g_rand_int_range (r->rand, 1, 1000),
      g_rand_int_range (r->rand, 0, 100000), r->known, sizeof r->known);
  if (strlen (media) > r->max_message_size) {
    g_free (media);
    FuzzFrame *close = fuzz_frame_new (FUZZ_FRAME_CLOSE, NULL, "hang-up");

    client_send (r, close);
    fuzz_frame_free (close);
    r->hung_up = TRUE;
    return FALSE;
  }
  client_send_text (r, media);
  return TRUE;
}

static void
round_clear (Round *r)
{
  g_ptr_array_unref (r->frames);
  g_free (r->start_sid);
  g_free (r->stop_reason);
  g_clear_error (&r->error);
  if (r->client)
    test_client_free (r->client);
}

/* One call of a prepared round, judged. */
static void
play_round (FuzzRun *run, Round *r, Src *src, Outcomes *outcomes)
{
  g_autofree char *described = fuzz_frames_describe (r->frames, 400);
  guint port, sent;

  g_print ("%s round %u (call %u of this element, max-message-size %u)%s%s: %s\n",
      run->name, run->round, src->calls + 1, r->max_message_size,
      r->abandon ? ", stopped mid-call" : "", r->pause ? ", paused a while" : "", described);
  port = src_listen (src, r->max_message_size);
  r->client = test_client_connect (port, "/media", NULL);
  fail_unless_equals_int (r->client->status, 101);
  if (r->pause)
    fail_unless (gst_element_set_state (src->h->element, GST_STATE_PAUSED)
        != GST_STATE_CHANGE_FAILURE);
  sent = send_frames (src, r);
  if (r->pause) {
    /* what arrived meanwhile waits in the element; EOS too */
    wait_handled (src, r, sent);
    gst_harness_play (src->h);
  }
  run->messages += r->frames->len;
  if (r->abandon) {
    src_stop (src);
    outcomes->abandoned++;
    round_clear (r);
    return;
  }
  wait_handled (src, r, sent);

  if (r->client->closed || r->eos || r->stop_reason || r->hung_up || r->error) {
    wait_outcome (src, r, EXPECT_END, outcomes);
  } else {
    /* every frame reached the element, and was counted once */
    if (stat (src, "frames") != sent)
      fail_round (r, "'frames' does not count the frames sent");
    run->messages += 2;
    wait_outcome (src, r, send_known (r) ? EXPECT_PAYLOAD : EXPECT_END, outcomes);
  }
  round_clear (r);
  src_stop (src);
}

static gpointer
make_src (gpointer unused)
{
  return src_new ();
}

static void
run_round (FuzzRun *run, GRand *rand, gpointer element, gpointer data)
{
  Src *src = element;
  Outcomes *outcomes = data;
  static const guint sizes[] = { 1024, 4096, 65536, 65536, 65536, 200000 };
  Round r = { rand };

  r.max_message_size = sizes[fuzz_pick (rand, G_N_ELEMENTS (sizes))];
  r.abandon = fuzz_chance (rand, 0.08);
  r.pause = !r.abandon && fuzz_chance (rand, 0.1);
  r.frames = g_ptr_array_new_with_free_func ((GDestroyNotify) fuzz_frame_free);
  build_sequence (&r);
  play_round (run, &r, src, outcomes);
}

/* Rounds that found defects, kept as they are: they run every time, in
 * every build, whatever the random rounds happen to draw. */
#define START "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"" SID \
  "\",\"start\":{\"streamSid\":\"" SID "\",\"accountSid\":\"AC1\",\"callSid\":" \
  "\"CA1\",\"tracks\":[\"inbound\"],\"customParameters\":{},\"mediaFormat\":" \
  "{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}}}"
#define MEDIA(fields) "{\"event\":\"media\",\"streamSid\":\"" SID "\",\"media\":{" \
  fields "\"payload\":\"AAAAAAAA\"}}"

typedef struct {
  const char *name;
  const char *frames[4];
} Pinned;

static const Pinned pinned[] = {
  /* gst_buffer_new_wrapped_bytes asserted on the empty GBytes (fixed) */
  {"empty payload", {START, "{\"event\":\"media\",\"streamSid\":\"" SID
          "\",\"media\":{\"chunk\":\"1\",\"timestamp\":\"0\",\"payload\":\"\"}}"}},
  /* timestamp_ms * GST_MSECOND: signed overflow (UBSan) */
  {"timestamp over 2^63 ns", {START, MEDIA ("\"timestamp\":\"9223372036855\",")}},
  /* last_chunk + 1: signed overflow (UBSan) */
  {"chunk 2^63-1, then another", {START, MEDIA ("\"chunk\":\"9223372036854775807\","),
          MEDIA ("\"chunk\":\"1\",")}},
  /* next_timestamp_ms wraps, then a media without timestamp uses it */
  {"timestamp 2^63-1, then none", {START, MEDIA ("\"timestamp\":\"9223372036854775807\","),
          MEDIA ("")}},
  /* next_timestamp_ms = 2^63-1 + 1 ms (9 bytes) wraps negative; the next
   * media without a timestamp is stamped from it */
  {"timestamp 2^63-2, 9 bytes, then none", {START, "{\"event\":\"media\",\"streamSid\":\""
          SID "\",\"media\":{\"timestamp\":\"9223372036854775806\",\"payload\":"
          "\"AAAAAAAAAAAA\"}}", MEDIA ("")}},
};

GST_START_TEST (test_twiliosrc_pinned)
{
  const Pinned *p = &pinned[__i__];
  Round r = { g_rand_new_with_seed (__i__), 65536 };
  FuzzRun run = { "twiliosrc-pinned" };
  Outcomes outcomes = { 0 };
  Src *src = src_new ();

  g_print ("twiliosrc-pinned: %s\n", p->name);
  r.frames = g_ptr_array_new_with_free_func ((GDestroyNotify) fuzz_frame_free);
  for (guint i = 0; i < G_N_ELEMENTS (p->frames) && p->frames[i]; i++)
    g_ptr_array_add (r.frames, fuzz_frame_text (g_strdup (p->frames[i]), "pinned"));
  r.counted = r.frames->len;
  play_round (&run, &r, src, &outcomes);
  fail_unless_equals_int (outcomes.payload, 1);
  g_rand_free (r.rand);
  src_free (src);
}
GST_END_TEST;

GST_START_TEST (test_twiliosrc_fuzz)
{
  g_autofree char *jsonl = g_build_filename (g_getenv ("GTR_TESTS_DATA"),
      "inbound-messages.jsonl", NULL);
  g_auto (GStrv) lines = fuzz_load_lines (jsonl);
  g_auto (GStrv) corpus = fuzz_load_corpus ("twilio", "inbound-");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  Outcomes outcomes = { 0 };
  g_autofree char *summary = NULL;
  FuzzRounds rounds = { make_src, (void (*)(gpointer)) src_free, run_round, &outcomes };
  FuzzRun run;

  fail_unless (lines != NULL, "no %s", jsonl);
  g_strv_builder_addv (builder, (const char **) lines);
  if (corpus)
    g_strv_builder_addv (builder, (const char **) corpus);
  templates = g_strv_builder_end (builder);

  fuzz_run_init (&run, "twiliosrc-fuzz");
  fuzz_run_rounds (&run, &rounds);
  summary = g_strdup_printf ("%u known payloads out, %u calls ended, %u connections "
      "closed before start, %u format errors, %u stopped mid-call", outcomes.payload,
      outcomes.ended, outcomes.not_started, outcomes.format_error, outcomes.abandoned);
  fuzz_run_report (&run, summary);
  fail_unless (run.rounds > 0);
  g_strfreev (templates);
  templates = NULL;
}
GST_END_TEST;

static Suite *
twiliosrc_fuzz_suite (void)
{
  Suite *s = suite_create ("twiliosrc-fuzz");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, fuzz_check_timeout ());
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_twiliosrc_pinned, 0, G_N_ELEMENTS (pinned));
  tcase_add_test (tc, test_twiliosrc_fuzz);
  return s;
}

GST_CHECK_MAIN (twiliosrc_fuzz);
