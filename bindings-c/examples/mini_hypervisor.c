/*
 * mini_hypervisor: how a C hypervisor embeds qjob.
 *
 *   mini_hypervisor [--chunk BYTES] [--speed BYTES_PER_S] SOURCE TARGET
 *
 * Copies the file SOURCE to TARGET in chunks as a host-driven backup job
 * named "copy0": this program does the I/O, qjob runs QEMU 7.2's job
 * lifecycle around it (statuses, events, pause/resume/cancel, the rate
 * limiter, finalization). The copy goes to TARGET.part and is renamed to
 * TARGET when the job commits, or removed when it aborts.
 *
 * It has its own event loop (poll(2) on stdin with the timeout qjob asks
 * for) and maps qjob's virtual clock onto real monotonic time. Standard input
 * takes one command per line: QMP JSON (`{"execute": "query-jobs"}`) or the
 * shorthands `pause`, `resume`, `cancel`, `query-jobs`, `query-block-jobs`
 * (for the job "copy0"). Replies and QMP events are printed on standard
 * output as JSON lines, as a QMP monitor shows them; progress notes go to
 * standard error. The program exits when the job is gone: status 0 if the
 * copy committed, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include "qjob.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JOB_ID "copy0"

/* The host side of the job: what its coroutine is doing. */
typedef enum {
    CO_WAITING_START, /* created; the core has not asked to start yet */
    CO_RUNNING,       /* the host holds the coroutine: it does a chunk */
    CO_PAUSED,        /* parked at a pause point until a resume action */
    CO_SLEEPING,      /* sleeping on the rate limiter until a wake action */
    CO_FINISHED       /* the run ended (qjob_host_run_finished) */
} co_state;

typedef struct {
    qjob_manager *m;
    qjob_job_handle job;
    co_state co;
    int src, dst;
    char *part, *target;
    unsigned long long size, done;
    size_t chunk;
    char *buf;
    int committed, gone;
    struct timespec t0;
} vm;

static void die(const char *what) {
    fprintf(stderr, "mini_hypervisor: %s\n", what);
    exit(2);
}

static void check(vm *v, qjob_result rc, const char *what) {
    if (rc != QJOB_OK) {
        fprintf(stderr, "mini_hypervisor: %s: %s: %s\n", what, qjob_result_name((uint32_t)rc),
                qjob_last_error_desc(v->m));
        exit(2);
    }
}

/* Virtual time = real time since start, in ns. */
static uint64_t now_ns(const vm *v) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)(t.tv_sec - v->t0.tv_sec) * 1000000000u + (uint64_t)t.tv_nsec -
           (uint64_t)v->t0.tv_nsec;
}

/* Prints every queued QMP event; notes when our job is gone. */
static void print_events(vm *v) {
    char *json;
    qjob_job_handle h;
    while (qjob_poll_event_json(v->m, &json) == QJOB_OK) {
        printf("%s\n", json);
        qjob_string_free(json);
    }
    fflush(stdout);
    if (qjob_job_handle_of(v->m, JOB_ID, &h) == QJOB_NOT_FOUND) v->gone = 1;
}

/* Ends the job's run: `ret` is 0 or a negative errno. */
static void finish_run(vm *v, int ret, const char *error) {
    check(v, qjob_host_run_finished(v->m, v->job, ret, error), "run finished");
    v->co = CO_FINISHED;
}

/* After a chunk (or an error retry): QEMU's job_pause_point. */
static void pause_point(vm *v) {
    qjob_host_directive d;
    check(v, qjob_host_pause_point(v->m, v->job, &d), "pause point");
    if (d == QJOB_HOST_DIRECTIVE_PAUSED) {
        v->co = CO_PAUSED;
        fprintf(stderr, "[host] paused at %llu of %llu bytes\n", v->done, v->size);
    } else if (d == QJOB_HOST_DIRECTIVE_CANCELLED) {
        fprintf(stderr, "[host] cancelled at %llu bytes\n", v->done);
        finish_run(v, 0, NULL);
    }
}

/* An I/O error: the job's error policy decides. */
static void io_error(vm *v, uint32_t op, int err) {
    qjob_host_error_action a;
    check(v, qjob_host_io_error(v->m, v->job, op, err, &a), "io error");
    if (a == QJOB_HOST_ERROR_ACTION_FAIL) {
        finish_run(v, -err, strerror(err));
    } else {
        pause_point(v); /* retry (ignore) or park (stop) */
    }
}

/* One unit of the job's work: copy a chunk, report, yield. */
static void do_chunk(vm *v) {
    ssize_t n = read(v->src, v->buf, v->chunk);
    uint64_t delay = 0;
    if (n < 0) { io_error(v, QJOB_IO_OPERATION_READ, errno); return; }
    if (n == 0) { /* end of the source: the run is over */
        if (fsync(v->dst) != 0) { io_error(v, QJOB_IO_OPERATION_WRITE, errno); return; }
        finish_run(v, 0, NULL);
        return;
    }
    if (write(v->dst, v->buf, (size_t)n) != n) {
        int err = errno ? errno : ENOSPC;
        if (lseek(v->src, -(off_t)n, SEEK_CUR) < 0) die("lseek");
        io_error(v, QJOB_IO_OPERATION_WRITE, err);
        return;
    }
    v->done += (unsigned long long)n;
    check(v, qjob_host_progress(v->m, v->job, v->done,
                                v->size > v->done ? v->size : v->done), "progress");
    /* The rate limiter: sleep if the job's speed asks for it. */
    check(v, qjob_host_rate_delay(v->m, v->job, (uint64_t)n, &delay), "rate delay");
    if (delay > 0) {
        qjob_host_directive d;
        check(v, qjob_host_sleep(v->m, v->job, now_ns(v) + delay, &d), "sleep");
        if (d == QJOB_HOST_DIRECTIVE_SLEEPING) v->co = CO_SLEEPING;
        else if (d == QJOB_HOST_DIRECTIVE_PAUSED) v->co = CO_PAUSED;
        else if (d == QJOB_HOST_DIRECTIVE_CANCELLED) finish_run(v, 0, NULL);
        return;
    }
    pause_point(v);
}

/* What the core asks of the job. */
static void handle_actions(vm *v) {
    qjob_action a;
    while (qjob_poll_action(v->m, &a) == QJOB_OK) {
        switch (a.kind) {
        case QJOB_ACTION_KIND_START:
        case QJOB_ACTION_KIND_RESUME:
        case QJOB_ACTION_KIND_WAKE:
            if (v->co != CO_FINISHED) v->co = CO_RUNNING;
            break;
        case QJOB_ACTION_KIND_PAUSE:  /* we reach a pause point after each chunk */
        case QJOB_ACTION_KIND_CANCEL: /* ... where the cancel shows too */
        case QJOB_ACTION_KIND_COMPLETE:
        case QJOB_ACTION_KIND_PREPARE:
            break;
        case QJOB_ACTION_KIND_SET_SPEED:
            fprintf(stderr, "[host] speed is now %llu bytes/s\n", (unsigned long long)a.speed);
            break;
        case QJOB_ACTION_KIND_COMMIT:
            if (rename(v->part, v->target) != 0) perror("rename");
            else v->committed = 1;
            fprintf(stderr, "[host] commit: %s complete (%llu bytes)\n", v->target, v->done);
            break;
        case QJOB_ACTION_KIND_ABORT:
            unlink(v->part);
            fprintf(stderr, "[host] abort: %s removed\n", v->part);
            break;
        case QJOB_ACTION_KIND_CLEAN:
            close(v->src);
            close(v->dst);
            v->src = v->dst = -1;
            break;
        }
    }
}

/* One line of standard input: a shorthand or QMP JSON. */
static void handle_command(vm *v, const char *line) {
    const char *json = line;
    char *reply = NULL;
    qjob_result rc;
    if (!strcmp(line, "pause")) json = "{\"execute\":\"job-pause\",\"arguments\":{\"id\":\"" JOB_ID "\"}}";
    else if (!strcmp(line, "resume")) json = "{\"execute\":\"job-resume\",\"arguments\":{\"id\":\"" JOB_ID "\"}}";
    else if (!strcmp(line, "cancel")) json = "{\"execute\":\"job-cancel\",\"arguments\":{\"id\":\"" JOB_ID "\"}}";
    else if (!strcmp(line, "query-jobs")) json = "{\"execute\":\"query-jobs\"}";
    else if (!strcmp(line, "query-block-jobs")) json = "{\"execute\":\"query-block-jobs\"}";
    else if (line[0] != '{') {
        fprintf(stderr, "[host] unknown command '%s' (pause, resume, cancel, query-jobs, "
                        "query-block-jobs, or QMP JSON)\n", line);
        return;
    }
    rc = qjob_execute(v->m, json, strlen(json), &reply);
    if (rc != QJOB_OK && rc != QJOB_QMP_ERROR) check(v, rc, "execute");
    printf("%s\n", reply);
    qjob_string_free(reply);
}

/* Reads what is available on stdin; runs complete lines. Returns 0 at EOF. */
static int read_stdin(vm *v, char *line, size_t cap, size_t *len) {
    char c[4096];
    ssize_t n = read(STDIN_FILENO, c, sizeof c), i;
    if (n <= 0) return 0;
    for (i = 0; i < n; i++) {
        if (c[i] == '\n') {
            line[*len] = '\0';
            while (*len > 0 && (line[*len - 1] == '\r' || line[*len - 1] == ' ')) line[--*len] = '\0';
            if (*len > 0) handle_command(v, line);
            *len = 0;
        } else if (*len + 1 < cap) {
            line[(*len)++] = c[i];
        }
    }
    return 1;
}

int main(int argc, char **argv) {
    vm v;
    qjob_host_job_options o;
    struct stat st;
    char line[8192];
    size_t line_len = 0;
    long long speed = 0;
    int i, stdin_open = 1;
    const char *src = NULL, *dst = NULL;

    memset(&v, 0, sizeof v);
    v.chunk = 1 << 20;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--chunk") && i + 1 < argc) v.chunk = (size_t)strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--speed") && i + 1 < argc) speed = strtoll(argv[++i], NULL, 10);
        else if (!src) src = argv[i];
        else if (!dst) dst = argv[i];
        else src = NULL, i = argc;
    }
    if (!src || !dst || v.chunk == 0) {
        fputs("usage: mini_hypervisor [--chunk BYTES] [--speed BYTES_PER_S] SOURCE TARGET\n", stderr);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &v.t0);
    v.src = open(src, O_RDONLY);
    if (v.src < 0 || fstat(v.src, &st) != 0) { perror(src); return 2; }
    v.size = (unsigned long long)st.st_size;
    v.target = (char *)dst;
    v.part = (char *)malloc(strlen(dst) + 6);
    v.buf = (char *)malloc(v.chunk);
    if (!v.part || !v.buf) die("out of memory");
    sprintf(v.part, "%s.part", dst);
    v.dst = open(v.part, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (v.dst < 0) { perror(v.part); return 2; }

    v.m = qjob_manager_new_empty();
    if (!v.m) die("qjob_manager_new_empty failed");
    check(&v, qjob_host_job_options_init(&o), "options");
    o.id = JOB_ID;
    o.job_type = QJOB_JOB_TYPE_BACKUP;
    o.speed = speed;
    check(&v, qjob_create_host_job(v.m, &o, &v.job), "create job");
    fprintf(stderr, "[host] copying %s (%llu bytes) to %s as job '%s'\n", src, v.size, dst, JOB_ID);

    /* The event loop. */
    while (!v.gone) {
        struct pollfd p;
        uint64_t deadline, now;
        int timeout = -1;

        check(&v, qjob_tick(v.m, now_ns(&v)), "tick");
        handle_actions(&v);
        if (v.co == CO_RUNNING) do_chunk(&v);
        check(&v, qjob_settle(v.m, NULL), "settle");
        handle_actions(&v);
        print_events(&v);
        if (v.gone) break;

        /* Sleep until stdin has input or qjob's next deadline. */
        if (v.co == CO_RUNNING || qjob_has_ready_work(v.m) || qjob_pending_actions(v.m) > 0) {
            timeout = 0;
        } else if (qjob_next_deadline(v.m, &deadline) == QJOB_OK) {
            now = now_ns(&v);
            timeout = deadline <= now ? 0 : (int)((deadline - now + 999999) / 1000000);
        } else if (!stdin_open) {
            fputs("[host] nothing left to do and no input: the job is stuck\n", stderr);
            break;
        }
        p.fd = STDIN_FILENO;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, stdin_open ? 1 : 0, timeout) > 0 && (p.revents & (POLLIN | POLLHUP)))
            stdin_open = read_stdin(&v, line, sizeof line, &line_len);
    }
    fprintf(stderr, "[host] job '%s' is gone: %s\n", JOB_ID, v.committed ? "copy committed" : "copy not committed");
    if (v.src >= 0) close(v.src);
    if (v.dst >= 0) close(v.dst);
    free(v.part);
    free(v.buf);
    qjob_manager_free(v.m);
    return v.committed ? 0 : 1;
}
