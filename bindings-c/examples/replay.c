/*
 * replay: the scenario replayer of scenarios/README.md, written
 * against qjob's C API only. Its transcripts are byte-identical to the Rust
 * replayer's (`cargo run -p qjob --example replay -- FILE`).
 *
 *   replay [--qemu 7.2|10.0] SCENARIO...
 *
 * Replays each scenario on a fresh default world (reproducing QEMU 7.2, or the
 * version --qemu names: qjob_manager_new_with_version()) and prints its
 * transcript; with several files, each transcript is preceded by a `# FILE`
 * line.
 *
 * The C side reads scenario lines with a small JSON reader of its own and
 * drives the manager; everything about jobs is the library's. Transcript JSON
 * (sorted keys, Python's spacing and escaping) comes from the library:
 * qjob_json_sorted() for the commands read from the scenario, and
 * qjob_last_reply_line() / qjob_last_event_line() for what the library
 * answered, so nothing it wrote is read back.
 */
#include "qjob.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far a wait may move virtual time: 30 s, the recorder's limit. */
#define WAIT_LIMIT_NS 30000000000ull

/* ------------------------------------------------------------------ */
/* A growable byte buffer                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void die_oom(void) {
    fputs("replay: out of memory\n", stderr);
    exit(70);
}

static void buf_add(buf_t *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap) cap *= 2;
        b->p = (char *)realloc(b->p, cap);
        if (!b->p) die_oom();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

/* ------------------------------------------------------------------ */
/* A small JSON reader: enough to read scenario lines and event JSON.   */
/* Each value keeps its raw text span (to hand to qjob_json_sorted()).  */
/* ------------------------------------------------------------------ */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jval {
    int type;
    const char *raw; /* the value's text */
    size_t raw_len;
    char *str; /* J_STR: decoded UTF-8 (NUL-terminated) */
    size_t str_len;
    size_t n; /* J_ARR / J_OBJ: number of items */
    struct jval *items;
    char **keys; /* J_OBJ: decoded keys */
} jval;

typedef struct {
    const char *p, *end;
    const char *err;
    int depth;
} jparser;

static void jfree(jval *v) {
    size_t i;
    if (!v) return;
    free(v->str);
    for (i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void jws(jparser *ps) {
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int jfail(jparser *ps, const char *msg) {
    if (!ps->err) ps->err = msg;
    return 0;
}

static int hex4(const char *s, unsigned *out) {
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static void put_utf8(buf_t *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_add(b, u, n);
}

/* Reads a string at ps->p (the opening quote) into *out (decoded). */
static int jstring(jparser *ps, char **out, size_t *out_len) {
    buf_t b = {0, 0, 0};
    ps->p++; /* opening quote */
    buf_add(&b, "", 0);
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) { free(b.p); return jfail(ps, "control character in string"); }
        if (c != '\\') { buf_add(&b, ps->p, 1); ps->p++; continue; }
        ps->p++;
        if (ps->p >= ps->end) break;
        switch (*ps->p) {
        case '"': buf_add(&b, "\"", 1); break;
        case '\\': buf_add(&b, "\\", 1); break;
        case '/': buf_add(&b, "/", 1); break;
        case 'b': buf_add(&b, "\b", 1); break;
        case 'f': buf_add(&b, "\f", 1); break;
        case 'n': buf_add(&b, "\n", 1); break;
        case 'r': buf_add(&b, "\r", 1); break;
        case 't': buf_add(&b, "\t", 1); break;
        case 'u': {
            unsigned cp, lo;
            if (ps->end - ps->p < 5 || !hex4(ps->p + 1, &cp)) {
                free(b.p);
                return jfail(ps, "bad \\u escape");
            }
            ps->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && ps->end - ps->p >= 7 &&
                ps->p[1] == '\\' && ps->p[2] == 'u' && hex4(ps->p + 3, &lo) &&
                lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                ps->p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate */
            }
            put_utf8(&b, cp);
            break;
        }
        default: free(b.p); return jfail(ps, "bad escape");
        }
        ps->p++;
    }
    if (ps->p >= ps->end) { free(b.p); return jfail(ps, "unterminated string"); }
    ps->p++; /* closing quote */
    *out = b.p;
    *out_len = b.len;
    return 1;
}

static int jvalue(jparser *ps, jval *v);

static int jitems(jparser *ps, jval *v, int object) {
    size_t cap = 0;
    char close = object ? '}' : ']';
    ps->p++;
    jws(ps);
    if (ps->p < ps->end && *ps->p == close) { ps->p++; return 1; }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 4;
            v->items = (jval *)realloc(v->items, cap * sizeof *v->items);
            if (!v->items) die_oom();
            if (object) {
                v->keys = (char **)realloc(v->keys, cap * sizeof *v->keys);
                if (!v->keys) die_oom();
            }
        }
        memset(&v->items[v->n], 0, sizeof v->items[0]);
        if (object) {
            size_t kl;
            jws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return jfail(ps, "expected a key");
            v->keys[v->n] = NULL;
            if (!jstring(ps, &v->keys[v->n], &kl)) { v->n++; return 0; }
            jws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { v->n++; return jfail(ps, "expected ':'"); }
            ps->p++;
        }
        v->n++;
        if (!jvalue(ps, &v->items[v->n - 1])) return 0;
        jws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; return 1; }
        return jfail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int jvalue(jparser *ps, jval *v) {
    const char *start;
    int ok = 1;
    jws(ps);
    start = ps->p;
    if (ps->p >= ps->end) return jfail(ps, "unexpected end");
    if (++ps->depth > 128) return jfail(ps, "too deep");
    switch (*ps->p) {
    case '{': v->type = J_OBJ; ok = jitems(ps, v, 1); break;
    case '[': v->type = J_ARR; ok = jitems(ps, v, 0); break;
    case '"': v->type = J_STR; ok = jstring(ps, &v->str, &v->str_len); break;
    default:
        if (ps->end - ps->p >= 4 && !strncmp(ps->p, "null", 4)) {
            v->type = J_NULL; ps->p += 4;
        } else if (ps->end - ps->p >= 4 && !strncmp(ps->p, "true", 4)) {
            v->type = J_BOOL; ps->p += 4;
        } else if (ps->end - ps->p >= 5 && !strncmp(ps->p, "false", 5)) {
            v->type = J_BOOL; ps->p += 5;
        } else if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
            v->type = J_NUM;
            if (*ps->p == '-') ps->p++;
            if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9')) return jfail(ps, "bad number");
            while (ps->p < ps->end && strchr("0123456789.eE+-", *ps->p)) ps->p++;
        } else {
            return jfail(ps, "unexpected character");
        }
    }
    ps->depth--;
    v->raw = start;
    v->raw_len = (size_t)(ps->p - start);
    return ok;
}

/* Parses exactly one JSON value from text[0..len). */
static int jparse(const char *text, size_t len, jval *v, const char **err) {
    jparser ps;
    ps.p = text;
    ps.end = text + len;
    ps.err = NULL;
    ps.depth = 0;
    memset(v, 0, sizeof *v);
    if (jvalue(&ps, v)) {
        jws(&ps);
        if (ps.p == ps.end) return 1;
        jfail(&ps, "trailing characters");
    }
    *err = ps.err;
    jfree(v);
    return 0;
}

/* The last member `key` of object v, or NULL. */
static const jval *jget(const jval *v, const char *key) {
    size_t i;
    if (!v || v->type != J_OBJ) return NULL;
    for (i = v->n; i-- > 0;)
        if (strcmp(v->keys[i], key) == 0) return &v->items[i];
    return NULL;
}

static const char *jstr(const jval *v) {
    return v && v->type == J_STR ? v->str : NULL;
}

/* A non-negative integer that fits in 64 bits (serde's as_u64). */
static int ju64(const jval *v, unsigned long long *out) {
    unsigned long long x = 0;
    size_t i;
    if (!v || v->type != J_NUM || v->raw_len == 0) return 0;
    for (i = 0; i < v->raw_len; i++) {
        char c = v->raw[i];
        if (c < '0' || c > '9') return 0;
        if (x > (18446744073709551615ull - (unsigned)(c - '0')) / 10) return 0;
        x = x * 10 + (unsigned)(c - '0');
    }
    *out = x;
    return 1;
}

/* ------------------------------------------------------------------ */
/* The replayer                                                        */
/* ------------------------------------------------------------------ */

typedef struct {
    char *name, *job_id, *status; /* status: NULL unless JOB_STATUS_CHANGE */
} seen_event;

typedef struct {
    qjob_manager *m;
    buf_t out;
    seen_event *seen; /* events since the last command */
    size_t nseen, capseen;
    char err[512];
} replayer;

static int fail(replayer *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return 0;
}

static void seen_clear(replayer *r) {
    size_t i;
    for (i = 0; i < r->nseen; i++) {
        free(r->seen[i].name);
        free(r->seen[i].job_id);
        free(r->seen[i].status);
    }
    r->nseen = 0;
}

static char *dup_or_null(const char *s) {
    char *d;
    if (!s) return NULL;
    d = (char *)malloc(strlen(s) + 1);
    if (!d) die_oom();
    strcpy(d, s);
    return d;
}

/* Appends the transcript form of a JSON text (sorted keys, Python spacing). */
static int add_sorted(replayer *r, const char *json, size_t len) {
    char *sorted = NULL;
    qjob_result rc = qjob_json_sorted(json, len, &sorted);
    if (rc != QJOB_OK) return fail(r, "qjob_json_sorted: %s", qjob_result_name(rc));
    buf_str(&r->out, sorted);
    qjob_string_free(sorted);
    return 1;
}

/* Appends a transcript line the library wrote (owned), then a newline. */
static int add_line(replayer *r, qjob_result (*get)(qjob_manager *, char **), const char *what) {
    char *line = NULL;
    qjob_result rc = get(r->m, &line);
    if (rc != QJOB_OK) return fail(r, "%s: %s", what, qjob_result_name(rc));
    buf_str(&r->out, line);
    buf_str(&r->out, "\n");
    qjob_string_free(line);
    return 1;
}

/* Pops every queued event: one `! NAME DATA` line each (the library's), and
 * remembers its name, job and status (from the event struct) for waits. */
static int flush_events(replayer *r) {
    qjob_event ev;
    while (qjob_poll_event(r->m, &ev) == QJOB_OK) {
        if (!add_line(r, qjob_last_event_line, "qjob_last_event_line")) return 0;
        if (r->nseen == r->capseen) {
            r->capseen = r->capseen ? r->capseen * 2 : 16;
            r->seen = (seen_event *)realloc(r->seen, r->capseen * sizeof *r->seen);
            if (!r->seen) die_oom();
        }
        r->seen[r->nseen].name = dup_or_null(ev.name);
        r->seen[r->nseen].job_id = dup_or_null(ev.job_id);
        r->seen[r->nseen].status = ev.kind == QJOB_EVENT_KIND_JOB_STATUS_CHANGE
            ? dup_or_null(qjob_status_name((uint32_t)ev.status))
            : NULL;
        r->nseen++;
    }
    return 1;
}

static int settle(replayer *r) {
    qjob_result rc = qjob_settle(r->m, NULL);
    if (rc != QJOB_OK) return fail(r, "qjob_settle: %s", qjob_result_name(rc));
    return flush_events(r);
}

/* Sends one QMP message; prints events, the reply, then settles. */
static int command(replayer *r, const char *msg, size_t len) {
    char *reply = NULL;
    qjob_result rc = qjob_execute(r->m, msg, len, &reply);
    if (rc != QJOB_OK && rc != QJOB_QMP_ERROR)
        return fail(r, "qjob_execute: %s: %s", qjob_result_name(rc),
                    qjob_last_error_desc(r->m));
    qjob_string_free(reply);
    if (!flush_events(r)) return 0;
    if (!add_line(r, qjob_last_reply_line, "qjob_last_reply_line")) return 0;
    return settle(r);
}

/* Runs the main loop, moving virtual time up to 30 s, until a seen event
 * matches (name, job id, and status when given). */
static int wait_for(replayer *r, const char *name, const char *id, const char *status) {
    unsigned long long now = qjob_now(r->m);
    unsigned long long limit = now > ~0ull - WAIT_LIMIT_NS ? ~0ull : now + WAIT_LIMIT_NS;
    for (;;) {
        size_t i;
        uint64_t deadline;
        if (!settle(r)) return 0;
        for (i = 0; i < r->nseen; i++) {
            const seen_event *e = &r->seen[i];
            if (strcmp(e->name, name) == 0 && strcmp(e->job_id, id) == 0 &&
                (!status || (e->status && strcmp(e->status, status) == 0)))
                return 1;
        }
        if (qjob_next_deadline(r->m, &deadline) != QJOB_OK || deadline > limit) break;
        if (qjob_tick(r->m, deadline) != QJOB_OK) return fail(r, "qjob_tick failed");
    }
    buf_str(&r->out, "~ WAIT TIMEOUT\n");
    return 1;
}

static int image(replayer *r, const jval *img) {
    const char *file = jstr(jget(img, "file"));
    const char *format = jstr(jget(img, "format"));
    const char *backing = jstr(jget(img, "backing"));
    const jval *data = jget(img, "data");
    unsigned long long size;
    qjob_image im;
    qjob_extent *ext = NULL;
    size_t i, n = 0;
    qjob_result rc;
    if (!file) return fail(r, "image needs 'file'");
    if (!format) return fail(r, "image needs 'format'");
    if (!ju64(jget(img, "size"), &size)) return fail(r, "image needs 'size'");
    if (data && data->type == J_ARR && data->n > 0) {
        ext = (qjob_extent *)calloc(data->n, sizeof *ext);
        if (!ext) die_oom();
        for (i = 0; i < data->n; i++) {
            const jval *e = &data->items[i];
            unsigned long long o, l;
            if (e->type != J_ARR || e->n < 2 || !ju64(&e->items[0], &o) ||
                !ju64(&e->items[1], &l)) {
                free(ext);
                return fail(r, "bad data extent");
            }
            ext[n].offset = o;
            ext[n].length = l;
            n++;
        }
    }
    buf_str(&r->out, "~ image ");
    buf_str(&r->out, file);
    buf_str(&r->out, "\n");
    im.file = file;
    im.format = format;
    im.size = size;
    im.backing = backing;
    im.data = ext;
    im.data_len = n;
    rc = qjob_add_image(r->m, &im);
    free(ext);
    if (rc != QJOB_OK) return fail(r, "qjob_add_image: %s", qjob_last_error_desc(r->m));
    return 1;
}

/* One scenario line (comments and blank lines do nothing). */
static int run_line(replayer *r, const char *line, size_t len) {
    jval v;
    const jval *x;
    const char *err = NULL;
    int ok = 1;
    while (len > 0 && strchr(" \t\r\n\v\f", line[0])) { line++; len--; }
    while (len > 0 && strchr(" \t\r\n\v\f", line[len - 1])) len--;
    if (len == 0 || line[0] == '#') return 1;
    if (!jparse(line, len, &v, &err)) return fail(r, "not JSON: %s", err);
    if (v.type != J_OBJ) {
        jfree(&v);
        return fail(r, "a scenario line must be a JSON object");
    }
    if (jget(&v, "execute")) {
        seen_clear(r);
        buf_str(&r->out, "> ");
        ok = add_sorted(r, line, len);
        buf_str(&r->out, "\n");
        ok = ok && command(r, line, len);
    } else if ((x = jget(&v, "send")) != NULL) {
        if (x->type != J_STR) {
            ok = fail(r, "'send' takes a string");
        } else {
            seen_clear(r);
            buf_str(&r->out, "> ");
            buf_add(&r->out, x->str, x->str_len);
            buf_str(&r->out, "\n");
            ok = command(r, x->str, x->str_len);
        }
    } else if ((x = jget(&v, "wait")) != NULL) {
        const char *id = jstr(jget(x, "id"));
        const char *status = jstr(jget(x, "status"));
        if (!id) ok = fail(r, "wait needs 'id'");
        else if (!status) ok = fail(r, "wait needs 'status'");
        else {
            buf_str(&r->out, "~ wait ");
            ok = add_sorted(r, x->raw, x->raw_len);
            buf_str(&r->out, "\n");
            ok = ok && wait_for(r, "JOB_STATUS_CHANGE", id, status);
        }
    } else if ((x = jget(&v, "wait-event")) != NULL) {
        const char *id = jstr(jget(&v, "id"));
        if (!jstr(x)) ok = fail(r, "'wait-event' takes an event name");
        else if (!id) ok = fail(r, "wait-event needs 'id'");
        else {
            buf_str(&r->out, "~ wait-event ");
            buf_str(&r->out, jstr(x));
            buf_str(&r->out, " ");
            buf_str(&r->out, id);
            buf_str(&r->out, "\n");
            ok = wait_for(r, jstr(x), id, NULL);
        }
    } else if (jget(&v, "settle")) {
        buf_str(&r->out, "~ settle\n");
        ok = settle(r);
    } else if ((x = jget(&v, "image")) != NULL) {
        ok = image(r, x);
    } else if ((x = jget(&v, "machine")) != NULL) {
        if (!jstr(x)) ok = fail(r, "'machine' takes a name");
        else {
            buf_str(&r->out, "~ machine ");
            buf_str(&r->out, jstr(x));
            buf_str(&r->out, "\n");
            if (strcmp(jstr(x), "none") == 0) ok = qjob_set_machine(r->m, true) == QJOB_OK;
            else if (strcmp(jstr(x), "pc") == 0) ok = qjob_set_pci_bus(r->m, true) == QJOB_OK;
            else ok = fail(r, "unknown machine '%s' (none or pc)", jstr(x));
        }
    } else if ((x = jget(&v, "drive")) != NULL) {
        if (x->type != J_OBJ) ok = fail(r, "'drive' takes an object of -drive options");
        else {
            buf_str(&r->out, "~ drive ");
            ok = add_sorted(r, x->raw, x->raw_len);
            buf_str(&r->out, "\n");
            if (ok && qjob_drive_add(r->m, x->raw, x->raw_len) != QJOB_OK)
                ok = fail(r, "-drive refused: %s", qjob_last_error_desc(r->m));
        }
    } else {
        ok = fail(r, "unknown scenario line: %.*s", (int)len, line);
    }
    jfree(&v);
    return ok;
}

/* Replays a scenario text; on success prints the transcript. */
static int replay(const char *file, const char *text, size_t len, const char *qemu) {
    replayer r;
    size_t start = 0, lineno = 0;
    int ok = 1;
    memset(&r, 0, sizeof r);
    r.m = qjob_manager_new_with_version(qemu);
    if (!r.m) die_oom();
    buf_add(&r.out, "", 0);
    while (ok && start < len) {
        const char *nl = (const char *)memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        lineno++;
        if (!run_line(&r, text + start, end - start)) {
            fprintf(stderr, "replay: %s: line %lu: %s\n", file, (unsigned long)lineno, r.err);
            ok = 0;
        }
        start = end + 1;
    }
    if (ok) fwrite(r.out.p, 1, r.out.len, stdout);
    seen_clear(&r);
    free(r.seen);
    free(r.out.p);
    qjob_manager_free(r.m);
    return ok;
}

static int read_file(const char *path, char **text, size_t *len) {
    FILE *f = fopen(path, "rb");
    buf_t b = {0, 0, 0};
    char chunk[65536];
    size_t n;
    if (!f) return 0;
    buf_add(&b, "", 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&b, chunk, n);
    if (ferror(f)) { fclose(f); free(b.p); return 0; }
    fclose(f);
    *text = b.p;
    *len = b.len;
    return 1;
}

#define USAGE                                                                              \
    "usage: replay [--qemu 7.2|10.0] SCENARIO...\n\nReplays each scenario (format: "         \
    "scenarios/README.md) through qjob's C API, reproducing QEMU 7.2 or the version given, " \
    "and prints its transcript.\n"

int main(int argc, char **argv) {
    int i, nfiles, status = 0;
    const char *qemu = "7.2";
    int qemu_at = 0; /* argv index of --qemu, 0 when absent */
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(USAGE, stderr);
            return 0;
        }
    }
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--qemu")) {
            qjob_manager *probe;
            qemu = i + 1 < argc ? argv[i + 1] : NULL;
            /* The library decides which versions it reproduces. */
            probe = qemu ? qjob_manager_new_with_version(qemu) : NULL;
            if (!probe) {
                fputs("replay: --qemu takes 7.2 or 10.0\n" USAGE, stderr);
                return 2;
            }
            qjob_manager_free(probe);
            qemu_at = i;
            break;
        }
    }
    nfiles = argc - 1 - (qemu_at ? 2 : 0);
    if (nfiles <= 0) {
        fputs(USAGE, stderr);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        char *text;
        size_t len;
        if (qemu_at && (i == qemu_at || i == qemu_at + 1)) continue;
        if (!read_file(argv[i], &text, &len)) {
            perror(argv[i]);
            status = 1;
            continue;
        }
        if (nfiles > 1) printf("# %s\n", argv[i]);
        if (!replay(argv[i], text, len, qemu)) status = 1;
        free(text);
    }
    return status;
}
