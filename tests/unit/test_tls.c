/* HTTPS: a self-signed certificate made at test time (GnuTLS's x509 API,
 * no CLI tool), the in-process server started with tls_cert_file and
 * tls_key_file, and a GnuTLS client that verifies the certificate for
 * "localhost": GET /healthz answers over TLS, a client trusting another
 * certificate fails the handshake, plain HTTP to the port gets no HTTP
 * answer; half a TLS configuration, a missing file and a file that is no
 * PEM are errors. No PostgreSQL needed. */
#include <check.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "http/health.h"
#include "http/server.h"
#include "log/log.h"
#include "testhttp.h"

/* A self-signed certificate for localhost and its key, in PEM. */
typedef struct tls_pair {
    char cert_path[64], key_path[64];
    char *cert_pem; /* malloc'd */
} tls_pair;

static tls_pair pair;
static ltvd_config cfg;
static http_server *server;
static int port;

static char *write_pem(const char *tmpl, char *path, const gnutls_datum_t *d)
{
    snprintf(path, 64, "%s", tmpl);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, d->data, d->size), (ssize_t)d->size);
    close(fd);
    char *copy = malloc(d->size + 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, d->data, d->size);
    copy[d->size] = '\0';
    return copy;
}

static void make_pair(tls_pair *p)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    gnutls_datum_t out;
    time_t now = time(NULL);
    unsigned char serial[8];
    for (size_t i = 0; i < sizeof serial; i++)
        serial[i] = (unsigned char)(rand() & 0x7f);
    serial[0] |= 1;
    ck_assert_int_eq(gnutls_x509_privkey_init(&key), 0);
    ck_assert_int_eq(
        gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
        0);
    ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
    ck_assert_int_eq(gnutls_x509_crt_set_version(crt, 3), 0);
    ck_assert_int_eq(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), 0);
    ck_assert_int_eq(gnutls_x509_crt_set_activation_time(crt, now - 3600), 0);
    ck_assert_int_eq(gnutls_x509_crt_set_expiration_time(crt, now + 86400), 0);
    ck_assert_int_eq(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                   "localhost", 9),
                     0);
    ck_assert_int_eq(gnutls_x509_crt_set_subject_alt_name(
                         crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_SET),
                     0);
    ck_assert_int_eq(gnutls_x509_crt_set_key(crt, key), 0);
    ck_assert_int_eq(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), 0);
    ck_assert_int_eq(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE), 0);
    ck_assert_int_eq(
        gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), 0);
    ck_assert_int_eq(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
    ck_assert_int_eq(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out), 0);
    p->cert_pem = write_pem("/tmp/ltvd_tls_crt_XXXXXX", p->cert_path, &out);
    gnutls_free(out.data);
    ck_assert_int_eq(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &out), 0);
    free(write_pem("/tmp/ltvd_tls_key_XXXXXX", p->key_path, &out));
    gnutls_free(out.data);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
}

static void drop_pair(tls_pair *p)
{
    unlink(p->cert_path);
    unlink(p->key_path);
    free(p->cert_pem);
    p->cert_pem = NULL;
}

/* cfg for cert and key (either may be NULL: left empty). */
static void tls_config(const char *cert, const char *key)
{
    char err[CONFIG_ERR_MAX];
    config_defaults(&cfg);
    ck_assert(config_set(&cfg, "listen", "127.0.0.1:0", err));
    ck_assert(config_set(&cfg, "thread_pool_size", "2", err));
    ck_assert(config_set(&cfg, "tls_cert_file", cert != NULL ? cert : "", err));
    ck_assert(config_set(&cfg, "tls_key_file", key != NULL ? key : "", err));
}

static void setup(void)
{
    char err[CONFIG_ERR_MAX];
    log_set_level(LOG_OFF);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    make_pair(&pair);
    tls_config(pair.cert_path, pair.key_path);
    ck_assert_msg(config_check(&cfg, err), "%s", err);
    server = http_server_new(&cfg);
    ck_assert_ptr_nonnull(server);
    ck_assert(http_server_add_routes(server, health_routes, health_nroutes));
    ck_assert_msg(http_server_start(server, err), "%s", err);
    port = http_server_port(server);
}

static void teardown(void)
{
    http_server_free(server);
    server = NULL;
    drop_pair(&pair);
}

/* ---------------------------------------------------------------- client */

/* GET path over TLS trusting ca_pem only, verifying the name localhost.
 * Returns 0 with the response in out, or the GnuTLS error of the handshake. */
static int tls_get(const char *ca_pem, const char *path, char *out, size_t cap)
{
    gnutls_certificate_credentials_t cred;
    gnutls_session_t s;
    gnutls_datum_t ca = {(unsigned char *)ca_pem, (unsigned)strlen(ca_pem)};
    ck_assert_int_eq(gnutls_certificate_allocate_credentials(&cred), 0);
    ck_assert_int_eq(
        gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM), 1);
    ck_assert_int_eq(gnutls_init(&s, GNUTLS_CLIENT), 0);
    ck_assert_int_eq(gnutls_set_default_priority(s), 0);
    ck_assert_int_eq(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred), 0);
    ck_assert_int_eq(gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9), 0);
    gnutls_session_set_verify_cert(s, "localhost", 0);
    int fd = testhttp_dial(port);
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, 5000);
    int rc;
    do
        rc = gnutls_handshake(s);
    while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    out[0] = '\0';
    if (rc == 0) {
        char req[256];
        int n = snprintf(
            req, sizeof req,
            "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
        ck_assert_int_eq(gnutls_record_send(s, req, (size_t)n), n);
        size_t got = 0;
        for (;;) {
            ssize_t r = gnutls_record_recv(s, out + got, cap - 1 - got);
            if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
                continue;
            if (r <= 0) /* 0, or the server closing without close_notify */
                break;
            got += (size_t)r;
        }
        out[got] = '\0';
        gnutls_bye(s, GNUTLS_SHUT_WR);
    }
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(cred);
    close(fd);
    return rc;
}

/* ----------------------------------------------------------------- tests */

START_TEST(test_https_healthz)
{
    char resp[4096];
    int rc = tls_get(pair.cert_pem, "/healthz", resp, sizeof resp);
    ck_assert_msg(rc == 0, "handshake: %s", gnutls_strerror(rc));
    ck_assert_msg(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
    ck_assert_msg(strstr(resp, "{\"status\":\"ok\"}") != NULL, "%s", resp);
    /* twice: the server keeps serving after a TLS connection */
    ck_assert_int_eq(tls_get(pair.cert_pem, "/nothing", resp, sizeof resp), 0);
    ck_assert_msg(strncmp(resp, "HTTP/1.1 404", 12) == 0, "%s", resp);
}
END_TEST

START_TEST(test_https_untrusted)
{
    tls_pair other;
    char resp[4096];
    make_pair(&other);
    int rc = tls_get(other.cert_pem, "/healthz", resp, sizeof resp);
    drop_pair(&other);
    ck_assert_msg(rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR, "handshake: %s",
                  gnutls_strerror(rc));
    ck_assert_str_eq(resp, "");
}
END_TEST

START_TEST(test_plain_http_refused)
{
    static const char req[] =
        "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    int fd = testhttp_dial(port);
    testhttp_send_all(fd, req, sizeof req - 1);
    char buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0 || (got += (size_t)n) == sizeof buf - 1)
            break;
    }
    buf[got] = '\0';
    close(fd);
    ck_assert_msg(strncmp(buf, "HTTP/", 5) != 0 && strstr(buf, "status") == NULL,
                  "plain HTTP answered: %s", buf);
    /* and TLS still works afterwards */
    ck_assert_int_eq(tls_get(pair.cert_pem, "/healthz", buf, sizeof buf), 0);
}
END_TEST

START_TEST(test_tls_config_errors)
{
    char err[CONFIG_ERR_MAX];
    tls_config(pair.cert_path, NULL);
    ck_assert(!config_check(&cfg, err));
    ck_assert_str_eq(err, "tls_cert_file: must be set together with tls_key_file");
    tls_config(NULL, pair.key_path);
    ck_assert(!config_check(&cfg, err));
    ck_assert_str_eq(err, "tls_key_file: must be set together with tls_cert_file");

    /* a missing file, then a file that is no certificate */
    char junk[] = "/tmp/ltvd_tls_junk_XXXXXX";
    int fd = mkstemp(junk);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "not a certificate\n", 18), 18);
    close(fd);
    const char *const bad[][2] = {
        {"/nonexistent/ltvd.crt", NULL}, {NULL, "/nonexistent/ltvd.key"}, {junk, NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tls_config(bad[i][0] != NULL ? bad[i][0] : pair.cert_path,
                   bad[i][1] != NULL ? bad[i][1] : pair.key_path);
        ck_assert(config_check(&cfg, err));
        http_server *s = http_server_new(&cfg);
        ck_assert(http_server_add_routes(s, health_routes, health_nroutes));
        ck_assert_msg(!http_server_start(s, err), "started with %zu", i);
        const char *want = i == 1   ? "tls_key_file: /nonexistent/ltvd.key: No such file"
                           : i == 0 ? "tls_cert_file: /nonexistent/ltvd.crt: No such file"
                                    : "not a PEM certificate";
        ck_assert_msg(strstr(err, want) != NULL, "%s", err);
        http_server_free(s);
    }
    unlink(junk);
}
END_TEST

Suite *suite_tls(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("https");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_https_healthz);
    tcase_add_test(tc, test_https_untrusted);
    tcase_add_test(tc, test_plain_http_refused);
    tcase_add_test(tc, test_tls_config_errors);
    suite_add_tcase(s, tc);
    return s;
}
