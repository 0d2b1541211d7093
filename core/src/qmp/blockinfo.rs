//! `query-block` and `query-named-block-nodes`: the block layer as QEMU
//! 7.2 describes it (`BlockInfo`, `BlockDeviceInfo`, `ImageInfo`), each
//! object built in QAPI member order, so that the wire writer puts the
//! members in QEMU's order.
//!
//! What qjob does not keep is left out or given QEMU's value for a plain
//! image: no throttling (the limits read 0), no dirty bitmaps, no internal
//! snapshot list; a qcow2 image's format-specific information is that of
//! an image made with the default options; `actual-size` only where the
//! image's description gives it (a drop-in binary's host files), a `file`
//! node's size is its file's length where known, else the image's size.

use serde_json::{Map, Value};

use super::args::Args;
use crate::block::{Driver, Graph, NodeRef, Role};
use crate::error::Result;
use crate::manager::JobManager;
use crate::model::JobType;

/// `query-named-block-nodes`: every node, newest first; `flat` leaves out
/// the image information of backing images.
pub(super) fn query_named_block_nodes(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let flat = a.opt_bool("flat")?.unwrap_or(false);
    a.finish()?;
    let g = &m.graph;
    // Slots are mostly in creation order: reversed, they are nearly sorted
    // already (sequence numbers are unique, so the result is the same).
    let mut nodes: Vec<NodeRef> = g.live().map(|(n, _)| n).collect();
    nodes.reverse();
    crate::sort::sort_by(&mut nodes, |&a, &b| g.node(a).seq > g.node(b).seq);
    let list = nodes
        .into_iter()
        .map(|n| device_info(m, n, None, flat))
        .collect();
    Ok(Value::Array(list))
}

/// `query-block`: every drive and every device's BlockBackend, oldest
/// first.
pub(super) fn query_block(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    let g = &m.graph;
    let mut list = Vec::new();
    for (i, b) in g.backends.iter().enumerate() {
        if b.name.is_empty() && b.device.is_none() {
            continue;
        }
        let device = b.device.map(|d| &g.devices[d]);
        let mut o = Map::new();
        o.insert("device".into(), b.name.clone().into());
        if let Some(d) = device {
            o.insert("qdev".into(), d.attached_id().into());
        }
        o.insert("type".into(), "unknown".into());
        // Without a device, a drive's medium could be changed; a CD-ROM
        // drive's too (its tray closed).
        let removable = device.is_none_or(|d| d.removable());
        o.insert("removable".into(), removable.into());
        o.insert("locked".into(), false.into());
        if device.is_some_and(|d| d.removable()) {
            o.insert("tray_open".into(), false.into());
        }
        if let Some(root) = b.root {
            let bs = g.skip_implicit_filters(root);
            let backend = crate::slab::BackendRef::at(i as u32);
            o.insert("inserted".into(), device_info(m, bs, Some(backend), false));
        }
        if device.is_some() {
            o.insert("io-status".into(), "ok".into());
        }
        list.push(Value::Object(o));
    }
    Ok(Value::Array(list))
}

use crate::slab::Slot;

/// QEMU's format name of a node's driver (a job's filter by its job).
fn format_name(m: &JobManager, n: NodeRef) -> String {
    let node = m.graph.node(n);
    if !matches!(node.driver, Driver::JobFilter { .. }) {
        return node.driver.name().to_owned();
    }
    let job = m.jobs.iter().find_map(|(_, j)| {
        let d = j.work.driver()?;
        (d.filter() == Some(n)).then_some(j)
    });
    match job {
        Some(j) => match j.job_type {
            JobType::Backup => "copy-before-write",
            JobType::Stream => "copy-on-read",
            JobType::Commit if is_stream_like(j) => "commit_top",
            _ => "mirror_top",
        },
        None => "mirror_top",
    }
    .to_owned()
}

/// A commit job that is not an active commit (a stream-like job).
fn is_stream_like(j: &crate::job::Job) -> bool {
    matches!(j.work, crate::driver::Work::Stream(_))
}

/// The image file of a node that reads its own file (`file`, `qcow2`,
/// `raw`), if any.
fn image_of(g: &Graph, n: NodeRef) -> Option<&crate::block::Image> {
    g.node_file(n).and_then(|f| g.files.get(f))
}

/// The next node in the chain QEMU describes: a filter's child, or a
/// format node's backing node (`bdrv_filter_or_cow_bs`).
fn chain_next(g: &Graph, n: NodeRef) -> Option<NodeRef> {
    g.filter_or_cow_child(n)
}

/// `bdrv_block_device_info`: a node, through a BlockBackend (`query-block`)
/// or on its own.
fn device_info(
    m: &JobManager,
    n: NodeRef,
    blk: Option<crate::slab::BackendRef>,
    flat: bool,
) -> Value {
    let g = &m.graph;
    let node = g.node(n);
    let mut o = Map::new();
    o.insert("file".into(), g.filename(n).into());
    o.insert("node-name".into(), node.name.clone().into());
    o.insert("ro".into(), node.read_only.into());
    o.insert("drv".into(), format_name(m, n).into());
    let cow = match node.driver {
        Driver::JobFilter { .. } | Driver::Blkdebug { .. } => None,
        _ => g.child(n, Role::Backing),
    };
    if let Some(b) = cow {
        o.insert("backing_file".into(), g.filename(b).into());
    }
    // Depth and image chain, filters included (query-block skips the
    // implicit ones).
    let mut chain = vec![n];
    if !flat {
        let mut cur = n;
        while let Some(next) = chain_next(g, cur) {
            cur = if blk.is_some() {
                g.skip_implicit_filters(next)
            } else {
                next
            };
            chain.push(cur);
        }
    }
    o.insert("backing_file_depth".into(), (chain.len() - 1).into());
    if m.profile().node_info_active {
        o.insert("active".into(), (!node.inactive).into());
    }
    o.insert("encrypted".into(), false.into());
    o.insert("detect_zeroes".into(), node.detect_zeroes.as_str().into());
    for k in ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr"] {
        o.insert(k.into(), 0.into());
    }
    let mut image: Option<Value> = None;
    for &c in chain.iter().rev() {
        image = Some(image_info(m, c, image.take()));
    }
    o.insert("image".into(), image.unwrap_or(Value::Null));
    let writeback = blk.is_none_or(|b| g.backend(b).writeback);
    let mut cache = Map::new();
    cache.insert("writeback".into(), writeback.into());
    cache.insert("direct".into(), node.cache_direct.into());
    cache.insert("no-flush".into(), node.cache_no_flush.into());
    o.insert("cache".into(), Value::Object(cache));
    o.insert("write_threshold".into(), 0.into());
    let bitmaps = dirty_bitmaps(m, n);
    if !bitmaps.is_empty() {
        o.insert("dirty-bitmaps".into(), Value::Array(bitmaps));
    }
    Value::Object(o)
}

/// `BlockDirtyInfo` (its members in QAPI order).
fn dirty_info(
    name: Option<&str>,
    count: u64,
    granularity: u32,
    recording: bool,
    busy: bool,
    persistent: bool,
) -> Value {
    let mut o = Map::new();
    if let Some(n) = name {
        o.insert("name".into(), n.into());
    }
    o.insert("count".into(), count.into());
    o.insert("granularity".into(), granularity.into());
    o.insert("recording".into(), recording.into());
    o.insert("busy".into(), busy.into());
    o.insert("persistent".into(), persistent.into());
    Value::Object(o)
}

/// A node's dirty bitmaps, newest first: the user's, and those a job keeps:
/// a mirror's bitmap of what is left to copy, a backup's two on its
/// copy-before-write filter and its block-copy bitmap of what is left to
/// copy. The version decides where the jobs' bitmaps of what is left are
/// ([`job_bitmaps_on_filter`](crate::profile::Profile::job_bitmaps_on_filter)).
fn dirty_bitmaps(m: &JobManager, n: NodeRef) -> Vec<Value> {
    let on_filter = m.profile().job_bitmaps_on_filter;
    let mut list = Vec::new();
    for (_, job) in m.jobs.iter() {
        if let crate::driver::Work::Mirror(mirror) = &job.work
            && let Some(filter) = mirror.filter
            && n == if on_filter { filter } else { mirror.source }
        {
            let granularity = mirror.granularity as u32;
            list.push(dirty_info(
                None,
                mirror.dirty_bytes(),
                granularity,
                !on_filter,
                false,
                false,
            ));
        }
        let crate::driver::Work::Backup(b) = &job.work else {
            continue;
        };
        let Some(filter) = b.filter else { continue };
        if filter == n {
            list.push(dirty_info(None, b.len, 65536, false, false, false));
            list.push(dirty_info(None, 0, 65536, false, false, false));
        }
        if n == if on_filter { filter } else { b.source } {
            let left = job.total.saturating_sub(job.current);
            list.push(dirty_info(None, left, 65536, false, false, false));
        }
    }
    let g = &m.graph;
    for bm in g.node(n).bitmaps.iter().rev() {
        let busy = m.bitmap_free(n, &bm.name).is_err();
        list.push(dirty_info(
            Some(&bm.name),
            bm.count(),
            g.bitmap_granularity(n, bm),
            bm.recording(),
            busy,
            bm.persistent,
        ));
    }
    list
}

/// The node whose `bdrv_get_info` answers for `n` (a raw node and the
/// filters ask the node below them); `None` when it fails (`null-co` has
/// none).
fn info_node(g: &Graph, n: NodeRef) -> Option<NodeRef> {
    let node = g.node(n);
    match node.driver {
        Driver::Qcow2 | Driver::File { .. } => Some(n),
        Driver::NullCo { .. } => None,
        Driver::Raw { .. } => info_node(g, g.child(n, Role::File)?),
        Driver::JobFilter { .. }
        | Driver::Throttle { .. }
        | Driver::Filter { .. }
        | Driver::Blkdebug { .. } => info_node(g, node.children.first()?.1),
    }
}

/// `bdrv_get_allocated_file_size`: `null-co` takes nothing, a filter what
/// its child takes, a format node what its file takes; `blkdebug` does not
/// say.
fn actual_size(g: &Graph, n: NodeRef) -> Option<u64> {
    let node = g.node(n);
    match node.driver {
        Driver::NullCo { .. } => Some(0),
        Driver::File { .. } => image_of(g, n).and_then(|i| i.actual_size),
        Driver::Raw { .. } | Driver::Qcow2 => actual_size(g, g.child(n, Role::File)?),
        Driver::JobFilter { .. } | Driver::Throttle { .. } | Driver::Filter { .. } => {
            actual_size(g, node.children.first()?.1)
        }
        Driver::Blkdebug { .. } => None,
    }
}

/// `bdrv_query_image_info` of one node, with the information of the
/// next node of its chain as `backing-image`.
fn image_info(m: &JobManager, n: NodeRef, backing_image: Option<Value>) -> Value {
    let g = &m.graph;
    let node = g.node(n);
    let image = image_of(g, n);
    let mut o = Map::new();
    o.insert("filename".into(), g.filename(n).into());
    o.insert("format".into(), format_name(m, n).into());
    let info_node = info_node(g, n);
    if info_node.is_some() {
        o.insert("dirty-flag".into(), false.into());
    }
    if let Some(a) = actual_size(g, n) {
        o.insert("actual-size".into(), a.into());
    }
    let size = match (&node.driver, image) {
        (Driver::File { .. }, Some(i)) => i.file_length.unwrap_or(node.size),
        _ => node.size,
    };
    o.insert("virtual-size".into(), size.into());
    if let Some(info_node) = info_node.filter(|&i| matches!(g.node(i).driver, Driver::Qcow2)) {
        let cluster = image_of(g, info_node)
            .and_then(|i| i.cluster_size)
            .unwrap_or(64 * 1024);
        o.insert("cluster-size".into(), cluster.into());
    }
    if matches!(node.driver, Driver::Qcow2)
        && let Some(img) = image
        && let Some(b) = &img.backing
    {
        o.insert("backing-filename".into(), b.clone().into());
        let overlay = g.node_file(n).unwrap_or_default();
        o.insert(
            "full-backing-filename".into(),
            crate::files::backing_path(overlay, b).into(),
        );
        if let Some(f) = img.backing_format {
            o.insert("backing-filename-format".into(), f.as_str().into());
        }
    }
    if let Some(b) = backing_image {
        o.insert("backing-image".into(), b);
    }
    if matches!(node.driver, Driver::Qcow2) {
        let mut data = Map::new();
        data.insert("compat".into(), "1.1".into());
        data.insert("extended-l2".into(), false.into());
        data.insert("lazy-refcounts".into(), false.into());
        data.insert("corrupt".into(), false.into());
        data.insert("refcount-bits".into(), 16.into());
        data.insert("compression-type".into(), "zlib".into());
        let mut spec = Map::new();
        spec.insert("type".into(), "qcow2".into());
        spec.insert("data".into(), Value::Object(data));
        o.insert("format-specific".into(), Value::Object(spec));
    }
    Value::Object(o)
}
