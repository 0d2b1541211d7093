/*
 * bench: the cost of the C API beside the Rust API.
 *
 *   bench [--check] [RUST_BENCH]
 *
 * Measures, through qjob.h, a pause+resume pair (job_pause, job_resume,
 * events drained) and a full backup lifecycle (create, settle to null,
 * events drained) through the typed API and through QMP JSON. With
 * RUST_BENCH (the `bench_rust` example of this crate: the same loops
 * through the core's Rust API), it runs that too and prints both side by
 * side with the ratio. With --check it exits 1 when C costs more than 1.2x
 * Rust on any line.
 *
 * Each figure is the best batch of 10000 iterations (ns per iteration) over
 * 6 rounds of 5 batches; C and Rust rounds alternate, so that a change in the
 * machine's load hits both sides alike.
 */
#define _POSIX_C_SOURCE 200809L
#include "qjob.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCHES 5
#define ITERS 10000
#define ROUNDS 6
#define GOAL 1.2

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void must(qjob_result rc, const char *what) {
    if (rc != QJOB_OK) {
        fprintf(stderr, "bench: %s: %s\n", what, qjob_result_name((uint32_t)rc));
        exit(2);
    }
}

static void drain(qjob_manager *m) {
    qjob_event ev;
    while (qjob_poll_event(m, &ev) == QJOB_OK) {}
}

typedef void (*body_fn)(qjob_manager *m, const void *arg);

/* Best batch, in ns per iteration. */
static double measure(qjob_manager *m, body_fn f, const void *arg) {
    double best = INFINITY;
    int b, i;
    for (i = 0; i < ITERS / 10; i++) f(m, arg);
    for (b = 0; b < BATCHES; b++) {
        double t = now_s();
        for (i = 0; i < ITERS; i++) f(m, arg);
        t = (now_s() - t) * 1e9 / ITERS;
        if (t < best) best = t;
    }
    return best;
}

static void pause_resume(qjob_manager *m, const void *arg) {
    (void)arg;
    must(qjob_job_pause(m, "p"), "job_pause");
    must(qjob_job_resume(m, "p"), "job_resume");
    drain(m);
}

static void lifecycle_typed(qjob_manager *m, const void *arg) {
    must(qjob_blockdev_backup(m, (const qjob_backup_options *)arg), "blockdev_backup");
    must(qjob_settle(m, NULL), "settle");
    drain(m);
}

static const char BACKUP_JSON[] =
    "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":\"b0\",\"device\":\"src\","
    "\"target\":\"dst\",\"sync\":\"full\"}}";

static void lifecycle_json(qjob_manager *m, const void *arg) {
    char *reply = NULL;
    (void)arg;
    must(qjob_execute(m, BACKUP_JSON, sizeof BACKUP_JSON - 1, &reply), "execute");
    qjob_string_free(reply);
    must(qjob_settle(m, NULL), "settle");
    drain(m);
}

typedef struct {
    const char *name, *what;
    double c, rust;
} row;

int main(int argc, char **argv) {
    row rows[3] = {
        {"pause+resume", "pause+resume pair (typed, events drained)", 0, 0},
        {"lifecycle-typed", "backup lifecycle, typed API (create to null)", 0, 0},
        {"lifecycle-json", "backup lifecycle, QMP JSON (create to null)", 0, 0},
    };
    const char *rust = NULL;
    int check = 0, i, round, failed = 0;
    qjob_manager *m;
    qjob_backup_options bo;
    char *reply = NULL;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check")) check = 1;
        else rust = argv[i];
    }

    for (round = 0; round < ROUNDS; round++) {
        double t;
        m = qjob_manager_new();
        {
            static const char hold[] =
                "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":\"p\",\"device\":\"src\","
                "\"target\":\"dst\",\"sync\":\"full\",\"speed\":1}}";
            must(qjob_execute(m, hold, sizeof hold - 1, &reply), "execute");
            qjob_string_free(reply);
        }
        must(qjob_settle(m, NULL), "settle");
        drain(m);
        t = measure(m, pause_resume, NULL);
        if (round == 0 || t < rows[0].c) rows[0].c = t;
        qjob_manager_free(m);

        m = qjob_manager_new();
        must(qjob_backup_options_init(&bo), "options");
        bo.job.job_id = "b0";
        bo.device = "src";
        bo.target = "dst";
        t = measure(m, lifecycle_typed, &bo);
        if (round == 0 || t < rows[1].c) rows[1].c = t;
        qjob_manager_free(m);

        m = qjob_manager_new();
        t = measure(m, lifecycle_json, NULL);
        if (round == 0 || t < rows[2].c) rows[2].c = t;
        qjob_manager_free(m);

        if (rust) {
            char line[256];
            FILE *p = popen(rust, "r");
            if (!p) { perror(rust); return 2; }
            while (fgets(line, sizeof line, p)) {
                char name[64];
                double v;
                if (sscanf(line, "%63s %lf", name, &v) == 2)
                    for (i = 0; i < 3; i++)
                        if (!strcmp(name, rows[i].name) && (rows[i].rust == 0 || v < rows[i].rust))
                            rows[i].rust = v;
            }
            if (pclose(p) != 0) { fprintf(stderr, "bench: %s failed\n", rust); return 2; }
        }
    }

    printf("%-46s %10s %10s %7s\n", "ns per iteration (best batch of 10000)", "C API",
           rust ? "Rust API" : "", rust ? "C/Rust" : "");
    for (i = 0; i < 3; i++) {
        if (rust && rows[i].rust > 0) {
            double ratio = rows[i].c / rows[i].rust;
            printf("%-46s %10.1f %10.1f %6.2fx\n", rows[i].what, rows[i].c, rows[i].rust, ratio);
            if (ratio > GOAL) failed = 1;
        } else {
            printf("%-46s %10.1f\n", rows[i].what, rows[i].c);
        }
    }
    if (rust)
        printf("goal C <= %.1fx Rust: %s\n", GOAL, failed ? "NOT met" : "met");
    return check && failed ? 1 : 0;
}
