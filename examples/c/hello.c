/* hello.c: create a text stream, append a line, read the stream back, print it, exit.
 * Build: cc -std=c11 hello.c $(pkg-config --cflags --libs durable_streams) -lpthread -o hello
 * Run:   ./hello http://127.0.0.1:4437/hello */
#define _POSIX_C_SOURCE 200809L
#include <durable_streams.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

/* Network calls complete through a callback on a library thread; sem_wait waits for it. */
static sem_t done;
static DsError *err;
static DsChunk *chunk;
static void on_create(void *u, DsError *e, const DsCreateResult *r) {
    (void)u; (void)r; err = e; sem_post(&done);
}
static void on_append(void *u, DsError *e, const DsAppendResult *r) {
    (void)u; (void)r; err = e; sem_post(&done);
}
static void on_chunk(void *u, DsError *e, DsChunk *c) {
    (void)u; err = e; chunk = c; sem_post(&done);
}

static int failed(DsError *e, const char *what) { /* prints and frees an error */
    if (e == NULL) return 0;
    fprintf(stderr, "%s failed: %s %s\n", what, ds_error_code(e), ds_error_message(e));
    ds_error_free(e);
    return 1;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:4437/hello", *line = "hello, world\n";
    DsClient *client;
    DsStream *stream;
    DsReader *reader;
    sem_init(&done, 0, 0);
    if (failed(ds_client_new(NULL, NULL, NULL, NULL, &client), "client")) return 1;
    if (failed(ds_stream_new(client, url, &stream), "stream")) return 1;
    ds_stream_create(stream, "{\"content_type\":\"text/plain\"}", NULL, 0, NULL, on_create, NULL);
    sem_wait(&done);
    if (failed(err, "create")) return 1;
    ds_stream_append(stream, (const uint8_t *)line, strlen(line), NULL, NULL, on_append, NULL);
    sem_wait(&done);
    if (failed(err, "append")) return 1;
    /* A catch-up read (DS_LIVE_OFF) from the beginning ("-1"); a NULL chunk means up to date. */
    if (failed(ds_reader_open(stream, "-1", DS_LIVE_OFF, NULL, &reader), "open")) return 1;
    for (;;) {
        ds_reader_next(reader, NULL, on_chunk, NULL);
        sem_wait(&done);
        if (failed(err, "read")) return 1;
        if (chunk == NULL) break;
        size_t len;
        const uint8_t *data = ds_chunk_data(chunk, &len);
        fwrite(data, 1, len, stdout);
        ds_chunk_free(chunk);
    }
    ds_reader_free(reader);
    ds_stream_free(stream);
    ds_client_free(client);
    return 0;
}
