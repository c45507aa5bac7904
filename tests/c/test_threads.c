/*
 * Several threads share one client, one stream and one producer: plain appends, producer
 * appends (try_append, falling back to the waiting append when full), a live reader, catch-up
 * readers, heads and reader-position queries all run at once. Every message must arrive
 * exactly once, in per-thread order, with no errors and no leaked handles.
 *
 * DS_C_SCALE (default 1.0) scales the workload (the valgrind run uses less).
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <string.h>

#include "harness.h"

#define APPENDERS 2
#define PRODUCERS 3

static int appends_per_thread = 40;
static int messages_per_producer = 1000;

static DsStream *stream;
static DsProducer *producer;
static atomic_bool writers_done;
static atomic_int full_count;
static DsReader *live_reader;
static atomic_bool live_done;

static void *appender_main(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < appends_per_thread; i++) {
        char line[32];
        snprintf(line, sizeof line, "A%d-%05d\n", id, i);
        append_text(stream, line);
    }
    return NULL;
}

static void *producer_main(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < messages_per_producer; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "P%d-%05d\n", id, i);
        DsError *error = NULL;
        int32_t status = ds_producer_try_append(producer, (const uint8_t *)line, (size_t)n, &error);
        if (status == DS_APPEND_FULL) {
            atomic_fetch_add(&full_count, 1);
            /* Wait for room; the callback completes once the message is buffered, so the
             * thread's order is kept. */
            Waiter w;
            waiter_init(&w);
            ds_producer_append(producer, (const uint8_t *)line, (size_t)n, NULL, on_done, &w);
            CHECK_OK(waiter_wait(&w, WAIT_MS));
            waiter_reset(&w);
            waiter_destroy(&w);
        } else {
            CHECK(status == DS_APPEND_OK, "try_append: [%s] %s", ds_error_code(error),
                  ds_error_message(error));
        }
    }
    return NULL;
}

/* Heads and short catch-up reads while everything else runs. */
static void *observer_main(void *arg) {
    (void)arg;
    while (!atomic_load(&writers_done)) {
        Waiter w;
        waiter_init(&w);
        ds_stream_head(stream, NULL, on_head, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        waiter_reset(&w);
        waiter_destroy(&w);
        size_t len = 0;
        free(read_all(stream, &len));
        /* The live reader's position may be queried while its next is pending. */
        char *offset = ds_reader_offset(live_reader);
        CHECK(offset != NULL, "offset");
        ds_string_free(offset);
        ds_string_free(ds_reader_cursor(live_reader));
        sleep_ms(5);
    }
    return NULL;
}

typedef struct {
    char *data;
    size_t len, cap;
} Buffer;

static void *live_reader_main(void *arg) {
    Buffer *buffer = (Buffer *)arg;
    size_t expected_lines =
        (size_t)APPENDERS * appends_per_thread + (size_t)PRODUCERS * messages_per_producer;
    size_t lines = 0;
    while (lines < expected_lines) {
        Waiter w;
        waiter_init(&w);
        ds_reader_next(live_reader, NULL, on_chunk, &w);
        CHECK_OK(waiter_wait(&w, 60000));
        CHECK(w.chunk != NULL, "live read ended early after %zu lines", lines);
        size_t n = 0;
        const uint8_t *data = ds_chunk_data(w.chunk, &n);
        while (buffer->len + n + 1 > buffer->cap) {
            buffer->cap = buffer->cap ? buffer->cap * 2 : 4096;
            buffer->data = realloc(buffer->data, buffer->cap);
            CHECK(buffer->data != NULL, "realloc");
        }
        memcpy(buffer->data + buffer->len, data, n);
        buffer->len += n;
        buffer->data[buffer->len] = 0;
        for (size_t i = 0; i < n; i++) lines += data[i] == '\n';
        waiter_reset(&w);
        waiter_destroy(&w);
    }
    atomic_store(&live_done, true);
    return NULL;
}

/* Every expected line exactly once, and each thread's lines in order. */
static void verify(const char *text, const char *what) {
    int next_a[APPENDERS] = {0}, next_p[PRODUCERS] = {0};
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        CHECK(end != NULL, "%s: unterminated line", what);
        char kind;
        int id, seq;
        CHECK(sscanf(line, "%c%d-%d", &kind, &id, &seq) == 3, "%s: bad line %.20s", what, line);
        if (kind == 'A') {
            CHECK(id < APPENDERS && seq == next_a[id], "%s: A%d-%d out of order", what, id, seq);
            next_a[id]++;
        } else {
            CHECK(kind == 'P' && id < PRODUCERS && seq == next_p[id], "%s: %c%d-%d", what, kind,
                  id, seq);
            next_p[id]++;
        }
        line = end + 1;
    }
    for (int i = 0; i < APPENDERS; i++) {
        CHECK(next_a[i] == appends_per_thread, "%s: appender %d wrote %d", what, i, next_a[i]);
    }
    for (int i = 0; i < PRODUCERS; i++) {
        CHECK(next_p[i] == messages_per_producer, "%s: producer %d wrote %d", what, i, next_p[i]);
    }
}

static void run_against(const TestServer *server, int32_t live_mode) {
    uint64_t baseline = ds_test_live_handles();
    double start = now_ms();
    atomic_store(&writers_done, false);
    atomic_store(&live_done, false);
    atomic_store(&full_count, 0);

    DsClient *client = new_client(NULL);
    char *url = unique_url(server, "threads");
    stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    CHECK_OK(ds_producer_new(stream, "threads", "{\"max_buffered_messages\":64,\"linger_ms\":2}",
                             NULL, NULL, NULL, &producer));
    CHECK_OK(ds_reader_open(stream, NULL, live_mode, NULL, &live_reader));

    Buffer live = {0};
    pthread_t reader_thread, observer, appenders[APPENDERS], producers[PRODUCERS];
    CHECK(pthread_create(&reader_thread, NULL, live_reader_main, &live) == 0, "thread");
    CHECK(pthread_create(&observer, NULL, observer_main, NULL) == 0, "thread");
    for (intptr_t i = 0; i < APPENDERS; i++) {
        CHECK(pthread_create(&appenders[i], NULL, appender_main, (void *)i) == 0, "thread");
    }
    for (intptr_t i = 0; i < PRODUCERS; i++) {
        CHECK(pthread_create(&producers[i], NULL, producer_main, (void *)i) == 0, "thread");
    }
    for (int i = 0; i < APPENDERS; i++) pthread_join(appenders[i], NULL);
    for (int i = 0; i < PRODUCERS; i++) pthread_join(producers[i], NULL);

    Waiter w;
    waiter_init(&w);
    ds_producer_flush(producer, NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    waiter_destroy(&w);
    atomic_store(&writers_done, true);
    pthread_join(observer, NULL);
    pthread_join(reader_thread, NULL);
    CHECK(atomic_load(&live_done), "live reader finished");

    verify(live.data, "live read");
    size_t len = 0;
    char *all = read_all(stream, &len);
    verify(all, "catch-up read");
    CHECK(len == live.len && memcmp(all, live.data, len) == 0, "live and catch-up reads agree");
    free(all);
    free(live.data);

    ds_reader_free(live_reader);
    ds_producer_free(producer);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
    check_no_leaks(baseline, "threads");
    printf("ok   threads (%s, live mode %d): %d appends, %d producer messages (%d FULL), %.0f ms\n",
           server->kind, live_mode, APPENDERS * appends_per_thread,
           PRODUCERS * messages_per_producer, atomic_load(&full_count), now_ms() - start);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *scale_text = getenv("DS_C_SCALE");
    double scale = scale_text != NULL ? atof(scale_text) : 1.0;
    if (scale > 0) {
        appends_per_thread = (int)(appends_per_thread * scale);
        messages_per_producer = (int)(messages_per_producer * scale);
        if (appends_per_thread < 1) appends_per_thread = 1;
        if (messages_per_producer < 1) messages_per_producer = 1;
    }
    const char *which = getenv("DS_C_SERVERS");
    TestServers servers;
    servers_start(&servers, which != NULL && *which ? which : "both");
    for (int i = 0; i < servers.count; i++) {
        run_against(&servers.servers[i], DS_LIVE_LONG_POLL);
        run_against(&servers.servers[i], DS_LIVE_SSE);
    }
    servers_stop(&servers);
    printf("test_threads: passed\n");
    return 0;
}
