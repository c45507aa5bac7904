/*
 * s2_example: a small program on libs2_streamstore that ends by itself. Against the S2
 * endpoint it is given (e.g. a local `s2 lite`), it creates a basin and a stream, appends three
 * records with a header, reads them back, prints them and deletes the basin again.
 *
 *   s2_example <endpoint> [access-token]     e.g. s2_example http://127.0.0.1:4566
 *
 * Build: cc -std=c11 s2_example.c $(pkg-config --cflags --libs s2_streamstore) -lpthread
 *
 * Every call of the library is asynchronous: it returns at once and later invokes its callback
 * exactly once, on a library thread. This program waits for each callback in turn with a
 * mutex and a condition variable (struct call below).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2.h"

/* One pending call: the callback stores its result here and wakes the waiting thread. */
struct call {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    S2Error *error; /* owned: freed with s2_error_free */
    S2AppendAck ack;
    S2ReadBatch *batch; /* owned: freed with s2_batch_free */
};

static void call_init(struct call *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static void call_finish(struct call *c, S2Error *error) {
    pthread_mutex_lock(&c->mu);
    c->error = error;
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Waits for the callback; prints and returns its error (the caller frees it). */
static S2Error *call_wait(struct call *c, const char *what) {
    pthread_mutex_lock(&c->mu);
    while (!c->done) pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    if (c->error != NULL)
        fprintf(stderr, "s2_example: %s failed: [%s] %s\n", what, s2_error_kind_name(c->error),
                s2_error_message(c->error));
    return c->error;
}

/* Control-plane results are JSON documents, borrowed for the callback only. */
static void on_json(void *user_data, const char *json, S2Error *error) {
    (void)json;
    call_finish(user_data, error);
}

static void on_append(void *user_data, const S2AppendAck *ack, S2Error *error) {
    struct call *c = user_data;
    if (ack != NULL) c->ack = *ack; /* borrowed: copy it */
    call_finish(c, error);
}

static void on_batch(void *user_data, S2ReadBatch *batch, S2Error *error) {
    struct call *c = user_data;
    c->batch = batch; /* owned: we free it after printing */
    call_finish(c, error);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s <endpoint> [access-token]\n", argv[0]);
        return 2;
    }
    char options[1024];
    snprintf(options, sizeof options, "{\"endpoint\":\"%s\",\"access_token\":\"%s\"}", argv[1],
             argc == 3 ? argv[2] : "local");
    S2Client *client = NULL;
    S2Error *error = s2_client_new(options, &client);
    if (error != NULL) {
        fprintf(stderr, "s2_example: %s\n", s2_error_message(error));
        s2_error_free(error);
        return 1;
    }

    /* Basin names: 8-48 lowercase letters, digits and hyphens. */
    char basin[64];
    snprintf(basin, sizeof basin, "s2-example-%ld", (long)getpid());
    const char *stream_name = "greetings";
    int status = 1;
    S2Stream *stream = NULL;
    struct call c;

    call_init(&c);
    s2_basin_create(client, basin, NULL, NULL, on_json, &c);
    if ((error = call_wait(&c, "creating the basin")) != NULL) goto done;
    call_init(&c);
    s2_stream_create(client, basin, stream_name, NULL, NULL, on_json, &c);
    if ((error = call_wait(&c, "creating the stream")) != NULL) goto delete_basin;
    if ((error = s2_stream_open(client, basin, stream_name, &stream)) != NULL) {
        fprintf(stderr, "s2_example: %s\n", s2_error_message(error));
        goto delete_basin;
    }

    /* Three records, each with a "lang" header; the library copies them before returning. */
    const char *bodies[] = {"hello", "hola", "ola"};
    const char *langs[] = {"en", "es", "pt"};
    S2Header headers[3];
    S2NewRecord records[3];
    for (int i = 0; i < 3; i++) {
        headers[i] = (S2Header){(const uint8_t *)"lang", 4, (const uint8_t *)langs[i],
                                strlen(langs[i])};
        records[i] = (S2NewRecord){(const uint8_t *)bodies[i], strlen(bodies[i]), &headers[i], 1,
                                   false, 0};
    }
    call_init(&c);
    s2_stream_append(stream, records, 3, NULL, NULL, on_append, &c);
    if ((error = call_wait(&c, "appending")) != NULL) goto delete_basin;
    printf("appended records %llu..%llu to %s/%s\n", (unsigned long long)c.ack.start.seq_num,
           (unsigned long long)c.ack.end.seq_num - 1, basin, stream_name);

    /* Read them back from sequence number 0. */
    S2ReadArgs args = {S2_READ_FROM_SEQ_NUM, 0, false, 0, 0, false, 0, -1, false};
    call_init(&c);
    s2_stream_read(stream, &args, NULL, on_batch, &c);
    if ((error = call_wait(&c, "reading")) != NULL) goto delete_basin;
    size_t count = 0;
    const S2Record *read = s2_batch_records(c.batch, &count);
    for (size_t i = 0; i < count; i++) {
        printf("%llu:", (unsigned long long)read[i].seq_num);
        for (size_t h = 0; h < read[i].header_count; h++)
            printf(" [%.*s=%.*s]", (int)read[i].headers[h].name_len,
                   (const char *)read[i].headers[h].name, (int)read[i].headers[h].value_len,
                   (const char *)read[i].headers[h].value);
        printf(" %.*s\n", (int)read[i].body_len, (const char *)read[i].body);
    }
    status = count == 3 ? 0 : 1;
    s2_batch_free(c.batch);

delete_basin:
    s2_error_free(error);
    error = NULL;
    s2_stream_free(stream);
    /* Deleting the basin deletes its streams too. */
    call_init(&c);
    s2_basin_delete(client, basin, false, NULL, on_json, &c);
    if ((error = call_wait(&c, "deleting the basin")) != NULL) status = 1;
    else printf("deleted basin %s\n", basin);
done:
    s2_error_free(error);
    s2_client_free(client);
    return status;
}
