//! The typed API's option types: the arguments of the commands that create
//! jobs and bitmaps, with QEMU's defaults, and the QAPI enums they use.

use crate::model::OnError;

crate::model::qapi_enum! {
    /// QAPI `MirrorSyncMode`.
    #[derive(Default)]
    SyncMode {
        /// Only what is allocated in the top image.
        Top = "top",
        /// Everything.
        #[default]
        Full = "full",
        /// Only new writes.
        None = "none",
        /// Incremental, from a dirty bitmap.
        Incremental = "incremental",
        /// From a dirty bitmap.
        Bitmap = "bitmap",
    }
}

/// Options common to the block-job creation commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOptions {
    /// Job ID; when absent, QEMU uses the device name of the node, which
    /// nodes added with `blockdev-add` do not have (`Invalid job ID ''`).
    pub job_id: Option<String>,
    /// Initial speed limit (bytes/s).
    pub speed: i64,
    /// Finalize automatically (default true).
    pub auto_finalize: bool,
    /// Dismiss automatically (default true).
    pub auto_dismiss: bool,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            job_id: None,
            speed: 0,
            auto_finalize: true,
            auto_dismiss: true,
        }
    }
}

impl JobOptions {
    /// Options with a job ID and QEMU's defaults otherwise.
    pub fn with_id(id: &str) -> JobOptions {
        JobOptions {
            job_id: Some(id.to_owned()),
            ..JobOptions::default()
        }
    }
}

crate::model::qapi_enum! {
    /// QAPI `BitmapSyncMode`: when a backup's bitmap is synchronised.
    BitmapSyncMode {
        /// Cleared of what was copied if the job succeeds.
        OnSuccess = "on-success",
        /// Never changed.
        Never = "never",
        /// Cleared of what was copied whatever the outcome.
        Always = "always",
    }
}

/// Arguments of `blockdev-backup`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// Source node.
    pub device: String,
    /// Target node.
    pub target: String,
    /// Sync mode.
    pub sync: SyncMode,
    /// Dirty bitmap name (bitmap and incremental modes).
    pub bitmap: Option<String>,
    /// `bitmap-mode`: when the bitmap is synchronised (`None`: not given).
    pub bitmap_mode: Option<BitmapSyncMode>,
    /// Compress the target.
    pub compress: bool,
    /// Policy for read errors.
    pub on_source_error: OnError,
    /// Policy for write errors.
    pub on_target_error: OnError,
    /// `x-perf.max-chunk` (0: no limit). Refused, as QEMU refuses them,
    /// below the 64 KiB cluster size and above `i64::MAX` (a negative
    /// QMP value).
    pub max_chunk: u64,
    /// `x-perf.max-workers` (0: the default, 64). Refused, as QEMU refuses
    /// 0 or a negative QMP value, above `i32::MAX`.
    pub max_workers: u32,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
    /// `discard-source` (QEMU 9.1 on; `None`: not given): discard what was
    /// copied from the source. Accepted under QEMU 10.0 (qjob's nodes
    /// keep no data to discard); under 7.2 given at all it is refused
    /// (`Parameter 'discard-source' is unexpected`).
    pub discard_source: Option<bool>,
    /// `x-perf.min-cluster-size` (QEMU 9.2 on; `None`: not given): the
    /// smallest block-copy cluster. Refused above `i64::MAX` (a negative
    /// QMP value) and when not a power of 2; a larger cluster makes the
    /// backup copy whole clusters of that size. Under 7.2 given at all it
    /// is refused (`Parameter 'x-perf.min-cluster-size' is unexpected`).
    pub min_cluster_size: Option<u64>,
}

crate::model::qapi_enum! {
    /// QAPI `MirrorCopyMode`: how a mirror treats writes to its source.
    #[derive(Default)]
    MirrorCopyMode {
        /// Copy in the background; writes only mark data dirty.
        #[default]
        Background = "background",
        /// Writes also go to the target before they complete.
        WriteBlocking = "write-blocking",
    }
}

/// Arguments of `blockdev-mirror`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// Source node (must be a root node).
    pub device: String,
    /// Target node.
    pub target: String,
    /// Sync mode.
    pub sync: SyncMode,
    /// Granularity of the dirty bitmap (0: default).
    pub granularity: u64,
    /// Buffer size (0: default 16 MiB), rounded up to a whole number of
    /// granularity chunks as QEMU does.
    pub buf_size: i64,
    /// Policy for read errors.
    pub on_source_error: OnError,
    /// Policy for write errors.
    pub on_target_error: OnError,
    /// `replaces`: the node the target replaces at completion. QEMU lets
    /// a mirror replace only its source (what it replaces anyway), and
    /// refuses any other node.
    pub replaces: Option<String>,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
    /// `copy-mode`: whether guest writes are mirrored as they happen. With
    /// no guest, the one difference is QEMU 10.0's `actively-synced`.
    pub copy_mode: MirrorCopyMode,
}

crate::model::qapi_enum! {
    /// QAPI `NewImageMode`: whether a command creates the image it opens.
    #[derive(Default)]
    NewImageMode {
        /// Open the existing file.
        Existing = "existing",
        /// Create the image (replacing a file of that name), with the
        /// source's backing file where it needs one.
        #[default]
        AbsolutePaths = "absolute-paths",
    }
}

/// Arguments of `drive-backup`: those of `blockdev-backup`, whose
/// `target` is a file name here, and how the target is made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriveBackupOptions {
    /// The backup's options (`target`: the target image file).
    pub backup: BackupOptions,
    /// The target's format (default: the source's format when the target
    /// is created, probed when it exists).
    pub format: Option<String>,
    /// Create the target (default) or open an existing one.
    pub mode: NewImageMode,
}

/// Arguments of `drive-mirror`: those of `blockdev-mirror`, whose `target`
/// is a file name here, and how the target is made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriveMirrorOptions {
    /// The mirror's options (`target`: the target image file).
    pub mirror: MirrorOptions,
    /// The target's format (default: the source's format when the target
    /// is created, probed when it exists).
    pub format: Option<String>,
    /// The node name of the target's format node.
    pub node_name: Option<String>,
    /// Create the target (default) or open an existing one.
    pub mode: NewImageMode,
    /// `unmap` (accepted; qjob moves no data).
    pub unmap: Option<bool>,
}

/// Arguments of `blockdev-snapshot-sync`: an external snapshot onto a new
/// (or existing) overlay image file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotSyncOptions {
    /// The drive (BlockBackend name) to take the snapshot of.
    pub device: Option<String>,
    /// Or the node.
    pub node_name: Option<String>,
    /// The overlay image file.
    pub snapshot_file: String,
    /// The overlay's node name (required with `node_name`).
    pub snapshot_node_name: Option<String>,
    /// The overlay's format (default `qcow2`).
    pub format: Option<String>,
    /// Create the overlay (default) or open an existing one.
    pub mode: NewImageMode,
}

/// Arguments of `block-commit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// The active layer of the chain.
    pub device: String,
    /// Lowest node whose data is committed (default: `device`, an active commit).
    pub top_node: Option<String>,
    /// Or the file name of that node's image (`top`).
    pub top: Option<String>,
    /// Node that receives the data (default: the bottom of the chain).
    pub base_node: Option<String>,
    /// Or the file name of that node's image (`base`).
    pub base: Option<String>,
    /// `backing-file`: the backing file name to record above the base;
    /// refused, as QEMU refuses it, for an active commit.
    pub backing_file: Option<String>,
    /// `backing-mask-protocol` (QEMU 9.0 on; `None`: not given): whether
    /// the backing file name written leaves out a protocol node. Accepted
    /// under QEMU 10.0 (it changes what goes into the image, not the
    /// job); under 7.2 given at all it is refused (`Parameter
    /// 'backing-mask-protocol' is unexpected`).
    pub backing_mask_protocol: Option<bool>,
    /// Error policy.
    pub on_error: OnError,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
}

/// Arguments of `block-stream`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// ID, speed, auto-finalize, auto-dismiss.
    pub job: JobOptions,
    /// The node that receives the data.
    pub device: String,
    /// Node that stays as the new backing node (default: none, stream everything).
    pub base_node: Option<String>,
    /// Or the file name of that node's image (`base`).
    pub base: Option<String>,
    /// `backing-file`: the backing file name to record; refused, as QEMU
    /// refuses it, when no base stays (the whole chain is streamed).
    pub backing_file: Option<String>,
    /// `backing-mask-protocol` (QEMU 9.0 on; `None`: not given): whether
    /// the backing file name written leaves out a protocol node. Accepted
    /// under QEMU 10.0 (it changes what goes into the image, not the
    /// job); under 7.2 given at all it is refused (`Parameter
    /// 'backing-mask-protocol' is unexpected`).
    pub backing_mask_protocol: Option<bool>,
    /// Error policy.
    pub on_error: OnError,
    /// `filter-node-name`: the name of the filter node the job inserts
    /// (default: an implicit, unnamed node).
    pub filter_node_name: Option<String>,
}

/// The image `blockdev-create` makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOptions {
    /// Driver `file`: a new image file.
    File {
        /// File name (relative to the scenario's folder).
        filename: String,
        /// Size in bytes.
        size: u64,
    },
    /// Driver `qcow2` onto an existing `file` node.
    Format {
        /// `qcow2`.
        driver: String,
        /// Node name of the file node.
        file: String,
        /// The image's options: size, backing file and format, cluster
        /// size (the job fails, as QEMU's does, unless it is a power of two
        /// from 512 bytes to 2 MiB), … (`filename` and `formatting_line`
        /// are not used: the file is the node's, and `blockdev-create`
        /// prints nothing).
        image: Box<crate::files::NewImage>,
    },
}

/// Arguments of `block-dirty-bitmap-add` (a command, and a transaction action).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitmapAddOptions {
    /// Node (or device) name.
    pub node: String,
    /// Bitmap name.
    pub name: String,
    /// Bitmap granularity (a power of 2, at least 512; default: the node's).
    pub granularity: Option<u32>,
    /// Stored in the image (qcow2 nodes only).
    pub persistent: bool,
    /// Created disabled (not recording writes).
    pub disabled: bool,
}

/// One source bitmap of `block-dirty-bitmap-merge` (QAPI
/// `BlockDirtyBitmapOrStr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BitmapSource {
    /// A bitmap of the merge's own node, by name.
    Local(String),
    /// A bitmap of any node.
    External {
        /// Node (or device) name.
        node: String,
        /// Bitmap name.
        name: String,
    },
}
