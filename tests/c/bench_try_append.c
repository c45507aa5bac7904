/*
 * Cost of calls through the C ABI (layer "c-abi"), the counterpart of the Rust benchmark
 * bench/src/bin/call-overhead.rs (same calls through the Rust API: the difference is the FFI
 * layer), plus producer throughput through the C ABI (counterpart of producer-throughput).
 *
 *   try-append-isolated   ds_producer_try_append of 100 B; the producer points at a closed port,
 *                         so nothing is delivered and no background work competes
 *   try-append-delivering the same while Electric's server receives the batches
 *   try-append-full       the call when the buffer is full (DS_APPEND_FULL)
 *   epoch                 ds_producer_epoch, a trivial synchronous call
 *   flush-empty           ds_producer_flush with nothing pending: a pure async round trip
 *                         (runtime task, callback on a worker thread, condition variable)
 *   head                  ds_stream_head against the local server (HTTP round trip)
 *   producer throughput   N x 100 B via try_append (ds_producer_append when full) + flush,
 *                         run first, with the allocator's default settings
 *
 * Each loop runs one warm-up repetition ("cold": the buffer's pages are touched for the first
 * time, a page fault every ~40 messages) and then DS_C_BENCH_REPS measured ones on warm memory:
 * freed memory stays in the process (mallopt), as in a long-running producer. Same as the Rust
 * benchmark, so the two layers are measured under the same conditions.
 *
 * Run by `make check` with small counts as a smoke test (fails only if a call misbehaves), and by
 * `./build.sh bench` with full counts. Environment:
 *   DS_C_BENCH_MESSAGES     calls per synchronous loop (default 300000)
 *   DS_C_BENCH_REPS         repetitions of each loop; the median is reported (default 1)
 *   DS_C_BENCH_ROUND_TRIPS  async round trips measured (default 500)
 *   DS_C_BENCH_THROUGHPUT   messages of the throughput run (default 100000; 0 skips it)
 *   DS_C_BENCH_JSON         write the results as a JSON array to this path
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define MAX_REPS 64
#define MAX_RESULTS 16

static const char *SERVER_DESC = "electric durable-streams-server 0.1.5 (--durability memory)";

static long env_long(const char *name, long fallback) {
    const char *text = getenv(name);
    return text != NULL && *text ? atol(text) : fallback;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Upper median, as the Rust benchmarks report. Sorts `values`. */
static double median(double *values, int n) {
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return values[n / 2];
}

/* Nearest-rank percentile of sorted samples. */
static double percentile(const double *sorted, long n, double p) {
    double exact = p / 100.0 * (double)n - 1e-9; /* ceil without libm */
    long rank = (long)exact;
    if ((double)rank < exact) rank++;
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

/* `n` with thousands separators (1,000,000), in a static buffer. */
static const char *grouped(long n) {
    static char out[32];
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%ld", n), o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
    return out;
}

/* ---------------------------------------------------------------- results */

static char *results[MAX_RESULTS];
static int result_count;

static void add_result(char *json) {
    CHECK(result_count < MAX_RESULTS, "too many results");
    results[result_count++] = json;
}

static void per_call(const char *scenario, const char *title, double cold, double *runs, int reps,
                     long calls) {
    double min = runs[0], max = runs[0];
    for (int i = 1; i < reps; i++) {
        if (runs[i] < min) min = runs[i];
        if (runs[i] > max) max = runs[i];
    }
    double ns = median(runs, reps);
    printf("call-overhead [c-abi] %s: %.1f ns/call (median of %d x %ld calls; range %.1f-%.1f; "
           "cold %.1f)\n",
           title, ns, reps, calls, min, max, cold);
    char *json = NULL;
    CHECK(asprintf(&json,
                   "{\"benchmark\":\"call-overhead\",\"scenario\":\"%s\",\"title\":\"%s\","
                   "\"layer\":\"c-abi\",\"ns_per_call\":%.3f,\"cold_ns_per_call\":%.3f,"
                   "\"calls\":%ld,\"reps\":%d,\"server\":\"%s\"}",
                   scenario, title, ns, cold, calls, reps, SERVER_DESC) > 0,
          "asprintf");
    add_result(json);
}

static void round_trip(const char *scenario, const char *title, double *us, long n) {
    qsort(us, (size_t)n, sizeof *us, compare_doubles);
    double sum = 0;
    for (long i = 0; i < n; i++) sum += us[i];
    double p50 = percentile(us, n, 50), p99 = percentile(us, n, 99),
           p999 = percentile(us, n, 99.9);
    printf("call-overhead [c-abi] %s: p50 %.2f us, p99 %.2f us, mean %.2f us (%ld round trips)\n",
           title, p50, p99, sum / (double)n, n);
    char *json = NULL;
    CHECK(asprintf(&json,
                   "{\"benchmark\":\"call-overhead\",\"scenario\":\"%s\",\"title\":\"%s\","
                   "\"layer\":\"c-abi\",\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,"
                   "\"mean_us\":%.3f,\"max_us\":%.3f,\"samples\":%ld,\"server\":\"%s\"}",
                   scenario, title, p50, p99, p999, sum / (double)n, us[n - 1], n,
                   SERVER_DESC) > 0,
          "asprintf");
    add_result(json);
}

static void write_results(void) {
    const char *path = getenv("DS_C_BENCH_JSON");
    if (path == NULL || *path == 0) return;
    FILE *out = fopen(path, "w");
    CHECK(out != NULL, "cannot write %s", path);
    fprintf(out, "[\n");
    for (int i = 0; i < result_count; i++)
        fprintf(out, "  %s%s\n", results[i], i + 1 < result_count ? "," : "");
    fprintf(out, "]\n");
    CHECK(fclose(out) == 0, "writing %s", path);
}

/* ---------------------------------------------------------------- helpers */

/* A port with nothing listening (bound, then released): connections are refused at once. */
static int closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0, "socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0, "bind");
    socklen_t len = sizeof addr;
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0, "getsockname");
    close(fd);
    return ntohs(addr.sin_port);
}

static DsProducer *new_producer(DsStream *stream, const char *options_json) {
    DsProducer *producer = NULL;
    CHECK_OK(ds_producer_new(stream, "bench", options_json, NULL, NULL, NULL, &producer));
    return producer;
}

static void flush_producer(DsProducer *producer) {
    Waiter w;
    waiter_init(&w);
    ds_producer_flush(producer, NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, 120000));
    waiter_reset(&w);
    waiter_destroy(&w);
}

static uint8_t payload[100];

/* `calls` accepted appends; ns per call. */
static double append_loop(DsProducer *producer, long calls) {
    double start = now_ms();
    for (long i = 0; i < calls; i++) {
        int32_t status = ds_producer_try_append(producer, payload, sizeof payload, NULL);
        CHECK(status == DS_APPEND_OK, "status %d at %ld", status, i);
    }
    return (now_ms() - start) * 1e6 / (double)calls;
}

/* ---------------------------------------------------------------- throughput */

typedef struct {
    double seconds;
    double cpu;
} Run;

static Run throughput_run(DsClient *client, const TestServer *server, long messages) {
    char *url = unique_url(server, "bench-throughput");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"application/octet-stream\"}");
    DsProducer *producer = new_producer(stream, NULL);
    Waiter w;
    waiter_init(&w);
    double cpu_before = cpu_seconds();
    double start = now_ms();
    for (long i = 0; i < messages; i++) {
        int32_t status = ds_producer_try_append(producer, payload, sizeof payload, NULL);
        if (status == DS_APPEND_FULL) {
            /* Wait for room the way a C caller would: the async append and a condition variable. */
            ds_producer_append(producer, payload, sizeof payload, NULL, on_done, &w);
            CHECK_OK(waiter_wait(&w, 120000));
            waiter_reset(&w);
            continue;
        }
        CHECK(status == DS_APPEND_OK, "status %d at %ld", status, i);
    }
    flush_producer(producer);
    Run run = {(now_ms() - start) / 1000.0, cpu_seconds() - cpu_before};
    waiter_destroy(&w);
    ds_producer_free(producer);
    ds_stream_free(stream);
    free(url);
    return run;
}

static void throughput(DsClient *client, const TestServer *server, long messages, int reps) {
    throughput_run(client, server, messages / 10 > 0 ? messages / 10 : 1); /* warm-up */
    Run runs[MAX_REPS];
    double rates[MAX_REPS], sorted[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        runs[i] = throughput_run(client, server, messages);
        rates[i] = sorted[i] = (double)messages / runs[i].seconds;
    }
    double mid = median(sorted, reps);
    Run chosen = runs[0];
    for (int i = 0; i < reps; i++)
        if (rates[i] == mid) chosen = runs[i];
    double mb_per_s = (double)messages * 100.0 / 1e6 / chosen.seconds;
    double cpu_us = chosen.cpu * 1e6 / (double)messages;
    printf("producer-throughput [c-abi] %ld x 100 B, 1 producer: %.0f msg/s, %.1f MB/s, %.3f us "
           "CPU/msg, %.3f s (median of %d; range %.0f-%.0f msg/s)\n",
           messages, mid, mb_per_s, cpu_us, chosen.seconds, reps, sorted[0], sorted[reps - 1]);
    char *json = NULL;
    CHECK(asprintf(&json,
                   "{\"benchmark\":\"producer-throughput\",\"scenario\":\"%ldx100B-1p\","
                   "\"title\":\"producer %s x 100 B, 1 producer\",\"layer\":\"c-abi\","
                   "\"messages\":%ld,\"message_bytes\":100,\"producers\":1,\"runs\":%d,"
                   "\"elapsed_s\":%.6f,\"messages_per_s\":%.1f,\"mb_per_s\":%.3f,"
                   "\"cpu_us_per_message\":%.4f,\"server\":\"%s\"}",
                   messages, grouped(messages), messages, reps, chosen.seconds, mid, mb_per_s, cpu_us,
                   SERVER_DESC) > 0,
          "asprintf");
    add_result(json);
}

/* ---------------------------------------------------------------- main */

int main(void) {
    long calls = env_long("DS_C_BENCH_MESSAGES", 300000);
    long reps = env_long("DS_C_BENCH_REPS", 1);
    long trips = env_long("DS_C_BENCH_ROUND_TRIPS", 500);
    long messages = env_long("DS_C_BENCH_THROUGHPUT", 100000);
    CHECK(calls > 0 && reps > 0 && reps <= MAX_REPS && trips > 0 && messages >= 0,
          "bad DS_C_BENCH_* settings");
    memset(payload, 'x', sizeof payload);

    TestServers servers;
    servers_start_with(&servers, "electric", "--durability-memory");
    const TestServer *server = &servers.servers[0];
    DsClient *client = new_client(NULL);
    char *url = unique_url(server, "bench");
    DsStream *live = new_stream(client, url);
    create_stream(live, "{\"content_type\":\"application/octet-stream\"}");
    char *dead_url = NULL;
    CHECK(asprintf(&dead_url, "http://127.0.0.1:%d/nowhere", closed_port()) > 0, "asprintf");
    DsStream *dead = new_stream(client, dead_url);

    /* Throughput first, with the allocator's default settings (as producer-throughput). */
    if (messages > 0) throughput(client, server, messages, (int)(reps < 5 ? reps : 5));

    /* Then keep freed memory in the process for the call loops (see the top comment). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);

    /* Room for every message of a repetition, so the loops never meet a full buffer. */
    char roomy[256];
    snprintf(roomy, sizeof roomy,
             "{\"content_type\":\"application/octet-stream\",\"max_buffered_bytes\":%ld,"
             "\"max_buffered_messages\":%ld}",
             calls * 100 * 2, calls * 2);
    double runs[MAX_REPS], cold = 0;

    for (int r = -1; r < reps; r++) {
        DsProducer *producer = new_producer(dead, roomy);
        *(r < 0 ? &cold : &runs[r]) = append_loop(producer, calls);
        ds_producer_free(producer);
    }
    per_call("try-append-isolated", "try_append 100 B (nothing delivered)", cold, runs, (int)reps,
             calls);

    for (int r = -1; r < reps; r++) {
        DsProducer *producer = new_producer(live, roomy);
        *(r < 0 ? &cold : &runs[r]) = append_loop(producer, calls);
        flush_producer(producer);
        ds_producer_free(producer);
    }
    per_call("try-append-delivering", "try_append 100 B (server receiving)", cold, runs,
             (int)reps, calls);

    /* FULL: a buffer of one message that is never sent (closed port, long linger). */
    for (int r = -1; r < reps; r++) {
        DsProducer *producer = new_producer(
            dead, "{\"content_type\":\"application/octet-stream\",\"max_buffered_messages\":1,"
                  "\"linger_ms\":600000}");
        CHECK(ds_producer_try_append(producer, payload, sizeof payload, NULL) == DS_APPEND_OK,
              "first append");
        double start = now_ms();
        for (long i = 0; i < calls; i++) {
            CHECK(ds_producer_try_append(producer, payload, sizeof payload, NULL) ==
                      DS_APPEND_FULL,
                  "full");
        }
        *(r < 0 ? &cold : &runs[r]) = (now_ms() - start) * 1e6 / (double)calls;
        ds_producer_free(producer);
    }
    per_call("try-append-full", "try_append when full", cold, runs, (int)reps, calls);

    DsProducer *producer = new_producer(dead, roomy);
    for (int r = -1; r < reps; r++) {
        double start = now_ms();
        uint64_t sum = 0;
        for (long i = 0; i < calls * 5; i++) sum += ds_producer_epoch(producer);
        *(r < 0 ? &cold : &runs[r]) = (now_ms() - start) * 1e6 / (double)(calls * 5);
        CHECK(sum == 0, "epoch sum %llu", (unsigned long long)sum);
    }
    per_call("epoch", "producer epoch (trivial call)", cold, runs, (int)reps, calls * 5);
    ds_producer_free(producer);

    /* Async round trips, timed from the call to the waiting thread waking up. */
    double *us = malloc(sizeof(double) * (size_t)trips);
    CHECK(us != NULL, "malloc");
    producer = new_producer(live, NULL);
    for (long i = -trips / 10; i < trips; i++) {
        Waiter w;
        waiter_init(&w);
        double start = now_ms();
        ds_producer_flush(producer, NULL, on_offset, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        if (i >= 0) us[i] = (now_ms() - start) * 1000.0;
        waiter_reset(&w);
        waiter_destroy(&w);
    }
    ds_producer_free(producer);
    round_trip("flush-empty", "flush with nothing pending", us, trips);

    for (long i = -trips / 10; i < trips; i++) {
        Waiter w;
        waiter_init(&w);
        double start = now_ms();
        ds_stream_head(live, NULL, on_head, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        if (i >= 0) us[i] = (now_ms() - start) * 1000.0;
        waiter_reset(&w);
        waiter_destroy(&w);
    }
    round_trip("head", "head round trip (HTTP)", us, trips);
    free(us);

    write_results();
    for (int i = 0; i < result_count; i++) free(results[i]);
    ds_stream_free(dead);
    ds_stream_free(live);
    ds_client_free(client);
    free(dead_url);
    free(url);
    servers_stop(&servers);
    return 0;
}
