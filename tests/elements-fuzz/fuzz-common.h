/* Bounded, seeded randomized tests of whole elements: what both element
 * fuzzers share.
 *
 * A run is a master seed and a time budget.  Round i draws everything from
 * its own GRand, seeded from (master seed, i), so a run replays exactly with
 * GTR_FUZZ_SEED=SEED, and one round alone with GTR_FUZZ_SEED=SEED
 * GTR_FUZZ_ROUND=I.  GTR_ELEMENT_FUZZ_SECONDS bounds the run (default 15),
 * and GTR_FUZZ_ROUNDS the number of rounds (default 200 per second of
 * budget): whichever comes first ends it.
 *
 * Messages are mutated as the parsers' fuzzers cannot: at the level of a
 * whole conversation (drop, duplicate, reorder, insert) and of each
 * message's JSON (a value replaced by an empty string, a huge or negative
 * number, a wrong type, null, a long string, odd base64; truncated text,
 * invalid UTF-8, deep nesting, a size at a limit). */
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;          /* "twiliosrc-fuzz" */
  guint32 seed;              /* the master seed */
  gint64 deadline;           /* monotonic time the run stops at */
  gdouble budget_s;
  guint max_rounds;
  gint only_round;           /* GTR_FUZZ_ROUND, or -1 */
  guint round;               /* the current round */
  guint rounds;              /* rounds run */
  guint messages;            /* messages sent by the peer, in all rounds */
  gint64 started;
} FuzzRun;

/* GTR_ELEMENT_FUZZ_SECONDS, or 15. */
gdouble fuzz_budget_seconds (void);
/* check's timeout for a test case holding a run: the budget and a margin
 * (CK_DEFAULT_TIMEOUT would cut a longer run short). */
gint fuzz_check_timeout (void);
/* Reads the environment and prints the seed and how to replay it. */
void fuzz_run_init (FuzzRun *run, const char *name);
/* The next round's GRand, or NULL when the budget or the round count is
 * spent.  The caller frees it. */
GRand *fuzz_run_next (FuzzRun *run);
/* The rounds of a run on an element kept from round to round: mostly the
 * same one again (back to NULL, then READY→PLAYING), sometimes a new one.
 * The choice is drawn from each round's GRand whatever the state, so a
 * round replays alike alone. */
typedef struct {
  gpointer (*make) (gpointer data);
  void (*drop) (gpointer element);
  void (*round) (FuzzRun *run, GRand *rand, gpointer element, gpointer data);
  gpointer data;
} FuzzRounds;

void fuzz_run_rounds (FuzzRun *run, const FuzzRounds *rounds);
/* "NAME: seed S: N rounds, M messages in T s" and the outcome counts. */
void fuzz_run_report (FuzzRun *run, const char *outcomes);
/* How long a round may wait for the element: longer under the sanitizers. */
guint fuzz_wait_ms (void);

/* ---- Frames a peer sends ---- */

typedef enum {
  FUZZ_FRAME_TEXT,           /* a text frame (valid UTF-8, as libsoup requires) */
  FUZZ_FRAME_BINARY,
  FUZZ_FRAME_INVALID_UTF8,   /* a text frame libsoup would refuse to send: written raw */
  FUZZ_FRAME_CLOSE,          /* the peer closes the WebSocket (code 1000) */
} FuzzFrameKind;

typedef struct {
  FuzzFrameKind kind;
  GBytes *data;              /* the payload (none for CLOSE) */
  char *label;               /* what it is, for the round's log line */
} FuzzFrame;

FuzzFrame *fuzz_frame_new (FuzzFrameKind kind, GBytes *data, const char *label);
/* A text frame of `text` (taken). */
FuzzFrame *fuzz_frame_text (char *text, const char *label);
FuzzFrame *fuzz_frame_copy (const FuzzFrame *frame);
void fuzz_frame_free (FuzzFrame *frame);
/* TRUE for frames after which the connection is gone. */
gboolean fuzz_frame_ends_connection (const FuzzFrame *frame);
/* The frames' labels, space-separated, at most `max` characters. */
char *fuzz_frames_describe (GPtrArray *frames, gsize max);

/* Send one frame on an open connection (client frames are masked, as the
 * WebSocket protocol requires: `masked` for a client).  Invalid UTF-8 is
 * written directly to the socket, so the caller must know that everything
 * sent before has been written (it has when the peer has received it). */
void fuzz_frame_send (SoupWebsocketConnection *conn, const FuzzFrame *frame,
    gboolean masked);

/* ---- Mutations ---- */

/* Random bytes, and base64 of them. */
GBytes *fuzz_random_bytes (GRand *rand, gsize len);
char *fuzz_random_base64 (GRand *rand, gsize len);

/* One mutation of a JSON text's values (a member replaced by an odd value,
 * removed, or an unknown one added), or NULL when the text is not a JSON
 * object.  `label` gets a few words on what was done. */
char *fuzz_mutate_json_value (GRand *rand, const char *text, GString *label);
/* One mutation of the text itself: truncated, invalid UTF-8, an escaped
 * NUL, nested past the parser's limit, wrapped in an array, … */
FuzzFrame *fuzz_mutate_text (GRand *rand, const char *text);
/* `text` (a JSON object) padded with spaces to exactly `size` bytes, still
 * valid JSON; NULL when it is longer already. */
char *fuzz_pad_json (const char *text, gsize size);

/* One of the conversation-level mutations, applied to `frames` in place:
 * drop, duplicate, swap or move a frame.  Returns what it did. */
const char *fuzz_shuffle_frames (GRand *rand, GPtrArray *frames);

/* TRUE with probability p. */
gboolean fuzz_chance (GRand *rand, gdouble p);
gint fuzz_pick (GRand *rand, gint n);

/* Test data: the lines of a JSON-lines file, or the files of
 * tests/fuzz/corpus/SUBDIR (found from GTR_TESTS_DATA) whose names start with
 * `prefix`, as a NULL-terminated array of strings; NULL when not found. */
char **fuzz_load_lines (const char *path);
char **fuzz_load_corpus (const char *subdir, const char *prefix);

G_END_DECLS
