/*
 * Measures the cost of ds_producer_try_append on its two hot paths: accepting a message (the
 * background task concurrently ships batches to a real server) and reporting FULL.
 * Prints ns per call; fails only if a call misbehaves. DS_C_BENCH_MESSAGES sets the count.
 */
#define _GNU_SOURCE
#include <string.h>

#include "harness.h"

static double per_call_ns(double ms, long calls) { return ms * 1e6 / (double)calls; }

int main(void) {
    const char *count_text = getenv("DS_C_BENCH_MESSAGES");
    long messages = count_text != NULL ? atol(count_text) : 300000;
    TestServers servers;
    servers_start(&servers, "electric");
    DsClient *client = new_client(NULL);
    char *url = unique_url(&servers.servers[0], "bench");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"application/octet-stream\"}");

    /* OK path: 100-byte messages into a buffer large enough never to fill. */
    uint8_t payload[100];
    memset(payload, 'x', sizeof payload);
    DsProducer *producer = NULL;
    CHECK_OK(ds_producer_new(stream, "bench", NULL, NULL, NULL, NULL, &producer));
    long full = 0;
    double start = now_ms();
    for (long i = 0; i < messages; i++) {
        int32_t status = ds_producer_try_append(producer, payload, sizeof payload, NULL);
        if (status == DS_APPEND_FULL) { /* delivery lags (huge counts): retry */
            full++;
            i--;
            continue;
        }
        CHECK(status == DS_APPEND_OK, "status %d at %ld", status, i);
    }
    double ok_ms = now_ms() - start;
    Waiter w;
    waiter_init(&w);
    ds_producer_flush(producer, NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, 60000));
    waiter_reset(&w);
    double total_ms = now_ms() - start;
    ds_producer_free(producer);

    /* FULL path: a buffer of one message that is never sent (long linger). */
    CHECK_OK(ds_producer_new(stream, "bench-full",
                             "{\"max_buffered_messages\":1,\"linger_ms\":600000}", NULL, NULL,
                             NULL, &producer));
    CHECK(ds_producer_try_append(producer, payload, sizeof payload, NULL) == DS_APPEND_OK, "1");
    start = now_ms();
    for (long i = 0; i < messages; i++) {
        CHECK(ds_producer_try_append(producer, payload, sizeof payload, NULL) == DS_APPEND_FULL,
              "full");
    }
    double full_ms = now_ms() - start;
    ds_producer_free(producer);

    printf("ds_producer_try_append: OK %.0f ns/call, FULL %.0f ns/call "
           "(%ld x 100 B, %ld FULL retries; all delivered in %.0f ms)\n",
           per_call_ns(ok_ms, messages), per_call_ns(full_ms, messages), messages, full,
           total_ms);
    waiter_destroy(&w);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
    servers_stop(&servers);
    return 0;
}
