//! `query-blockstats`: the I/O statistics of QEMU's BlockBackends
//! (`BlockStats` per drive or device, with its node chain) or, with
//! `query-nodes`, of every node, each object built in QAPI member order.
//!
//! What qjob knows of a node is `wr_highest_offset`: the end of the
//! furthest write or write of zeroes that went through the model into the
//! node (a job's writes into its target, a `qemu-io` write, a write passed
//! down by a filter or a `raw` node), failed or not. A `file` node under a
//! qcow2 image is the exception: qjob does not know where qcow2 puts its
//! clusters and metadata in the file, so that node's value is not moved by
//! the image's writes (it stays 0 unless written directly). The
//! BlockBackend's own counters (bytes, operations, times, `idle_time_ns`)
//! count only what QEMU accounts at the BlockBackend, a device's requests
//! and `qemu-io`'s `aio_read`/`aio_write`, with host times; qjob has no
//! guest and does not account `aio_*` requests, so they read 0 as for a
//! drive nobody used, `timed_stats` is empty (no `stats-intervals`) and no
//! latency histogram is set. A `file` node's driver-specific discard
//! counters read 0: qjob makes no discards reach a file.

use serde_json::{Map, Value};

use super::args::Args;
use crate::block::{Driver, NodeRef, Role};
use crate::error::Result;
use crate::manager::JobManager;

/// `query-blockstats`: with `query-nodes: true` every node (in the order
/// they were named, oldest first), else every drive and every device's
/// BlockBackend (as `query-block` lists them).
pub(super) fn query_blockstats(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let query_nodes = a.opt_bool("query-nodes")?.unwrap_or(false);
    a.finish()?;
    let g = &m.graph;
    let mut list = Vec::new();
    if query_nodes {
        let mut nodes: Vec<NodeRef> = g.live().map(|(n, _)| n).collect();
        crate::sort::sort_by(&mut nodes, |&a, &b| g.node(a).seq < g.node(b).seq);
        for n in nodes {
            list.push(Value::Object(node_stats(m, Some(n), false, None)));
        }
        return Ok(Value::Array(list));
    }
    for b in &g.backends {
        if b.name.is_empty() && b.device.is_none() {
            continue;
        }
        let mut backend = Map::new();
        backend.insert("device".into(), b.name.clone().into());
        if let Some(d) = b.device {
            let qdev = g.devices[d].attached_id();
            if !qdev.is_empty() {
                backend.insert("qdev".into(), qdev.into());
            }
        }
        list.push(Value::Object(node_stats(m, b.root, true, Some(backend))));
    }
    Ok(Value::Array(list))
}

/// `bdrv_query_bds_stats`: one `BlockStats` for node `n` (`None`: a drive
/// without medium), after the members in `head` (a BlockBackend's
/// `device` and `qdev`, whose stats are the BlockBackend's: accounting set
/// up, `account_invalid` and `account_failed` on, as a drive's and a
/// device's are by default). `blk_level`: asked for a BlockBackend, where
/// implicit filters are skipped at every level and the chain below is
/// followed through `backing` too.
fn node_stats(
    m: &JobManager,
    n: Option<NodeRef>,
    blk_level: bool,
    head: Option<Map<String, Value>>,
) -> Map<String, Value> {
    let g = &m.graph;
    let accounted = head.is_some();
    let mut s = head.unwrap_or_default();
    let n = n.map(|n| {
        if blk_level {
            g.skip_implicit_filters(n)
        } else {
            n
        }
    });
    if let Some(n) = n {
        let name = &g.node(n).name;
        if !name.is_empty() {
            s.insert("node-name".into(), name.clone().into());
        }
    }
    let highest = n.map_or(0, |n| g.node(n).wr_highest);
    let mut stats = Map::new();
    for &member in m.qemu.profile().device_stats_members {
        let v = match member {
            "wr_highest_offset" => highest.into(),
            "account_invalid" | "account_failed" => accounted.into(),
            "timed_stats" => Value::Array(Vec::new()),
            _ => 0.into(),
        };
        stats.insert(member.into(), v);
    }
    s.insert("stats".into(), Value::Object(stats));
    let Some(n) = n else {
        return s;
    };
    if let Driver::File { .. } = g.node(n).driver {
        let mut specific = Map::new();
        specific.insert("driver".into(), g.node(n).driver.name().into());
        for counter in ["discard-nb-ok", "discard-nb-failed", "discard-bytes-ok"] {
            specific.insert(counter.into(), 0.into());
        }
        s.insert("driver-specific".into(), Value::Object(specific));
    }
    // The primary child when it holds data or is filtered: a format's
    // file, a filter's filtered node.
    let parent = if g.is_filter(n) {
        g.filter_or_cow_child(n)
    } else {
        g.child(n, Role::File)
    };
    if let Some(p) = parent {
        s.insert(
            "parent".into(),
            Value::Object(node_stats(m, Some(p), blk_level, None)),
        );
    }
    if blk_level && let Some(b) = g.filter_or_cow_child(n) {
        s.insert(
            "backing".into(),
            Value::Object(node_stats(m, Some(b), true, None)),
        );
    }
    s
}
