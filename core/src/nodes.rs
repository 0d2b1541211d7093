//! `blockdev-add` / `blockdev-del` over the simulated block layer, and the
//! image files that `file` nodes open (the scenario `image` directive).

use crate::block::{BlockdevDriver, Driver, ImageFile, InjectError, NodeRef, Parent, Role};
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::profile::GraphChange;

/// A child given inline (a nested options object) or by node name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChildRef {
    /// An existing node.
    Name(String),
    /// A new node.
    Inline(Box<NodeOptions>),
}

/// The `blockdev-add` options qjob simulates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeOptions {
    /// `null-co`: discards writes; reads zeroes when `read_zeroes`.
    NullCo {
        /// Node name.
        node_name: Option<String>,
        /// Size (default 1 GiB).
        size: u64,
        /// Report and read zeroes.
        read_zeroes: bool,
        /// The options of those given that QEMU's `json:` file name of the
        /// node shows (`size`, `read-zeroes`), as given.
        strong_options: Vec<(String, serde_json::Value)>,
    },
    /// `raw` over a child.
    Raw {
        /// Node name.
        node_name: Option<String>,
        /// The protocol child.
        file: ChildRef,
        /// Where the node starts in its child (`offset`; default 0; QEMU
        /// reads it as a size when the node opens: a negative one is
        /// refused then).
        offset: i64,
        /// The node's size (`size`; default: the rest of the child;
        /// negative: refused as `offset`).
        size: Option<i64>,
        /// The options of those given that QEMU's `json:` file name of the
        /// node shows (`offset`, `size`), as given.
        strong_options: Vec<(String, serde_json::Value)>,
    },
    /// A filter driver over a child that passes I/O through:
    /// `copy-on-read`, `preallocate` or `compress` (whose child must take
    /// compressed writes: `qcow2`, `copy-on-read`, `throttle`).
    Filter {
        /// Node name.
        node_name: Option<String>,
        /// Which driver.
        driver: BlockdevDriver,
        /// The filtered child.
        file: ChildRef,
    },
    /// `blkdebug` over `image`, with error injection rules.
    Blkdebug {
        /// Node name.
        node_name: Option<String>,
        /// The image child.
        image: ChildRef,
        /// `inject-error` rules.
        inject_error: Vec<InjectError>,
        /// The options of those given that QEMU's `json:` file name of the
        /// node shows (`align`, `inject-error`, …), as given.
        strong_options: Vec<(String, serde_json::Value)>,
    },
    /// `file`: an image file of the scenario's folder.
    File {
        /// Node name.
        node_name: Option<String>,
        /// File name.
        filename: String,
    },
    /// `qcow2` over a child holding a qcow2 image.
    Qcow2 {
        /// Node name.
        node_name: Option<String>,
        /// The protocol child.
        file: ChildRef,
        /// The backing node.
        backing: Backing,
    },
    /// `throttle` over a child, its I/O limited by a throttle group
    /// (`object-add`).
    Throttle {
        /// Node name.
        node_name: Option<String>,
        /// The throttle group's ID.
        group: String,
        /// The filtered child.
        file: ChildRef,
    },
}

/// The backing node a qcow2 node's options give: QEMU's
/// `BlockdevRefOrNull` (a node name, `null`, or the options of a new
/// node), or nothing given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Backing {
    /// Not given: the node the image's backing file opens (its format the
    /// one the image names, else probed), if the image names one.
    #[default]
    Image,
    /// `null`: no backing node.
    None,
    /// An existing node, by name.
    Node(String),
    /// A new node, opened from these options instead of the image's
    /// backing file name (`-drive`'s partial `backing.*` options are
    /// completed from the image first, as QEMU's
    /// `bdrv_open_backing_file` does).
    Options(Box<NodeOptions>),
}

impl NodeOptions {
    fn node_name(&self) -> Option<&str> {
        match self {
            NodeOptions::NullCo { node_name, .. }
            | NodeOptions::Raw { node_name, .. }
            | NodeOptions::Blkdebug { node_name, .. }
            | NodeOptions::File { node_name, .. }
            | NodeOptions::Qcow2 { node_name, .. }
            | NodeOptions::Throttle { node_name, .. }
            | NodeOptions::Filter { node_name, .. } => node_name.as_deref(),
        }
    }

    /// The children the options give the node (a named backing node
    /// counts; a backing node opened after the node, from the image's
    /// backing file or from options, does not).
    fn given_children(&self) -> usize {
        match self {
            NodeOptions::NullCo { .. } | NodeOptions::File { .. } => 0,
            NodeOptions::Raw { .. }
            | NodeOptions::Blkdebug { .. }
            | NodeOptions::Throttle { .. }
            | NodeOptions::Filter { .. } => 1,
            NodeOptions::Qcow2 { backing, .. } => {
                1 + usize::from(matches!(backing, Backing::Node(_)))
            }
        }
    }
}

/// A named block node, as [`JobManager::named_nodes`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node name.
    pub name: String,
    /// The block driver: `null-co`, `raw`, `blkdebug`, `file`, `qcow2`,
    /// `throttle`, `copy-on-read`, `preallocate`, `compress`, or `filter`
    /// for a job's filter named with `filter-node-name`.
    pub driver: &'static str,
    /// Virtual size in bytes.
    pub size: u64,
    /// `bdrv_is_root_node`: nothing but the monitor uses the node.
    pub root: bool,
    /// A job's op blocker holds the node.
    pub busy: bool,
    /// The name of its backing node, if it has a named one.
    pub backing: Option<String>,
}

/// Default `null-co` size: 1 GiB.
pub const NULL_CO_DEFAULT_SIZE: u64 = 1 << 30;

impl JobManager {
    /// Adds an image file to the simulated folder (what `qemu-img create`
    /// does for the scenario `image` directive).
    pub fn add_image(&mut self, file: &str, image: ImageFile) {
        self.graph.files.insert(file.to_owned(), image.into());
    }

    /// Whether a node with this name exists.
    pub fn has_node(&self, name: &str) -> bool {
        self.graph.lookup(name).is_some()
    }

    /// Every named node, oldest slot first, with what a front end needs to
    /// offer it: its driver, size, whether it is a root node (a job's source
    /// must be) and whether a job's op blocker holds it (QEMU then refuses
    /// it as `Node 'X' is busy: …`).
    pub fn named_nodes(&self) -> Vec<NodeInfo> {
        let g = &self.graph;
        g.live()
            .filter(|(n, node)| !node.name.starts_with('#') && g.lookup(&node.name) == Some(*n))
            .map(|(n, node)| NodeInfo {
                name: node.name.clone(),
                driver: node.driver.name(),
                size: node.size,
                root: g.is_root(n),
                busy: !node.blockers.is_empty(),
                backing: g.child(n, Role::Backing).map(|b| g.node(b).name.clone()),
            })
            .collect()
    }

    /// `blockdev-add`: the root node must have a `node-name`.
    pub fn blockdev_add(&mut self, opts: NodeOptions) -> Result<()> {
        self.blockdev_add_read_only(opts, false)
    }

    /// `blockdev-add` with `read-only`: the new node and the nodes it
    /// opened with it are read-only (no user may write them, and an export
    /// of it cannot be writable).
    pub fn blockdev_add_read_only(&mut self, opts: NodeOptions, read_only: bool) -> Result<()> {
        self.blockdev_add_with(opts, read_only, None)
    }

    /// `blockdev-add` with `read-only` and `active` (QEMU 10.0; `None`: not
    /// given, active): with `active: false` the new node and the nodes it
    /// opened with it are inactive ([`blockdev_set_active`](Self::blockdev_set_active)).
    /// Under QEMU 7.2 `active` given at all is refused (`Parameter 'active'
    /// is unexpected`).
    pub fn blockdev_add_with(
        &mut self,
        opts: NodeOptions,
        read_only: bool,
        active: Option<bool>,
    ) -> Result<()> {
        self.require_member("active", active.is_some())?;
        if opts.node_name().is_none() {
            return Err(Error::generic(
                "'node-name' must be specified for the root node",
            ));
        }
        // QEMU opens a node's children before it checks the node's name:
        // a refused name comes after every child opened.
        let name_refused = opts
            .node_name()
            .is_some_and(|n| self.check_node_name(n).is_err());
        let mut created = Vec::new();
        match self.open_node(&opts, &mut created) {
            Ok(n) => {
                self.graph.node_mut(n).monitor = true;
                for &c in &created {
                    let node = self.graph.node_mut(c);
                    node.read_only |= read_only;
                    node.inactive = active == Some(false);
                }
                let children = self.graph.node(n).children.len();
                self.graph_lock_drains(GraphChange::NodeAdded(children));
                Ok(())
            }
            Err(e) => {
                let children = opts.given_children();
                let opened = if name_refused {
                    children
                } else {
                    created.len().min(children)
                };
                for n in created.into_iter().rev() {
                    self.delete_node(n);
                }
                self.graph_lock_drains(GraphChange::NodeAddRefused { children, opened });
                Err(e)
            }
        }
    }

    fn check_node_name(&self, name: &str) -> Result<()> {
        if !crate::model::id_wellformed(name) {
            return Err(Error::generic(format!("Invalid node-name: '{name}'")));
        }
        if self.graph.backend_by_name(name).is_some() {
            return Err(Error::generic(format!(
                "node-name={name} is conflicting with a device id"
            )));
        }
        if self.graph.lookup(name).is_some() {
            return Err(Error::generic(format!(
                "Duplicate nodes with node-name='{name}'"
            )));
        }
        Ok(())
    }

    /// The node of a format or filter driver over its opened `file` child
    /// (raw, the pass-through filters, throttle): named (or given an
    /// automatic name), added with `size` and the strong options its
    /// `json:` file name shows, the child attached, the child's probing
    /// BlockBackend dropped.
    fn add_over_file(
        &mut self,
        node_name: &Option<String>,
        driver: Driver,
        size: u64,
        strong_options: Vec<(String, serde_json::Value)>,
        child: NodeRef,
        created: &mut Vec<NodeRef>,
    ) -> Result<NodeRef> {
        let (name, user) = self.name_or_implicit(node_name.as_deref())?;
        let n = self.graph.add(name, driver, size, user);
        self.graph.node_mut(n).strong_options = strong_options;
        created.push(n);
        self.attach_child(n, Role::File, child);
        self.unref_probe_backend(child);
        Ok(n)
    }

    fn name_or_implicit(&mut self, name: Option<&str>) -> Result<(String, bool)> {
        match name {
            Some(n) => {
                self.check_node_name(n)?;
                Ok((n.to_owned(), true))
            }
            None => Ok((self.graph.implicit_name(), false)),
        }
    }

    fn open_child(&mut self, c: &ChildRef, created: &mut Vec<NodeRef>) -> Result<NodeRef> {
        match c {
            ChildRef::Name(n) => self.lookup_node(n, n),
            ChildRef::Inline(o) => self.open_node(o, created),
        }
    }

    pub(crate) fn open_node(
        &mut self,
        opts: &NodeOptions,
        created: &mut Vec<NodeRef>,
    ) -> Result<NodeRef> {
        match opts {
            NodeOptions::NullCo {
                node_name,
                size,
                read_zeroes,
                strong_options,
            } => {
                let (name, user) = self.name_or_implicit(node_name.as_deref())?;
                let n = self.graph.add(
                    name,
                    Driver::NullCo {
                        read_zeroes: *read_zeroes,
                    },
                    *size,
                    user,
                );
                self.graph.node_mut(n).strong_options = strong_options.clone();
                created.push(n);
                Ok(n)
            }
            NodeOptions::File {
                node_name,
                filename,
            } => {
                let size = self.graph.open_image(filename)?.size;
                let (name, user) = self.name_or_implicit(node_name.as_deref())?;
                let n = self.graph.add(
                    name,
                    Driver::File {
                        filename: filename.clone(),
                    },
                    size,
                    user,
                );
                created.push(n);
                Ok(n)
            }
            NodeOptions::Raw {
                node_name,
                file,
                offset,
                size,
                strong_options,
            } => {
                if let Some(n) = node_name {
                    self.check_node_name(n)?;
                }
                // raw_read_options (sizes: no negatives), before the child.
                let profile = self.profile();
                let size_opt = |name: &str, v: i64| {
                    u64::try_from(v)
                        .map_err(|_| Error::generic(profile.negative_size_refusal(name, v)))
                };
                let offset = &size_opt("offset", *offset)?;
                let size = match size {
                    Some(s) => Some(size_opt("size", *s)?),
                    None => None,
                };
                let child = self.open_child(file, created)?;
                // raw_apply_options.
                let real_size = self.graph.node(child).size;
                if *offset > real_size {
                    return Err(Error::generic(format!(
                        "Offset ({offset}) cannot be greater than size of the containing file ({real_size})"
                    )));
                }
                if let Some(s) = size.filter(|&s| real_size - offset < s) {
                    return Err(Error::generic(format!(
                        "The sum of offset ({offset}) and size ({s}) has to be smaller or equal to the  actual size of the containing file ({real_size})"
                    )));
                }
                if size.is_some_and(|s| s % 512 != 0) {
                    return Err(Error::generic("Specified size is not multiple of 512"));
                }
                let size = size.unwrap_or(real_size - offset);
                let driver = Driver::Raw { offset: *offset };
                self.add_over_file(
                    node_name,
                    driver,
                    size,
                    strong_options.clone(),
                    child,
                    created,
                )
            }
            NodeOptions::Filter {
                node_name,
                driver,
                file,
            } => {
                if let Some(n) = node_name {
                    self.check_node_name(n)?;
                }
                let child = self.open_child(file, created)?;
                // compress_open: only a format that takes compressed writes.
                if *driver == BlockdevDriver::Compress
                    && !self.graph.node(child).driver.can_compress()
                {
                    return Err(Error::generic(format!(
                        "Compression is not supported for underlying format: {}",
                        self.graph.node(child).driver.name()
                    )));
                }
                let size = self.graph.node(child).size;
                let driver = Driver::Filter { driver: *driver };
                self.add_over_file(node_name, driver, size, Vec::new(), child, created)
            }
            NodeOptions::Throttle {
                node_name,
                group,
                file,
            } => {
                if let Some(n) = node_name {
                    self.check_node_name(n)?;
                }
                // throttle_open: the child first, then the group.
                let child = self.open_child(file, created)?;
                self.check_throttle_group(group)?;
                let size = self.graph.node(child).size;
                let driver = Driver::Throttle {
                    group: group.clone(),
                };
                // Its one strong option, which its `json:` file name shows.
                let strong = vec![("throttle-group".into(), group.clone().into())];
                self.add_over_file(node_name, driver, size, strong, child, created)
            }
            NodeOptions::Blkdebug {
                node_name,
                image,
                inject_error,
                strong_options,
            } => {
                // A protocol driver: named before it opens its image.
                let (name, user) = self.name_or_implicit(node_name.as_deref())?;
                let n = self.graph.add(
                    name,
                    Driver::Blkdebug {
                        rules: inject_error.clone(),
                        active: Vec::new(),
                    },
                    0,
                    user,
                );
                self.graph.node_mut(n).strong_options = strong_options.clone();
                created.push(n);
                let child = self.open_child(image, created)?;
                self.graph.node_mut(n).size = self.graph.node(child).size;
                self.attach_child(n, Role::Image, child);
                Ok(n)
            }
            NodeOptions::Qcow2 {
                node_name,
                file,
                backing,
            } => {
                if let Some(n) = node_name {
                    self.check_node_name(n)?;
                }
                let child = self.open_child(file, created)?;
                // The image file, through protocol-level filters (blkdebug).
                let mut proto = child;
                while let Driver::Blkdebug { .. } = self.graph.node(proto).driver {
                    match self.graph.child(proto, Role::Image) {
                        Some(c) => proto = c,
                        None => break,
                    }
                }
                let (img, overlay) = match &self.graph.node(proto).driver {
                    Driver::File { filename } => {
                        (self.graph.files.get(filename).cloned(), filename.clone())
                    }
                    _ => (None, String::new()),
                };
                let Some(img) = img.filter(|i| i.is_qcow2()) else {
                    return Err(Error::generic("Image is not in qcow2 format"));
                };
                // The backing node: named, or opened from the image's
                // backing file or from the options given after this node is
                // (as QEMU names nodes).
                let from_image;
                let backing_opts = match backing {
                    Backing::Node(b) => Some(Err(self.lookup_node(b, b)?)),
                    Backing::None => None,
                    Backing::Image => {
                        from_image = self.backing_options(&img, &overlay);
                        from_image.as_ref().map(Ok)
                    }
                    Backing::Options(o) => Some(Ok(&**o)),
                };
                let (name, user) = self.name_or_implicit(node_name.as_deref())?;
                let n = self.graph.add(name, Driver::Qcow2, img.size, user);
                created.push(n);
                for &(o, l) in &img.data {
                    crate::block::add_extent(&mut self.graph.node_mut(n).allocated, o, l);
                }
                self.attach_child(n, Role::File, child);
                self.unref_probe_backend(child);
                let backing_node = match backing_opts {
                    Some(Err(named)) => Some(named),
                    Some(Ok(opts)) => {
                        let b = self.open_node(opts, created)?;
                        self.set_read_only(b);
                        Some(b)
                    }
                    None => None,
                };
                if let Some(b) = backing_node {
                    self.attach_child(n, Role::Backing, b);
                }
                Ok(n)
            }
        }
    }

    /// `bdrv_open_inherit` of a node that is not a protocol node opens its
    /// `file` child under a BlockBackend of its own first (for probing the
    /// format) and lets go of it once the driver has linked the child:
    /// the child is drained twice, pausing the jobs above it.
    fn unref_probe_backend(&mut self, child: NodeRef) {
        self.unref_backend(child);
    }

    /// The options of the backing node an image names (its backing file,
    /// relative to the image's directory, in the format the image names or
    /// else its own).
    fn backing_options(&self, img: &crate::block::Image, overlay: &str) -> Option<NodeOptions> {
        let file = img.backing.as_ref()?;
        let f = crate::files::backing_path(overlay, file);
        let is_qcow2 = match img.backing_format {
            Some(format) => format == BlockdevDriver::Qcow2,
            None => self.graph.files.get(&f).is_some_and(|i| i.is_qcow2()),
        };
        let inner = ChildRef::Inline(Box::new(NodeOptions::File {
            node_name: None,
            filename: f,
        }));
        Some(if is_qcow2 {
            NodeOptions::Qcow2 {
                node_name: None,
                file: inner,
                backing: Backing::Image,
            }
        } else {
            NodeOptions::Raw {
                node_name: None,
                file: inner,
                offset: 0,
                size: None,
                strong_options: Vec::new(),
            }
        })
    }

    /// `bdrv_open_backing_file`: opens the backing chain a qcow2 node's
    /// image names, when it has none yet. A chain that does not open is
    /// left out (QEMU reports it and goes on).
    pub(crate) fn open_backing_file(&mut self, n: NodeRef) {
        if !matches!(self.graph.node(n).driver, Driver::Qcow2)
            || self.graph.child(n, Role::Backing).is_some()
        {
            return;
        }
        let Some(file) = self.graph.node_file(n).map(str::to_owned) else {
            return;
        };
        let Some(opts) = self
            .graph
            .files
            .get(&file)
            .and_then(|img| self.backing_options(img, &file))
        else {
            return;
        };
        let mut created = Vec::new();
        match self.open_node(&opts, &mut created) {
            Ok(b) => {
                self.set_read_only(b);
                self.attach_child(n, Role::Backing, b)
            }
            Err(_) => self.delete_created(created),
        }
    }

    /// Marks a node opened as a backing file, and the nodes below it,
    /// read-only.
    fn set_read_only(&mut self, n: NodeRef) {
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            let node = self.graph.node_mut(x);
            if node.read_only {
                continue;
            }
            node.read_only = true;
            stack.extend(node.children.iter().map(|&(_, c)| c));
        }
    }

    /// `bdrv_unref` of a node nothing uses any more: a node the block
    /// layer opened itself (not the monitor's, nor a job's filter, which
    /// leaves the graph its own way) closes, and so do its children that
    /// nothing else uses. Returns how many nodes closed.
    pub(crate) fn unref_orphan(&mut self, n: NodeRef) -> usize {
        if !self.graph.alive(n) {
            return 0;
        }
        let node = self.graph.node(n);
        if node.monitor
            || !node.parents.is_empty()
            || matches!(node.driver, Driver::JobFilter { .. })
        {
            return 0;
        }
        let children: Vec<NodeRef> = node.children.iter().map(|&(_, c)| c).collect();
        self.delete_node(n);
        let mut closed = 1;
        for c in children {
            closed += self.unref_orphan(c);
        }
        closed
    }

    pub(crate) fn delete_node(&mut self, n: NodeRef) {
        if self.graph.nodes.get(n.pos()).is_none_or(|x| x.is_none()) {
            return;
        }
        let children = self.graph.node(n).children.clone();
        for (_, c) in children {
            self.graph.detach_child(n, c);
        }
        self.graph.remove(n);
    }

    /// `blockdev-set-active` (QEMU 10.0): activates `node_name` and the
    /// nodes below it, or inactivates it and those below it that only
    /// inactive nodes use. Refused for a node an active node uses (`Node
    /// has active parent node`); QEMU 7.2 has no such command. (QEMU also
    /// takes no `node-name`, for every node: qjob needs one.)
    pub fn blockdev_set_active(&mut self, node_name: Option<&str>, active: bool) -> Result<()> {
        self.require_command("blockdev-set-active")?;
        let Some(node_name) = node_name else {
            return Err(Error::generic(
                "qjob simulates blockdev-set-active with a 'node-name' only",
            ));
        };
        let Some(n) = self.graph.lookup(node_name) else {
            return Err(Error::generic(format!(
                "Failed to find node with node-name='{node_name}'"
            )));
        };
        let active_parent = |g: &crate::block::Graph, x: NodeRef| {
            g.node(x)
                .parents
                .iter()
                .any(|&p| matches!(p, Parent::Node(pn) if !g.node(pn).inactive))
        };
        if !active && active_parent(&self.graph, n) {
            return Err(Error::generic("Node has active parent node"));
        }
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if self.graph.node(x).inactive != active {
                continue;
            }
            self.graph.node_mut(x).inactive = !active;
            for c in self.graph.child_nodes(x) {
                if active || !active_parent(&self.graph, c) {
                    stack.push(c);
                }
            }
        }
        Ok(())
    }

    /// `blockdev-del`: removes a node added by `blockdev-add` (with the
    /// children it created) when nothing uses it.
    pub fn blockdev_del(&mut self, node_name: &str) -> Result<()> {
        let Some(n) = self.graph.lookup(node_name) else {
            return Err(Error::generic(format!(
                "Failed to find node with node-name='{node_name}'"
            )));
        };
        // `bdrv_has_blk`: a BlockBackend (a drive's, an export's) holds it.
        let exported = self
            .graph
            .node(n)
            .parents
            .iter()
            .any(|p| matches!(p, Parent::Export(_)));
        let job_backend = self.jobs.iter().any(|(_, j)| {
            j.nodes.is_some()
                && j.work
                    .driver()
                    .is_some_and(|d| d.backend_nodes().contains(&n))
        });
        if exported || self.graph.node_backends(n).next().is_some() || job_backend {
            return Err(Error::generic(format!("Node {node_name} is in use")));
        }
        self.drive_del_blocked(n)?;
        if !self.graph.node(n).monitor {
            return Err(Error::generic(format!(
                "Node {node_name} is not owned by the monitor"
            )));
        }
        if !self.graph.node(n).parents.is_empty() {
            return Err(Error::generic(format!(
                "Block device {node_name} is in use"
            )));
        }
        let mut stack = vec![n];
        let mut closed = 0;
        while let Some(x) = stack.pop() {
            let children = self.graph.child_nodes(x);
            self.delete_node(x);
            closed += 1;
            for c in children {
                let node = self.graph.node(c);
                if !node.monitor && node.parents.is_empty() {
                    stack.push(c);
                }
            }
        }
        self.graph_lock_drains(GraphChange::NodeDeleted(closed));
        Ok(())
    }
}
