/*
 * The S2 workloads (bench/s2/README.md) through the C ABI, libs2_streamstore (include/s2.h):
 * a producer fed one record per call, s2_producer_try_submit_counted first and, when that finds
 * no room, s2_producer_submit_counted and a wait for its `accepted` callback before the next try
 * (acknowledgements counted per run of records, checked in order); a read session drained batch
 * by batch, and an append session for the acknowledgement latency. Writes the same JSON fields as
 * the Rust program to --json.
 *
 *   s2_bench --endpoint URL [--small-records N] [--large-records N] [--large-bytes B]
 *            [--runs R] [--latency-samples N] [--json PATH]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "s2.h"

#define LAYER "c-abi"
#define SERVER "s2 lite (s2-cli 0.43.4, in memory)"

static void die(const char *what, S2Error *error) {
    fprintf(stderr, "s2_bench: %s: %s\n", what, error ? s2_error_message(error) : "failed");
    exit(1);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* ------------------------------------------------------------- one-shot completions */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    S2Error *error;
    S2Position position;
    S2ReadBatch *batch;
    S2ReadSession *session;
} Waiter;

static void waiter_init(Waiter *w) {
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
}

static void waiter_signal(Waiter *w, S2Error *error) {
    pthread_mutex_lock(&w->lock);
    w->error = error;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void waiter_wait(Waiter *w, const char *what) {
    pthread_mutex_lock(&w->lock);
    while (!w->done) pthread_cond_wait(&w->cond, &w->lock);
    w->done = false;
    pthread_mutex_unlock(&w->lock);
    if (w->error) die(what, w->error);
}

static void on_json(void *data, const char *json, S2Error *error) {
    (void)json;
    waiter_signal(data, error);
}

static void on_json_ignore_errors(void *data, const char *json, S2Error *error) {
    (void)json;
    s2_error_free(error);
    waiter_signal(data, NULL);
}

static void on_done(void *data, S2Error *error) { waiter_signal(data, error); }

static void on_position(void *data, const S2Position *position, S2Error *error) {
    Waiter *w = data;
    if (position) w->position = *position;
    waiter_signal(w, error);
}

static void on_ack(void *data, const S2AppendAck *ack, S2Error *error) {
    (void)ack;
    waiter_signal(data, error);
}

static void on_batch(void *data, S2ReadBatch *batch, S2Error *error) {
    Waiter *w = data;
    w->batch = batch;
    waiter_signal(w, error);
}

static void on_session(void *data, S2ReadSession *session, S2Error *error) {
    Waiter *w = data;
    w->session = session;
    waiter_signal(w, error);
}

/* ------------------------------------------------------------- the producer's window */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t submitted, accepted, acked;
    uint64_t bad_seq; /* first out-of-order acknowledgement + 1, 0 if none */
    S2Error *error;
} Flow;

static void on_accepted(void *data, S2Error *error) {
    Flow *f = data;
    pthread_mutex_lock(&f->lock);
    f->accepted++;
    if (error && !f->error) f->error = error;
    else s2_error_free(error);
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static void on_records_ack(void *data, uint64_t first_seq_num, uint64_t count, S2Error *error) {
    Flow *f = data;
    pthread_mutex_lock(&f->lock);
    if (!error && first_seq_num != f->acked && !f->bad_seq) f->bad_seq = f->acked + 1;
    f->acked += count;
    if (error && !f->error) f->error = error;
    else s2_error_free(error);
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------- workloads */

static S2Client *client;
static char basin[64];

static S2Stream *open_stream(const char *name) {
    Waiter w;
    waiter_init(&w);
    s2_stream_create(client, basin, name, NULL, NULL, on_json, &w);
    waiter_wait(&w, "create stream");
    S2Stream *stream = NULL;
    S2Error *error = s2_stream_open(client, basin, name, &stream);
    if (error) die("open stream", error);
    return stream;
}

typedef struct {
    double elapsed, cpu;
} Run;

static Run produce(S2Stream *stream, const uint8_t *body, size_t size, uint64_t records) {
    Run run;
    double cpu = cpu_s(), started = now_s();
    S2Producer *producer = NULL;
    S2Error *error = s2_producer_open(stream, NULL, &producer);
    if (error) die("open producer", error);
    Flow f = {.submitted = 0};
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.cond, NULL);
    S2NewRecord record = {.body = body, .body_len = size};
    for (uint64_t i = 0; i < records; i++) {
        /* The direct path first: taken on this thread when there is room and nothing queued. */
        int32_t tried = s2_producer_try_submit_counted(producer, &record, on_records_ack, &f, &error);
        if (tried == S2_SUBMIT_ERROR) die("try submit", error);
        if (tried == S2_SUBMIT_OK) continue;
        /* No room now: queue it, and try again once it is accepted (there is room again). */
        pthread_mutex_lock(&f.lock);
        f.submitted++;
        pthread_mutex_unlock(&f.lock);
        s2_producer_submit_counted(producer, &record, on_accepted, on_records_ack, &f);
        pthread_mutex_lock(&f.lock);
        while (f.accepted < f.submitted && !f.error) pthread_cond_wait(&f.cond, &f.lock);
        if (f.error) die("submit", f.error);
        pthread_mutex_unlock(&f.lock);
    }
    Waiter w;
    waiter_init(&w);
    s2_producer_close(producer, on_done, &w);
    waiter_wait(&w, "close producer");
    pthread_mutex_lock(&f.lock);
    while (f.acked < records && !f.error) pthread_cond_wait(&f.cond, &f.lock);
    pthread_mutex_unlock(&f.lock);
    if (f.error) die("acknowledgement", f.error);
    if (f.bad_seq) {
        fprintf(stderr, "s2_bench: record %" PRIu64 " acknowledged out of order\n", f.bad_seq - 1);
        exit(1);
    }
    run.elapsed = now_s() - started;
    run.cpu = cpu_s() - cpu;
    s2_producer_free(producer);
    s2_stream_check_tail(stream, NULL, on_position, &w);
    waiter_wait(&w, "check tail");
    if (w.position.seq_num != records) {
        fprintf(stderr, "s2_bench: the stream holds %" PRIu64 " records, not %" PRIu64 "\n",
                w.position.seq_num, records);
        exit(1);
    }
    return run;
}

static Run catch_up(S2Stream *stream, size_t size, uint64_t records) {
    Run run;
    double cpu = cpu_s(), started = now_s();
    S2ReadArgs args = {.start_kind = S2_READ_FROM_SEQ_NUM, .start = 0, .count = records, .wait_secs = -1};
    Waiter w;
    waiter_init(&w);
    s2_read_session_open(stream, &args, false, NULL, on_session, &w);
    waiter_wait(&w, "open read session");
    S2ReadSession *session = w.session;
    uint64_t next = 0;
    for (;;) {
        s2_read_session_next(session, NULL, on_batch, &w);
        waiter_wait(&w, "read");
        if (!w.batch) break;
        size_t count = 0;
        const S2Record *r = s2_batch_records(w.batch, &count);
        for (size_t i = 0; i < count; i++, next++) {
            if (r[i].seq_num != next || r[i].body_len != size) {
                fprintf(stderr, "s2_bench: read seq %" PRIu64 " (%zu B), expected %" PRIu64 " (%zu B)\n",
                        r[i].seq_num, r[i].body_len, next, size);
                exit(1);
            }
        }
        s2_batch_free(w.batch);
    }
    s2_read_session_free(session);
    if (next != records) {
        fprintf(stderr, "s2_bench: read %" PRIu64 " records, not %" PRIu64 "\n", next, records);
        exit(1);
    }
    run.elapsed = now_s() - started;
    run.cpu = cpu_s() - cpu;
    return run;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double *append_latency(S2Stream *stream, size_t samples) {
    S2AppendSession *session = NULL;
    S2Error *error = s2_append_session_open(stream, NULL, &session);
    if (error) die("open append session", error);
    uint8_t body[100];
    memset(body, 'x', sizeof body);
    S2NewRecord record = {.body = body, .body_len = sizeof body};
    double *us = calloc(samples, sizeof *us);
    if (!us) die("memory", NULL);
    Waiter w;
    waiter_init(&w);
    for (size_t i = 0; i < samples + samples / 10; i++) {
        double started = now_s();
        s2_append_session_submit(session, &record, 1, NULL, NULL, on_ack, &w);
        waiter_wait(&w, "append");
        if (i >= samples / 10) us[i - samples / 10] = (now_s() - started) * 1e6;
    }
    s2_append_session_close(session, on_done, &w);
    waiter_wait(&w, "close append session");
    s2_append_session_free(session);
    qsort(us, samples, sizeof *us, cmp_double);
    return us;
}

/* ------------------------------------------------------------- results */

static FILE *json;
static bool first_result = true;

static void result_begin(void) {
    if (!json) return;
    fprintf(json, first_result ? "[\n" : ",\n");
    first_result = false;
}

static void throughput(const char *benchmark, const char *verb, size_t size, uint64_t records, Run *runs,
                       size_t n) {
    double elapsed[16];
    for (size_t i = 0; i < n; i++) elapsed[i] = runs[i].elapsed;
    qsort(elapsed, n, sizeof *elapsed, cmp_double);
    double median = elapsed[n / 2], cpu = 0;
    for (size_t i = 0; i < n; i++)
        if (runs[i].elapsed == median) cpu = runs[i].cpu;
    double per_s = (double)records / median;
    double mib = (double)records * (double)size / (1024.0 * 1024.0) / median;
    double cpu_us = cpu * 1e6 / (double)records;
    printf("%-11s %-9s %5zu B: %.0f records/s, %.1f MiB/s, %.2f µs CPU/record (%s)\n", LAYER, benchmark, size,
           per_s, mib, cpu_us, verb);
    if (!json) return;
    result_begin();
    fprintf(json,
            "  {\"suite\": \"s2\", \"benchmark\": \"%s\", \"scenario\": \"%" PRIu64 "x%zuB\", \"layer\": \"" LAYER
            "\", \"record_bytes\": %zu, \"records\": %" PRIu64
            ", \"records_per_s\": %f, \"mib_per_s\": %f, \"cpu_us_per_record\": %f, \"server\": \"" SERVER
            "\", \"runs_s\": [",
            benchmark, records, size, size, records, per_s, mib, cpu_us);
    for (size_t i = 0; i < n; i++) fprintf(json, "%s%f", i ? ", " : "", runs[i].elapsed);
    fprintf(json, "]}");
}

static double percentile(const double *sorted, size_t n, double p) {
    size_t rank = (size_t)(p / 100.0 * (double)n - 1e-9) + 1;
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

static uint64_t flag(int argc, char **argv, const char *name, uint64_t fallback) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return strtoull(argv[i + 1], NULL, 10);
    return fallback;
}

static const char *flag_str(int argc, char **argv, const char *name) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}

int main(int argc, char **argv) {
    const char *endpoint = flag_str(argc, argv, "--endpoint");
    if (!endpoint) {
        fprintf(stderr, "usage: s2_bench --endpoint URL [--small-records N] [--large-records N] "
                        "[--large-bytes B] [--runs R] [--latency-samples N] [--json PATH]\n");
        return 2;
    }
    uint64_t counts[2] = {flag(argc, argv, "--small-records", 200000), flag(argc, argv, "--large-records", 20000)};
    size_t sizes[2] = {100, (size_t)flag(argc, argv, "--large-bytes", 8192)};
    size_t runs = (size_t)flag(argc, argv, "--runs", 3), samples = (size_t)flag(argc, argv, "--latency-samples", 2000);
    if (runs < 1 || runs > 16 || samples < 1 || counts[0] < 1 || counts[1] < 1 || sizes[1] < 1) {
        fprintf(stderr, "s2_bench: --runs must be 1-16 and every count at least 1\n");
        return 2;
    }
    const char *json_path = flag_str(argc, argv, "--json");
    if (json_path && !(json = fopen(json_path, "w"))) {
        perror(json_path);
        return 1;
    }
    char options[512];
    snprintf(options, sizeof options, "{\"access_token\": \"bench\", \"endpoint\": \"%s\"}", endpoint);
    S2Error *error = s2_client_new(options, &client);
    if (error) die("client", error);
    snprintf(basin, sizeof basin, "bench-%s", LAYER);
    Waiter w;
    waiter_init(&w);
    s2_basin_delete(client, basin, true, NULL, on_json_ignore_errors, &w); /* left by an interrupted run */
    waiter_wait(&w, "delete basin");
    s2_basin_create(client, basin, NULL, NULL, on_json, &w);
    waiter_wait(&w, "create basin");

    for (int s = 0; s < 2; s++) {
        uint8_t *body = malloc(sizes[s]);
        if (!body) die("memory", NULL);
        memset(body, 'x', sizes[s]);
        char name[64];
        snprintf(name, sizeof name, "warmup-%zu", sizes[s]);
        S2Stream *warm = open_stream(name);
        produce(warm, body, sizes[s], counts[s] / 10 ? counts[s] / 10 : 1);
        s2_stream_free(warm);
        Run written[16], read[16];
        for (size_t r = 0; r < runs; r++) {
            snprintf(name, sizeof name, "producer-%zu-%zu", sizes[s], r);
            S2Stream *stream = open_stream(name);
            written[r] = produce(stream, body, sizes[s], counts[s]);
            read[r] = catch_up(stream, sizes[s], counts[s]);
            s2_stream_free(stream);
        }
        throughput("producer", "written", sizes[s], counts[s], written, runs);
        throughput("catch-up", "read", sizes[s], counts[s], read, runs);
        free(body);
    }

    S2Stream *stream = open_stream("latency");
    double *us = append_latency(stream, samples);
    s2_stream_free(stream);
    double mean = 0;
    for (size_t i = 0; i < samples; i++) mean += us[i] / (double)samples;
    printf("%-11s ack latency 100 B: p50 %.0f µs, p99 %.0f µs (%zu samples)\n", LAYER, percentile(us, samples, 50),
           percentile(us, samples, 99), samples);
    if (json) {
        result_begin();
        fprintf(json,
                "  {\"suite\": \"s2\", \"benchmark\": \"append-latency\", \"scenario\": \"1x100B\", \"layer\": \"" LAYER
                "\", \"record_bytes\": 100, \"p50_us\": %f, \"p99_us\": %f, \"p999_us\": %f, \"max_us\": %f, "
                "\"mean_us\": %f, \"samples\": %zu, \"server\": \"" SERVER "\"}\n]\n",
                percentile(us, samples, 50), percentile(us, samples, 99), percentile(us, samples, 99.9),
                us[samples - 1], mean, samples);
        fclose(json);
    }
    free(us);
    s2_basin_delete(client, basin, false, NULL, on_json, &w);
    waiter_wait(&w, "delete basin");
    s2_client_free(client);
    return 0;
}
