/* libFuzzer target: the OpenAI Realtime server-event parser.
 * Any input must either parse or fail with a GError; never crash, leak or
 * trip a sanitizer.  Seed corpus: tests/fuzz/corpus/realtime/ (one sample
 * of each server event type, shaped as the official schema). */
#include "gtr-protocol.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  GtrRealtimeServerEvent *ev;

  /* A 64 KiB limit as a caller would set one; also exercises OVERSIZE. */
  ev = gtr_realtime_server_event_parse ((const char *) data, (gssize) size,
      64 * 1024, &error);
  g_assert ((ev == NULL) != (error == NULL));
  gtr_realtime_server_event_free (ev);
  g_clear_error (&error);
  return 0;
}
