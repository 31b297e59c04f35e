/* A Twilio stand-in for the element tests: a libsoup WebSocket client on a
 * private GMainContext, driven from the test's thread.  It can send anything
 * (including what Twilio never sends), and records every frame it receives. */
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct {
  GMainContext *context;
  SoupSession *session;
  SoupWebsocketConnection *conn;   /* NULL when the handshake failed */
  guint status;                    /* HTTP status of the handshake (101 when upgraded) */
  GPtrArray *received;             /* char *: text frames received, in order */
  guint binary_received;
  gboolean closed;
} TestClient;

/* Connect to ws://127.0.0.1:PORT/PATH (optionally with an X-Twilio-Signature)
 * and wait for the handshake's outcome (at most 5 s). */
TestClient *test_client_connect (guint port, const char *path, const char *signature);
/* The same, on `context` (shared, e.g., with an application's SoupServer:
 * pumping the client runs both). */
TestClient *test_client_connect_on (guint port, const char *path,
    const char *signature, GMainContext *context);
void test_client_free (TestClient *client);

void test_client_send (TestClient *client, const char *text);
void test_client_send_take (TestClient *client, char *text);
void test_client_send_binary (TestClient *client, gconstpointer data, gsize len);

/* Run the client's context for `ms` milliseconds. */
void test_client_pump (TestClient *client, guint ms);
/* Pump until `n` text frames in all were received (FALSE after timeout_ms). */
gboolean test_client_wait_frames (TestClient *client, guint n, guint timeout_ms);
gboolean test_client_wait_closed (TestClient *client, guint timeout_ms);

/* Pump the client while waiting for a bus message matching `types` (and, for
 * element messages, the structure name when not NULL). */
GstMessage *test_client_wait_message (TestClient *client, GstBus *bus,
    GstMessageType types, const char *name, guint timeout_ms);

/* Twilio's own messages for a call with stream sid "MZtest". */
#define TEST_STREAM_SID "MZ00000000000000000000000000000001"
#define TEST_CALL_SID "CA00000000000000000000000000000001"
#define TEST_ACCOUNT_SID "AC00000000000000000000000000000001"
char *test_twilio_start (void);
/* 160 bytes (20 ms) of audio whose every byte is derived from `chunk`. */
char *test_twilio_media (gint64 chunk, guint8 *audio_out);
void test_audio_pattern (gint64 chunk, guint8 *audio, gsize len);

G_END_DECLS
