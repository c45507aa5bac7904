/*
 * C tests of the subscription exports of libdurable_streams: the control API (JSON documents),
 * the pull worker with batches completed from another thread, redelivery after a failed batch,
 * the claim / ack / release primitives with fencing, and argument errors. Against the Node
 * reference server (which implements subscriptions) and Electric's (which does not).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const TestServer *server;

/* ---------------------------------------------------------------- JSON and claim callbacks */

typedef struct {
    Waiter w;
    DsClaim *claim;
} ClaimWaiter;

static void on_claim(void *ud, DsError *error, DsClaim *claim) {
    ClaimWaiter *c = ud;
    pthread_mutex_lock(&c->w.mu);
    c->w.error = error;
    c->claim = claim;
    c->w.calls++;
    pthread_cond_broadcast(&c->w.cv);
    pthread_mutex_unlock(&c->w.mu);
}

static DsSubscription *new_subscription(DsClient *client, const char *id) {
    DsSubscription *subscription = NULL;
    CHECK_OK(ds_subscription_new(client, NULL, id, &subscription));
    CHECK(subscription != NULL, "subscription handle");
    return subscription;
}

/* Creates the subscription with `config`; returns the document (owned) or aborts. */
static char *create_subscription(DsSubscription *subscription, const char *config) {
    Waiter w;
    waiter_init(&w);
    ds_subscription_create(subscription, config, NULL, on_json, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    char *json = w.json;
    w.json = NULL;
    waiter_destroy(&w);
    return json;
}

static char *get_subscription(DsSubscription *subscription, DsError **error) {
    Waiter w;
    waiter_init(&w);
    ds_subscription_get(subscription, NULL, on_json, &w);
    *error = waiter_wait(&w, WAIT_MS);
    char *json = w.json;
    w.json = NULL;
    waiter_destroy(&w);
    return json;
}

static void json_stream(DsClient *client, const char *name) {
    DsStream *stream = new_stream(client, name);
    create_stream(stream, "{\"content_type\":\"application/json\"}");
    ds_stream_free(stream);
}

static void append_json(DsClient *client, const char *name, const char *json) {
    DsStream *stream = new_stream(client, name);
    append_text(stream, json);
    ds_stream_free(stream);
}

/* A pull-wake subscription over the explicit stream `stream` with a fresh wake stream. */
static char *pull_config(DsClient *client, const char *stream, int lease_ms) {
    char *wake = unique_name("sub-wake");
    json_stream(client, wake);
    char lease[48] = "";
    if (lease_ms > 0) snprintf(lease, sizeof lease, ",\"lease_ttl_ms\":%d", lease_ms);
    char *config = NULL;
    CHECK(asprintf(&config, "{\"type\":\"pull-wake\",\"wake_stream\":\"%s\",\"streams\":[\"%s\"]%s}",
                   wake, stream, lease) > 0,
          "asprintf");
    free(wake);
    return config;
}

/* ---------------------------------------------------------------- offline */

static void test_argument_errors(void) {
    DsClient *client = new_client("{\"base_url\":\"http://127.0.0.1:9/v1/stream\"}");
    DsSubscription *subscription = (DsSubscription *)0x1;
    CHECK_KIND_MSG(ds_subscription_new(NULL, NULL, "s", &subscription), DS_ERROR_INVALID_ARGUMENT,
                   "client");
    CHECK(subscription == NULL, "out cleared on failure");
    CHECK_KIND_MSG(ds_subscription_new(client, NULL, "has space", &subscription),
                   DS_ERROR_INVALID_ARGUMENT, "id");
    CHECK_KIND(ds_subscription_new(client, NULL, "s", NULL), DS_ERROR_INVALID_ARGUMENT);

    subscription = new_subscription(client, "orders");
    CHECK(strcmp(ds_subscription_id(subscription), "orders") == 0, "id");
    CHECK(strstr(ds_subscription_url(subscription), "/__ds/subscriptions/orders") != NULL, "url %s",
          ds_subscription_url(subscription));

    /* Malformed documents are reported before the call returns, naming the field. */
    static const struct {
        const char *config;
        const char *field;
    } bad[] = {
        {"[1]", "config"},
        {"{\"type\":\"pull-wake\"}", "wake_stream"},
        {"{\"type\":\"webhook\"}", "webhook.url"},
        {"{\"type\":\"pull-wake\",\"wake_stream\":\"w\"}", "pattern"},
        {"{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"pattern\":\"a/*\",\"lease_ttl_ms\":10}",
         "lease_ttl"},
        {"{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"pattern\":\"a/*\",\"leaseTtl\":1}",
         "leaseTtl"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Waiter w;
        waiter_init(&w);
        ds_subscription_create(subscription, bad[i].config, NULL, on_json, &w);
        CHECK(waiter_done(&w), "%s: reported on the calling thread", bad[i].config);
        CHECK_KIND_MSG(waiter_wait(&w, 0), DS_ERROR_INVALID_ARGUMENT, bad[i].field);
        waiter_destroy(&w);
    }

    DsPullWorker *worker = (DsPullWorker *)0x1;
    CHECK_KIND_MSG(ds_pull_worker_new(subscription, "", NULL, &worker), DS_ERROR_INVALID_ARGUMENT,
                   "worker");
    CHECK(worker == NULL, "out cleared");
    DsPullWorkerArgs args = {0};
    CHECK_OK(ds_pull_worker_new(subscription, "w", &args, &worker));
    Waiter w;
    waiter_init(&w);
    ds_pull_worker_run(worker, NULL, NULL, NULL, on_done, &w);
    CHECK_KIND_MSG(waiter_wait(&w, 0), DS_ERROR_INVALID_ARGUMENT, "on_batch");
    waiter_destroy(&w);
    DsWorkerStats stats;
    ds_pull_worker_stats(worker, &stats);
    CHECK(stats.claim_attempts == 0, "no claim yet");
    CHECK(ds_pull_worker_last_error(worker) == NULL, "no error yet");
    ds_pull_worker_stats(NULL, &stats);
    CHECK(stats.claims == 0, "zeros for NULL");

    /* NULL batches and claims are ignored by every accessor. */
    CHECK(ds_batch_id(NULL) == 0 && ds_batch_stream(NULL) == NULL && ds_batch_chunk(NULL) == NULL,
          "NULL batch");
    ds_batch_complete(NULL, NULL);
    ds_batch_free(NULL);
    CHECK(ds_claim_json(NULL) == NULL, "NULL claim");
    ds_claim_free(NULL);

    ds_pull_worker_free(worker);
    ds_subscription_free(subscription);
    ds_client_free(client);
}

/* ---------------------------------------------------------------- Electric */

static void test_unsupported_server(void) {
    DsClient *client = client_for(server);
    char *id = unique_name("none");
    DsSubscription *subscription = new_subscription(client, id);
    Waiter w;
    waiter_init(&w);
    ds_subscription_create(subscription, "{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"pattern\":\"a/*\"}",
                           NULL, on_json, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_SUBSCRIPTIONS_NOT_SUPPORTED);
    waiter_destroy(&w);
    free(id);
    ds_subscription_free(subscription);
    ds_client_free(client);
}

/* ---------------------------------------------------------------- Node: control API */

static void test_control_api(void) {
    DsClient *client = client_for(server);
    char *stream = unique_name("sub-a");
    char *other = unique_name("sub-b");
    json_stream(client, stream);
    json_stream(client, other);
    char *config = pull_config(client, stream, 45000);
    char *id = unique_name("control");
    DsSubscription *subscription = new_subscription(client, id);

    char *created = create_subscription(subscription, config);
    CHECK(strstr(created, "\"created\":true") != NULL, "%s", created);
    CHECK(strstr(created, "\"lease_ttl_ms\":45000") != NULL, "%s", created);
    CHECK(strstr(created, "\"type\":\"pull-wake\"") != NULL, "%s", created);
    CHECK(strstr(created, stream) != NULL, "%s", created);
    char *again = create_subscription(subscription, config);
    CHECK(strstr(again, "\"created\":false") != NULL, "%s", again);

    char *different = NULL;
    CHECK(asprintf(&different, "{\"type\":\"pull-wake\",\"wake_stream\":\"elsewhere\",\"streams\":[\"%s\"]}",
                   other) > 0,
          "asprintf");
    Waiter w;
    waiter_init(&w);
    ds_subscription_create(subscription, different, NULL, on_json, &w);
    DsError *conflict = waiter_wait(&w, WAIT_MS);
    CHECK(conflict != NULL && ds_error_status(conflict) == 409, "409");
    CHECK_KIND(conflict, DS_ERROR_SUBSCRIPTION_CONFLICT);
    waiter_destroy(&w);

    const char *paths[] = {other};
    waiter_init(&w);
    ds_subscription_add_streams(subscription, paths, 1, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_destroy(&w);
    DsError *error = NULL;
    char *info = get_subscription(subscription, &error);
    CHECK_OK(error);
    CHECK(strstr(info, other) != NULL, "%s", info);
    free(info);
    waiter_init(&w);
    ds_subscription_remove_stream(subscription, other, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_destroy(&w);
    info = get_subscription(subscription, &error);
    CHECK_OK(error);
    CHECK(strstr(info, other) == NULL, "%s", info);
    free(info);

    waiter_init(&w);
    ds_subscription_add_streams(subscription, NULL, 1, NULL, on_done, &w);
    CHECK_KIND_MSG(waiter_wait(&w, 0), DS_ERROR_INVALID_ARGUMENT, "paths");
    waiter_destroy(&w);

    waiter_init(&w);
    ds_subscription_delete(subscription, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_destroy(&w);
    info = get_subscription(subscription, &error);
    CHECK(info == NULL, "no document after delete");
    CHECK_KIND(error, DS_ERROR_NOT_FOUND);

    free(created);
    free(again);
    free(different);
    free(config);
    free(id);
    free(stream);
    free(other);
    ds_subscription_free(subscription);
    ds_client_free(client);
}

/* ---------------------------------------------------------------- Node: pull worker */

typedef struct {
    Waiter done; /* the run's completion */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int batches;
    int failures_left; /* batches to fail before succeeding */
    int lost;
    char text[4096];   /* the data of the successful batches, concatenated */
} RunState;

typedef struct {
    RunState *state;
    DsBatch *batch;
} Completion;

/* Completes a batch on another thread, as a binding's async handler would. */
static void *complete_later(void *arg) {
    Completion *c = arg;
    sleep_ms(10);
    RunState *s = c->state;
    pthread_mutex_lock(&s->mu);
    bool fail = s->failures_left > 0;
    if (fail) {
        s->failures_left--;
    } else {
        size_t len = 0;
        const uint8_t *data = ds_chunk_data(ds_batch_chunk(c->batch), &len);
        size_t used = strlen(s->text);
        CHECK(used + len < sizeof s->text, "room");
        memcpy(s->text + used, data, len);
        s->text[used + len] = 0;
    }
    s->batches++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    ds_batch_complete(c->batch, fail ? "handler says no" : NULL);
    ds_batch_complete(c->batch, "ignored: only the first outcome counts");
    ds_batch_free(c->batch);
    free(c);
    return NULL;
}

static void on_batch(void *ud, DsBatch *batch) {
    RunState *s = ud;
    CHECK(ds_batch_id(batch) > 0, "batch id");
    CHECK(ds_batch_stream(batch) != NULL, "stream");
    CHECK(ds_chunk_message_count(ds_batch_chunk(batch)) > 0, "JSON messages");
    Completion *c = malloc(sizeof *c);
    CHECK(c != NULL, "malloc");
    c->state = s;
    c->batch = batch;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, complete_later, c) == 0, "thread");
    pthread_detach(thread);
}

static void on_lost(void *ud, uint64_t batch_id) {
    RunState *s = ud;
    (void)batch_id;
    pthread_mutex_lock(&s->mu);
    s->lost++;
    pthread_mutex_unlock(&s->mu);
}

/* The run passes one user_data to all three callbacks. */
static void on_run_done(void *ud, DsError *error) {
    RunState *s = ud;
    on_done(&s->done, error);
}

static void wait_for_text(RunState *s, const char *needle) {
    double deadline = now_ms() + WAIT_MS;
    pthread_mutex_lock(&s->mu);
    while (strstr(s->text, needle) == NULL) {
        pthread_mutex_unlock(&s->mu);
        CHECK(now_ms() < deadline, "no batch with %s (have %s)", needle, s->text);
        sleep_ms(10);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

static void test_pull_worker(void) {
    DsClient *client = client_for(server);
    char *stream = unique_name("sub-w");
    json_stream(client, stream);
    char *config = pull_config(client, stream, 0);
    char *id = unique_name("worker");
    DsSubscription *subscription = new_subscription(client, id);
    free(create_subscription(subscription, config));
    append_json(client, stream, "{\"n\":1}");

    DsPullWorkerArgs args = {.failure_backoff_ms = 20};
    DsPullWorker *worker = NULL;
    CHECK_OK(ds_pull_worker_new(subscription, "c-worker", &args, &worker));
    /* The worker outlives the handles it came from. */
    ds_subscription_free(subscription);

    RunState state = {.failures_left = 1};
    pthread_mutex_init(&state.mu, NULL);
    pthread_cond_init(&state.cv, NULL);
    DsCancel *cancel = ds_cancel_new();
    waiter_init(&state.done);
    ds_pull_worker_run(worker, cancel, on_batch, on_lost, on_run_done, &state);
    wait_for_text(&state, "\"n\":1");
    append_json(client, stream, "{\"n\":2}");
    wait_for_text(&state, "\"n\":2");
    ds_cancel_cancel(cancel);
    CHECK_KIND(waiter_wait(&state.done, WAIT_MS), DS_ERROR_CANCELLED);
    waiter_destroy(&state.done);

    DsWorkerStats stats;
    ds_pull_worker_stats(worker, &stats);
    CHECK(stats.claims >= 2, "claims %llu", (unsigned long long)stats.claims);
    CHECK(stats.handler_failures == 1, "failures %llu", (unsigned long long)stats.handler_failures);
    CHECK(stats.batches >= 2, "batches %llu", (unsigned long long)stats.batches);
    char *last = ds_pull_worker_last_error(worker);
    CHECK(last != NULL && strstr(last, "handler says no") != NULL, "last error %s", last);
    ds_string_free(last);
    /* The failed first delivery came again: n=1 was handled once, successfully. */
    CHECK(strcmp(state.text, "[{\"n\":1}][{\"n\":2}]") == 0, "%s", state.text);
    CHECK(state.batches >= 3, "batches %d", state.batches);
    CHECK(state.lost == 0, "lost %d", state.lost);

    /* Let the detached completion threads finish before the state goes away. */
    sleep_ms(50);
    ds_cancel_free(cancel);
    ds_pull_worker_free(worker);
    pthread_mutex_destroy(&state.mu);
    pthread_cond_destroy(&state.cv);
    free(config);
    free(id);
    free(stream);
    ds_client_free(client);
}

/* ---------------------------------------------------------------- Node: primitives */

static DsClaim *claim(DsSubscription *subscription, const char *worker, DsError **error) {
    ClaimWaiter c = {0};
    waiter_init(&c.w);
    ds_subscription_claim(subscription, worker, NULL, on_claim, &c);
    *error = waiter_wait(&c.w, WAIT_MS);
    waiter_destroy(&c.w);
    return c.claim;
}

static void test_claim_ack_and_fencing(void) {
    DsClient *client = client_for(server);
    char *stream = unique_name("sub-c");
    json_stream(client, stream);
    char *config = pull_config(client, stream, 1000);
    char *id = unique_name("claims");
    DsSubscription *subscription = new_subscription(client, id);
    free(create_subscription(subscription, config));
    append_json(client, stream, "{\"n\":1}");

    DsError *error = NULL;
    DsClaim *stale = claim(subscription, "sleepy", &error);
    CHECK_OK(error);
    CHECK(stale != NULL, "a claim");
    const char *json = ds_claim_json(stale);
    CHECK(strstr(json, "\"wake_id\"") != NULL && strstr(json, "\"has_pending\":true") != NULL, "%s",
          json);
    CHECK(strstr(json, "token") == NULL, "the token stays inside: %s", json);
    DsClaim *none = claim(subscription, "eager", &error);
    CHECK(none == NULL, "no second claim");
    CHECK_KIND(error, DS_ERROR_ALREADY_CLAIMED);

    /* The lease lapses; the other worker gets the work. */
    DsClaim *current = NULL;
    double deadline = now_ms() + WAIT_MS;
    while (current == NULL) {
        CHECK(now_ms() < deadline, "the lease never expired");
        current = claim(subscription, "eager", &error);
        if (error != NULL) {
            CHECK_KIND(error, DS_ERROR_ALREADY_CLAIMED);
            sleep_ms(50);
        }
    }

    DsStream *handle = new_stream(client, stream);
    Waiter w;
    waiter_init(&w);
    ds_stream_head(handle, NULL, on_head, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    DsAck ack = {.stream = stream, .offset = w.next_offset};
    ClaimWaiter c = {0};
    waiter_init(&c.w);
    ds_subscription_ack(subscription, stale, &ack, 1, true, NULL, on_next_wake, &c.w);
    DsError *fenced = waiter_wait(&c.w, WAIT_MS);
    CHECK(fenced != NULL && ds_error_status(fenced) == 409, "409");
    CHECK_KIND(fenced, DS_ERROR_FENCED);
    waiter_destroy(&c.w);
    Waiter r;
    waiter_init(&r);
    ds_subscription_release(subscription, stale, NULL, on_done, &r);
    CHECK_KIND(waiter_wait(&r, WAIT_MS), DS_ERROR_FENCED);
    waiter_destroy(&r);

    DsAck sentinel = {.stream = stream, .offset = "-1"};
    waiter_init(&c.w);
    ds_subscription_ack(subscription, current, &sentinel, 1, true, NULL, on_next_wake, &c.w);
    CHECK_KIND_MSG(waiter_wait(&c.w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "acks[0].offset");
    waiter_destroy(&c.w);

    waiter_init(&c.w);
    ds_subscription_ack(subscription, current, &ack, 1, true, NULL, on_next_wake, &c.w);
    CHECK_OK(waiter_wait(&c.w, WAIT_MS));
    CHECK(!c.w.next_wake, "nothing more pending");
    waiter_destroy(&c.w);
    DsError *get_error = NULL;
    char *info = get_subscription(subscription, &get_error);
    CHECK_OK(get_error);
    CHECK(strstr(info, w.next_offset) != NULL, "cursor at the tail: %s", info);
    free(info);

    waiter_reset(&w); /* frees the head's strings */
    waiter_destroy(&w);
    ds_stream_free(handle);
    ds_claim_free(stale);
    ds_claim_free(current);
    free(config);
    free(id);
    free(stream);
    ds_subscription_free(subscription);
    ds_client_free(client);
}

/* ---------------------------------------------------------------- runner */

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    double start = now_ms();
    static const Test offline[] = {{"argument_errors", test_argument_errors}};
    static const Test electric[] = {{"unsupported_server", test_unsupported_server}};
    static const Test node[] = {
        {"control_api", test_control_api},
        {"pull_worker", test_pull_worker},
        {"claim_ack_and_fencing", test_claim_ack_and_fencing},
    };
    int ran = run_tests(offline, sizeof offline / sizeof offline[0], "-");
    TestServers servers;
    servers_start(&servers, "both");
    for (int i = 0; i < servers.count; i++) {
        server = &servers.servers[i];
        if (strcmp(server->kind, "node") == 0) {
            ran += run_tests(node, sizeof node / sizeof node[0], server->kind);
        } else {
            ran += run_tests(electric, sizeof electric / sizeof electric[0], server->kind);
        }
    }
    servers_stop(&servers);
    printf("test_subscriptions: %d tests passed in %.1f s\n", ran, (now_ms() - start) / 1000.0);
    return 0;
}
