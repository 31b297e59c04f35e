/* twilio-realtime-server — the multi-call host a team deploys behind its
 * Twilio number: the voice webhook (TwiML), the Media Stream WebSocket, one
 * GStreamer pipeline per call, metrics, health and drain.  docs/server.md is
 * its manual, docs/deployment.md how to run it. */
#include "server.h"
#include "server-record.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

#include "gtr-tool-exit.h"
#include "server-log.h"

#define EXIT_LISTEN 1
#define EXIT_USAGE 2

static gboolean
on_signal (gpointer data)
{
  server_drain (data);
  return G_SOURCE_CONTINUE;
}

static int
run (const ServerConfig *config, const ServerPipeline *pipeline)
{
  Server server = { .config = config, .pipeline = pipeline };
  g_autoptr (GError) error = NULL;
  guint sigterm, sigint;
  ServerLogLine *line;

  g_mutex_init (&server.lock);
  server.calls = g_hash_table_new (NULL, NULL);
  server.by_sid = g_hash_table_new (g_str_hash, g_str_equal);
  server.transfers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      server_transfer_free);
  server.metrics = server_metrics_new ();
  server.main_context = g_main_context_default ();
  server.loop = g_main_loop_new (server.main_context, FALSE);
  if (!server_start (&server, &error)) {
    g_autofree char *address = g_socket_connectable_to_string
        (G_SOCKET_CONNECTABLE (config->listen));

    g_printerr ("twilio-realtime-server: could not listen on %s: %s\n",
        address, error->message);
    return EXIT_LISTEN;
  }
  sigterm = g_unix_signal_add (SIGTERM, on_signal, &server);
  sigint = g_unix_signal_add (SIGINT, on_signal, &server);
  g_main_loop_run (server.loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);

  server_finish (&server);
  line = server_log_begin ("stopped");
  server_log_end (line);
  g_main_loop_unref (server.loop);
  server_metrics_free (server.metrics);
  g_hash_table_unref (server.calls);
  g_hash_table_unref (server.by_sid);
  g_hash_table_unref (server.transfers);
  g_mutex_clear (&server.lock);
  return 0;
}

int
main (int argc, char **argv)
{
  ServerConfig config = { 0 };
  ServerPipeline pipeline = { 0 };
  g_autoptr (GError) error = NULL;
  int code = EXIT_USAGE;

  gst_init (NULL, NULL);
  if (!server_config_parse (&config, &argc, &argv, &error)) {
    g_printerr ("twilio-realtime-server: %s (see --help)\n", error->message);
  } else if (config.record_dir && (!g_file_test (config.record_dir, G_FILE_TEST_IS_DIR)
          || g_access (config.record_dir, W_OK) != 0)) {
    g_printerr ("twilio-realtime-server: --record-dir '%s' is not a writable "
        "directory\n", config.record_dir);
  } else if (config.record_dir && !server_record_preload (&error)) {
    g_printerr ("twilio-realtime-server: --record-dir: the recorder cannot be "
        "built: %s\n", error->message);
  } else if (!server_pipeline_init (&pipeline, &config, &error)) {
    g_printerr ("twilio-realtime-server: %s\n", error->message);
  } else {
    server_log_set_format (config.log_format);
    code = run (&config, &pipeline);
  }
  server_pipeline_clear (&pipeline);
  server_config_clear (&config);
  gst_deinit ();
  gtr_stop_idle_pool_threads ();
  return code;
}
