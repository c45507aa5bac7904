/* See harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------- assertions */

void check_ok(DsError *error, const char *file, int line, const char *what) {
    if (error != NULL) {
        fprintf(stderr, "%s:%d: %s failed: [%s] %s\n", file, line, what, ds_error_code(error),
                ds_error_message(error));
        abort();
    }
}

void check_kind_msg(DsError *error, DsErrorKind kind, const char *needle, const char *file,
                    int line) {
    if (error == NULL) {
        fprintf(stderr, "%s:%d: expected error kind %d, got success\n", file, line, (int)kind);
        abort();
    }
    if (ds_error_kind(error) != kind) {
        fprintf(stderr, "%s:%d: expected error kind %d, got %d [%s] %s\n", file, line, (int)kind,
                (int)ds_error_kind(error), ds_error_code(error), ds_error_message(error));
        abort();
    }
    if (needle != NULL && strstr(ds_error_server_message(error), needle) == NULL) {
        fprintf(stderr, "%s:%d: error message %s does not contain %s\n", file, line,
                ds_error_server_message(error), needle);
        abort();
    }
    ds_error_free(error);
}

void check_kind(DsError *error, DsErrorKind kind, const char *file, int line) {
    check_kind_msg(error, kind, NULL, file, line);
}

/* ---------------------------------------------------------------- servers */

void servers_start(TestServers *s, const char *which) { servers_start_with(s, which, NULL); }

void servers_start_with(TestServers *s, const char *which, const char *option) {
    memset(s, 0, sizeof *s);
    const char *bin = getenv("DS_TEST_SERVERS_BIN");
    CHECK(bin != NULL && *bin, "set DS_TEST_SERVERS_BIN to the ds-test-servers binary");
    int in_pipe[2], out_pipe[2];
    CHECK(pipe(in_pipe) == 0 && pipe(out_pipe) == 0, "pipe: %s", strerror(errno));

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, in_pipe[1]);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    char *argv[] = {(char *)bin, (char *)which, (char *)option, NULL};
    int rc = posix_spawn(&s->pid, bin, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    CHECK(rc == 0, "spawning %s: %s", bin, strerror(rc));
    close(in_pipe[0]);
    close(out_pipe[1]);
    s->to_child = in_pipe[1];
    s->from_child = fdopen(out_pipe[0], "r");
    CHECK(s->from_child != NULL, "fdopen");

    char line[1024];
    for (;;) {
        CHECK(fgets(line, sizeof line, s->from_child) != NULL,
              "ds-test-servers ended before READY");
        line[strcspn(line, "\r\n")] = 0;
        if (strcmp(line, "READY") == 0) break;
        CHECK(s->count < 4, "too many servers");
        TestServer *server = &s->servers[s->count];
        CHECK(sscanf(line, "%31s %255s %255s", server->kind, server->base_url,
                     server->prefix_url) == 3,
              "unexpected line from ds-test-servers: %s", line);
        s->count++;
    }
    CHECK(s->count > 0, "no servers started");
}

void servers_stop(TestServers *s) {
    if (s->to_child >= 0) close(s->to_child);
    s->to_child = -1;
    if (s->from_child != NULL) fclose(s->from_child);
    s->from_child = NULL;
    int status;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
    }
}

/* ---------------------------------------------------------------- waiting */

void waiter_init(Waiter *w) {
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->ttl_seconds = -2;
}

static char *dup_or_null(const char *s) { return s == NULL ? NULL : strdup(s); }

/* Records the call; the fill function copies results while the lock is held. */
static Waiter *begin(void *ud) {
    Waiter *w = (Waiter *)ud;
    pthread_mutex_lock(&w->mu);
    w->calls++;
    w->callback_thread = pthread_self();
    return w;
}

static void end(Waiter *w) {
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void on_create(void *ud, DsError *error, const DsCreateResult *result) {
    Waiter *w = begin(ud);
    w->error = error;
    if (error == NULL) {
        CHECK(result != NULL, "create result is NULL on success");
        w->created = result->created;
        w->closed = result->closed;
        w->next_offset = dup_or_null(result->next_offset);
        w->content_type = dup_or_null(result->content_type);
    } else {
        CHECK(result == NULL, "create result must be NULL on error");
    }
    end(w);
}

void on_head(void *ud, DsError *error, const DsStreamInfo *info) {
    Waiter *w = begin(ud);
    w->error = error;
    if (error == NULL) {
        CHECK(info != NULL && info->next_offset != NULL, "head info incomplete");
        w->closed = info->closed;
        w->next_offset = dup_or_null(info->next_offset);
        w->content_type = dup_or_null(info->content_type);
        w->ttl_seconds = info->ttl_seconds;
        w->expires_at = dup_or_null(info->expires_at);
    } else {
        CHECK(info == NULL, "head info must be NULL on error");
    }
    end(w);
}

void on_done(void *ud, DsError *error) {
    Waiter *w = begin(ud);
    w->error = error;
    end(w);
}

void on_append(void *ud, DsError *error, const DsAppendResult *result) {
    Waiter *w = begin(ud);
    w->error = error;
    if (error == NULL) {
        CHECK(result != NULL && result->next_offset != NULL, "append result incomplete");
        w->closed = result->closed;
        w->next_offset = dup_or_null(result->next_offset);
    } else {
        CHECK(result == NULL, "append result must be NULL on error");
    }
    end(w);
}

void on_chunk(void *ud, DsError *error, DsChunk *chunk) {
    Waiter *w = begin(ud);
    w->error = error;
    CHECK(error == NULL || chunk == NULL, "a chunk with an error");
    w->chunk = chunk;
    end(w);
}

void on_offset(void *ud, DsError *error, const char *offset) {
    Waiter *w = begin(ud);
    w->error = error;
    CHECK(error == NULL || offset == NULL, "an offset with an error");
    w->offset = dup_or_null(offset);
    end(w);
}

void on_epoch(void *ud, DsError *error, uint64_t epoch) {
    Waiter *w = begin(ud);
    w->error = error;
    w->epoch = epoch;
    end(w);
}

void on_json(void *ud, DsError *error, const char *json) {
    Waiter *w = begin(ud);
    CHECK((error == NULL) == (json != NULL), "exactly one of error and json");
    w->error = error;
    w->json = dup_or_null(json);
    end(w);
}

void on_next_wake(void *ud, DsError *error, bool next_wake) {
    Waiter *w = begin(ud);
    w->error = error;
    w->next_wake = next_wake;
    end(w);
}

DsError *waiter_wait(Waiter *w, int timeout_ms) {
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
    DsError *error = w->error;
    w->error = NULL;
    pthread_mutex_unlock(&w->mu);
    return error;
}

bool waiter_done(Waiter *w) {
    pthread_mutex_lock(&w->mu);
    bool done = w->calls > 0;
    pthread_mutex_unlock(&w->mu);
    return done;
}

void waiter_reset(Waiter *w) {
    pthread_mutex_lock(&w->mu);
    CHECK(w->calls <= 1, "callback ran %d times", w->calls);
    ds_error_free(w->error);
    ds_chunk_free(w->chunk);
    free(w->next_offset);
    free(w->content_type);
    free(w->expires_at);
    free(w->offset);
    free(w->json);
    pthread_mutex_unlock(&w->mu);
    waiter_destroy(w);
    waiter_init(w);
}

void waiter_destroy(Waiter *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

/* ---------------------------------------------------------------- conveniences */

static unsigned long long counter;
static pthread_mutex_t counter_mu = PTHREAD_MUTEX_INITIALIZER;

char *unique_name(const char *tag) {
    pthread_mutex_lock(&counter_mu);
    unsigned long long n = ++counter;
    pthread_mutex_unlock(&counter_mu);
    char *name = NULL;
    CHECK(asprintf(&name, "c-%s-%ld-%lld-%llu", tag, (long)getpid(), (long long)time(NULL), n) >
              0,
          "asprintf");
    return name;
}

char *unique_url(const TestServer *server, const char *tag) {
    char *name = unique_name(tag);
    char *url = NULL;
    CHECK(asprintf(&url, "%s/%s", server->prefix_url, name) > 0, "asprintf");
    free(name);
    return url;
}

DsClient *new_client(const char *options_json) {
    DsClient *client = NULL;
    CHECK_OK(ds_client_new(options_json, NULL, NULL, NULL, &client));
    CHECK(client != NULL, "client is NULL");
    return client;
}

DsStream *new_stream(DsClient *client, const char *url) {
    DsStream *stream = NULL;
    CHECK_OK(ds_stream_new(client, url, &stream));
    CHECK(stream != NULL, "stream is NULL");
    return stream;
}

void create_stream(DsStream *stream, const char *options_json) {
    Waiter w;
    waiter_init(&w);
    ds_stream_create(stream, options_json, NULL, 0, NULL, on_create, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    waiter_destroy(&w);
}

void append_text(DsStream *stream, const char *text) {
    Waiter w;
    waiter_init(&w);
    ds_stream_append(stream, (const uint8_t *)text, strlen(text), NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    waiter_destroy(&w);
}

char *read_all(DsStream *stream, size_t *len) {
    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, NULL, DS_LIVE_OFF, NULL, &reader));
    size_t cap = 256, used = 0;
    char *out = malloc(cap);
    CHECK(out != NULL, "malloc");
    for (;;) {
        Waiter w;
        waiter_init(&w);
        ds_reader_next(reader, NULL, on_chunk, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        DsChunk *chunk = w.chunk;
        if (chunk == NULL) {
            waiter_destroy(&w);
            break;
        }
        size_t n = 0;
        const uint8_t *data = ds_chunk_data(chunk, &n);
        while (used + n + 1 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            CHECK(out != NULL, "realloc");
        }
        memcpy(out + used, data, n);
        used += n;
        waiter_reset(&w);
        waiter_destroy(&w);
    }
    out[used] = 0;
    ds_reader_free(reader);
    if (len != NULL) *len = used;
    return out;
}

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void check_no_leaks(uint64_t baseline, const char *test) {
    for (int i = 0; i < 500 && ds_test_live_handles() != baseline; i++) sleep_ms(10);
    CHECK(ds_test_live_handles() == baseline, "%s leaked handles: %llu live, %llu at the start", test,
          (unsigned long long)ds_test_live_handles(), (unsigned long long)baseline);
}

int run_tests(const Test *tests, size_t count, const char *kind) {
    int ran = 0;
    const char *only = getenv("DS_C_TEST");
    for (size_t i = 0; i < count; i++) {
        if (only != NULL && *only && strstr(tests[i].name, only) == NULL) continue;
        uint64_t baseline = ds_test_live_handles();
        double start = now_ms();
        tests[i].fn();
        check_no_leaks(baseline, tests[i].name);
        printf("ok   %-40s %-9s %6.0f ms\n", tests[i].name, kind, now_ms() - start);
        fflush(stdout);
        ran++;
    }
    return ran;
}

DsClient *client_for(const TestServer *server) {
    char *options = NULL;
    CHECK(asprintf(&options,
                   "{\"base_url\":\"%s\",\"retry\":{\"max_retries\":2,\"initial_delay_ms\":10,"
                   "\"max_delay_ms\":50}}",
                   server->prefix_url) > 0,
          "asprintf");
    DsClient *client = new_client(options);
    free(options);
    return client;
}
