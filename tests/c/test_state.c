/*
 * C tests of the State Protocol exports of libdurable_streams: ds_state_write / _write_all /
 * _validate (checked before anything is sent, errors naming the field), DsMaterializedState fed
 * by ds_reader_next chunks and by ds_state_catch_up (insert, update, upsert, delete, snapshot
 * markers, reset), snapshots saved and restored, malformed stream messages, the durable watch
 * (filters, exact resume from every checkpoint, a checkpoint past the data), a catch-up and a
 * watch read held in flight (refusals, freeing, cancellation), and argument errors. Against
 * both servers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static const TestServer *server;

/* ---------------------------------------------------------------- helpers */

static DsStream *new_state_stream(DsClient *client, const char *tag) {
    char *url = unique_url(server, tag);
    DsStream *stream = new_stream(client, url);
    free(url);
    create_stream(stream, "{\"content_type\":\"application/json\"}");
    return stream;
}

/* Writes one event synchronously; returns the offset after it (owned). */
static char *write_event(DsStream *stream, const char *event) {
    Waiter w;
    waiter_init(&w);
    ds_state_write(stream, event, NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.offset != NULL, "a plain write returns its offset");
    char *offset = strdup(w.offset);
    waiter_reset(&w);
    waiter_destroy(&w);
    return offset;
}

static void write_ok(DsStream *stream, const char *event) { free(write_event(stream, event)); }

static void catch_up(DsMaterializedState *state, DsStream *stream) {
    Waiter w;
    waiter_init(&w);
    ds_state_catch_up(state, stream, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_destroy(&w);
}

/* Reads the stream from the state's offset with a reader and applies every chunk; returns the
 * number of messages applied. */
static size_t apply_by_reader(DsMaterializedState *state, DsStream *stream) {
    char *offset = ds_state_offset(state);
    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, offset, DS_LIVE_OFF, NULL, &reader));
    ds_string_free(offset);
    size_t total = 0;
    for (;;) {
        Waiter w;
        waiter_init(&w);
        ds_reader_next(reader, NULL, on_chunk, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        if (w.chunk == NULL) {
            waiter_destroy(&w);
            break;
        }
        size_t applied = 99;
        CHECK_OK(ds_state_apply_chunk(state, w.chunk, &applied));
        CHECK((int64_t)applied == ds_chunk_message_count(w.chunk), "applied %zu of %lld",
              applied, (long long)ds_chunk_message_count(w.chunk));
        total += applied;
        offset = ds_state_offset(state);
        CHECK(strcmp(offset, ds_chunk_offset(w.chunk)) == 0, "the offset moves past the chunk");
        ds_string_free(offset);
        waiter_reset(&w);
        waiter_destroy(&w);
    }
    ds_reader_free(reader);
    return total;
}

/* Checks that an owned string equals `expected`, then frees it. */
#define CHECK_STR(owned, expected) check_str((owned), (expected), __LINE__)
static void check_str(char *owned, const char *expected, int line) {
    if (expected == NULL) {
        CHECK(owned == NULL, "line %d: expected NULL, got %s", line, owned);
        return;
    }
    CHECK(owned != NULL, "line %d: expected %s, got NULL", line, expected);
    CHECK(strcmp(owned, expected) == 0, "line %d: expected %s, got %s", line, expected, owned);
    ds_string_free(owned);
}

/* Starts a call with `start`, checks that it completed before returning, on this thread, with
 * `kind` and a message containing `needle`. */
static void check_sync_offset_error(Waiter *w, DsErrorKind kind, const char *needle) {
    CHECK(waiter_done(w), "argument errors complete before the call returns");
    CHECK(pthread_equal(w->callback_thread, pthread_self()), "on the calling thread");
    CHECK_KIND_MSG(waiter_wait(w, WAIT_MS), kind, needle);
    CHECK(w->offset == NULL, "no offset with an error");
    waiter_reset(w);
}

/* ---------------------------------------------------------------- watch helpers */

/* A Waiter whose next_offset receives the event JSON and offset the checkpoint (copies). */
static void on_watch(void *ud, DsError *error, const char *event, const char *checkpoint) {
    Waiter *w = ud;
    pthread_mutex_lock(&w->mu);
    CHECK(w->calls == 0, "the watch callback runs once");
    w->callback_thread = pthread_self();
    w->error = error;
    CHECK((event == NULL) == (checkpoint == NULL), "an event comes with its checkpoint");
    CHECK(error == NULL || event == NULL, "no event with an error");
    if (event != NULL) w->next_offset = strdup(event);
    if (checkpoint != NULL) w->offset = strdup(checkpoint);
    w->calls++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* The next watched message: its JSON into *event and checkpoint into *checkpoint (owned, both
 * NULL at the end). */
static void watch_next(DsStateWatch *watch, char **event, char **checkpoint) {
    Waiter w;
    waiter_init(&w);
    ds_state_watch_next(watch, NULL, on_watch, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    *event = w.next_offset;
    *checkpoint = w.offset;
    w.next_offset = NULL;
    w.offset = NULL;
    waiter_reset(&w);
    waiter_destroy(&w);
}

static DsStateWatch *open_watch(DsStream *stream, const char *prefix, const char *type,
                                const char *checkpoint) {
    DsStateWatch *watch = NULL;
    CHECK_OK(ds_state_watch_open(stream, prefix, type, checkpoint, DS_LIVE_OFF, &watch));
    CHECK(watch != NULL, "watch handle");
    return watch;
}

/* Checks the next message contains `needle` (NULL: the end); returns its checkpoint (owned by
 * the caller, free(); NULL at the end). */
static char *expect_next(DsStateWatch *watch, const char *needle) {
    char *event = NULL, *checkpoint = NULL;
    watch_next(watch, &event, &checkpoint);
    if (needle == NULL) {
        CHECK(event == NULL, "expected the end, got %s", event);
        return NULL;
    }
    CHECK(event != NULL, "expected %s, got the end", needle);
    CHECK(strstr(event, needle) != NULL, "expected %s in %s", needle, event);
    free(event);
    return checkpoint;
}

/* ---------------------------------------------------------------- offline tests */

static void test_argument_errors(void) {
    /* Handles and outputs. */
    CHECK_KIND_MSG(ds_state_new(NULL), DS_ERROR_INVALID_ARGUMENT, "out");
    DsMaterializedState *state = (DsMaterializedState *)1;
    CHECK_KIND_MSG(ds_state_restore(NULL, &state), DS_ERROR_INVALID_ARGUMENT, "snapshot_json");
    CHECK(state == NULL, "out is NULL on failure");
    CHECK_KIND_MSG(ds_state_restore("[1]", &state), DS_ERROR_INVALID_ARGUMENT, "snapshot_json");
    CHECK_KIND(ds_state_restore("{\"offset\":\"a/b\",\"entities\":{}}", &state),
               DS_ERROR_INVALID_OFFSET);
    CHECK_KIND_MSG(ds_state_apply_chunk(NULL, NULL, NULL), DS_ERROR_INVALID_ARGUMENT, "state");
    CHECK_OK(ds_state_new(&state));
    size_t applied = 7;
    CHECK_KIND_MSG(ds_state_apply_chunk(state, NULL, &applied), DS_ERROR_INVALID_ARGUMENT,
                   "chunk");
    CHECK(applied == 0, "applied is 0 on failure");

    /* Accessors of a NULL state and with NULL or missing arguments. */
    CHECK(ds_state_get(NULL, "t", "k") == NULL, "get of NULL");
    CHECK(ds_state_get(state, NULL, "k") == NULL, "get with a NULL type");
    CHECK(ds_state_get(state, "t", NULL) == NULL, "get with a NULL key");
    CHECK(ds_state_get(state, "t", "k") == NULL, "get of a missing key");
    CHECK(ds_state_count(NULL, NULL) == 0, "count of NULL");
    CHECK(ds_state_keys(NULL, "t") == NULL && ds_state_keys(state, NULL) == NULL, "keys");
    CHECK(ds_state_types(NULL) == NULL && ds_state_json(NULL, NULL) == NULL, "types, json");
    CHECK(ds_state_offset(NULL) == NULL && ds_state_snapshot(NULL) == NULL, "offset, snapshot");
    CHECK(!ds_state_in_snapshot(NULL), "in_snapshot of NULL");
    CHECK_STR(ds_state_offset(state), "-1");
    CHECK_STR(ds_state_keys(state, "t"), "[]");
    CHECK_STR(ds_state_types(state), "[]");
    CHECK_STR(ds_state_json(state, NULL), "{}");
    CHECK_STR(ds_state_json(state, "t"), "{}");
    CHECK_STR(ds_state_snapshot(state), "{\"offset\":\"-1\",\"in_snapshot\":false,\"entities\":{}}");
    ds_state_free(state);
    ds_state_free(NULL);

    /* Validation names the field. */
    CHECK_OK(ds_state_validate(
        "{\"type\":\"t\",\"key\":\"k\",\"value\":1,\"headers\":{\"operation\":\"insert\"}}"));
    CHECK_OK(ds_state_validate("{\"type\":\"t\",\"key\":\"k\",\"headers\":{\"operation\":\"delete\"}}"));
    CHECK_OK(ds_state_validate("{\"headers\":{\"control\":\"reset\"}}"));
    CHECK_KIND_MSG(ds_state_validate(NULL), DS_ERROR_INVALID_ARGUMENT, "event_json");
    CHECK_KIND_MSG(ds_state_validate("not json"), DS_ERROR_INVALID_ARGUMENT, "event_json");
    CHECK_KIND_MSG(ds_state_validate("{\"type\":\"t\",\"key\":\"k\",\"headers\":{\"operation\":\"merge\"}}"),
                   DS_ERROR_INVALID_ARGUMENT, "headers.operation");
    CHECK_KIND_MSG(ds_state_validate("{\"type\":\"t\",\"key\":\"k\",\"headers\":{\"operation\":\"insert\"}}"),
                   DS_ERROR_INVALID_ARGUMENT, "field `value` is missing");
    CHECK_KIND_MSG(ds_state_validate("{\"type\":\"t\",\"key\":\"\",\"value\":1,\"headers\":{\"operation\":\"upsert\"}}"),
                   DS_ERROR_INVALID_ARGUMENT, "key");
    CHECK_KIND_MSG(ds_state_validate("{\"type\":\"t\",\"key\":\"k\",\"value\":1,\"headers\":"
                                     "{\"operation\":\"insert\",\"timestamp\":\"yesterday\"}}"),
                   DS_ERROR_INVALID_ARGUMENT, "headers.timestamp");
    CHECK_KIND_MSG(ds_state_validate("{\"headers\":{\"control\":\"rewind\"}}"),
                   DS_ERROR_INVALID_ARGUMENT, "headers.control");
    CHECK_KIND_MSG(ds_state_validate("{\"value\":1}"), DS_ERROR_INVALID_ARGUMENT, "headers");

    /* Writes refuse bad events on the calling thread, before any I/O (no server here). */
    DsClient *client = new_client(NULL);
    DsStream *stream = new_stream(client, "http://127.0.0.1:1/never");
    Waiter w;
    waiter_init(&w);
    ds_state_write(NULL, "{}", NULL, on_offset, &w);
    check_sync_offset_error(&w, DS_ERROR_INVALID_ARGUMENT, "stream");
    ds_state_write(stream, NULL, NULL, on_offset, &w);
    check_sync_offset_error(&w, DS_ERROR_INVALID_ARGUMENT, "event_json");
    ds_state_write(stream, "{\"type\":\"t\",\"key\":\"k\",\"headers\":{\"operation\":\"merge\"}}",
                   NULL, on_offset, &w);
    check_sync_offset_error(&w, DS_ERROR_INVALID_ARGUMENT, "event_json: malformed state event: field `headers.operation`");
    ds_state_write_all(stream, "{}", NULL, on_offset, &w);
    check_sync_offset_error(&w, DS_ERROR_INVALID_ARGUMENT, "events_json");
    ds_state_write_all(stream, "[]", NULL, on_offset, &w);
    check_sync_offset_error(&w, DS_ERROR_INVALID_ARGUMENT, "events_json");
    ds_state_write_all(stream,
                       "[{\"headers\":{\"control\":\"reset\"}},"
                       "{\"type\":\"t\",\"headers\":{\"operation\":\"delete\"}}]",
                       NULL, on_offset, &w);
    check_sync_offset_error(&w, DS_ERROR_INVALID_ARGUMENT, "events_json[1]");
    ds_state_write(stream, "{}", NULL, NULL, NULL); /* a NULL callback does nothing */

    CHECK_OK(ds_state_new(&state));
    ds_state_catch_up(state, NULL, NULL, on_done, &w);
    CHECK(waiter_done(&w), "synchronous");
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "stream");
    waiter_reset(&w);
    ds_state_catch_up(NULL, stream, NULL, on_done, &w);
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "state");
    waiter_reset(&w);
    waiter_destroy(&w);
    ds_state_free(state);
    ds_stream_free(stream);
    ds_client_free(client);
}

/* A catch-up held in flight by a server that accepts connections and never answers: a second
 * catch-up and apply_chunk are refused, the state may be freed, and cancel ends it. */
static void test_catch_up_in_flight(void) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listener >= 0, "socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
    CHECK(listen(listener, 16) == 0, "listen");
    socklen_t len = sizeof addr;
    CHECK(getsockname(listener, (struct sockaddr *)&addr, &len) == 0, "getsockname");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/silent", ntohs(addr.sin_port));

    DsClient *client = new_client(NULL);
    DsStream *stream = new_stream(client, url);
    DsMaterializedState *state = NULL;
    CHECK_OK(ds_state_new(&state));
    DsCancel *cancel = ds_cancel_new();
    Waiter first, second;
    waiter_init(&first);
    waiter_init(&second);
    ds_state_catch_up(state, stream, cancel, on_done, &first);
    ds_state_catch_up(state, stream, NULL, on_done, &second);
    CHECK_KIND_MSG(waiter_wait(&second, WAIT_MS), DS_ERROR_INVALID_ARGUMENT,
                   "a catch-up is already in progress");
    CHECK_KIND_MSG(ds_state_apply_chunk(state, NULL, NULL), DS_ERROR_INVALID_ARGUMENT,
                   "a catch-up is in progress");
    sleep_ms(50);
    CHECK(!waiter_done(&first), "the catch-up waits for the silent server");
    ds_state_free(state); /* the catch-up keeps running */
    ds_stream_free(stream);
    ds_cancel_cancel(cancel);
    ds_cancel_free(cancel);
    CHECK_KIND(waiter_wait(&first, WAIT_MS), DS_ERROR_CANCELLED);
    waiter_destroy(&first);
    waiter_destroy(&second);
    ds_client_free(client);
    close(listener);
}

/* A watch read held in flight by a silent server: a second read is refused, the checkpoint is
 * readable meanwhile, and freeing the watch ends the read with DS_ERROR_CANCELLED. */
static void test_watch_in_flight(void) {
    DsStateWatch *watch = (DsStateWatch *)1;
    CHECK_KIND_MSG(ds_state_watch_open(NULL, NULL, NULL, NULL, DS_LIVE_OFF, &watch),
                   DS_ERROR_INVALID_ARGUMENT, "stream");
    CHECK(watch == NULL, "out is NULL on failure");
    CHECK(ds_state_watch_checkpoint(NULL) == NULL, "checkpoint of NULL");
    ds_state_watch_free(NULL);
    Waiter w;
    waiter_init(&w);
    ds_state_watch_next(NULL, NULL, on_watch, &w);
    CHECK(waiter_done(&w), "synchronous");
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "watch");
    waiter_reset(&w);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listener >= 0, "socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
    CHECK(listen(listener, 16) == 0, "listen");
    socklen_t len = sizeof addr;
    CHECK(getsockname(listener, (struct sockaddr *)&addr, &len) == 0, "getsockname");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/silent", ntohs(addr.sin_port));
    DsClient *client = new_client(NULL);
    DsStream *stream = new_stream(client, url);
    CHECK_KIND_MSG(ds_state_watch_open(stream, NULL, NULL, NULL, 9, &watch),
                   DS_ERROR_INVALID_ARGUMENT, "live_mode");
    CHECK_KIND(ds_state_watch_open(stream, NULL, NULL, "1_2,x", DS_LIVE_OFF, &watch),
               DS_ERROR_INVALID_OFFSET);
    CHECK_KIND_MSG(ds_state_watch_open(stream, NULL, NULL, NULL, DS_LIVE_OFF, NULL),
                   DS_ERROR_INVALID_ARGUMENT, "out");
    watch = open_watch(stream, "eu:", NULL, "0_0,3");
    CHECK_STR(ds_state_watch_checkpoint(watch), "0_0,3");
    Waiter second;
    waiter_init(&second);
    ds_state_watch_next(watch, NULL, on_watch, &w);
    ds_state_watch_next(watch, NULL, on_watch, &second);
    CHECK_KIND_MSG(waiter_wait(&second, WAIT_MS), DS_ERROR_INVALID_ARGUMENT,
                   "a watch read is already in progress");
    CHECK_STR(ds_state_watch_checkpoint(watch), "0_0,3");
    sleep_ms(50);
    CHECK(!waiter_done(&w), "the read waits for the silent server");
    ds_state_watch_free(watch);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_CANCELLED);
    waiter_destroy(&w);
    waiter_destroy(&second);
    ds_stream_free(stream);
    ds_client_free(client);
    close(listener);
}

/* ---------------------------------------------------------------- server tests */

static void test_write_and_apply_chunks(void) {
    DsClient *client = new_client(NULL);
    DsStream *stream = new_state_stream(client, "state-apply");
    write_ok(stream, "{\"type\":\"user\",\"key\":\"1\",\"value\":{\"name\":\"Alice\"},"
                     "\"headers\":{\"operation\":\"insert\",\"txid\":\"tx-1\"}}");
    write_ok(stream, "{\"type\":\"user\",\"key\":\"2\",\"value\":{\"name\":\"Bob\"},"
                     "\"headers\":{\"operation\":\"insert\",\"timestamp\":\"2025-01-15T10:30:00.250Z\"}}");
    write_ok(stream, "{\"type\":\"user\",\"key\":\"1\",\"value\":{\"name\":\"Alice Smith\"},"
                     "\"old_value\":{\"name\":\"Alice\"},\"headers\":{\"operation\":\"update\"}}");
    write_ok(stream, "{\"type\":\"config\",\"key\":\"theme\",\"value\":\"dark\","
                     "\"headers\":{\"operation\":\"upsert\"}}");
    write_ok(stream, "{\"type\":\"user\",\"key\":\"2\",\"headers\":{\"operation\":\"delete\"}}");
    Waiter w;
    waiter_init(&w);
    ds_state_write_all(stream,
                       "[{\"type\":\"t\",\"key\":\"b\",\"value\":[1,2],\"headers\":{\"operation\":\"insert\"}},"
                       " {\"type\":\"t\",\"key\":\"a\",\"value\":null,\"headers\":{\"operation\":\"upsert\"}}]",
                       NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    char *last = strdup(w.offset);
    waiter_reset(&w);
    waiter_destroy(&w);

    DsMaterializedState *state = NULL;
    CHECK_OK(ds_state_new(&state));
    CHECK(apply_by_reader(state, stream) == 7, "seven messages");
    CHECK_STR(ds_state_get(state, "user", "1"), "{\"name\":\"Alice Smith\"}");
    CHECK(ds_state_get(state, "user", "2") == NULL, "deleted");
    CHECK_STR(ds_state_get(state, "config", "theme"), "\"dark\"");
    CHECK_STR(ds_state_get(state, "t", "a"), "null");
    CHECK_STR(ds_state_get(state, "t", "b"), "[1,2]");
    CHECK(ds_state_count(state, NULL) == 4, "four entities");
    CHECK(ds_state_count(state, "user") == 1 && ds_state_count(state, "t") == 2, "per type");
    CHECK(ds_state_count(state, "none") == 0, "a missing type");
    CHECK_STR(ds_state_keys(state, "t"), "[\"a\",\"b\"]");
    CHECK_STR(ds_state_types(state), "[\"config\",\"t\",\"user\"]");
    CHECK_STR(ds_state_json(state, "user"), "{\"1\":{\"name\":\"Alice Smith\"}}");
    CHECK_STR(ds_state_json(state, NULL),
              "{\"config\":{\"theme\":\"dark\"},\"t\":{\"a\":null,\"b\":[1,2]},"
              "\"user\":{\"1\":{\"name\":\"Alice Smith\"}}}");
    CHECK_STR(ds_state_offset(state), last);
    CHECK(!ds_state_in_snapshot(state), "no snapshot");

    /* The same through ds_state_catch_up, then only the new messages. */
    DsMaterializedState *caught = NULL;
    CHECK_OK(ds_state_new(&caught));
    catch_up(caught, stream);
    char *a = ds_state_json(caught, NULL), *b = ds_state_json(state, NULL);
    CHECK(strcmp(a, b) == 0, "catch-up and reader agree: %s vs %s", a, b);
    ds_string_free(a);
    ds_string_free(b);
    write_ok(stream, "{\"type\":\"user\",\"key\":\"3\",\"value\":3,\"headers\":{\"operation\":\"insert\"}}");
    catch_up(caught, stream);
    CHECK(apply_by_reader(state, stream) == 1, "the reader resumes at the state's offset");
    CHECK_STR(ds_state_get(caught, "user", "3"), "3");
    CHECK(ds_state_count(caught, NULL) == 5 && ds_state_count(state, NULL) == 5, "five");
    free(last);
    ds_state_free(caught);
    ds_state_free(state);
    ds_stream_free(stream);
    ds_client_free(client);
}

static void test_snapshot_markers_reset_and_restore(void) {
    DsClient *client = new_client(NULL);
    DsStream *stream = new_state_stream(client, "state-snap");
    DsMaterializedState *state = NULL;
    CHECK_OK(ds_state_new(&state));
    write_ok(stream, "{\"type\":\"t\",\"key\":\"old\",\"value\":0,\"headers\":{\"operation\":\"insert\"}}");
    write_ok(stream, "{\"headers\":{\"control\":\"snapshot-start\"}}");
    write_ok(stream, "{\"type\":\"t\",\"key\":\"a\",\"value\":1,\"headers\":{\"operation\":\"insert\"}}");
    catch_up(state, stream);
    CHECK(ds_state_in_snapshot(state), "inside the snapshot");
    CHECK(ds_state_count(state, "t") == 2, "markers change no entity");

    /* Saved inside the snapshot and restored: entities, flag and offset come back. */
    char *saved = ds_state_snapshot(state);
    CHECK(saved != NULL && strstr(saved, "\"in_snapshot\":true") != NULL, "%s", saved);
    DsMaterializedState *restored = NULL;
    CHECK_OK(ds_state_restore(saved, &restored));
    ds_string_free(saved);
    CHECK(ds_state_in_snapshot(restored), "restored flag");
    char *o1 = ds_state_offset(state), *o2 = ds_state_offset(restored);
    CHECK(strcmp(o1, o2) == 0, "restored offset");
    ds_string_free(o1);
    ds_string_free(o2);

    write_ok(stream, "{\"headers\":{\"control\":\"snapshot-end\"}}");
    catch_up(state, stream);
    CHECK(!ds_state_in_snapshot(state), "snapshot ended");
    write_ok(stream, "{\"headers\":{\"control\":\"reset\"}}");
    catch_up(state, stream);
    CHECK(ds_state_count(state, NULL) == 0, "reset clears everything");
    CHECK_STR(ds_state_types(state), "[]");
    write_ok(stream, "{\"type\":\"t\",\"key\":\"b\",\"value\":2,\"headers\":{\"operation\":\"insert\"}}");
    catch_up(state, stream);
    CHECK_STR(ds_state_json(state, NULL), "{\"t\":{\"b\":2}}");

    /* The restored state reads only what followed its offset and reaches the same state. */
    CHECK(apply_by_reader(restored, stream) == 3, "three messages after the saved offset");
    CHECK_STR(ds_state_json(restored, NULL), "{\"t\":{\"b\":2}}");
    CHECK(!ds_state_in_snapshot(restored), "reset ends the snapshot");

    /* An empty state at an offset. */
    char *offset = ds_state_offset(state), *doc = NULL;
    CHECK(asprintf(&doc, "{\"offset\":\"%s\",\"entities\":{}}", offset) > 0, "asprintf");
    DsMaterializedState *tail = NULL;
    CHECK_OK(ds_state_restore(doc, &tail));
    catch_up(tail, stream);
    CHECK(ds_state_count(tail, NULL) == 0, "nothing after the tail");
    free(doc);
    ds_string_free(offset);
    ds_state_free(tail);
    ds_state_free(restored);
    ds_state_free(state);
    ds_stream_free(stream);
    ds_client_free(client);
}

static void test_malformed_stream_messages(void) {
    DsClient *client = new_client(NULL);
    DsStream *stream = new_state_stream(client, "state-bad");
    write_ok(stream, "{\"type\":\"t\",\"key\":\"k\",\"value\":1,\"headers\":{\"operation\":\"insert\"}}");
    DsMaterializedState *state = NULL;
    CHECK_OK(ds_state_new(&state));
    catch_up(state, stream);
    char *good = ds_state_offset(state);

    /* Someone else appends a message the protocol does not allow. */
    const char *bad = "[{\"type\":\"t\",\"key\":\"k2\",\"value\":2,\"headers\":{\"operation\":\"insert\"}},"
                      "{\"type\":\"t\",\"key\":\"k\",\"headers\":{\"operation\":\"merge\"}}]";
    Waiter w;
    waiter_init(&w);
    ds_stream_append(stream, (const uint8_t *)bad, strlen(bad), NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);

    ds_state_catch_up(state, stream, NULL, on_done, &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(error != NULL && ds_error_url(error) != NULL, "the error names the stream");
    CHECK_KIND_MSG(error, DS_ERROR_PARSE_ERROR, "headers.operation");
    waiter_reset(&w);
    CHECK_STR(ds_state_offset(state), good);
    CHECK(ds_state_count(state, NULL) == 1 && ds_state_get(state, "t", "k2") == NULL,
          "the bad chunk is applied not at all");

    /* The same through a reader: the error names the message, the offset and the field. */
    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, good, DS_LIVE_OFF, NULL, &reader));
    ds_reader_next(reader, NULL, on_chunk, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.chunk != NULL, "the bad chunk");
    size_t applied = 5;
    char needle[256];
    snprintf(needle, sizeof needle, "message 1 of the chunk read from offset %s", good);
    error = ds_state_apply_chunk(state, w.chunk, &applied);
    CHECK(error != NULL && strstr(ds_error_message(error), "headers.operation") != NULL,
          "names the field");
    CHECK_KIND_MSG(error, DS_ERROR_PARSE_ERROR, needle);
    CHECK(applied == 0, "nothing applied");
    CHECK(ds_state_count(state, NULL) == 1, "untouched");
    waiter_reset(&w);
    waiter_destroy(&w);
    ds_reader_free(reader);
    ds_string_free(good);

    /* A chunk of a text stream is not state. */
    char *url = unique_url(server, "state-text");
    DsStream *text = new_stream(client, url);
    free(url);
    create_stream(text, "{\"content_type\":\"text/plain\"}");
    append_text(text, "hello");
    CHECK_OK(ds_reader_open(text, NULL, DS_LIVE_OFF, NULL, &reader));
    waiter_init(&w);
    ds_reader_next(reader, NULL, on_chunk, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK_KIND_MSG(ds_state_apply_chunk(state, w.chunk, NULL), DS_ERROR_INVALID_ARGUMENT, "JSON");
    waiter_reset(&w);
    waiter_destroy(&w);
    ds_reader_free(reader);
    ds_stream_free(text);
    ds_state_free(state);
    ds_stream_free(stream);
    ds_client_free(client);
}

static void test_durable_watch(void) {
    DsClient *client = new_client(NULL);
    DsStream *stream = new_state_stream(client, "state-watch");
    Waiter w;
    waiter_init(&w);
    ds_state_write_all(
        stream,
        "[{\"type\":\"order\",\"key\":\"eu:1\",\"value\":1,\"headers\":{\"operation\":\"insert\"}},"
        " {\"type\":\"order\",\"key\":\"us:1\",\"value\":2,\"headers\":{\"operation\":\"insert\"}},"
        " {\"type\":\"order\",\"key\":\"eu:2\",\"value\":3,\"headers\":{\"operation\":\"insert\"}},"
        " {\"type\":\"customer\",\"key\":\"eu:9\",\"value\":4,\"headers\":{\"operation\":\"upsert\"}},"
        " {\"headers\":{\"control\":\"reset\"}}]",
        NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    waiter_destroy(&w);
    write_ok(stream, "{\"type\":\"order\",\"key\":\"eu:1\",\"headers\":{\"operation\":\"delete\"}}");

    /* Orders of eu: in order, the reset whatever the filter, then the end. */
    DsStateWatch *watch = open_watch(stream, "eu:", "order", NULL);
    char *cp1 = expect_next(watch, "\"key\":\"eu:1\"");
    char *cp2 = expect_next(watch, "\"key\":\"eu:2\"");
    char *cp3 = expect_next(watch, "\"control\":\"reset\"");
    char *cp4 = expect_next(watch, "\"operation\":\"delete\"");
    CHECK(expect_next(watch, NULL) == NULL, "the end");
    CHECK(strchr(cp1, ',') != NULL, "a checkpoint inside a response counts messages: %s", cp1);
    char *tail = ds_state_watch_checkpoint(watch);
    CHECK(strcmp(tail, cp4) == 0, "checkpoint after the last: %s vs %s", tail, cp4);
    ds_state_watch_free(watch);

    /* Resuming from each checkpoint delivers exactly what followed it. */
    watch = open_watch(stream, "eu:", "order", cp1);
    free(expect_next(watch, "\"key\":\"eu:2\""));
    ds_state_watch_free(watch);
    watch = open_watch(stream, "eu:", "order", cp3);
    free(expect_next(watch, "\"operation\":\"delete\""));
    CHECK(expect_next(watch, NULL) == NULL, "the end");
    ds_state_watch_free(watch);
    watch = open_watch(stream, "eu:", "order", tail);
    CHECK(expect_next(watch, NULL) == NULL, "nothing after the tail");
    ds_state_watch_free(watch);

    /* Every key of every type; a prefix of another type. */
    watch = open_watch(stream, NULL, NULL, NULL);
    const char *all[] = {"eu:1", "us:1", "eu:2", "eu:9", "reset", "delete"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(expect_next(watch, all[i]));
    CHECK(expect_next(watch, NULL) == NULL, "the end");
    ds_state_watch_free(watch);
    watch = open_watch(stream, "eu:", "customer", NULL);
    free(expect_next(watch, "\"key\":\"eu:9\""));
    free(expect_next(watch, "reset"));
    CHECK(expect_next(watch, NULL) == NULL, "the end");
    ds_state_watch_free(watch);

    /* A checkpoint past the data. */
    char *past = NULL;
    CHECK(asprintf(&past, "%s,5", tail) > 0, "asprintf");
    watch = open_watch(stream, NULL, NULL, past);
    waiter_init(&w);
    ds_state_watch_next(watch, NULL, on_watch, &w);
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_OFFSET, "past the data");
    waiter_reset(&w);
    waiter_destroy(&w);
    ds_state_watch_free(watch);
    free(past);
    ds_string_free(tail);
    free(cp1);
    free(cp2);
    free(cp3);
    free(cp4);
    ds_stream_free(stream);
    ds_client_free(client);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    double start = now_ms();
    static const Test offline[] = {
        {"argument_errors", test_argument_errors},
        {"catch_up_in_flight", test_catch_up_in_flight},
        {"watch_in_flight", test_watch_in_flight},
    };
    static const Test online[] = {
        {"write_and_apply_chunks", test_write_and_apply_chunks},
        {"snapshot_markers_reset_and_restore", test_snapshot_markers_reset_and_restore},
        {"malformed_stream_messages", test_malformed_stream_messages},
        {"durable_watch", test_durable_watch},
    };
    int ran = run_tests(offline, sizeof offline / sizeof offline[0], "-");
    TestServers servers;
    servers_start(&servers, "both");
    for (int i = 0; i < servers.count; i++) {
        server = &servers.servers[i];
        ran += run_tests(online, sizeof online / sizeof online[0], server->kind);
    }
    servers_stop(&servers);
    printf("test_state: %d tests passed in %.1f s\n", ran, (now_ms() - start) / 1000.0);
    return 0;
}
