// qjob.h compiled as C++ (g++ -Wall -Wextra -Werror -pedantic): the header's
// extern "C" block, enums, structs and constants, and a short lifecycle.
#include "qjob.h"

#include <cstdio>
#include <cstring>
#include <string>

static_assert(QJOB_VERSION_MAJOR >= 0, "version macros are integer constants");

static std::string status_of(const qjob_event &ev) {
    switch (ev.kind) {
    case QJOB_EVENT_KIND_JOB_STATUS_CHANGE:
        return qjob_status_name(static_cast<uint32_t>(ev.status));
    case QJOB_EVENT_KIND_BLOCK_JOB_READY:
    case QJOB_EVENT_KIND_BLOCK_JOB_PENDING:
    case QJOB_EVENT_KIND_BLOCK_JOB_COMPLETED:
    case QJOB_EVENT_KIND_BLOCK_JOB_CANCELLED:
    case QJOB_EVENT_KIND_BLOCK_JOB_ERROR:
    case QJOB_EVENT_KIND_STOP:
    case QJOB_EVENT_KIND_RESUME:
    case QJOB_EVENT_KIND_SHUTDOWN:
    case QJOB_EVENT_KIND_BLOCK_EXPORT_DELETED:
        break;
    }
    return ev.name;
}

int main() {
    qjob_manager *m = qjob_manager_new();
    qjob_backup_options o;
    if (!m || qjob_backup_options_init(&o) != QJOB_OK) return 1;
    o.job.job_id = "cpp";
    o.device = "src";
    o.target = "dst";
    if (qjob_blockdev_backup(m, &o) != QJOB_OK) return 1;
    if (qjob_settle(m, nullptr) != QJOB_OK) return 1;
    std::string seen;
    qjob_event ev;
    while (qjob_poll_event(m, &ev) == QJOB_OK) seen += status_of(ev) + " ";
    char *reply = nullptr;
    const char *q = "{\"execute\":\"query-jobs\"}";
    qjob_result rc = qjob_execute(m, q, std::strlen(q), &reply);
    bool ok = rc == QJOB_OK && std::string(reply) == "{\"return\":[]}" &&
              seen.find("BLOCK_JOB_COMPLETED concluded null") != std::string::npos;
    qjob_string_free(reply);
    qjob_manager_free(m);
    std::printf("qjob C++ header test: %s (%s)\n", ok ? "ok" : "FAILED", seen.c_str());
    return ok ? 0 : 1;
}
