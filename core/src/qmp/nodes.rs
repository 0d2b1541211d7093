//! The arguments of `blockdev-add`: `BlockdevOptions` for the drivers qjob
//! simulates.

use super::args::Args;
use crate::block::{BlkdebugEvent, BlockdevDriver, InjectError};
use crate::error::{Error, Result};
use crate::nodes::{Backing, ChildRef, NULL_CO_DEFAULT_SIZE, NodeOptions};
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

/// The block drivers `blockdev-add` opens (every other driver name QEMU
/// knows is refused as not simulated), in QEMU's alphabetical order.
pub(super) const SIMULATED: &[BlockdevDriver] = &[
    BlockdevDriver::Blkdebug,
    BlockdevDriver::Compress,
    BlockdevDriver::CopyOnRead,
    BlockdevDriver::File,
    BlockdevDriver::NullAio,
    BlockdevDriver::NullCo,
    BlockdevDriver::Preallocate,
    BlockdevDriver::Qcow2,
    BlockdevDriver::Raw,
    BlockdevDriver::Throttle,
];

/// The driver's "strong" options given, as QEMU's `json:` file name of the
/// node shows them: as given in JSON or `-drive`, typed from `--blockdev`.
fn strong(a: &Args<'_>, names: &[&str]) -> Vec<(String, Value)> {
    names
        .iter()
        .filter_map(|&n| {
            a.peek_read(n, STRONG_INTEGERS, STRONG_BOOLEANS)
                .map(|v| (n.to_owned(), v))
        })
        .collect()
}

/// The integer members of the strong options (and of blkdebug's
/// `inject-error` and `set-state` entries).
const STRONG_INTEGERS: &[&str] = &[
    "size",
    "offset",
    "align",
    "max-transfer",
    "opt-write-zero",
    "max-write-zero",
    "opt-discard",
    "max-discard",
    "errno",
    "sector",
    "state",
    "new_state",
];

/// Their boolean members.
const STRONG_BOOLEANS: &[&str] = &["read-zeroes", "once", "immediately"];

/// `BlockdevOptions` for the drivers qjob simulates.
pub(crate) fn parse_node(a: &mut Args<'_>) -> Result<NodeOptions> {
    parse_node_read_only(a).map(|(opts, _, _)| opts)
}

/// `blockdev-add`'s arguments: the options, whether the node opens
/// read-only, and its `active` (QEMU 10.0's; `None`: not given).
pub(super) fn parse_blockdev_add(a: &mut Args<'_>) -> Result<(NodeOptions, bool, Option<bool>)> {
    parse_node_read_only(a)
}

/// [`parse_node`], with the node's `read-only` and `active`.
fn parse_node_read_only(a: &mut Args<'_>) -> Result<(NodeOptions, bool, Option<bool>)> {
    let driver = a.req_enum("driver", BlockdevDriver::parse)?;
    let node_name = a.opt_str("node-name")?;
    a.ignore(&["discard", "cache"]);
    let active = a.opt_bool_since("active")?;
    let read_only = a.opt_bool("read-only")?.unwrap_or(false);
    a.ignore(&["auto-read-only", "force-share", "detect-zeroes"]);
    parse_driver(a, driver, node_name).map(|opts| (opts, read_only, active))
}

/// The members of the driver's own options.
fn parse_driver(
    a: &mut Args<'_>,
    driver: BlockdevDriver,
    node_name: Option<String>,
) -> Result<NodeOptions> {
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
            let strong_options = strong(a, &["offset", "size"]);
            let offset = a.opt_int("offset")?.unwrap_or(0);
            let size = a.opt_int("size")?;
            Ok(NodeOptions::Raw {
                node_name,
                file,
                offset,
                size,
                strong_options,
            })
        }
        BlockdevDriver::CopyOnRead | BlockdevDriver::Preallocate | BlockdevDriver::Compress => {
            let v = a.req_any("file")?;
            let file = parse_child(a, "file", v)?;
            if driver == BlockdevDriver::CopyOnRead && a.opt_str("bottom")?.is_some() {
                return Err(Error::generic(
                    "qjob does not simulate copy-on-read's 'bottom'",
                ));
            }
            if driver == BlockdevDriver::Preallocate {
                a.opt_int("prealloc-align")?;
                a.opt_int("prealloc-size")?;
            }
            Ok(NodeOptions::Filter {
                node_name,
                driver,
                file,
            })
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
            if let Some(list) = a.opt_list("inject-error")? {
                for (i, v) in list.iter().enumerate() {
                    let mut r = a.elem("inject-error", i, v)?;
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
                    let immediately = r.opt_bool("immediately")?.unwrap_or(false);
                    r.finish()?;
                    if let Some(event) = event {
                        rules.push(InjectError {
                            event,
                            errno,
                            once,
                            sector,
                            iotype,
                            immediately,
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
        BlockdevDriver::Throttle => {
            let group = a.req_str("throttle-group")?;
            let v = a.req_any("file")?;
            let file = parse_child(a, "file", v)?;
            Ok(NodeOptions::Throttle {
                node_name,
                group,
                file,
            })
        }
        BlockdevDriver::Qcow2 => {
            let v = a.req_any("file")?;
            let file = parse_child(a, "file", v)?;
            let backing = match a.opt_any("backing") {
                None => Backing::Image,
                Some(v) => parse_backing(a, v)?,
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

/// A qcow2 node's `backing` (QEMU's `BlockdevRefOrNull`): a node name,
/// `null`, or the options of a new node.
fn parse_backing(parent: &Args<'_>, v: &Value) -> Result<Backing> {
    match v {
        Value::Null => Ok(Backing::None),
        Value::String(s) => Ok(Backing::Node(s.clone())),
        Value::Object(o) => {
            let mut a = parent.nested("backing", o);
            let opts = parse_node(&mut a)?;
            a.finish()?;
            Ok(Backing::Options(Box::new(opts)))
        }
        _ => Err(Error::invalid_type(
            &parent.full("backing"),
            "BlockdevRefOrNull",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    /// [`SIMULATED`] lists exactly the drivers `parse_node` opens.
    #[test]
    fn the_simulated_drivers_are_listed() {
        let mut sorted = SIMULATED.to_vec();
        sorted.sort_by_key(|d| d.as_str());
        assert_eq!(sorted, SIMULATED);
        for &d in BlockdevDriver::ALL {
            let Value::Object(m) = json!({"driver": d.as_str()}) else {
                unreachable!()
            };
            let m: Map<String, Value> = m;
            let refused = match parse_node(&mut Args::new(&m, "")) {
                Err(e) => e.desc.starts_with("qjob does not simulate"),
                Ok(_) => false,
            };
            assert_eq!(refused, !SIMULATED.contains(&d), "{}", d.as_str());
        }
    }
}
