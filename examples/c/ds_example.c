/*
 * ds_example: a small command-line client built on libdurable_streams.
 *
 *   ds_example create <url> [content-type]   create a stream (default text/plain)
 *   ds_example append <url>                  append stdin, one message per line, exactly once
 *   ds_example tail <url> [offset]           print the stream, then follow it live until it
 *                                            is closed (offset: -1 = beginning, now = tail)
 *   ds_example cat <url>                     print the stream and exit
 *
 * Build: cc -std=c11 ds_example.c $(pkg-config --cflags --libs durable_streams) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <durable_streams.h>

/* ------------------------------------------------------------------ waiting for callbacks */

/* Callbacks run on the library's threads; this turns one completion into a blocking wait. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    DsError *error;
    DsChunk *chunk;
    char *text; /* an offset, copied */
} Completion;

static void completion_init(Completion *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static void complete(Completion *c, DsError *error, DsChunk *chunk, const char *text) {
    pthread_mutex_lock(&c->mu);
    c->error = error;
    c->chunk = chunk;
    c->text = text != NULL ? strdup(text) : NULL;
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Waits; returns the error (owned by the caller) or NULL. */
static DsError *completion_wait(Completion *c) {
    pthread_mutex_lock(&c->mu);
    while (!c->done) pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    return c->error;
}

static void on_create(void *ud, DsError *error, const DsCreateResult *result) {
    (void)result;
    complete(ud, error, NULL, NULL);
}
static void on_done(void *ud, DsError *error) { complete(ud, error, NULL, NULL); }
static void on_chunk(void *ud, DsError *error, DsChunk *chunk) { complete(ud, error, chunk, NULL); }
static void on_offset(void *ud, DsError *error, const char *offset) {
    complete(ud, error, NULL, offset);
}

/* Prints the error and exits. */
static void fail_if(DsError *error, const char *what) {
    if (error == NULL) return;
    fprintf(stderr, "ds_example: %s failed: [%s] %s\n", what, ds_error_code(error),
            ds_error_message(error));
    ds_error_free(error);
    exit(1);
}

/* ------------------------------------------------------------------ commands */

static int cmd_create(DsStream *stream, const char *content_type) {
    char options[256];
    snprintf(options, sizeof options, "{\"content_type\":\"%s\"}", content_type);
    Completion c;
    completion_init(&c);
    ds_stream_create(stream, options, NULL, 0, NULL, on_create, &c);
    fail_if(completion_wait(&c), "create");
    return 0;
}

static int cmd_append(DsStream *stream) {
    char id[64];
    snprintf(id, sizeof id, "ds_example-%ld", (long)getpid());
    DsProducer *producer = NULL;
    fail_if(ds_producer_new(stream, id, NULL, NULL, NULL, NULL, &producer), "producer");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        DsError *error = NULL;
        int32_t status = ds_producer_try_append(producer, (uint8_t *)line, (size_t)len, &error);
        if (status == DS_APPEND_FULL) { /* wait for room instead of spinning */
            Completion c;
            completion_init(&c);
            ds_producer_append(producer, (uint8_t *)line, (size_t)len, NULL, on_done, &c);
            error = completion_wait(&c);
        }
        fail_if(error, "append");
    }
    free(line);
    Completion c;
    completion_init(&c);
    ds_producer_flush(producer, NULL, on_offset, &c);
    fail_if(completion_wait(&c), "flush");
    fprintf(stderr, "ds_example: appended; stream offset now %s\n", c.text ? c.text : "(none)");
    free(c.text);
    ds_producer_free(producer);
    return 0;
}

static int cmd_read(DsStream *stream, const char *offset, int32_t live_mode) {
    DsReader *reader = NULL;
    fail_if(ds_reader_open(stream, offset, live_mode, NULL, &reader), "open");
    for (;;) {
        Completion c;
        completion_init(&c);
        ds_reader_next(reader, NULL, on_chunk, &c);
        fail_if(completion_wait(&c), "read");
        if (c.chunk == NULL) break; /* the end: caught up (cat) or closed (tail) */
        size_t len = 0;
        const uint8_t *data = ds_chunk_data(c.chunk, &len);
        fwrite(data, 1, len, stdout);
        fflush(stdout);
        ds_chunk_free(c.chunk);
    }
    char *resume = ds_reader_offset(reader);
    fprintf(stderr, "ds_example: resume from offset %s\n", resume);
    ds_string_free(resume);
    ds_reader_free(reader);
    return 0;
}

static int usage(void) {
    fprintf(stderr,
            "usage: ds_example create <url> [content-type]\n"
            "       ds_example append <url>\n"
            "       ds_example tail <url> [offset]\n"
            "       ds_example cat <url>\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3) return usage();
    if (ds_abi_version() != DS_ABI_VERSION) {
        fprintf(stderr, "ds_example: library ABI %u, header ABI %u\n", ds_abi_version(),
                DS_ABI_VERSION);
        return 1;
    }
    DsClient *client = NULL;
    fail_if(ds_client_new(NULL, NULL, NULL, NULL, &client), "client");
    DsStream *stream = NULL;
    fail_if(ds_stream_new(client, argv[2], &stream), "stream");
    int rc;
    if (strcmp(argv[1], "create") == 0) {
        rc = cmd_create(stream, argc > 3 ? argv[3] : "text/plain");
    } else if (strcmp(argv[1], "append") == 0) {
        rc = cmd_append(stream);
    } else if (strcmp(argv[1], "tail") == 0) {
        rc = cmd_read(stream, argc > 3 ? argv[3] : NULL, DS_LIVE_AUTO);
    } else if (strcmp(argv[1], "cat") == 0) {
        rc = cmd_read(stream, NULL, DS_LIVE_OFF);
    } else {
        rc = usage();
    }
    ds_stream_free(stream);
    ds_client_free(client);
    return rc;
}
