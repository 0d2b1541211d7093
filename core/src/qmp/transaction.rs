//! The arguments of the QMP `transaction` command: its actions and properties.

use super::args::{Args, list_elem};
use super::bitmap::{parse_bitmap_add, parse_bitmap_merge, parse_bitmap_remove};
use super::create::{parse_backup, parse_drive_backup, parse_snapshot_ext, parse_snapshot_sync};
use crate::actions::TransactionAction;
use crate::error::{Error, Result};
use crate::profile::QemuVersion;
use serde_json::Value;

/// `transaction`: the actions, and whether their jobs complete as a group.
pub(super) fn parse_transaction(a: &mut Args<'_>) -> Result<(Vec<TransactionAction>, bool)> {
    let list = a.req_list("actions")?;
    let actions = parse_actions(list, a.qemu())?;
    let mut grouped = false;
    if let Some(mut p) = a.opt_obj("properties")? {
        grouped = p
            .opt_enum("completion-mode", |s| match s {
                "individual" => Some(false),
                "grouped" => Some(true),
                _ => None,
            })?
            .unwrap_or(false);
        p.finish()?;
    }
    Ok((actions, grouped))
}

/// Parses the `actions` list of a QMP `transaction` (QAPI
/// `TransactionAction`s), with QEMU's argument errors; for
/// [`JobManager::transaction_in`](crate::JobManager::transaction_in) from
/// bindings that take QMP JSON.
/// The members are QEMU 7.2's: [`parse_transaction_actions_in`] reads
/// another version's.
pub fn parse_transaction_actions(actions: &Value) -> Result<Vec<TransactionAction>> {
    parse_transaction_actions_in(actions, QemuVersion::V7_2)
}

/// [`parse_transaction_actions`] with the members of `qemu`'s schema (QEMU
/// 10.0's backup takes `discard-source` and `x-perf.min-cluster-size`).
pub fn parse_transaction_actions_in(
    actions: &Value,
    qemu: QemuVersion,
) -> Result<Vec<TransactionAction>> {
    match actions {
        Value::Array(list) => parse_actions(list, qemu),
        _ => Err(Error::invalid_type("actions", "array")),
    }
}

fn parse_actions(list: &[Value], qemu: QemuVersion) -> Result<Vec<TransactionAction>> {
    let mut actions = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let mut el = list_elem("actions", i, v)?.with_qemu(qemu);
        let ty = el.req_enum("type", |s| {
            matches!(
                s,
                "abort"
                    | "block-dirty-bitmap-add"
                    | "block-dirty-bitmap-remove"
                    | "block-dirty-bitmap-clear"
                    | "block-dirty-bitmap-enable"
                    | "block-dirty-bitmap-disable"
                    | "block-dirty-bitmap-merge"
                    | "blockdev-backup"
                    | "blockdev-snapshot"
                    | "blockdev-snapshot-internal-sync"
                    | "blockdev-snapshot-sync"
                    | "drive-backup"
            )
            .then(|| s.to_owned())
        })?;
        let mut data = el.req_obj("data")?;
        let action = match ty.as_str() {
            "blockdev-backup" => TransactionAction::BlockdevBackup(parse_backup(&mut data)?),
            "drive-backup" => TransactionAction::DriveBackup(parse_drive_backup(&mut data)?),
            "blockdev-snapshot-sync" => {
                TransactionAction::BlockdevSnapshotSync(parse_snapshot_sync(&mut data)?)
            }
            "blockdev-snapshot" => {
                let (node, overlay) = parse_snapshot_ext(&mut data)?;
                TransactionAction::BlockdevSnapshot { node, overlay }
            }
            "block-dirty-bitmap-add" => {
                TransactionAction::BlockDirtyBitmapAdd(parse_bitmap_add(&mut data)?)
            }
            "block-dirty-bitmap-remove" => {
                let (node, name) = parse_bitmap_remove(&mut data)?;
                TransactionAction::BlockDirtyBitmapRemove { node, name }
            }
            "block-dirty-bitmap-clear" => {
                let (node, name) = parse_bitmap_remove(&mut data)?;
                TransactionAction::BlockDirtyBitmapClear { node, name }
            }
            "block-dirty-bitmap-enable" => {
                let (node, name) = parse_bitmap_remove(&mut data)?;
                TransactionAction::BlockDirtyBitmapEnable { node, name }
            }
            "block-dirty-bitmap-disable" => {
                let (node, name) = parse_bitmap_remove(&mut data)?;
                TransactionAction::BlockDirtyBitmapDisable { node, name }
            }
            "block-dirty-bitmap-merge" => {
                let (node, target, bitmaps) = parse_bitmap_merge(&mut data)?;
                TransactionAction::BlockDirtyBitmapMerge {
                    node,
                    target,
                    bitmaps,
                }
            }
            "abort" => TransactionAction::Abort,
            other => {
                return Err(Error::generic(format!(
                    "qjob does not simulate the transaction action '{other}'"
                )));
            }
        };
        data.finish()?;
        el.finish()?;
        actions.push(action);
    }
    Ok(actions)
}
