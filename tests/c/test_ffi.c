/*
 * Functional tests of every exported function of libdurable_streams against the real test
 * servers (both Electric's and the Node reference server, unless DS_C_SERVERS says otherwise).
 * Each test checks that ds_test_live_handles() returns to its starting value (no handle leaks).
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const TestServer *server;

/* ================================================================= no server needed */

static void test_versions_and_null_handling(void) {
    CHECK(ds_abi_version() == DS_ABI_VERSION, "abi %u", ds_abi_version());
    CHECK(DS_ABI_VERSION == 3, "abi constant");
    const char *version = ds_version();
    CHECK(version != NULL && version[0] >= '0' && version[0] <= '9', "version %s", version);
    CHECK(ds_version() == version, "ds_version is a static string");

    /* Error accessors on NULL. */
    CHECK(ds_error_kind(NULL) == DS_ERROR_INTERNAL, "kind");
    CHECK(ds_error_status(NULL) == 0, "status");
    CHECK(strcmp(ds_error_message(NULL), "") == 0, "message");
    CHECK(strcmp(ds_error_server_message(NULL), "") == 0, "server message");
    CHECK(ds_error_url(NULL) == NULL, "url");
    CHECK(strcmp(ds_error_code(NULL), "INTERNAL") == 0, "code");
    CHECK(ds_error_current_epoch(NULL) == -1, "epoch");
    CHECK(ds_error_expected_seq(NULL) == -1 && ds_error_received_seq(NULL) == -1, "seq");

    /* Chunk, reader, stream and producer accessors on NULL. */
    size_t len = 99;
    CHECK(ds_chunk_data(NULL, &len) == NULL && len == 0, "chunk data");
    CHECK(ds_chunk_data(NULL, NULL) == NULL, "chunk data without len");
    CHECK(ds_chunk_offset(NULL) == NULL && ds_chunk_cursor(NULL) == NULL, "chunk strings");
    CHECK(!ds_chunk_up_to_date(NULL) && !ds_chunk_closed(NULL), "chunk flags");
    CHECK(ds_chunk_message_count(NULL) == -1, "chunk count");
    len = 99;
    CHECK(ds_chunk_message(NULL, 0, &len) == NULL && len == 0, "chunk message");
    CHECK(ds_chunk_message_bounds(NULL, NULL, 0) == -1, "chunk message bounds");
    CHECK(ds_reader_offset(NULL) == NULL && ds_reader_cursor(NULL) == NULL, "reader");
    CHECK(ds_chunk_resume_skip(NULL) == 0 && ds_reader_resume_skip(NULL) == 0, "resume skip");
    CHECK_KIND_MSG(ds_reader_set_skip_bytes(NULL, 1), DS_ERROR_INVALID_ARGUMENT, "reader");
    CHECK(ds_stream_url(NULL) == NULL && ds_stream_content_type(NULL) == NULL, "stream");
    CHECK(ds_producer_epoch(NULL) == 0 && ds_producer_next_seq(NULL) == 0, "producer");
    CHECK(ds_producer_pending_count(NULL) == 0 && ds_producer_in_flight_count(NULL) == 0, "p");
    CHECK(ds_producer_last_acked_offset(NULL) == NULL, "producer offset");

    /* Every free accepts NULL. */
    ds_error_free(NULL);
    ds_string_free(NULL);
    ds_client_free(NULL);
    ds_stream_free(NULL);
    ds_reader_free(NULL);
    ds_chunk_free(NULL);
    ds_producer_free(NULL);
    ds_cancel_free(NULL);
    ds_decoration_complete(NULL, NULL, NULL);

    /* Cancellation handles. */
    DsCancel *cancel = ds_cancel_new();
    CHECK(cancel != NULL, "cancel");
    CHECK(!ds_cancel_is_cancelled(cancel), "fresh cancel");
    ds_cancel_cancel(cancel);
    ds_cancel_cancel(cancel);
    CHECK(ds_cancel_is_cancelled(cancel), "cancelled");
    ds_cancel_cancel(NULL);
    CHECK(!ds_cancel_is_cancelled(NULL), "NULL cancel");
    ds_cancel_free(cancel);
}

static int freed_count;
static pthread_mutex_t freed_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_free(void *ud) {
    pthread_mutex_lock(&freed_mu);
    freed_count += 1;
    pthread_mutex_unlock(&freed_mu);
    CHECK(ud == (void *)&freed_count, "free_user_data got the wrong user data");
}

static int freed(void) {
    pthread_mutex_lock(&freed_mu);
    int n = freed_count;
    pthread_mutex_unlock(&freed_mu);
    return n;
}

/* Waits up to 5 s for free_user_data to have run `expected` times in total. */
static void wait_freed(int expected) {
    for (int i = 0; i < 500 && freed() < expected; i++) sleep_ms(10);
    CHECK(freed() == expected, "free_user_data ran %d times, expected %d", freed(), expected);
}

static void never_called_decorate(void *ud, const DsRequestInfo *info, DsDecoration *d) {
    (void)ud;
    (void)info;
    ds_decoration_complete(d, NULL, NULL);
}

static void test_client_options(void) {
    DsClient *client = new_client(NULL);
    ds_client_free(client);
    client = new_client("null");
    ds_client_free(client);
    client = new_client(
        "{\"base_url\":\"http://127.0.0.1:9/v1/stream/\",\"headers\":{\"authorization\":\"Bearer "
        "x\",\"x-a\":\"1\"},\"request_timeout_ms\":5000,\"connect_timeout_ms\":1000,"
        "\"live_timeout_ms\":10000,\"retry\":{\"max_retries\":1,\"initial_delay_ms\":10,"
        "\"max_delay_ms\":100,\"multiplier\":1.5},\"user_agent\":\"c-test/1\"}");
    ds_client_free(client);

    DsClient *out = (DsClient *)&out; /* must be overwritten with NULL on failure */
    CHECK_KIND_MSG(ds_client_new("{\"bogus\":1}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "\"bogus\"");
    CHECK(out == NULL, "out not cleared on failure");
    CHECK_KIND_MSG(ds_client_new("{", NULL, NULL, NULL, &out), DS_ERROR_INVALID_ARGUMENT,
                   "options_json");
    CHECK_KIND_MSG(ds_client_new("{\"request_timeout_ms\":\"x\"}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "request_timeout_ms");
    CHECK_KIND_MSG(ds_client_new("{\"retry\":{\"multiplier\":0.1}}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "retry.multiplier");
    CHECK_KIND_MSG(ds_client_new("{\"base_url\":\"not a url\"}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "base_url");
    CHECK_KIND_MSG(ds_client_new("{\"headers\":{\"bad name\":\"v\"}}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "header");
    CHECK_KIND_MSG(ds_client_new("{\"user_agent\":\"\xff\"}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "UTF-8");
    CHECK_KIND_MSG(ds_client_new(NULL, NULL, NULL, NULL, NULL), DS_ERROR_INVALID_ARGUMENT,
                   "out");
    /* Absurd settings are refused at creation, naming the option. */
    CHECK_KIND_MSG(ds_client_new("{\"request_timeout_ms\":315360000000}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "request_timeout_ms");
    CHECK_KIND_MSG(ds_client_new("{\"retry\":{\"max_delay_ms\":315360000000}}", NULL, NULL,
                                 NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "retry.max_delay_ms");
    CHECK_KIND_MSG(ds_client_new("{\"user_agent\":\"a\\r\\nX-Injected: 1\"}", NULL, NULL, NULL,
                                 &out),
                   DS_ERROR_INVALID_ARGUMENT, "user_agent");
    CHECK_KIND_MSG(ds_client_new("{\"headers\":{\"x-a\":\"1\\r\\nX-Injected: 1\"}}", NULL, NULL,
                                 NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "\"x-a\"");

    /* Ownership of the decorate user data passes in with the call: released exactly once. */
    int before = freed();
    CHECK_OK(ds_client_new(NULL, NULL, &freed_count, count_free, &out)); /* no decorate */
    CHECK(freed() == before + 1, "released at once without decorate");
    ds_client_free(out);
    DsError *error =
        ds_client_new("{\"bogus\":1}", never_called_decorate, &freed_count, count_free, &out);
    CHECK_KIND(error, DS_ERROR_INVALID_ARGUMENT);
    CHECK(freed() == before + 2, "released on failure");
    CHECK_OK(ds_client_new(NULL, never_called_decorate, &freed_count, count_free, &out));
    CHECK(freed() == before + 2, "kept while the client lives");
    ds_client_free(out);
    wait_freed(before + 3);
}

static void test_stream_handles(void) {
    DsClient *client = new_client("{\"base_url\":\"http://127.0.0.1:9/v1/stream/\"}");
    DsStream *stream = new_stream(client, "a/b");
    char *url = ds_stream_url(stream);
    CHECK(strcmp(url, "http://127.0.0.1:9/v1/stream/a/b") == 0, "url %s", url);
    ds_string_free(url);
    CHECK(ds_stream_content_type(stream) == NULL, "content type unknown at first");
    CHECK_OK(ds_stream_set_content_type(stream, "text/plain"));
    char *ct = ds_stream_content_type(stream);
    CHECK(ct != NULL && strcmp(ct, "text/plain") == 0, "content type %s", ct);
    ds_string_free(ct);
    CHECK_KIND_MSG(ds_stream_set_content_type(stream, NULL), DS_ERROR_INVALID_ARGUMENT,
                   "content_type");
    CHECK_KIND_MSG(ds_stream_set_content_type(NULL, "x"), DS_ERROR_INVALID_ARGUMENT, "stream");
    CHECK_KIND_MSG(ds_stream_set_content_type(stream, "\xc3\x28"), DS_ERROR_INVALID_ARGUMENT,
                   "UTF-8");

    DsStream *absolute = new_stream(client, "https://example.com/other");
    url = ds_stream_url(absolute);
    CHECK(strcmp(url, "https://example.com/other") == 0, "absolute url %s", url);
    ds_string_free(url);

    DsStream *out = (DsStream *)&out;
    CHECK_KIND_MSG(ds_stream_new(client, "ftp://h/x", &out), DS_ERROR_INVALID_ARGUMENT, "url");
    CHECK(out == NULL, "out cleared");
    CHECK_KIND(ds_stream_new(client, "", &out), DS_ERROR_INVALID_ARGUMENT);
    CHECK_KIND_MSG(ds_stream_new(client, NULL, &out), DS_ERROR_INVALID_ARGUMENT, "url");
    CHECK_KIND_MSG(ds_stream_new(client, "a\xff", &out), DS_ERROR_INVALID_ARGUMENT, "UTF-8");
    CHECK_KIND_MSG(ds_stream_new(NULL, "a", &out), DS_ERROR_INVALID_ARGUMENT, "client");
    CHECK_KIND_MSG(ds_stream_new(client, "a", NULL), DS_ERROR_INVALID_ARGUMENT, "out");
    DsClient *no_base = new_client(NULL);
    CHECK_KIND(ds_stream_new(no_base, "relative", &out), DS_ERROR_INVALID_ARGUMENT);
    ds_client_free(no_base);
    /* Control characters are refused, not silently stripped. */
    CHECK_KIND_MSG(ds_stream_new(client, "a\r\nb", &out), DS_ERROR_INVALID_ARGUMENT,
                   "control character");
    CHECK_KIND_MSG(ds_stream_new(client, "a\tb", &out), DS_ERROR_INVALID_ARGUMENT, "url");

    /* A stream outlives its client. */
    ds_client_free(client);
    url = ds_stream_url(stream);
    CHECK(url != NULL, "stream usable after the client is freed");
    ds_string_free(url);
    ds_stream_free(stream);
    ds_stream_free(absolute);
}

/* Error texts never carry a token from the URL's query, a password or a header value. */
static void test_error_texts_carry_no_secret(void) {
    DsClient *client = new_client("{\"headers\":{\"authorization\":\"Bearer S3CRET-SENTINEL\"},"
                                  "\"retry\":{\"max_retries\":0}}");
    DsStream *stream = new_stream(client, "http://me:S3CRET-SENTINEL@127.0.0.1:9/v1/stream/s"
                                          "?sig=S3CRET-SENTINEL");
    Waiter w;
    waiter_init(&w);
    ds_stream_head(stream, NULL, on_head, &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(error != NULL && ds_error_kind(error) == DS_ERROR_NETWORK_ERROR, "refused head");
    CHECK(strcmp(ds_error_url(error), "http://127.0.0.1:9/v1/stream/s?sig=<redacted>") == 0,
          "url %s", ds_error_url(error));
    CHECK(strstr(ds_error_message(error), "S3CRET") == NULL, "message %s",
          ds_error_message(error));
    CHECK(strstr(ds_error_server_message(error), "S3CRET") == NULL, "server message %s",
          ds_error_server_message(error));
    ds_error_free(error);
    ds_stream_free(stream);
    ds_client_free(client);
}

/* Checks that an argument error was reported synchronously, on the calling thread. */
static DsError *sync_error(Waiter *w) {
    CHECK(waiter_done(w), "argument errors must be reported before the call returns");
    CHECK(pthread_equal(w->callback_thread, pthread_self()), "reported on the calling thread");
    return waiter_wait(w, 0);
}

static void test_async_argument_errors(void) {
    DsClient *client = new_client(NULL);
    DsStream *stream = new_stream(client, "http://127.0.0.1:9/x");
    Waiter w;
    waiter_init(&w);

    ds_stream_create(NULL, NULL, NULL, 0, NULL, on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "stream");
    waiter_reset(&w);
    ds_stream_create(stream, "{\"ttl_seconds\":-1}", NULL, 0, NULL, on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "ttl_seconds");
    waiter_reset(&w);
    ds_stream_create(stream, "{\"fork\":{\"offset\":\"1\"}}", NULL, 0, NULL, on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "fork.source");
    waiter_reset(&w);
    ds_stream_create(stream, "{\"fork\":{\"source\":\"s\",\"offset\":\"a,b\"}}", NULL, 0, NULL,
                     on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_OFFSET, "fork.offset");
    waiter_reset(&w);
    ds_stream_create(stream, NULL, NULL, 3, NULL, on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "body");
    waiter_reset(&w);
    ds_stream_create(stream, "\xff", NULL, 0, NULL, on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "UTF-8");
    waiter_reset(&w);

    ds_stream_head(NULL, NULL, on_head, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "stream");
    waiter_reset(&w);
    ds_stream_delete(NULL, NULL, on_done, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "stream");
    waiter_reset(&w);
    ds_stream_close(NULL, NULL, on_append, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "stream");
    waiter_reset(&w);
    ds_stream_append(stream, NULL, 5, NULL, NULL, on_append, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "data");
    waiter_reset(&w);
    DsAppendArgs bad_seq = {.seq = "\xff\xfe"};
    ds_stream_append(stream, (const uint8_t *)"x", 1, &bad_seq, NULL, on_append, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "args.seq");
    waiter_reset(&w);
    DsAppendArgs bad_type = {.content_type = "\xc3"};
    ds_stream_append(stream, (const uint8_t *)"x", 1, &bad_type, NULL, on_append, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "args.content_type");
    waiter_reset(&w);
    ds_reader_next(NULL, NULL, on_chunk, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "reader");
    waiter_reset(&w);

    /* Per-request headers: a NULL array with a count, NULL strings, a wrong JSON type. */
    DsAppendArgs no_array = {.header_count = 1};
    ds_stream_append(stream, (const uint8_t *)"x", 1, &no_array, NULL, on_append, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "args.headers");
    waiter_reset(&w);
    DsHeader null_value[] = {{"X-Tenant", "t1"}, {"X-Trace", NULL}};
    DsAppendArgs with_null = {.headers = null_value, .header_count = 2};
    ds_stream_append(stream, (const uint8_t *)"x", 1, &with_null, NULL, on_append, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "args.headers[1].value");
    waiter_reset(&w);
    ds_stream_create(stream, "{\"headers\":{\"X-Tenant\":1}}", NULL, 0, NULL, on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "headers.X-Tenant");
    waiter_reset(&w);
    ds_stream_create(stream, "{\"headers\":[\"X-Tenant\"]}", NULL, 0, NULL, on_create, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "headers");
    waiter_reset(&w);
    /* An invalid header fails the operation (before any request), naming it, not its value. */
    DsHeader injected[] = {{"authorization", "Bearer S3CRET-SENTINEL\r\nX-Injected: 1"}};
    DsAppendArgs bad_header = {.headers = injected, .header_count = 1};
    ds_stream_append(stream, (const uint8_t *)"x", 1, &bad_header, NULL, on_append, &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(strstr(ds_error_message(error), "S3CRET") == NULL, "%s", ds_error_message(error));
    CHECK_KIND_MSG(error, DS_ERROR_INVALID_ARGUMENT, "\"authorization\"");
    waiter_reset(&w);

    /* A NULL callback makes the call a no-op (nothing to report to). */
    ds_stream_head(stream, NULL, NULL, NULL);
    ds_stream_append(stream, (const uint8_t *)"x", 1, NULL, NULL, NULL, NULL);
    ds_reader_next(NULL, NULL, NULL, NULL);

    /* Reader arguments. */
    DsReader *reader = (DsReader *)&reader;
    CHECK_KIND_MSG(ds_reader_open(stream, NULL, 7, NULL, &reader), DS_ERROR_INVALID_ARGUMENT,
                   "live_mode");
    CHECK(reader == NULL, "out cleared");
    CHECK_KIND_MSG(ds_reader_open(stream, NULL, -1, NULL, &reader), DS_ERROR_INVALID_ARGUMENT,
                   "live_mode");
    CHECK_KIND(ds_reader_open(stream, "a,b", DS_LIVE_OFF, NULL, &reader),
               DS_ERROR_INVALID_OFFSET);
    CHECK_KIND(ds_reader_open(stream, "", DS_LIVE_OFF, NULL, &reader), DS_ERROR_INVALID_OFFSET);
    CHECK_KIND_MSG(ds_reader_open(stream, "\xff", DS_LIVE_OFF, NULL, &reader),
                   DS_ERROR_INVALID_ARGUMENT, "offset");
    CHECK_KIND_MSG(ds_reader_open(stream, NULL, DS_LIVE_OFF, "\xff", &reader),
                   DS_ERROR_INVALID_ARGUMENT, "cursor");
    CHECK_KIND_MSG(ds_reader_open(NULL, NULL, DS_LIVE_OFF, NULL, &reader),
                   DS_ERROR_INVALID_ARGUMENT, "stream");
    CHECK_KIND_MSG(ds_reader_open(stream, NULL, DS_LIVE_OFF, NULL, NULL),
                   DS_ERROR_INVALID_ARGUMENT, "out");
    CHECK_OK(ds_reader_open(stream, "now", DS_LIVE_LONG_POLL, "c1", &reader));
    char *offset = ds_reader_offset(reader);
    char *cursor = ds_reader_cursor(reader);
    CHECK(strcmp(offset, "now") == 0 && strcmp(cursor, "c1") == 0, "%s %s", offset, cursor);
    ds_string_free(offset);
    ds_string_free(cursor);
    DsHeader tenant[] = {{"X-Tenant", "t1"}};
    CHECK_OK(ds_reader_set_headers(reader, tenant, 1));
    CHECK_OK(ds_reader_set_headers(reader, NULL, 0));
    CHECK_KIND_MSG(ds_reader_set_headers(NULL, tenant, 1), DS_ERROR_INVALID_ARGUMENT, "reader");
    CHECK_KIND_MSG(ds_reader_set_headers(reader, NULL, 1), DS_ERROR_INVALID_ARGUMENT, "headers");
    CHECK_KIND_MSG(ds_reader_set_headers(reader, null_value, 2), DS_ERROR_INVALID_ARGUMENT,
                   "headers[1].value");
    error = ds_reader_set_headers(reader, injected, 1);
    CHECK(strstr(ds_error_message(error), "S3CRET") == NULL, "%s", ds_error_message(error));
    CHECK_KIND_MSG(error, DS_ERROR_INVALID_ARGUMENT, "\"authorization\"");
    ds_reader_free(reader);

    waiter_destroy(&w);
    ds_stream_free(stream);
    ds_client_free(client);
}

/* ================================================================= streams */

static DsClient *client_for_server(void) {
    char *options = NULL;
    CHECK(asprintf(&options,
                   "{\"base_url\":\"%s\",\"retry\":{\"max_retries\":2,\"initial_delay_ms\":10,"
                   "\"max_delay_ms\":50},\"live_timeout_ms\":10000}",
                   server->prefix_url) > 0,
          "asprintf");
    DsClient *client = new_client(options);
    free(options);
    return client;
}

static void test_create_head_delete(void) {
    DsClient *client = client_for_server();
    char *url = unique_url(server, "chd");
    DsStream *stream = new_stream(client, url);
    Waiter w;
    waiter_init(&w);

    ds_stream_create(stream, "{\"content_type\":\"text/plain\",\"ttl_seconds\":3600}", NULL, 0,
                     NULL, on_create, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.created && !w.closed, "created");
    CHECK(w.next_offset != NULL, "next offset");
    CHECK(w.content_type != NULL && strncmp(w.content_type, "text/plain", 10) == 0, "ct %s",
          w.content_type);
    waiter_reset(&w);

    ds_stream_head(stream, NULL, on_head, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.next_offset != NULL && !w.closed, "head");
    CHECK(strncmp(w.content_type, "text/plain", 10) == 0, "head ct %s", w.content_type);
    CHECK(w.ttl_seconds == 3600, "ttl %lld", (long long)w.ttl_seconds);
    CHECK(w.expires_at == NULL, "no expiry");
    waiter_reset(&w);

    /* Same configuration again: confirmed, not created. */
    ds_stream_create(stream, "{\"content_type\":\"text/plain\",\"ttl_seconds\":3600}", NULL, 0,
                     NULL, on_create, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(!w.created, "an identical stream is not created again");
    waiter_reset(&w);

    /* Another configuration: conflict. */
    ds_stream_create(stream, "{\"content_type\":\"application/json\"}", NULL, 0, NULL, on_create,
                     &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(ds_error_status(error) == 409, "status %u", ds_error_status(error));
    CHECK_KIND(error, DS_ERROR_CONFLICT);
    waiter_reset(&w);

    /* ttl and expires_at together: the core rejects it. */
    ds_stream_create(stream, "{\"ttl_seconds\":1,\"expires_at\":\"2099-01-01T00:00:00Z\"}", NULL,
                     0, NULL, on_create, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT);
    waiter_reset(&w);

    /* Initial content and an absolute expiry. */
    char *url2 = unique_url(server, "chd-body");
    DsStream *with_body = new_stream(client, url2);
    const char *body = "hello";
    ds_stream_create(with_body,
                     "{\"content_type\":\"text/plain\",\"expires_at\":\"2099-01-01T00:00:00Z\"}",
                     (const uint8_t *)body, strlen(body), NULL, on_create, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.created, "created with body");
    waiter_reset(&w);
    ds_stream_head(with_body, NULL, on_head, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.expires_at != NULL && w.ttl_seconds == -1, "expiry %s ttl %lld", w.expires_at,
          (long long)w.ttl_seconds);
    waiter_reset(&w);
    char *text = read_all(with_body, NULL);
    CHECK(strcmp(text, "hello") == 0, "body %s", text);
    free(text);

    /* Created closed: its body is all it will ever hold. */
    char *url3 = unique_url(server, "chd-closed");
    DsStream *closed = new_stream(client, url3);
    ds_stream_create(closed, "{\"content_type\":\"text/plain\",\"closed\":true}",
                     (const uint8_t *)"done", 4, NULL, on_create, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.closed, "created closed");
    waiter_reset(&w);
    ds_stream_append(closed, (const uint8_t *)"more", 4, NULL, NULL, on_append, &w);
    error = waiter_wait(&w, WAIT_MS);
    CHECK(ds_error_status(error) == 409, "closed append status %u", ds_error_status(error));
    CHECK_KIND(error, DS_ERROR_STREAM_CLOSED);
    waiter_reset(&w);

    /* Delete, then it is gone: NOT_FOUND with status, URL and message. */
    ds_stream_delete(stream, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    ds_stream_head(stream, NULL, on_head, &w);
    error = waiter_wait(&w, WAIT_MS);
    CHECK(error != NULL && ds_error_kind(error) == DS_ERROR_NOT_FOUND, "head after delete");
    CHECK(ds_error_status(error) == 404, "status %u", ds_error_status(error));
    CHECK(ds_error_url(error) != NULL && strcmp(ds_error_url(error), url) == 0, "url %s",
          ds_error_url(error));
    CHECK(strcmp(ds_error_code(error), "NOT_FOUND") == 0, "code %s", ds_error_code(error));
    CHECK(strstr(ds_error_message(error), "404") != NULL, "message %s", ds_error_message(error));
    CHECK(strstr(ds_error_message(error), url) != NULL, "message names the URL");
    CHECK(ds_error_current_epoch(error) == -1, "no epoch");
    ds_error_free(error);
    waiter_reset(&w);
    ds_stream_delete(stream, NULL, on_done, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_NOT_FOUND);
    waiter_reset(&w);

    waiter_destroy(&w);
    ds_stream_free(stream);
    ds_stream_free(with_body);
    ds_stream_free(closed);
    ds_client_free(client);
    free(url);
    free(url2);
    free(url3);
}

static void test_fork(void) {
    DsClient *client = client_for_server();
    char *source_url = unique_url(server, "fork-src");
    DsStream *source = new_stream(client, source_url);
    create_stream(source, "{\"content_type\":\"text/plain\"}");
    Waiter w;
    waiter_init(&w);
    ds_stream_append(source, (const uint8_t *)"abc", 3, NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    char *after_abc = strdup(w.next_offset);
    waiter_reset(&w);
    append_text(source, "def");

    /* Fork at the tail (fork is create with the "fork" option). */
    char *fork_url = unique_url(server, "fork-tail");
    DsStream *fork = new_stream(client, fork_url);
    char *options = NULL;
    CHECK(asprintf(&options, "{\"content_type\":\"text/plain\",\"fork\":{\"source\":\"%s\"}}",
                   source_url) > 0,
          "asprintf");
    ds_stream_create(fork, options, NULL, 0, NULL, on_create, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.created, "fork created");
    waiter_reset(&w);
    free(options);
    char *text = read_all(fork, NULL);
    CHECK(strcmp(text, "abcdef") == 0, "fork content %s", text);
    free(text);

    /* Fork at an offset, then diverge. */
    char *mid_url = unique_url(server, "fork-mid");
    DsStream *mid = new_stream(client, mid_url);
    CHECK(asprintf(&options,
                   "{\"content_type\":\"text/plain\",\"fork\":{\"source\":\"%s\",\"offset\":\"%s\"}}",
                   source_url, after_abc) > 0,
          "asprintf");
    ds_stream_create(mid, options, NULL, 0, NULL, on_create, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    free(options);
    append_text(mid, "X");
    text = read_all(mid, NULL);
    CHECK(strcmp(text, "abcX") == 0, "fork at offset %s", text);
    free(text);
    text = read_all(source, NULL);
    CHECK(strcmp(text, "abcdef") == 0, "source untouched %s", text);
    free(text);

    /* A missing source. */
    char *orphan_url = unique_url(server, "fork-orphan");
    DsStream *orphan = new_stream(client, orphan_url);
    CHECK(asprintf(&options, "{\"fork\":{\"source\":\"%s-missing\"}}", source_url) > 0, "x");
    ds_stream_create(orphan, options, NULL, 0, NULL, on_create, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_NOT_FOUND);
    waiter_reset(&w);
    free(options);

    waiter_destroy(&w);
    ds_stream_free(source);
    ds_stream_free(fork);
    ds_stream_free(mid);
    ds_stream_free(orphan);
    ds_client_free(client);
    free(source_url);
    free(fork_url);
    free(mid_url);
    free(orphan_url);
    free(after_abc);
}

static void test_append(void) {
    DsClient *client = client_for_server();
    char *name = unique_name("append"); /* relative to base_url */
    DsStream *stream = new_stream(client, name);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    Waiter w;
    waiter_init(&w);

    ds_stream_append(stream, (const uint8_t *)"one ", 4, NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.next_offset != NULL && !w.closed, "append result");
    waiter_reset(&w);
    DsAppendArgs seq2 = {.seq = "0002"};
    ds_stream_append(stream, (const uint8_t *)"two ", 4, &seq2, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    DsAppendArgs seq1 = {.seq = "0001"};
    ds_stream_append(stream, (const uint8_t *)"old ", 4, &seq1, NULL, on_append, &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(ds_error_status(error) == 409, "seq status");
    CHECK_KIND(error, DS_ERROR_SEQUENCE_CONFLICT);
    waiter_reset(&w);
    DsAppendArgs text_plain = {.content_type = "text/plain"};
    ds_stream_append(stream, (const uint8_t *)"three ", 6, &text_plain, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);

    /* An empty append is refused by the core (not a protocol request). */
    ds_stream_append(stream, NULL, 0, NULL, NULL, on_append, &w);
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "data");
    waiter_reset(&w);

    /* Append-and-close, then closed. */
    DsAppendArgs close = {.close = true};
    ds_stream_append(stream, (const uint8_t *)"end", 3, &close, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.closed, "closed by the append");
    char *final_offset = strdup(w.next_offset);
    waiter_reset(&w);
    ds_stream_append(stream, (const uint8_t *)"late", 4, NULL, NULL, on_append, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_STREAM_CLOSED);
    waiter_reset(&w);
    ds_stream_close(stream, NULL, on_append, &w); /* idempotent */
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.closed && strcmp(w.next_offset, final_offset) == 0, "close result");
    waiter_reset(&w);
    char *text = read_all(stream, NULL);
    CHECK(strcmp(text, "one two three end") == 0, "content %s", text);
    free(text);

    /* A missing stream. */
    char *missing_name = unique_name("append-missing");
    DsStream *missing = new_stream(client, missing_name);
    ds_stream_append(missing, (const uint8_t *)"x", 1, &text_plain, NULL, on_append, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_NOT_FOUND);
    waiter_reset(&w);
    ds_stream_close(missing, NULL, on_append, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_NOT_FOUND);
    waiter_reset(&w);

    /* JSON streams: an array is one message per element. */
    char *json_name = unique_name("append-json");
    DsStream *json = new_stream(client, json_name);
    create_stream(json, "{\"content_type\":\"application/json\"}");
    const char *two = "[{\"a\":1},{\"b\":2}]";
    ds_stream_append(json, (const uint8_t *)two, strlen(two), NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    const char *bad = "{not json";
    ds_stream_append(json, (const uint8_t *)bad, strlen(bad), NULL, NULL, on_append, &w);
    error = waiter_wait(&w, WAIT_MS);
    CHECK(ds_error_status(error) == 400, "bad JSON status %u", ds_error_status(error));
    CHECK_KIND(error, DS_ERROR_BAD_REQUEST);
    waiter_reset(&w);

    waiter_destroy(&w);
    ds_stream_free(stream);
    ds_stream_free(missing);
    ds_stream_free(json);
    ds_client_free(client);
    free(name);
    free(missing_name);
    free(json_name);
    free(final_offset);
}

/* ================================================================= reads */

/* Pulls one chunk (aborting on error); returns it (owned) or NULL at the end. */
static DsChunk *next_chunk(DsReader *reader) {
    Waiter w;
    waiter_init(&w);
    ds_reader_next(reader, NULL, on_chunk, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    DsChunk *chunk = w.chunk;
    waiter_destroy(&w);
    return chunk;
}

/* Per-request headers on a real server. Servers ignore unknown headers, so the checks use
 * protocol headers the library leaves to the caller when it does not set them itself:
 * Stream-TTL on a create without ttl_seconds, Stream-Seq on an append without args.seq. */
static void test_append_headers(void) {
    DsClient *client = client_for_server();
    char *name = unique_name("append-headers");
    DsStream *stream = new_stream(client, name);
    Waiter w;
    waiter_init(&w);

    create_stream(stream, "{\"content_type\":\"text/plain\","
                          "\"headers\":{\"X-Tenant\":\"t1\",\"Stream-TTL\":\"3600\"}}");
    ds_stream_head(stream, NULL, on_head, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.ttl_seconds == 3600, "the create's header reached the server: ttl %lld",
          (long long)w.ttl_seconds);
    waiter_reset(&w);

    DsHeader seq_100[] = {{"X-Tenant", "t1"}, {"Stream-Seq", "0100"}};
    DsAppendArgs first = {.headers = seq_100, .header_count = 2};
    ds_stream_append(stream, (const uint8_t *)"one ", 4, &first, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    /* The server saw Stream-Seq 0100: 0050 is a sequence conflict. */
    DsHeader seq_050[] = {{"Stream-Seq", "0050"}};
    DsAppendArgs stale = {.headers = seq_050, .header_count = 1};
    ds_stream_append(stream, (const uint8_t *)"old ", 4, &stale, NULL, on_append, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_SEQUENCE_CONFLICT);
    waiter_reset(&w);
    /* args.seq is the protocol's: it beats a per-request Stream-Seq (0050 would conflict). */
    DsAppendArgs protocol_wins = {.seq = "0200", .headers = seq_050, .header_count = 1};
    ds_stream_append(stream, (const uint8_t *)"two", 3, &protocol_wins, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);

    /* Closing with an empty append and headers, twice: idempotent like ds_stream_close. */
    DsHeader tenant[] = {{"X-Tenant", "t1"}};
    DsAppendArgs close = {.close = true, .headers = tenant, .header_count = 1};
    ds_stream_append(stream, NULL, 0, &close, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.closed, "closed");
    char *final_offset = strdup(w.next_offset);
    waiter_reset(&w);
    ds_stream_append(stream, NULL, 0, &close, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.closed && strcmp(w.next_offset, final_offset) == 0, "idempotent close");
    waiter_reset(&w);

    /* A read whose every request carries the header. */
    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, NULL, DS_LIVE_OFF, NULL, &reader));
    CHECK_OK(ds_reader_set_headers(reader, tenant, 1));
    char text[64] = "";
    DsChunk *chunk;
    while ((chunk = next_chunk(reader)) != NULL) {
        size_t len = 0;
        const uint8_t *data = ds_chunk_data(chunk, &len);
        CHECK(strlen(text) + len < sizeof text, "too much data");
        strncat(text, (const char *)data, len);
        bool closed = ds_chunk_closed(chunk);
        ds_chunk_free(chunk);
        CHECK_OK(ds_reader_set_headers(reader, tenant, 1)); /* allowed between reads */
        if (closed) break;
    }
    CHECK(strcmp(text, "one two") == 0, "content %s", text);
    ds_reader_free(reader);

    waiter_destroy(&w);
    ds_stream_free(stream);
    ds_client_free(client);
    free(name);
    free(final_offset);
}

/* Appends `text` from another thread after `delay_ms`. */
typedef struct {
    DsStream *stream;
    const char *text;
    int delay_ms;
    bool close;
} DelayedAppend;

static void *delayed_append_main(void *arg) {
    DelayedAppend *a = (DelayedAppend *)arg;
    sleep_ms(a->delay_ms);
    if (a->close) {
        Waiter w;
        waiter_init(&w);
        ds_stream_close(a->stream, NULL, on_append, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        waiter_reset(&w);
        waiter_destroy(&w);
    } else {
        append_text(a->stream, a->text);
    }
    return NULL;
}

static void check_chunk_position(DsReader *reader, const DsChunk *chunk) {
    char *offset = ds_reader_offset(reader);
    CHECK(strcmp(offset, ds_chunk_offset(chunk)) == 0, "reader offset %s vs chunk %s", offset,
          ds_chunk_offset(chunk));
    ds_string_free(offset);
    char *cursor = ds_reader_cursor(reader);
    if (ds_chunk_cursor(chunk) != NULL) {
        CHECK(cursor != NULL && strcmp(cursor, ds_chunk_cursor(chunk)) == 0, "cursor");
    }
    ds_string_free(cursor);
}

/* Reads data, waits live for an append, then for the close, for one live mode. */
static void read_flow(DsClient *client, int32_t mode, const char *mode_name) {
    char *url = unique_url(server, mode_name);
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    append_text(stream, "alpha ");
    append_text(stream, "beta ");

    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, NULL, mode, NULL, &reader));
    char collected[256] = "";
    bool up_to_date = false;
    while (!up_to_date) {
        DsChunk *chunk = next_chunk(reader);
        CHECK(chunk != NULL, "%s: ended before up to date", mode_name);
        size_t len = 0;
        const uint8_t *data = ds_chunk_data(chunk, &len);
        CHECK(data != NULL, "data pointer");
        strncat(collected, (const char *)data, len < 100 ? len : 100);
        CHECK(ds_chunk_message_count(chunk) == -1, "not JSON");
        CHECK(!ds_chunk_closed(chunk), "not closed yet");
        up_to_date = ds_chunk_up_to_date(chunk);
        check_chunk_position(reader, chunk);
        ds_chunk_free(chunk);
    }
    CHECK(strcmp(collected, "alpha beta ") == 0, "%s: caught up with %s", mode_name, collected);

    if (mode == DS_LIVE_OFF) {
        CHECK(next_chunk(reader) == NULL, "catch-up ends once up to date");
        CHECK(next_chunk(reader) == NULL, "and stays ended");
        /* Resume from the saved offset with a new reader. */
        char *saved = ds_reader_offset(reader);
        ds_reader_free(reader);
        append_text(stream, "gamma");
        CHECK_OK(ds_reader_open(stream, saved, DS_LIVE_OFF, NULL, &reader));
        ds_string_free(saved);
        DsChunk *chunk = next_chunk(reader);
        size_t len = 0;
        const uint8_t *data = ds_chunk_data(chunk, &len);
        CHECK(len == 5 && memcmp(data, "gamma", 5) == 0, "resumed read");
        ds_chunk_free(chunk);
    } else {
        /* Live: a pending next receives the next append. */
        pthread_t thread;
        DelayedAppend later = {stream, "gamma", 150, false};
        CHECK(pthread_create(&thread, NULL, delayed_append_main, &later) == 0, "thread");
        collected[0] = 0;
        while (strlen(collected) < 5) {
            DsChunk *chunk = next_chunk(reader);
            CHECK(chunk != NULL, "%s: live read ended", mode_name);
            size_t len = 0;
            const uint8_t *data = ds_chunk_data(chunk, &len);
            strncat(collected, (const char *)data, len < 100 ? len : 100);
            check_chunk_position(reader, chunk);
            ds_chunk_free(chunk);
        }
        pthread_join(thread, NULL);
        CHECK(strcmp(collected, "gamma") == 0, "%s: live data %s", mode_name, collected);

        /* Closing the stream ends the live read: a closed chunk, then the end. */
        DelayedAppend closer = {stream, NULL, 100, true};
        CHECK(pthread_create(&thread, NULL, delayed_append_main, &closer) == 0, "thread");
        bool closed = false;
        while (!closed) {
            DsChunk *chunk = next_chunk(reader);
            CHECK(chunk != NULL, "%s: ended without a closed chunk", mode_name);
            closed = ds_chunk_closed(chunk);
            ds_chunk_free(chunk);
        }
        pthread_join(thread, NULL);
        CHECK(next_chunk(reader) == NULL, "%s: end after close", mode_name);
    }
    ds_reader_free(reader);
    ds_stream_free(stream);
    free(url);
}

static void test_reads_in_every_live_mode(void) {
    DsClient *client = client_for_server();
    read_flow(client, DS_LIVE_OFF, "read-off");
    read_flow(client, DS_LIVE_LONG_POLL, "read-long-poll");
    read_flow(client, DS_LIVE_SSE, "read-sse");
    read_flow(client, DS_LIVE_AUTO, "read-auto");
    ds_client_free(client);
}

static void test_bounded_chunks(void) {
    CHECK_KIND_MSG(ds_reader_set_max_chunk_bytes(NULL, 10), DS_ERROR_INVALID_ARGUMENT, "reader");
    DsClient *client = client_for_server();
    char *url = unique_url(server, "bounded");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"application/octet-stream\"}");
    enum { TOTAL = 300 * 1024, MAX = 64 * 1024 };
    uint8_t *payload = malloc(TOTAL);
    CHECK(payload != NULL, "malloc");
    for (size_t i = 0; i < TOTAL; i++) payload[i] = (uint8_t)(i * 7 + i / 251);
    Waiter w;
    waiter_init(&w);
    for (size_t at = 0; at < TOTAL; at += 100 * 1024) {
        ds_stream_append(stream, payload + at, 100 * 1024, NULL, NULL, on_append, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        waiter_reset(&w);
    }
    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, NULL, DS_LIVE_OFF, NULL, &reader));
    CHECK_OK(ds_reader_set_max_chunk_bytes(reader, MAX));
    size_t used = 0;
    int partial = 0;
    bool last_partial = true;
    for (;;) {
        ds_reader_next(reader, NULL, on_chunk, &w);
        CHECK_OK(waiter_wait(&w, WAIT_MS));
        DsChunk *chunk = w.chunk;
        w.chunk = NULL;
        waiter_reset(&w);
        if (chunk == NULL) break;
        size_t n = 0;
        const uint8_t *data = ds_chunk_data(chunk, &n);
        CHECK(n <= MAX, "chunk of %zu bytes over the bound", n);
        CHECK(used + n <= TOTAL && memcmp(payload + used, data, n) == 0, "bytes at %zu", used);
        used += n;
        CHECK(ds_chunk_status(chunk) == 200, "status %u", ds_chunk_status(chunk));
        last_partial = ds_chunk_partial(chunk);
        if (last_partial) {
            partial++;
            CHECK(!ds_chunk_up_to_date(chunk), "a partial chunk is never up to date");
        }
        ds_chunk_free(chunk);
    }
    CHECK(used == TOTAL, "read %zu of %d bytes", used, TOTAL);
    CHECK(partial > 0 && !last_partial, "%d partial chunks, last partial %d", partial,
          (int)last_partial);
    CHECK(!ds_chunk_partial(NULL), "NULL is not partial");
    CHECK(ds_chunk_status(NULL) == 0, "NULL has no status");
    waiter_destroy(&w);
    ds_reader_free(reader);
    free(payload);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
}

/* Resuming exactly after a partial chunk: its offset (where its response began), cursor and
 * ds_chunk_resume_skip passed to ds_reader_set_skip_bytes give exactly the rest of the stream. */
static void test_resume_inside_a_response(void) {
    DsClient *client = client_for_server();
    char *url = unique_url(server, "resume-skip");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"application/octet-stream\"}");
    enum { TOTAL = 300 * 1024, MAX = 64 * 1024 };
    uint8_t *payload = malloc(TOTAL);
    CHECK(payload != NULL, "malloc");
    /* Every 4-byte group holds its index: each position is recognizable. */
    for (size_t i = 0; i < TOTAL; i++) payload[i] = (uint8_t)((i / 4) >> (8 * (3 - i % 4)));
    Waiter w;
    waiter_init(&w);
    ds_stream_append(stream, payload, TOTAL, NULL, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);

    /* Read up to the second partial piece and save its position. */
    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, NULL, DS_LIVE_OFF, NULL, &reader));
    CHECK_OK(ds_reader_set_max_chunk_bytes(reader, MAX));
    size_t used = 0;
    int partial = 0;
    char *offset = NULL;
    char *cursor = NULL;
    uint64_t skip = 0;
    while (partial < 2) {
        DsChunk *chunk = next_chunk(reader);
        CHECK(chunk != NULL && ds_chunk_partial(chunk), "300 KiB come in several pieces");
        size_t n = 0;
        ds_chunk_data(chunk, &n);
        used += n;
        partial++;
        CHECK(ds_chunk_resume_skip(chunk) == used, "skip %llu after %zu bytes",
              (unsigned long long)ds_chunk_resume_skip(chunk), used);
        CHECK(ds_reader_resume_skip(reader) == used, "the reader's skip");
        offset = strdup(ds_chunk_offset(chunk));
        cursor = ds_chunk_cursor(chunk) != NULL ? strdup(ds_chunk_cursor(chunk)) : NULL;
        skip = ds_chunk_resume_skip(chunk);
        ds_chunk_free(chunk);
        if (partial < 2) {
            free(offset);
            free(cursor);
        }
    }
    /* The skip applies to the start of a read: too late now. */
    CHECK_KIND_MSG(ds_reader_set_skip_bytes(reader, 0), DS_ERROR_INVALID_ARGUMENT, "skip_bytes");
    ds_reader_free(reader);

    /* Resume from the saved position: exactly the rest, then up to date. */
    CHECK_OK(ds_reader_open(stream, offset, DS_LIVE_OFF, cursor, &reader));
    CHECK_OK(ds_reader_set_skip_bytes(reader, skip));
    CHECK(ds_reader_resume_skip(reader) == skip, "the skip before the first read");
    CHECK_OK(ds_reader_set_max_chunk_bytes(reader, MAX));
    bool up_to_date = false;
    size_t resumed_at = used;
    for (;;) {
        DsChunk *chunk = next_chunk(reader);
        if (chunk == NULL) break;
        size_t n = 0;
        const uint8_t *data = ds_chunk_data(chunk, &n);
        CHECK(used + n <= TOTAL && memcmp(payload + used, data, n) == 0, "bytes at %zu", used);
        used += n;
        up_to_date = ds_chunk_up_to_date(chunk);
        ds_chunk_free(chunk);
    }
    CHECK(used == TOTAL, "resumed at %zu and read up to %zu of %d", resumed_at, used, TOTAL);
    CHECK(up_to_date, "the resumed read ends up to date");
    ds_reader_free(reader);

    /* A skip past the data fails clearly instead of waiting (here in long-poll mode). */
    CHECK_OK(ds_reader_open(stream, NULL, DS_LIVE_LONG_POLL, NULL, &reader));
    CHECK_OK(ds_reader_set_skip_bytes(reader, TOTAL + 1));
    ds_reader_next(reader, NULL, on_chunk, &w);
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_OFFSET, "past the data");
    waiter_destroy(&w);
    ds_reader_free(reader);

    free(offset);
    free(cursor);
    free(payload);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
}

static void test_json_chunks(void) {
    DsClient *client = client_for_server();
    char *url = unique_url(server, "json-read");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"application/json\"}");
    append_text(stream, "[{\"n\":1},{\"n\":2}]");
    append_text(stream, "{\"n\":3}");

    for (int32_t mode = DS_LIVE_OFF; mode <= DS_LIVE_SSE; mode += 2) { /* OFF and SSE */
        DsReader *reader = NULL;
        CHECK_OK(ds_reader_open(stream, "-1", mode, NULL, &reader));
        int seen = 0;
        bool up_to_date = false;
        while (!up_to_date) {
            DsChunk *chunk = next_chunk(reader);
            CHECK(chunk != NULL, "JSON read ended early");
            int64_t count = ds_chunk_message_count(chunk);
            CHECK(count >= 0, "JSON chunks have messages");
            for (int64_t i = 0; i < count; i++) {
                size_t len = 0;
                const uint8_t *message = ds_chunk_message(chunk, (size_t)i, &len);
                char expected[32];
                snprintf(expected, sizeof expected, "{\"n\":%d}", seen + 1);
                CHECK(message != NULL && len == strlen(expected) &&
                          memcmp(message, expected, len) == 0,
                      "message %d: %.*s", seen, (int)len, (const char *)message);
                seen++;
            }
            /* The same messages through one call: offsets into the data and lengths. */
            CHECK(ds_chunk_message_bounds(chunk, NULL, 0) == count, "bounds count");
            if (count > 0) {
                uint64_t *bounds = calloc((size_t)(2 * count), sizeof *bounds);
                CHECK(bounds != NULL, "calloc");
                CHECK(ds_chunk_message_bounds(chunk, bounds, (size_t)count) == count, "bounds");
                size_t data_len = 0;
                const uint8_t *data = ds_chunk_data(chunk, &data_len);
                for (int64_t i = 0; i < count; i++) {
                    size_t message_len = 0;
                    const uint8_t *message = ds_chunk_message(chunk, (size_t)i, &message_len);
                    CHECK(bounds[2 * i] + bounds[2 * i + 1] <= data_len &&
                              data + bounds[2 * i] == message && bounds[2 * i + 1] == message_len,
                          "bounds of message %d", (int)i);
                }
                free(bounds);
            }
            size_t len = 7;
            CHECK(ds_chunk_message(chunk, (size_t)count, &len) == NULL && len == 0, "past end");
            CHECK(ds_chunk_message(chunk, (size_t)count, NULL) == NULL, "past end, no len");
            up_to_date = ds_chunk_up_to_date(chunk);
            ds_chunk_free(chunk);
        }
        CHECK(seen == 3, "mode %d: %d messages", mode, seen);
        ds_reader_free(reader);
    }
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
}

/* Checks that the messages of `chunk` are {"n":next}, {"n":next+1}...; returns the next n. */
static int check_numbered_messages(DsChunk *chunk, int next) {
    int64_t count = ds_chunk_message_count(chunk);
    for (int64_t i = 0; i < count; i++) {
        size_t message_len = 0;
        const uint8_t *message = ds_chunk_message(chunk, (size_t)i, &message_len);
        char expected[32];
        snprintf(expected, sizeof expected, "{\"n\":%d}", next);
        CHECK(message_len == strlen(expected) && memcmp(message, expected, message_len) == 0,
              "message %d", next);
        next++;
    }
    return next;
}

/* A JSON response read with a bound arrives in pieces of whole messages, each piece's data a JSON
 * array of them; a piece's offset and ds_chunk_resume_skip_messages passed to
 * ds_reader_set_skip_messages give exactly the rest of the stream. */
static void test_json_pieces_resume_exactly(void) {
    enum { COUNT = 300 };
    DsClient *client = client_for_server();
    char *url = unique_url(server, "json-pieces");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"application/json\"}");
    char body[COUNT * 16 + 2];
    size_t used = 0;
    body[used++] = '[';
    for (int i = 0; i < COUNT; i++) {
        used += (size_t)snprintf(body + used, sizeof body - used, "%s{\"n\":%d}", i ? "," : "", i);
    }
    body[used++] = ']';
    body[used] = '\0';
    append_text(stream, body);

    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, "-1", DS_LIVE_OFF, NULL, &reader));
    CHECK_OK(ds_reader_set_max_chunk_bytes(reader, 256));
    int seen = 0, pieces = 0;
    char *resume_offset = NULL;
    uint64_t resume_skip = 0;
    bool up_to_date = false;
    while (!up_to_date) {
        DsChunk *chunk = next_chunk(reader);
        CHECK(chunk != NULL, "the read ended early");
        int64_t count = ds_chunk_message_count(chunk);
        size_t len = 0;
        const uint8_t *data = ds_chunk_data(chunk, &len);
        CHECK(count > 0 && len <= 256 && data[0] == '[' && data[len - 1] == ']',
              "a piece of whole messages: %.*s", (int)len, (const char *)data);
        seen = check_numbered_messages(chunk, seen);
        CHECK(ds_chunk_resume_skip(chunk) == 0, "JSON pieces count messages, not bytes");
        if (ds_chunk_partial(chunk)) {
            pieces++;
            CHECK(ds_chunk_resume_skip_messages(chunk) == (uint64_t)seen, "the skip counts messages");
            CHECK(ds_reader_resume_skip_messages(reader) == (uint64_t)seen, "the reader's skip");
            if (pieces == 3) {
                free(resume_offset);
                resume_offset = strdup(ds_chunk_offset(chunk));
                resume_skip = ds_chunk_resume_skip_messages(chunk);
            }
        } else {
            CHECK(ds_chunk_resume_skip_messages(chunk) == 0, "a complete chunk skips nothing");
        }
        up_to_date = ds_chunk_up_to_date(chunk);
        ds_chunk_free(chunk);
    }
    CHECK(seen == COUNT && pieces >= 5, "%d messages in %d pieces", seen, pieces);
    CHECK_KIND_MSG(ds_reader_set_skip_messages(reader, 1), DS_ERROR_INVALID_ARGUMENT, "skip_messages");
    ds_reader_free(reader);

    CHECK(resume_offset != NULL, "a third piece");
    CHECK_OK(ds_reader_open(stream, resume_offset, DS_LIVE_OFF, NULL, &reader));
    CHECK_OK(ds_reader_set_skip_messages(reader, resume_skip));
    CHECK(ds_reader_resume_skip_messages(reader) == resume_skip, "the skip before the first read");
    int next = (int)resume_skip;
    up_to_date = false;
    while (!up_to_date) {
        DsChunk *chunk = next_chunk(reader);
        CHECK(chunk != NULL, "the resumed read ended early");
        next = check_numbered_messages(chunk, next);
        up_to_date = ds_chunk_up_to_date(chunk);
        ds_chunk_free(chunk);
    }
    CHECK(next == COUNT, "the rest exactly: ended at %d", next);
    ds_reader_free(reader);

    /* A message skip on a byte stream is refused by the first read, naming it. */
    char *bytes_url = unique_url(server, "json-pieces-bytes");
    DsStream *bytes = new_stream(client, bytes_url);
    create_stream(bytes, "{\"content_type\":\"text/plain\"}");
    append_text(bytes, "hello");
    CHECK_OK(ds_reader_open(bytes, "-1", DS_LIVE_OFF, NULL, &reader));
    CHECK_OK(ds_reader_set_skip_messages(reader, 1));
    Waiter w;
    waiter_init(&w);
    ds_reader_next(reader, NULL, on_chunk, &w);
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "skip_messages");
    waiter_destroy(&w);
    ds_reader_free(reader);
    CHECK_KIND_MSG(ds_reader_set_skip_messages(NULL, 1), DS_ERROR_INVALID_ARGUMENT, "reader");
    CHECK(ds_reader_resume_skip_messages(NULL) == 0, "NULL reader");

    ds_stream_free(bytes);
    free(bytes_url);
    free(resume_offset);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
}

/* A stream with data, and a long-poll reader already up to date at its tail. */
static DsReader *reader_at_tail(DsClient *client, DsStream **stream_out, const char *tag) {
    char *url = unique_url(server, tag);
    DsStream *stream = new_stream(client, url);
    free(url);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    append_text(stream, "x");
    DsReader *reader = NULL;
    CHECK_OK(ds_reader_open(stream, NULL, DS_LIVE_LONG_POLL, NULL, &reader));
    DsChunk *chunk = next_chunk(reader);
    CHECK(chunk != NULL && ds_chunk_up_to_date(chunk), "caught up");
    ds_chunk_free(chunk);
    *stream_out = stream;
    return reader;
}

static void test_cancel_pending_long_poll(void) {
    DsClient *client = client_for_server();
    DsStream *stream = NULL;
    DsReader *reader = reader_at_tail(client, &stream, "cancel");

    DsCancel *cancel = ds_cancel_new();
    Waiter w;
    waiter_init(&w);
    ds_reader_next(reader, cancel, on_chunk, &w);
    sleep_ms(300);
    CHECK(!waiter_done(&w), "nothing to read yet");
    /* A second next while one is pending is refused at once. */
    Waiter busy;
    waiter_init(&busy);
    ds_reader_next(reader, NULL, on_chunk, &busy);
    CHECK_KIND_MSG(sync_error(&busy), DS_ERROR_INVALID_ARGUMENT, "already in progress");
    waiter_reset(&busy);
    waiter_destroy(&busy);
    /* Offsets are readable while the next is pending. */
    char *offset = ds_reader_offset(reader);
    CHECK(offset != NULL, "offset while pending");
    ds_string_free(offset);

    double start = now_ms();
    ds_cancel_cancel(cancel);
    CHECK_KIND(waiter_wait(&w, 5000), DS_ERROR_CANCELLED);
    double took = now_ms() - start;
    CHECK(took < 1000, "cancellation took %.0f ms", took);
    waiter_reset(&w);

    /* The reader stays usable after a cancelled next. */
    pthread_t thread;
    DelayedAppend later = {stream, "after", 100, false};
    CHECK(pthread_create(&thread, NULL, delayed_append_main, &later) == 0, "thread");
    DsChunk *chunk = next_chunk(reader);
    size_t len = 0;
    const uint8_t *data = ds_chunk_data(chunk, &len);
    CHECK(chunk != NULL && len == 5 && memcmp(data, "after", 5) == 0, "read after cancel");
    ds_chunk_free(chunk);
    pthread_join(thread, NULL);

    /* A cancelled handle fails new calls at once; it may be freed right after the call. */
    ds_stream_head(stream, cancel, on_head, &w);
    ds_cancel_free(cancel);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_CANCELLED);
    waiter_reset(&w);

    /* Freed right after starting: the call keeps its own token and still completes. */
    DsCancel *short_lived = ds_cancel_new();
    ds_stream_head(stream, short_lived, on_head, &w);
    ds_cancel_free(short_lived);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);

    waiter_destroy(&w);
    ds_reader_free(reader);
    ds_stream_free(stream);
    ds_client_free(client);
}

static void test_free_reader_with_pending_next(void) {
    DsClient *client = client_for_server();
    DsStream *stream = NULL;
    DsReader *reader = reader_at_tail(client, &stream, "free-pending");
    Waiter w;
    waiter_init(&w);
    ds_reader_next(reader, NULL, on_chunk, &w);
    sleep_ms(100);
    CHECK(!waiter_done(&w), "pending");
    ds_reader_free(reader);
    CHECK_KIND(waiter_wait(&w, 5000), DS_ERROR_CANCELLED);
    waiter_reset(&w);

    /* Errors end a session: a missing stream reports NOT_FOUND, then the end. */
    char *url = unique_url(server, "read-missing");
    DsStream *missing = new_stream(client, url);
    free(url);
    CHECK_OK(ds_reader_open(missing, NULL, DS_LIVE_OFF, NULL, &reader));
    ds_reader_next(reader, NULL, on_chunk, &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(ds_error_status(error) == 404, "read 404");
    CHECK_KIND(error, DS_ERROR_NOT_FOUND);
    waiter_reset(&w);
    CHECK(next_chunk(reader) == NULL, "ended after an error");
    ds_reader_free(reader);

    waiter_destroy(&w);
    ds_stream_free(missing);
    ds_stream_free(stream);
    ds_client_free(client);
}

/* ================================================================= producers */

/* What a producer's on_error saw. */
typedef struct {
    pthread_mutex_t mu;
    int calls;
    DsErrorKind kind;
    int64_t current_epoch;
    uint64_t epoch;
    int64_t first_seq, last_seq;
    uint64_t message_count;
    int released;
} ErrorLog;

static void on_producer_error(void *ud, const DsError *error, uint64_t epoch, int64_t first_seq,
                              int64_t last_seq, uint64_t message_count) {
    ErrorLog *log = (ErrorLog *)ud;
    pthread_mutex_lock(&log->mu);
    CHECK(log->released == 0, "on_error after free_user_data");
    log->calls++;
    log->kind = ds_error_kind(error);
    log->current_epoch = ds_error_current_epoch(error);
    log->epoch = epoch;
    log->first_seq = first_seq;
    log->last_seq = last_seq;
    log->message_count = message_count;
    pthread_mutex_unlock(&log->mu);
}

static void release_log(void *ud) {
    ErrorLog *log = (ErrorLog *)ud;
    pthread_mutex_lock(&log->mu);
    log->released++;
    pthread_mutex_unlock(&log->mu);
}

static int log_released(ErrorLog *log) {
    pthread_mutex_lock(&log->mu);
    int n = log->released;
    pthread_mutex_unlock(&log->mu);
    return n;
}

static void wait_released(ErrorLog *log) {
    for (int i = 0; i < 500 && log_released(log) == 0; i++) sleep_ms(10);
    CHECK(log_released(log) == 1, "free_user_data ran %d times", log_released(log));
}

static DsProducer *new_producer(DsStream *stream, const char *id, const char *options,
                                ErrorLog *log) {
    DsProducer *producer = NULL;
    CHECK_OK(ds_producer_new(stream, id, options, log ? on_producer_error : NULL, log,
                             log ? release_log : NULL, &producer));
    CHECK(producer != NULL, "producer");
    return producer;
}

static char *flush(DsProducer *producer) {
    Waiter w;
    waiter_init(&w);
    ds_producer_flush(producer, NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    char *offset = w.offset;
    w.offset = NULL;
    waiter_reset(&w);
    waiter_destroy(&w);
    return offset;
}

static void test_producer_lifecycle(void) {
    DsClient *client = client_for_server();
    char *url = unique_url(server, "producer");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    ErrorLog log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    DsProducer *producer =
        new_producer(stream, "c-producer", "{\"linger_ms\":1,\"max_batch_items\":10}", &log);
    CHECK(ds_producer_epoch(producer) == 0 && ds_producer_next_seq(producer) == 0, "fresh");
    CHECK(ds_producer_last_acked_offset(producer) == NULL, "nothing acknowledged yet");

    char expected[4096] = "";
    for (int i = 0; i < 100; i++) {
        char line[16];
        snprintf(line, sizeof line, "m%03d\n", i);
        DsError *error = (DsError *)&error; /* must stay untouched on success */
        CHECK(ds_producer_try_append(producer, (const uint8_t *)line, strlen(line), &error) ==
                  DS_APPEND_OK,
              "try_append %d", i);
        CHECK(error == (DsError *)&error, "error_out untouched on OK");
        strcat(expected, line);
    }
    char *offset = flush(producer);
    CHECK(offset != NULL, "flush offset");
    char *acked = ds_producer_last_acked_offset(producer);
    CHECK(acked != NULL && strcmp(acked, offset) == 0, "last acked %s vs %s", acked, offset);
    ds_string_free(acked);
    free(offset);
    CHECK(ds_producer_next_seq(producer) >= 10, "batches of at most 10: seq %llu",
          (unsigned long long)ds_producer_next_seq(producer));
    CHECK(ds_producer_pending_count(producer) == 0, "nothing pending");
    CHECK(ds_producer_in_flight_count(producer) == 0, "nothing in flight");

    /* The waiting append. */
    Waiter w;
    waiter_init(&w);
    ds_producer_append(producer, (const uint8_t *)"tail\n", 5, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    strcat(expected, "tail\n");

    /* Close with a final message; then nothing more is accepted. */
    ds_producer_close(producer, (const uint8_t *)"final\n", 6, NULL, on_offset, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.offset != NULL, "close offset");
    char *closed_at = strdup(w.offset);
    waiter_reset(&w);
    strcat(expected, "final\n");
    ds_producer_close(producer, NULL, 0, NULL, on_offset, &w); /* idempotent */
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.offset != NULL && strcmp(w.offset, closed_at) == 0, "second close");
    waiter_reset(&w);
    free(closed_at);
    DsError *error = NULL;
    CHECK(ds_producer_try_append(producer, (const uint8_t *)"x", 1, &error) == DS_APPEND_ERROR,
          "append after close");
    CHECK_KIND(error, DS_ERROR_PRODUCER_CLOSED);
    CHECK(ds_producer_try_append(producer, (const uint8_t *)"x", 1, NULL) == DS_APPEND_ERROR,
          "without error_out");
    ds_producer_append(producer, (const uint8_t *)"x", 1, NULL, on_done, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_PRODUCER_CLOSED);
    waiter_reset(&w);

    char *text = read_all(stream, NULL);
    CHECK(strcmp(text, expected) == 0, "producer content:\n%s", text);
    free(text);
    ds_stream_head(stream, NULL, on_head, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.closed, "stream closed by the producer");
    waiter_reset(&w);

    waiter_destroy(&w);
    ds_producer_free(producer);
    wait_released(&log);
    CHECK(log.calls == 0, "no background errors");
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
}

/* Holds producer batches (their decorations) until opened, so that a full buffer stays full
 * for exactly as long as a test needs, however fast the server is. */
typedef struct {
    pthread_mutex_t mu;
    bool open;
    int held_count;
    DsDecoration *held[16];
} BatchGate;

static void gate_decorate(void *ud, const DsRequestInfo *info, DsDecoration *decoration) {
    BatchGate *gate = (BatchGate *)ud;
    pthread_mutex_lock(&gate->mu);
    bool hold = !gate->open && strcmp(info->operation, "producer-batch") == 0 &&
                gate->held_count < 16;
    if (hold) gate->held[gate->held_count++] = decoration;
    pthread_mutex_unlock(&gate->mu);
    if (!hold) ds_decoration_complete(decoration, "{}", NULL);
}

/* Lets held and future batches through (a batch whose operation was cancelled meanwhile just
 * releases its decoration). */
static void gate_open(BatchGate *gate) {
    DsDecoration *held[16];
    pthread_mutex_lock(&gate->mu);
    gate->open = true;
    int count = gate->held_count;
    memcpy(held, gate->held, sizeof held);
    gate->held_count = 0;
    pthread_mutex_unlock(&gate->mu);
    for (int i = 0; i < count; i++) ds_decoration_complete(held[i], "{}", NULL);
}

static int gate_held(BatchGate *gate) {
    pthread_mutex_lock(&gate->mu);
    int count = gate->held_count;
    pthread_mutex_unlock(&gate->mu);
    return count;
}

static DsClient *gated_client(BatchGate *gate) {
    char *options = NULL;
    CHECK(asprintf(&options, "{\"base_url\":\"%s\"}", server->prefix_url) > 0, "asprintf");
    DsClient *client = NULL;
    CHECK_OK(ds_client_new(options, gate_decorate, gate, NULL, &client));
    free(options);
    return client;
}

static void test_producer_full_and_detach(void) {
    BatchGate gate = {.mu = PTHREAD_MUTEX_INITIALIZER};
    DsClient *client = gated_client(&gate);
    char *url = unique_url(server, "producer-full");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    /* A long linger: only a full buffer (or a flush) sends. */
    DsProducer *producer =
        new_producer(stream, "c-full", "{\"max_buffered_messages\":3,\"linger_ms\":60000}", NULL);
    for (int i = 1; i <= 3; i++) {
        char m[4];
        snprintf(m, sizeof m, "%d\n", i);
        CHECK(ds_producer_try_append(producer, (const uint8_t *)m, 2, NULL) == DS_APPEND_OK, "ok");
    }
    CHECK(ds_producer_pending_count(producer) == 3, "3 pending");
    DsError *error = (DsError *)&error;
    CHECK(ds_producer_try_append(producer, (const uint8_t *)"4\n", 2, &error) == DS_APPEND_FULL,
          "full");
    CHECK(error == (DsError *)&error, "error_out untouched on FULL");

    /* Full: the three are sent at once (and held at the gate); ds_producer_append waits for the
     * room their acknowledgement makes. */
    Waiter appended, flushed;
    waiter_init(&appended);
    waiter_init(&flushed);
    ds_producer_append(producer, (const uint8_t *)"4\n", 2, NULL, on_done, &appended);
    for (int i = 0; i < 200 && gate_held(&gate) == 0; i++) sleep_ms(5);
    CHECK(gate_held(&gate) == 1, "the full buffer was sent without waiting for linger");
    sleep_ms(50);
    CHECK(!waiter_done(&appended), "append waits for room");
    gate_open(&gate);
    CHECK_OK(waiter_wait(&appended, WAIT_MS));
    ds_producer_flush(producer, NULL, on_offset, &flushed);
    CHECK_OK(waiter_wait(&flushed, WAIT_MS));
    waiter_reset(&flushed);
    waiter_reset(&appended);

    /* Detach delivers the rest and stops without closing the stream. */
    ds_producer_detach(producer, NULL, on_done, &flushed);
    CHECK_OK(waiter_wait(&flushed, WAIT_MS));
    waiter_reset(&flushed);
    error = NULL;
    CHECK(ds_producer_try_append(producer, (const uint8_t *)"5\n", 2, &error) == DS_APPEND_ERROR,
          "detached");
    CHECK_KIND(error, DS_ERROR_PRODUCER_CLOSED);
    char *text = read_all(stream, NULL);
    CHECK(strcmp(text, "1\n2\n3\n4\n") == 0, "content %s", text);
    free(text);
    ds_stream_head(stream, NULL, on_head, &flushed);
    CHECK_OK(waiter_wait(&flushed, WAIT_MS));
    CHECK(!flushed.closed, "detach leaves the stream open");
    waiter_reset(&flushed);

    /* Freeing with a pending waiting append cancels it. */
    BatchGate shut = {.mu = PTHREAD_MUTEX_INITIALIZER};
    DsClient *shut_client = gated_client(&shut);
    DsStream *shut_stream = new_stream(shut_client, url);
    DsProducer *blocked = new_producer(
        shut_stream, "c-full-2", "{\"max_buffered_messages\":1,\"linger_ms\":60000}", NULL);
    CHECK(ds_producer_try_append(blocked, (const uint8_t *)"a\n", 2, NULL) == DS_APPEND_OK, "ok");
    ds_producer_append(blocked, (const uint8_t *)"b\n", 2, NULL, on_done, &appended);
    sleep_ms(50);
    CHECK(!waiter_done(&appended), "waiting for room");
    ds_producer_free(blocked);
    CHECK_KIND(waiter_wait(&appended, WAIT_MS), DS_ERROR_CANCELLED);
    waiter_reset(&appended);
    gate_open(&shut); /* completes the held decoration of the cancelled batch */
    ds_stream_free(shut_stream);
    ds_client_free(shut_client);

    waiter_destroy(&appended);
    waiter_destroy(&flushed);
    ds_producer_free(producer);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
}

static void test_producer_fencing_and_restart(void) {
    DsClient *client = client_for_server();
    char *url = unique_url(server, "producer-fence");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    ErrorLog log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    DsProducer *old = new_producer(stream, "c-fence", "{\"linger_ms\":1}", &log);
    CHECK(ds_producer_try_append(old, (const uint8_t *)"a1\n", 3, NULL) == DS_APPEND_OK, "a1");
    free(flush(old));

    /* A newer instance of the same producer id claims epoch 1. */
    DsProducer *newer = new_producer(stream, "c-fence", "{\"epoch\":1,\"linger_ms\":1}", NULL);
    CHECK(ds_producer_epoch(newer) == 1, "epoch 1");
    CHECK(ds_producer_try_append(newer, (const uint8_t *)"b1\n", 3, NULL) == DS_APPEND_OK, "b1");
    free(flush(newer));

    /* The old one is fenced: flush fails, on_error reports it with the affected range. */
    CHECK(ds_producer_try_append(old, (const uint8_t *)"a2\n", 3, NULL) == DS_APPEND_OK, "a2");
    Waiter w;
    waiter_init(&w);
    ds_producer_flush(old, NULL, on_offset, &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(ds_error_current_epoch(error) == 1, "server epoch %lld",
          (long long)ds_error_current_epoch(error));
    CHECK(ds_error_status(error) == 403, "status %u", ds_error_status(error));
    CHECK_KIND(error, DS_ERROR_STALE_EPOCH);
    waiter_reset(&w);
    pthread_mutex_lock(&log.mu);
    CHECK(log.calls == 1 && log.kind == DS_ERROR_STALE_EPOCH, "on_error %d calls", log.calls);
    CHECK(log.current_epoch == 1 && log.epoch == 0, "epochs %lld %llu",
          (long long)log.current_epoch, (unsigned long long)log.epoch);
    CHECK(log.first_seq == 1 && log.last_seq == 1 && log.message_count == 1,
          "range %lld..%lld count %llu", (long long)log.first_seq, (long long)log.last_seq,
          (unsigned long long)log.message_count);
    pthread_mutex_unlock(&log.mu);
    error = NULL;
    CHECK(ds_producer_try_append(old, (const uint8_t *)"a3\n", 3, &error) == DS_APPEND_ERROR,
          "refused after the failure");
    CHECK_KIND(error, DS_ERROR_STALE_EPOCH);

    /* Restart moves above the epoch that fenced it (reusing epoch 1 would make the server take
     * its sequence 0 for a duplicate of the newer producer's), and accepts messages again. */
    ds_producer_restart(old, NULL, on_epoch, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    CHECK(w.epoch == 2, "restart epoch %llu", (unsigned long long)w.epoch);
    waiter_reset(&w);
    CHECK(ds_producer_epoch(old) == 2 && ds_producer_next_seq(old) == 0, "after restart");
    CHECK(ds_producer_try_append(old, (const uint8_t *)"a4\n", 3, NULL) == DS_APPEND_OK,
          "accepted after restart");
    free(flush(old));
    ds_producer_free(old);
    wait_released(&log);

    ds_producer_detach(newer, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    char *text = read_all(stream, NULL);
    CHECK(strcmp(text, "a1\nb1\na4\n") == 0, "content %s", text);
    free(text);

    waiter_destroy(&w);
    ds_producer_free(newer);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
}

static void test_producer_errors(void) {
    DsClient *client = client_for_server();
    char *url = unique_url(server, "producer-missing");
    DsStream *missing = new_stream(client, url);
    ErrorLog log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    DsProducer *out = (DsProducer *)&out;

    /* Invalid arguments: each failed call releases the user data at once. */
    int before = freed();
    CHECK_KIND_MSG(ds_producer_new(NULL, "p", NULL, NULL, &freed_count, count_free, &out),
                   DS_ERROR_INVALID_ARGUMENT, "stream");
    CHECK(out == NULL, "out cleared");
    CHECK_KIND_MSG(ds_producer_new(missing, NULL, NULL, NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "producer_id");
    CHECK_KIND_MSG(ds_producer_new(missing, "", NULL, NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "producer_id");
    CHECK_KIND_MSG(ds_producer_new(missing, "p\xff", NULL, NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "UTF-8");
    CHECK_KIND_MSG(ds_producer_new(missing, "p", "{\"max_batch_bytes\":0}", on_producer_error,
                                   &freed_count, count_free, &out),
                   DS_ERROR_INVALID_ARGUMENT, "max_batch_bytes");
    CHECK_KIND_MSG(ds_producer_new(missing, "p", "{\"max_in_flight\":-1}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "max_in_flight");
    CHECK_KIND_MSG(ds_producer_new(missing, "p", "{\"linger\":1}", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "\"linger\"");
    CHECK_KIND_MSG(ds_producer_new(missing, "p", "[", NULL, NULL, NULL, &out),
                   DS_ERROR_INVALID_ARGUMENT, "options_json");
    CHECK_KIND_MSG(ds_producer_new(missing, "p", NULL, NULL, NULL, NULL, NULL),
                   DS_ERROR_INVALID_ARGUMENT, "out");
    CHECK(freed() == before + 2, "released on failure");

    DsError *error = NULL;
    CHECK(ds_producer_try_append(NULL, (const uint8_t *)"x", 1, &error) == DS_APPEND_ERROR, "n");
    CHECK_KIND_MSG(error, DS_ERROR_INVALID_ARGUMENT, "producer");

    Waiter w;
    waiter_init(&w);
    ds_producer_append(NULL, (const uint8_t *)"x", 1, NULL, on_done, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "producer");
    waiter_reset(&w);
    ds_producer_flush(NULL, NULL, on_offset, &w);
    CHECK_KIND(sync_error(&w), DS_ERROR_INVALID_ARGUMENT);
    waiter_reset(&w);
    ds_producer_close(NULL, NULL, 0, NULL, on_offset, &w);
    CHECK_KIND(sync_error(&w), DS_ERROR_INVALID_ARGUMENT);
    waiter_reset(&w);
    ds_producer_detach(NULL, NULL, on_done, &w);
    CHECK_KIND(sync_error(&w), DS_ERROR_INVALID_ARGUMENT);
    waiter_reset(&w);
    ds_producer_restart(NULL, NULL, on_epoch, &w);
    CHECK_KIND(sync_error(&w), DS_ERROR_INVALID_ARGUMENT);
    waiter_reset(&w);

    /* A producer for a stream that does not exist: the failure reaches flush and on_error. */
    DsProducer *producer = new_producer(missing, "p-missing", "{\"linger_ms\":1}", &log);
    error = NULL;
    CHECK(ds_producer_try_append(producer, NULL, 3, &error) == DS_APPEND_ERROR, "NULL data");
    CHECK_KIND_MSG(error, DS_ERROR_INVALID_ARGUMENT, "data");
    ds_producer_close(producer, NULL, 3, NULL, on_offset, &w);
    CHECK_KIND_MSG(sync_error(&w), DS_ERROR_INVALID_ARGUMENT, "final_data");
    waiter_reset(&w);
    CHECK(ds_producer_try_append(producer, (const uint8_t *)"x", 1, NULL) == DS_APPEND_OK, "ok");
    ds_producer_flush(producer, NULL, on_offset, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_NOT_FOUND);
    waiter_reset(&w);
    ds_producer_free(producer);
    wait_released(&log);
    CHECK(log.calls == 1 && log.kind == DS_ERROR_NOT_FOUND, "on_error saw NOT_FOUND");

    waiter_destroy(&w);
    ds_stream_free(missing);
    ds_client_free(client);
    free(url);
}

/* ================================================================= events */

/* What an event callback heard: the kinds in order, plus a few fields summed or kept. */
typedef struct {
    pthread_mutex_t mu;
    char kinds[64][24];
    int count;
    int levels_ok;
    uint64_t batch_messages;
    int append_retries;
    char fenced_current_epoch[24];
    char failed_error_kind[32];
    int released;
} EventLog;

static const char *event_field(const DsEventField *fields, size_t count, const char *key) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(fields[i].key, key) == 0) return fields[i].value;
    return NULL;
}

static void on_event(void *ud, int32_t level, const char *kind, const char *stream_url,
                     const char *message, const DsEventField *fields, size_t field_count) {
    EventLog *log = ud;
    pthread_mutex_lock(&log->mu);
    if (log->count < 64) snprintf(log->kinds[log->count], sizeof log->kinds[0], "%s", kind);
    log->count++;
    int expected = strcmp(kind, "batch_sent") == 0                                 ? DS_EVENT_DEBUG
                   : strcmp(kind, "fenced") == 0 || strcmp(kind, "batch_failed") == 0 ? DS_EVENT_ERROR
                   : strcmp(kind, "retry") == 0                                    ? DS_EVENT_WARN
                                                                                   : level;
    if (level != expected || stream_url == NULL || message == NULL || *message == 0)
        log->levels_ok = 0;
    if (strcmp(kind, "batch_sent") == 0)
        log->batch_messages += strtoull(event_field(fields, field_count, "messages"), NULL, 10);
    if (strcmp(kind, "retry") == 0 &&
        strcmp(event_field(fields, field_count, "operation"), "append") == 0)
        log->append_retries++;
    if (strcmp(kind, "fenced") == 0)
        snprintf(log->fenced_current_epoch, sizeof log->fenced_current_epoch, "%s",
                 event_field(fields, field_count, "current_epoch"));
    if (strcmp(kind, "batch_failed") == 0)
        snprintf(log->failed_error_kind, sizeof log->failed_error_kind, "%s",
                 event_field(fields, field_count, "error_kind"));
    pthread_mutex_unlock(&log->mu);
}

static void release_event_log(void *ud) {
    EventLog *log = ud;
    pthread_mutex_lock(&log->mu);
    log->released++;
    pthread_mutex_unlock(&log->mu);
}

static int event_log_released(EventLog *log) {
    pthread_mutex_lock(&log->mu);
    int released = log->released;
    pthread_mutex_unlock(&log->mu);
    return released;
}

static void test_event_callback_arguments(void) {
    EventLog log = {.mu = PTHREAD_MUTEX_INITIALIZER, .levels_ok = 1};
    /* Ownership passes in with the call: released at once when the call fails. */
    CHECK_KIND_MSG(ds_client_set_event_callback(NULL, DS_EVENT_DEBUG, on_event, &log,
                                                release_event_log),
                   DS_ERROR_INVALID_ARGUMENT, "client");
    CHECK(event_log_released(&log) == 1, "released after a NULL client");
    DsClient *client = new_client(NULL);
    CHECK_KIND_MSG(ds_client_set_event_callback(client, 7, on_event, &log, release_event_log),
                   DS_ERROR_INVALID_ARGUMENT, "min_level");
    CHECK(event_log_released(&log) == 2, "released after a bad level");
    /* Replacing or removing a callback releases the previous one's user data. */
    CHECK_OK(ds_client_set_event_callback(client, DS_EVENT_WARN, on_event, &log,
                                          release_event_log));
    CHECK(event_log_released(&log) == 2, "kept while installed");
    CHECK_OK(ds_client_set_event_callback(client, DS_EVENT_WARN, NULL, &log, release_event_log));
    CHECK(event_log_released(&log) == 4, "old and unused user data released: %d",
          event_log_released(&log));
    CHECK_OK(ds_client_set_event_callback(client, DS_EVENT_WARN, on_event, &log,
                                          release_event_log));
    ds_client_free(client);
    CHECK(event_log_released(&log) == 5, "released with the client");
    CHECK_KIND_MSG(ds_client_new("{\"append_retry\":\"sometimes\"}", NULL, NULL, NULL, &client),
                   DS_ERROR_INVALID_ARGUMENT, "append_retry");
}

static void test_events_and_append_retry(void) {
    EventLog log = {.mu = PTHREAD_MUTEX_INITIALIZER, .levels_ok = 1};
    DsClient *client = client_for_server();
    CHECK_OK(ds_client_set_event_callback(client, DS_EVENT_DEBUG, on_event, &log,
                                          release_event_log));
    char *url = unique_url(server, "events");
    DsStream *stream = new_stream(client, url);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");

    /* Batches are reported with their message counts. */
    DsProducer *old = new_producer(stream, "c-events", "{\"linger_ms\":1}", NULL);
    for (int i = 0; i < 10; i++)
        CHECK(ds_producer_try_append(old, (const uint8_t *)"m;", 2, NULL) == DS_APPEND_OK, "m");
    free(flush(old));
    pthread_mutex_lock(&log.mu);
    CHECK(log.batch_messages == 10, "batch_sent messages %llu",
          (unsigned long long)log.batch_messages);
    pthread_mutex_unlock(&log.mu);

    /* A newer epoch fences the old producer: fenced, then its lost batch. */
    DsProducer *newer = new_producer(stream, "c-events", "{\"epoch\":3,\"linger_ms\":1}", NULL);
    CHECK(ds_producer_try_append(newer, (const uint8_t *)"n;", 2, NULL) == DS_APPEND_OK, "n");
    free(flush(newer));
    CHECK(ds_producer_try_append(old, (const uint8_t *)"x;", 2, NULL) == DS_APPEND_OK, "x");
    Waiter w;
    waiter_init(&w);
    ds_producer_flush(old, NULL, on_offset, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_STALE_EPOCH);
    waiter_reset(&w);
    pthread_mutex_lock(&log.mu);
    CHECK(strcmp(log.fenced_current_epoch, "3") == 0, "fenced by %s", log.fenced_current_epoch);
    CHECK(strcmp(log.failed_error_kind, "STALE_EPOCH") == 0, "failed with %s",
          log.failed_error_kind);
    pthread_mutex_unlock(&log.mu);
    ds_producer_free(old);
    ds_producer_free(newer);

    /* append_retry "when_not_stored" retries a connection that could not be established. */
    DsClient *unreachable = new_client(
        "{\"append_retry\":\"when_not_stored\",\"retry\":{\"max_retries\":2,"
        "\"initial_delay_ms\":1,\"max_delay_ms\":5}}");
    CHECK_OK(ds_client_set_event_callback(unreachable, DS_EVENT_WARN, on_event, &log, NULL));
    DsStream *nowhere = new_stream(unreachable, "http://127.0.0.1:9/nowhere");
    CHECK_OK(ds_stream_set_content_type(nowhere, "text/plain"));
    ds_stream_append(nowhere, (const uint8_t *)"x", 1, NULL, NULL, on_append, &w);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_NETWORK_ERROR);
    waiter_reset(&w);
    pthread_mutex_lock(&log.mu);
    CHECK(log.append_retries == 2, "append retries %d", log.append_retries);
    CHECK(log.levels_ok, "every event had its kind's level, a URL and a message");
    pthread_mutex_unlock(&log.mu);

    waiter_destroy(&w);
    ds_stream_free(nowhere);
    ds_client_free(unreachable);
    ds_stream_free(stream);
    ds_client_free(client);
    free(url);
    for (int i = 0; i < 500 && event_log_released(&log) == 0; i++) sleep_ms(10);
    CHECK(event_log_released(&log) == 1, "released once everything is freed");
}

/* ================================================================= dynamic headers */

typedef struct {
    pthread_mutex_t mu;
    char seen[64][48]; /* "operation METHOD" */
    int count;
    bool async;        /* complete from another thread, later */
    bool url_ok;
    DsDecoration *parked; /* never completed until the test says so */
} DecorateLog;

static const char *decoration_for(const char *url, const char **error_message) {
    *error_message = NULL;
    if (strstr(url, "bad-ttl") != NULL) return "{\"headers\":{\"Stream-TTL\":\"not-a-number\"}}";
    if (strstr(url, "provider-fails") != NULL) {
        *error_message = "token service down";
        return NULL;
    }
    if (strstr(url, "bad-json") != NULL) return "{\"headers\":[1]}";
    return "{\"headers\":{\"x-ds-test\":\"1\",\"authorization\":\"Bearer t\"},"
           "\"query\":{\"tenant\":\"c test\"}}";
}

typedef struct {
    DsDecoration *decoration;
    const char *json;
    const char *error_message;
} LateCompletion;

static void *complete_later(void *arg) {
    LateCompletion *late = (LateCompletion *)arg;
    sleep_ms(20);
    ds_decoration_complete(late->decoration, late->json, late->error_message);
    free(late);
    return NULL;
}

static void decorate(void *ud, const DsRequestInfo *info, DsDecoration *decoration) {
    DecorateLog *log = (DecorateLog *)ud;
    pthread_mutex_lock(&log->mu);
    if (log->count < 64) {
        snprintf(log->seen[log->count], sizeof log->seen[0], "%s %s", info->operation,
                 info->method);
        log->count++;
    }
    if (strncmp(info->url, "http", 4) != 0) log->url_ok = false;
    bool park = strstr(info->url, "parked") != NULL;
    if (park) log->parked = decoration;
    bool async = log->async;
    pthread_mutex_unlock(&log->mu);
    if (park) return;

    const char *error_message = NULL;
    const char *json = decoration_for(info->url, &error_message);
    if (!async) {
        ds_decoration_complete(decoration, json, error_message);
        return;
    }
    LateCompletion *late = malloc(sizeof *late);
    CHECK(late != NULL, "malloc");
    late->decoration = decoration;
    late->json = json;
    late->error_message = error_message;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, complete_later, late) == 0, "thread");
    pthread_detach(thread);
}

static void release_decorate_log(void *ud) {
    DecorateLog *log = (DecorateLog *)ud;
    pthread_mutex_lock(&log->mu);
    log->count = -1000; /* marks "released" */
    pthread_mutex_unlock(&log->mu);
}

static bool saw(DecorateLog *log, const char *what) {
    pthread_mutex_lock(&log->mu);
    bool found = false;
    for (int i = 0; i < log->count && i < 64; i++) found |= strcmp(log->seen[i], what) == 0;
    pthread_mutex_unlock(&log->mu);
    return found;
}

static void decorated_flow(bool async) {
    DecorateLog log = {.mu = PTHREAD_MUTEX_INITIALIZER, .async = async, .url_ok = true};
    char *options = NULL;
    CHECK(asprintf(&options, "{\"base_url\":\"%s\"}", server->prefix_url) > 0, "asprintf");
    DsClient *client = NULL;
    CHECK_OK(ds_client_new(options, decorate, &log, release_decorate_log, &client));
    free(options);

    char *name = unique_name(async ? "decorated-async" : "decorated-sync");
    DsStream *stream = new_stream(client, name);
    create_stream(stream, "{\"content_type\":\"text/plain\"}");
    append_text(stream, "hello");
    Waiter w;
    waiter_init(&w);
    ds_stream_head(stream, NULL, on_head, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    char *text = read_all(stream, NULL);
    CHECK(strcmp(text, "hello") == 0, "decorated read %s", text);
    free(text);
    DsProducer *producer = new_producer(stream, "decorated", "{\"linger_ms\":1}", NULL);
    CHECK(ds_producer_try_append(producer, (const uint8_t *)"!", 1, NULL) == DS_APPEND_OK, "ok");
    free(flush(producer));
    ds_producer_free(producer);
    ds_stream_close(stream, NULL, on_append, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    ds_stream_delete(stream, NULL, on_done, &w);
    CHECK_OK(waiter_wait(&w, WAIT_MS));
    waiter_reset(&w);
    const char *expected[] = {"create PUT", "append POST",         "head HEAD",    "read GET",
                              "close POST", "producer-batch POST", "delete DELETE"};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        CHECK(saw(&log, expected[i]), "decorator not asked for %s", expected[i]);
    }
    CHECK(log.url_ok, "decorator saw absolute URLs");

    /* The headers really reach the server: an invalid Stream-TTL is refused. */
    char *bad_name = unique_name("bad-ttl");
    DsStream *bad = new_stream(client, bad_name);
    ds_stream_create(bad, "{\"content_type\":\"text/plain\"}", NULL, 0, NULL, on_create, &w);
    DsError *error = waiter_wait(&w, WAIT_MS);
    CHECK(ds_error_status(error) == 400, "decorated TTL status %u", ds_error_status(error));
    CHECK_KIND(error, DS_ERROR_BAD_REQUEST);
    waiter_reset(&w);

    /* A failing provider fails the operation; so does invalid decoration JSON. */
    char *failing_name = unique_name("provider-fails");
    DsStream *failing = new_stream(client, failing_name);
    ds_stream_head(failing, NULL, on_head, &w);
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "token service down");
    waiter_reset(&w);
    char *json_name = unique_name("bad-json");
    DsStream *bad_json = new_stream(client, json_name);
    ds_stream_head(bad_json, NULL, on_head, &w);
    CHECK_KIND_MSG(waiter_wait(&w, WAIT_MS), DS_ERROR_INVALID_ARGUMENT, "headers");
    waiter_reset(&w);

    /* A decoration still pending when its operation is cancelled may be completed later. */
    char *parked_name = unique_name("parked");
    DsStream *parked = new_stream(client, parked_name);
    DsCancel *cancel = ds_cancel_new();
    ds_stream_head(parked, cancel, on_head, &w);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&log.mu);
        bool ready = log.parked != NULL;
        pthread_mutex_unlock(&log.mu);
        if (ready) break;
        sleep_ms(10);
    }
    CHECK(log.parked != NULL, "decorate called for the parked request");
    sleep_ms(50);
    CHECK(!waiter_done(&w), "the request waits for its decoration");
    ds_cancel_cancel(cancel);
    CHECK_KIND(waiter_wait(&w, WAIT_MS), DS_ERROR_CANCELLED);
    waiter_reset(&w);
    ds_decoration_complete(log.parked, "{}", NULL); /* late: no effect, no leak */
    ds_cancel_free(cancel);

    /* free_user_data runs once the client and everything made from it are gone. */
    ds_stream_free(stream);
    ds_stream_free(bad);
    ds_stream_free(failing);
    ds_stream_free(bad_json);
    ds_client_free(client);
    pthread_mutex_lock(&log.mu);
    CHECK(log.count >= 0, "released while a stream still exists");
    pthread_mutex_unlock(&log.mu);
    ds_stream_free(parked);
    for (int i = 0; i < 500 && log.count >= 0; i++) sleep_ms(10);
    CHECK(log.count < 0, "decorate user data never released");

    waiter_destroy(&w);
    free(name);
    free(bad_name);
    free(failing_name);
    free(json_name);
    free(parked_name);
}

static void test_dynamic_headers_sync(void) { decorated_flow(false); }
static void test_dynamic_headers_async(void) { decorated_flow(true); }

/* ================================================================= main */

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    double start = now_ms();
    static const Test offline[] = {
        {"versions_and_null_handling", test_versions_and_null_handling},
        {"client_options", test_client_options},
        {"stream_handles", test_stream_handles},
        {"error_texts_carry_no_secret", test_error_texts_carry_no_secret},
        {"async_argument_errors", test_async_argument_errors},
        {"event_callback_arguments", test_event_callback_arguments},
    };
    static const Test online[] = {
        {"create_head_delete", test_create_head_delete},
        {"fork", test_fork},
        {"append", test_append},
        {"append_headers", test_append_headers},
        {"reads_in_every_live_mode", test_reads_in_every_live_mode},
        {"json_chunks", test_json_chunks},
        {"json_pieces_resume_exactly", test_json_pieces_resume_exactly},
        {"bounded_chunks", test_bounded_chunks},
        {"resume_inside_a_response", test_resume_inside_a_response},
        {"cancel_pending_long_poll", test_cancel_pending_long_poll},
        {"free_reader_with_pending_next", test_free_reader_with_pending_next},
        {"producer_lifecycle", test_producer_lifecycle},
        {"producer_full_and_detach", test_producer_full_and_detach},
        {"producer_fencing_and_restart", test_producer_fencing_and_restart},
        {"producer_errors", test_producer_errors},
        {"events_and_append_retry", test_events_and_append_retry},
        {"dynamic_headers_sync", test_dynamic_headers_sync},
        {"dynamic_headers_async", test_dynamic_headers_async},
    };
    int ran = run_tests(offline, sizeof offline / sizeof offline[0], "-");

    const char *which = getenv("DS_C_SERVERS");
    TestServers servers;
    servers_start(&servers, which != NULL && *which ? which : "both");
    for (int i = 0; i < servers.count; i++) {
        server = &servers.servers[i];
        ran += run_tests(online, sizeof online / sizeof online[0], server->kind);
    }
    servers_stop(&servers);
    printf("test_ffi: %d tests passed in %.1f s\n", ran, (now_ms() - start) / 1000.0);
    return 0;
}
