#include "gtr-tool-exit.h"

/* A thread of GLib's pool that is not the spawner ("pool-spawner") is alive. */
static gboolean
pool_worker_alive (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *task;

  if (!dir)
    return FALSE;
  while ((task = g_dir_read_name (dir))) {
    g_autofree char *path = g_build_filename ("/proc/self/task", task, "comm", NULL);
    g_autofree char *comm = NULL;

    if (g_file_get_contents (path, &comm, NULL, NULL)
        && g_str_has_prefix (comm, "pool-") && !g_str_has_prefix (comm, "pool-spawner"))
      return TRUE;
  }
  return FALSE;
}

void
gtr_stop_idle_pool_threads (void)
{
  gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;

  g_thread_pool_set_max_unused_threads (0);
  g_thread_pool_stop_unused_threads ();
  while (g_get_monotonic_time () < deadline && pool_worker_alive ())
    g_usleep (1000);
}
