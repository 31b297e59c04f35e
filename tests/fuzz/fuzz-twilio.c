/* libFuzzer target: the Twilio Media Streams parsers.
 *
 * Any input goes through the tolerant (inbound) and the strict (outbound)
 * parser, with and without a size limit.  What parses is rebuilt with the
 * matching builder and parsed again: the fields the builder carries must
 * come back unchanged, or the target aborts. */
#include "gtr-protocol.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond) \
  G_STMT_START { if (!(cond)) g_error ("round trip: %s", #cond); } G_STMT_END

static const char *
or_empty (const char *s)
{
  return s ? s : "";
}

static gboolean
same_bytes (GBytes *a, GBytes *b)
{
  return a != NULL && b != NULL && g_bytes_equal (a, b);
}

static gboolean
same_strv (char **a, char **b)
{
  if (a == NULL || b == NULL)
    return (a == NULL || a[0] == NULL) && (b == NULL || b[0] == NULL);
  return g_strv_equal ((const char *const *) a, (const char *const *) b);
}

/* The message the builders make from `m`, Twilio's side. */
static char *
rebuild_inbound (const GtrTwilioMessage *m)
{
  gsize len = 0;
  const guint8 *audio = m->payload ? g_bytes_get_data (m->payload, &len) : NULL;

  switch (m->type) {
    case GTR_TWILIO_EVENT_CONNECTED:
      return gtr_twilio_build_connected ();
    case GTR_TWILIO_EVENT_START:
      return gtr_twilio_build_start (m->sequence_number, m->stream_sid,
          m->account_sid, m->call_sid,
          (const char *const *) m->custom_parameter_names,
          (const char *const *) m->custom_parameter_values);
    case GTR_TWILIO_EVENT_MEDIA:
      return gtr_twilio_build_inbound_media (m->sequence_number, m->stream_sid,
          m->chunk, m->timestamp_ms, audio, len);
    case GTR_TWILIO_EVENT_DTMF:
      return gtr_twilio_build_dtmf (m->sequence_number, m->stream_sid, m->digit);
    case GTR_TWILIO_EVENT_MARK:
      return gtr_twilio_build_mark_echo (m->sequence_number, m->stream_sid, m->name);
    case GTR_TWILIO_EVENT_STOP:
      return gtr_twilio_build_stop (m->sequence_number, m->stream_sid,
          or_empty (m->account_sid), or_empty (m->call_sid));
    case GTR_TWILIO_EVENT_CLEAR:
      break;
  }
  g_error ("inbound parser returned event %d", m->type);
  return NULL;
}

static void
check_inbound_round_trip (const GtrTwilioMessage *a)
{
  g_autofree char *text = rebuild_inbound (a);
  g_autoptr (GError) error = NULL;
  g_autoptr (GtrTwilioMessage) b = gtr_twilio_message_parse (text, -1, 0, &error);

  if (b == NULL)
    g_error ("rebuilt message does not parse: %s\n%s", error->message, text);
  CHECK (a->type == b->type);
  CHECK (g_strcmp0 (a->stream_sid, b->stream_sid) == 0);
  if (a->type != GTR_TWILIO_EVENT_CONNECTED)
    CHECK (a->sequence_number == b->sequence_number);
  switch (a->type) {
    case GTR_TWILIO_EVENT_START:
      CHECK (g_strcmp0 (a->account_sid, b->account_sid) == 0);
      CHECK (g_strcmp0 (a->call_sid, b->call_sid) == 0);
      CHECK (same_strv (a->custom_parameter_names, b->custom_parameter_names));
      CHECK (same_strv (a->custom_parameter_values, b->custom_parameter_values));
      break;
    case GTR_TWILIO_EVENT_MEDIA:
      CHECK (a->chunk == b->chunk && a->timestamp_ms == b->timestamp_ms);
      CHECK (same_bytes (a->payload, b->payload));
      break;
    case GTR_TWILIO_EVENT_DTMF:
      CHECK (g_strcmp0 (a->digit, b->digit) == 0);
      break;
    case GTR_TWILIO_EVENT_MARK:
      CHECK (g_strcmp0 (a->name, b->name) == 0);
      break;
    case GTR_TWILIO_EVENT_STOP:
      CHECK (strcmp (or_empty (a->account_sid), or_empty (b->account_sid)) == 0);
      CHECK (strcmp (or_empty (a->call_sid), or_empty (b->call_sid)) == 0);
      break;
    default:
      break;
  }
}

static void
check_outbound_round_trip (const GtrTwilioMessage *a)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GtrTwilioMessage) b = NULL;
  gsize len = 0;
  const guint8 *audio = a->payload ? g_bytes_get_data (a->payload, &len) : NULL;

  if (a->type == GTR_TWILIO_EVENT_MEDIA)
    text = gtr_twilio_build_media (a->stream_sid, audio, len);
  else if (a->type == GTR_TWILIO_EVENT_MARK)
    text = gtr_twilio_build_mark (a->stream_sid, a->name);
  else if (a->type == GTR_TWILIO_EVENT_CLEAR)
    text = gtr_twilio_build_clear (a->stream_sid);
  else
    g_error ("outbound parser returned event %d", a->type);
  b = gtr_twilio_outbound_parse (text, -1, 0, &error);
  if (b == NULL)
    g_error ("rebuilt message does not parse: %s\n%s", error->message, text);
  CHECK (a->type == b->type);
  CHECK (g_strcmp0 (a->stream_sid, b->stream_sid) == 0);
  CHECK (g_strcmp0 (a->name, b->name) == 0);
  if (a->type == GTR_TWILIO_EVENT_MEDIA)
    CHECK (same_bytes (a->payload, b->payload));
}

/* A failed parse must say why, with a known code and a field path. */
static void
check_error (GtrTwilioMessage *msg, GError *error)
{
  if (msg != NULL) {
    CHECK (error == NULL);
    return;
  }
  CHECK (error != NULL && error->domain == GTR_PROTOCOL_ERROR);
  CHECK (strcmp (gtr_protocol_error_code_name (error->code), "unknown-error") != 0);
  CHECK (strstr (error->message, ": ") != NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  g_autoptr (GError) in_error = NULL;
  g_autoptr (GError) out_error = NULL;
  g_autoptr (GtrTwilioMessage) in = gtr_twilio_message_parse (text, size, 0, &in_error);
  g_autoptr (GtrTwilioMessage) out = gtr_twilio_outbound_parse (text, size, 0, &out_error);
  g_autoptr (GtrTwilioMessage) limited = gtr_twilio_message_parse (text, size, 64, NULL);

  check_error (in, in_error);
  check_error (out, out_error);
  CHECK (size <= 64 || limited == NULL);
  if (in != NULL)
    check_inbound_round_trip (in);
  if (out != NULL)
    check_outbound_round_trip (out);
  return 0;
}
