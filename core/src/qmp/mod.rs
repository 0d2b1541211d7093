//! QMP as JSON: framing checks, the command table, argument parsing, and the
//! reply, all as QEMU 7.2 does them.
//!
//! [`JobManager::execute`] takes one QMP message and returns the reply:
//! `{"return": …}` or `{"error": {"class": …, "desc": …}}`, with the request's
//! `id` echoed whenever the message was an object that had one;
//! [`JobManager::execute_reply`] gives the same reply typed ([`Reply`]).

pub(crate) mod args;
mod bitmap;
mod blockinfo;
mod blockstats;
mod clock;
mod create;
mod export;
mod ghash;
mod jobs;
pub mod json;
pub(crate) mod nodes;
mod object;
mod reply;
pub mod system;
mod transaction;

pub mod server;
pub mod stream;
pub mod wire;

pub use create::option_defaults;
pub use export::parse_nbd_server_options;
pub use reply::Reply;
pub use transaction::{parse_transaction_actions, parse_transaction_actions_in};

use crate::error::{Error, ErrorClass, Result};
use crate::manager::JobManager;
use args::Args;
use serde_json::{Map, Value};

/// The block drivers qjob opens (`blockdev-add`'s `driver`), in QEMU's
/// alphabetical order: what a drop-in lists for `-drive format=help`.
pub fn block_drivers() -> impl Iterator<Item = &'static str> {
    nodes::SIMULATED.iter().map(|d| d.as_str())
}

/// QEMU's QDict bucket of a key (`tdb_hash % 512`): the order in which QEMU
/// visits the members of a request, which decides which of several framing
/// errors it reports.
pub(crate) fn qdict_bucket(key: &str) -> u32 {
    let bytes = key.as_bytes();
    let mut value: u32 = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    // Byte i is shifted left by (i * 5) % 24, kept as a running sum (no
    // division per byte: keys are hashed for every object written).
    let mut shift = 0;
    for &b in bytes {
        value = value.wrapping_add((b as u32) << shift);
        shift += 5;
        if shift >= 24 {
            shift -= 24;
        }
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345) % 512
}

/// `qmp_dispatch_check_obj` (`exec-oob` is refused: a manager has no
/// monitor that negotiated it).
fn check_request(dict: &Map<String, Value>) -> Result<String> {
    server::check_obj(dict, false).map(|(name, _)| name)
}

impl JobManager {
    /// Executes one QMP message (JSON text) and returns the reply as
    /// compact JSON text: [`execute_reply`](Self::execute_reply)'s
    /// [`Reply::to_json`]. Never panics on bad input: malformed JSON gets
    /// QEMU's `JSON parse error, …` reply.
    pub fn execute(&mut self, request: &str) -> String {
        self.execute_reply(request).to_json()
    }

    /// Executes one QMP message (JSON text) and returns the reply typed:
    /// the request's `id` and the `return` value or the error.
    pub fn execute_reply(&mut self, request: &str) -> Reply {
        match json::parse(request) {
            Ok(v) => self.execute_value_reply(&v),
            Err(desc) => Reply::refused(Error::generic(desc)),
        }
    }

    /// Executes one QMP message given as a JSON value; returns the reply
    /// as a JSON value ([`Reply::into_value`]).
    pub fn execute_value(&mut self, request: &Value) -> Value {
        self.execute_value_reply(request).into_value()
    }

    /// Executes one QMP message given as a JSON value; returns the reply
    /// typed.
    pub fn execute_value_reply(&mut self, request: &Value) -> Reply {
        let Value::Object(dict) = request else {
            return Reply::refused(Error::generic("QMP input must be a JSON object"));
        };
        let result = check_request(dict).and_then(|name| {
            let empty = Map::new();
            let args = match dict.get("arguments") {
                Some(Value::Object(a)) => a,
                _ => &empty,
            };
            self.dispatch(&name, args)
        });
        Reply {
            id: dict.get("id").cloned(),
            result,
        }
    }

    /// Runs one command with its (already framing-checked) arguments.
    pub fn dispatch(&mut self, name: &str, arguments: &Map<String, Value>) -> Result<Value> {
        self.dispatch_with(name, Args::new(arguments, ""))
    }

    /// Runs one command whose arguments were written on a command line in
    /// QEMU's keyval syntax (`--blockdev null-co,node-name=n0,size=1024`
    /// parsed into nested objects whose scalars are all strings): each
    /// string is read as the member's type, as QEMU's keyval input visitor
    /// reads it (`size` an integer, `read-zeroes=on` a boolean), and
    /// refused with its texts (`Parameter 'read-zeroes' expects 'on' or
    /// 'off'`).
    pub fn dispatch_keyval(&mut self, name: &str, arguments: &Map<String, Value>) -> Result<Value> {
        self.dispatch_with(name, Args::command_line(arguments))
    }

    fn dispatch_with(&mut self, name: &str, args: Args<'_>) -> Result<Value> {
        let result = match TABLE.binary_search_by(|&(n, _)| n.cmp(name)) {
            Ok(i) if system::available(name, self.machine()) && self.qemu.has_command(name) => {
                (TABLE[i].1)(self, args.with_qemu(self.qemu))
            }
            _ => Err(Error::command_not_found(name)),
        };
        self.files_done();
        result
    }
}

/// A command: reads its arguments (refusing what QEMU's visitor refuses,
/// in its order), runs the typed command, and gives the `return` value.
type Handler = fn(&mut JobManager, Args<'_>) -> Result<Value>;

/// A command that returns `{}`: `parse` reads its members, any member left
/// is unexpected, then `command` runs on what was read. (`command` is
/// inlined into each row: called through a pointer, a QMP `job-pause` took
/// about 5% longer.)
fn run<T>(
    m: &mut JobManager,
    mut a: Args<'_>,
    parse: fn(&mut Args<'_>) -> Result<T>,
    command: impl FnOnce(&mut JobManager, T) -> Result<()>,
) -> Result<Value> {
    let v = parse(&mut a)?;
    a.finish()?;
    command(m, v)?;
    Ok(Value::Object(Map::new()))
}

/// Every command [`JobManager::execute`] knows, sorted by name: the one
/// table that both dispatch and [`COMMANDS`] are made from. A row names the
/// command's argument parser and the typed command it runs.
const TABLE: &[(&str, Handler)] = &[
    ("block-commit", |m, a| {
        run(m, a, create::parse_commit, JobManager::block_commit)
    }),
    ("block-dirty-bitmap-add", |m, a| {
        run(m, a, bitmap::parse_bitmap_add, |m, o| {
            m.block_dirty_bitmap_add(&o)
        })
    }),
    ("block-dirty-bitmap-clear", |m, a| {
        run(m, a, bitmap::parse_bitmap_remove, |m, (node, name)| {
            m.block_dirty_bitmap_clear(&node, &name)
        })
    }),
    ("block-dirty-bitmap-disable", |m, a| {
        run(m, a, bitmap::parse_bitmap_remove, |m, (node, name)| {
            m.block_dirty_bitmap_disable(&node, &name)
        })
    }),
    ("block-dirty-bitmap-enable", |m, a| {
        run(m, a, bitmap::parse_bitmap_remove, |m, (node, name)| {
            m.block_dirty_bitmap_enable(&node, &name)
        })
    }),
    ("block-dirty-bitmap-merge", |m, a| {
        run(
            m,
            a,
            bitmap::parse_bitmap_merge,
            |m, (node, target, bitmaps)| m.block_dirty_bitmap_merge(&node, &target, &bitmaps),
        )
    }),
    ("block-dirty-bitmap-remove", |m, a| {
        run(m, a, bitmap::parse_bitmap_remove, |m, (node, name)| {
            m.block_dirty_bitmap_remove(&node, &name)
        })
    }),
    ("block-export-add", |m, a| {
        run(m, a, export::parse_export, |m, opts| match opts {
            Ok(opts) => m.block_export_add(opts),
            Err(kind) => Err(export::not_simulated(kind)),
        })
    }),
    ("block-export-del", |m, a| {
        run(m, a, export::parse_export_del, |m, (id, hard)| {
            m.block_export_del(&id, hard)
        })
    }),
    ("block-job-cancel", |m, a| {
        run(m, a, jobs::parse_cancel, |m, (device, force)| {
            m.block_job_cancel(&device, force)
        })
    }),
    ("block-job-change", |m, a| {
        run(m, a, jobs::parse_change, |m, (id, mode)| {
            m.block_job_change(&id, mode)
        })
    }),
    ("block-job-complete", |m, a| {
        run(m, a, jobs::device, |m, d| m.block_job_complete(&d))
    }),
    ("block-job-dismiss", |m, a| {
        run(m, a, jobs::id, |m, id| m.block_job_dismiss(&id))
    }),
    ("block-job-finalize", |m, a| {
        run(m, a, jobs::id, |m, id| m.block_job_finalize(&id))
    }),
    ("block-job-pause", |m, a| {
        run(m, a, jobs::device, |m, d| m.block_job_pause(&d))
    }),
    ("block-job-resume", |m, a| {
        run(m, a, jobs::device, |m, d| m.block_job_resume(&d))
    }),
    ("block-job-set-speed", |m, a| {
        run(m, a, jobs::parse_set_speed, |m, (device, speed)| {
            m.block_job_set_speed(&device, speed)
        })
    }),
    ("block-stream", |m, a| {
        run(m, a, create::parse_stream, JobManager::block_stream)
    }),
    ("blockdev-add", |m, a| {
        run(
            m,
            a,
            nodes::parse_blockdev_add,
            |m, (opts, read_only, active)| m.blockdev_add_with(opts, read_only, active),
        )
    }),
    ("blockdev-backup", |m, a| {
        run(m, a, create::parse_backup, JobManager::blockdev_backup)
    }),
    ("blockdev-create", |m, a| {
        run(m, a, create::parse_blockdev_create, |m, (id, opts)| {
            m.blockdev_create(&id, opts)
        })
    }),
    ("blockdev-del", |m, a| {
        run(m, a, |a| a.req_str("node-name"), |m, n| m.blockdev_del(&n))
    }),
    ("blockdev-mirror", |m, a| {
        run(m, a, create::parse_mirror, JobManager::blockdev_mirror)
    }),
    ("blockdev-set-active", |m, a| {
        run(
            m,
            a,
            |a| Ok((a.opt_str("node-name")?, a.req_bool("active")?)),
            |m, (node, active)| m.blockdev_set_active(node.as_deref(), active),
        )
    }),
    ("blockdev-snapshot", |m, a| {
        run(m, a, create::parse_snapshot_ext, |m, (node, overlay)| {
            m.blockdev_snapshot(&node, &overlay)
        })
    }),
    ("blockdev-snapshot-sync", |m, a| {
        run(
            m,
            a,
            create::parse_snapshot_sync,
            JobManager::blockdev_snapshot_sync,
        )
    }),
    ("cont", |m, a| run(m, a, |_| Ok(()), |m, ()| m.cont())),
    ("device_add", |m, a| {
        run(m, a, |a| Ok(a.all().clone()), |m, opts| m.device_add(&opts))
    }),
    ("drive-backup", |m, a| {
        run(m, a, create::parse_drive_backup, JobManager::drive_backup)
    }),
    ("drive-mirror", |m, a| {
        run(m, a, create::parse_drive_mirror, JobManager::drive_mirror)
    }),
    ("human-monitor-command", |m, mut a| {
        let line = a.req_str("command-line")?;
        let cpu = a.opt_int("cpu-index")?;
        a.finish()?;
        m.human_monitor_command(&line, cpu).map(Value::String)
    }),
    ("job-cancel", |m, a| {
        run(m, a, jobs::id, |m, id| m.job_cancel(&id))
    }),
    ("job-complete", |m, a| {
        run(m, a, jobs::id, |m, id| m.job_complete(&id))
    }),
    ("job-dismiss", |m, a| {
        run(m, a, jobs::id, |m, id| m.job_dismiss(&id))
    }),
    ("job-finalize", |m, a| {
        run(m, a, jobs::id, |m, id| m.job_finalize(&id))
    }),
    ("job-pause", |m, a| {
        run(m, a, jobs::id, |m, id| m.job_pause(&id))
    }),
    ("job-resume", |m, a| {
        run(m, a, jobs::id, |m, id| m.job_resume(&id))
    }),
    ("nbd-server-start", |m, a| {
        run(
            m,
            a,
            export::parse_nbd_server_start,
            JobManager::nbd_server_start,
        )
    }),
    ("nbd-server-stop", |m, a| {
        run(m, a, |_| Ok(()), |m, ()| m.nbd_server_stop())
    }),
    ("object-add", |m, a| {
        run(m, a, object::parse_object_add, |m, opts| match opts {
            Ok(opts) => m.throttle_group_add(opts),
            Err(kind) => Err(object::not_simulated(kind)),
        })
    }),
    ("object-del", |m, a| {
        run(m, a, |a| a.req_str("id"), |m, id| m.object_del(&id))
    }),
    ("qmp_capabilities", qmp_capabilities),
    ("query-block", blockinfo::query_block),
    ("query-block-exports", export::query_block_exports),
    ("query-block-jobs", jobs::query_block_jobs),
    ("query-blockstats", blockstats::query_blockstats),
    ("query-commands", system::query_commands),
    ("query-jobs", jobs::query_jobs),
    (
        "query-named-block-nodes",
        blockinfo::query_named_block_nodes,
    ),
    ("query-status", system::query_status),
    ("query-version", system::query_version),
    ("quit", |m, a| {
        run(
            m,
            a,
            |_| Ok(()),
            |m, ()| {
                m.quit();
                Ok(())
            },
        )
    }),
    ("snapshot-delete", |m, a| {
        run(
            m,
            a,
            create::parse_snapshot_delete,
            |m, (id, tag, devices)| m.snapshot_delete(&id, &tag, devices),
        )
    }),
    ("snapshot-load", |m, a| {
        run(
            m,
            a,
            create::parse_snapshot,
            |m, (id, tag, vmstate, devices)| m.snapshot_load(&id, &tag, &vmstate, devices),
        )
    }),
    ("snapshot-save", |m, a| {
        run(
            m,
            a,
            create::parse_snapshot,
            |m, (id, tag, vmstate, devices)| m.snapshot_save(&id, &tag, &vmstate, devices),
        )
    }),
    ("stop", |m, a| run(m, a, |_| Ok(()), |m, ()| m.stop())),
    ("transaction", |m, a| {
        run(
            m,
            a,
            transaction::parse_transaction,
            |m, (actions, grouped)| m.transaction(actions, grouped),
        )
    }),
    ("x-blockdev-amend", |m, a| {
        run(m, a, create::parse_amend, |m, o| {
            m.blockdev_amend(&o.job_id, &o.node_name, o.driver.as_str(), o.encrypt)
        })
    }),
    ("x-qjob-advance", clock::x_qjob_advance),
    ("x-qjob-clock", clock::x_qjob_clock),
    ("x-qjob-settle", clock::x_qjob_settle),
    ("x-qjob-wait", clock::x_qjob_wait),
];

/// Every command `execute` knows, in alphabetical order (the names of the
/// command table).
pub const COMMANDS: &[&str] = &{
    let mut names = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        names[i] = TABLE[i].0;
        i += 1;
    }
    names
};

/// `qmp_capabilities` after the negotiation (QMP connections here are
/// always in command mode).
fn qmp_capabilities(_: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    a.ignore(&["enable"]);
    a.finish()?;
    Err(Error {
        class: ErrorClass::CommandNotFound,
        desc: "Capabilities negotiation is already complete, command ignored".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command table is sorted (dispatch searches it) and names every
    /// command once; COMMANDS lists it.
    #[test]
    fn the_command_table_is_sorted_and_listed() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(COMMANDS.len(), TABLE.len());
        // Each listed name reaches its handler: its arguments are visited.
        let mut m = JobManager::with_version(crate::QemuVersion::V10_0);
        m.set_machine(true);
        for &name in COMMANDS {
            let req = format!(r#"{{"execute":"{name}","arguments":{{"x-bogus":1}}}}"#);
            let reply = m.execute(&req);
            assert!(reply.contains("Parameter '"), "{name}: {reply}");
        }
        let reply = m.execute(r#"{"execute":"job-frobnicate"}"#);
        assert!(reply.contains("CommandNotFound"), "{reply}");
        // QEMU 7.2 has no block-job-change: not found before its arguments.
        let reply = JobManager::new()
            .execute(r#"{"execute":"block-job-change","arguments":{"x-bogus":1}}"#);
        assert!(reply.contains("CommandNotFound"), "{reply}");
    }

    #[test]
    fn qdict_buckets_are_stable() {
        // QEMU's tdb_hash, byte i shifted by (i * 5) % 24.
        let reference = |key: &str| {
            let b = key.as_bytes();
            let mut v: u32 = 0x238F_13AFu32.wrapping_mul(b.len() as u32);
            for (i, &c) in b.iter().enumerate() {
                v = v.wrapping_add((c as u32) << ((i as u32 * 5) % 24));
            }
            1_103_515_243u32.wrapping_mul(v).wrapping_add(12345) % 512
        };
        for key in [
            "",
            "a",
            "execute",
            "current-progress",
            "a-key-longer-than-twenty-four-bytes",
        ] {
            assert_eq!(qdict_bucket(key), reference(key), "{key}");
        }
        assert!(qdict_bucket("execute") < 512);
        assert_ne!(qdict_bucket("execute"), qdict_bucket("arguments"));
    }
}
