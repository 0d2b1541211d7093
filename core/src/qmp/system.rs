//! What a QMP client asks the emulator itself: `query-version`,
//! `query-commands`, and the system emulator's `query-status`, `stop` and
//! `cont`.

use super::args::Args;
use crate::error::Result;
use crate::manager::JobManager;
use crate::profile::{LATER_COMMANDS, QemuVersion};
use serde_json::{Map, Value};

/// QAPI `VersionInfo`: `{"qemu": {"major", "minor", "micro"}, "package"}`
/// (members in QAPI order; the wire writer puts them in QEMU's).
pub fn version_info(version: (u32, u32, u32), package: &str) -> Value {
    let (major, minor, micro) = version;
    let mut qemu = Map::new();
    qemu.insert("major".into(), major.into());
    qemu.insert("minor".into(), minor.into());
    qemu.insert("micro".into(), micro.into());
    let mut v = Map::new();
    v.insert("qemu".into(), Value::Object(qemu));
    v.insert("package".into(), package.into());
    Value::Object(v)
}

/// The commands of QEMU 7.2's storage daemon that qjob has or that belong
/// to the job layer, in the order its `query-commands` lists them (the
/// reverse of registration order).
const STORAGE_DAEMON_ORDER: &[&str] = &[
    "transaction",
    "object-del",
    "object-add",
    "quit",
    "query-commands",
    "query-version",
    "qmp_capabilities",
    "query-block-exports",
    "block-export-del",
    "block-export-add",
    "nbd-server-stop",
    "nbd-server-start",
    "query-jobs",
    "job-finalize",
    "job-dismiss",
    "job-complete",
    "job-cancel",
    "job-resume",
    "job-pause",
    "x-blockdev-amend",
    "blockdev-create",
    "blockdev-del",
    "blockdev-add",
    "block-job-finalize",
    "block-job-dismiss",
    "block-job-complete",
    "block-job-resume",
    "block-job-pause",
    "block-job-cancel",
    "block-job-set-speed",
    "block-stream",
    "blockdev-mirror",
    "block-dirty-bitmap-merge",
    "block-dirty-bitmap-disable",
    "block-dirty-bitmap-enable",
    "block-dirty-bitmap-clear",
    "block-dirty-bitmap-remove",
    "block-dirty-bitmap-add",
    "drive-mirror",
    "query-named-block-nodes",
    "blockdev-backup",
    "drive-backup",
    "block-commit",
    "blockdev-snapshot",
    "blockdev-snapshot-sync",
    "query-block-jobs",
    "query-blockstats",
    "query-block",
];

/// The same for QEMU 10.0's storage daemon (recorded from 10.0.2): 10.0
/// registers some command groups in another order and has
/// `block-job-change` and `blockdev-set-active`. Only the storage daemon 10.0 is at hand to record
/// from; a 10.0 system emulator lists 7.2's order, then what 10.0 adds.
const STORAGE_DAEMON_ORDER_10_0: &[&str] = &[
    "object-del",
    "object-add",
    "quit",
    "query-commands",
    "query-version",
    "qmp_capabilities",
    "transaction",
    "query-block-exports",
    "block-export-del",
    "block-export-add",
    "nbd-server-stop",
    "nbd-server-start",
    "x-blockdev-amend",
    "blockdev-create",
    "blockdev-set-active",
    "blockdev-del",
    "blockdev-add",
    "block-job-change",
    "block-job-finalize",
    "block-job-dismiss",
    "block-job-complete",
    "block-job-resume",
    "block-job-pause",
    "block-job-cancel",
    "block-job-set-speed",
    "block-stream",
    "blockdev-mirror",
    "block-dirty-bitmap-merge",
    "block-dirty-bitmap-disable",
    "block-dirty-bitmap-enable",
    "block-dirty-bitmap-clear",
    "block-dirty-bitmap-remove",
    "block-dirty-bitmap-add",
    "drive-mirror",
    "query-named-block-nodes",
    "blockdev-backup",
    "drive-backup",
    "block-commit",
    "blockdev-snapshot",
    "blockdev-snapshot-sync",
    "query-block-jobs",
    "query-blockstats",
    "query-block",
    "query-jobs",
    "job-finalize",
    "job-dismiss",
    "job-complete",
    "job-cancel",
    "job-resume",
    "job-pause",
];

/// The same for QEMU 7.2's system emulator (`qemu-system-x86_64`), which
/// has the VM's commands besides.
const SYSTEM_ORDER: &[&str] = &[
    "device_add",
    "human-monitor-command",
    "cont",
    "stop",
    "device_del",
    "object-del",
    "object-add",
    "quit",
    "query-commands",
    "query-version",
    "qmp_capabilities",
    "transaction",
    "snapshot-delete",
    "snapshot-load",
    "snapshot-save",
    "query-block-exports",
    "block-export-del",
    "block-export-add",
    "nbd-server-stop",
    "nbd-server-start",
    "query-jobs",
    "job-finalize",
    "job-dismiss",
    "job-complete",
    "job-cancel",
    "job-resume",
    "job-pause",
    "x-blockdev-amend",
    "blockdev-create",
    "blockdev-del",
    "blockdev-add",
    "block-job-finalize",
    "block-job-dismiss",
    "block-job-complete",
    "block-job-resume",
    "block-job-pause",
    "block-job-cancel",
    "block-job-set-speed",
    "block-stream",
    "blockdev-mirror",
    "block-dirty-bitmap-merge",
    "block-dirty-bitmap-disable",
    "block-dirty-bitmap-enable",
    "block-dirty-bitmap-clear",
    "block-dirty-bitmap-remove",
    "block-dirty-bitmap-add",
    "drive-mirror",
    "query-named-block-nodes",
    "blockdev-backup",
    "drive-backup",
    "block-commit",
    "blockdev-snapshot",
    "blockdev-snapshot-sync",
    "query-block-jobs",
    "query-blockstats",
    "query-block",
    "query-status",
];

/// qjob's own commands (virtual time), which QEMU does not have.
const QJOB_COMMANDS: &[&str] = &[
    "x-qjob-advance",
    "x-qjob-clock",
    "x-qjob-settle",
    "x-qjob-wait",
];

/// Whether a command of the command table exists in this kind of process:
/// the VM's commands only in a system emulator (`machine`).
pub(crate) fn available(name: &str, machine: bool) -> bool {
    machine || !SYSTEM_ORDER.contains(&name) || STORAGE_DAEMON_ORDER.contains(&name)
}

/// The commands a process of this kind lists: QEMU's that qjob has, in
/// QEMU's order, then qjob's own.
pub(crate) fn listed_commands(
    qemu: QemuVersion,
    machine: bool,
) -> impl Iterator<Item = &'static str> {
    let (order, added): (&[&str], &[&str]) = match (qemu, machine) {
        (QemuVersion::V7_2, false) => (STORAGE_DAEMON_ORDER, &[]),
        (QemuVersion::V7_2, true) => (SYSTEM_ORDER, &[]),
        (QemuVersion::V10_0, false) => (STORAGE_DAEMON_ORDER_10_0, &[]),
        (QemuVersion::V10_0, true) => (SYSTEM_ORDER, LATER_COMMANDS),
    };
    order
        .iter()
        .chain(added)
        .copied()
        .filter(move |n| super::COMMANDS.contains(n) && qemu.has_command(n))
        .chain(QJOB_COMMANDS.iter().copied())
}

/// `[{"name": …}, …]`: QAPI `CommandInfo` for each name.
pub(crate) fn command_list<'a>(names: impl Iterator<Item = &'a str>) -> Value {
    Value::Array(
        names
            .map(|n| {
                let mut m = Map::new();
                m.insert("name".into(), n.into());
                Value::Object(m)
            })
            .collect(),
    )
}

pub(super) fn query_version(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    let (version, package) = m.version().greeting();
    Ok(version_info(version, package))
}

pub(super) fn query_commands(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    Ok(command_list(listed_commands(m.version(), m.machine())))
}

pub(super) fn query_status(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    let s = m.query_status()?;
    let mut v = Map::new();
    v.insert("running".into(), s.running.into());
    v.insert("singlestep".into(), s.singlestep.into());
    v.insert("status".into(), s.status.as_str().into());
    Ok(Value::Object(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command of the table but qjob's own is in QEMU's lists, the
    /// storage daemon's being a part of the system emulator's.
    #[test]
    fn the_orders_cover_the_command_table() {
        for name in super::super::COMMANDS {
            if QJOB_COMMANDS.contains(name) {
                continue;
            }
            assert!(
                SYSTEM_ORDER.contains(name) || LATER_COMMANDS.contains(name),
                "{name} is not in SYSTEM_ORDER"
            );
        }
        for name in STORAGE_DAEMON_ORDER {
            assert!(SYSTEM_ORDER.contains(name), "{name}");
        }
        // 10.0's storage daemon: 7.2's commands and the later ones.
        for name in STORAGE_DAEMON_ORDER_10_0 {
            assert!(
                STORAGE_DAEMON_ORDER.contains(name) || LATER_COMMANDS.contains(name),
                "{name}"
            );
        }
        assert_eq!(
            STORAGE_DAEMON_ORDER_10_0.len(),
            STORAGE_DAEMON_ORDER.len() + LATER_COMMANDS.len()
        );
        for name in QJOB_COMMANDS {
            assert!(super::super::COMMANDS.contains(name), "{name}");
        }
    }

    #[test]
    fn vm_commands_exist_in_a_system_emulator_only() {
        for name in ["query-status", "stop", "cont", "snapshot-save"] {
            assert!(available(name, true));
            assert!(!available(name, false));
        }
        for name in ["query-version", "blockdev-backup", "x-qjob-settle"] {
            assert!(available(name, true) && available(name, false));
        }
    }
}
