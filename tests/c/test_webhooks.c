/*
 * C tests of the webhook exports of libdurable_streams against the Node reference server
 * started with webhooks enabled (ds-test-servers node --webhooks): its real signed deliveries
 * reach a small HTTP receiver this test runs on 127.0.0.1 and are verified (JWKS fetched by
 * the library), tampered and replayed deliveries are rejected, a stale one is rejected by a
 * short window, and a deferred wake is answered with its callback token.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const TestServer *server;

/* ---------------------------------------------------------------- the receiver */

/* One request at a time: the accepting thread stores it, the test answers it. */
typedef struct {
    int listen_fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    /* the pending delivery */
    bool has_request;
    char signature[1024];
    char *body;
    size_t body_len;
    /* the test's answer */
    bool has_reply;
    char reply[64];
} Receiver;

static Receiver receiver;

/* Reads one request from `fd` into the receiver; false when the connection has nothing. */
static bool read_request(int fd) {
    char head[8192];
    size_t used = 0;
    char *end = NULL;
    while (end == NULL) {
        if (used + 1 >= sizeof head) return false;
        ssize_t n = read(fd, head + used, sizeof head - 1 - used);
        if (n <= 0) return false;
        used += (size_t)n;
        head[used] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - head) + 4;
    size_t length = 0;
    char signature[1024] = "";
    for (char *line = strstr(head, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n")) {
        char *name = line + 2;
        if (strncasecmp(name, "content-length:", 15) == 0) length = strtoul(name + 15, NULL, 10);
        if (strncasecmp(name, "webhook-signature:", 18) == 0) {
            char *value = name + 18;
            while (*value == ' ') value++;
            size_t len = strcspn(value, "\r");
            CHECK(len < sizeof signature, "signature fits");
            memcpy(signature, value, len);
            signature[len] = 0;
        }
    }
    char *body = malloc(length + 1);
    CHECK(body != NULL, "malloc");
    size_t have = used - head_len;
    if (have > length) have = length;
    memcpy(body, head + head_len, have);
    while (have < length) {
        ssize_t n = read(fd, body + have, length - have);
        if (n <= 0) {
            free(body);
            return false;
        }
        have += (size_t)n;
    }
    body[length] = 0;
    pthread_mutex_lock(&receiver.mu);
    free(receiver.body);
    receiver.body = body;
    receiver.body_len = length;
    strcpy(receiver.signature, signature);
    receiver.has_request = true;
    receiver.has_reply = false;
    pthread_cond_broadcast(&receiver.cv);
    pthread_mutex_unlock(&receiver.mu);
    return true;
}

static void *receiver_main(void *arg) {
    (void)arg;
    for (;;) {
        int fd = accept(receiver.listen_fd, NULL, NULL);
        if (fd < 0) return NULL;
        pthread_mutex_lock(&receiver.mu);
        bool stopping = receiver.stopping;
        pthread_mutex_unlock(&receiver.mu);
        if (stopping) {
            close(fd);
            return NULL;
        }
        if (read_request(fd)) {
            pthread_mutex_lock(&receiver.mu);
            while (!receiver.has_reply && !receiver.stopping) pthread_cond_wait(&receiver.cv, &receiver.mu);
            char reply[64];
            strcpy(reply, receiver.has_reply ? receiver.reply : "{}");
            receiver.has_reply = false;
            pthread_mutex_unlock(&receiver.mu);
            char response[256];
            int n = snprintf(response, sizeof response,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             strlen(reply), reply);
            CHECK(write(fd, response, (size_t)n) == n, "write the response");
        }
        close(fd);
    }
}

static void receiver_start(void) {
    memset(&receiver, 0, sizeof receiver);
    pthread_mutex_init(&receiver.mu, NULL);
    pthread_cond_init(&receiver.cv, NULL);
    receiver.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(receiver.listen_fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(receiver.listen_fd, (struct sockaddr *)&addr, sizeof addr) == 0, "bind: %s",
          strerror(errno));
    socklen_t len = sizeof addr;
    CHECK(getsockname(receiver.listen_fd, (struct sockaddr *)&addr, &len) == 0, "getsockname");
    receiver.port = ntohs(addr.sin_port);
    CHECK(listen(receiver.listen_fd, 8) == 0, "listen");
    CHECK(pthread_create(&receiver.thread, NULL, receiver_main, NULL) == 0, "pthread_create");
}

static void receiver_stop(void) {
    pthread_mutex_lock(&receiver.mu);
    receiver.stopping = true;
    pthread_cond_broadcast(&receiver.cv);
    pthread_mutex_unlock(&receiver.mu);
    shutdown(receiver.listen_fd, SHUT_RDWR);
    close(receiver.listen_fd);
    pthread_join(receiver.thread, NULL);
    free(receiver.body);
    pthread_mutex_destroy(&receiver.mu);
    pthread_cond_destroy(&receiver.cv);
}

/* Waits for the next delivery; copies its signature and body (owned, NUL-terminated). */
static char *next_delivery(char *signature, size_t *len) {
    pthread_mutex_lock(&receiver.mu);
    double deadline = now_ms() + WAIT_MS;
    while (!receiver.has_request) {
        pthread_mutex_unlock(&receiver.mu);
        CHECK(now_ms() < deadline, "no webhook delivery within %d ms", WAIT_MS);
        sleep_ms(10);
        pthread_mutex_lock(&receiver.mu);
    }
    receiver.has_request = false;
    strcpy(signature, receiver.signature);
    char *body = receiver.body;
    *len = receiver.body_len;
    receiver.body = NULL;
    pthread_mutex_unlock(&receiver.mu);
    return body;
}

static void answer_delivery(const char *reply) {
    pthread_mutex_lock(&receiver.mu);
    snprintf(receiver.reply, sizeof receiver.reply, "%s", reply);
    receiver.has_reply = true;
    pthread_cond_broadcast(&receiver.cv);
    pthread_mutex_unlock(&receiver.mu);
}

/* ---------------------------------------------------------------- callbacks */

typedef struct {
    Waiter w;
    DsWebhookWake *wake;
} WakeWaiter;

static void on_wake(void *ud, DsError *error, DsWebhookWake *wake) {
    WakeWaiter *c = ud;
    pthread_mutex_lock(&c->w.mu);
    CHECK((error == NULL) == (wake != NULL), "exactly one of error and wake");
    c->w.error = error;
    c->wake = wake;
    c->w.calls++;
    pthread_cond_broadcast(&c->w.cv);
    pthread_mutex_unlock(&c->w.mu);
}

/* ---------------------------------------------------------------- helpers */

/* A webhook subscription over a fresh JSON stream; returns the subscription (the stream path
 * and id are written to `*path` and `*id`, owned). */
static DsSubscription *webhook_subscription(DsClient *client, char **path, char **id) {
    *path = unique_name("hook-events");
    DsStream *stream = new_stream(client, *path);
    create_stream(stream, "{\"content_type\":\"application/json\"}");
    ds_stream_free(stream);
    *id = unique_name("hook");
    DsSubscription *subscription = NULL;
    CHECK_OK(ds_subscription_new(client, NULL, *id, &subscription));
    char *config = NULL;
    CHECK(asprintf(&config,
                   "{\"type\":\"webhook\",\"webhook\":{\"url\":\"http://127.0.0.1:%d/hook\"},"
                   "\"streams\":[\"%s\"]}",
                   receiver.port, *path) > 0,
          "asprintf");
    WakeWaiter c = {0};
    waiter_init(&c.w);
    ds_subscription_create(subscription, config, NULL, on_json, &c.w);
    CHECK_OK(waiter_wait(&c.w, WAIT_MS));
    CHECK(strstr(c.w.json, "\"jwks_url\"") != NULL, "signing metadata in %s", c.w.json);
    free(c.w.json);
    waiter_destroy(&c.w);
    free(config);
    return subscription;
}

static void append_json(DsClient *client, const char *path, const char *json) {
    DsStream *stream = new_stream(client, path);
    append_text(stream, json);
    ds_stream_free(stream);
}

/* Verifies through the library (may fetch the JWKS); returns the wake or NULL with *error. */
static DsWebhookWake *verify(DsWebhookVerifier *verifier, const char *signature, const char *body,
                             size_t len, DsError **error) {
    WakeWaiter c = {0};
    waiter_init(&c.w);
    ds_webhook_verify(verifier, signature, (const uint8_t *)body, len, NULL, on_wake, &c);
    *error = waiter_wait(&c.w, WAIT_MS);
    DsWebhookWake *wake = c.wake;
    waiter_destroy(&c.w);
    return wake;
}

/* The value of the string field `name` in `json` (first occurrence), copied. Owned. */
static char *json_string(const char *json, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *at = strstr(json, key);
    CHECK(at != NULL, "%s in %s", name, json);
    at += strlen(key);
    size_t len = strcspn(at, "\"");
    return strndup(at, len);
}

/* Waits until the subscription document shows `offset` as an acked offset. */
static void wait_for_ack(DsSubscription *subscription, const char *offset) {
    char needle[256];
    snprintf(needle, sizeof needle, "\"acked_offset\":\"%s\"", offset);
    double deadline = now_ms() + WAIT_MS;
    for (;;) {
        WakeWaiter c = {0};
        waiter_init(&c.w);
        ds_subscription_get(subscription, NULL, on_json, &c.w);
        CHECK_OK(waiter_wait(&c.w, WAIT_MS));
        bool acked = strstr(c.w.json, needle) != NULL;
        free(c.w.json);
        waiter_destroy(&c.w);
        if (acked) return;
        CHECK(now_ms() < deadline, "the cursor did not reach %s", offset);
        sleep_ms(20);
    }
}

/* ---------------------------------------------------------------- offline */

static void test_argument_errors(void) {
    DsClient *client = new_client("{\"base_url\":\"http://127.0.0.1:9/v1/stream\"}");
    DsClient *rootless = new_client("{}");
    DsWebhookVerifier *verifier = (DsWebhookVerifier *)0x1;
    CHECK_KIND_MSG(ds_webhook_verifier_new(NULL, NULL, 0, NULL, &verifier),
                   DS_ERROR_INVALID_ARGUMENT, "client");
    CHECK(verifier == NULL, "out cleared on failure");
    CHECK_KIND(ds_webhook_verifier_new(client, NULL, 0, NULL, NULL), DS_ERROR_INVALID_ARGUMENT);
    CHECK_KIND_MSG(ds_webhook_verifier_new(client, NULL, 10, NULL, &verifier),
                   DS_ERROR_INVALID_ARGUMENT, "tolerance_ms");
    CHECK_KIND_MSG(ds_webhook_verifier_new(client, NULL, 0, "", &verifier),
                   DS_ERROR_INVALID_ARGUMENT, "subscription_id");
    CHECK_KIND_MSG(ds_webhook_verifier_new(rootless, NULL, 0, NULL, &verifier),
                   DS_ERROR_INVALID_ARGUMENT, "jwks_url");
    CHECK_OK(ds_webhook_verifier_new(client, NULL, 0, NULL, &verifier));

    /* Malformed headers are rejected without I/O, naming the parameter. */
    DsWebhookWake *wake = (DsWebhookWake *)0x1;
    CHECK_KIND_MSG(ds_webhook_verify_cached(verifier, "kid=k,ed25519=AA", (const uint8_t *)"{}", 2,
                                            &wake),
                   DS_ERROR_UNAUTHORIZED, "`t` is missing");
    CHECK(wake == NULL, "out cleared");
    CHECK_KIND_MSG(ds_webhook_verify_cached(verifier, NULL, NULL, 0, &wake),
                   DS_ERROR_INVALID_ARGUMENT, "signature_header");
    CHECK_KIND_MSG(ds_webhook_verify_cached(verifier, "t=1", NULL, 3, &wake),
                   DS_ERROR_INVALID_ARGUMENT, "body");
    /* A well-formed header with no keys cached yet is rejected too (verify_cached never fetches). */
    char header[256];
    snprintf(header, sizeof header,
             "t=%lld,kid=ds_x,ed25519=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             (long long)time(NULL));
    CHECK_KIND_MSG(ds_webhook_verify_cached(verifier, header, (const uint8_t *)"{}", 2, &wake),
                   DS_ERROR_UNAUTHORIZED, "is not in the server's JWKS");

    WakeWaiter c = {0};
    waiter_init(&c.w);
    ds_webhook_verify(NULL, header, NULL, 0, NULL, on_wake, &c);
    CHECK(waiter_done(&c.w), "reported on the calling thread");
    CHECK_KIND_MSG(waiter_wait(&c.w, 0), DS_ERROR_INVALID_ARGUMENT, "verifier");
    waiter_destroy(&c.w);

    DsAck ack = {"events/a", "0000000000000001_0000000000000001"};
    waiter_init(&c.w);
    ds_webhook_callback(client, "ftp://x/y", "w", 1, "t", &ack, 1, true, NULL, on_next_wake, &c.w);
    CHECK_KIND_MSG(waiter_wait(&c.w, 0), DS_ERROR_INVALID_ARGUMENT, "callback_url");
    waiter_destroy(&c.w);
    waiter_init(&c.w);
    ds_webhook_callback(client, "http://127.0.0.1:9/cb", "w", 1, "t", NULL, 1, true, NULL,
                        on_next_wake, &c.w);
    CHECK_KIND_MSG(waiter_wait(&c.w, 0), DS_ERROR_INVALID_ARGUMENT, "acks");
    waiter_destroy(&c.w);
    DsAck sentinel = {"events/a", "now"};
    waiter_init(&c.w);
    ds_webhook_callback(client, "http://127.0.0.1:9/cb", "w", 1, "t", &sentinel, 1, true, NULL,
                        on_next_wake, &c.w);
    CHECK_KIND_MSG(waiter_wait(&c.w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "acks[0].offset");
    waiter_destroy(&c.w);
    waiter_init(&c.w);
    ds_webhook_callback(client, "http://127.0.0.1:9/cb", "w", 1, NULL, NULL, 0, true, NULL,
                        on_next_wake, &c.w);
    CHECK_KIND_MSG(waiter_wait(&c.w, 0), DS_ERROR_INVALID_ARGUMENT, "token");
    waiter_destroy(&c.w);

    /* NULL is ignored by every accessor and free function; NULL callbacks do nothing. */
    CHECK(ds_webhook_wake_json(NULL) == NULL && ds_webhook_wake_callback_token(NULL) == NULL &&
              ds_webhook_wake_callback_url(NULL) == NULL && ds_webhook_wake_id(NULL) == NULL &&
              ds_webhook_wake_generation(NULL) == 0,
          "NULL wake");
    ds_webhook_wake_free(NULL);
    ds_webhook_verifier_free(NULL);
    ds_webhook_verify(verifier, header, NULL, 0, NULL, NULL, NULL);
    ds_webhook_verifier_refresh_keys(verifier, NULL, NULL, NULL);

    ds_webhook_verifier_free(verifier);
    ds_client_free(rootless);
    ds_client_free(client);
}

/* ---------------------------------------------------------------- Node with webhooks */

static void test_verify_and_done(void) {
    DsClient *client = client_for(server);
    char *path = NULL, *id = NULL;
    DsSubscription *subscription = webhook_subscription(client, &path, &id);
    DsWebhookVerifier *verifier = NULL;
    CHECK_OK(ds_webhook_verifier_new(client, NULL, 0, id, &verifier));

    append_json(client, path, "{\"n\":1}");
    char signature[1024];
    size_t len = 0;
    char *body = next_delivery(signature, &len);
    CHECK(strncmp(signature, "t=", 2) == 0, "signature header %s", signature);

    /* A tampered body is rejected (the keys are fetched first), then the genuine one accepted. */
    char *tampered = strdup(body);
    char *digit = strstr(tampered, "\"generation\":") + strlen("\"generation\":");
    *digit = *digit == '9' ? '8' : (char)(*digit + 1);
    DsError *error = NULL;
    CHECK(verify(verifier, signature, tampered, len, &error) == NULL, "no wake");
    CHECK_KIND_MSG(error, DS_ERROR_UNAUTHORIZED, "does not match the body");
    DsWebhookWake *wake = verify(verifier, signature, body, len, &error);
    CHECK_OK(error);
    const char *json = ds_webhook_wake_json(wake);
    char *expected_id = NULL;
    CHECK(asprintf(&expected_id, "\"subscription_id\":\"%s\"", id) > 0, "asprintf");
    CHECK(strstr(json, expected_id) != NULL, "%s", json);
    CHECK(strstr(json, path) != NULL && strstr(json, "\"has_pending\":true") != NULL, "%s", json);
    CHECK(strstr(json, "callback_token") == NULL, "the token stays out of the document: %s", json);
    CHECK(ds_webhook_wake_generation(wake) >= 1, "generation");
    CHECK(strlen(ds_webhook_wake_callback_token(wake)) > 0, "token");
    CHECK(strstr(ds_webhook_wake_callback_url(wake), "/callback") != NULL, "callback url");
    char *wake_id = json_string(json, "wake_id");
    CHECK(strcmp(wake_id, ds_webhook_wake_id(wake)) == 0, "wake id");
    char *tail = json_string(json, "tail_offset");

    /* The same delivery again is a replay, also through the synchronous call. */
    DsWebhookWake *again = (DsWebhookWake *)0x1;
    CHECK_KIND_MSG(ds_webhook_verify_cached(verifier, signature, (const uint8_t *)body, len, &again),
                   DS_ERROR_UNAUTHORIZED, "a replay");
    CHECK(again == NULL, "out cleared");
    CHECK(verify(verifier, signature, body, len, &error) == NULL, "no wake");
    CHECK_KIND_MSG(error, DS_ERROR_UNAUTHORIZED, "a replay");
    answer_delivery("{\"done\":true}");
    wait_for_ack(subscription, tail);

    /* The next wake verifies synchronously with the cached keys. */
    append_json(client, path, "{\"n\":2}");
    char *body2 = next_delivery(signature, &len);
    DsWebhookWake *second = NULL;
    CHECK_OK(ds_webhook_verify_cached(verifier, signature, (const uint8_t *)body2, len, &second));
    CHECK(ds_webhook_wake_generation(second) > ds_webhook_wake_generation(wake), "new generation");
    char *tail2 = json_string(ds_webhook_wake_json(second), "tail_offset");
    answer_delivery("{\"done\":true}");
    wait_for_ack(subscription, tail2);

    WakeWaiter c = {0};
    waiter_init(&c.w);
    ds_webhook_verifier_refresh_keys(verifier, NULL, on_done, &c.w);
    CHECK_OK(waiter_wait(&c.w, WAIT_MS));
    waiter_destroy(&c.w);

    ds_webhook_wake_free(second);
    ds_webhook_wake_free(wake);
    free(body);
    free(body2);
    free(tampered);
    free(expected_id);
    free(wake_id);
    free(tail);
    free(tail2);
    free(path);
    free(id);
    ds_webhook_verifier_free(verifier);
    ds_subscription_free(subscription);
    ds_client_free(client);
}

static void test_deferred_callback_and_stale(void) {
    DsClient *client = client_for(server);
    char *path = NULL, *id = NULL;
    DsSubscription *subscription = webhook_subscription(client, &path, &id);
    DsWebhookVerifier *verifier = NULL;
    DsWebhookVerifier *short_window = NULL;
    CHECK_OK(ds_webhook_verifier_new(client, NULL, 0, NULL, &verifier));
    CHECK_OK(ds_webhook_verifier_new(client, NULL, 1000, NULL, &short_window));

    append_json(client, path, "{\"n\":1}");
    char signature[1024];
    size_t len = 0;
    char *body = next_delivery(signature, &len);
    DsError *error = NULL;
    DsWebhookWake *wake = verify(verifier, signature, body, len, &error);
    CHECK_OK(error);
    answer_delivery("{}"); /* accepted, not finished */

    /* Copies of the parts, as a receiver that saved the wake would have. */
    char *url = strdup(ds_webhook_wake_callback_url(wake));
    char *wake_id = strdup(ds_webhook_wake_id(wake));
    char *token = strdup(ds_webhook_wake_callback_token(wake));
    uint64_t generation = ds_webhook_wake_generation(wake);
    char *tail = json_string(ds_webhook_wake_json(wake), "tail_offset");
    ds_webhook_wake_free(wake);

    /* Two seconds later the delivery is outside a one-second window. */
    sleep_ms(2200);
    CHECK(verify(short_window, signature, body, len, &error) == NULL, "no wake");
    CHECK_KIND_MSG(error, DS_ERROR_UNAUTHORIZED, "outside the 1 s window");

    WakeWaiter c = {0};
    waiter_init(&c.w);
    ds_webhook_callback(client, url, wake_id, generation, token, NULL, 0, false, NULL,
                        on_next_wake, &c.w);
    CHECK_OK(waiter_wait(&c.w, WAIT_MS));
    waiter_destroy(&c.w);

    DsAck ack = {path, tail};
    char *wrong = NULL;
    CHECK(asprintf(&wrong, "%sx", token) > 0, "asprintf");
    waiter_init(&c.w);
    ds_webhook_callback(client, url, wake_id, generation, wrong, &ack, 1, true, NULL,
                        on_next_wake, &c.w);
    CHECK_KIND(waiter_wait(&c.w, WAIT_MS), DS_ERROR_UNAUTHORIZED);
    waiter_destroy(&c.w);

    waiter_init(&c.w);
    ds_webhook_callback(client, url, wake_id, generation, token, &ack, 1, true, NULL,
                        on_next_wake, &c.w);
    CHECK_OK(waiter_wait(&c.w, WAIT_MS));
    CHECK(!c.w.next_wake, "nothing more pending");
    waiter_destroy(&c.w);
    wait_for_ack(subscription, tail);

    /* The wake is over: the same callback is fenced. */
    waiter_init(&c.w);
    ds_webhook_callback(client, url, wake_id, generation, token, &ack, 1, true, NULL,
                        on_next_wake, &c.w);
    CHECK_KIND(waiter_wait(&c.w, WAIT_MS), DS_ERROR_FENCED);
    waiter_destroy(&c.w);

    free(wrong);
    free(url);
    free(wake_id);
    free(token);
    free(tail);
    free(body);
    free(path);
    free(id);
    ds_webhook_verifier_free(short_window);
    ds_webhook_verifier_free(verifier);
    ds_subscription_free(subscription);
    ds_client_free(client);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    double start = now_ms();
    static const Test offline[] = {{"webhook_argument_errors", test_argument_errors}};
    static const Test node[] = {
        {"webhook_verify_and_done", test_verify_and_done},
        {"webhook_deferred_callback_and_stale", test_deferred_callback_and_stale},
    };
    int ran = run_tests(offline, sizeof offline / sizeof offline[0], "-");
    receiver_start();
    TestServers servers;
    servers_start_with(&servers, "node", "--webhooks");
    server = &servers.servers[0];
    ran += run_tests(node, sizeof node / sizeof node[0], server->kind);
    servers_stop(&servers);
    receiver_stop();
    printf("test_webhooks: %d tests passed in %.1f s\n", ran, (now_ms() - start) / 1000.0);
    return 0;
}
