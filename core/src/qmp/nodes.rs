//! The arguments of `blockdev-add`: `BlockdevOptions` for the drivers qjob
//! simulates.

use super::args::{Args, list_elem};
use crate::block::{BlkdebugEvent, BlockdevDriver, InjectError};
use crate::error::{Error, Result};
use crate::nodes::{ChildRef, NULL_CO_DEFAULT_SIZE, NodeOptions};
use serde_json::Value;

fn parse_child(parent: &Args<'_>, name: &str, v: &Value) -> Result<ChildRef> {
    match v {
        Value::String(s) => Ok(ChildRef::Name(s.clone())),
        Value::Object(o) => {
            let mut a = parent.nested(name, o);
            let opts = parse_node(&mut a)?;
            a.finish()?;
            Ok(ChildRef::Inline(Box::new(opts)))
        }
        _ => Err(Error::invalid_type(&parent.full(name), "BlockdevRef")),
    }
}

/// The driver's "strong" options given, as given: what QEMU's `json:`
/// file name of the node shows.
fn strong(a: &Args<'_>, names: &[&str]) -> Vec<(String, Value)> {
    names
        .iter()
        .filter_map(|&n| a.peek(n).map(|v| (n.to_owned(), v.clone())))
        .collect()
}

/// `BlockdevOptions` for the drivers qjob simulates.
pub(crate) fn parse_node(a: &mut Args<'_>) -> Result<NodeOptions> {
    let driver = a.req_enum("driver", BlockdevDriver::parse)?;
    let node_name = a.opt_str("node-name")?;
    a.ignore(&[
        "discard",
        "cache",
        "read-only",
        "auto-read-only",
        "force-share",
        "detect-zeroes",
    ]);
    match driver {
        BlockdevDriver::NullCo | BlockdevDriver::NullAio => {
            let strong_options = strong(a, &["size", "read-zeroes"]);
            let size = a.opt_int("size")?.map(|s| s.max(0) as u64);
            a.opt_int("latency-ns")?;
            let read_zeroes = a.opt_bool("read-zeroes")?.unwrap_or(false);
            Ok(NodeOptions::NullCo {
                node_name,
                size: size.unwrap_or(NULL_CO_DEFAULT_SIZE),
                read_zeroes,
                strong_options,
            })
        }
        BlockdevDriver::Raw => {
            let v = a.req_any("file")?;
            let file = parse_child(a, "file", v)?;
            a.ignore(&["offset", "size"]);
            Ok(NodeOptions::Raw { node_name, file })
        }
        BlockdevDriver::Blkdebug => {
            let strong_options = strong(
                a,
                &[
                    "config",
                    "inject-error",
                    "set-state",
                    "align",
                    "max-transfer",
                    "opt-write-zero",
                    "max-write-zero",
                    "opt-discard",
                    "max-discard",
                ],
            );
            let v = a.req_any("image")?;
            let image = parse_child(a, "image", v)?;
            a.ignore(&[
                "config",
                "align",
                "max-transfer",
                "opt-write-zero",
                "max-write-zero",
                "opt-discard",
                "max-discard",
            ]);
            let mut rules = Vec::new();
            let full = a.full("inject-error");
            if let Some(list) = a.opt_list("inject-error")? {
                for (i, v) in list.iter().enumerate() {
                    let mut r = list_elem(&full, i, v)?;
                    let event = r.req_enum("event", |s| {
                        BlkdebugEvent::parse(s).map(Some).or_else(|| {
                            // Every other blkdebug event is accepted but never raised here.
                            matches!(
                                s,
                                "l1_update"
                                    | "l2_load"
                                    | "refblock_load"
                                    | "cluster_alloc"
                                    | "flush_to_os"
                                    | "flush_to_disk"
                                    | "pwritev"
                                    | "pwritev_done"
                                    | "read_backing_aio"
                                    | "write_compressed"
                            )
                            .then_some(None)
                        })
                    })?;
                    r.opt_int("state")?;
                    let iotype = r.opt_enum("iotype", crate::block::IoType::parse)?;
                    let errno = r.opt_int("errno")?.unwrap_or(crate::model::EIO as i64) as i32;
                    let sector = r.opt_int("sector")?.unwrap_or(-1);
                    let once = r.opt_bool("once")?.unwrap_or(false);
                    r.opt_bool("immediately")?;
                    r.finish()?;
                    if let Some(event) = event {
                        rules.push(InjectError {
                            event,
                            errno,
                            once,
                            sector,
                            iotype,
                        });
                    }
                }
            }
            a.ignore(&["set-state", "take-child-perms", "unshare-child-perms"]);
            Ok(NodeOptions::Blkdebug {
                node_name,
                image,
                inject_error: rules,
                strong_options,
            })
        }
        BlockdevDriver::File => {
            let filename = a.req_str("filename")?;
            a.ignore(&[
                "pr-manager",
                "locking",
                "aio",
                "aio-max-batch",
                "drop-cache",
                "x-check-cache-dropped",
            ]);
            Ok(NodeOptions::File {
                node_name,
                filename,
            })
        }
        BlockdevDriver::Qcow2 => {
            let v = a.req_any("file")?;
            let file = parse_child(a, "file", v)?;
            let backing = match a.opt_any("backing") {
                None => None,
                Some(Value::Null) => Some(None),
                Some(Value::String(s)) => Some(Some(s.clone())),
                Some(_) => {
                    return Err(Error::generic(
                        "qjob simulates 'backing' as a node name or null",
                    ));
                }
            };
            a.ignore(&[
                "lazy-refcounts",
                "pass-discard-request",
                "pass-discard-snapshot",
                "pass-discard-other",
                "overlap-check",
                "cache-size",
                "l2-cache-size",
                "l2-cache-entry-size",
                "refcount-cache-size",
                "cache-clean-interval",
                "encrypt",
                "data-file",
            ]);
            Ok(NodeOptions::Qcow2 {
                node_name,
                file,
                backing,
            })
        }
        other => Err(Error::generic(format!(
            "qjob does not simulate the block driver '{other}'"
        ))),
    }
}
