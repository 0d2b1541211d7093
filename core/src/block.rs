//! The simulated block layer: named nodes, the graph of parents and children,
//! drained sections, and I/O with `blkdebug` error injection.
//!
//! Only what the job layer can observe is modelled: node sizes, which nodes
//! read as zeroes, which parents a node has (QEMU's `bdrv_is_root_node`, and
//! which jobs a drained section pauses), and which I/O fails. Data itself is
//! not stored.

use crate::slab::{JobRef, Slot};
use serde::{Deserialize, Serialize};

pub(crate) use crate::slab::NodeRef;

/// The role of a child link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Role {
    /// A format driver's protocol child.
    File,
    /// blkdebug's child.
    Image,
    /// The backing node (also a job filter's child).
    Backing,
    /// A copy-before-write filter's target.
    Target,
}

crate::snapshot::codec::codec_enum!(Role {
    File,
    Image,
    Backing,
    Target
});

/// Something above a node in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Parent {
    /// Another node (its child link to this node).
    Node(NodeRef),
    /// A job's link to a node it works on, or a BlockBackend the job holds
    /// on it (one entry per link: see [`JobLink`](crate::perm::JobLink)).
    Job(JobRef),
    /// A BlockBackend attached to the node (a drive, a device's).
    Backend(crate::slab::BackendRef),
    /// A block export's BlockBackend.
    Export(crate::export::ExportRef),
}

crate::snapshot::codec::codec_enum!(Parent { Node(x0), Job(x0), Backend(x0), Export(x0) });

crate::model::qapi_enum! {
    /// `blkdebug` event names that rules can trigger on (the QAPI
    /// `BlkdebugEvent` values qjob's format drivers raise).
    BlkdebugEvent {
        /// Raised by a format driver (`raw`, `qcow2`) before each read.
        ReadAio = "read_aio",
        /// Raised by a format driver before each write.
        WriteAio = "write_aio",
    }
}

crate::model::qapi_enum! {
    /// Kinds of I/O that `blkdebug`'s `iotype` filter tells apart (QAPI
    /// `BlkdebugIOType`).
    IoType {
        /// A read.
        Read = "read",
        /// A write.
        Write = "write",
        /// A write of zeroes.
        WriteZeroes = "write-zeroes",
        /// A discard.
        Discard = "discard",
        /// A flush.
        Flush = "flush",
    }
}

crate::model::qapi_enum! {
    /// The block drivers of QEMU 7.2 (QAPI `BlockdevDriver`): what QMP's
    /// `driver` members name, and the formats of image files. qjob simulates
    /// `null-co`/`null-aio`, `raw`, `blkdebug`, `file` and `qcow2` nodes and
    /// the filters `throttle`, `copy-on-read`, `preallocate` and `compress`,
    /// and reads `raw` and `qcow2` images; QMP accepts every name.
    BlockdevDriver {
        Blkdebug = "blkdebug",
        Blklogwrites = "blklogwrites",
        Blkreplay = "blkreplay",
        Blkverify = "blkverify",
        Bochs = "bochs",
        Cloop = "cloop",
        Compress = "compress",
        CopyBeforeWrite = "copy-before-write",
        CopyOnRead = "copy-on-read",
        Dmg = "dmg",
        File = "file",
        SnapshotAccess = "snapshot-access",
        Ftp = "ftp",
        Ftps = "ftps",
        Gluster = "gluster",
        HostCdrom = "host_cdrom",
        HostDevice = "host_device",
        Http = "http",
        Https = "https",
        IoUring = "io_uring",
        Iscsi = "iscsi",
        Luks = "luks",
        Nbd = "nbd",
        Nfs = "nfs",
        NullAio = "null-aio",
        NullCo = "null-co",
        Nvme = "nvme",
        NvmeIoUring = "nvme-io_uring",
        Parallels = "parallels",
        Preallocate = "preallocate",
        Qcow = "qcow",
        Qcow2 = "qcow2",
        Qed = "qed",
        Quorum = "quorum",
        Raw = "raw",
        Rbd = "rbd",
        Replication = "replication",
        Ssh = "ssh",
        Throttle = "throttle",
        Vdi = "vdi",
        Vhdx = "vhdx",
        VirtioBlkVfioPci = "virtio-blk-vfio-pci",
        VirtioBlkVhostUser = "virtio-blk-vhost-user",
        VirtioBlkVhostVdpa = "virtio-blk-vhost-vdpa",
        Vmdk = "vmdk",
        Vpc = "vpc",
        Vvfat = "vvfat",
    }
}

crate::model::qapi_enum! {
    /// QAPI `BlockdevDetectZeroesOptions`.
    DetectZeroes {
        /// Off.
        Off = "off",
        /// Zero writes become write-zeroes requests.
        On = "on",
        /// And discards where possible.
        Unmap = "unmap",
    }
}

/// What block status says about a range (`bdrv_block_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Status {
    /// Holds data.
    Data,
    /// Reads as zeroes.
    Zero,
    /// Neither (a `null-co` node without `read-zeroes`).
    Unallocated,
}

crate::snapshot::codec::codec_enum!(Status {
    Data,
    Zero,
    Unallocated
});

/// One `inject-error` rule of a `blkdebug` node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectError {
    /// The event that arms the rule.
    pub event: BlkdebugEvent,
    /// Positive errno the failing request returns (default `EIO`).
    pub errno: i32,
    /// Remove the rule after it fired once.
    pub once: bool,
    /// Only fail requests touching this 512-byte sector (`-1`: any).
    pub sector: i64,
    /// Only fail this kind of I/O (`None`: read, write, write-zeroes,
    /// discard and flush).
    pub iotype: Option<IoType>,
    /// Fail the request at once (`immediately`), not after yielding once.
    #[serde(default)]
    pub immediately: bool,
}

crate::snapshot::codec::codec_struct!(InjectError {
    event,
    errno,
    once,
    sector,
    iotype,
    immediately
});

/// What kind of node this is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Driver {
    /// `null-co`: discards writes, reads zeroes if `read_zeroes`.
    NullCo { read_zeroes: bool },
    /// `raw` format over its `file` child (raises blkdebug events on it),
    /// `offset` bytes into it.
    Raw {
        /// Where the node's data starts in its child (`offset`).
        offset: u64,
    },
    /// `blkdebug` over its `image` child.
    Blkdebug {
        rules: Vec<InjectError>,
        active: Vec<usize>,
    },
    /// A filter a job inserted above a node.
    JobFilter {
        /// Which one.
        kind: FilterKind,
    },
    /// `file`: an image file of the scenario's folder.
    File { filename: String },
    /// `qcow2` over its `file` child, with an optional backing node.
    Qcow2,
    /// A filter driver the user added over its `file` child
    /// (`copy-on-read`, `preallocate`, `compress`): I/O passes through.
    Filter {
        /// Which driver.
        driver: BlockdevDriver,
    },
    /// `throttle` over its `file` child: I/O through it waits for its
    /// throttle group.
    Throttle {
        /// The group's name.
        group: String,
    },
}

crate::snapshot::codec::codec_enum!(Driver { NullCo { read_zeroes }, Raw { offset }, Blkdebug { rules, active }, JobFilter { kind }, File { filename }, Qcow2, Filter { driver }, Throttle { group } });

impl Driver {
    /// The QAPI driver name the node was opened with (`None` for a job's
    /// filter, which QMP cannot open). `null-aio` nodes are `null-co`.
    pub fn qapi(&self) -> Option<BlockdevDriver> {
        Some(match self {
            Driver::NullCo { .. } => BlockdevDriver::NullCo,
            Driver::Raw { .. } => BlockdevDriver::Raw,
            Driver::Blkdebug { .. } => BlockdevDriver::Blkdebug,
            Driver::File { .. } => BlockdevDriver::File,
            Driver::Qcow2 => BlockdevDriver::Qcow2,
            Driver::Throttle { .. } => BlockdevDriver::Throttle,
            Driver::Filter { driver } => *driver,
            Driver::JobFilter { .. } => return None,
        })
    }

    /// `block_driver_can_compress`: whether the driver takes compressed
    /// writes (of qjob's: `qcow2`, and the `copy-on-read` and `throttle`
    /// filters, which pass them on).
    pub fn can_compress(&self) -> bool {
        matches!(
            self,
            Driver::Qcow2
                | Driver::Throttle { .. }
                | Driver::Filter {
                    driver: BlockdevDriver::CopyOnRead
                }
        )
    }

    /// The driver's QAPI name (`filter` for a job's filter node, which has
    /// none).
    pub fn name(&self) -> &'static str {
        self.qapi().map_or("filter", BlockdevDriver::as_str)
    }
}

/// The filters jobs insert above their nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FilterKind {
    /// `copy-before-write` (backup): its `file` is the source, its
    /// `target` the backup's target.
    CopyBeforeWrite,
    /// `mirror_top` (mirror and active commit; `commit`: an active
    /// commit's).
    MirrorTop {
        /// Whether the job is an active commit.
        commit: bool,
    },
    /// `commit_top` (non-active commit).
    CommitTop,
    /// `copy-on-read` (stream).
    CopyOnRead,
}

crate::snapshot::codec::codec_enum!(FilterKind { CopyBeforeWrite, MirrorTop { commit }, CommitTop, CopyOnRead });

/// A dirty bitmap of a node: what writes to the node dirtied while it
/// recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Bitmap {
    pub name: String,
    /// Granularity in bytes (`None`: the node's default).
    pub granularity: Option<u32>,
    pub persistent: bool,
    /// Not recording (`disabled`, `block-dirty-bitmap-disable`). A frozen
    /// bitmap (one with a successor) is disabled; its successor records
    /// or not as the bitmap did.
    #[serde(default)]
    pub disabled: bool,
    /// The dirty extents, in whole granules within the node: sorted,
    /// disjoint.
    #[serde(default)]
    pub dirty: Vec<(u64, u64)>,
    /// While a backup synchronises it (`bdrv_dirty_bitmap_create_successor`
    /// at the job's start): the anonymous successor that records the
    /// writes meanwhile, with whether it is disabled.
    #[serde(default)]
    pub successor: Option<(bool, Vec<(u64, u64)>)>,
    /// A `transaction`'s `block-dirty-bitmap-remove` holds it, busy, until
    /// the transaction commits (never set between two commands).
    #[serde(skip)]
    pub removing: bool,
}

crate::snapshot::codec::codec_struct!(Bitmap { name, granularity, persistent, disabled, dirty, successor } skip { removing });

impl Bitmap {
    /// A new, empty bitmap.
    pub fn new(name: String, granularity: Option<u32>, persistent: bool, disabled: bool) -> Bitmap {
        Bitmap {
            name,
            granularity,
            persistent,
            disabled,
            dirty: Vec::new(),
            successor: None,
            removing: false,
        }
    }

    /// `bdrv_dirty_bitmap_recording`: the bitmap or its successor records.
    pub fn recording(&self) -> bool {
        !self.disabled || self.successor.as_ref().is_some_and(|(d, _)| !d)
    }

    /// `bdrv_get_dirty_count`: the dirty bytes.
    pub fn count(&self) -> u64 {
        self.dirty.iter().map(|&(_, l)| l).sum()
    }

    /// `bdrv_dirty_bitmap_abdicate`: the successor takes the bitmap's place
    /// (its contents and its recording state).
    pub fn abdicate(&mut self) {
        if let Some((disabled, dirty)) = self.successor.take() {
            self.disabled = disabled;
            self.dirty = dirty;
        }
    }

    /// `bdrv_reclaim_dirty_bitmap`: the successor merges back into the
    /// bitmap, which records again as the successor did.
    pub fn reclaim(&mut self) {
        if let Some((disabled, dirty)) = self.successor.take() {
            self.disabled = disabled;
            for (o, l) in dirty {
                add_extent(&mut self.dirty, o, l);
            }
        }
    }
}

/// A block node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Node {
    pub name: String,
    pub driver: Driver,
    pub size: u64,
    /// Parents, most recently attached first (QEMU inserts at the head).
    pub parents: Vec<Parent>,
    /// Children with their role names (`file`, `image`, `backing`).
    pub children: Vec<(Role, NodeRef)>,
    /// Nesting depth of drained sections over this node.
    pub quiesce: u32,
    /// How many of them drain its whole subtree (`recursive_quiesce_counter`):
    /// a child linked under it meanwhile is drained as well.
    #[serde(default)]
    pub recursive_quiesce: u32,
    /// Added by the user (`blockdev-add` or the default world), so it has a
    /// name that commands can use.
    pub user: bool,
    /// Owned by the monitor (the root of a `blockdev-add`, a default-world
    /// node): only `blockdev-del` closes it. Other nodes close when their
    /// last user goes.
    pub monitor: bool,
    /// Opened read-only (`read-only: true`, a backing chain opened from an
    /// image's header): no user may write it.
    pub read_only: bool,
    /// Inactive (QEMU 10.0: `blockdev-add` with `active: false`,
    /// `blockdev-set-active`): no active node may take it as a child.
    #[serde(default)]
    pub inactive: bool,
    /// `detect-zeroes` (`unmap` on a drive-backup target).
    pub detect_zeroes: DetectZeroes,
    /// When it was named (QEMU lists nodes in that order, newest first).
    pub seq: u64,
    /// The options its `json:` file name shows, as given.
    #[serde(with = "crate::snapshot::json_text")]
    pub strong_options: Vec<(String, serde_json::Value)>,
    /// `cache.direct` and `cache.no-flush`.
    pub cache_direct: bool,
    pub cache_no_flush: bool,
    /// Extents that hold data (for backing chains): sorted, disjoint.
    pub allocated: Vec<(u64, u64)>,
    /// Jobs that block every operation on this node (op blockers), newest first.
    pub blockers: Vec<JobRef>,
    /// Dirty bitmaps (`block-dirty-bitmap-add`), oldest first.
    pub bitmaps: Vec<Bitmap>,
    /// `wr_highest_offset`: the end of the furthest write (or write of
    /// zeroes) made to this node, failed or not (`query-blockstats`).
    #[serde(default)]
    pub wr_highest: u64,
}

crate::snapshot::codec::codec_struct!(Node {
    name,
    driver,
    size,
    parents,
    children,
    quiesce,
    recursive_quiesce,
    user,
    monitor,
    read_only,
    inactive,
    detect_zeroes,
    seq,
    strong_options,
    cache_direct,
    cache_no_flush,
    allocated,
    blockers,
    bitmaps,
    wr_highest
});

/// An image file, as the caller describes it: a file of the scenario's
/// simulated folder ([`JobManager::add_image`](crate::JobManager::add_image),
/// the `image` directive) or a host file a drop-in binary read
/// ([`JobManager::handle_file`](crate::JobManager::handle_file)).
///
/// Build it with `..Default::default()` for the members not given: more
/// may come.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFile {
    /// `qcow2` or `raw`.
    pub format: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// File name of the backing image, if any, as the image stores it (a
    /// relative name is relative to the image's own directory).
    pub backing: Option<String>,
    /// Format of the backing image as the image names it (qcow2's backing
    /// format extension); `None`: the backing file's own format (QEMU
    /// probes it).
    pub backing_format: Option<String>,
    /// Extents written with data: `(offset, length)`.
    pub data: Vec<(u64, u64)>,
    /// Internal snapshot tags (qcow2 only).
    pub snapshots: Vec<String>,
    /// qcow2 cluster size (`None`: 64 KiB).
    pub cluster_size: Option<u64>,
    /// The file's length in bytes, the virtual size of a `file` node over
    /// it (`None`: taken as the image's virtual size).
    pub file_length: Option<u64>,
    /// The bytes the file takes on disk (`actual-size` in QEMU's image
    /// information; `None`: not known, left out).
    pub actual_size: Option<u64>,
}

crate::snapshot::codec::codec_struct!(ImageFile {
    format,
    size,
    backing,
    backing_format,
    data,
    snapshots,
    cluster_size,
    file_length,
    actual_size
});

/// An image file of the simulated folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Image {
    /// Its format: `None` for a format qjob does not read (the image reads
    /// as zeroes and opens as `raw`).
    pub format: Option<BlockdevDriver>,
    /// Virtual size in bytes.
    pub size: u64,
    /// File name of the backing image, if any.
    pub backing: Option<String>,
    /// The backing image's format as the image names it (`None`: probed).
    pub backing_format: Option<BlockdevDriver>,
    /// Extents written with data: `(offset, length)`.
    pub data: Vec<(u64, u64)>,
    /// Internal snapshot tags (qcow2 only).
    pub snapshots: Vec<String>,
    /// qcow2 cluster size, file length and size on disk, where known.
    pub cluster_size: Option<u64>,
    pub file_length: Option<u64>,
    pub actual_size: Option<u64>,
}

crate::snapshot::codec::codec_struct!(Image {
    format,
    size,
    backing,
    backing_format,
    data,
    snapshots,
    cluster_size,
    file_length,
    actual_size
});

impl Image {
    /// Whether the image is a qcow2 image.
    pub fn is_qcow2(&self) -> bool {
        self.format == Some(BlockdevDriver::Qcow2)
    }
}

impl From<ImageFile> for Image {
    fn from(f: ImageFile) -> Image {
        Image {
            format: BlockdevDriver::parse(&f.format),
            size: f.size,
            backing: f.backing,
            backing_format: f.backing_format.as_deref().and_then(BlockdevDriver::parse),
            data: f.data,
            snapshots: f.snapshots,
            cluster_size: f.cluster_size,
            file_length: f.file_length,
            actual_size: f.actual_size,
        }
    }
}

/// The node registry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Graph {
    pub nodes: Vec<Option<Node>>,
    pub by_name: crate::vecmap::VecMap<String, NodeRef>,
    pub files: crate::vecmap::VecMap<String, Image>,
    /// The host-files mode of the folder (`files.rs`).
    pub host: crate::files::HostFiles,
    /// BlockBackends, oldest first (never removed: qjob has no command
    /// that deletes one).
    pub backends: Vec<crate::drive::Backend>,
    /// Devices with a drive, oldest first.
    pub devices: Vec<crate::drive::Device>,
    /// Devices made without an `id` so far (their QOM paths count them).
    pub anonymous_devices: u32,
    /// Nodes named so far.
    pub node_seq: u64,
    pub implicit_counter: u64,
    /// The throttle groups, and the requests that went through `throttle`
    /// nodes and wait to be accounted.
    pub throttling: crate::throttle::Throttling,
    /// Whether the last request blkdebug failed failed at once
    /// (`immediately`), before its coroutine yielded.
    #[serde(skip)]
    pub failed_immediately: bool,
    /// Writes (data, zeroes, discards) that went through a backup's
    /// copy-before-write filter since they were last taken: the filter
    /// and the range. The backup copies the old data first and counts it
    /// (block/copy-before-write.c `cbw_do_copy_before_write`).
    #[serde(skip)]
    pub cbw_writes: Vec<(NodeRef, u64, u64)>,
    /// The NBD server and the block exports.
    pub exports: crate::export::Exports,
    /// Free node slots, reused by [`Graph::add`].
    pub free: Vec<NodeRef>,
}

crate::snapshot::codec::codec_struct!(Graph { nodes, by_name, files, host, backends, devices, anonymous_devices, node_seq, implicit_counter, throttling, exports, free } skip { failed_immediately, cbw_writes });

impl Graph {
    /// Checks a restored graph's structure: every reference in bounds and
    /// alive, child and parent links mirroring each other, names indexed,
    /// and no cycle (a cycle would recurse forever in drains). `job_alive`
    /// says whether a job reference is live.
    pub fn validate(&self, job_alive: impl Fn(JobRef) -> bool) -> Result<(), String> {
        for (name, &n) in &self.by_name {
            if self
                .nodes
                .get(n.pos())
                .and_then(|x| x.as_ref())
                .map(|x| &x.name)
                != Some(name)
            {
                return Err(format!("node name '{name}' names another node"));
            }
        }
        for &f in &self.free {
            if !matches!(self.nodes.get(f.pos()), Some(None)) {
                return Err(format!("free node slot {f} is in use"));
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            let me = NodeRef::at(i as u32);
            for &(_, c) in &node.children {
                let back = self.nodes.get(c.pos()).and_then(|x| x.as_ref());
                if !back.is_some_and(|b| b.parents.contains(&Parent::Node(me))) {
                    return Err(format!("node {i} has a child {c} that does not name it"));
                }
            }
            for p in &node.parents {
                let ok = match *p {
                    Parent::Node(pn) => self
                        .nodes
                        .get(pn.pos())
                        .and_then(|x| x.as_ref())
                        .is_some_and(|x| x.children.iter().any(|&(_, c)| c == me)),
                    Parent::Job(j) => job_alive(j),
                    Parent::Export(e) => self.exports.get(e).is_some_and(|x| x.node == me),
                    Parent::Backend(b) => self
                        .backends
                        .get(b.pos())
                        .is_some_and(|x| x.root == Some(me)),
                };
                if !ok {
                    return Err(format!("node {i} names a parent that does not hold it"));
                }
            }
            if node.blockers.iter().any(|&j| !job_alive(j)) {
                return Err(format!("node {i} is blocked by a missing job"));
            }
            if let Driver::Blkdebug { rules, active } = &node.driver
                && active.iter().any(|&r| r >= rules.len())
            {
                return Err(format!("node {i} has an active rule that does not exist"));
            }
        }
        for x in &self.exports.list {
            let me = Parent::Export(crate::export::ExportRef(x.serial));
            let linked = self
                .nodes
                .get(x.node.pos())
                .and_then(|n| n.as_ref())
                .is_some_and(|n| n.parents.contains(&me));
            if !linked || !x.perm.is_valid() || !x.shared.is_valid() {
                return Err(format!("export '{}' is not linked to its node", x.id));
            }
        }
        for (i, b) in self.backends.iter().enumerate() {
            let me = Parent::Backend(crate::slab::BackendRef::at(i as u32));
            if let Some(n) = b.root
                && !self
                    .nodes
                    .get(n.pos())
                    .and_then(|x| x.as_ref())
                    .is_some_and(|x| x.parents.contains(&me))
            {
                return Err(format!("BlockBackend {i} has a root that does not name it"));
            }
            if b.device.is_some_and(|d| d >= self.devices.len()) {
                return Err(format!("BlockBackend {i} has a device that does not exist"));
            }
        }
        // Acyclic: a depth-first walk down the children of every node.
        let mut state = vec![0u8; self.nodes.len()]; // 0 new, 1 on the path, 2 done
        for start in 0..self.nodes.len() {
            let mut stack = vec![(start, 0usize)];
            while let Some(&mut (n, ref mut next)) = stack.last_mut() {
                if *next == 0 {
                    if state[n] == 2 {
                        stack.pop();
                        continue;
                    }
                    state[n] = 1;
                }
                let children = self.nodes[n].as_ref().map_or(&[][..], |x| &x.children[..]);
                if let Some(&(_, c)) = children.get(*next) {
                    *next += 1;
                    match state[c.pos()] {
                        1 => return Err(format!("the node graph has a cycle through node {c}")),
                        0 => stack.push((c.pos(), 0)),
                        _ => {}
                    }
                } else {
                    state[n] = 2;
                    stack.pop();
                }
            }
        }
        Ok(())
    }

    /// The newest image node that holds `n` as its backing child (QEMU's
    /// backing op blocker on `n` names it; a job's filter sets none).
    pub fn backing_parent(&self, n: NodeRef) -> Option<NodeRef> {
        self.node(n).parents.iter().find_map(|&p| match p {
            Parent::Node(pn)
                if !matches!(self.node(pn).driver, Driver::JobFilter { .. })
                    && self
                        .node(pn)
                        .children
                        .iter()
                        .any(|&(r, c)| r == Role::Backing && c == n) =>
            {
                Some(pn)
            }
            _ => None,
        })
    }

    pub fn node(&self, n: NodeRef) -> &Node {
        self.nodes[n.pos()].as_ref().expect("live node")
    }

    pub fn node_mut(&mut self, n: NodeRef) -> &mut Node {
        self.nodes[n.pos()].as_mut().expect("live node")
    }

    /// Whether node slot `n` holds a live node.
    pub fn alive(&self, n: NodeRef) -> bool {
        self.nodes.get(n.pos()).is_some_and(|x| x.is_some())
    }

    /// Every live node, oldest slot first.
    pub fn live(&self) -> impl Iterator<Item = (NodeRef, &Node)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (NodeRef::at(i as u32), n)))
    }

    pub fn lookup(&self, name: &str) -> Option<NodeRef> {
        self.by_name.get(name).copied()
    }

    /// Adds a node; `user` nodes, and job filters the user named
    /// (`filter-node-name`), are registered under their name.
    pub fn add(&mut self, name: String, driver: Driver, size: u64, user: bool) -> NodeRef {
        self.node_seq += 1;
        let node = Node {
            name,
            driver,
            size,
            parents: Vec::new(),
            children: Vec::new(),
            quiesce: 0,
            recursive_quiesce: 0,
            inactive: false,
            user,
            monitor: false,
            read_only: false,
            detect_zeroes: DetectZeroes::Off,
            seq: self.node_seq,
            strong_options: Vec::new(),
            cache_direct: false,
            cache_no_flush: false,
            allocated: Vec::new(),
            blockers: Vec::new(),
            bitmaps: Vec::new(),
            wr_highest: 0,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.nodes[i.pos()] = Some(node);
                i
            }
            None => {
                self.nodes.push(Some(node));
                NodeRef::at((self.nodes.len() - 1) as u32)
            }
        };
        if user || !self.node(idx).name.is_empty() {
            let name = self.node(idx).name.clone();
            self.by_name.insert(name, idx);
        }
        idx
    }

    /// Frees a node slot (the node must be unlinked already).
    pub fn remove(&mut self, n: NodeRef) {
        if let Some(node) = self.nodes[n.pos()].take() {
            if self.by_name.get(&node.name) == Some(&n) {
                self.by_name.remove(&node.name);
            }
            self.free.push(n);
        }
    }

    /// A name for a node QEMU creates itself (`id_generate`): `#block`,
    /// a counter, and two digits QEMU draws at random (here derived from
    /// the counter, so that the same calls give the same names).
    pub fn implicit_name(&mut self) -> String {
        let n = self.implicit_counter;
        self.implicit_counter += 1;
        format!("#block{n}{:02}", (n * 37 + 11) % 100)
    }

    /// Links `child` under `parent` with `role`.
    pub fn attach_child(&mut self, parent: NodeRef, role: Role, child: NodeRef) {
        self.node_mut(parent).children.push((role, child));
        self.node_mut(child).parents.insert(0, Parent::Node(parent));
    }

    /// Removes the link `parent` → `child`.
    pub fn detach_child(&mut self, parent: NodeRef, child: NodeRef) {
        self.node_mut(parent).children.retain(|&(_, c)| c != child);
        let p = Parent::Node(parent);
        let parents = &mut self.node_mut(child).parents;
        if let Some(i) = parents.iter().position(|&x| x == p) {
            parents.remove(i);
        }
    }

    /// Whether `n` is `top` or lies anywhere below it, through child links
    /// of any role (the subtree `should_update_child` searches).
    pub fn in_subtree(&self, top: NodeRef, n: NodeRef) -> bool {
        let mut seen = vec![top];
        let mut queue = std::collections::VecDeque::from([top]);
        while let Some(v) = queue.pop_front() {
            if v == n {
                return true;
            }
            for &(_, c) in &self.node(v).children {
                if !seen.contains(&c) {
                    seen.push(c);
                    queue.push_back(c);
                }
            }
        }
        false
    }

    /// `bdrv_is_root_node`: nothing but the monitor and BlockBackends
    /// (a drive's, a device's, an export's) use the node.
    pub fn is_root(&self, n: NodeRef) -> bool {
        self.node(n)
            .parents
            .iter()
            .all(|p| matches!(p, Parent::Backend(_) | Parent::Export(_)))
    }

    /// The children of `n`, oldest link first.
    pub fn child_nodes(&self, n: NodeRef) -> Vec<NodeRef> {
        self.node(n).children.iter().map(|&(_, c)| c).collect()
    }

    /// The child with a given role.
    pub fn child(&self, n: NodeRef, role: Role) -> Option<NodeRef> {
        self.node(n)
            .children
            .iter()
            .find(|(r, _)| *r == role)
            .map(|&(_, c)| c)
    }

    /// Whether `n` is a filter (QEMU's `is_filter` drivers qjob has: a
    /// job's filter, `throttle`, `blkdebug`, `copy-on-read`, `preallocate`,
    /// `compress`).
    pub fn is_filter(&self, n: NodeRef) -> bool {
        matches!(
            self.node(n).driver,
            Driver::JobFilter { .. }
                | Driver::Blkdebug { .. }
                | Driver::Throttle { .. }
                | Driver::Filter { .. }
        )
    }

    /// `bdrv_filter_or_cow_bs`: the node a filter filters or an image's
    /// backing node.
    pub fn filter_or_cow_child(&self, n: NodeRef) -> Option<NodeRef> {
        if self.is_filter(n) {
            // The filtered child, never a copy-before-write filter's target.
            self.node(n)
                .children
                .iter()
                .find(|&&(r, _)| r != Role::Target)
                .map(|&(_, c)| c)
        } else {
            self.child(n, Role::Backing)
        }
    }

    /// `bdrv_block_status_above` from `off`: how many of the `len` bytes
    /// there have one block status (data, or not), through the whole
    /// backing chain.
    pub fn status_run(&self, n: NodeRef, off: u64, len: u64) -> u64 {
        let mut edges = Vec::new();
        self.data_edges(n, &mut edges);
        let data = |x: u64| edges.iter().any(|&(o, l)| o <= x && x < o + l);
        let here = data(off);
        let end = off + len;
        // The next edge of a data extent after `off` where the status turns.
        let mut run_end = end;
        for &(o, l) in &edges {
            for e in [o, o + l] {
                if e > off && e < run_end && data(e) != here {
                    run_end = e;
                }
            }
        }
        run_end - off
    }

    /// The extents that hold data below `n`, every layer of its chain.
    fn data_edges(&self, n: NodeRef, out: &mut Vec<(u64, u64)>) {
        let node = self.node(n);
        match &node.driver {
            Driver::NullCo { .. } => {}
            Driver::File { filename } => {
                if let Some(img) = self.files.get(filename)
                    && img.format == Some(BlockdevDriver::Raw)
                {
                    out.extend(img.data.iter().copied());
                }
            }
            Driver::Qcow2 => {
                out.extend(node.allocated.iter().copied());
                if let Some(b) = self.child(n, Role::Backing) {
                    self.data_edges(b, out);
                }
            }
            _ => {
                for &(_, c) in &node.children {
                    self.data_edges(c, out);
                }
            }
        }
    }

    /// Block status of `[off, off+len)` of node `n`.
    pub fn status(&self, n: NodeRef, off: u64, len: u64) -> Status {
        let node = self.node(n);
        match &node.driver {
            Driver::NullCo { read_zeroes } => {
                if *read_zeroes {
                    Status::Zero
                } else {
                    Status::Unallocated
                }
            }
            Driver::Raw { offset } => match node.children.first() {
                Some(&(_, c)) => self.status(c, off + offset, len),
                None => Status::Zero,
            },
            Driver::JobFilter { .. } | Driver::Throttle { .. } | Driver::Filter { .. } => {
                match node.children.first() {
                    Some(&(_, c)) => self.status(c, off, len),
                    None => Status::Zero,
                }
            }
            Driver::Blkdebug { .. } => match self.child(n, Role::Image) {
                Some(c) => self.status(c, off, len),
                None => Status::Zero,
            },
            Driver::File { filename } => match self.files.get(filename) {
                Some(img)
                    if img.format == Some(BlockdevDriver::Raw) && overlaps(&img.data, off, len) =>
                {
                    Status::Data
                }
                _ => Status::Zero,
            },
            Driver::Qcow2 => {
                if overlaps(&node.allocated, off, len) {
                    return Status::Data;
                }
                match self.child(n, Role::Backing) {
                    Some(b) => self.status(b, off, len),
                    None => Status::Zero,
                }
            }
        }
    }

    /// Whether I/O through `n` can neither fail nor change what block status
    /// reports (no `blkdebug`, no `qcow2` below it), so a whole range can be
    /// copied at once.
    pub fn io_is_trivial(&self, n: NodeRef) -> bool {
        let node = self.node(n);
        match node.driver {
            Driver::Blkdebug { .. } | Driver::Qcow2 | Driver::Throttle { .. } => false,
            _ => node.children.iter().all(|&(_, c)| self.io_is_trivial(c)),
        }
    }

    /// Whether a request through `n` reaches a `file` node: file-posix
    /// hands its requests to the thread pool, so the request completes
    /// later, in a later turn of the main loop, not inside the call that
    /// issued it (`null-co` completes at once).
    pub fn reaches_file(&self, n: NodeRef) -> bool {
        let node = self.node(n);
        match node.driver {
            Driver::File { .. } => true,
            _ => node.children.iter().any(|&(_, c)| self.reaches_file(c)),
        }
    }

    /// Whether a node reads as zeroes in `[off, off+len)`.
    pub fn reads_zeroes(&self, n: NodeRef, off: u64, len: u64) -> bool {
        self.status(n, off, len) == Status::Zero
    }

    /// Raises a blkdebug event on `n` (the child a format driver reads through).
    fn debug_event(&mut self, n: NodeRef, event: BlkdebugEvent) {
        if let Driver::Blkdebug { rules, active } = &mut self.node_mut(n).driver {
            let hits: Vec<usize> = rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.event == event)
                .map(|(i, _)| i)
                .collect();
            if !hits.is_empty() {
                active.clear();
                for i in hits {
                    active.insert(0, i);
                }
            }
        }
    }

    /// blkdebug's `rule_check`: the errno an I/O on `n` fails with, if any.
    fn rule_check(&mut self, n: NodeRef, off: u64, len: u64, ty: IoType) -> Option<i32> {
        let Driver::Blkdebug { rules, active } = &mut self.node_mut(n).driver else {
            return None;
        };
        let pos = active.iter().position(|&i| {
            let r = &rules[i];
            let type_ok = match r.iotype {
                Some(t) => t == ty,
                None => true,
            };
            type_ok
                && (r.sector < 0 || {
                    let s = r.sector as u64 * 512;
                    len > 0 && s >= off && s < off + len
                })
        })?;
        let i = active[pos];
        let errno = rules[i].errno;
        let immediately = rules[i].immediately;
        if rules[i].once {
            active.remove(pos);
            rules.remove(i);
            for a in active.iter_mut() {
                if *a > i {
                    *a -= 1;
                }
            }
        }
        self.failed_immediately = immediately;
        Some(errno)
    }

    /// A read of `[off, off+len)` through node `n`; `Err(errno)` on an
    /// injected error.
    pub fn read(&mut self, n: NodeRef, off: u64, len: u64) -> Result<(), i32> {
        self.io(n, off, len, IoType::Read)
    }

    /// A write through node `n`.
    pub fn write(&mut self, n: NodeRef, off: u64, len: u64) -> Result<(), i32> {
        self.io(n, off, len, IoType::Write)
    }

    /// A write of zeroes through node `n`.
    pub fn write_zeroes(&mut self, n: NodeRef, off: u64, len: u64) -> Result<(), i32> {
        self.io(n, off, len, IoType::WriteZeroes)
    }

    /// A discard through node `n`.
    pub fn discard(&mut self, n: NodeRef, off: u64, len: u64) -> Result<(), i32> {
        self.io(n, off, len, IoType::Discard)
    }

    /// The granularity of bitmap `bm` of node `n` (given, or the node's
    /// default: `bdrv_get_default_bitmap_granularity`).
    pub fn bitmap_granularity(&self, n: NodeRef, bm: &Bitmap) -> u32 {
        bm.granularity.unwrap_or(match self.node(n).driver {
            Driver::File { .. } | Driver::Raw { .. } => 4096,
            _ => 65536,
        })
    }

    /// `bdrv_set_dirty`: a write to `n` dirties `[off, off+len)`, in whole
    /// granules, in each of its bitmaps that records (a frozen bitmap's
    /// successor in its place).
    pub fn set_dirty(&mut self, n: NodeRef, off: u64, len: u64) {
        if len == 0 || self.node(n).bitmaps.is_empty() {
            return;
        }
        let size = self.node(n).size;
        for i in 0..self.node(n).bitmaps.len() {
            let g = u64::from(self.bitmap_granularity(n, &self.node(n).bitmaps[i]));
            let start = (off - off % g).min(size);
            let end = (off + len).next_multiple_of(g).min(size);
            let bm = &mut self.node_mut(n).bitmaps[i];
            let extents = match &mut bm.successor {
                Some((false, dirty)) => dirty,
                Some((true, _)) => continue,
                None if bm.disabled => continue,
                None => &mut bm.dirty,
            };
            add_extent(extents, start, end.saturating_sub(start));
        }
    }

    /// `bdrv_dirty_bitmap_create_successor` for a backup's bitmap `name`
    /// of `n`: the bitmap is frozen (disabled, its writes recorded by a
    /// successor); gives what it has dirty.
    pub fn freeze_bitmap(&mut self, n: NodeRef, name: &str) -> Vec<(u64, u64)> {
        let Some(bm) = self.node_mut(n).bitmaps.iter_mut().find(|b| b.name == name) else {
            return Vec::new();
        };
        if bm.successor.is_none() {
            bm.successor = Some((bm.disabled, Vec::new()));
            bm.disabled = true;
        }
        bm.dirty.clone()
    }

    /// The end of a backup's bitmap synchronisation: the successor takes
    /// the bitmap's place (`sync`: `bdrv_dirty_bitmap_abdicate`) or merges
    /// back into it (`bdrv_reclaim_dirty_bitmap`); then `left` (what a
    /// failed job did not copy) is dirty again.
    pub fn thaw_bitmap(&mut self, n: NodeRef, name: &str, sync: bool, left: &[(u64, u64)]) {
        if !self.alive(n) {
            return;
        }
        let Some(i) = self.node(n).bitmaps.iter().position(|b| b.name == name) else {
            return;
        };
        let g = u64::from(self.bitmap_granularity(n, &self.node(n).bitmaps[i]));
        let size = self.node(n).size;
        let bm = &mut self.node_mut(n).bitmaps[i];
        if sync {
            bm.abdicate();
        } else {
            bm.reclaim();
        }
        for &(o, l) in left {
            let start = o - o % g;
            let end = (o + l).next_multiple_of(g).min(size);
            add_extent(&mut bm.dirty, start, end.saturating_sub(start));
        }
    }

    /// Dirties the bitmaps a write of `[off, off+len)` through `n` would
    /// (every node down the path a write takes) and moves their
    /// `wr_highest_offset`, without doing the I/O.
    pub fn mark_written(&mut self, n: NodeRef, mut off: u64, len: u64) {
        let mut cur = Some(n);
        let mut mapped = true;
        while let Some(x) = cur {
            self.note_write(x, off, len, mapped);
            let node = self.node(x);
            mapped &= !matches!(node.driver, Driver::Qcow2);
            if let Driver::Raw { offset } = node.driver {
                off += offset;
            }
            cur = match node.driver {
                Driver::NullCo { .. } | Driver::File { .. } => None,
                _ => node
                    .children
                    .iter()
                    .find(|(r, _)| matches!(r, Role::File | Role::Image))
                    .or_else(|| node.children.first())
                    .map(|&(_, c)| c),
            };
        }
    }

    /// A write of `[off, off+len)` reaching node `n` (done or not): dirties
    /// its bitmaps and, when `mapped`, moves its `wr_highest_offset`. Below
    /// a qcow2 image the offsets are not where the data lands (qcow2's
    /// clusters and metadata are not modelled), so nodes there keep their
    /// `wr_highest_offset` (`mapped` false).
    fn note_write(&mut self, n: NodeRef, off: u64, len: u64, mapped: bool) {
        self.set_dirty(n, off, len);
        if mapped && len > 0 {
            let node = self.node_mut(n);
            node.wr_highest = node.wr_highest.max(off + len);
        }
    }

    fn io(&mut self, n: NodeRef, off: u64, len: u64, ty: IoType) -> Result<(), i32> {
        self.io_through(n, off, len, ty, true)
    }

    /// A request through `n`; `mapped`: see [`Graph::note_write`].
    fn io_through(
        &mut self,
        n: NodeRef,
        off: u64,
        len: u64,
        ty: IoType,
        mapped: bool,
    ) -> Result<(), i32> {
        self.failed_immediately = false;
        // bdrv_co_write_req_finish: a write (or write of zeroes) dirties the
        // bitmaps of every node it passes through, failed or not, and moves
        // its `wr_highest_offset`. (A discard would dirty them too, but
        // nodes open without `discard: unmap`, where discards end before
        // that.)
        if matches!(ty, IoType::Write | IoType::WriteZeroes) {
            self.note_write(n, off, len, mapped);
        }
        let (driver_is, first_child) = {
            let node = self.node(n);
            (
                match node.driver {
                    Driver::Raw { .. } | Driver::Qcow2 => 1,
                    Driver::Blkdebug { .. } => 2,
                    Driver::JobFilter { .. } | Driver::Filter { .. } => 3,
                    Driver::Throttle { .. } => 4,
                    _ => 0,
                },
                node.children
                    .iter()
                    .find(|(r, _)| matches!(r, Role::File | Role::Image))
                    .map(|&(_, c)| c)
                    .or_else(|| node.children.first().map(|&(_, c)| c)),
            )
        };
        match driver_is {
            1 if ty == IoType::Read && matches!(self.node(n).driver, Driver::Qcow2) => {
                self.qcow2_read(n, first_child, off, len)
            }
            1 => {
                let Some(file) = first_child else {
                    return Ok(());
                };
                let off = match self.node(n).driver {
                    Driver::Raw { offset } => off + offset,
                    _ => off,
                };
                match ty {
                    IoType::Read => self.debug_event(file, BlkdebugEvent::ReadAio),
                    IoType::Write => self.debug_event(file, BlkdebugEvent::WriteAio),
                    _ => {}
                }
                let qcow2 = matches!(self.node(n).driver, Driver::Qcow2);
                if matches!(ty, IoType::Write | IoType::WriteZeroes) && qcow2 {
                    add_extent(&mut self.node_mut(n).allocated, off, len);
                }
                self.io_through(file, off, len, ty, mapped && !qcow2)
            }
            2 => {
                if let Some(e) = self.rule_check(n, off, len, ty) {
                    return Err(e);
                }
                match first_child {
                    Some(c) => self.io_through(c, off, len, ty, mapped),
                    None => Ok(()),
                }
            }
            3 => {
                if matches!(
                    self.node(n).driver,
                    Driver::JobFilter {
                        kind: FilterKind::CopyBeforeWrite
                    }
                ) && matches!(ty, IoType::Write | IoType::WriteZeroes | IoType::Discard)
                {
                    self.cbw_writes.push((n, off, len));
                }
                match first_child {
                    Some(c) => self.io_through(c, off, len, ty, mapped),
                    None => Ok(()),
                }
            }
            4 => {
                if let Driver::Throttle { group } = &self.node(n).driver
                    && ty != IoType::Flush
                {
                    let request = (group.clone(), ty != IoType::Read, len);
                    self.throttling.pending.push(request);
                }
                match first_child {
                    Some(c) => self.io_through(c, off, len, ty, mapped),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// A read of a qcow2 node, as qcow2 splits it: the runs allocated in
    /// the node from its file (a `read_aio` event each), the others from
    /// its backing node (zeroes without one). The first failure ends it.
    fn qcow2_read(
        &mut self,
        n: NodeRef,
        file: Option<NodeRef>,
        off: u64,
        len: u64,
    ) -> Result<(), i32> {
        let backing = self.child(n, Role::Backing);
        let end = off + len;
        let mut pos = off;
        while pos < end {
            // The allocated extent holding `pos`, or the gap up to the next one.
            let (allocated, run_end) = self
                .node(n)
                .allocated
                .iter()
                .find_map(|&(o, l)| {
                    if o <= pos && pos < o + l {
                        Some((true, (o + l).min(end)))
                    } else if o > pos {
                        Some((false, o.min(end)))
                    } else {
                        None
                    }
                })
                .unwrap_or((false, end));
            let run = run_end - pos;
            if allocated {
                if let Some(f) = file {
                    self.debug_event(f, BlkdebugEvent::ReadAio);
                    self.io(f, pos, run, IoType::Read)?;
                }
            } else if let Some(b) = backing {
                self.io(b, pos, run, IoType::Read)?;
            }
            pos = run_end;
        }
        Ok(())
    }

    /// Whether `[off, off+len)` is allocated in `top` or any node of its
    /// chain above (not including) `base`: through backing nodes and the
    /// nodes filters filter, as `bdrv_is_allocated_above` walks it.
    pub fn allocated_above(&self, top: NodeRef, base: Option<NodeRef>, off: u64, len: u64) -> bool {
        let mut cur = Some(top);
        while let Some(n) = cur {
            if Some(n) == base {
                return false;
            }
            let node = self.node(n);
            if matches!(node.driver, Driver::Qcow2) && overlaps(&node.allocated, off, len) {
                return true;
            }
            if matches!(node.driver, Driver::Raw { .. }) && self.raw_allocated(n) {
                return true;
            }
            cur = self.filter_or_cow_child(n);
        }
        false
    }

    /// Whether a raw node reports all of its range allocated: its block
    /// status is its protocol node's, and a file reports data or zeroes
    /// everywhere (both allocated); a null-co node only with `read-zeroes`.
    fn raw_allocated(&self, n: NodeRef) -> bool {
        let mut cur = n;
        loop {
            let node = self.node(cur);
            match node.driver {
                Driver::File { .. } => return true,
                Driver::NullCo { read_zeroes } => return read_zeroes,
                _ => match node.children.first() {
                    Some(&(_, c)) => cur = c,
                    None => return false,
                },
            }
        }
    }
}

fn overlaps(extents: &[(u64, u64)], off: u64, len: u64) -> bool {
    extents.iter().any(|&(o, l)| o < off + len && off < o + l)
}

/// Adds `[off, off+len)` to a sorted list of disjoint extents.
pub(crate) fn add_extent(extents: &mut Vec<(u64, u64)>, off: u64, len: u64) {
    if len == 0 {
        return;
    }
    let (mut start, mut end) = (off, off + len);
    let mut out = Vec::with_capacity(extents.len() + 1);
    for &(o, l) in extents.iter() {
        let (s, e) = (o, o + l);
        if e < start || s > end {
            out.push((o, l));
        } else {
            start = start.min(s);
            end = end.max(e);
        }
    }
    out.push((start, end - start));
    // In order but for the merged extent, last: one pass puts it in place.
    crate::sort::sort_by(&mut out, |a, b| a < b);
    *extents = out;
}

/// Removes `[off, off+len)` from a sorted list of disjoint extents.
pub(crate) fn remove_extent(extents: &mut Vec<(u64, u64)>, off: u64, len: u64) {
    let end = off + len;
    let mut out = Vec::with_capacity(extents.len() + 1);
    for &(o, l) in extents.iter() {
        let e = o + l;
        if e <= off || o >= end {
            out.push((o, l));
            continue;
        }
        if o < off {
            out.push((o, off - o));
        }
        if e > end {
            out.push((end, e - end));
        }
    }
    *extents = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_formats_and_node_drivers_are_qapi_drivers() {
        let img = |format: &str| {
            Image::from(ImageFile {
                format: format.into(),
                size: 1,
                ..Default::default()
            })
        };
        assert!(img("qcow2").is_qcow2());
        assert_eq!(img("raw").format, Some(BlockdevDriver::Raw));
        assert_eq!(img("qcow3").format, None);
        assert_eq!(
            Driver::NullCo { read_zeroes: true }.qapi(),
            Some(BlockdevDriver::NullCo)
        );
        assert_eq!(
            Driver::JobFilter {
                kind: FilterKind::CommitTop
            }
            .qapi(),
            None
        );
    }

    #[test]
    fn extents_merge() {
        let mut v = vec![];
        add_extent(&mut v, 10, 5);
        add_extent(&mut v, 0, 3);
        add_extent(&mut v, 14, 10);
        assert_eq!(v, vec![(0, 3), (10, 14)]);
        add_extent(&mut v, 3, 7);
        assert_eq!(v, vec![(0, 24)]);
        remove_extent(&mut v, 4, 2);
        assert_eq!(v, vec![(0, 4), (6, 18)]);
        remove_extent(&mut v, 0, 30);
        assert_eq!(v, vec![]);
    }

    #[test]
    fn blkdebug_once_rule_fires_once_after_its_event() {
        let mut g = Graph::default();
        let img = g.add(
            "img".into(),
            Driver::NullCo { read_zeroes: false },
            1 << 20,
            false,
        );
        let dbg = g.add(
            "dbg".into(),
            Driver::Blkdebug {
                rules: vec![InjectError {
                    event: BlkdebugEvent::ReadAio,
                    errno: 5,
                    once: true,
                    sector: -1,
                    iotype: None,
                    immediately: false,
                }],
                active: vec![],
            },
            1 << 20,
            false,
        );
        g.attach_child(dbg, Role::Image, img);
        let raw = g.add("raw".into(), Driver::Raw { offset: 0 }, 1 << 20, true);
        g.attach_child(raw, Role::File, dbg);
        assert_eq!(g.write(raw, 0, 512), Ok(()));
        assert_eq!(g.read(raw, 0, 512), Err(5));
        assert_eq!(g.read(raw, 0, 512), Ok(()));
        assert!(!g.is_root(dbg));
        assert!(g.is_root(raw));
    }
}
