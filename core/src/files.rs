//! Image files: the folder the block layer opens and creates files in, and
//! its host-files mode.
//!
//! By default the folder is simulated: a table of [`ImageFile`]s the caller
//! fills ([`JobManager::add_image`], the scenario `image` directive), which
//! `file` nodes open and job commands add to.
//!
//! A drop-in binary owns real files; the core stays sans-I/O. With
//! [`JobManager::set_host_files`] the table is a cache of the host's files:
//! before a command runs, [`JobManager::files_wanted`] names the files it
//! would open that must be read first (any file no node has open, as QEMU
//! opens it afresh), the host answers each with
//! [`JobManager::handle_file`], and asks again (the answer may name backing
//! files to read next) until nothing is wanted. Files the core creates are
//! the host's to write: [`JobManager::poll_file_action`] hands them over,
//! oldest first, with what the host needs to write them and to print QEMU's
//! `Formatting ...` line; so are the data a job's copy moved, once the copy
//! has finished ([`FileAction::CopyData`]: the core simulates the copying,
//! the host copies the bytes). [`QmpServer`](crate::qmp::server::QmpServer)
//! holds a command while its files are read.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::block::{BlockdevDriver, Driver, Graph, Image, ImageFile, NodeRef, Role};
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::nodes::{ChildRef, NodeOptions};

/// What the core asks the host before a request can run
/// ([`JobManager::files_wanted`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRequest {
    /// Read this image file: answer with
    /// [`JobManager::handle_file`].
    Open(String),
    /// Say whether this file can be created (its directory exists), without
    /// creating it: answer with [`JobManager::handle_create`]. The core
    /// creates it, if the request goes that far, through a
    /// [`FileAction`].
    Create(String),
}

impl FileRequest {
    /// The file's name, as the request spells it.
    pub fn name(&self) -> &str {
        match self {
            FileRequest::Open(n) | FileRequest::Create(n) => n,
        }
    }
}

/// A file the core created, for the host to write
/// ([`JobManager::poll_file_action`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileAction {
    /// Create the image file `filename` (replacing a file of that name) as
    /// an empty image with these options: what `qemu-img create` writes
    /// (`drive-backup` and `drive-mirror` targets and
    /// `blockdev-snapshot-sync` overlays in mode `absolute-paths`, the
    /// `file` driver of `blockdev-create`).
    Create(NewImage),
    /// Write an empty image with these options over the existing file
    /// `filename`, without truncating it (`blockdev-create` with a format
    /// driver over a `file` node).
    Format(NewImage),
    /// Rewrite the backing file name (and format) in the header of the
    /// qcow2 image `filename` (`None`: no backing file), as QEMU does when
    /// `block-stream` or `block-commit` takes nodes out of a chain.
    SetBacking {
        /// The image file.
        filename: String,
        /// Its new backing file name.
        backing_file: Option<String>,
        /// Its new backing file format.
        backing_format: Option<String>,
    },
    /// Copy guest data into the image `to`: wherever a layer of `from` (a
    /// section of a backing chain, top first; the top-most layer that
    /// holds a range wins) holds data or zeroes, the image reads the same
    /// afterwards. Ranges no layer of `from` holds are not written. With
    /// `only_unallocated`, ranges the image `to` holds itself are kept.
    /// Pushed when a job's copy finished successfully: a backup (`full`:
    /// the source's whole chain; `top`: its top layer), a mirror as it
    /// completes, a commit (the committed layers into the base), a stream
    /// (the streamed layers into the top, `only_unallocated`).
    CopyData {
        /// The layers to copy from, top first.
        from: Vec<ImageLayer>,
        /// The image written.
        to: ImageLayer,
        /// Write only where `to` holds no data of its own (a stream).
        only_unallocated: bool,
    },
}

crate::snapshot::codec::codec_enum!(FileAction { Create(x0), Format(x0), SetBacking { filename, backing_file, backing_format }, CopyData { from, to, only_unallocated } });

impl FileAction {
    /// The image to write (`None` for a header change or a copy).
    pub fn image(&self) -> Option<&NewImage> {
        match self {
            FileAction::Create(i) | FileAction::Format(i) => Some(i),
            FileAction::SetBacking { .. } | FileAction::CopyData { .. } => None,
        }
    }

    /// The file the action writes.
    pub fn filename(&self) -> &str {
        match self {
            FileAction::Create(i) | FileAction::Format(i) => &i.filename,
            FileAction::SetBacking { filename, .. } => filename,
            FileAction::CopyData { to, .. } => &to.filename,
        }
    }
}

/// One image file of a backing chain, as a [`FileAction::CopyData`] names
/// it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLayer {
    /// The file name, as the node that opened it spells it.
    pub filename: String,
    /// Its format driver: `qcow2` or `raw`.
    pub format: String,
}

crate::snapshot::codec::codec_struct!(ImageLayer { filename, format });

/// An image file to write: every option QEMU was given for it (`None`:
/// not given, QEMU's default), as a drop-in binary needs them to write the
/// file and to print QEMU's `Formatting ...` line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewImage {
    /// The file name, as the command spelled it.
    pub filename: String,
    /// The format driver: `qcow2` or `raw` (or the protocol driver `file`
    /// when a command named it as the format, which writes a raw file).
    pub format: String,
    /// Virtual size in bytes.
    pub size: u64,
    /// Backing file name, written into the image as given.
    pub backing_file: Option<String>,
    /// Backing file format.
    pub backing_format: Option<String>,
    /// qcow2 cluster size.
    pub cluster_size: Option<u64>,
    /// qcow2 version: `v2` or `v3`.
    pub version: Option<String>,
    /// qcow2 extended L2 entries.
    pub extended_l2: Option<bool>,
    /// qcow2 lazy refcounts.
    pub lazy_refcounts: Option<bool>,
    /// qcow2 refcount width in bits.
    pub refcount_bits: Option<u64>,
    /// qcow2 compression type: `zlib` or `zstd`.
    pub compression_type: Option<String>,
    /// Preallocation mode: `off`, `metadata`, `falloc` or `full`.
    pub preallocation: Option<String>,
    /// Whether QEMU prints `Formatting 'FILE', fmt=...` on its standard
    /// output for this file (it does when a command creates an image with
    /// `bdrv_img_create`; `blockdev-create` prints nothing).
    pub formatting_line: bool,
}

crate::snapshot::codec::codec_struct!(NewImage {
    filename,
    format,
    size,
    backing_file,
    backing_format,
    cluster_size,
    version,
    extended_l2,
    lazy_refcounts,
    refcount_bits,
    compression_type,
    preallocation,
    formatting_line
});

/// The host-files state of the folder.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct HostFiles {
    /// The folder is a cache of the host's files.
    pub enabled: bool,
    /// Files the host supplied since the last command began: read afresh.
    pub fresh: BTreeSet<String>,
    /// Files the host could not open, or says cannot be created, since the
    /// last command began, with QEMU's error text.
    pub errors: crate::vecmap::VecMap<String, String>,
    /// Files created, oldest first, for the host to write.
    pub actions: VecDeque<FileAction>,
}

crate::snapshot::codec::codec_struct!(HostFiles {
    enabled,
    fresh,
    errors,
    actions
});

/// `path_combine`: a backing file name relative to its overlay's
/// directory (an absolute name, or an overlay in the current directory,
/// gives the name itself).
pub(crate) fn backing_path(overlay: &str, backing: &str) -> String {
    if backing.starts_with('/') {
        return backing.to_owned();
    }
    match overlay.rfind('/') {
        Some(i) => format!("{}{backing}", &overlay[..=i]),
        None => backing.to_owned(),
    }
}

impl Graph {
    /// The image file `filename`, as a node opening it sees it: in
    /// host-files mode, the error the host gave for it.
    pub fn open_image(&self, filename: &str) -> Result<&Image> {
        if let Some(e) = self.host.errors.get(filename) {
            return Err(Error::generic(e.clone()));
        }
        self.files.get(filename).ok_or_else(|| {
            Error::generic(format!(
                "Could not open '{filename}': No such file or directory"
            ))
        })
    }

    /// Records a new image file (empty: no data, no snapshots) that a
    /// command created; in host-files mode, the host is asked to write it.
    pub fn create_image(&mut self, new: NewImage, in_place: bool) {
        let format = BlockdevDriver::parse(&new.format).map(|f| match f {
            BlockdevDriver::File => BlockdevDriver::Raw,
            f => f,
        });
        let image = Image {
            format,
            size: new.size,
            backing: new.backing_file.clone(),
            backing_format: new
                .backing_format
                .as_deref()
                .and_then(BlockdevDriver::parse),
            data: Vec::new(),
            snapshots: Vec::new(),
            cluster_size: new.cluster_size,
            file_length: None,
            actual_size: None,
        };
        self.files.insert(new.filename.clone(), image);
        if self.host.enabled {
            self.host.errors.remove(&new.filename);
            self.host.actions.push_back(if in_place {
                FileAction::Format(new)
            } else {
                FileAction::Create(new)
            });
        }
    }

    /// QEMU's `bs->filename` (`bdrv_refresh_filename`): a plain name where
    /// the node's options allow one (a `file` node's file name, a format
    /// node's file's, `null-co://`, `blkdebug::IMAGE`, a job filter's
    /// child's), else `json:` and its options as QEMU writes them.
    pub(crate) fn filename(&self, n: NodeRef) -> String {
        self.exact_filename(n).unwrap_or_else(|| {
            format!(
                "json:{}",
                crate::qmp::wire::to_string(&Value::Object(self.full_options(n)))
            )
        })
    }

    /// `exact_filename`: the plain name, if the node's options allow one.
    fn exact_filename(&self, n: NodeRef) -> Option<String> {
        let node = self.node(n);
        let plain = node.strong_options.is_empty();
        match &node.driver {
            Driver::File { filename } => Some(filename.clone()),
            Driver::NullCo { .. } => plain.then(|| "null-co://".to_owned()),
            Driver::Raw { .. } if !plain => None,
            Driver::Raw { .. } | Driver::Qcow2 => self.exact_filename(self.child(n, Role::File)?),
            Driver::Blkdebug { .. } if plain => Some(format!(
                "blkdebug::{}",
                self.exact_filename(self.child(n, Role::Image)?)?
            )),
            Driver::Blkdebug { .. } => None,
            Driver::JobFilter { .. } => Some(self.filename(node.children.first()?.1)),
            // A filter of the user's: only its options name it.
            Driver::Throttle { .. } | Driver::Filter { .. } => None,
        }
    }

    /// `bs->filename` as opening the node set it, before anything refreshes
    /// it: a user filter's (throttle, copy-on-read, …) is its file's (a
    /// query, or becoming a backing node, turns it into the `json:` name;
    /// qjob does not track that).
    pub(crate) fn filename_as_opened(&self, n: NodeRef) -> String {
        match (&self.node(n).driver, self.node(n).children.first()) {
            (Driver::Throttle { .. } | Driver::Filter { .. }, Some(&(_, c))) => {
                self.filename_as_opened(c)
            }
            _ => self.filename(n),
        }
    }

    /// `full_open_options`: the driver, its options as given, and its
    /// children's options.
    fn full_options(&self, n: NodeRef) -> Map<String, Value> {
        let node = self.node(n);
        let mut o = Map::new();
        for (k, v) in &node.strong_options {
            o.insert(k.clone(), v.clone());
        }
        for &(role, c) in &node.children {
            let key = match role {
                Role::File => "file",
                Role::Image => "image",
                Role::Target => "target",
                Role::Backing => continue,
            };
            o.insert(key.into(), Value::Object(self.full_options(c)));
        }
        o.insert("driver".into(), node.driver.name().into());
        if let Driver::File { filename } = &node.driver {
            o.insert("filename".into(), filename.clone().into());
        }
        o
    }

    /// `bdrv_skip_filters`: the first node below `n` (or `n`) that is not
    /// a filter (a job's filter, `throttle`, `blkdebug`).
    pub(crate) fn skip_filters(&self, mut n: NodeRef) -> NodeRef {
        while self.is_filter(n) {
            match self.node(n).children.first() {
                Some(&(_, c)) => n = c,
                None => break,
            }
        }
        n
    }

    /// `bdrv_backing_chain_next`: the backing node of the image below
    /// `n`'s filters, below its own filters.
    pub(crate) fn backing_chain_next(&self, n: NodeRef) -> Option<NodeRef> {
        let below = self.child(self.skip_filters(n), Role::Backing)?;
        Some(self.skip_filters(below))
    }

    /// `bdrv_change_backing_file`: the qcow2 image of `n` names `base`'s
    /// file (and format) as its backing file, or none; in host-files mode
    /// the host is asked to rewrite the image's header.
    pub(crate) fn change_backing_file(&mut self, n: NodeRef, base: Option<NodeRef>) {
        if !matches!(self.node(n).driver, Driver::Qcow2) {
            return;
        }
        let Some(file) = self.node_file(n).map(str::to_owned) else {
            return;
        };
        let spec = base.map(|b| self.backing_spec(b));
        let Some(img) = self.files.get_mut(&file) else {
            return;
        };
        img.backing = spec.as_ref().map(|(f, _)| f.clone());
        img.backing_format = spec.as_ref().and_then(|(_, f)| BlockdevDriver::parse(f));
        if self.host.enabled {
            let (backing_file, backing_format) = spec.unzip();
            self.host.actions.push_back(FileAction::SetBacking {
                filename: file,
                backing_file,
                backing_format,
            });
        }
    }

    /// The image file and format of an image node (below its filters), if
    /// the host can read its data: a `qcow2` or `raw` (at offset 0) node
    /// over a file, or a `file` node.
    fn image_layer(&self, n: NodeRef) -> Option<ImageLayer> {
        let n = self.skip_filters(n);
        let format = match &self.node(n).driver {
            Driver::Qcow2 => "qcow2",
            Driver::Raw { offset: 0 } | Driver::File { .. } => "raw",
            _ => return None,
        };
        Some(ImageLayer {
            filename: self.node_file(n)?.to_owned(),
            format: format.to_owned(),
        })
    }

    /// In host-files mode, asks the host to copy the guest data of
    /// `top`'s backing chain into `target`'s image
    /// ([`FileAction::CopyData`]): `layers` layers from the top (`None`:
    /// down to `base`, exclusive, or to the bottom of the chain). Nothing is
    /// asked when a layer or the target is not an image file the host can
    /// read, or the section is empty.
    pub(crate) fn copy_data(
        &mut self,
        top: NodeRef,
        layers: Option<usize>,
        base: Option<NodeRef>,
        target: NodeRef,
        only_unallocated: bool,
    ) {
        if !self.host.enabled {
            return;
        }
        let base = base.map(|b| self.skip_filters(b));
        let mut from = Vec::new();
        let mut n = Some(self.skip_filters(top));
        while let Some(cur) = n {
            if Some(cur) == base || layers.is_some_and(|l| from.len() >= l) {
                break;
            }
            let Some(layer) = self.image_layer(cur) else {
                return;
            };
            from.push(layer);
            n = self.backing_chain_next(cur);
        }
        let Some(to) = self.image_layer(target) else {
            return;
        };
        if from.is_empty() || from.contains(&to) {
            return;
        }
        self.host.actions.push_back(FileAction::CopyData {
            from,
            to,
            only_unallocated,
        });
    }

    /// `bdrv_skip_implicit_filters`: below the job filters QEMU inserted
    /// without a name given.
    pub(crate) fn skip_implicit_filters(&self, mut n: NodeRef) -> NodeRef {
        while matches!(self.node(n).driver, Driver::JobFilter { .. }) && !self.node(n).user {
            match self.node(n).children.first() {
                Some(&(_, c)) => n = c,
                None => break,
            }
        }
        n
    }

    /// The file name and format name of a node that becomes the backing
    /// file of an image a command creates (implicit filters skipped).
    pub(crate) fn backing_spec(&self, n: NodeRef) -> (String, String) {
        let n = self.skip_implicit_filters(n);
        (self.filename(n), self.node(n).driver.name().to_owned())
    }

    /// `bdrv_find_backing_image`: the node of `bs`'s backing chain (below
    /// `bs`) whose file is `name`: the name an image stores for its
    /// backing file, or the backing node's file name, also as a name
    /// relative to the image's directory.
    pub(crate) fn find_backing_image(&self, bs: NodeRef, name: &str) -> Option<NodeRef> {
        let mut curr = self.skip_filters(bs);
        while let Some(below) = self.child(curr, Role::Backing) {
            let below = self.skip_filters(below);
            let curr_file = self.filename(curr);
            let stored = self
                .node_file(curr)
                .and_then(|f| self.files.get(f))
                .and_then(|i| i.backing.as_deref());
            let below_file = self.filename(below);
            if stored == Some(name)
                || below_file == name
                || backing_path(&curr_file, name) == below_file
            {
                return Some(below);
            }
            curr = below;
        }
        None
    }

    /// The host file under a protocol node (through `raw` and `blkdebug`).
    pub(crate) fn node_file(&self, n: NodeRef) -> Option<&str> {
        let node = self.node(n);
        match &node.driver {
            Driver::File { filename } => Some(filename),
            Driver::Blkdebug { .. } => self.node_file(self.child(n, Role::Image)?),
            Driver::Raw { .. } | Driver::Qcow2 => self.node_file(self.child(n, Role::File)?),
            _ => None,
        }
    }
}

impl JobManager {
    /// Makes the folder a cache of the host's files (a drop-in binary), or
    /// the simulated folder again. See [`files_wanted`](Self::files_wanted).
    pub fn set_host_files(&mut self, on: bool) {
        self.graph.host.enabled = on;
    }

    /// Whether the folder is a cache of the host's files.
    pub fn host_files(&self) -> bool {
        self.graph.host.enabled
    }

    /// The files a QMP request (the whole message: `execute` and
    /// `arguments`) would open that the host must read first, in the order
    /// QEMU opens them: every file no node has open and the host has not
    /// supplied since the last command (QEMU opens a file afresh, so a file
    /// changed on disk in between is seen as it is now). Backing files are
    /// named once the image naming them was supplied (call again after
    /// supplying: it names the next layer, until it returns nothing), by
    /// their full name: relative to the directory of the image naming them.
    ///
    /// Also asks, for each file the request would create (the targets and
    /// overlays of `drive-backup`, `drive-mirror` and
    /// `blockdev-snapshot-sync` in their creating modes), whether it can be
    /// created ([`FileRequest::Create`]), so a file in a directory that
    /// does not exist is QEMU's refusal of the command (or of the whole
    /// `transaction`), not a failure after it succeeded.
    ///
    /// Empty unless [`host_files`](Self::host_files) is on. Names are as
    /// the request spells them. Commands that open files: `blockdev-add`,
    /// `drive-backup`, `drive-mirror` and `blockdev-snapshot-sync` (targets
    /// and overlays in mode `existing`), and those actions in
    /// `transaction`.
    pub fn files_wanted(&self, request: &Map<String, Value>) -> Vec<FileRequest> {
        if !self.graph.host.enabled {
            return Vec::new();
        }
        let Some(Value::String(command)) = request.get("execute") else {
            return Vec::new();
        };
        let empty = Map::new();
        let args = match request.get("arguments") {
            Some(Value::Object(a)) => a,
            _ => &empty,
        };
        let mut w = Wanted::new(&self.graph);
        w.command(command, args);
        w.out
    }

    /// [`files_wanted`](Self::files_wanted) for the options of `-drive`
    /// ([`drive_add`](Self::drive_add)).
    pub fn drive_files_wanted(&self, opts: &Map<String, Value>) -> Vec<FileRequest> {
        if !self.graph.host.enabled {
            return Vec::new();
        }
        let mut w = Wanted::new(&self.graph);
        if let Ok(drive) = crate::drive::DriveOptions::parse(opts) {
            w.node(&drive.node);
            // A probed format: a qcow2 image opens its backing chain.
            if !drive.node.contains_key("driver")
                && let Some(f) = w.protocol_file(drive.node.get("file"))
                && w.file(&f).is_some_and(|i| i.is_qcow2())
            {
                w.chain(&f, &mut BTreeSet::new());
            }
        }
        w.out
    }

    /// The host's answer for a file [`files_wanted`](Self::files_wanted)
    /// named: its image, or the error QEMU gives when it cannot open it
    /// (`Could not open 'X': No such file or directory`, `Image is not in
    /// qcow2 format`, ...). The answer holds until the next command has
    /// run.
    pub fn handle_file(&mut self, name: &str, file: std::result::Result<ImageFile, String>) {
        let host = &mut self.graph.host;
        host.fresh.insert(name.to_owned());
        match file {
            Ok(image) => {
                host.errors.remove(name);
                self.graph.files.insert(name.to_owned(), image.into());
            }
            Err(text) => {
                host.errors.insert(name.to_owned(), text);
                self.graph.files.remove(name);
            }
        }
    }

    /// The host's answer to a [`FileRequest::Create`]: `Ok` if the file can
    /// be created, or QEMU's refusal (`Could not create 'X': No such file
    /// or directory`). The answer holds until the next command has run.
    pub fn handle_create(&mut self, name: &str, answer: std::result::Result<(), String>) {
        let host = &mut self.graph.host;
        host.fresh.insert(name.to_owned());
        match answer {
            Ok(()) => {
                host.errors.remove(name);
            }
            Err(text) => {
                host.errors.insert(name.to_owned(), text);
            }
        }
    }

    /// Whether files the core created wait for the host to write them
    /// ([`poll_file_action`](Self::poll_file_action)).
    pub fn has_file_actions(&self) -> bool {
        !self.graph.host.actions.is_empty()
    }

    /// The oldest file the core created that the host has not written yet
    /// (host-files mode only).
    pub fn poll_file_action(&mut self) -> Option<FileAction> {
        self.graph.host.actions.pop_front()
    }

    /// `bdrv_img_create`: creates the image `filename` of `format` and
    /// `size`, with a backing file (name and format) if given, as a
    /// command that creates its target does (QEMU prints its `Formatting`
    /// line). With `open_backing`, the backing file must open (QEMU opens
    /// it to check it).
    pub(crate) fn img_create(
        &mut self,
        filename: &str,
        format: &str,
        backing: Option<(String, String)>,
        size: u64,
        open_backing: bool,
    ) -> Result<()> {
        let Some(driver) = BlockdevDriver::parse(format) else {
            return Err(Error::generic(format!("Unknown file format '{format}'")));
        };
        let protocol = crate::drive::protocol_node(filename)?;
        let protocol = protocol.get("driver").and_then(Value::as_str).unwrap_or("");
        let creates = |d: BlockdevDriver| {
            matches!(
                d,
                BlockdevDriver::Qcow2 | BlockdevDriver::Raw | BlockdevDriver::File
            )
        };
        if !creates(driver) {
            return Err(Error::generic(format!(
                "Format driver '{format}' does not support image creation"
            )));
        }
        if protocol != "file" {
            return Err(Error::generic(format!(
                "Protocol driver '{protocol}' does not support image creation"
            )));
        }
        if backing.is_some() && driver != BlockdevDriver::Qcow2 {
            return Err(Error::generic(format!(
                "Backing file not supported for file format '{format}'"
            )));
        }
        if let Some((b, _)) = &backing {
            if b == filename {
                return Err(Error::generic(
                    "Error: Trying to create an image with the same filename as the backing file",
                ));
            }
            if b.is_empty() {
                return Err(Error::generic(
                    "Expected backing file name, got empty string",
                ));
            }
            if open_backing {
                self.graph.open_image(&backing_path(filename, b))?;
            }
        }
        // The host said whether it can be created; the simulated folder has
        // no directories: a name in another one cannot be created.
        if let Some(e) = self.graph.host.errors.get(filename) {
            return Err(Error::generic(e.clone()));
        }
        if !self.graph.host.enabled && filename.contains('/') {
            return Err(Error::generic(format!(
                "Could not create '{filename}': No such file or directory"
            )));
        }
        // qcow2's creation opens the new file, the image over it, and the
        // image again to flush it (three nodes QEMU names, and closes).
        if driver == BlockdevDriver::Qcow2 {
            self.graph.implicit_counter += 3;
            self.graph_lock_drains(crate::profile::GraphChange::Qcow2Created);
        }
        let (backing_file, backing_format) = backing.unzip();
        self.graph.create_image(
            NewImage {
                filename: filename.to_owned(),
                format: format.to_owned(),
                size,
                backing_file,
                backing_format,
                formatting_line: true,
                ..NewImage::default()
            },
            false,
        );
        Ok(())
    }

    /// `bdrv_open` of an image file, as the commands that open their
    /// target or overlay by file name do: with `format` (`None`: probed),
    /// a node name for the format node, and its backing chain unless
    /// `no_backing`. Returns the top node; on an error nothing stays open.
    pub(crate) fn open_image_file(
        &mut self,
        filename: &str,
        format: Option<&str>,
        node_name: Option<&str>,
        no_backing: bool,
    ) -> Result<NodeRef> {
        let format = match format {
            Some(f) => f.to_owned(),
            None => match self.graph.open_image(filename)?.format {
                Some(BlockdevDriver::Qcow2) => "qcow2".into(),
                _ => "raw".into(),
            },
        };
        let file = NodeOptions::File {
            node_name: None,
            filename: filename.to_owned(),
        };
        let name = node_name.map(str::to_owned);
        let opts = match BlockdevDriver::parse(&format) {
            Some(BlockdevDriver::Qcow2) => NodeOptions::Qcow2 {
                node_name: name,
                file: ChildRef::Inline(Box::new(file)),
                backing: if no_backing {
                    crate::nodes::Backing::None
                } else {
                    crate::nodes::Backing::Image
                },
            },
            Some(BlockdevDriver::Raw) => NodeOptions::Raw {
                node_name: name,
                file: ChildRef::Inline(Box::new(file)),
                offset: 0,
                size: None,
                strong_options: Vec::new(),
            },
            Some(BlockdevDriver::File) => NodeOptions::File {
                node_name: name,
                filename: filename.to_owned(),
            },
            Some(_) => {
                return Err(Error::generic(format!(
                    "qjob opens image files as qcow2, raw or file, not as '{format}'"
                )));
            }
            None => {
                return Err(Error::generic(format!("Unknown driver '{format}'")));
            }
        };
        let mut created = Vec::new();
        match self.open_node(&opts, &mut created) {
            Ok(n) => {
                // Each node opened with children attaches them under the
                // lock, as blockdev-add's do.
                for c in created {
                    let children = self.graph.node(c).children.len();
                    self.graph_lock_drains(crate::profile::GraphChange::NodeAdded(children));
                }
                Ok(n)
            }
            Err(e) => {
                self.delete_created(created);
                Err(e)
            }
        }
    }

    /// After a command: what the host supplied for it is no longer fresh.
    pub(crate) fn files_done(&mut self) {
        if self.graph.host.enabled {
            self.graph.host.fresh.clear();
            self.graph.host.errors.clear();
        }
    }
}

/// Collects the files a request would open that the host must read.
struct Wanted<'a> {
    g: &'a Graph,
    open: BTreeSet<&'a str>,
    out: Vec<FileRequest>,
}

impl<'a> Wanted<'a> {
    fn new(g: &'a Graph) -> Wanted<'a> {
        let open = g
            .live()
            .filter_map(|(_, n)| match &n.driver {
                Driver::File { filename } => Some(filename.as_str()),
                _ => None,
            })
            .collect();
        Wanted {
            g,
            open,
            out: Vec::new(),
        }
    }

    /// The image of `name` if it is current (open, or supplied for this
    /// command); otherwise asks for it.
    fn file(&mut self, name: &str) -> Option<&'a Image> {
        let host = &self.g.host;
        if self.open.contains(name) || host.fresh.contains(name) {
            return self.g.files.get(name);
        }
        if !self.out.iter().any(|r| r.name() == name) {
            self.out.push(FileRequest::Open(name.to_owned()));
        }
        None
    }

    /// Asks whether `name` can be created, unless the host already said.
    fn create(&mut self, name: &str) {
        if !self.g.host.fresh.contains(name) && !self.out.iter().any(|r| r.name() == name) {
            self.out.push(FileRequest::Create(name.to_owned()));
        }
    }

    fn command(&mut self, command: &str, args: &Map<String, Value>) {
        let str_arg = |k: &str| args.get(k).and_then(Value::as_str);
        let existing = str_arg("mode") == Some("existing");
        match command {
            "blockdev-add" => self.node(args),
            "drive-backup" | "drive-mirror" if existing => {
                if let Some(t) = str_arg("target") {
                    // drive-mirror and a backup with sync none open the
                    // target without its backing chain.
                    let backing = command == "drive-backup" && str_arg("sync") != Some("none");
                    self.image(t, str_arg("format"), backing);
                }
            }
            "blockdev-snapshot-sync" if existing => {
                if let Some(f) = str_arg("snapshot-file") {
                    self.image(f, str_arg("format").or(Some("qcow2")), false);
                }
            }
            "drive-backup" | "drive-mirror" => {
                if let Some(t) = str_arg("target") {
                    self.create(t);
                }
            }
            "blockdev-snapshot-sync" => {
                if let Some(f) = str_arg("snapshot-file") {
                    self.create(f);
                }
            }
            "transaction" => {
                let actions = args.get("actions").and_then(Value::as_array);
                for a in actions.into_iter().flatten() {
                    if let (Some(Value::String(ty)), Some(Value::Object(data))) =
                        (a.get("type"), a.get("data"))
                    {
                        self.command(ty, data);
                    }
                }
            }
            _ => {}
        }
    }

    /// An image file opened with `format` (`None`: probed), with its
    /// backing chain when `backing`.
    fn image(&mut self, name: &str, format: Option<&str>, backing: bool) {
        if self.file(name).is_some() && backing && format.is_none_or(|f| f == "qcow2") {
            self.chain(name, &mut BTreeSet::new());
        }
    }

    /// The backing chain below the image file `overlay` (already current).
    fn chain(&mut self, overlay: &str, seen: &mut BTreeSet<String>) {
        let Some(img) = self.g.files.get(overlay) else {
            return;
        };
        let Some(b) = img.backing.as_deref().filter(|_| img.is_qcow2()) else {
            return;
        };
        let name = backing_path(overlay, b);
        if !seen.insert(name.clone()) {
            return;
        }
        if let Some(bimg) = self.file(&name) {
            let qcow2 = match img.backing_format {
                Some(f) => f == BlockdevDriver::Qcow2,
                None => bimg.is_qcow2(),
            };
            if qcow2 {
                self.chain(&name, seen);
            }
        }
    }

    /// `BlockdevOptions` (or a `-drive`'s): every `file` node's file, and
    /// the backing chains of format nodes that open theirs.
    fn node(&mut self, o: &Map<String, Value>) {
        let driver = o.get("driver").and_then(Value::as_str).unwrap_or("");
        if driver == "file" {
            if let Some(f) = o.get("filename").and_then(Value::as_str) {
                self.file(f);
            }
            return;
        }
        for v in o.values() {
            match v {
                Value::Object(child) => self.node(child),
                Value::Array(list) => {
                    for c in list.iter().filter_map(Value::as_object) {
                        self.node(c);
                    }
                }
                _ => {}
            }
        }
        // A backing node opened from the image's backing file: not given,
        // or given as `-drive`'s partial options (no driver of its own).
        let from_image = match o.get("backing") {
            None => true,
            Some(Value::Object(b)) => !b.contains_key("driver"),
            Some(_) => false,
        };
        if driver == "qcow2"
            && from_image
            && let Some(f) = self.protocol_file(o.get("file"))
            && self.file(&f).is_some()
        {
            self.chain(&f, &mut BTreeSet::new());
        }
    }

    /// The host file a `file` child reference ends in: an inline `file`
    /// node (through `blkdebug` / `raw`), or an existing node's.
    fn protocol_file(&self, child: Option<&Value>) -> Option<String> {
        match child? {
            Value::Object(o) => match o.get("driver").and_then(Value::as_str)? {
                "file" => o.get("filename").and_then(Value::as_str).map(str::to_owned),
                "blkdebug" => self.protocol_file(o.get("image")),
                "raw" => self.protocol_file(o.get("file")),
                _ => None,
            },
            Value::String(name) => {
                let n = self.g.lookup(name)?;
                self.g.node_file(n).map(str::to_owned)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The actions the host has not written yet are part of a snapshot:
    /// the codec writes them as the serde reference does, and reads them
    /// back.
    #[test]
    fn file_actions_encode_as_the_serde_reference_does() {
        let layer = |f: &str| ImageLayer {
            filename: f.into(),
            format: "qcow2".into(),
        };
        let host = HostFiles {
            enabled: true,
            actions: [
                FileAction::CopyData {
                    from: vec![layer("t"), layer("b")],
                    to: layer("o"),
                    only_unallocated: true,
                },
                FileAction::SetBacking {
                    filename: "t".into(),
                    backing_file: None,
                    backing_format: Some("raw".into()),
                },
            ]
            .into(),
            ..HostFiles::default()
        };
        let mut ours = Vec::new();
        crate::snapshot::codec::encode(&mut ours, &host);
        let mut reference = Vec::new();
        crate::snapshot::serde_codec::encode(&mut reference, &host).unwrap();
        assert_eq!(ours, reference);
        let back: HostFiles = crate::snapshot::codec::decode(&ours).unwrap();
        assert_eq!(back.actions, host.actions);
    }

    #[test]
    fn backing_names_are_relative_to_their_overlay() {
        assert_eq!(backing_path("top.qcow2", "base.qcow2"), "base.qcow2");
        assert_eq!(backing_path("/d/top.qcow2", "base.qcow2"), "/d/base.qcow2");
        assert_eq!(backing_path("d/e/top", "../base"), "d/e/../base");
        assert_eq!(backing_path("/d/top", "/x/base"), "/x/base");
    }
}
