/*
 * C tests of libs2_streamstore (include/s2.h) against a real `s2 lite` server.
 *
 * Lite listens on 0.0.0.0, so it runs only inside a network namespace of its own: build.sh
 * (test_s2_c_isolated) starts it there with `ds-test-servers s2` and exports its endpoint as
 * S2_TEST_ENDPOINT before running this program. By hand, from the repository root, after
 * `cargo build -p durable-streams-test-harness` and `make -C tests/c s2-all`:
 *
 *   unshare -n bash -c 'ip link set lo up
 *     coproc LITE { target/debug/ds-test-servers s2; }        # prints "s2 <endpoint> ...", READY
 *     read -r _ S2_TEST_ENDPOINT _ <&"${LITE[0]}"; read -r _ <&"${LITE[0]}"
 *     export S2_TEST_ENDPOINT; make -C tests/c s2-check s2-valgrind; exit $?'
 *
 * (as a non-root user: unshare -rn). Closing ds-test-servers' stdin stops lite, so make must
 * not be the last command (bash would exec it, closing the coprocess's pipe).
 *
 * Every test checks that s2_test_live_handles() returns to its starting value and that every
 * callback started during the test fired exactly once (callbacks are counted globally).
 * S2_C_TEST=<name part> runs only the matching tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "s2.h"

/* ================================================================= assertions */

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fprintf(stderr, "\n");                                                           \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static void check_ok(S2Error *error, const char *file, int line, const char *what) {
    if (error != NULL) {
        fprintf(stderr, "%s:%d: %s failed: [%s] %s\n", file, line, what, s2_error_kind_name(error),
                s2_error_message(error));
        abort();
    }
}
#define CHECK_OK(error) check_ok((error), __FILE__, __LINE__, #error)

/* Checks that `error` has `kind` and (needle not NULL) that its message contains `needle`;
 * frees it. */
static void check_kind_msg(S2Error *error, S2ErrorKind kind, const char *needle, const char *file,
                           int line) {
    if (error == NULL) {
        fprintf(stderr, "%s:%d: expected error kind %d, got success\n", file, line, (int)kind);
        abort();
    }
    if (s2_error_kind(error) != kind) {
        fprintf(stderr, "%s:%d: expected error kind %d, got %d (%s): %s\n", file, line, (int)kind,
                (int)s2_error_kind(error), s2_error_kind_name(error), s2_error_message(error));
        abort();
    }
    if (needle != NULL && strstr(s2_error_message(error), needle) == NULL) {
        fprintf(stderr, "%s:%d: error message \"%s\" does not contain \"%s\"\n", file, line,
                s2_error_message(error), needle);
        abort();
    }
    s2_error_free(error);
}
#define CHECK_KIND(error, kind) check_kind_msg((error), (kind), NULL, __FILE__, __LINE__)
#define CHECK_KIND_MSG(error, kind, needle) \
    check_kind_msg((error), (kind), (needle), __FILE__, __LINE__)

#define CHECK_CONTAINS(haystack, needle)                                                     \
    CHECK((haystack) != NULL && strstr((haystack), (needle)) != NULL, "\"%s\" lacks \"%s\"", \
          (haystack) ? (haystack) : "(null)", (needle))

/* ================================================================= time */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Under valgrind everything is ~20x slower: generous waits. */
#define WAIT_MS 60000

/* ================================================================= counting callbacks */

/* Every callback a test expects adds one to `expected` when the call starts; every callback
 * invocation adds one to `fired`. After each test they must match (and stay matched). */
static atomic_long expected_callbacks;
static atomic_long fired_callbacks;

static void expect_callbacks(long n) { atomic_fetch_add(&expected_callbacks, n); }
static void fired(void) { atomic_fetch_add(&fired_callbacks, 1); }

static void check_callbacks_and_handles(uint64_t baseline, const char *test) {
    for (int i = 0; i < 1000; i++) {
        if (atomic_load(&fired_callbacks) == atomic_load(&expected_callbacks) &&
            s2_test_live_handles() == baseline)
            break;
        sleep_ms(10);
    }
    sleep_ms(50); /* a second invocation would show up here */
    CHECK(atomic_load(&fired_callbacks) == atomic_load(&expected_callbacks),
          "%s: %ld callbacks fired, %ld expected (each exactly once)", test,
          atomic_load(&fired_callbacks), atomic_load(&expected_callbacks));
    CHECK(s2_test_live_handles() == baseline, "%s leaked handles: %llu live, %llu at the start",
          test, (unsigned long long)s2_test_live_handles(), (unsigned long long)baseline);
}

/* ================================================================= waiting for one callback */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    pthread_t thread;
    S2Error *error;
    char *json;
    S2Position position;
    S2AppendAck ack;
    S2ReadBatch *batch;
    S2ReadSession *session;
} Waiter;

/* A waiter for one callback (counted as expected). */
static void waiter_init(Waiter *w) {
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    expect_callbacks(1);
}

static Waiter *begin(void *ud) {
    fired();
    Waiter *w = (Waiter *)ud;
    pthread_mutex_lock(&w->mu);
    w->calls++;
    w->thread = pthread_self();
    return w;
}

static void end(Waiter *w) {
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void on_json(void *ud, const char *json, S2Error *error) {
    Waiter *w = begin(ud);
    CHECK((json == NULL) != (error == NULL), "json callback: exactly one of json and error");
    w->error = error;
    w->json = json ? strdup(json) : NULL;
    end(w);
}

static void on_done(void *ud, S2Error *error) {
    Waiter *w = begin(ud);
    w->error = error;
    end(w);
}

static void on_position(void *ud, const S2Position *position, S2Error *error) {
    Waiter *w = begin(ud);
    CHECK((position == NULL) != (error == NULL), "position callback: exactly one of both");
    w->error = error;
    if (position) w->position = *position;
    end(w);
}

static void on_append(void *ud, const S2AppendAck *ack, S2Error *error) {
    Waiter *w = begin(ud);
    CHECK((ack == NULL) != (error == NULL), "append callback: exactly one of ack and error");
    w->error = error;
    if (ack) w->ack = *ack;
    end(w);
}

static void on_batch(void *ud, S2ReadBatch *batch, S2Error *error) {
    Waiter *w = begin(ud);
    CHECK(batch == NULL || error == NULL, "batch callback: a batch with an error");
    w->error = error;
    w->batch = batch;
    end(w);
}

static void on_session(void *ud, S2ReadSession *session, S2Error *error) {
    Waiter *w = begin(ud);
    CHECK((session == NULL) != (error == NULL), "session callback: exactly one of both");
    w->error = error;
    w->session = session;
    end(w);
}

/* Waits for the callback; returns its error (owned by the caller). Checks it ran once. */
static S2Error *waiter_wait(Waiter *w, int timeout_ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (w->calls == 0) {
        int rc = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
        CHECK(rc != ETIMEDOUT || w->calls > 0, "no callback within %d ms", timeout_ms);
    }
    CHECK(w->calls == 1, "callback ran %d times", w->calls);
    S2Error *error = w->error;
    w->error = NULL;
    pthread_mutex_unlock(&w->mu);
    return error;
}

static bool waiter_done(Waiter *w) {
    pthread_mutex_lock(&w->mu);
    bool done = w->calls > 0;
    pthread_mutex_unlock(&w->mu);
    return done;
}

/* Frees what the waiter still holds. */
static void waiter_destroy(Waiter *w) {
    s2_error_free(w->error);
    free(w->json);
    s2_batch_free(w->batch);
    s2_read_session_free(w->session);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

/* Waits for a JSON callback; on success *json (if not NULL) receives the owned document. */
static S2Error *wait_json(Waiter *w, char **json) {
    S2Error *error = waiter_wait(w, WAIT_MS);
    if (json != NULL) {
        *json = w->json;
        w->json = NULL;
    }
    waiter_destroy(w);
    return error;
}

/* ================================================================= fixtures */

static const char *endpoint;
static char client_options[512];

static S2Client *new_client(void) {
    S2Client *client = NULL;
    CHECK_OK(s2_client_new(client_options, &client));
    CHECK(client != NULL, "client");
    return client;
}

/* A unique basin name (8-48 of [a-z0-9-]). Owned. */
static char *unique_basin(const char *tag) {
    static atomic_int counter;
    char *name = NULL;
    CHECK(asprintf(&name, "ct-%s-%ld-%d", tag, (long)getpid() % 100000,
                   atomic_fetch_add(&counter, 1)) > 0,
          "asprintf");
    return name;
}

static char *basin_create(S2Client *client, const char *basin, const char *config) {
    Waiter w;
    waiter_init(&w);
    s2_basin_create(client, basin, config, NULL, on_json, &w);
    char *json = NULL;
    CHECK_OK(wait_json(&w, &json));
    return json;
}

static void basin_delete(S2Client *client, const char *basin) {
    Waiter w;
    waiter_init(&w);
    s2_basin_delete(client, basin, false, NULL, on_json, &w);
    char *json = NULL;
    CHECK_OK(wait_json(&w, &json));
    CHECK(strcmp(json, "null") == 0, "delete result %s", json);
    free(json);
}

static void stream_create(S2Client *client, const char *basin, const char *stream,
                          const char *config) {
    Waiter w;
    waiter_init(&w);
    s2_stream_create(client, basin, stream, config, NULL, on_json, &w);
    char *json = NULL;
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, stream);
    free(json);
}

static S2Stream *open_stream(S2Client *client, const char *basin, const char *stream) {
    S2Stream *handle = NULL;
    CHECK_OK(s2_stream_open(client, basin, stream, &handle));
    CHECK(handle != NULL, "stream handle");
    return handle;
}

/* A fresh basin with one stream (config_json for the stream) and a handle on it. */
typedef struct {
    S2Client *client;
    char *basin;
    S2Stream *stream;
} Fixture;

static Fixture fixture(const char *tag, const char *stream_config) {
    Fixture f;
    f.client = new_client();
    f.basin = unique_basin(tag);
    free(basin_create(f.client, f.basin, NULL));
    stream_create(f.client, f.basin, "s", stream_config);
    f.stream = open_stream(f.client, f.basin, "s");
    return f;
}

static void fixture_free(Fixture *f) {
    s2_stream_free(f->stream);
    basin_delete(f->client, f->basin);
    s2_client_free(f->client);
    free(f->basin);
}

static S2NewRecord body_record(const char *body) {
    S2NewRecord r;
    memset(&r, 0, sizeof r);
    r.body = (const uint8_t *)body;
    r.body_len = strlen(body);
    return r;
}

static S2Header text_header(const char *name, const char *value) {
    S2Header h = {(const uint8_t *)name, strlen(name), (const uint8_t *)value, strlen(value)};
    return h;
}

static S2Error *append_wait(S2Stream *stream, const S2NewRecord *records, size_t count,
                            const S2AppendConditions *conditions, S2AppendAck *ack) {
    Waiter w;
    waiter_init(&w);
    s2_stream_append(stream, records, count, conditions, NULL, on_append, &w);
    S2Error *error = waiter_wait(&w, WAIT_MS);
    if (ack != NULL) *ack = w.ack;
    waiter_destroy(&w);
    return error;
}

static void append_bodies(S2Stream *stream, const char *const *bodies, size_t count) {
    S2NewRecord records[16];
    CHECK(count <= 16, "at most 16");
    for (size_t i = 0; i < count; i++) records[i] = body_record(bodies[i]);
    CHECK_OK(append_wait(stream, records, count, NULL, NULL));
}

static S2Position check_tail(S2Stream *stream) {
    Waiter w;
    waiter_init(&w);
    s2_stream_check_tail(stream, NULL, on_position, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    S2Position p = w.position;
    waiter_destroy(&w);
    return p;
}

static S2ReadArgs read_args(int32_t kind, uint64_t start) {
    S2ReadArgs a;
    memset(&a, 0, sizeof a);
    a.start_kind = kind;
    a.start = start;
    a.wait_secs = -1;
    return a;
}

/* Reads one batch; *batch receives the owned batch on success. */
static S2Error *read_wait(S2Stream *stream, const S2ReadArgs *args, S2ReadBatch **batch) {
    Waiter w;
    waiter_init(&w);
    s2_stream_read(stream, args, NULL, on_batch, &w);
    S2Error *error = waiter_wait(&w, WAIT_MS);
    *batch = w.batch;
    w.batch = NULL;
    waiter_destroy(&w);
    if (error == NULL) CHECK(*batch != NULL, "a successful read gives a batch");
    return error;
}

static bool bytes_eq(const uint8_t *data, size_t len, const char *text) {
    return len == strlen(text) && (len == 0 || memcmp(data, text, len) == 0);
}

/* ================================================================= offline tests */

static void test_versions_and_null_handling(void) {
    CHECK(s2_abi_version() == S2_ABI_VERSION && S2_ABI_VERSION == 1, "abi %u", s2_abi_version());
    const char *version = s2_version();
    CHECK(version != NULL && version[0] >= '0' && version[0] <= '9', "version %s", version);
    CHECK(s2_version() == version, "s2_version is a static string");

    CHECK(s2_error_kind(NULL) == S2_ERROR_INTERNAL, "kind of NULL");
    CHECK(s2_error_kind_name(NULL) != NULL, "kind name of NULL");
    CHECK(s2_error_message(NULL) != NULL && s2_error_server_message(NULL) != NULL, "messages");
    CHECK(s2_error_status(NULL) == 0 && s2_error_code(NULL) == NULL, "status, code");
    CHECK(s2_error_basin(NULL) == NULL && s2_error_stream(NULL) == NULL, "basin, stream");
    CHECK(s2_error_expected_seq_num(NULL) == -1, "expected seq num");
    CHECK(s2_error_expected_fencing_token(NULL) == NULL, "expected token");
    CHECK(!s2_error_is_retryable(NULL), "retryable");
    S2Position p = {7, 7};
    CHECK(!s2_error_tail(NULL, &p) && p.seq_num == 7, "tail of NULL");

    size_t n = 99;
    CHECK(s2_batch_records(NULL, &n) == NULL && n == 0, "records of NULL");
    CHECK(s2_batch_records(NULL, NULL) == NULL, "records without count");
    CHECK(!s2_batch_tail(NULL, &p) && p.seq_num == 7, "batch tail of NULL");
    CHECK(!s2_read_session_is_caught_up(NULL), "caught up of NULL");
    CHECK(s2_read_session_next_seq_num(NULL) == -1, "next seq num of NULL");

    s2_error_free(NULL);
    s2_client_free(NULL);
    s2_stream_free(NULL);
    s2_batch_free(NULL);
    s2_append_session_free(NULL);
    s2_producer_free(NULL);
    s2_read_session_free(NULL);
    s2_cancel_free(NULL);
    s2_cancel_cancel(NULL);

    uint64_t before = s2_test_live_handles();
    S2Cancel *cancel = s2_cancel_new();
    CHECK(cancel != NULL, "cancel");
    CHECK(s2_test_live_handles() == before + 1, "a cancel handle is counted");
    s2_cancel_cancel(cancel);
    s2_cancel_cancel(cancel); /* idempotent */
    s2_cancel_free(cancel);
    CHECK(s2_test_live_handles() == before, "freed");
}

static void test_client_options(void) {
    S2Client *client = new_client();
    s2_client_free(client);
    char options[1024];
    snprintf(options, sizeof options,
             "{\"access_token\":\"t\",\"account_endpoint\":\"%s\",\"basin_endpoint\":\"%s\","
             "\"connect_timeout_ms\":1000,\"request_timeout_ms\":4000,\"retry\":{\"max_attempts\":"
             "2,\"min_base_delay_ms\":10,\"max_base_delay_ms\":100,\"append_retry_policy\":"
             "\"no_side_effects\"},\"compression\":\"zstd\"}",
             endpoint, endpoint);
    CHECK_OK(s2_client_new(options, &client));
    s2_client_free(client);

    S2Client *out = (S2Client *)&out; /* must be overwritten with NULL on failure */
    CHECK_KIND_MSG(s2_client_new("{", &out), S2_ERROR_INVALID_ARGUMENT, "options_json");
    CHECK(out == NULL, "out not cleared on failure");
    CHECK_KIND_MSG(s2_client_new("{\"access_token\":\"t\",\"bogus\":1}", &out),
                   S2_ERROR_INVALID_ARGUMENT, "bogus");
    CHECK_KIND_MSG(s2_client_new("{\"access_token\":\"t\",\"request_timeout_ms\":\"x\"}", &out),
                   S2_ERROR_INVALID_ARGUMENT, "options_json");
    CHECK_KIND_MSG(s2_client_new("{\"access_token\":\"t\",\"compression\":\"brotli\"}", &out),
                   S2_ERROR_INVALID_ARGUMENT, "compression");
    CHECK_KIND_MSG(s2_client_new("{\"access_token\":\"t\",\"endpoint\":\"not a url\"}", &out),
                   S2_ERROR_INVALID_ARGUMENT, "endpoint");
    CHECK_KIND_MSG(s2_client_new("{\"endpoint\":\"http://127.0.0.1:1\"}", &out),
                   S2_ERROR_INVALID_ARGUMENT, "access_token");
    CHECK_KIND_MSG(s2_client_new(NULL, &out), S2_ERROR_INVALID_ARGUMENT, "access_token");
    CHECK_KIND_MSG(s2_client_new("{\"access_token\":\"\xff\"}", &out), S2_ERROR_INVALID_ARGUMENT,
                   "options_json");
    CHECK_KIND_MSG(s2_client_new(client_options, NULL), S2_ERROR_INVALID_ARGUMENT, "out");
    CHECK(out == NULL, "out stays NULL");
}

/* Argument errors of asynchronous calls are INVALID_ARGUMENT naming the parameter, and nothing
 * is sent; a NULL callback makes the call do nothing. */
/* With strict_sync (argument_errors_are_reported_synchronously) every argument error
 * must be reported synchronously, as include/s2.h documents; otherwise a late one is noted. */
static bool strict_sync;
static int late_argument_errors;

static void check_sync_error_at(Waiter *w, S2ErrorKind kind, const char *needle, int line) {
    bool sync = waiter_done(w);
    check_kind_msg(waiter_wait(w, WAIT_MS), kind, needle, __FILE__, line);
    bool same_thread = pthread_equal(w->thread, pthread_self());
    waiter_destroy(w);
    if (sync && same_thread) return;
    late_argument_errors++;
    if (strict_sync)
        fprintf(stderr, "%s:%d: KNOWN BUG: the argument error (%s) was reported %s\n", __FILE__,
                line, needle, sync ? "on another thread" : "after the call returned");
}
#define check_sync_error(w, kind, needle) check_sync_error_at((w), (kind), (needle), __LINE__)

/* A client whose endpoint nobody listens on: any request it sends fails with NETWORK. */
static S2Client *dead_client(void) {
    S2Client *client = NULL;
    CHECK_OK(s2_client_new("{\"access_token\":\"t\",\"endpoint\":\"http://127.0.0.1:1\","
                           "\"retry\":{\"max_attempts\":1}}",
                           &client));
    return client;
}

static void test_async_argument_errors(void) {
    S2Client *client = dead_client();
    Waiter w;

    waiter_init(&w);
    s2_basin_create(NULL, "abcdefgh", NULL, NULL, on_json, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "client");
    /* Basin names that break S2's rules: refused naming the basin, and nothing is sent (the
     * client's endpoint is dead: a request would be a NETWORK error). */
    waiter_init(&w);
    s2_basin_create(client, "Not_A_Basin", NULL, NULL, on_json, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "basin");
    waiter_init(&w);
    s2_basin_get_config(client, "short", NULL, on_json, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "basin");
    waiter_init(&w);
    s2_stream_create(client, "-abcdefgh", "s", NULL, NULL, on_json, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "basin");
    waiter_init(&w);
    s2_basin_create(client, "abcdefgh", "{\"bogus\":true}", NULL, on_json, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "config_json");
    waiter_init(&w);
    s2_basins_list(client, "{\"limit\":\"many\"}", NULL, on_json, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "request_json");
    waiter_init(&w);
    s2_stream_create(client, "abcdefgh", NULL, NULL, NULL, on_json, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "stream");

    /* A NULL callback: nothing happens, nothing is counted. */
    s2_basin_create(client, "Not_A_Basin", NULL, NULL, NULL, NULL);
    s2_stream_check_tail(NULL, NULL, NULL, NULL);

    S2Stream *out = (S2Stream *)&out;
    CHECK_KIND_MSG(s2_stream_open(client, "Bad", "s", &out), S2_ERROR_INVALID_ARGUMENT, "basin");
    CHECK(out == NULL, "out cleared");
    CHECK_KIND_MSG(s2_stream_open(client, "abcdefgh", "", &out), S2_ERROR_INVALID_ARGUMENT,
                   "stream");
    CHECK_KIND_MSG(s2_stream_open(NULL, "abcdefgh", "s", &out), S2_ERROR_INVALID_ARGUMENT,
                   "client");
    CHECK_KIND_MSG(s2_stream_open(client, "abcdefgh", "s", NULL), S2_ERROR_INVALID_ARGUMENT,
                   "out");

    /* Nothing is sent for a bad append: the stream need not exist. */
    S2Stream *stream = open_stream(client, "abcdefgh", "s");
    S2NewRecord records[1001];
    for (int i = 0; i < 1001; i++) records[i] = body_record("x");
    waiter_init(&w);
    s2_stream_append(stream, records, 0, NULL, NULL, on_append, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "records");
    waiter_init(&w);
    s2_stream_append(stream, records, 1001, NULL, NULL, on_append, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "records");
    waiter_init(&w);
    s2_stream_append(stream, NULL, 1, NULL, NULL, on_append, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "records");
    S2Header empty_name = text_header("", "v");
    S2NewRecord bad = body_record("x");
    bad.headers = &empty_name;
    bad.header_count = 1;
    waiter_init(&w);
    s2_stream_append(stream, &bad, 1, NULL, NULL, on_append, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "records[0]");
    S2AppendConditions bad_token = {false, 0, "\xff\xfe"};
    waiter_init(&w);
    s2_stream_append(stream, records, 1, &bad_token, NULL, on_append, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "fencing_token");
    waiter_init(&w);
    s2_stream_fence(stream, "0123456789012345678901234567890123456", NULL, NULL, on_append, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "fencing_token");

    S2ReadArgs args = read_args(7, 0);
    waiter_init(&w);
    s2_stream_read(stream, &args, NULL, on_batch, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "args.start_kind");
    args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    args.wait_secs = -5;
    waiter_init(&w);
    s2_read_session_open(stream, &args, false, NULL, on_session, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "args.wait_secs");
    waiter_init(&w);
    s2_read_session_next(NULL, NULL, on_batch, &w);
    check_sync_error(&w, S2_ERROR_INVALID_ARGUMENT, "session");

    S2AppendSession *session = (S2AppendSession *)&session;
    CHECK_KIND_MSG(s2_append_session_open(stream, "{\"bogus\":1}", &session),
                   S2_ERROR_INVALID_ARGUMENT, "options_json");
    CHECK(session == NULL, "out cleared");
    CHECK_KIND_MSG(s2_append_session_open(NULL, NULL, &session), S2_ERROR_INVALID_ARGUMENT,
                   "stream");
    S2Producer *producer = (S2Producer *)&producer;
    CHECK_KIND_MSG(s2_producer_open(stream, "{\"linger_ms\":-1}", &producer),
                   S2_ERROR_INVALID_ARGUMENT, "options_json");
    CHECK(producer == NULL, "out cleared");
    CHECK_KIND_MSG(s2_producer_open(stream, "{\"max_batch_records\":0}", &producer),
                   S2_ERROR_INVALID_ARGUMENT, "max_batch_records");

    s2_stream_free(stream);
    s2_client_free(client);
}

/* ================================================================= control plane */

static void test_basins(void) {
    S2Client *client = new_client();
    char *basin = unique_basin("crud");
    const char *config =
        "{\"default_stream_config\":{\"retention_policy\":{\"age\":3600}},"
        "\"create_stream_on_append\":true}";
    char *json = basin_create(client, basin, config);
    CHECK_CONTAINS(json, basin);
    CHECK_CONTAINS(json, "\"created_at\"");
    free(json);

    Waiter w;
    waiter_init(&w);
    s2_basin_create(client, basin, NULL, NULL, on_json, &w);
    S2Error *error = wait_json(&w, NULL);
    CHECK(error != NULL && s2_error_status(error) == 409, "409 for an existing basin");
    CHECK(s2_error_basin(error) && strcmp(s2_error_basin(error), basin) == 0, "error names basin");
    CHECK(strcmp(s2_error_kind_name(error), "ALREADY_EXISTS") == 0, "%s",
          s2_error_kind_name(error));
    CHECK(s2_error_code(error) != NULL, "the server's code");
    CHECK_KIND(error, S2_ERROR_ALREADY_EXISTS);

    char request[256];
    snprintf(request, sizeof request, "{\"prefix\":\"%s\",\"limit\":10}", basin);
    waiter_init(&w);
    s2_basins_list(client, request, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"items\":[");
    CHECK_CONTAINS(json, basin);
    CHECK_CONTAINS(json, "\"has_more\":false");
    free(json);

    waiter_init(&w);
    s2_basin_get_config(client, basin, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"create_stream_on_append\":true");
    CHECK_CONTAINS(json, "\"age\":3600");
    free(json);

    waiter_init(&w);
    s2_basin_ensure(client, basin, config, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"created\":false");
    CHECK_CONTAINS(json, "\"config_updated\":false");
    free(json);

    waiter_init(&w);
    s2_basin_reconfigure(client, basin, "{\"create_stream_on_append\":false}", NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"create_stream_on_append\":false");
    CHECK_CONTAINS(json, "\"age\":3600"); /* absent fields stay */
    free(json);

    char *other = unique_basin("ens");
    waiter_init(&w);
    s2_basin_ensure(client, other, NULL, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"created\":true");
    free(json);

    char *missing = unique_basin("none");
    waiter_init(&w);
    s2_basin_get_config(client, missing, NULL, on_json, &w);
    error = wait_json(&w, NULL);
    CHECK(error && s2_error_basin(error) && strcmp(s2_error_basin(error), missing) == 0, "basin");
    CHECK_KIND_MSG(error, S2_ERROR_BASIN_NOT_FOUND, missing);
    waiter_init(&w);
    s2_basin_delete(client, missing, false, NULL, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_BASIN_NOT_FOUND);
    waiter_init(&w);
    s2_basin_delete(client, missing, true, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK(strcmp(json, "null") == 0, "%s", json);
    free(json);

    basin_delete(client, basin);
    basin_delete(client, other);
    free(missing);
    free(other);
    free(basin);
    s2_client_free(client);
}

static void test_streams(void) {
    S2Client *client = new_client();
    char *basin = unique_basin("streams");
    free(basin_create(client, basin, NULL));
    stream_create(client, basin, "orders", "{\"retention_policy\":{\"age\":600}}");

    Waiter w;
    waiter_init(&w);
    s2_stream_create(client, basin, "orders", NULL, NULL, on_json, &w);
    S2Error *error = wait_json(&w, NULL);
    CHECK(error && s2_error_stream(error) && strcmp(s2_error_stream(error), "orders") == 0,
          "error names the stream");
    CHECK_KIND(error, S2_ERROR_ALREADY_EXISTS);

    char *json = NULL;
    waiter_init(&w);
    s2_stream_ensure(client, basin, "events", NULL, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"created\":true");
    CHECK_CONTAINS(json, "events");
    free(json);
    waiter_init(&w);
    s2_stream_ensure(client, basin, "events", NULL, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"created\":false");
    free(json);

    waiter_init(&w);
    s2_streams_list(client, basin, NULL, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"name\":\"events\"");
    CHECK_CONTAINS(json, "\"name\":\"orders\"");
    free(json);
    waiter_init(&w);
    s2_streams_list(client, basin, "{\"prefix\":\"ord\"}", NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"name\":\"orders\"");
    CHECK(strstr(json, "events") == NULL, "prefix filters: %s", json);
    free(json);

    waiter_init(&w);
    s2_stream_get_config(client, basin, "orders", NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"age\":600");
    free(json);
    waiter_init(&w);
    s2_stream_reconfigure(client, basin, "orders", "{\"retention_policy\":{\"age\":60}}", NULL,
                          on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK_CONTAINS(json, "\"age\":60");
    free(json);

    waiter_init(&w);
    s2_stream_get_config(client, basin, "never-was", NULL, on_json, &w);
    error = wait_json(&w, NULL);
    CHECK(error && s2_error_stream(error) && strcmp(s2_error_stream(error), "never-was") == 0,
          "names the stream");
    CHECK_KIND(error, S2_ERROR_STREAM_NOT_FOUND);

    waiter_init(&w);
    s2_stream_delete(client, basin, "orders", false, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, &json));
    CHECK(strcmp(json, "null") == 0, "%s", json);
    free(json);
    waiter_init(&w);
    s2_stream_delete(client, basin, "never-was", true, NULL, on_json, &w);
    CHECK_OK(wait_json(&w, NULL));
    waiter_init(&w);
    s2_stream_delete(client, basin, "never-was", false, NULL, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_STREAM_NOT_FOUND);

    basin_delete(client, basin);
    free(basin);
    s2_client_free(client);
}

static void test_unsupported_calls_fail_clearly(void) {
    S2Client *client = new_client();
    Waiter w;
    waiter_init(&w);
    s2_access_tokens_list(client, NULL, NULL, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);
    waiter_init(&w);
    s2_access_token_issue(client, "{\"id\":\"ci\",\"scope\":{\"ops\":[\"read\"]}}", NULL, on_json,
                          &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);
    waiter_init(&w);
    s2_access_token_revoke(client, "ci", NULL, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);

    /* Metrics and locations: lite answers 501. */
    char *basin = unique_basin("metrics");
    free(basin_create(client, basin, NULL));
    stream_create(client, basin, "s", NULL);
    waiter_init(&w);
    s2_account_metrics(client, "{\"set\":\"active-basins\",\"start\":0,\"end\":60}", NULL,
                       on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);
    waiter_init(&w);
    s2_basin_metrics(client, basin, "{\"set\":\"storage\",\"start\":0,\"end\":60}", NULL,
                     on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);
    waiter_init(&w);
    s2_stream_metrics(client, basin, "s", "{\"set\":\"storage\",\"start\":0,\"end\":60}",
                      NULL, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);
    waiter_init(&w);
    s2_locations_list(client, NULL, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);
    waiter_init(&w);
    s2_location_get_default(client, NULL, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_NOT_SUPPORTED);
    /* A bad metric set is refused before anything is sent. */
    waiter_init(&w);
    s2_account_metrics(client, "{\"set\":\"no-such-set\",\"start\":0,\"end\":60}", NULL,
                       on_json, &w);
    CHECK_KIND_MSG(wait_json(&w, NULL), S2_ERROR_INVALID_ARGUMENT, "set");
    basin_delete(client, basin);
    free(basin);
    s2_client_free(client);
}

static void test_dead_endpoint_is_a_network_error(void) {
    S2Client *client = dead_client();
    Waiter w;
    waiter_init(&w);
    s2_basins_list(client, NULL, NULL, on_json, &w);
    S2Error *error = wait_json(&w, NULL);
    CHECK(error != NULL && s2_error_status(error) == 0, "no HTTP status without an answer");
    CHECK_KIND(error, S2_ERROR_NETWORK);
    S2Stream *stream = open_stream(client, "abcdefgh", "s");
    s2_client_free(client);
    waiter_init(&w);
    s2_stream_check_tail(stream, NULL, on_position, &w);
    error = waiter_wait(&w, WAIT_MS);
    CHECK(error && s2_error_stream(error) && strcmp(s2_error_stream(error), "s") == 0,
          "names the stream");
    CHECK_KIND(error, S2_ERROR_NETWORK);
    waiter_destroy(&w);
    s2_stream_free(stream);
}

/* The access token never shows in an error's texts. */
static void check_no_secret(S2Error *error, const char *secret) {
    CHECK(error != NULL, "an error");
    CHECK(strstr(s2_error_message(error), secret) == NULL, "message leaks the token: %s",
          s2_error_message(error));
    CHECK(strstr(s2_error_server_message(error), secret) == NULL, "server message leaks it");
    s2_error_free(error);
}

static void test_error_texts_carry_no_access_token(void) {
    const char *secret = "sentinel-secret-7f3a";
    char options[512];
    snprintf(options, sizeof options,
             "{\"access_token\":\"%s\",\"endpoint\":\"%s\"}", secret, endpoint);
    S2Client *live = NULL;
    CHECK_OK(s2_client_new(options, &live));
    S2Client *dead = NULL;
    snprintf(options, sizeof options,
             "{\"access_token\":\"%s\",\"endpoint\":\"http://127.0.0.1:1\",\"retry\":"
             "{\"max_attempts\":1}}",
             secret);
    CHECK_OK(s2_client_new(options, &dead));
    char *missing = unique_basin("secret");
    Waiter w;
    waiter_init(&w);
    s2_basin_get_config(live, missing, NULL, on_json, &w);
    check_no_secret(wait_json(&w, NULL), secret);
    waiter_init(&w);
    s2_basins_list(dead, NULL, NULL, on_json, &w);
    check_no_secret(wait_json(&w, NULL), secret);
    S2Stream *stream = open_stream(live, missing, "s");
    S2NewRecord record = body_record("x");
    check_no_secret(append_wait(stream, &record, 1, NULL, NULL), secret);
    s2_stream_free(stream);
    snprintf(options, sizeof options, "{\"access_token\":\"%s\",\"bogus\":1}", secret);
    S2Client *out = NULL;
    check_no_secret(s2_client_new(options, &out), secret);
    free(missing);
    s2_client_free(live);
    s2_client_free(dead);
}

/* ================================================================= data plane */

static void test_append_and_check_tail(void) {
    Fixture f = fixture("append", NULL);
    S2Position tail = check_tail(f.stream);
    CHECK(tail.seq_num == 0, "an empty stream's tail is 0, got %llu",
          (unsigned long long)tail.seq_num);

    static const uint8_t binary[] = {0, 1, 2, 255, 0, 128};
    S2Header headers[2] = {text_header("type", "created"), text_header("trace", "")};
    S2NewRecord records[3];
    records[0] = body_record("first");
    records[0].headers = headers;
    records[0].header_count = 2;
    records[1].body = binary;
    records[1].body_len = sizeof binary;
    records[1].headers = NULL;
    records[1].header_count = 0;
    records[1].has_timestamp = false;
    records[1].timestamp = 0;
    memset(&records[2], 0, sizeof records[2]); /* an empty body */
    S2AppendAck ack;
    double before = (double)wall_ms();
    CHECK_OK(append_wait(f.stream, records, 3, NULL, &ack));
    CHECK(ack.start.seq_num == 0 && ack.end.seq_num == 3 && ack.tail.seq_num == 3,
          "ack %llu..%llu tail %llu", (unsigned long long)ack.start.seq_num,
          (unsigned long long)ack.end.seq_num, (unsigned long long)ack.tail.seq_num);
    CHECK((double)ack.start.timestamp >= before - 60000.0, "arrival timestamp %llu",
          (unsigned long long)ack.start.timestamp);
    tail = check_tail(f.stream);
    CHECK(tail.seq_num == 3, "tail %llu", (unsigned long long)tail.seq_num);

    CHECK_OK(append_wait(f.stream, records, 1, NULL, &ack));
    CHECK(ack.start.seq_num == 3 && ack.end.seq_num == 4, "second append at 3");

    S2ReadBatch *batch = NULL;
    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    CHECK_OK(read_wait(f.stream, &args, &batch));
    size_t n = 0;
    const S2Record *r = s2_batch_records(batch, &n);
    CHECK(n == 4, "read %zu records", n);
    CHECK(bytes_eq(r[0].body, r[0].body_len, "first") && r[0].header_count == 2, "record 0");
    CHECK(bytes_eq(r[0].headers[0].name, r[0].headers[0].name_len, "type") &&
              bytes_eq(r[0].headers[0].value, r[0].headers[0].value_len, "created"),
          "header 0");
    CHECK(bytes_eq(r[0].headers[1].name, r[0].headers[1].name_len, "trace") &&
              r[0].headers[1].value_len == 0,
          "header 1 with an empty value");
    CHECK(r[1].body_len == sizeof binary && memcmp(r[1].body, binary, sizeof binary) == 0,
          "binary body round-trips");
    CHECK(r[2].body_len == 0 && r[2].header_count == 0, "empty record");
    for (size_t i = 0; i < n; i++) {
        CHECK(r[i].seq_num == i && !r[i].is_command, "seq %zu", i);
    }
    s2_batch_free(batch);
    fixture_free(&f);
}

static void test_match_seq_num_and_fencing_conflicts(void) {
    Fixture f = fixture("cond", NULL);
    S2NewRecord record = body_record("a");
    S2AppendConditions at = {true, 0, NULL};
    CHECK_OK(append_wait(f.stream, &record, 1, &at, NULL));

    S2Error *error = append_wait(f.stream, &record, 1, &at, NULL);
    CHECK(error != NULL, "a stale match_seq_num fails");
    CHECK(s2_error_kind(error) == S2_ERROR_SEQ_NUM_MISMATCH, "kind %s: %s",
          s2_error_kind_name(error), s2_error_message(error));
    CHECK(s2_error_expected_seq_num(error) == 1, "expected seq num %lld",
          (long long)s2_error_expected_seq_num(error));
    CHECK(strcmp(s2_error_kind_name(error), "SEQ_NUM_MISMATCH") == 0, "kind name");
    CHECK_CONTAINS(s2_error_server_message(error), "expected 1");
    CHECK(s2_error_expected_fencing_token(error) == NULL, "no token for a seq num mismatch");
    CHECK(!s2_error_is_retryable(error), "not retryable");
    CHECK(s2_error_basin(error) && strcmp(s2_error_basin(error), f.basin) == 0, "basin");
    CHECK(s2_error_stream(error) && strcmp(s2_error_stream(error), "s") == 0, "stream");
    s2_error_free(error);
    at.match_seq_num = 1;
    CHECK_OK(append_wait(f.stream, &record, 1, &at, NULL));

    /* Fence, then appends with another token fail with the current one. */
    Waiter w;
    waiter_init(&w);
    s2_stream_fence(f.stream, "writer-1", NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.ack.start.seq_num == 2 && w.ack.end.seq_num == 3, "the fence is record 2");
    waiter_destroy(&w);

    S2AppendConditions other = {false, 0, "writer-2"};
    error = append_wait(f.stream, &record, 1, &other, NULL);
    CHECK(error != NULL && s2_error_kind(error) == S2_ERROR_FENCING_TOKEN_MISMATCH, "kind %s",
          s2_error_kind_name(error));
    CHECK(s2_error_expected_fencing_token(error) != NULL &&
              strcmp(s2_error_expected_fencing_token(error), "writer-1") == 0,
          "current token %s", s2_error_expected_fencing_token(error));
    CHECK(s2_error_expected_seq_num(error) == -1, "no seq num for a token mismatch");
    CHECK(strcmp(s2_error_kind_name(error), "FENCING_TOKEN_MISMATCH") == 0, "kind name");
    s2_error_free(error);

    S2AppendConditions owner = {true, 3, "writer-1"};
    S2AppendAck ack;
    CHECK_OK(append_wait(f.stream, &record, 1, &owner, &ack));
    CHECK(ack.start.seq_num == 3, "the owner appends");

    /* Taking over: fence with a new token, conditioned on the current one. */
    waiter_init(&w);
    s2_stream_fence(f.stream, "writer-2", &owner, NULL, on_append, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), S2_ERROR_SEQ_NUM_MISMATCH); /* seq 3 is taken */
    waiter_destroy(&w);
    S2AppendConditions take_over = {false, 0, "writer-1"};
    waiter_init(&w);
    s2_stream_fence(f.stream, "writer-2", &take_over, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_destroy(&w);
    error = append_wait(f.stream, &record, 1, &take_over, NULL);
    CHECK(error && s2_error_expected_fencing_token(error) &&
              strcmp(s2_error_expected_fencing_token(error), "writer-2") == 0,
          "the old owner is fenced out");
    CHECK_KIND(error, S2_ERROR_FENCING_TOKEN_MISMATCH);
    fixture_free(&f);
}

/* Five records with client timestamps base + i * 1000 and an "index" header each. */
static uint64_t append_timed_records(S2Stream *stream) {
    static const char *bodies[] = {"r0", "r1", "r2", "r3", "r4"};
    static const char *indexes[] = {"0", "1", "2", "3", "4"};
    uint64_t base = wall_ms() - 60000;
    S2Header headers[6];
    S2NewRecord records[5];
    for (int i = 0; i < 5; i++) {
        headers[i] = text_header("index", indexes[i]);
        records[i] = body_record(bodies[i]);
        records[i].headers = &headers[i];
        records[i].header_count = 1;
        records[i].has_timestamp = true;
        records[i].timestamp = base + (uint64_t)i * 1000;
    }
    headers[5] = text_header("extra", "yes");
    S2Header two[2] = {headers[2], headers[5]};
    records[2].headers = two;
    records[2].header_count = 2;
    CHECK_OK(append_wait(stream, records, 5, NULL, NULL));
    return base;
}

/* Checks that `batch` holds records first..first+count-1 of append_timed_records. */
static void check_timed(S2ReadBatch *batch, uint64_t base, size_t first, size_t count) {
    size_t n = 0;
    const S2Record *r = s2_batch_records(batch, &n);
    CHECK(n == count, "%zu records, expected %zu", n, count);
    for (size_t i = 0; i < n; i++) {
        size_t k = first + i;
        char body[8], index[8];
        snprintf(body, sizeof body, "r%zu", k);
        snprintf(index, sizeof index, "%zu", k);
        CHECK(r[i].seq_num == k, "seq %llu, expected %zu", (unsigned long long)r[i].seq_num, k);
        CHECK(r[i].timestamp == base + k * 1000, "timestamp of %zu", k);
        CHECK(bytes_eq(r[i].body, r[i].body_len, body), "body of %zu", k);
        CHECK(r[i].header_count == (k == 2 ? 2u : 1u), "headers of %zu", k);
        CHECK(bytes_eq(r[i].headers[0].name, r[i].headers[0].name_len, "index") &&
                  bytes_eq(r[i].headers[0].value, r[i].headers[0].value_len, index),
              "index header of %zu", k);
        if (k == 2)
            CHECK(bytes_eq(r[i].headers[1].name, r[i].headers[1].name_len, "extra") &&
                      bytes_eq(r[i].headers[1].value, r[i].headers[1].value_len, "yes"),
                  "second header");
    }
}

static void test_reads_from_every_start_with_limits(void) {
    Fixture f = fixture("reads", "{\"timestamping\":{\"mode\":\"client-prefer\"}}");
    uint64_t base = append_timed_records(f.stream);
    S2ReadBatch *batch = NULL;

    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    CHECK_OK(read_wait(f.stream, &args, &batch));
    check_timed(batch, base, 0, 5);
    S2Position tail;
    if (s2_batch_tail(batch, &tail)) CHECK(tail.seq_num == 5, "batch tail");
    s2_batch_free(batch);
    CHECK_OK(read_wait(f.stream, NULL, &batch)); /* NULL args: from 0 */
    check_timed(batch, base, 0, 5);
    s2_batch_free(batch);

    args = read_args(S2_READ_FROM_SEQ_NUM, 1);
    args.count = 2;
    CHECK_OK(read_wait(f.stream, &args, &batch));
    check_timed(batch, base, 1, 2);
    s2_batch_free(batch);

    args = read_args(S2_READ_FROM_TAIL_OFFSET, 2);
    CHECK_OK(read_wait(f.stream, &args, &batch));
    check_timed(batch, base, 3, 2);
    s2_batch_free(batch);

    args = read_args(S2_READ_FROM_TIMESTAMP, base + 2500);
    CHECK_OK(read_wait(f.stream, &args, &batch));
    check_timed(batch, base, 3, 2);
    s2_batch_free(batch);

    args = read_args(S2_READ_FROM_TIMESTAMP, base + 1000);
    args.has_until = true;
    args.until_timestamp = base + 3000; /* stops before r3 */
    CHECK_OK(read_wait(f.stream, &args, &batch));
    check_timed(batch, base, 1, 2);
    s2_batch_free(batch);

    /* Metered bytes of r0: 8 + 2 per header + "index" + "0" + "r0" = 18. */
    args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    args.bytes = 18;
    CHECK_OK(read_wait(f.stream, &args, &batch));
    check_timed(batch, base, 0, 1);
    s2_batch_free(batch);
    args.bytes = 18 + 17; /* r1 is 18 too: not enough for two */
    CHECK_OK(read_wait(f.stream, &args, &batch));
    check_timed(batch, base, 0, 1);
    s2_batch_free(batch);

    /* Past the tail: the tail comes with the error; clamped with a wait, an empty batch. */
    args = read_args(S2_READ_FROM_SEQ_NUM, 10);
    S2Error *error = read_wait(f.stream, &args, &batch);
    CHECK(error && s2_error_kind(error) == S2_ERROR_READ_UNWRITTEN, "past the tail");
    S2Position at = {0, 0};
    CHECK(s2_error_tail(error, &at) && at.seq_num == 5, "the error's tail %llu",
          (unsigned long long)at.seq_num);
    s2_error_free(error);
    args.clamp_to_tail = true;
    args.wait_secs = 1;
    CHECK_OK(read_wait(f.stream, &args, &batch));
    size_t n = 99;
    CHECK(s2_batch_records(batch, &n) == NULL && n == 0, "an empty batch");
    s2_batch_free(batch);
    fixture_free(&f);
}

static void test_fence_and_trim(void) {
    Fixture f = fixture("trim", NULL);
    const char *bodies[] = {"a", "b", "c"};
    append_bodies(f.stream, bodies, 3);
    Waiter w;
    waiter_init(&w);
    s2_stream_fence(f.stream, "tok", NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.ack.start.seq_num == 3, "fence at 3");
    waiter_destroy(&w);

    S2ReadBatch *batch = NULL;
    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, 3);
    CHECK_OK(read_wait(f.stream, &args, &batch));
    size_t n = 0;
    const S2Record *r = s2_batch_records(batch, &n);
    CHECK(n == 1 && r[0].is_command && r[0].header_count == 1 && r[0].headers[0].name_len == 0,
          "the fence is a command record");
    CHECK(bytes_eq(r[0].body, r[0].body_len, "tok"), "its body is the token");
    s2_batch_free(batch);

    S2AppendConditions token = {false, 0, "tok"};
    waiter_init(&w);
    s2_stream_trim(f.stream, 2, &token, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.ack.start.seq_num == 4, "trim at 4");
    waiter_destroy(&w);
    waiter_init(&w);
    s2_stream_trim(f.stream, 2, NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS)); /* no token given: no check */
    waiter_destroy(&w);
    S2AppendConditions wrong = {false, 0, "nope"};
    waiter_init(&w);
    s2_stream_trim(f.stream, 3, &wrong, NULL, on_append, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), S2_ERROR_FENCING_TOKEN_MISMATCH);
    waiter_destroy(&w);

    /* Records before the trim point go (eventually); command records can be left out. */
    double deadline = now_ms() + 10000;
    for (;;) {
        args = read_args(S2_READ_FROM_SEQ_NUM, 0);
        args.ignore_command_records = true;
        CHECK_OK(read_wait(f.stream, &args, &batch));
        r = s2_batch_records(batch, &n);
        for (size_t i = 0; i < n; i++) CHECK(!r[i].is_command, "command records left out");
        bool trimmed = n == 1 && r[0].seq_num == 2 && bytes_eq(r[0].body, r[0].body_len, "c");
        s2_batch_free(batch);
        if (trimmed) break;
        CHECK(now_ms() < deadline, "records before 2 still there after 10 s (%zu records)", n);
        sleep_ms(100);
    }
    fixture_free(&f);
}

/* ================================================================= append sessions */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int accepted;
    int acked;
    int failed;
    int order[256];
    S2AppendAck acks[256];
    S2ErrorKind kinds[256];
} Pipeline;

typedef struct {
    Pipeline *pipeline;
    int index;
    int accepted_calls;
    int ack_calls;
    S2ErrorKind accepted_kind; /* -1: success */
} Submission;

static void pipeline_init(Pipeline *p) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
}

static void pipeline_destroy(Pipeline *p) {
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

static void on_accepted(void *ud, S2Error *error) {
    fired();
    Submission *s = ud;
    pthread_mutex_lock(&s->pipeline->mu);
    s->accepted_calls++;
    s->accepted_kind = error ? s2_error_kind(error) : (S2ErrorKind)-1;
    s->pipeline->accepted++;
    pthread_cond_broadcast(&s->pipeline->cv);
    pthread_mutex_unlock(&s->pipeline->mu);
    s2_error_free(error);
}

static void record_ack(Submission *s, const S2AppendAck *ack, S2Error *error) {
    Pipeline *p = s->pipeline;
    pthread_mutex_lock(&p->mu);
    CHECK(s->accepted_calls == 1, "batch %d: accepted fires (once) before its ack", s->index);
    s->ack_calls++;
    int slot = p->acked + p->failed;
    CHECK(slot < 256, "too many acks");
    p->order[slot] = s->index;
    if (ack) p->acks[slot] = *ack;
    p->kinds[slot] = error ? s2_error_kind(error) : (S2ErrorKind)-1;
    if (error) p->failed++;
    else p->acked++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    s2_error_free(error);
}

static void on_batch_ack(void *ud, const S2AppendAck *ack, S2Error *error) {
    fired();
    CHECK((ack == NULL) != (error == NULL), "ack: exactly one of ack and error");
    record_ack(ud, ack, error);
}

/* Waits until `count` acknowledgements (of either outcome) arrived. */
static void pipeline_wait(Pipeline *p, int count) {
    double deadline = now_ms() + WAIT_MS;
    pthread_mutex_lock(&p->mu);
    while (p->acked + p->failed < count) {
        pthread_mutex_unlock(&p->mu);
        CHECK(now_ms() < deadline, "%d of %d acknowledgements", p->acked + p->failed, count);
        sleep_ms(5);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

static void close_session(S2AppendSession *session, Pipeline *p, int acks_before_close) {
    Waiter w;
    waiter_init(&w);
    s2_append_session_close(session, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    pthread_mutex_lock(&p->mu);
    CHECK(p->acked + p->failed == acks_before_close, "every ack is delivered before the close");
    pthread_mutex_unlock(&p->mu);
    waiter_destroy(&w);
}

static void test_append_session_pipelined_in_order(void) {
    Fixture f = fixture("sess", NULL);
    S2AppendSession *session = NULL;
    CHECK_OK(s2_append_session_open(f.stream, "{\"max_unacked_bytes\":1048576}", &session));
    Pipeline p;
    pipeline_init(&p);
    enum { BATCHES = 50, PER = 10 };
    static Submission subs[BATCHES];
    char bodies[BATCHES][PER][24];
    S2Header header = text_header("session", "yes");
    for (int b = 0; b < BATCHES; b++) {
        S2NewRecord records[PER];
        for (int i = 0; i < PER; i++) {
            snprintf(bodies[b][i], sizeof bodies[b][i], "batch %d record %d", b, i);
            records[i] = body_record(bodies[b][i]);
            records[i].headers = &header;
            records[i].header_count = 1;
        }
        subs[b] = (Submission){&p, b, 0, 0, 0};
        expect_callbacks(2);
        /* Pipelined: every batch submitted at once, without waiting for acknowledgements. */
        s2_append_session_submit(session, records, PER, NULL, on_accepted, on_batch_ack, &subs[b]);
    }
    pipeline_wait(&p, BATCHES);
    CHECK(p.failed == 0, "%d batches failed", p.failed);
    for (int i = 0; i < BATCHES; i++) {
        CHECK(p.order[i] == i, "ack %d was batch %d: out of order", i, p.order[i]);
        CHECK(p.acks[i].start.seq_num == (uint64_t)i * PER &&
                  p.acks[i].end.seq_num == (uint64_t)(i + 1) * PER,
              "batch %d at %llu..%llu", i, (unsigned long long)p.acks[i].start.seq_num,
              (unsigned long long)p.acks[i].end.seq_num);
        CHECK(p.acks[i].tail.seq_num >= p.acks[i].end.seq_num, "tail");
    }
    /* A batch that fails its checks reports to both callbacks at once. */
    S2Header empty_name = text_header("", "command?");
    S2NewRecord bad = body_record("x");
    bad.headers = &empty_name;
    bad.header_count = 1;
    Submission rejected = {&p, 99, 0, 0, 0};
    expect_callbacks(2);
    s2_append_session_submit(session, &bad, 1, NULL, on_accepted, on_batch_ack, &rejected);
    CHECK(rejected.accepted_calls == 1 && rejected.ack_calls == 1, "rejected at once");
    CHECK(rejected.accepted_kind == S2_ERROR_INVALID_ARGUMENT, "invalid argument");
    CHECK(p.kinds[BATCHES] == S2_ERROR_INVALID_ARGUMENT, "ack invalid argument");
    /* An empty batch is refused too (its check runs on the runtime), and the session goes on. */
    Submission empty = {&p, 98, 0, 0, 0};
    expect_callbacks(2);
    s2_append_session_submit(session, NULL, 0, NULL, on_accepted, on_batch_ack, &empty);
    pipeline_wait(&p, BATCHES + 2);
    CHECK(p.kinds[BATCHES + 1] == S2_ERROR_INVALID_ARGUMENT, "empty batch: kind %d",
          (int)p.kinds[BATCHES + 1]);

    /* A conditioned batch: right, then wrong match_seq_num. */
    S2NewRecord one = body_record("conditioned");
    S2AppendConditions at = {true, BATCHES * PER, NULL};
    Submission good = {&p, 100, 0, 0, 0};
    expect_callbacks(2);
    s2_append_session_submit(session, &one, 1, &at, on_accepted, on_batch_ack, &good);
    pipeline_wait(&p, BATCHES + 3);
    CHECK(p.kinds[BATCHES + 2] == (S2ErrorKind)-1, "a matching match_seq_num is stored: %d",
          (int)p.kinds[BATCHES + 2]);
    close_session(session, &p, BATCHES + 3);
    for (int b = 0; b < BATCHES; b++)
        CHECK(subs[b].accepted_calls == 1 && subs[b].ack_calls == 1, "batch %d: once each", b);
    s2_append_session_free(session);
    CHECK(check_tail(f.stream).seq_num == BATCHES * PER + 1, "every record stored");
    pipeline_destroy(&p);

    /* A wrong match_seq_num fails that batch with the expected value. */
    CHECK_OK(s2_append_session_open(f.stream, NULL, &session));
    pipeline_init(&p);
    at.match_seq_num = 3;
    Submission stale = {&p, 0, 0, 0, 0};
    expect_callbacks(2);
    s2_append_session_submit(session, &one, 1, &at, on_accepted, on_batch_ack, &stale);
    pipeline_wait(&p, 1);
    CHECK(p.kinds[0] == S2_ERROR_SEQ_NUM_MISMATCH, "kind %d", (int)p.kinds[0]);
    Waiter w;
    waiter_init(&w);
    s2_append_session_close(session, on_done, &w);
    S2Error *error = waiter_wait(&w, WAIT_MS); /* reports the first failure */
    CHECK(error != NULL, "the close reports the failed batch");
    s2_error_free(error);
    waiter_destroy(&w);
    s2_append_session_free(session);
    pipeline_destroy(&p);
    fixture_free(&f);
}

/* ================================================================= producers */

typedef struct {
    pthread_mutex_t mu;
    int acked;
    int failed;
    uint64_t seq[512];
    S2AppendAck batch[512];
    int order[512];
    S2ErrorKind first_error;
} ProducerLog;

typedef struct {
    ProducerLog *log;
    int index;
    int accepted_calls;
    int ack_calls;
} ProducerSub;

static void on_record_accepted(void *ud, S2Error *error) {
    fired();
    ProducerSub *s = ud;
    pthread_mutex_lock(&s->log->mu);
    s->accepted_calls++;
    pthread_mutex_unlock(&s->log->mu);
    s2_error_free(error);
}

static void on_record_ack(void *ud, uint64_t seq_num, const S2AppendAck *batch, S2Error *error) {
    fired();
    ProducerSub *s = ud;
    ProducerLog *log = s->log;
    CHECK((batch == NULL) != (error == NULL), "record ack: exactly one of batch and error");
    CHECK(error == NULL || seq_num == 0, "seq_num 0 on error");
    pthread_mutex_lock(&log->mu);
    CHECK(s->accepted_calls == 1, "record %d: accepted fires (once) before its ack", s->index);
    s->ack_calls++;
    int slot = log->acked + log->failed;
    CHECK(slot < 512, "too many acks");
    log->order[slot] = s->index;
    log->seq[slot] = seq_num;
    if (batch) log->batch[slot] = *batch;
    if (error) {
        if (log->failed == 0) log->first_error = s2_error_kind(error);
        log->failed++;
    } else {
        log->acked++;
    }
    pthread_mutex_unlock(&log->mu);
    s2_error_free(error);
}

static int producer_count(ProducerLog *log) {
    pthread_mutex_lock(&log->mu);
    int n = log->acked + log->failed;
    pthread_mutex_unlock(&log->mu);
    return n;
}

static void producer_wait(ProducerLog *log, int count) {
    double deadline = now_ms() + WAIT_MS;
    while (producer_count(log) < count) {
        CHECK(now_ms() < deadline, "%d of %d record acks", producer_count(log), count);
        sleep_ms(5);
    }
}

static void producer_done(const S2Producer *producer, bool close) {
    Waiter w;
    waiter_init(&w);
    if (close) s2_producer_close(producer, on_done, &w);
    else s2_producer_flush(producer, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_destroy(&w);
}

/* Closes a producer whose records failed (the close reports that failure too) and frees it. */
static void producer_close_failed(S2Producer *producer) {
    Waiter w;
    waiter_init(&w);
    s2_producer_close(producer, on_done, &w);
    s2_error_free(waiter_wait(&w, WAIT_MS));
    waiter_destroy(&w);
    s2_producer_free(producer);
}

/* s2_producer_try_submit takes records on the calling thread when the producer has room and
 * nothing is queued ahead; mixed with s2_producer_submit (its fallback on FULL), every record
 * keeps its call order. A refused try fires no callback. */
static void test_producer_try_submit_keeps_order(void) {
    Fixture f = fixture("tryprod", NULL);
    S2Producer *producer = NULL;
    CHECK_OK(s2_producer_open(f.stream, "{\"linger_ms\":2,\"match_seq_num\":0}", &producer));
    ProducerLog log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    enum { RECORDS = 300 };
    static ProducerSub subs[RECORDS];
    int direct = 0, full = 0;
    for (int i = 0; i < RECORDS; i++) {
        char body[32];
        snprintf(body, sizeof body, "try %d", i);
        S2NewRecord record = body_record(body);
        subs[i] = (ProducerSub){&log, i, 0, 0};
        if (i % 50 == 25) { /* a queued submission: tries right after it must not overtake it */
            expect_callbacks(2);
            s2_producer_submit(producer, &record, on_record_accepted, on_record_ack, &subs[i]);
            continue;
        }
        subs[i].accepted_calls = 1; /* no accepted callback on the direct path */
        S2Error *error = (S2Error *)&error;
        expect_callbacks(1);
        int32_t result = s2_producer_try_submit(producer, &record, on_record_ack, &subs[i], &error);
        CHECK(result == S2_SUBMIT_OK || result == S2_SUBMIT_FULL, "try %d: result %d", i, result);
        CHECK(error == NULL, "try %d: error_out cleared", i);
        if (result == S2_SUBMIT_OK) {
            direct++;
            continue;
        }
        full++;
        expect_callbacks(-1); /* FULL: the ack never fires */
        subs[i].accepted_calls = 0;
        expect_callbacks(2);
        s2_producer_submit(producer, &record, on_record_accepted, on_record_ack, &subs[i]);
    }
    producer_wait(&log, RECORDS);
    CHECK(direct > 0, "some records went the direct way (%d direct, %d full)", direct, full);
    CHECK(log.failed == 0, "%d records failed", log.failed);
    for (int i = 0; i < RECORDS; i++) {
        CHECK(log.order[i] == i && log.seq[i] == (uint64_t)i, "ack %d was for record %d (seq %llu)",
              i, log.order[i], (unsigned long long)log.seq[i]);
        CHECK(subs[i].ack_calls == 1, "record %d acknowledged once", i);
    }

    /* Refused at once, no callback: a NULL record, a NULL producer, an empty header name. */
    S2Error *error = NULL;
    CHECK(s2_producer_try_submit(producer, NULL, on_record_ack, &subs[0], &error) ==
              S2_SUBMIT_ERROR,
          "NULL record");
    CHECK_KIND_MSG(error, S2_ERROR_INVALID_ARGUMENT, "record");
    S2NewRecord record = body_record("x");
    CHECK(s2_producer_try_submit(NULL, &record, on_record_ack, &subs[0], &error) == S2_SUBMIT_ERROR,
          "NULL producer");
    CHECK_KIND_MSG(error, S2_ERROR_INVALID_ARGUMENT, "producer");
    S2Header empty_name = text_header("", "v");
    record.headers = &empty_name;
    record.header_count = 1;
    CHECK(s2_producer_try_submit(producer, &record, on_record_ack, &subs[0], &error) ==
              S2_SUBMIT_ERROR,
          "empty header name");
    CHECK_KIND_MSG(error, S2_ERROR_INVALID_ARGUMENT, "records[0].headers[0].name");
    CHECK(s2_producer_try_submit(producer, &record, on_record_ack, &subs[0], NULL) ==
              S2_SUBMIT_ERROR,
          "a NULL error_out is allowed");

    producer_done(producer, true);
    record.headers = NULL;
    record.header_count = 0;
    CHECK(s2_producer_try_submit(producer, &record, on_record_ack, &subs[0], &error) ==
              S2_SUBMIT_ERROR,
          "after close");
    CHECK_KIND_MSG(error, S2_ERROR_CLOSED, "closed");
    s2_producer_free(producer);
    pthread_mutex_destroy(&log.mu);
    fixture_free(&f);
}

/* The counted acknowledgements: one call per run of consecutive records that share the callback
 * and user data. Every record is covered exactly once and in order, a run never spans another
 * callback or user data, runs do join (far fewer calls than records), and a failed record is
 * reported alone. */
typedef struct {
    pthread_mutex_t mu;
    uint64_t delivered; /* records covered so far, in order */
    int calls;
    int failed;
    S2ErrorKind first_error;
    uint64_t records[2]; /* covered per owner (0: counted A, 1: counted B) */
    int calls_of[2];
    char owner_of[2400];  /* who submitted each record: 'A', 'B' or 'r' (per-record) */
    char covered_by[2400];
} CountedLog;

typedef struct {
    CountedLog *log;
    int owner;
} CountedOwner;

static void on_counted_ack(void *ud, uint64_t first_seq_num, uint64_t count, S2Error *error) {
    /* How many calls there are is up to the joins: each one is counted as it comes, then the
     * coverage proves every record was delivered exactly once. */
    expect_callbacks(1);
    fired();
    CountedOwner *o = ud;
    CountedLog *log = o->log;
    pthread_mutex_lock(&log->mu);
    log->calls++;
    log->calls_of[o->owner]++;
    if (error) {
        CHECK(count == 1 && first_seq_num == 0, "a failure is reported alone (count %llu)",
              (unsigned long long)count);
        if (log->failed == 0) log->first_error = s2_error_kind(error);
        log->failed++;
    } else {
        CHECK(count >= 1, "a run covers at least one record");
        CHECK(first_seq_num == log->delivered, "run at %llu, expected %llu (in order, no gap)",
              (unsigned long long)first_seq_num, (unsigned long long)log->delivered);
        for (uint64_t seq = first_seq_num; seq < first_seq_num + count; seq++) {
            CHECK(seq < sizeof log->owner_of, "seq %llu in range", (unsigned long long)seq);
            CHECK(log->owner_of[seq] == (o->owner ? 'B' : 'A'),
                  "record %llu (%c) delivered in a run of %c", (unsigned long long)seq,
                  log->owner_of[seq], o->owner ? 'B' : 'A');
            CHECK(log->covered_by[seq] == 0, "record %llu delivered twice", (unsigned long long)seq);
            log->covered_by[seq] = 1;
        }
        log->delivered += count;
        log->records[o->owner] += count;
    }
    pthread_mutex_unlock(&log->mu);
    s2_error_free(error);
}

static void on_counted_per_record_ack(void *ud, uint64_t seq_num, const S2AppendAck *batch,
                                      S2Error *error) {
    fired();
    CountedLog *log = ud;
    CHECK(error == NULL && batch != NULL, "per-record ack stored");
    s2_error_free(error);
    pthread_mutex_lock(&log->mu);
    CHECK(seq_num == log->delivered && log->owner_of[seq_num] == 'r',
          "per-record ack %llu in order", (unsigned long long)seq_num);
    log->covered_by[seq_num] = 1;
    log->delivered++;
    pthread_mutex_unlock(&log->mu);
}

static void counted_wait(CountedLog *log, uint64_t records) {
    double deadline = now_ms() + WAIT_MS;
    for (;;) {
        pthread_mutex_lock(&log->mu);
        uint64_t done = log->delivered + (uint64_t)log->failed;
        pthread_mutex_unlock(&log->mu);
        if (done >= records) return;
        CHECK(now_ms() < deadline, "%llu of %llu records acknowledged", (unsigned long long)done,
              (unsigned long long)records);
        sleep_ms(5);
    }
}

static void counted_accepted(void *ud, S2Error *error) {
    (void)ud;
    fired();
    s2_error_free(error);
}

static void test_producer_counted_acks_join_runs_and_cover_every_record_once(void) {
    Fixture f = fixture("counted", NULL);
    S2Producer *producer = NULL;
    CHECK_OK(s2_producer_open(f.stream, "{\"linger_ms\":20,\"match_seq_num\":0}", &producer));
    static CountedLog log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    CountedOwner a = {&log, 0}, b = {&log, 1};
    enum { RECORDS = 2400 };
    for (int i = 0; i < RECORDS; i++) {
        char body[32];
        snprintf(body, sizeof body, "counted %d", i);
        S2NewRecord record = body_record(body);
        /* Mostly A; a stretch of B and a few per-record acks break the runs. */
        bool per_record = i % 500 == 250;
        CountedOwner *owner = (i >= 1000 && i < 1100) ? &b : &a;
        log.owner_of[i] = per_record ? 'r' : (owner == &b ? 'B' : 'A');
        S2Error *error = NULL;
        int32_t tried;
        if (per_record) {
            expect_callbacks(1);
            tried = s2_producer_try_submit(producer, &record, on_counted_per_record_ack, &log, &error);
            if (tried == S2_SUBMIT_FULL) {
                expect_callbacks(1); /* the accepted callback */
                s2_producer_submit(producer, &record, counted_accepted, on_counted_per_record_ack, &log);
            }
        } else {
            tried = s2_producer_try_submit_counted(producer, &record, on_counted_ack, owner, &error);
            if (tried == S2_SUBMIT_FULL) {
                expect_callbacks(1);
                s2_producer_submit_counted(producer, &record, counted_accepted, on_counted_ack, owner);
            }
        }
        CHECK(tried != S2_SUBMIT_ERROR && error == NULL, "record %d: submitted", i);
    }
    producer_done(producer, true);
    counted_wait(&log, RECORDS);
    s2_producer_free(producer);
    CHECK(log.failed == 0, "%d records failed", log.failed);
    CHECK(log.delivered == RECORDS, "%llu records delivered", (unsigned long long)log.delivered);
    for (int i = 0; i < RECORDS; i++) CHECK(log.covered_by[i] == 1, "record %d covered", i);
    CHECK(log.records[1] == 100, "B's records: %llu", (unsigned long long)log.records[1]);
    CHECK(log.records[0] == RECORDS - 100 - 5, "A's records: %llu", (unsigned long long)log.records[0]);
    CHECK(log.calls_of[0] * 4 < (int)log.records[0],
          "runs joined: %d calls for %llu records of A", log.calls_of[0],
          (unsigned long long)log.records[0]);

    /* A stale match_seq_num: every record fails, each reported alone. */
    CHECK_OK(s2_producer_open(f.stream, "{\"match_seq_num\":5,\"linger_ms\":20}", &producer));
    pthread_mutex_destroy(&log.mu);
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    for (int i = 0; i < 5; i++) {
        S2NewRecord record = body_record("stale");
        log.owner_of[i] = 'A';
        S2Error *error = NULL;
        int32_t tried = s2_producer_try_submit_counted(producer, &record, on_counted_ack, &a, &error);
        if (tried == S2_SUBMIT_FULL) {
            expect_callbacks(1);
            s2_producer_submit_counted(producer, &record, counted_accepted, on_counted_ack, &a);
        }
        CHECK(tried != S2_SUBMIT_ERROR, "stale %d: submitted", i);
    }
    counted_wait(&log, 5);
    CHECK(log.failed == 5 && log.calls == 5 && log.first_error == S2_ERROR_SEQ_NUM_MISMATCH,
          "%d failed in %d calls, kind %d", log.failed, log.calls, (int)log.first_error);
    producer_close_failed(producer);
    pthread_mutex_destroy(&log.mu);
    fixture_free(&f);
}

static void test_producer_per_record_acks(void) {
    Fixture f = fixture("prod", NULL);
    S2Producer *producer = NULL;
    CHECK_OK(s2_producer_open(
        f.stream, "{\"linger_ms\":2,\"max_batch_records\":7,\"match_seq_num\":0}", &producer));
    ProducerLog log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    enum { RECORDS = 200 };
    static ProducerSub subs[RECORDS];
    for (int i = 0; i < RECORDS; i++) {
        char body[32], index[16];
        snprintf(body, sizeof body, "message %d", i);
        snprintf(index, sizeof index, "%d", i);
        S2Header header = text_header("i", index);
        S2NewRecord record = body_record(body);
        record.headers = &header;
        record.header_count = 1;
        subs[i] = (ProducerSub){&log, i, 0, 0};
        expect_callbacks(2);
        s2_producer_submit(producer, &record, on_record_accepted, on_record_ack, &subs[i]);
        if (i == RECORDS / 2) producer_done(producer, false); /* flush midway */
    }
    producer_done(producer, false);
    /* The flush reports once every record is stored; their ack callbacks run on another task
     * and may still be on their way. */
    producer_wait(&log, RECORDS);
    CHECK(log.failed == 0, "%d records failed", log.failed);
    for (int i = 0; i < RECORDS; i++) {
        CHECK(log.order[i] == i, "ack %d was for record %d", i, log.order[i]);
        CHECK(log.seq[i] == (uint64_t)i, "record %d got seq %llu", i,
              (unsigned long long)log.seq[i]);
        CHECK(log.batch[i].start.seq_num <= log.seq[i] && log.seq[i] < log.batch[i].end.seq_num,
              "record %d inside its batch", i);
        CHECK(log.batch[i].end.seq_num - log.batch[i].start.seq_num <= 7, "max_batch_records");
        CHECK(subs[i].accepted_calls == 1 && subs[i].ack_calls == 1, "record %d: once each", i);
    }
    producer_done(producer, true);
    s2_producer_free(producer);

    /* Read back: bodies and headers in order. */
    size_t seen = 0;
    while (seen < RECORDS) {
        S2ReadBatch *batch = NULL;
        S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, seen);
        CHECK_OK(read_wait(f.stream, &args, &batch));
        size_t n = 0;
        const S2Record *r = s2_batch_records(batch, &n);
        CHECK(n > 0, "records below the tail");
        for (size_t i = 0; i < n; i++, seen++) {
            char body[32], index[16];
            snprintf(body, sizeof body, "message %zu", seen);
            snprintf(index, sizeof index, "%zu", seen);
            CHECK(r[i].seq_num == seen && bytes_eq(r[i].body, r[i].body_len, body), "%zu", seen);
            CHECK(r[i].header_count == 1 &&
                      bytes_eq(r[i].headers[0].value, r[i].headers[0].value_len, index),
                  "header of %zu", seen);
        }
        s2_batch_free(batch);
    }
    CHECK(seen == RECORDS, "read %zu", seen);

    /* Fenced: a producer carrying the token appends, one carrying another token fails. */
    Waiter fence;
    waiter_init(&fence);
    s2_stream_fence(f.stream, "prod-1", NULL, NULL, on_append, &fence);
    CHECK_OK(waiter_wait(&fence, WAIT_MS));
    waiter_destroy(&fence);
    CHECK_OK(s2_producer_open(f.stream, "{\"fencing_token\":\"prod-1\"}", &producer));
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    ProducerSub owner = {&log, 0, 0, 0};
    S2NewRecord owned = body_record("owned");
    expect_callbacks(2);
    s2_producer_submit(producer, &owned, on_record_accepted, on_record_ack, &owner);
    producer_done(producer, true);
    CHECK(log.acked == 1 && log.seq[0] == RECORDS + 1, "the token holder appends at %llu",
          (unsigned long long)log.seq[0]);
    s2_producer_free(producer);
    CHECK_OK(s2_producer_open(f.stream, "{\"fencing_token\":\"prod-2\"}", &producer));
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    ProducerSub intruder = {&log, 0, 0, 0};
    expect_callbacks(2);
    s2_producer_submit(producer, &owned, on_record_accepted, on_record_ack, &intruder);
    producer_wait(&log, 1);
    CHECK(log.failed == 1 && log.first_error == S2_ERROR_FENCING_TOKEN_MISMATCH, "kind %d",
          (int)log.first_error);
    producer_close_failed(producer);

    /* A producer whose match_seq_num is stale: its records fail with the mismatch. */
    CHECK_OK(s2_producer_open(f.stream, "{\"match_seq_num\":5}", &producer));
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    ProducerSub stale = {&log, 0, 0, 0};
    S2NewRecord record = body_record("stale");
    expect_callbacks(2);
    s2_producer_submit(producer, &record, on_record_accepted, on_record_ack, &stale);
    producer_wait(&log, 1);
    CHECK(log.failed == 1 && log.first_error == S2_ERROR_SEQ_NUM_MISMATCH, "kind %d",
          (int)log.first_error);
    producer_close_failed(producer);
    pthread_mutex_destroy(&log.mu);
    fixture_free(&f);
}

/* ================================================================= read sessions */

static S2ReadSession *open_session(S2Stream *stream, const S2ReadArgs *args) {
    Waiter w;
    waiter_init(&w);
    s2_read_session_open(stream, args, false, NULL, on_session, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    S2ReadSession *session = w.session;
    w.session = NULL;
    waiter_destroy(&w);
    return session;
}

/* The next batch of a session (NULL: ended); aborts on error. */
static S2ReadBatch *session_next(S2ReadSession *session) {
    Waiter w;
    waiter_init(&w);
    s2_read_session_next(session, NULL, on_batch, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    S2ReadBatch *batch = w.batch;
    w.batch = NULL;
    waiter_destroy(&w);
    return batch;
}

typedef struct {
    S2Stream *stream;
    int delay_ms;
} DelayedAppend;

static void *delayed_append(void *arg) {
    DelayedAppend *d = arg;
    sleep_ms(d->delay_ms);
    const char *bodies[] = {"live-1", "live-2"};
    append_bodies(d->stream, bodies, 2);
    return NULL;
}

static void test_read_session_follows_the_tail(void) {
    Fixture f = fixture("rsess", NULL);
    const char *bodies[] = {"b0", "b1", "b2"};
    append_bodies(f.stream, bodies, 3);

    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    S2ReadSession *session = open_session(f.stream, &args);
    CHECK(s2_read_session_next_seq_num(session) == 0, "starts at 0");
    size_t seen = 0;
    while (seen < 3) {
        S2ReadBatch *batch = session_next(session);
        CHECK(batch != NULL, "an unlimited session does not end");
        size_t n = 0;
        const S2Record *r = s2_batch_records(batch, &n);
        for (size_t i = 0; i < n; i++, seen++) {
            CHECK(r[i].seq_num == seen && bytes_eq(r[i].body, r[i].body_len, bodies[seen]),
                  "record %zu", seen);
        }
        s2_batch_free(batch);
        CHECK(seen <= 3, "only three records");
    }
    CHECK(s2_read_session_next_seq_num(session) == 3, "next %lld",
          (long long)s2_read_session_next_seq_num(session));

    /* Following the tail: records appended later arrive. */
    DelayedAppend d = {f.stream, 300};
    pthread_t writer;
    pthread_create(&writer, NULL, delayed_append, &d);
    const char *live[] = {"live-1", "live-2"};
    size_t got = 0;
    while (got < 2) {
        S2ReadBatch *batch = session_next(session);
        CHECK(batch != NULL, "not ended");
        size_t n = 0;
        const S2Record *r = s2_batch_records(batch, &n);
        for (size_t i = 0; i < n; i++, got++) {
            CHECK(got < 2 && r[i].seq_num == 3 + got &&
                      bytes_eq(r[i].body, r[i].body_len, live[got]),
                  "live record %zu", got);
        }
        if (got == 2) {
            /* The last live batch reaches the tail it reports: caught up. */
            S2Position reported;
            CHECK(s2_batch_tail(batch, &reported) && reported.seq_num == 5, "tail 5");
            CHECK(s2_read_session_is_caught_up(session), "caught up at the tail");
        }
        s2_batch_free(batch);
    }
    pthread_join(writer, NULL);
    CHECK(s2_read_session_next_seq_num(session) == 5, "next is 5");
    s2_read_session_free(session);

    /* A count limit ends the session: a NULL batch with no error. */
    args = read_args(S2_READ_FROM_SEQ_NUM, 1);
    args.count = 3;
    session = open_session(f.stream, &args);
    seen = 0;
    for (;;) {
        S2ReadBatch *batch = session_next(session);
        if (batch == NULL) break;
        size_t n = 0;
        const S2Record *r = s2_batch_records(batch, &n);
        for (size_t i = 0; i < n; i++, seen++) CHECK(r[i].seq_num == 1 + seen, "limited");
        s2_batch_free(batch);
        CHECK(seen <= 3, "at most 3");
    }
    CHECK(seen == 3, "the limit: %zu", seen);
    CHECK(session_next(session) == NULL, "an ended session stays ended");
    s2_read_session_free(session);

    /* From a timestamp until another, retrying forever: the records between, then the end. */
    args = read_args(S2_READ_FROM_SEQ_NUM, 1);
    args.count = 1;
    S2ReadBatch *one = NULL;
    CHECK_OK(read_wait(f.stream, &args, &one));
    size_t count = 0;
    uint64_t from = s2_batch_records(one, &count)[0].timestamp;
    s2_batch_free(one);
    Waiter opened;
    waiter_init(&opened);
    args = read_args(S2_READ_FROM_TIMESTAMP, from);
    args.has_until = true;
    args.until_timestamp = wall_ms() + 3600 * 1000;
    args.ignore_command_records = true;
    s2_read_session_open(f.stream, &args, true, NULL, on_session, &opened);
    CHECK_OK(waiter_wait(&opened, WAIT_MS));
    session = opened.session;
    opened.session = NULL;
    waiter_destroy(&opened);
    CHECK(s2_read_session_next_seq_num(session) == -1, "unknown before the first batch");
    S2ReadBatch *first = session_next(session);
    CHECK(first != NULL, "a batch");
    const S2Record *fr = s2_batch_records(first, &count);
    CHECK(count >= 1 && fr[0].timestamp >= from && fr[0].seq_num <= 1, "starts at the timestamp");
    CHECK(s2_read_session_next_seq_num(session) == (int64_t)(fr[count - 1].seq_num + 1),
          "next after the batch");
    s2_batch_free(first);
    s2_read_session_free(session);

    /* From a tail offset: the last record, then caught up. */
    args = read_args(S2_READ_FROM_TAIL_OFFSET, 1);
    args.count = 1;
    session = open_session(f.stream, &args);
    S2ReadBatch *batch = session_next(session);
    CHECK(batch != NULL, "a batch");
    size_t n = 0;
    const S2Record *r = s2_batch_records(batch, &n);
    CHECK(n == 1 && r[0].seq_num == 4 && bytes_eq(r[0].body, r[0].body_len, "live-2"), "last");
    s2_batch_free(batch);
    s2_read_session_free(session);
    fixture_free(&f);
}

/* ================================================================= threads */

/* Threads share one client and one stream handle: unary appends, a shared producer, tail
 * checks and control-plane calls at once; every record is stored exactly once, in each
 * thread's order. */
enum { THREADS = 4, APPENDS = 20, PER_APPEND = 3, PRODUCED = 30 };

typedef struct {
    Fixture *f;
    S2Producer *producer;
    int id;
    ProducerLog *log;
    ProducerSub subs[PRODUCED];
} Worker;

static void *worker_main(void *arg) {
    Worker *w = arg;
    char thread[8];
    snprintf(thread, sizeof thread, "t%d", w->id);
    for (int i = 0; i < APPENDS; i++) {
        char bodies[PER_APPEND][32];
        S2Header headers[PER_APPEND];
        S2NewRecord records[PER_APPEND];
        for (int k = 0; k < PER_APPEND; k++) {
            snprintf(bodies[k], sizeof bodies[k], "%d", i * PER_APPEND + k);
            headers[k] = text_header("thread", thread);
            records[k] = body_record(bodies[k]);
            records[k].headers = &headers[k];
            records[k].header_count = 1;
        }
        CHECK_OK(append_wait(w->f->stream, records, PER_APPEND, NULL, NULL));
        if (i % 5 == 0) (void)check_tail(w->f->stream);
        if (i % 7 == 0) {
            Waiter list;
            waiter_init(&list);
            s2_streams_list(w->f->client, w->f->basin, NULL, NULL, on_json, &list);
            CHECK_OK(wait_json(&list, NULL));
        }
    }
    for (int i = 0; i < PRODUCED; i++) {
        char body[32];
        snprintf(body, sizeof body, "p%d", i);
        S2Header header = text_header("thread", thread);
        S2NewRecord record = body_record(body);
        record.headers = &header;
        record.header_count = 1;
        w->subs[i] = (ProducerSub){w->log, w->id * 1000 + i, 0, 0};
        expect_callbacks(2);
        s2_producer_submit(w->producer, &record, on_record_accepted, on_record_ack, &w->subs[i]);
    }
    return NULL;
}

static void test_threads_share_a_client_a_stream_and_a_producer(void) {
    Fixture f = fixture("threads", NULL);
    S2Producer *producer = NULL;
    CHECK_OK(s2_producer_open(f.stream, "{\"linger_ms\":1}", &producer));
    static ProducerLog log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    static Worker workers[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (Worker){&f, producer, t, &log, {{0}}};
        CHECK(pthread_create(&threads[t], NULL, worker_main, &workers[t]) == 0, "thread");
    }
    for (int t = 0; t < THREADS; t++) pthread_join(threads[t], NULL);
    producer_done(producer, true);
    s2_producer_free(producer);
    CHECK(log.acked == THREADS * PRODUCED && log.failed == 0, "%d acked, %d failed", log.acked,
          log.failed);
    for (int i = 1; i < log.acked; i++)
        CHECK(log.seq[i] > log.seq[i - 1], "producer acks in seq order");

    /* Read everything back: per thread, unary records 0.. in order, producer records p0.. in
     * order, each exactly once. */
    const size_t total = THREADS * (APPENDS * PER_APPEND + PRODUCED);
    int next_unary[THREADS] = {0}, next_produced[THREADS] = {0};
    size_t seen = 0;
    while (seen < total) {
        S2ReadBatch *batch = NULL;
        S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, seen);
        CHECK_OK(read_wait(f.stream, &args, &batch));
        size_t n = 0;
        const S2Record *r = s2_batch_records(batch, &n);
        CHECK(n > 0, "records below the tail");
        for (size_t i = 0; i < n; i++, seen++) {
            CHECK(r[i].seq_num == seen && r[i].header_count == 1, "record %zu", seen);
            CHECK(r[i].headers[0].value_len == 2 && r[i].headers[0].value[0] == 't', "thread");
            int t = r[i].headers[0].value[1] - '0';
            CHECK(t >= 0 && t < THREADS, "thread %d", t);
            char body[32];
            if (r[i].body_len > 0 && r[i].body[0] == 'p') {
                snprintf(body, sizeof body, "p%d", next_produced[t]++);
            } else {
                snprintf(body, sizeof body, "%d", next_unary[t]++);
            }
            CHECK(bytes_eq(r[i].body, r[i].body_len, body), "thread %d: expected %s at %zu", t,
                  body, seen);
        }
        s2_batch_free(batch);
    }
    for (int t = 0; t < THREADS; t++)
        CHECK(next_unary[t] == APPENDS * PER_APPEND && next_produced[t] == PRODUCED,
              "thread %d: %d + %d records", t, next_unary[t], next_produced[t]);
    CHECK(check_tail(f.stream).seq_num == total, "nothing else stored");
    pthread_mutex_destroy(&log.mu);
    fixture_free(&f);
}

/* ================================================================= cancellation and freeing */

static void test_cancel_pending_calls(void) {
    Fixture f = fixture("cancel", NULL);

    /* Already cancelled: the call finishes with CANCELLED. */
    S2Cancel *cancel = s2_cancel_new();
    s2_cancel_cancel(cancel);
    Waiter w;
    waiter_init(&w);
    s2_stream_check_tail(f.stream, cancel, on_position, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), S2_ERROR_CANCELLED);
    waiter_destroy(&w);
    s2_cancel_free(cancel);

    /* A read waiting at the tail, and a read session's next waiting at the tail, both on one
     * handle that is freed right after starting them: cancelling ends both promptly. */
    cancel = s2_cancel_new();
    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    args.wait_secs = 30;
    Waiter unary;
    waiter_init(&unary);
    s2_stream_read(f.stream, &args, cancel, on_batch, &unary);
    args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    S2ReadSession *session = open_session(f.stream, &args);
    S2Cancel *cancel2 = s2_cancel_new();
    Waiter next;
    waiter_init(&next);
    s2_read_session_next(session, cancel2, on_batch, &next);
    sleep_ms(300);
    CHECK(!waiter_done(&unary) && !waiter_done(&next), "both still waiting");
    s2_cancel_free(cancel); /* the calls keep their copy */
    double start = now_ms();
    s2_cancel_cancel(cancel2);
    CHECK_KIND(waiter_wait(&next, WAIT_MS), S2_ERROR_CANCELLED);
    CHECK(now_ms() - start < 5000, "cancellation is prompt");
    CHECK(!waiter_done(&unary), "another handle's call is not cancelled");
    waiter_destroy(&next);
    s2_cancel_free(cancel2);
    s2_read_session_free(session);

    /* The freed handle cannot be cancelled any more; a fresh handle for a second read. */
    cancel = s2_cancel_new();
    args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    args.wait_secs = 30;
    Waiter second;
    waiter_init(&second);
    s2_stream_read(f.stream, &args, cancel, on_batch, &second);
    sleep_ms(100);
    start = now_ms();
    s2_cancel_cancel(cancel);
    CHECK_KIND(waiter_wait(&second, WAIT_MS), S2_ERROR_CANCELLED);
    CHECK(now_ms() - start < 5000, "cancellation is prompt");
    waiter_destroy(&second);
    s2_cancel_free(cancel);

    /* The first read ends on its own: an append wakes it up. */
    const char *bodies[] = {"wake"};
    append_bodies(f.stream, bodies, 1);
    CHECK_OK(waiter_wait(&unary, WAIT_MS));
    size_t n = 0;
    const S2Record *r = s2_batch_records(unary.batch, &n);
    CHECK(n == 1 && bytes_eq(r[0].body, r[0].body_len, "wake"), "the waiting read got it");
    waiter_destroy(&unary);

    /* Cancelling a control-plane call. */
    cancel = s2_cancel_new();
    s2_cancel_cancel(cancel);
    waiter_init(&w);
    s2_basins_list(f.client, NULL, cancel, on_json, &w);
    CHECK_KIND(wait_json(&w, NULL), S2_ERROR_CANCELLED);
    s2_cancel_free(cancel);
    fixture_free(&f);
}

static void test_free_handles_with_work_in_flight(void) {
    Fixture f = fixture("free", NULL);

    /* Freeing the stream and the client right after starting calls: they still complete. */
    S2Client *client = new_client();
    S2Stream *stream = open_stream(client, f.basin, "s");
    S2NewRecord record = body_record("in flight");
    Waiter append, tail, list;
    waiter_init(&append);
    s2_stream_append(stream, &record, 1, NULL, NULL, on_append, &append);
    waiter_init(&tail);
    s2_stream_check_tail(stream, NULL, on_position, &tail);
    waiter_init(&list);
    s2_streams_list(client, f.basin, NULL, NULL, on_json, &list);
    s2_stream_free(stream);
    s2_client_free(client);
    CHECK_OK(waiter_wait(&append, WAIT_MS));
    CHECK_OK(waiter_wait(&tail, WAIT_MS));
    CHECK_OK(waiter_wait(&list, WAIT_MS));
    CHECK(append.ack.start.seq_num == 0, "appended");
    CHECK_CONTAINS(list.json, "\"name\":\"s\"");
    waiter_destroy(&append);
    waiter_destroy(&tail);
    waiter_destroy(&list);

    /* A stream handle outlives its client. */
    client = new_client();
    stream = open_stream(client, f.basin, "s");
    s2_client_free(client);
    CHECK(check_tail(stream).seq_num == 1, "usable after its client is freed");

    /* Freeing an append session with batches in flight: every callback fires once. */
    S2AppendSession *session = NULL;
    CHECK_OK(s2_append_session_open(stream, NULL, &session));
    Pipeline p;
    pipeline_init(&p);
    enum { N = 40 };
    static Submission subs[N];
    for (int i = 0; i < N; i++) {
        subs[i] = (Submission){&p, i, 0, 0, 0};
        expect_callbacks(2);
        s2_append_session_submit(session, &record, 1, NULL, on_accepted, on_batch_ack, &subs[i]);
    }
    s2_append_session_free(session);
    pipeline_wait(&p, N);
    for (int i = 0; i < N; i++) {
        CHECK(p.order[i] == i, "in order even when abandoned");
        CHECK(p.kinds[i] == (S2ErrorKind)-1 || p.kinds[i] == S2_ERROR_CLOSED,
              "batch %d: stored or abandoned (CLOSED), got kind %d", i, (int)p.kinds[i]);
    }

    /* Freeing a producer with records in flight. */
    S2Producer *producer = NULL;
    CHECK_OK(s2_producer_open(stream, "{\"linger_ms\":50}", &producer));
    ProducerLog log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    static ProducerSub psubs[N];
    for (int i = 0; i < N; i++) {
        psubs[i] = (ProducerSub){&log, i, 0, 0};
        expect_callbacks(2);
        s2_producer_submit(producer, &record, on_record_accepted, on_record_ack, &psubs[i]);
    }
    s2_producer_free(producer);
    producer_wait(&log, N);
    for (int i = 0; i < N; i++) CHECK(log.order[i] == i, "producer acks in order");
    CHECK(log.failed == 0 || log.first_error == S2_ERROR_CLOSED,
          "abandoned records are CLOSED, got %d", (int)log.first_error);
    pthread_mutex_destroy(&log.mu);

    /* Freeing a read session with a pending next: CANCELLED. */
    S2Position end = check_tail(stream);
    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, end.seq_num);
    S2ReadSession *rs = open_session(stream, &args);
    Waiter next;
    waiter_init(&next);
    s2_read_session_next(rs, NULL, on_batch, &next);
    sleep_ms(200);
    CHECK(!waiter_done(&next), "waiting at the tail");
    s2_read_session_free(rs);
    CHECK_KIND(waiter_wait(&next, WAIT_MS), S2_ERROR_CANCELLED);
    waiter_destroy(&next);

    /* Freeing the stream while a session opens: the session still arrives, and works. */
    S2Stream *other = open_stream(f.client, f.basin, "s");
    Waiter opening;
    waiter_init(&opening);
    args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    args.count = 1;
    s2_read_session_open(other, &args, false, NULL, on_session, &opening);
    s2_stream_free(other);
    CHECK_OK(waiter_wait(&opening, WAIT_MS));
    S2ReadBatch *batch = session_next(opening.session);
    CHECK(batch != NULL, "the session reads after its stream handle is freed");
    s2_batch_free(batch);
    waiter_destroy(&opening); /* frees the session */

    /* A batch outlives everything it came from. */
    S2ReadBatch *kept = NULL;
    CHECK_OK(read_wait(stream, NULL, &kept));
    s2_stream_free(stream);
    size_t n = 0;
    const S2Record *r = s2_batch_records(kept, &n);
    CHECK(n >= 1 && bytes_eq(r[0].body, r[0].body_len, "in flight"), "batch still readable");
    s2_batch_free(kept);
    pipeline_destroy(&p);
    fixture_free(&f);
}

/* ================================================================= regressions */

/* Bugs found in the C ABI, each fixed and kept as a test. */

/* include/s2.h documents that submissions after s2_append_session_close /
 * s2_producer_close report S2_ERROR_CLOSED. */
static void test_submit_after_close_is_closed(void) {
    Fixture f = fixture("late", NULL);
    S2AppendSession *session = NULL;
    CHECK_OK(s2_append_session_open(f.stream, NULL, &session));
    Pipeline p;
    pipeline_init(&p);
    close_session(session, &p, 0);
    S2NewRecord record = body_record("late");
    Submission late = {&p, 0, 0, 0, 0};
    expect_callbacks(2);
    s2_append_session_submit(session, &record, 1, NULL, on_accepted, on_batch_ack, &late);
    pipeline_wait(&p, 1);
    CHECK(p.kinds[0] == S2_ERROR_CLOSED && late.accepted_kind == S2_ERROR_CLOSED,
          "a submission after close reports CLOSED; got %d / %d", (int)p.kinds[0],
          (int)late.accepted_kind);
    s2_append_session_free(session);
    pipeline_destroy(&p);

    S2Producer *producer = NULL;
    CHECK_OK(s2_producer_open(f.stream, NULL, &producer));
    producer_done(producer, true);
    ProducerLog log;
    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.mu, NULL);
    ProducerSub sub = {&log, 0, 0, 0};
    expect_callbacks(2);
    s2_producer_submit(producer, &record, on_record_accepted, on_record_ack, &sub);
    producer_wait(&log, 1);
    CHECK(log.first_error == S2_ERROR_CLOSED, "producer: CLOSED after close; got %d",
          (int)log.first_error);
    s2_producer_free(producer);
    pthread_mutex_destroy(&log.mu);
    fixture_free(&f);
}

/* include/s2.h: "The callback runs ... synchronously on the calling thread before the function
 * returns when the arguments are invalid" (names that break S2's rules, batches over the
 * limits...). Basin names and batch sizes used to be checked inside the asynchronous operation:
 * this reruns async_argument_errors and requires every argument error to be synchronous (each
 * late one is printed). */
static void test_argument_errors_are_reported_synchronously(void) {
    strict_sync = true;
    late_argument_errors = 0;
    test_async_argument_errors();
    strict_sync = false;
    CHECK(late_argument_errors == 0, "%d argument errors were not reported synchronously",
          late_argument_errors);
}

/* include/s2.h: s2_read_session_is_caught_up is "whether every record up to the last tail the
 * server reported has been delivered". s2-sdk learns that it caught up from tail reports that
 * carry no records, which its session consumes without yielding a batch; s2_read_session_next
 * used to copy the flag only when a batch came, so a session waiting at the tail said false
 * until new records arrived. */
static void test_read_session_reports_caught_up_while_waiting(void) {
    Fixture f = fixture("caught", NULL);
    const char *bodies[] = {"x0", "x1", "x2"};
    append_bodies(f.stream, bodies, 3);
    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, 0);
    S2ReadSession *session = open_session(f.stream, &args);
    size_t seen = 0;
    while (seen < 3) {
        S2ReadBatch *batch = session_next(session);
        size_t n = 0;
        s2_batch_records(batch, &n);
        seen += n;
        s2_batch_free(batch);
    }
    Waiter next;
    waiter_init(&next);
    s2_read_session_next(session, NULL, on_batch, &next);
    bool caught_up = false;
    for (int i = 0; i < 50 && !caught_up; i++) {
        sleep_ms(100);
        caught_up = s2_read_session_is_caught_up(session);
    }
    s2_read_session_free(session); /* ends the pending next with CANCELLED */
    CHECK_KIND(waiter_wait(&next, WAIT_MS), S2_ERROR_CANCELLED);
    waiter_destroy(&next);
    fixture_free(&f);
    CHECK(caught_up, "every record was delivered and the session waits at the tail, but "
                     "s2_read_session_is_caught_up stayed false for 5 s");
}

/* include/s2.h: an error carries "the HTTP status and S2's error code when the server
 * answered". A failed match_seq_num or fencing token is S2's 412 and a read past the tail its
 * 416; the SDK decodes them into the values alone, and these errors used to have
 * s2_error_status 0 and s2_error_code NULL. */
static void test_condition_failures_carry_the_http_status(void) {
    Fixture f = fixture("status", NULL);
    S2NewRecord record = body_record("a");
    S2AppendConditions at = {true, 5, NULL};
    S2Error *error = append_wait(f.stream, &record, 1, &at, NULL);
    CHECK(error && s2_error_kind(error) == S2_ERROR_SEQ_NUM_MISMATCH, "mismatch");
    uint16_t mismatch_status = s2_error_status(error);
    bool mismatch_code = s2_error_code(error) != NULL;
    s2_error_free(error);
    S2ReadBatch *batch = NULL;
    S2ReadArgs args = read_args(S2_READ_FROM_SEQ_NUM, 10);
    error = read_wait(f.stream, &args, &batch);
    CHECK(error && s2_error_kind(error) == S2_ERROR_READ_UNWRITTEN, "unwritten");
    uint16_t unwritten_status = s2_error_status(error);
    s2_error_free(error);
    fixture_free(&f);
    CHECK(mismatch_status == 412 && mismatch_code && unwritten_status == 416,
          "SEQ_NUM_MISMATCH: status %u, code %s; READ_UNWRITTEN: status %u", mismatch_status,
          mismatch_code ? "set" : "NULL", unwritten_status);
}

/* ================================================================= main */

typedef void (*TestFn)(void);
typedef struct {
    const char *name;
    TestFn fn;
} Test;

static int run_tests(const Test *tests, size_t count) {
    int ran = 0;
    const char *only = getenv("S2_C_TEST");
    for (size_t i = 0; i < count; i++) {
        if (only != NULL && *only && strstr(tests[i].name, only) == NULL) continue;
        uint64_t baseline = s2_test_live_handles();
        double start = now_ms();
        tests[i].fn();
        check_callbacks_and_handles(baseline, tests[i].name);
        printf("ok   %-44s %6.0f ms\n", tests[i].name, now_ms() - start);
        fflush(stdout);
        ran++;
    }
    return ran;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    double start = now_ms();
    endpoint = getenv("S2_TEST_ENDPOINT");
    CHECK(endpoint != NULL && *endpoint,
          "set S2_TEST_ENDPOINT to an s2 lite endpoint (build.sh test-s2 starts lite inside a "
          "network namespace and sets it)");
    snprintf(client_options, sizeof client_options,
             "{\"access_token\":\"c-tests\",\"endpoint\":\"%s\"}", endpoint);

    static const Test tests[] = {
        {"versions_and_null_handling", test_versions_and_null_handling},
        {"client_options", test_client_options},
        {"async_argument_errors", test_async_argument_errors},
        {"basins", test_basins},
        {"streams", test_streams},
        {"unsupported_calls_fail_clearly", test_unsupported_calls_fail_clearly},
        {"dead_endpoint_is_a_network_error", test_dead_endpoint_is_a_network_error},
        {"error_texts_carry_no_access_token", test_error_texts_carry_no_access_token},
        {"append_and_check_tail", test_append_and_check_tail},
        {"match_seq_num_and_fencing_conflicts", test_match_seq_num_and_fencing_conflicts},
        {"reads_from_every_start_with_limits", test_reads_from_every_start_with_limits},
        {"fence_and_trim", test_fence_and_trim},
        {"append_session_pipelined_in_order", test_append_session_pipelined_in_order},
        {"producer_per_record_acks", test_producer_per_record_acks},
        {"producer_try_submit_keeps_order", test_producer_try_submit_keeps_order},
        {"producer_counted_acks_join_runs_and_cover_every_record_once",
         test_producer_counted_acks_join_runs_and_cover_every_record_once},
        {"read_session_follows_the_tail", test_read_session_follows_the_tail},
        {"threads_share_a_client_a_stream_and_a_producer",
         test_threads_share_a_client_a_stream_and_a_producer},
        {"cancel_pending_calls", test_cancel_pending_calls},
        {"free_handles_with_work_in_flight", test_free_handles_with_work_in_flight},
        {"submit_after_close_is_closed", test_submit_after_close_is_closed},
        {"read_session_reports_caught_up_while_waiting",
         test_read_session_reports_caught_up_while_waiting},
        {"condition_failures_carry_the_http_status", test_condition_failures_carry_the_http_status},
        {"argument_errors_are_reported_synchronously",
         test_argument_errors_are_reported_synchronously},
    };
    int ran = run_tests(tests, sizeof tests / sizeof tests[0]);
    printf("test_s2: %d tests passed in %.1f s\n", ran, (now_ms() - start) / 1000.0);
    return 0;
}
