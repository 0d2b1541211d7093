/*
 * The C test suite of qjob.h: every function, the misuse cases (NULLs, bad
 * UTF-8, unknown IDs and handles, out-of-range enums, host misuse, bad
 * snapshots), and full lifecycles through the typed and the JSON API.
 *
 * Plain C99: built with -std=c99 -Wall -Wextra -Werror -pedantic against the
 * static library, the shared library (installed, found by pkg-config), under
 * valgrind and with ASan+UBSan (see bindings-c/Makefile).
 */
#include "qjob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                           \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                   \
        }                                                                     \
    } while (0)

#define CHECK_RC(expr, want)                                                  \
    do {                                                                      \
        qjob_result rc_ = (expr);                                             \
        checks++;                                                             \
        if (rc_ != (want)) {                                                  \
            failures++;                                                       \
            fprintf(stderr, "%s:%d: %s returned %s, want %s\n", __FILE__,     \
                    __LINE__, #expr, qjob_result_name((uint32_t)rc_),         \
                    qjob_result_name((uint32_t)(want)));                      \
        }                                                                     \
    } while (0)

#define CHECK_STR(got, want)                                                  \
    do {                                                                      \
        const char *g_ = (got);                                               \
        const char *w_ = (want);                                              \
        checks++;                                                             \
        if (g_ == NULL || strcmp(g_, w_) != 0) {                              \
            failures++;                                                       \
            fprintf(stderr, "%s:%d: %s is \"%s\", want \"%s\"\n", __FILE__,   \
                    __LINE__, #got, g_ ? g_ : "(null)", w_);                  \
        }                                                                     \
    } while (0)

#define OK(expr) CHECK_RC(expr, QJOB_OK)

static const char *const INVALID = "\xff\xfe";

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

/* Executes a QMP command; returns the reply (caller frees). */
static char *exec(qjob_manager *m, const char *json) {
    char *reply = NULL;
    qjob_result rc = qjob_execute(m, json, strlen(json), &reply);
    CHECK(rc == QJOB_OK || rc == QJOB_QMP_ERROR);
    CHECK(reply != NULL);
    return reply;
}

/* Executes a command that must succeed with reply {"return":{}}. */
static void exec_ok(qjob_manager *m, const char *json) {
    char *reply = exec(m, json);
    CHECK_STR(reply, "{\"return\":{}}");
    qjob_string_free(reply);
}

/* Pops every event into buf as "id:status" / "id:EVENT_NAME" items
 * separated by spaces. */
static void events(qjob_manager *m, char *buf, size_t cap) {
    qjob_event ev;
    size_t used = 0;
    buf[0] = '\0';
    while (qjob_poll_event(m, &ev) == QJOB_OK) {
        const char *what = ev.kind == QJOB_EVENT_KIND_JOB_STATUS_CHANGE
                               ? qjob_status_name((uint32_t)ev.status)
                               : ev.name;
        int n = snprintf(buf + used, cap - used, "%s%s:%s", used ? " " : "",
                         ev.job_id, what);
        CHECK(n > 0 && (size_t)n < cap - used);
        if (n > 0 && (size_t)n < cap - used) used += (size_t)n;
    }
}

#define CHECK_EVENTS(m, want)                                                 \
    do {                                                                      \
        char evbuf_[4096];                                                    \
        events((m), evbuf_, sizeof evbuf_);                                   \
        CHECK_STR(evbuf_, (want));                                            \
    } while (0)

/* Pops every host action into buf as names separated by spaces. */
static const char *action_name(qjob_action_kind k) {
    switch (k) {
    case QJOB_ACTION_KIND_START: return "start";
    case QJOB_ACTION_KIND_RESUME: return "resume";
    case QJOB_ACTION_KIND_WAKE: return "wake";
    case QJOB_ACTION_KIND_PAUSE: return "pause";
    case QJOB_ACTION_KIND_CANCEL: return "cancel";
    case QJOB_ACTION_KIND_COMPLETE: return "complete";
    case QJOB_ACTION_KIND_SET_SPEED: return "set-speed";
    case QJOB_ACTION_KIND_PREPARE: return "prepare";
    case QJOB_ACTION_KIND_COMMIT: return "commit";
    case QJOB_ACTION_KIND_ABORT: return "abort";
    case QJOB_ACTION_KIND_CLEAN: return "clean";
    }
    return "?";
}

static void actions(qjob_manager *m, char *buf, size_t cap) {
    qjob_action a;
    size_t used = 0;
    buf[0] = '\0';
    while (qjob_poll_action(m, &a) == QJOB_OK) {
        int n = snprintf(buf + used, cap - used, "%s%s%s", used ? " " : "",
                         action_name(a.kind),
                         a.kind == QJOB_ACTION_KIND_CANCEL
                             ? (a.force ? "(force)" : "(soft)")
                             : "");
        CHECK(n > 0 && (size_t)n < cap - used);
        if (n > 0 && (size_t)n < cap - used) used += (size_t)n;
    }
}

#define CHECK_ACTIONS(m, want)                                                \
    do {                                                                      \
        char acbuf_[1024];                                                    \
        actions((m), acbuf_, sizeof acbuf_);                                  \
        CHECK_STR(acbuf_, (want));                                            \
    } while (0)

static void drain(qjob_manager *m) {
    qjob_event ev;
    qjob_action a;
    while (qjob_poll_event(m, &ev) == QJOB_OK) {}
    while (qjob_poll_action(m, &a) == QJOB_OK) {}
}

static void check_error(qjob_manager *m, qjob_error_class cls,
                        const char *desc) {
    CHECK(qjob_last_error_class(m) == cls);
    CHECK_STR(qjob_last_error_class_name(m),
              qjob_error_class_name((uint32_t)cls));
    CHECK_STR(qjob_last_error_desc(m), desc);
}

static int contains(const char *hay, const char *needle) {
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* ------------------------------------------------------------------ */
/* tests                                                               */
/* ------------------------------------------------------------------ */

static void test_version_and_names(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", QJOB_VERSION_MAJOR,
             QJOB_VERSION_MINOR, QJOB_VERSION_PATCH);
    CHECK_STR(qjob_version(), want);

    CHECK_STR(qjob_result_name(QJOB_OK), "QJOB_OK");
    CHECK_STR(qjob_result_name(QJOB_EMPTY), "QJOB_EMPTY");
    CHECK_STR(qjob_result_name(QJOB_NULL_ARGUMENT), "QJOB_NULL_ARGUMENT");
    CHECK_STR(qjob_result_name(QJOB_INVALID_UTF8), "QJOB_INVALID_UTF8");
    CHECK_STR(qjob_result_name(QJOB_INVALID_ARGUMENT), "QJOB_INVALID_ARGUMENT");
    CHECK_STR(qjob_result_name(QJOB_QMP_ERROR), "QJOB_QMP_ERROR");
    CHECK_STR(qjob_result_name(QJOB_NOT_FOUND), "QJOB_NOT_FOUND");
    CHECK_STR(qjob_result_name(QJOB_SNAPSHOT_ERROR), "QJOB_SNAPSHOT_ERROR");
    CHECK_STR(qjob_result_name(QJOB_PANIC), "QJOB_PANIC");
    CHECK(qjob_result_name(12345) == NULL);

    CHECK_STR(qjob_status_name(QJOB_STATUS_UNDEFINED), "undefined");
    CHECK_STR(qjob_status_name(QJOB_STATUS_RUNNING), "running");
    CHECK_STR(qjob_status_name(QJOB_STATUS_NULL), "null");
    CHECK(qjob_status_name(11) == NULL);
    CHECK_STR(qjob_job_type_name(QJOB_JOB_TYPE_BACKUP), "backup");
    CHECK_STR(qjob_job_type_name(QJOB_JOB_TYPE_SNAPSHOT_DELETE),
              "snapshot-delete");
    CHECK(qjob_job_type_name(9) == NULL);
    CHECK_STR(qjob_verb_name(QJOB_VERB_SET_SPEED), "set-speed");
    CHECK_STR(qjob_verb_name(QJOB_VERB_FINALIZE), "finalize");
    CHECK_STR(qjob_verb_name(QJOB_VERB_CHANGE), "change");
    CHECK(qjob_verb_name(8) == NULL);
    CHECK_STR(qjob_error_class_name(QJOB_ERROR_CLASS_NONE), "");
    CHECK_STR(qjob_error_class_name(QJOB_ERROR_CLASS_GENERIC_ERROR),
              "GenericError");
    CHECK_STR(qjob_error_class_name(QJOB_ERROR_CLASS_COMMAND_NOT_FOUND),
              "CommandNotFound");
    CHECK_STR(qjob_error_class_name(QJOB_ERROR_CLASS_DEVICE_NOT_ACTIVE),
              "DeviceNotActive");
    CHECK_STR(qjob_error_class_name(QJOB_ERROR_CLASS_DEVICE_NOT_FOUND),
              "DeviceNotFound");
    CHECK(qjob_error_class_name(5) == NULL);
}

/* Every function given a NULL manager (or NULL required pointers). */
static void test_null_arguments(void) {
    qjob_event ev;
    qjob_action act;
    char *s = (char *)1;
    bool b = false;
    size_t n = 0;
    uint64_t u = 0;
    qjob_job_handle h = 0;
    qjob_txn_handle t = 0;
    qjob_host_directive d;
    qjob_host_error_action ea;
    const qjob_job_info *ji = NULL;
    const qjob_block_job_info *bji = NULL;
    uint8_t *bytes = NULL;
    qjob_backup_options bo;
    qjob_mirror_options mo;
    qjob_host_job_options ho;
    qjob_image img;
    qjob_manager *m;

    qjob_manager_free(NULL);
    qjob_string_free(NULL);
    qjob_bytes_free(NULL, 0);

    CHECK(qjob_last_error_code(NULL) == QJOB_OK);
    CHECK(qjob_last_error_class(NULL) == QJOB_ERROR_CLASS_NONE);
    CHECK_STR(qjob_last_error_class_name(NULL), "");
    CHECK_STR(qjob_last_error_desc(NULL), "");
    CHECK(qjob_now(NULL) == 0);
    CHECK(qjob_has_ready_work(NULL) == false);
    CHECK(qjob_pending_events(NULL) == 0);
    CHECK(qjob_pending_actions(NULL) == 0);

    CHECK_RC(qjob_execute(NULL, "{}", 2, &s), QJOB_NULL_ARGUMENT);
    CHECK(s == NULL);
    CHECK_RC(qjob_set_machine(NULL, true), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_set_pci_bus(NULL, true), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_drive_add(NULL, "{}", 2), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_add_image(NULL, &img), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_step(NULL, &b), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_settle(NULL, &n), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_tick(NULL, 1), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_advance(NULL, 1), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_next_deadline(NULL, &u), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_pause(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_resume(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_cancel(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_complete(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_finalize(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_dismiss(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_block_job_pause(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_block_job_resume(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_block_job_cancel(NULL, "x", true), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_block_job_complete(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_block_job_finalize(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_block_job_dismiss(NULL, "x"), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_block_job_set_speed(NULL, "x", 0), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_verb_allowed(NULL, "x", QJOB_VERB_PAUSE, &b),
             QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_backup_options_init(NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_mirror_options_init(NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_job_options_init(NULL), QJOB_NULL_ARGUMENT);
    OK(qjob_backup_options_init(&bo));
    OK(qjob_mirror_options_init(&mo));
    OK(qjob_host_job_options_init(&ho));
    CHECK_RC(qjob_blockdev_backup(NULL, &bo), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_blockdev_mirror(NULL, &mo), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_query_jobs(NULL, &ji, &n), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_query_block_jobs(NULL, &bji, &n), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_poll_event(NULL, &ev), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_poll_event_json(NULL, &s), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_json_sorted(NULL, 0, &s), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_json_sorted("1", 1, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_new_transaction(NULL, &t), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_create_host_job(NULL, &ho, &h), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_handle_of(NULL, "x", &h), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_poll_action(NULL, &act), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_progress(NULL, 0, 0, 0), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_pause_point(NULL, 0, &d), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_sleep(NULL, 0, 0, &d), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_io_error(NULL, 0, QJOB_IO_OPERATION_READ, 5, &ea),
             QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_ready(NULL, 0), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_run_finished(NULL, 0, 0, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_prepare_done(NULL, 0, 0), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_rate_delay(NULL, 0, 0, &u), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_should_complete(NULL, 0, &b), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_snapshot(NULL, &bytes, &n), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_snapshot_json(NULL, &s), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_restore(NULL, (const uint8_t *)"x", 1), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_restore_json(NULL, "{}", 2), QJOB_NULL_ARGUMENT);

    /* NULL arguments other than the manager: refused, and named. */
    m = qjob_manager_new();
    CHECK(m != NULL);
    s = (char *)1;
    CHECK_RC(qjob_execute(m, NULL, 2, &s), QJOB_NULL_ARGUMENT);
    CHECK(s == NULL);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'json' is NULL");
    CHECK(qjob_last_error_code(m) == QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_execute(m, "{}", 2, NULL), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'reply' is NULL");
    CHECK_RC(qjob_job_pause(m, NULL), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'id' is NULL");
    CHECK_RC(qjob_block_job_pause(m, NULL), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'device' is NULL");
    CHECK_RC(qjob_add_image(m, NULL), QJOB_NULL_ARGUMENT);
    memset(&img, 0, sizeof img);
    CHECK_RC(qjob_add_image(m, &img), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'image.file' is NULL");
    img.file = "a.img";
    img.format = "raw";
    img.data_len = 1;
    CHECK_RC(qjob_add_image(m, &img), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'image.data' is NULL");
    CHECK_RC(qjob_blockdev_backup(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'device' is NULL");
    bo.device = "src";
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'target' is NULL");
    CHECK_RC(qjob_blockdev_mirror(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_blockdev_mirror(m, &mo), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_verb_allowed(m, NULL, QJOB_VERB_PAUSE, &b),
             QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_query_jobs(m, NULL, &n), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_query_jobs(m, &ji, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_query_block_jobs(m, NULL, &n), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_query_block_jobs(m, &bji, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_next_deadline(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_new_transaction(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_create_host_job(m, NULL, &h), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_create_host_job(m, &ho, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_job_handle_of(m, NULL, &h), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_pause_point(m, 0, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_sleep(m, 0, 0, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_io_error(m, 0, 0, 5, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_rate_delay(m, 0, 0, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_host_should_complete(m, 0, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_snapshot(m, NULL, &n), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_snapshot(m, &bytes, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_snapshot_json(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_restore(m, NULL, 0), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_restore_json(m, NULL, 0), QJOB_NULL_ARGUMENT);

    /* Output pointers are checked before anything is popped. */
    exec_ok(m, "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":"
               "\"b\",\"device\":\"src\",\"target\":\"dst\",\"sync\":\"full\","
               "\"speed\":1}}");
    n = qjob_pending_events(m);
    CHECK(n > 0);
    CHECK_RC(qjob_poll_event(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_poll_event_json(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK(qjob_pending_events(m) == n);
    /* A success clears the last error. */
    OK(qjob_settle(m, NULL));
    CHECK(qjob_last_error_code(m) == QJOB_OK);
    check_error(m, QJOB_ERROR_CLASS_NONE, "");
    /* Optional outputs may be NULL. */
    OK(qjob_step(m, NULL));
    qjob_manager_free(m);
}

static void test_invalid_utf8_and_enums(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_backup_options bo;
    qjob_mirror_options mo;
    qjob_host_job_options ho;
    qjob_image img;
    qjob_job_handle h;
    qjob_host_error_action ea;
    char *s = NULL;
    bool b;

    CHECK_RC(qjob_job_pause(m, INVALID), QJOB_INVALID_UTF8);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'id' is not valid UTF-8");
    CHECK_RC(qjob_job_resume(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_job_cancel(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_job_complete(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_job_finalize(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_job_dismiss(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_block_job_pause(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_block_job_resume(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_block_job_cancel(m, INVALID, false), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_block_job_complete(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_block_job_finalize(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_block_job_dismiss(m, INVALID), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_block_job_set_speed(m, INVALID, 0), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_verb_allowed(m, INVALID, QJOB_VERB_PAUSE, &b),
             QJOB_INVALID_UTF8);
    CHECK_RC(qjob_job_handle_of(m, INVALID, &h), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_execute(m, INVALID, 2, &s), QJOB_INVALID_UTF8);
    CHECK(s == NULL);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'json' is not valid UTF-8");
    CHECK_RC(qjob_json_sorted(INVALID, 2, &s), QJOB_INVALID_UTF8);
    CHECK_RC(qjob_restore_json(m, INVALID, 2), QJOB_INVALID_UTF8);

    OK(qjob_backup_options_init(&bo));
    bo.device = "src";
    bo.target = INVALID;
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_INVALID_UTF8);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'target' is not valid UTF-8");
    bo.target = "dst";
    bo.job.job_id = INVALID;
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_INVALID_UTF8);
    bo.job.job_id = "b";
    bo.bitmap = INVALID;
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_INVALID_UTF8);
    bo.bitmap = NULL;
    bo.sync = 99;
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_INVALID_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'sync' = 99 is not a qjob_sync_mode");
    bo.sync = QJOB_SYNC_MODE_FULL;
    bo.on_source_error = 5;
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_INVALID_ARGUMENT);
    bo.on_source_error = QJOB_ON_ERROR_REPORT;
    bo.on_target_error = 77;
    CHECK_RC(qjob_blockdev_backup(m, &bo), QJOB_INVALID_ARGUMENT);

    OK(qjob_mirror_options_init(&mo));
    mo.device = INVALID;
    mo.target = "dst";
    CHECK_RC(qjob_blockdev_mirror(m, &mo), QJOB_INVALID_UTF8);
    mo.device = "src";
    mo.sync = 5;
    CHECK_RC(qjob_blockdev_mirror(m, &mo), QJOB_INVALID_ARGUMENT);

    CHECK_RC(qjob_verb_allowed(m, "b", 8, &b), QJOB_INVALID_ARGUMENT);

    OK(qjob_host_job_options_init(&ho));
    ho.id = INVALID;
    CHECK_RC(qjob_create_host_job(m, &ho, &h), QJOB_INVALID_UTF8);
    ho.id = "h";
    ho.job_type = 9;
    CHECK_RC(qjob_create_host_job(m, &ho, &h), QJOB_INVALID_ARGUMENT);
    ho.job_type = QJOB_JOB_TYPE_BACKUP;
    ho.on_target_error = 5;
    CHECK_RC(qjob_create_host_job(m, &ho, &h), QJOB_INVALID_ARGUMENT);
    ho.on_target_error = QJOB_ON_ERROR_REPORT;
    OK(qjob_create_host_job(m, &ho, &h));
    CHECK_RC(qjob_host_io_error(m, h, 2, 5, &ea), QJOB_INVALID_ARGUMENT);
    CHECK_RC(qjob_host_run_finished(m, h, -5, INVALID), QJOB_INVALID_UTF8);

    memset(&img, 0, sizeof img);
    img.file = INVALID;
    img.format = "raw";
    CHECK_RC(qjob_add_image(m, &img), QJOB_INVALID_UTF8);
    img.file = "a.img";
    img.format = INVALID;
    CHECK_RC(qjob_add_image(m, &img), QJOB_INVALID_UTF8);
    img.format = "raw";
    img.backing = INVALID;
    CHECK_RC(qjob_add_image(m, &img), QJOB_INVALID_UTF8);
    qjob_manager_free(m);
}

/* -drive through C: a drive, QEMU's refusal, and options that are not an object. */
static void test_drive_add(void) {
    const char *ok = "{\"if\": \"none\", \"id\": \"d0\", \"driver\": \"null-co\"}";
    const char *virtio = "{\"if\": \"virtio\", \"driver\": \"null-co\"}";
    char *reply = NULL;
    qjob_manager *m = qjob_manager_new();
    CHECK(m != NULL);
    CHECK_RC(qjob_drive_add(m, "[1]", 3), QJOB_INVALID_ARGUMENT);
    CHECK_RC(qjob_drive_add(m, NULL, 0), QJOB_NULL_ARGUMENT);
    OK(qjob_drive_add(m, ok, strlen(ok)));
    CHECK_RC(qjob_drive_add(m, ok, strlen(ok)), QJOB_QMP_ERROR);
    CHECK(strlen(qjob_last_error_desc(m)) > 0);
    OK(qjob_set_pci_bus(m, true));
    OK(qjob_drive_add(m, virtio, strlen(virtio)));
    OK(qjob_execute(m, "{\"execute\": \"query-block\"}", 26, &reply));
    CHECK(strstr(reply, "\"d0\"") != NULL);
    qjob_string_free(reply);
    qjob_manager_free(m);
}

/* Unknown job IDs: QEMU's errors, with their classes. */
static void test_unknown_ids(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_job_handle h;
    bool b;

    CHECK_RC(qjob_job_pause(m, "nope"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR, "Job not found");
    CHECK(qjob_last_error_code(m) == QJOB_QMP_ERROR);
    CHECK_RC(qjob_job_resume(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_job_cancel(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_job_complete(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_job_finalize(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_job_dismiss(m, "nope"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR, "Job not found");
    CHECK_RC(qjob_block_job_pause(m, "nope"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_DEVICE_NOT_ACTIVE,
                "Block job 'nope' not found");
    CHECK_STR(qjob_last_error_class_name(m), "DeviceNotActive");
    CHECK_RC(qjob_block_job_resume(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_block_job_cancel(m, "nope", true), QJOB_QMP_ERROR);
    CHECK_RC(qjob_block_job_complete(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_block_job_finalize(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_block_job_dismiss(m, "nope"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_block_job_set_speed(m, "nope", 0), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_DEVICE_NOT_ACTIVE,
                "Block job 'nope' not found");
    CHECK_RC(qjob_verb_allowed(m, "nope", QJOB_VERB_PAUSE, &b),
             QJOB_NOT_FOUND);
    check_error(m, QJOB_ERROR_CLASS_NONE, "no job 'nope'");
    CHECK_RC(qjob_job_handle_of(m, "nope", &h), QJOB_NOT_FOUND);
    /* Stale or made-up host handles. */
    CHECK_RC(qjob_host_progress(m, 12345, 1, 2), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Job handle does not name an existing job");
    CHECK_RC(qjob_host_ready(m, 12345), QJOB_QMP_ERROR);
    CHECK_RC(qjob_host_prepare_done(m, 12345, 0), QJOB_QMP_ERROR);
    qjob_manager_free(m);
}

/* A backup through the typed API: speed-held, paused, resumed, queried,
 * released, finished. */
static void test_typed_backup_lifecycle(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_backup_options bo;
    const qjob_job_info *jobs;
    const qjob_block_job_info *bjobs;
    size_t n = 0, steps = 99;
    bool allowed = false;
    qjob_event ev;

    OK(qjob_backup_options_init(&bo));
    CHECK(bo.sync == QJOB_SYNC_MODE_FULL);
    CHECK(bo.job.auto_finalize && bo.job.auto_dismiss);
    CHECK(bo.job.job_id == NULL && bo.job.speed == 0);
    bo.job.job_id = "b0";
    bo.job.speed = 1;
    bo.device = "src";
    bo.target = "dst";
    OK(qjob_blockdev_backup(m, &bo));
    OK(qjob_settle(m, &steps));
    CHECK(steps != 99);
    CHECK_EVENTS(m, "b0:created b0:running b0:paused b0:running");
    CHECK_RC(qjob_poll_event(m, &ev), QJOB_EMPTY);

    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 1);
    if (n == 1) {
        CHECK_STR(jobs[0].id, "b0");
        CHECK(jobs[0].job_type == QJOB_JOB_TYPE_BACKUP);
        CHECK(jobs[0].status == QJOB_STATUS_RUNNING);
        CHECK(jobs[0].current_progress == 1u << 20);
        CHECK(jobs[0].total_progress == 64u << 20);
        CHECK(jobs[0].error == NULL);
    }
    OK(qjob_query_block_jobs(m, &bjobs, &n));
    CHECK(n == 1);
    if (n == 1) {
        CHECK_STR(bjobs[0].device, "b0");
        CHECK(bjobs[0].job_type == QJOB_JOB_TYPE_BACKUP);
        CHECK(bjobs[0].speed == 1);
        CHECK(bjobs[0].offset == 1u << 20);
        CHECK(bjobs[0].len == 64u << 20);
        CHECK(!bjobs[0].paused && !bjobs[0].ready);
        CHECK(bjobs[0].io_status == QJOB_IO_STATUS_OK);
        CHECK(bjobs[0].status == QJOB_STATUS_RUNNING);
        CHECK(bjobs[0].auto_finalize && bjobs[0].auto_dismiss);
        CHECK(bjobs[0].error == NULL);
    }
    OK(qjob_verb_allowed(m, "b0", QJOB_VERB_PAUSE, &allowed));
    CHECK(allowed);
    OK(qjob_verb_allowed(m, "b0", QJOB_VERB_DISMISS, &allowed));
    CHECK(!allowed);

    OK(qjob_job_pause(m, "b0"));
    CHECK_EVENTS(m, "b0:paused");
    CHECK_RC(qjob_job_pause(m, "b0"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR, "Job is already paused");
    OK(qjob_block_job_resume(m, "b0"));
    CHECK_EVENTS(m, "b0:running");
    OK(qjob_block_job_pause(m, "b0"));
    OK(qjob_job_resume(m, "b0"));
    CHECK_EVENTS(m, "b0:paused b0:running");
    CHECK_RC(qjob_job_resume(m, "b0"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Can't resume a job that was not paused");
    CHECK_RC(qjob_block_job_set_speed(m, "b0", -1), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Parameter 'speed' expects a non-negative value");
    CHECK_RC(qjob_job_complete(m, "b0"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Job 'b0' in state 'running' cannot accept command verb "
                "'complete'");
    OK(qjob_block_job_set_speed(m, "b0", 0));
    OK(qjob_settle(m, NULL));

    /* The struct form of an event: every field of BLOCK_JOB_COMPLETED. */
    {
        int seen_completed = 0;
        while (qjob_poll_event(m, &ev) == QJOB_OK) {
            if (ev.kind == QJOB_EVENT_KIND_BLOCK_JOB_COMPLETED) {
                seen_completed = 1;
                CHECK_STR(ev.name, "BLOCK_JOB_COMPLETED");
                CHECK_STR(ev.job_id, "b0");
                CHECK(ev.job_type == QJOB_JOB_TYPE_BACKUP);
                CHECK(ev.current_progress == 64u << 20);
                CHECK(ev.total_progress == 64u << 20);
                CHECK(ev.speed == 0);
                CHECK(ev.error == NULL);
                CHECK(ev.status == QJOB_STATUS_UNDEFINED);
            } else {
                CHECK(ev.kind == QJOB_EVENT_KIND_JOB_STATUS_CHANGE);
                CHECK_STR(ev.name, "JOB_STATUS_CHANGE");
            }
        }
        CHECK(seen_completed);
    }
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 0 && jobs == NULL);
    OK(qjob_query_block_jobs(m, &bjobs, &n));
    CHECK(n == 0 && bjobs == NULL);
    qjob_manager_free(m);
}

/* A mirror with manual finalize and dismiss through the typed API, and the
 * block-job-* verbs. */
static void test_typed_mirror_lifecycle(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_mirror_options mo;
    qjob_event ev;
    const qjob_job_info *jobs;
    size_t n;

    OK(qjob_mirror_options_init(&mo));
    CHECK(mo.granularity == 0 && mo.buf_size == 0);
    mo.job.job_id = "m1";
    mo.job.auto_finalize = false;
    mo.job.auto_dismiss = false;
    mo.device = "src";
    mo.target = "dst";
    OK(qjob_blockdev_mirror(m, &mo));
    OK(qjob_settle(m, NULL));
    CHECK_EVENTS(m, "m1:created m1:running m1:ready m1:BLOCK_JOB_READY");
    CHECK_RC(qjob_job_finalize(m, "m1"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Job 'm1' in state 'ready' cannot accept command verb "
                "'finalize'");
    OK(qjob_block_job_pause(m, "m1"));
    CHECK_EVENTS(m, "m1:standby");
    OK(qjob_block_job_resume(m, "m1"));
    CHECK_EVENTS(m, "m1:ready");
    OK(qjob_block_job_complete(m, "m1"));
    OK(qjob_settle(m, NULL));
    CHECK_EVENTS(m, "m1:waiting m1:pending m1:BLOCK_JOB_PENDING");
    OK(qjob_block_job_finalize(m, "m1"));
    OK(qjob_settle(m, NULL));
    CHECK_EVENTS(m, "m1:BLOCK_JOB_COMPLETED m1:concluded");
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 1 && jobs[0].status == QJOB_STATUS_CONCLUDED);
    OK(qjob_block_job_dismiss(m, "m1"));
    OK(qjob_settle(m, NULL));
    CHECK_EVENTS(m, "m1:null");

    /* job-* forms: a second mirror, completed, finalized, dismissed. */
    mo.job.job_id = "m2";
    OK(qjob_blockdev_mirror(m, &mo));
    OK(qjob_settle(m, NULL));
    drain(m);
    OK(qjob_job_complete(m, "m2"));
    OK(qjob_settle(m, NULL));
    OK(qjob_job_finalize(m, "m2"));
    OK(qjob_settle(m, NULL));
    OK(qjob_job_dismiss(m, "m2"));
    OK(qjob_settle(m, NULL));
    drain(m);

    /* Cancels: block-job-cancel (soft) completes a ready mirror; force and
     * job-cancel cancel it. */
    mo.job.job_id = "m3";
    mo.job.auto_finalize = true;
    mo.job.auto_dismiss = true;
    OK(qjob_blockdev_mirror(m, &mo));
    OK(qjob_settle(m, NULL));
    drain(m);
    OK(qjob_block_job_cancel(m, "m3", true));
    OK(qjob_settle(m, NULL));
    {
        int cancelled = 0;
        while (qjob_poll_event(m, &ev) == QJOB_OK) {
            if (ev.kind == QJOB_EVENT_KIND_BLOCK_JOB_CANCELLED) {
                cancelled = 1;
                CHECK(ev.job_type == QJOB_JOB_TYPE_MIRROR);
                CHECK_STR(ev.job_id, "m3");
            }
        }
        CHECK(cancelled);
    }
    mo.job.job_id = "m4";
    OK(qjob_blockdev_mirror(m, &mo));
    OK(qjob_settle(m, NULL));
    drain(m);
    OK(qjob_job_cancel(m, "m4"));
    OK(qjob_settle(m, NULL));
    CHECK_EVENTS(m, "m4:aborting m4:BLOCK_JOB_CANCELLED m4:concluded m4:null");

    /* QEMU's refusals at creation. */
    mo.job.job_id = "9bad";
    CHECK_RC(qjob_blockdev_mirror(m, &mo), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR, "Invalid job ID '9bad'");
    mo.job.job_id = "m5";
    mo.device = "nowhere";
    CHECK_RC(qjob_blockdev_mirror(m, &mo), QJOB_QMP_ERROR);
    CHECK(contains(qjob_last_error_desc(m), "nowhere"));
    qjob_manager_free(m);
}

/* A backup through QMP JSON, every event as JSON, errors as replies. */
static void test_json_lifecycle(void) {
    qjob_manager *m = qjob_manager_new();
    char *reply = NULL, *json = NULL;
    const char *buf = "{\"execute\":\"query-jobs\"}GARBAGE";
    int events_seen = 0;

    exec_ok(m, "{\"execute\": \"blockdev-backup\", \"arguments\": {\"job-id\": "
               "\"j0\", \"device\": \"src\", \"target\": \"dst\", \"sync\": "
               "\"full\", \"speed\": 1}}");
    OK(qjob_settle(m, NULL));
    /* len, not NUL: only the first 24 bytes are the message. */
    OK(qjob_execute(m, buf, 24, &reply));
    CHECK(contains(reply, "\"id\":\"j0\""));
    CHECK(contains(reply, "\"status\":\"running\""));
    CHECK(contains(reply, "\"current-progress\":1048576"));
    qjob_string_free(reply);

    /* An error reply: QJOB_QMP_ERROR, and still an owned reply. */
    CHECK_RC(qjob_execute(m, "{\"execute\":\"job-pause\",\"arguments\":{\"id\":"
                             "\"zz\"},\"id\":7}",
                          strlen("{\"execute\":\"job-pause\",\"arguments\":{\"id\""
                                 ":\"zz\"},\"id\":7}"),
                          &reply),
             QJOB_QMP_ERROR);
    CHECK_STR(reply, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"Job not "
                     "found\"},\"id\":7}");
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR, "Job not found");
    qjob_string_free(reply);
    CHECK_RC(qjob_execute(m, "{\"execute\":\"nope\"}", 18, &reply),
             QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_COMMAND_NOT_FOUND,
                "The command nope has not been found");
    qjob_string_free(reply);
    CHECK_RC(qjob_execute(m, "{\"execute\":", 11, &reply), QJOB_QMP_ERROR);
    CHECK(contains(reply, "\"error\""));
    qjob_string_free(reply);
    CHECK_RC(qjob_execute(m, "", 0, &reply), QJOB_QMP_ERROR);
    qjob_string_free(reply);

    exec_ok(m, "{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"j0\"}}");
    exec_ok(m, "{\"execute\":\"job-resume\",\"arguments\":{\"id\":\"j0\"}}");
    exec_ok(m, "{\"execute\":\"block-job-set-speed\",\"arguments\":{\"device\":"
               "\"j0\",\"speed\":0}}");
    OK(qjob_settle(m, NULL));
    while (qjob_poll_event_json(m, &json) == QJOB_OK) {
        CHECK(json != NULL);
        CHECK(contains(json, "{\"timestamp\":{\"seconds\":"));
        CHECK(contains(json, "\"event\":"));
        events_seen++;
        qjob_string_free(json);
    }
    CHECK(json == NULL);
    CHECK(events_seen >= 10);
    reply = exec(m, "{\"execute\":\"query-jobs\"}");
    CHECK_STR(reply, "{\"return\":[]}");
    qjob_string_free(reply);
    qjob_manager_free(m);
}

/* The transcript lines of the last reply and the last popped event, as the
 * scenario transcripts print them (the library's, not read back). */
static void test_transcript_lines(void) {
    qjob_manager *m = qjob_manager_new();
    char dummy = 0, *line = &dummy, *reply = NULL;
    qjob_event ev;

    CHECK_RC(qjob_last_reply_line(m, &line), QJOB_EMPTY);
    CHECK(line == NULL);
    CHECK_RC(qjob_last_event_line(m, &line), QJOB_EMPTY);
    CHECK(line == NULL);
    CHECK_RC(qjob_last_reply_line(m, NULL), QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_last_event_line(NULL, &line), QJOB_NULL_ARGUMENT);

    CHECK_RC(qjob_execute(m, "{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"zz\"},\"id\":[7]}",
                          strlen("{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"zz\"},\"id\":[7]}"),
                          &reply),
             QJOB_QMP_ERROR);
    qjob_string_free(reply);
    OK(qjob_last_reply_line(m, &line));
    CHECK_STR(line, "< {\"error\": {\"class\": \"GenericError\", \"desc\": \"Job not found\"}, \"id\": [7]}");
    qjob_string_free(line);

    exec_ok(m, "{\"execute\": \"blockdev-backup\", \"arguments\": {\"job-id\": "
               "\"j0\", \"device\": \"src\", \"target\": \"dst\", \"sync\": \"full\"}}");
    OK(qjob_last_reply_line(m, &line));
    CHECK_STR(line, "< {\"return\": {}}");
    qjob_string_free(line);
    OK(qjob_poll_event(m, &ev));
    OK(qjob_last_event_line(m, &line));
    CHECK_STR(line, "! JOB_STATUS_CHANGE {\"id\": \"j0\", \"status\": \"created\"}");
    qjob_string_free(line);
    OK(qjob_settle(m, NULL));
    while (qjob_poll_event(m, &ev) == QJOB_OK) {
        if (ev.kind != QJOB_EVENT_KIND_BLOCK_JOB_COMPLETED) continue;
        OK(qjob_last_event_line(m, &line));
        CHECK_STR(line, "! BLOCK_JOB_COMPLETED {\"device\": \"j0\", \"len\": 67108864, "
                        "\"offset\": 67108864, \"speed\": 0, \"type\": \"backup\"}");
        qjob_string_free(line);
    }
    /* Still the last popped event, until another is popped. */
    OK(qjob_last_event_line(m, &line));
    CHECK(contains(line, "\"status\": \"null\""));
    qjob_string_free(line);
    qjob_manager_free(m);
}

/* The main loop: step, settle, tick, advance, deadlines, the clock. */
static void test_clock(void) {
    qjob_manager *m = qjob_manager_new();
    bool more = true;
    uint64_t deadline = 0, t0;
    qjob_backup_options bo;
    const qjob_job_info *jobs;
    size_t n;

    CHECK(qjob_now(m) == 0);
    CHECK(!qjob_has_ready_work(m));
    CHECK_RC(qjob_next_deadline(m, &deadline), QJOB_EMPTY);
    OK(qjob_step(m, &more));
    CHECK(!more);

    OK(qjob_backup_options_init(&bo));
    bo.job.job_id = "c";
    bo.job.speed = 10 << 20; /* 10 MiB/s: 64 MiB takes a few seconds */
    bo.device = "src";
    bo.target = "dst";
    OK(qjob_blockdev_backup(m, &bo));
    more = true;
    while (more) OK(qjob_step(m, &more));
    CHECK(!qjob_has_ready_work(m));
    OK(qjob_next_deadline(m, &deadline));
    CHECK(deadline > 0);
    OK(qjob_tick(m, deadline));
    CHECK(qjob_now(m) == deadline);
    t0 = qjob_now(m);
    OK(qjob_advance(m, 1000));
    CHECK(qjob_now(m) == t0 + 1000);
    OK(qjob_tick(m, 5)); /* never backwards */
    CHECK(qjob_now(m) == t0 + 1000);
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 1 && jobs[0].current_progress > 1u << 20);
    while (qjob_next_deadline(m, &deadline) == QJOB_OK) OK(qjob_tick(m, deadline));
    CHECK(qjob_now(m) > 5000000000u); /* ~6.4 s of virtual time */
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 0);
    CHECK(qjob_pending_events(m) > 0);
    drain(m);
    CHECK(qjob_pending_events(m) == 0);
    qjob_manager_free(m);
}

/* Images, machine mode, the empty world, transcript JSON. */
static void test_world_and_json(void) {
    qjob_manager *m = qjob_manager_new_empty();
    qjob_extent ext[2] = {{0, 65536}, {1048576, 4096}};
    qjob_image img;
    char *out = NULL, *reply;
    const char *in = "{\"b\": [1, 2.5, \"\\u00e9\"], \"a\": {\"y\": null, "
                     "\"x\": true}}";

    reply = exec(m, "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":"
                    "\"b\",\"device\":\"src\",\"target\":\"dst\",\"sync\":"
                    "\"full\"}}");
    CHECK(contains(reply, "Cannot find device='src' nor node-name='src'"));
    qjob_string_free(reply);

    memset(&img, 0, sizeof img);
    img.file = "disk.img";
    img.format = "raw";
    img.size = 4u << 20;
    img.data = ext;
    img.data_len = 2;
    OK(qjob_add_image(m, &img));
    exec_ok(m, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\","
               "\"node-name\":\"f\",\"filename\":\"disk.img\"}}");
    reply = exec(m, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
                    "\"file\",\"node-name\":\"g\",\"filename\":\"missing.img\"}}");
    CHECK(contains(reply, "\"error\""));
    qjob_string_free(reply);

    reply = exec(m, "{\"execute\":\"snapshot-delete\",\"arguments\":{\"job-id\":"
                    "\"s\",\"tag\":\"t\",\"devices\":[]}}");
    CHECK(contains(reply, "CommandNotFound"));
    qjob_string_free(reply);
    OK(qjob_set_machine(m, true));
    reply = exec(m, "{\"execute\":\"snapshot-delete\",\"arguments\":{\"job-id\":"
                    "\"s\",\"tag\":\"t\",\"devices\":[]}}");
    CHECK(!contains(reply, "CommandNotFound"));
    qjob_string_free(reply);

    OK(qjob_json_sorted(in, strlen(in), &out));
    CHECK_STR(out, "{\"a\": {\"x\": true, \"y\": null}, \"b\": [1, 2.5, "
                   "\"\\u00e9\"]}");
    qjob_string_free(out);
    CHECK_RC(qjob_json_sorted("{\"a\":", 5, &out), QJOB_INVALID_ARGUMENT);
    CHECK(out == NULL);
    /* Integers beyond 64 bits as written (Python's reading), others as usual. */
    OK(qjob_json_sorted("{\"b\": 18446744073709551616, \"a\": -1}", 36, &out));
    CHECK_STR(out, "{\"a\": -1, \"b\": 18446744073709551616}");
    qjob_string_free(out);
    /* Floats keep their value: the nearest double, written as Python's repr
     * (a reader that is not correctly rounded lands one ulp off on the first). */
    {
        const char *floats = "[-1.5432835417340557e+88, 1658206780088562.2, 1e+22]";
        OK(qjob_json_sorted(floats, strlen(floats), &out));
        CHECK_STR(out, floats);
        qjob_string_free(out);
    }
    qjob_manager_free(m);
}

/* A host-driven job from start to null: progress, pause, resume, sleep and
 * wake, rate limit, prepare, commit, clean. */
static void test_host_lifecycle(void) {
    qjob_manager *m = qjob_manager_new_empty();
    qjob_host_job_options ho;
    qjob_job_handle h = 0, h2 = 0;
    qjob_host_directive d;
    uint64_t delay = 1, deadline = 0;
    bool complete = true;
    const qjob_job_info *jobs;
    size_t n;

    OK(qjob_host_job_options_init(&ho));
    CHECK(ho.job_type == QJOB_JOB_TYPE_BACKUP);
    CHECK(ho.auto_finalize && ho.auto_dismiss && !ho.completable &&
          !ho.prepare && !ho.has_transaction && ho.speed == 0);
    ho.id = "h";
    ho.prepare = true;
    OK(qjob_create_host_job(m, &ho, &h));
    OK(qjob_job_handle_of(m, "h", &h2));
    CHECK(h == h2);
    CHECK(qjob_pending_actions(m) == 1);
    CHECK_ACTIONS(m, "start");
    CHECK(qjob_pending_actions(m) == 0);
    CHECK_EVENTS(m, "h:created h:running");

    OK(qjob_host_progress(m, h, 0, 100));
    OK(qjob_host_pause_point(m, h, &d));
    CHECK(d == QJOB_HOST_DIRECTIVE_CONTINUE);
    OK(qjob_host_progress(m, h, 40, 100));
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 1 && jobs[0].current_progress == 40 &&
          jobs[0].total_progress == 100);

    OK(qjob_job_pause(m, "h"));
    CHECK_ACTIONS(m, "pause");
    OK(qjob_host_pause_point(m, h, &d));
    CHECK(d == QJOB_HOST_DIRECTIVE_PAUSED);
    CHECK_EVENTS(m, "h:paused");
    CHECK_RC(qjob_host_progress(m, h, 50, 100), QJOB_QMP_ERROR);
    CHECK(contains(qjob_last_error_desc(m), "paused"));
    OK(qjob_job_resume(m, "h"));
    CHECK_ACTIONS(m, "resume");
    CHECK_EVENTS(m, "h:running");

    OK(qjob_host_rate_delay(m, h, 1 << 20, &delay));
    CHECK(delay == 0); /* unlimited */
    OK(qjob_block_job_set_speed(m, "h", 1 << 20));
    CHECK_ACTIONS(m, "set-speed");
    OK(qjob_host_rate_delay(m, h, 4 << 20, &delay));
    CHECK(delay > 0);
    OK(qjob_host_sleep(m, h, qjob_now(m) + delay, &d));
    CHECK(d == QJOB_HOST_DIRECTIVE_SLEEPING);
    CHECK_RC(qjob_host_progress(m, h, 60, 100), QJOB_QMP_ERROR);
    OK(qjob_next_deadline(m, &deadline));
    OK(qjob_tick(m, deadline));
    CHECK_ACTIONS(m, "wake");

    OK(qjob_host_should_complete(m, h, &complete));
    CHECK(!complete);
    OK(qjob_host_progress(m, h, 100, 100));
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    CHECK_ACTIONS(m, "prepare");
    CHECK_EVENTS(m, "h:waiting h:pending");
    OK(qjob_host_prepare_done(m, h, 0));
    OK(qjob_settle(m, NULL));
    CHECK_ACTIONS(m, "commit clean");
    CHECK_EVENTS(m, "h:BLOCK_JOB_COMPLETED h:concluded h:null");
    CHECK_RC(qjob_host_progress(m, h, 100, 100), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Job handle does not name an existing job");
    qjob_manager_free(m);
}

/* Completable host jobs, cancels, error policies, transactions, misuse. */
static void test_host_more(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_host_job_options ho;
    qjob_job_handle h, a, b;
    qjob_txn_handle t;
    qjob_host_directive d;
    qjob_host_error_action ea;
    qjob_event ev;
    bool complete = false;
    const qjob_block_job_info *bj;
    size_t n;

    /* Completable: ready, complete. */
    OK(qjob_host_job_options_init(&ho));
    ho.id = "m";
    ho.job_type = QJOB_JOB_TYPE_MIRROR;
    ho.completable = true;
    OK(qjob_create_host_job(m, &ho, &h));
    drain(m);
    CHECK_RC(qjob_job_complete(m, "m"), QJOB_QMP_ERROR);
    OK(qjob_host_ready(m, h));
    CHECK_RC(qjob_host_ready(m, h), QJOB_QMP_ERROR);
    CHECK_EVENTS(m, "m:ready m:BLOCK_JOB_READY");
    OK(qjob_job_complete(m, "m"));
    CHECK_ACTIONS(m, "complete");
    OK(qjob_host_should_complete(m, h, &complete));
    CHECK(complete);
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    drain(m);

    /* Soft cancel of a ready completable job; hard cancel of another. */
    ho.id = "m2";
    OK(qjob_create_host_job(m, &ho, &h));
    OK(qjob_host_ready(m, h));
    drain(m);
    OK(qjob_block_job_cancel(m, "m2", false));
    CHECK_ACTIONS(m, "cancel(soft)");
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    drain(m);
    ho.id = "c";
    ho.completable = false;
    ho.job_type = QJOB_JOB_TYPE_BACKUP;
    OK(qjob_create_host_job(m, &ho, &h));
    drain(m);
    OK(qjob_job_cancel(m, "c"));
    CHECK_ACTIONS(m, "cancel(force)");
    OK(qjob_host_pause_point(m, h, &d));
    CHECK(d == QJOB_HOST_DIRECTIVE_CANCELLED);
    OK(qjob_host_sleep(m, h, 1000, &d));
    CHECK(d == QJOB_HOST_DIRECTIVE_CANCELLED);
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    CHECK_ACTIONS(m, "abort clean");
    CHECK_EVENTS(m, "c:aborting c:BLOCK_JOB_CANCELLED c:concluded c:null");

    /* Error policy stop: BLOCK_JOB_ERROR, paused, io-status failed. */
    ho.id = "e";
    ho.on_target_error = QJOB_ON_ERROR_STOP;
    OK(qjob_create_host_job(m, &ho, &h));
    drain(m);
    OK(qjob_host_io_error(m, h, QJOB_IO_OPERATION_WRITE, 5, &ea));
    CHECK(ea == QJOB_HOST_ERROR_ACTION_PAUSE);
    CHECK_RC(qjob_poll_event(m, &ev), QJOB_OK);
    CHECK(ev.kind == QJOB_EVENT_KIND_BLOCK_JOB_ERROR);
    CHECK(ev.operation == QJOB_IO_OPERATION_WRITE);
    CHECK(ev.action == QJOB_ERROR_ACTION_STOP);
    CHECK_STR(ev.job_id, "e");
    OK(qjob_query_block_jobs(m, &bj, &n));
    CHECK(n == 1 && bj[0].io_status == QJOB_IO_STATUS_FAILED);
    OK(qjob_host_pause_point(m, h, &d));
    CHECK(d == QJOB_HOST_DIRECTIVE_PAUSED);
    OK(qjob_job_resume(m, "e"));
    drain(m);
    /* Error policy report: the run fails with the host's text. */
    ho.id = "r";
    ho.auto_dismiss = false;
    ho.on_target_error = QJOB_ON_ERROR_REPORT;
    OK(qjob_create_host_job(m, &ho, &a));
    drain(m);
    OK(qjob_host_io_error(m, a, QJOB_IO_OPERATION_READ, 28, &ea));
    CHECK(ea == QJOB_HOST_ERROR_ACTION_FAIL);
    OK(qjob_host_run_finished(m, a, -28, "disk full"));
    OK(qjob_settle(m, NULL));
    {
        int completed = 0;
        while (qjob_poll_event(m, &ev) == QJOB_OK) {
            if (ev.kind == QJOB_EVENT_KIND_BLOCK_JOB_COMPLETED) {
                completed = 1;
                CHECK_STR(ev.error, "disk full");
            }
        }
        CHECK(completed);
    }
    OK(qjob_job_dismiss(m, "r"));
    drain(m);

    /* A transaction of two host jobs: they finalize together. */
    OK(qjob_new_transaction(m, &t));
    OK(qjob_host_job_options_init(&ho));
    ho.has_transaction = true;
    ho.transaction = t;
    ho.id = "ta";
    OK(qjob_create_host_job(m, &ho, &a));
    ho.id = "tb";
    OK(qjob_create_host_job(m, &ho, &b));
    drain(m);
    OK(qjob_host_run_finished(m, a, 0, NULL));
    OK(qjob_settle(m, NULL));
    CHECK_EVENTS(m, "ta:waiting");
    CHECK_ACTIONS(m, "");
    OK(qjob_host_run_finished(m, b, 0, NULL));
    OK(qjob_settle(m, NULL));
    CHECK_ACTIONS(m, "commit clean commit clean");
    drain(m);
    ho.transaction = 987654321;
    CHECK_RC(qjob_create_host_job(m, &ho, &h), QJOB_QMP_ERROR);

    /* Misuse: refused, changes nothing. */
    OK(qjob_host_job_options_init(&ho));
    ho.id = "x";
    OK(qjob_create_host_job(m, &ho, &h));
    OK(qjob_host_progress(m, h, 10, 20));
    CHECK_RC(qjob_host_progress(m, h, 5, 20), QJOB_QMP_ERROR);
    CHECK(contains(qjob_last_error_desc(m), "backwards"));
    CHECK_RC(qjob_host_progress(m, h, 30, 20), QJOB_QMP_ERROR);
    CHECK_RC(qjob_host_io_error(m, h, QJOB_IO_OPERATION_READ, 0, &ea),
             QJOB_QMP_ERROR);
    CHECK_RC(qjob_host_ready(m, h), QJOB_QMP_ERROR);
    CHECK_RC(qjob_host_run_finished(m, h, 3, NULL), QJOB_QMP_ERROR);
    CHECK_RC(qjob_host_run_finished(m, h, 0, "?"), QJOB_QMP_ERROR);
    CHECK_RC(qjob_host_prepare_done(m, h, 0), QJOB_QMP_ERROR);
    CHECK_RC(qjob_create_host_job(m, &ho, &h), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR, "Job ID 'x' already in use");
    ho.id = "y";
    ho.speed = -1;
    CHECK_RC(qjob_create_host_job(m, &ho, &h), QJOB_QMP_ERROR);
    /* An internal job (no ID): no events, not in queries. */
    OK(qjob_host_job_options_init(&ho));
    OK(qjob_create_host_job(m, &ho, &h));
    drain(m);
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    CHECK(qjob_pending_events(m) == 0);
    qjob_manager_free(m);
}

/* The manager's whole state as snapshot bytes (caller frees). */
typedef struct snapshot_bytes {
    uint8_t *bytes;
    size_t len;
} snapshot_bytes;

static snapshot_bytes take_snapshot(qjob_manager *m) {
    snapshot_bytes s;
    s.bytes = NULL;
    s.len = 0;
    OK(qjob_snapshot(m, &s.bytes, &s.len));
    return s;
}

/* The manager is byte for byte as in `before` (jobs, transactions, clock,
 * queued events and host actions). */
#define CHECK_UNCHANGED(m, before)                                            \
    do {                                                                      \
        snapshot_bytes now_ = take_snapshot(m);                               \
        CHECK(now_.len == (before).len &&                                     \
              memcmp(now_.bytes, (before).bytes, now_.len) == 0);             \
        qjob_bytes_free(now_.bytes, now_.len);                                \
    } while (0)

/* qjob_transaction_in() with a JSON literal (its length by strlen). */
static qjob_result txn_in(qjob_manager *m, qjob_txn_handle t,
                          const char *json) {
    return qjob_transaction_in(m, t, json, strlen(json));
}

/* A new transaction and host job `id` in it. */
static void host_job_in_new_txn(qjob_manager *m, const char *id,
                                qjob_txn_handle *t, qjob_job_handle *h) {
    qjob_host_job_options ho;
    OK(qjob_new_transaction(m, t));
    OK(qjob_host_job_options_init(&ho));
    ho.id = id;
    ho.has_transaction = true;
    ho.transaction = *t;
    OK(qjob_create_host_job(m, &ho, h));
}

static const char BACKUP_B[] =
    "[{\"type\": \"blockdev-backup\", \"data\": {\"job-id\": \"b\", "
    "\"device\": \"src\", \"target\": \"dst\", \"sync\": \"full\"}}]";
static const char SLOW_BACKUP_B[] =
    "[{\"type\": \"blockdev-backup\", \"data\": {\"job-id\": \"b\", "
    "\"device\": \"src\", \"target\": \"dst\", \"sync\": \"full\", "
    "\"speed\": 1}}]";

/* A host job and a simulated backup in one transaction: they conclude
 * together. */
static void test_transaction_in_success(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_txn_handle t;
    qjob_job_handle h;
    const qjob_job_info *jobs;
    size_t n;

    host_job_in_new_txn(m, "h", &t, &h);
    OK(qjob_transaction_in(m, t, BACKUP_B, sizeof BACKUP_B - 1));
    OK(qjob_settle(m, NULL));
    /* The backup is done and waits for the host job, which still runs. */
    CHECK_EVENTS(m, "h:created h:running b:created b:running b:paused "
                    "b:running b:waiting");
    CHECK_ACTIONS(m, "start");
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(jobs[0].id, "b");
        CHECK(jobs[0].status == QJOB_STATUS_WAITING);
        CHECK_STR(jobs[1].id, "h");
        CHECK(jobs[1].status == QJOB_STATUS_RUNNING);
    }

    /* The host job ends: both finalize together, the newest member first. */
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    CHECK_EVENTS(m, "h:waiting b:pending h:pending b:BLOCK_JOB_COMPLETED "
                    "b:concluded b:null h:BLOCK_JOB_COMPLETED h:concluded "
                    "h:null");
    CHECK_ACTIONS(m, "commit clean");
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 0);

    /* The transaction is gone with its members. */
    CHECK_RC(txn_in(m, t, BACKUP_B), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Transaction handle does not name an existing transaction");
    qjob_manager_free(m);
}

/* The host job fails: the simulated backup in its transaction is aborted. */
static void test_transaction_in_failure(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_txn_handle t;
    qjob_job_handle h;
    qjob_event ev;
    const qjob_job_info *jobs;
    size_t n;

    host_job_in_new_txn(m, "h", &t, &h);
    OK(txn_in(m, t, SLOW_BACKUP_B));
    OK(qjob_settle(m, NULL));
    drain(m);
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 2);
    if (n == 2) CHECK(jobs[0].status == QJOB_STATUS_RUNNING);

    OK(qjob_host_run_finished(m, h, -5, "disk on fire"));
    OK(qjob_settle(m, NULL));
    /* Checked one by one first: the host job completes with its error. */
    OK(qjob_poll_event(m, &ev));
    CHECK_STR(ev.job_id, "h");
    CHECK(ev.kind == QJOB_EVENT_KIND_JOB_STATUS_CHANGE &&
          ev.status == QJOB_STATUS_ABORTING);
    CHECK_EVENTS(m, "b:aborting b:BLOCK_JOB_CANCELLED b:concluded b:null "
                    "h:BLOCK_JOB_COMPLETED h:concluded h:null");
    CHECK_ACTIONS(m, "abort clean");
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 0);

    /* The transaction is gone with its members; no job joins it. */
    CHECK_RC(txn_in(m, t, BACKUP_B), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Transaction handle does not name an existing transaction");
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 0);

    /* An action refused after another was prepared rolls that one back:
     * its job is cancelled, which fails the transaction and its members. */
    host_job_in_new_txn(m, "h", &t, &h);
    drain(m);
    CHECK_RC(txn_in(m, t,
                    "[{\"type\": \"blockdev-backup\", \"data\": {\"job-id\": "
                    "\"b\", \"device\": \"src\", \"target\": \"dst\", "
                    "\"sync\": \"full\"}}, {\"type\": \"blockdev-backup\", "
                    "\"data\": {\"job-id\": \"c\", \"device\": \"nope\", "
                    "\"target\": \"dst\", \"sync\": \"full\"}}]"),
             QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Cannot find device='nope' nor node-name='nope'");
    CHECK_EVENTS(m, "b:created b:aborting b:concluded b:null");
    CHECK_ACTIONS(m, "cancel(force)");
    CHECK_RC(txn_in(m, t, "[]"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "The transaction has failed and takes no new jobs");
    qjob_manager_free(m);
}

/* Misuse of qjob_transaction_in(): refused, the manager unchanged. */
static void test_transaction_in_misuse(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_host_job_options ho;
    qjob_txn_handle t, gone;
    qjob_job_handle h;
    snapshot_bytes before;
    const qjob_job_info *jobs;
    size_t n;
    static const char *const BAD_JSON[] = {
        "", "[", "[1,]", "[] []", "nope", "[{\"a\": 1, \"a\": 2}]",
    };
    static const char *const NOT_ARRAY[] = {
        "{}", "{\"type\": \"abort\", \"data\": {}}", "null", "\"[]\"", "7",
    };
    size_t i;

    /* A live transaction with a running host job in it, and a stale handle
     * of a transaction that is gone. */
    OK(qjob_new_transaction(m, &gone));
    OK(qjob_host_job_options_init(&ho));
    ho.id = "g";
    ho.has_transaction = true;
    ho.transaction = gone;
    OK(qjob_create_host_job(m, &ho, &h));
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    OK(qjob_new_transaction(m, &t));
    CHECK(t != gone);
    ho.id = "h";
    ho.transaction = t;
    OK(qjob_create_host_job(m, &ho, &h));
    OK(qjob_host_progress(m, h, 10, 100));
    before = take_snapshot(m);
    CHECK(qjob_pending_events(m) > 0 && qjob_pending_actions(m) > 0);

    /* NULL pointers and bytes that are not UTF-8. */
    CHECK_RC(qjob_transaction_in(NULL, t, BACKUP_B, sizeof BACKUP_B - 1),
             QJOB_NULL_ARGUMENT);
    CHECK_RC(qjob_transaction_in(m, t, NULL, 0), QJOB_NULL_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'actions_json' is NULL");
    CHECK_RC(qjob_transaction_in(m, t, NULL, 5), QJOB_NULL_ARGUMENT);
    CHECK_UNCHANGED(m, before);
    CHECK_RC(qjob_transaction_in(m, t, INVALID, strlen(INVALID)),
             QJOB_INVALID_UTF8);
    check_error(m, QJOB_ERROR_CLASS_NONE, "'actions_json' is not valid UTF-8");
    CHECK_UNCHANGED(m, before);

    /* Bad JSON, and JSON that is not an array. */
    for (i = 0; i < sizeof BAD_JSON / sizeof BAD_JSON[0]; i++) {
        CHECK_RC(txn_in(m, t, BAD_JSON[i]), QJOB_INVALID_ARGUMENT);
        CHECK(qjob_last_error_class(m) == QJOB_ERROR_CLASS_NONE);
        CHECK(contains(qjob_last_error_desc(m),
                       "'actions_json' is not one JSON value: "
                       "JSON parse error"));
        CHECK_UNCHANGED(m, before);
    }
    CHECK_RC(txn_in(m, t, "[1,]"), QJOB_INVALID_ARGUMENT);
    check_error(m, QJOB_ERROR_CLASS_NONE,
                "'actions_json' is not one JSON value: "
                "JSON parse error, expecting value");
    for (i = 0; i < sizeof NOT_ARRAY / sizeof NOT_ARRAY[0]; i++) {
        CHECK_RC(txn_in(m, t, NOT_ARRAY[i]), QJOB_INVALID_ARGUMENT);
        check_error(m, QJOB_ERROR_CLASS_NONE,
                    "'actions_json' must be a JSON array of transaction "
                    "actions");
        CHECK_UNCHANGED(m, before);
    }
    /* Only `len` bytes are read: a valid prefix is not enough. */
    CHECK_RC(qjob_transaction_in(m, t, BACKUP_B, sizeof BACKUP_B - 2),
             QJOB_INVALID_ARGUMENT);
    CHECK_UNCHANGED(m, before);

    /* A stale transaction handle, and one that never existed. */
    CHECK_RC(txn_in(m, gone, BACKUP_B), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Transaction handle does not name an existing transaction");
    CHECK_UNCHANGED(m, before);
    CHECK_RC(txn_in(m, 987654321, "[]"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Transaction handle does not name an existing transaction");
    CHECK_UNCHANGED(m, before);

    /* Invalid actions: QEMU's argument errors, before anything happens. */
    CHECK_RC(txn_in(m, t, "[{\"type\": \"frob\", \"data\": {}}]"),
             QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Parameter 'type' does not accept value 'frob'");
    CHECK_UNCHANGED(m, before);
    CHECK_RC(txn_in(m, t, "[1]"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Invalid parameter type for 'actions[0]', expected: object");
    CHECK_UNCHANGED(m, before);
    CHECK_RC(txn_in(m, t, "[{\"type\": \"blockdev-backup\", \"data\": "
                          "{\"device\": \"src\"}}]"),
             QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Parameter 'actions[0].data.sync' is missing");
    CHECK_UNCHANGED(m, before);
    CHECK_RC(txn_in(m, gone, "[{\"type\": \"abort\"}]"), QJOB_QMP_ERROR);
    check_error(m, QJOB_ERROR_CLASS_GENERIC_ERROR,
                "Parameter 'actions[0].data' is missing");
    CHECK_UNCHANGED(m, before);

    /* Still usable: the host job goes on, a valid call works. */
    OK(qjob_host_progress(m, h, 20, 100));
    OK(qjob_transaction_in(m, t, BACKUP_B, sizeof BACKUP_B - 1));
    OK(qjob_settle(m, NULL));
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 0);
    qjob_bytes_free(before.bytes, before.len);
    qjob_manager_free(m);
}

/* Snapshot mid-job; the restored manager goes on byte-identically. */
static void test_snapshot(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_manager *r = qjob_manager_new_empty();
    qjob_manager *j = qjob_manager_new_empty();
    uint8_t *bytes = NULL;
    size_t len = 0;
    char *json = NULL, *a = NULL, *b = NULL;
    uint64_t d;
    qjob_job_handle h;
    qjob_host_job_options ho;

    exec_ok(m, "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":"
               "\"s\",\"device\":\"src\",\"target\":\"dst\",\"sync\":\"full\","
               "\"speed\":4194304}}");
    OK(qjob_host_job_options_init(&ho));
    ho.id = "hj";
    OK(qjob_create_host_job(m, &ho, &h));
    OK(qjob_settle(m, NULL));
    OK(qjob_snapshot(m, &bytes, &len));
    CHECK(bytes != NULL && len > 12 && memcmp(bytes, "QJOBSNAP", 8) == 0);
    OK(qjob_snapshot_json(m, &json));
    CHECK(contains(json, "qjob-snapshot"));
    OK(qjob_restore(r, bytes, len));
    OK(qjob_restore_json(j, json, strlen(json)));
    CHECK(qjob_now(r) == qjob_now(m));
    CHECK(qjob_pending_events(r) == qjob_pending_events(m));
    CHECK(qjob_pending_actions(j) == qjob_pending_actions(m));

    /* Drive all three the same way; every event must be the same. */
    while (qjob_next_deadline(m, &d) == QJOB_OK) {
        OK(qjob_tick(m, d));
        OK(qjob_tick(r, d));
        OK(qjob_tick(j, d));
    }
    OK(qjob_host_run_finished(m, h, 0, NULL));
    OK(qjob_host_run_finished(r, h, 0, NULL));
    OK(qjob_host_run_finished(j, h, 0, NULL));
    OK(qjob_settle(m, NULL));
    OK(qjob_settle(r, NULL));
    OK(qjob_settle(j, NULL));
    for (;;) {
        qjob_result ra = qjob_poll_event_json(m, &a);
        qjob_result rb = qjob_poll_event_json(r, &b);
        CHECK(ra == rb);
        if (ra != QJOB_OK || rb != QJOB_OK) {
            qjob_string_free(a);
            qjob_string_free(b);
            break;
        }
        CHECK_STR(b, a);
        qjob_string_free(a);
        qjob_string_free(b);
        OK(qjob_poll_event_json(j, &b));
        qjob_string_free(b);
    }
    CHECK(qjob_pending_events(j) == 0);

    /* Bad snapshots: refused, the manager unchanged. */
    bytes[8] = 99; /* another format version */
    CHECK_RC(qjob_restore(r, bytes, len), QJOB_SNAPSHOT_ERROR);
    CHECK(contains(qjob_last_error_desc(r), "version 99"));
    CHECK_RC(qjob_restore(r, bytes, 5), QJOB_SNAPSHOT_ERROR);
    CHECK(contains(qjob_last_error_desc(r), "not a qjob snapshot"));
    CHECK_RC(qjob_restore_json(r, "{}", 2), QJOB_SNAPSHOT_ERROR);
    CHECK_RC(qjob_restore_json(r, "[", 1), QJOB_SNAPSHOT_ERROR);
    CHECK(qjob_now(r) == qjob_now(m));
    qjob_bytes_free(bytes, len);
    qjob_string_free(json);
    qjob_manager_free(m);
    qjob_manager_free(r);
    qjob_manager_free(j);
}

/* Borrowed strings live until the next non-const call; getters keep them. */
static void test_borrowed_lifetimes(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_event ev;
    const qjob_job_info *jobs;
    size_t n;
    uint64_t d;
    const char *desc;

    exec_ok(m, "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":"
               "\"long-job-name-to-see-the-copy\",\"device\":\"src\","
               "\"target\":\"dst\",\"sync\":\"full\",\"speed\":1}}");
    OK(qjob_poll_event(m, &ev));
    /* const getters in between keep the event's strings valid */
    (void)qjob_now(m);
    (void)qjob_pending_events(m);
    (void)qjob_next_deadline(m, &d);
    CHECK_STR(ev.job_id, "long-job-name-to-see-the-copy");
    OK(qjob_query_jobs(m, &jobs, &n));
    CHECK(n == 1);
    CHECK_STR(jobs[0].id, "long-job-name-to-see-the-copy");
    CHECK_RC(qjob_job_finalize(m, "zz"), QJOB_QMP_ERROR);
    desc = qjob_last_error_desc(m);
    (void)qjob_last_error_class(m);
    CHECK_STR(desc, "Job not found");
    qjob_manager_free(m);
}

/* A system emulator's quit: SHUTDOWN, then the export's BLOCK_EXPORT_DELETED
 * (its ID in job_id). */
static void test_shutdown_and_export_events(void) {
    qjob_manager *m = qjob_manager_new();
    qjob_event ev;

    OK(qjob_set_machine(m, true));
    exec_ok(m, "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":"
               "{\"type\":\"unix\",\"data\":{\"path\":\"nbd.sock\"}}}}");
    exec_ok(m, "{\"execute\":\"block-export-add\",\"arguments\":{\"type\":"
               "\"nbd\",\"id\":\"e0\",\"node-name\":\"src\"}}");
    exec_ok(m, "{\"execute\":\"quit\"}");
    OK(qjob_poll_event(m, &ev));
    CHECK(ev.kind == QJOB_EVENT_KIND_SHUTDOWN);
    CHECK_STR(ev.name, "SHUTDOWN");
    CHECK_STR(ev.job_id, "");
    OK(qjob_poll_event(m, &ev));
    CHECK(ev.kind == QJOB_EVENT_KIND_BLOCK_EXPORT_DELETED);
    CHECK_STR(ev.job_id, "e0");
    CHECK_RC(qjob_poll_event(m, &ev), QJOB_EMPTY);
    qjob_manager_free(m);
}

/* A manager reproducing QEMU 10.0: block-job-change exists (7.2's does
 * not), and query-block-jobs gives a mirror's actively-synced. */
static void test_qemu_10_0(void) {
    CHECK(qjob_manager_new_with_version(NULL) == NULL);
    CHECK(qjob_manager_new_with_version("9.2") == NULL);
    qjob_manager *old = qjob_manager_new_with_version("7.2");
    CHECK(old != NULL);
    char *r = exec(old, "{\"execute\":\"block-job-change\",\"arguments\":{\"id\":\"m\",\"type\":\"mirror\",\"copy-mode\":\"write-blocking\"}}");
    CHECK(strstr(r, "CommandNotFound") != NULL);
    qjob_string_free(r);
    qjob_manager_free(old);
    qjob_manager *m = qjob_manager_new_with_version("10.0");
    CHECK(m != NULL);
    exec_ok(m, "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":\"m\",\"device\":\"src\",\"target\":\"dst\",\"sync\":\"full\",\"speed\":1}}");
    exec_ok(m, "{\"execute\":\"block-job-change\",\"arguments\":{\"id\":\"m\",\"type\":\"mirror\",\"copy-mode\":\"write-blocking\"}}");
    r = exec(m, "{\"execute\":\"block-job-change\",\"arguments\":{\"id\":\"m\",\"type\":\"mirror\",\"copy-mode\":\"background\"}}");
    CHECK(strstr(r, "Change to copy mode 'background' is not implemented") != NULL);
    qjob_string_free(r);
    r = exec(m, "{\"execute\":\"query-block-jobs\"}");
    CHECK(strstr(r, "\"actively-synced\":false") != NULL);
    qjob_string_free(r);
    qjob_manager_free(m);
}

int main(void) {
    test_qemu_10_0();
    test_version_and_names();
    test_null_arguments();
    test_invalid_utf8_and_enums();
    test_unknown_ids();
    test_drive_add();
    test_typed_backup_lifecycle();
    test_typed_mirror_lifecycle();
    test_json_lifecycle();
    test_transcript_lines();
    test_clock();
    test_world_and_json();
    test_host_lifecycle();
    test_host_more();
    test_transaction_in_success();
    test_transaction_in_failure();
    test_transaction_in_misuse();
    test_snapshot();
    test_borrowed_lifetimes();
    test_shutdown_and_export_events();
    if (failures) {
        fprintf(stderr, "qjob C tests: %d of %d checks FAILED\n", failures,
                checks);
        return 1;
    }
    printf("qjob C tests: all %d checks passed\n", checks);
    return 0;
}
