/*
 * Helpers for the C tests of libdurable_streams: starting the real test servers
 * (ds-test-servers), turning callbacks into synchronous waits, and assertions.
 */
#ifndef DS_TEST_HARNESS_H
#define DS_TEST_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "durable_streams.h"

/* ---------------------------------------------------------------- assertions */

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__,    \
                    #cond);                                                     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* Fails the test with the error's description if `error` is not NULL. */
#define CHECK_OK(error) check_ok((error), __FILE__, __LINE__, #error)
void check_ok(DsError *error, const char *file, int line, const char *what);

/* Checks that `error` is non-NULL with `kind`, then frees it. */
#define CHECK_KIND(error, kind) check_kind((error), (kind), __FILE__, __LINE__)
void check_kind(DsError *error, DsErrorKind kind, const char *file, int line);

/* Like CHECK_KIND, and the bare message must contain `needle`. */
#define CHECK_KIND_MSG(error, kind, needle) \
    check_kind_msg((error), (kind), (needle), __FILE__, __LINE__)
void check_kind_msg(DsError *error, DsErrorKind kind, const char *needle, const char *file,
                    int line);

/* ---------------------------------------------------------------- servers */

typedef struct {
    char kind[32];
    char base_url[256];
    char prefix_url[256]; /* streams live at <prefix_url>/<name> */
} TestServer;

typedef struct {
    pid_t pid;
    int to_child;   /* its stdin: closing it stops the servers */
    FILE *from_child;
    int count;
    TestServer servers[4];
} TestServers;

/* Starts `ds-test-servers <which> <extra...>` (binary from $DS_TEST_SERVERS_BIN) and waits for
 * READY. Aborts on failure. */
void servers_start(TestServers *s, const char *which);
/* The same with one extra ds-test-servers option (NULL: none), e.g. "--durability-memory". */
void servers_start_with(TestServers *s, const char *which, const char *option);
void servers_stop(TestServers *s);

/* ---------------------------------------------------------------- waiting for callbacks */

/* Collects whatever one asynchronous call reports; callbacks below fill it. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    pthread_t callback_thread;
    DsError *error;
    /* create / head / append results (copies) */
    bool created;
    bool closed;
    char *next_offset;
    char *content_type;
    int64_t ttl_seconds;
    char *expires_at;
    /* reader */
    DsChunk *chunk;
    /* producer */
    char *offset;
    uint64_t epoch;
    /* JSON documents (subscriptions, webhooks, state) and acks */
    char *json;
    bool next_wake;
} Waiter;

void waiter_init(Waiter *w);
/* Waits for the callback (aborts after `timeout_ms`); returns the error (owned by the caller,
 * may be NULL). Checks the callback ran exactly once so far. */
DsError *waiter_wait(Waiter *w, int timeout_ms);
/* Whether the callback has run (without waiting). */
bool waiter_done(Waiter *w);
/* Frees what the waiter holds (not the chunk's owner: chunk is freed too) and re-initialises. */
void waiter_reset(Waiter *w);
void waiter_destroy(Waiter *w);

void on_create(void *ud, DsError *error, const DsCreateResult *result);
void on_head(void *ud, DsError *error, const DsStreamInfo *info);
void on_done(void *ud, DsError *error);
void on_append(void *ud, DsError *error, const DsAppendResult *result);
void on_chunk(void *ud, DsError *error, DsChunk *chunk);
void on_offset(void *ud, DsError *error, const char *offset);
void on_epoch(void *ud, DsError *error, uint64_t epoch);
/* DsJsonCallback: copies the document into `json`. */
void on_json(void *ud, DsError *error, const char *json);
/* DsAckCallback: records `next_wake`. */
void on_next_wake(void *ud, DsError *error, bool next_wake);

#define WAIT_MS 15000

/* ---------------------------------------------------------------- conveniences */

/* A unique stream URL under the server's prefix: <prefix>/<tag>-<pid>-<counter>. Owned. */
char *unique_url(const TestServer *server, const char *tag);
/* A unique relative name (for clients with base_url). Owned. */
char *unique_name(const char *tag);

DsClient *new_client(const char *options_json);
/* A client whose base_url is the server's stream prefix, with quick retries (2, 10-50 ms). */
DsClient *client_for(const TestServer *server);
DsStream *new_stream(DsClient *client, const char *url);
/* Creates the stream synchronously with `options_json`, aborting on failure. */
void create_stream(DsStream *stream, const char *options_json);
/* Appends synchronously, aborting on failure. */
void append_text(DsStream *stream, const char *text);
/* Reads the whole stream (catch-up from the beginning) into a NUL-terminated buffer. Owned. */
char *read_all(DsStream *stream, size_t *len);

double now_ms(void);
void sleep_ms(int ms);

/* Waits up to 5 s for ds_test_live_handles() to return to `baseline`, then checks it. */
void check_no_leaks(uint64_t baseline, const char *test);

/* ---------------------------------------------------------------- running tests */

typedef struct {
    const char *name;
    void (*fn)(void);
} Test;

/* Runs each test (only those whose name contains $DS_C_TEST when set), checking after each that
 * no native object leaked, and prints one line per test with `kind`. Returns how many ran. */
int run_tests(const Test *tests, size_t count, const char *kind);

#endif
