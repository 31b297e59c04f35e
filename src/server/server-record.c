/* Call records: see server-record.h. */
#include "server-record.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gtr-element-util.h"

#define RATE 8000
#define SAMPLE_BYTES 2                  /* S16LE mono, each side */
#define MIN_BYTES (RATE / 50 * SAMPLE_BYTES)   /* a WAV of at least 20 ms */

/* During the call, each side: decoded, then written at its running time. */
#define SIDE(name) \
  "mulawdec name=" name "_dec ! audio/x-raw,format=S16LE,rate=8000,channels=1 ! " \
  "fakesink name=" name " sync=false async=false enable-last-sample=false "
#define RECORDER SIDE ("caller") SIDE ("agent")

/* After the call: the two sides, equally long, interleaved into the WAV. */
#define RAW_SIDE(name) \
  "filesrc name=" name " ! rawaudioparse format=pcm pcm-format=s16le " \
  "sample-rate=8000 num-channels=1 ! "
#define ASSEMBLER \
  RAW_SIDE ("caller") "i.sink_0 " RAW_SIDE ("agent") "i.sink_1 " \
  "interleave name=i ! wavenc ! filesink name=file"
#define ASSEMBLE_TIMEOUT (30 * GST_SECOND)

/* One channel of the record: a file of S16LE samples, each sample at the
 * offset of its running time (RATE per second from the pipeline's start).
 * A gap — the caller's side before the stream, the agent's between its
 * answers — is a hole in the file, which reads as zeros: silence. */
typedef struct {
  ServerRecord *record;
  gboolean agent;
  char *path;
  int fd;                       /* -1 once closed */
  GstSegment segment;
  guint64 end;                  /* bytes: the side's length so far */
  gboolean failed;              /* a write failed: logged once */
} RecordSide;

struct _ServerRecord {
  GstElement *bin;              /* the recorder, owned by the pipeline */
  char *dir;
  char *wav_path, *transcript_path;   /* current names */
  FILE *transcript;

  GMutex lock;                  /* the sides: the streaming threads write them */
  RecordSide caller, agent;
};

/* Put a tee on the link that leaves `src_pad`; its first branch keeps the
 * old peer, `branch` gets the second. */
static gboolean
tee_link (GstPad *src_pad, GstPad *branch, const char *name)
{
  GstPad *peer = gst_pad_get_peer (src_pad);
  GstElement *owner = gst_pad_get_parent_element (src_pad);
  GstElement *tee = gst_element_factory_make ("tee", name);
  GstPad *tee_sink, *first, *second;
  gboolean ok;

  gst_pad_unlink (src_pad, peer);
  gst_bin_add (GST_BIN (GST_OBJECT_PARENT (owner)), tee);
  tee_sink = gst_element_get_static_pad (tee, "sink");
  first = gst_element_request_pad_simple (tee, "src_%u");
  second = gst_element_request_pad_simple (tee, "src_%u");
  ok = gst_pad_link (src_pad, tee_sink) == GST_PAD_LINK_OK
      && gst_pad_link (first, peer) == GST_PAD_LINK_OK
      && gst_pad_link_maybe_ghosting (second, branch);
  gst_object_unref (tee_sink);
  gst_object_unref (first);
  gst_object_unref (second);
  gst_object_unref (peer);
  gst_object_unref (owner);
  return ok;
}

static GstPad *
element_pad (GstElement *bin, const char *name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  GstPad *pad = gst_element_get_static_pad (e, "sink");

  gst_object_unref (e);
  return pad;
}

static guint64
offset_of (GstClockTime running_time)
{
  return gst_util_uint64_scale_round (running_time, RATE, GST_SECOND) * SAMPLE_BYTES;
}

static void
side_write (RecordSide *side, GstBuffer *buf)
{
  GstClockTime rt = gst_segment_to_running_time (&side->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  guint64 offset = GST_CLOCK_TIME_IS_VALID (rt) ? offset_of (rt) : side->end;
  GstMapInfo map;
  gsize done = 0;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return;
  while (done < map.size) {
    ssize_t n = pwrite (side->fd, map.data + done, map.size - done,
        (off_t) (offset + done));

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (!side->failed)
        g_warning ("record %s: %s", side->path, g_strerror (errno));
      side->failed = TRUE;
      break;
    }
    done += n;
  }
  side->end = MAX (side->end, offset + done);
  gst_buffer_unmap (buf, &map);
}

/* Barge-in: the agent's audio from now on was never heard — the flush is
 * what makes twiliosink send Twilio `clear` — so it leaves the record. */
static void
side_flush (RecordSide *side, GstElement *element)
{
  guint64 now = offset_of (gtr_element_running_time (element));

  if (side->end > now && ftruncate (side->fd, (off_t) now) == 0)
    side->end = now;
}

static GstPadProbeReturn
on_side_data (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  RecordSide *side = data;
  ServerRecord *record = side->record;

  g_mutex_lock (&record->lock);
  if (side->fd < 0) {
    g_mutex_unlock (&record->lock);
    return GST_PAD_PROBE_OK;
  }
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    side_write (side, GST_PAD_PROBE_INFO_BUFFER (info));
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);

    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      side_write (side, gst_buffer_list_get (list, i));
  } else {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT)
      gst_event_copy_segment (event, &side->segment);
    else if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_START && side->agent) {
      GstElement *sink = gst_pad_get_parent_element (pad);

      side_flush (side, sink);
      gst_object_unref (sink);
    }
  }
  g_mutex_unlock (&record->lock);
  return GST_PAD_PROBE_OK;
}

static gboolean
side_open (ServerRecord *record, RecordSide *side, const char *base,
    const char *name, GError **error)
{
  GstPad *pad;

  side->record = record;
  side->agent = g_str_equal (name, "agent");
  gst_segment_init (&side->segment, GST_FORMAT_TIME);
  side->path = g_strdup_printf ("%s/.%s.%s.s16", record->dir, base, name);
  side->fd = g_open (side->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (side->fd < 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot create %s: %s", side->path, g_strerror (errno));
    return FALSE;
  }
  pad = element_pad (record->bin, name);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM
      | GST_PAD_PROBE_TYPE_EVENT_FLUSH, on_side_data, side, NULL);
  gst_object_unref (pad);
  return TRUE;
}

static void
side_close (RecordSide *side)
{
  if (side->fd >= 0)
    close (side->fd);
  side->fd = -1;
}

static void
side_clear (RecordSide *side)
{
  side_close (side);
  if (side->path)
    g_unlink (side->path);
  g_clear_pointer (&side->path, g_free);
}

gboolean
server_record_preload (GError **error)
{
  const char *descs[] = { RECORDER, ASSEMBLER };

  for (guint i = 0; i < G_N_ELEMENTS (descs); i++) {
    GstElement *bin = gst_parse_bin_from_description (descs[i], FALSE, error);

    if (!bin)
      return FALSE;
    gst_object_unref (gst_object_ref_sink (bin));
  }
  return TRUE;
}

ServerRecord *
server_record_add (ServerPipelineElements *el, const char *dir, guint call_id,
    GError **error)
{
  ServerRecord *record = g_new0 (ServerRecord, 1);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  g_autofree char *base = g_strdup_printf ("%s-call%u", stamp, call_id);
  GstPad *src_pad, *sink_pad, *caller, *agent, *upstream;
  gboolean ok;

  g_mutex_init (&record->lock);
  record->caller.fd = record->agent.fd = -1;
  record->dir = g_strdup (dir);
  record->wav_path = g_strdup_printf ("%s/%s.wav", dir, base);
  record->transcript_path = g_strdup_printf ("%s/%s.jsonl", dir, base);
  record->bin = gst_parse_bin_from_description (RECORDER, FALSE, error);
  if (!record->bin) {
    server_record_free (record);
    return NULL;
  }
  gst_object_set_name (GST_OBJECT (record->bin), "recorder");
  gst_bin_add (GST_BIN (el->pipeline), record->bin);
  if (!side_open (record, &record->caller, base, "caller", error)
      || !side_open (record, &record->agent, base, "agent", error)) {
    server_record_free (record);
    return NULL;
  }

  /* the caller as twiliosrc delivers it; the agent as it goes to twiliosink */
  src_pad = gst_element_get_static_pad (el->src, "src");
  sink_pad = gst_element_get_static_pad (el->sink, "sink");
  upstream = gst_pad_get_peer (sink_pad);
  caller = element_pad (record->bin, "caller_dec");
  agent = element_pad (record->bin, "agent_dec");
  ok = upstream && tee_link (src_pad, caller, "record-caller")
      && tee_link (upstream, agent, "record-agent");
  gst_object_unref (caller);
  gst_object_unref (agent);
  gst_clear_object (&upstream);
  gst_object_unref (src_pad);
  gst_object_unref (sink_pad);
  if (!ok) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "could not link the recorder into the call's pipeline");
    server_record_free (record);
    return NULL;
  }
  return record;
}

void
server_record_transcript (ServerRecord *record, GstElement *pipeline,
    const GstStructure *s)
{
  gboolean final = FALSE;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *line = NULL;

  gst_structure_get_boolean (s, "final", &final);
  if (!final)
    return;
  if (!record->transcript
      && !(record->transcript = g_fopen (record->transcript_path, "w")))
    return;
  json_builder_begin_object (b);
  /* seconds of running time: the position in the WAV */
  json_builder_set_member_name (b, "time");
  json_builder_add_double_value (b,
      gtr_element_running_time (pipeline) / (gdouble) GST_SECOND);
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, gst_structure_get_string (s, "role"));
  json_builder_set_member_name (b, "text");
  json_builder_add_string_value (b, gst_structure_get_string (s, "text"));
  json_builder_set_member_name (b, "item_id");
  json_builder_add_string_value (b, gst_structure_get_string (s, "item-id"));
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  line = json_to_string (root, FALSE);
  fprintf (record->transcript, "%s\n", line);
  fflush (record->transcript);
}

void
server_record_finish (ServerRecord *record)
{
  g_mutex_lock (&record->lock);
  side_close (&record->caller);
  side_close (&record->agent);
  g_mutex_unlock (&record->lock);
}

/* Both sides as long as the longer (and at least MIN_BYTES), so the
 * channels end together. */
static gboolean
equalize (RecordSide *a, RecordSide *b)
{
  guint64 len = MAX (MIN_BYTES, MAX (a->end, b->end));

  return truncate (a->path, (off_t) len) == 0 && truncate (b->path, (off_t) len) == 0;
}

/* The two sides into a stereo WAV at `wav`, caller left, agent right. */
static gboolean
assemble (ServerRecord *record, const char *wav, GError **error)
{
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;
  GstElement *e;

  if (!equalize (&record->caller, &record->agent)) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "%s", g_strerror (errno));
    return FALSE;
  }
  pipeline = gst_parse_launch (ASSEMBLER, error);
  if (!pipeline)
    return FALSE;
  e = gst_bin_get_by_name (GST_BIN (pipeline), "caller");
  g_object_set (e, "location", record->caller.path, NULL);
  gst_object_unref (e);
  e = gst_bin_get_by_name (GST_BIN (pipeline), "agent");
  g_object_set (e, "location", record->agent.path, NULL);
  gst_object_unref (e);
  e = gst_bin_get_by_name (GST_BIN (pipeline), "file");
  g_object_set (e, "location", wav, NULL);
  gst_object_unref (e);

  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, ASSEMBLE_TIMEOUT,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS)
    return TRUE;
  if (msg)
    gst_message_parse_error (msg, error, NULL);
  else
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
        "not written within %u s", (guint) (ASSEMBLE_TIMEOUT / GST_SECOND));
  return FALSE;
}

/* Move `*path` to DIR/NAME.EXT (kept where it is if that fails). */
static void
rename_to (char **path, const char *dir, const char *name, const char *ext)
{
  g_autofree char *target = g_strdup_printf ("%s/%s.%s", dir, name, ext);

  if (g_file_test (*path, G_FILE_TEST_EXISTS) && g_rename (*path, target) == 0) {
    g_free (*path);
    *path = g_steal_pointer (&target);
  }
}

const char *
server_record_close (ServerRecord *record, const char *call_sid)
{
  g_autoptr (GError) error = NULL;
  gboolean written;

  if (record->transcript) {
    fclose (record->transcript);
    record->transcript = NULL;
  }
  written = assemble (record, record->wav_path, &error);
  side_clear (&record->caller);
  side_clear (&record->agent);
  if (!written) {
    g_warning ("record %s: %s", record->wav_path, error->message);
    g_unlink (record->wav_path);
  }
  /* a name from the network is a file name only if it is plainly one */
  if (call_sid && *call_sid && strspn (call_sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
          "abcdefghijklmnopqrstuvwxyz0123456789") == strlen (call_sid)) {
    rename_to (&record->wav_path, record->dir, call_sid, "wav");
    rename_to (&record->transcript_path, record->dir, call_sid, "jsonl");
  }
  return written ? record->wav_path : NULL;
}

void
server_record_free (ServerRecord *record)
{
  if (!record)
    return;
  if (record->transcript)
    fclose (record->transcript);
  side_clear (&record->caller);
  side_clear (&record->agent);
  g_free (record->dir);
  g_free (record->wav_path);
  g_free (record->transcript_path);
  g_mutex_clear (&record->lock);
  g_free (record);
}
