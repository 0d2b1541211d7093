//! Block permissions (QEMU 7.2's `block.c`), as data: every user of a node
//! (a parent node through one of its children, a job through one of its
//! links, a BlockBackend) takes some permissions on the node and shares
//! some with the others. A graph change that gives a user permissions
//! another one does not share is refused with QEMU's `Permission conflict
//! on node …` text, and a write permission on a read-only node with
//! `Block node is read-only`.
//!
//! A link's permissions are worked out from the graph whenever they are
//! needed: a job's links and a BlockBackend's are fixed when they are made;
//! a node's permissions on its children follow from what its own users take
//! and share, by its driver's rules (`bdrv_child_perm` and the drivers'
//! callbacks). [`JobManager::check_perms_below`] checks a node and every
//! node below it, in QEMU's order, as `bdrv_refresh_perms` does after a
//! graph change.

use serde::{Deserialize, Serialize};

use crate::block::{BlockdevDriver, Driver, FilterKind, NodeRef, Parent, Role};
use crate::error::{Error, Result};
use crate::job::JobRef;
use crate::manager::JobManager;

/// A set of block permissions (`BLK_PERM_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Perm(u8);

crate::snapshot::codec::codec_struct!(Perm(0));

impl Perm {
    /// None.
    pub const NONE: Perm = Perm(0);
    /// `BLK_PERM_CONSISTENT_READ`.
    pub const CONSISTENT_READ: Perm = Perm(1);
    /// `BLK_PERM_WRITE`.
    pub const WRITE: Perm = Perm(2);
    /// `BLK_PERM_WRITE_UNCHANGED`.
    pub const WRITE_UNCHANGED: Perm = Perm(4);
    /// `BLK_PERM_RESIZE`.
    pub const RESIZE: Perm = Perm(8);
    /// `BLK_PERM_ALL`.
    pub const ALL: Perm = Perm(15);

    /// Whether any permission of `other` is in `self`.
    pub const fn intersects(self, other: Perm) -> bool {
        self.0 & other.0 != 0
    }

    /// `bdrv_perm_names`: `consistent read, write, …`.
    pub fn names(self) -> String {
        const NAMES: [(Perm, &str); 4] = [
            (Perm::CONSISTENT_READ, "consistent read"),
            (Perm::WRITE, "write"),
            (Perm::WRITE_UNCHANGED, "write unchanged"),
            (Perm::RESIZE, "resize"),
        ];
        NAMES
            .iter()
            .filter(|(p, _)| self.intersects(*p))
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the set is valid (no bit beyond `ALL`), for restored state.
    pub const fn is_valid(self) -> bool {
        self.0 & !Perm::ALL.0 == 0
    }
}

impl std::ops::BitOr for Perm {
    type Output = Perm;
    fn bitor(self, o: Perm) -> Perm {
        Perm(self.0 | o.0)
    }
}

impl std::ops::BitAnd for Perm {
    type Output = Perm;
    fn bitand(self, o: Perm) -> Perm {
        Perm(self.0 & o.0)
    }
}

impl std::ops::Sub for Perm {
    type Output = Perm;
    /// The permissions of `self` that are not in `o`.
    fn sub(self, o: Perm) -> Perm {
        Perm(self.0 & !o.0)
    }
}

/// What QEMU forwards through a filter (`DEFAULT_PERM_PASSTHROUGH`).
const PASSTHROUGH: Perm = Perm::ALL;
/// What a filter always shares (`DEFAULT_PERM_UNCHANGED`).
const UNCHANGED: Perm = Perm(Perm::CONSISTENT_READ.0 | Perm::WRITE_UNCHANGED.0);

/// The name of a job's link to a node (`block_job_add_bdrv`'s `name`), or
/// the job's own BlockBackend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum LinkRole {
    /// `main node`: the node the job was created on.
    MainNode,
    /// `source` (mirror).
    Source,
    /// `target` (backup, mirror).
    Target,
    /// `intermediate node` (commit, stream, active commit).
    IntermediateNode,
    /// `active node` (stream).
    ActiveNode,
    /// `base` (commit).
    Base,
    /// A BlockBackend the job holds (mirror's target, commit's base and
    /// top, stream's filter): QEMU names it `an unnamed block device`, its
    /// link `root`.
    Backend,
}

crate::snapshot::codec::codec_enum!(LinkRole {
    MainNode,
    Source,
    Target,
    IntermediateNode,
    ActiveNode,
    Base,
    Backend
});

impl LinkRole {
    /// QEMU's name for the link.
    pub const fn name(self) -> &'static str {
        match self {
            LinkRole::MainNode => "main node",
            LinkRole::Source => "source",
            LinkRole::Target => "target",
            LinkRole::IntermediateNode => "intermediate node",
            LinkRole::ActiveNode => "active node",
            LinkRole::Base => "base",
            LinkRole::Backend => "root",
        }
    }
}

/// One of a job's links to a node, with the permissions it takes and
/// shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobLink {
    pub node: NodeRef,
    pub role: LinkRole,
    pub perm: Perm,
    pub shared: Perm,
}

crate::snapshot::codec::codec_struct!(JobLink {
    node,
    role,
    perm,
    shared
});

impl JobLink {
    /// A link that takes `perm` and shares `shared`.
    pub const fn new(node: NodeRef, role: LinkRole, perm: Perm, shared: Perm) -> JobLink {
        JobLink {
            node,
            role,
            perm,
            shared,
        }
    }
}

/// One user of a node, as a permission check sees it.
#[derive(Clone, Copy, Debug)]
struct User {
    /// Who it is (written out only for an error).
    who: Who,
    /// The child's name (`file`, `backing`, `target`, `root`, …).
    name: &'static str,
    perm: Perm,
    shared: Perm,
}

/// Who uses a node: what `bdrv_child_user_desc` names.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// A node, through one of its children.
    Node(NodeRef),
    /// A block job (not through a BlockBackend).
    Job(JobRef),
    /// A drive's or a device's BlockBackend.
    Backend(crate::slab::BackendRef),
    /// An anonymous BlockBackend (a job's, an export's).
    Unnamed,
}

impl crate::block::Graph {
    /// `bdrv_reopen_set_read_only`: node `n` and the nodes below it that are
    /// not its backing chain (its file, blkdebug's image, which inherit it)
    /// become read-only or read-write. Returns whether `n` changed.
    pub(crate) fn reopen(&mut self, n: NodeRef, read_only: bool) -> bool {
        if self.node(n).read_only == read_only {
            return false;
        }
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            let node = self.node_mut(x);
            node.read_only = read_only;
            let below = node.children.iter().filter(|&&(r, _)| r != Role::Backing);
            stack.extend(below.map(|&(_, c)| c));
        }
        true
    }
}

/// The role flags of a child link (`BDRV_CHILD_*`), as the default rules
/// read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChildKind {
    /// `BDRV_CHILD_FILTERED`.
    Filtered,
    /// `BDRV_CHILD_COW`: a backing file.
    Cow,
    /// `BDRV_CHILD_DATA | BDRV_CHILD_METADATA`: a format's file.
    Storage,
}

/// `bdrv_filter_default_perms`.
fn filter_default(perm: Perm, shared: Perm) -> (Perm, Perm) {
    (perm & PASSTHROUGH, (shared & PASSTHROUGH) | UNCHANGED)
}

/// `bdrv_default_perms` for a child of `kind` of a node that is writable
/// (or not).
fn default_perms(kind: ChildKind, perm: Perm, shared: Perm, writable: bool) -> (Perm, Perm) {
    match kind {
        ChildKind::Filtered => filter_default(perm, shared),
        ChildKind::Cow => {
            let nshared = if shared.intersects(Perm::WRITE) {
                Perm::WRITE | Perm::RESIZE
            } else {
                Perm::NONE
            };
            (
                perm & Perm::CONSISTENT_READ,
                nshared | Perm::CONSISTENT_READ | Perm::WRITE_UNCHANGED,
            )
        }
        ChildKind::Storage => {
            let (mut p, mut s) = filter_default(perm, shared);
            // Metadata: the format may write it even when no user writes.
            if writable {
                p = p | Perm::WRITE | Perm::RESIZE;
            }
            p = p | Perm::CONSISTENT_READ;
            s = s - (Perm::WRITE | Perm::RESIZE);
            // Data.
            if p.intersects(Perm::WRITE_UNCHANGED) {
                p = p | Perm::WRITE;
            }
            if p.intersects(Perm::WRITE) {
                p = p | Perm::RESIZE;
            }
            (p, s)
        }
    }
}

/// Link permissions worked out once per check: a node's cumulative
/// permissions by its slot (the graph is small; a check visits a chain).
#[derive(Default)]
struct PermCache {
    cumulative: Vec<Option<(Perm, Perm)>>,
}

impl PermCache {
    fn get(&self, n: NodeRef) -> Option<(Perm, Perm)> {
        self.cumulative.get(n.pos()).copied().flatten()
    }

    fn set(&mut self, n: NodeRef, p: (Perm, Perm)) {
        if self.cumulative.len() <= n.pos() {
            self.cumulative.resize(n.pos() + 1, None);
        }
        self.cumulative[n.pos()] = Some(p);
    }
}

impl JobManager {
    /// The name QEMU gives the link from `parent` to its child with `role`.
    fn child_name(&self, parent: NodeRef, role: Role) -> &'static str {
        match (role, &self.graph.node(parent).driver) {
            (Role::Target, _) => "target",
            (Role::Image, _) => "image",
            (Role::File, _) => "file",
            // The source below a copy-before-write or copy-on-read filter
            // is its `file`; mirror_top and commit_top have a `backing`.
            (
                Role::Backing,
                Driver::JobFilter {
                    kind: FilterKind::CopyBeforeWrite | FilterKind::CopyOnRead,
                },
            ) => "file",
            (Role::Backing, _) => "backing",
        }
    }

    /// What a node's users take and share together
    /// (`bdrv_get_cumulative_perm`).
    fn cumulative_perm(&self, n: NodeRef, cache: &mut PermCache) -> (Perm, Perm) {
        if let Some(c) = cache.get(n) {
            return c;
        }
        let mut perm = Perm::NONE;
        let mut shared = Perm::ALL;
        for u in self.users(n, cache) {
            perm = perm | u.perm;
            shared = shared & u.shared;
        }
        cache.set(n, (perm, shared));
        (perm, shared)
    }

    /// What node `parent` takes and shares on its child `child` through
    /// the link with `role` (`bdrv_child_perm` with the driver's rules).
    fn child_perm(&self, parent: NodeRef, role: Role, cache: &mut PermCache) -> (Perm, Perm) {
        let (perm, shared) = self.cumulative_perm(parent, cache);
        let node = self.graph.node(parent);
        let writable = !node.read_only;
        match &node.driver {
            Driver::Qcow2 => {
                let kind = if role == Role::Backing {
                    ChildKind::Cow
                } else {
                    ChildKind::Storage
                };
                default_perms(kind, perm, shared, writable)
            }
            Driver::Raw { .. } => {
                let (p, s) = default_perms(ChildKind::Filtered, perm, shared, writable);
                (
                    (p - (Perm::WRITE | Perm::RESIZE)) | (perm & (Perm::WRITE | Perm::RESIZE)),
                    s,
                )
            }
            Driver::Blkdebug { .. } | Driver::Throttle { .. } => {
                default_perms(ChildKind::Filtered, perm, shared, writable)
            }
            Driver::Filter { driver } => match driver {
                // cor_child_perm: as a stream's copy-on-read filter.
                BlockdevDriver::CopyOnRead => (
                    (perm & (Perm::CONSISTENT_READ | Perm::WRITE | Perm::RESIZE))
                        | Perm::WRITE_UNCHANGED,
                    (shared & (Perm::CONSISTENT_READ | Perm::WRITE | Perm::RESIZE))
                        | Perm::WRITE_UNCHANGED,
                ),
                // preallocate_child_perm: a writer that resizes shares
                // neither.
                BlockdevDriver::Preallocate
                    if perm.intersects(Perm::WRITE) && perm.intersects(Perm::RESIZE) =>
                {
                    let (p, s) = default_perms(ChildKind::Filtered, perm, shared, writable);
                    (
                        p | Perm::WRITE | Perm::RESIZE,
                        s - (Perm::WRITE | Perm::RESIZE),
                    )
                }
                _ => default_perms(ChildKind::Filtered, perm, shared, writable),
            },
            Driver::JobFilter { kind } => match kind {
                FilterKind::CopyBeforeWrite if role == Role::Target => {
                    (Perm::WRITE, Perm::ALL - Perm::RESIZE)
                }
                FilterKind::CopyBeforeWrite => {
                    let (mut p, mut s) = default_perms(ChildKind::Filtered, perm, shared, writable);
                    if !node.parents.is_empty() {
                        if perm.intersects(Perm::WRITE) || self.profile().cbw_source_always_read {
                            p = p | Perm::CONSISTENT_READ;
                        }
                        s = s - (Perm::WRITE | Perm::RESIZE);
                    }
                    (p, s)
                }
                FilterKind::MirrorTop { commit } => {
                    let (mut p, mut s) = default_perms(ChildKind::Filtered, perm, shared, writable);
                    if *commit {
                        p = p - Perm::CONSISTENT_READ;
                        s = s | Perm::WRITE;
                    }
                    (p, s)
                }
                FilterKind::CommitTop => (Perm::NONE, Perm::ALL),
                FilterKind::CopyOnRead => (
                    (perm & (Perm::CONSISTENT_READ | Perm::WRITE | Perm::RESIZE))
                        | Perm::WRITE_UNCHANGED,
                    (shared & (Perm::CONSISTENT_READ | Perm::WRITE | Perm::RESIZE))
                        | Perm::WRITE_UNCHANGED,
                ),
            },
            Driver::NullCo { .. } | Driver::File { .. } => (Perm::NONE, Perm::ALL),
        }
    }

    /// The users of node `n`, most recently attached first (QEMU's
    /// `bs->parents` order).
    fn users(&self, n: NodeRef, cache: &mut PermCache) -> Vec<User> {
        let node = self.graph.node(n);
        let mut out = Vec::with_capacity(node.parents.len());
        for (i, &p) in node.parents.iter().enumerate() {
            // The k-th entry of a parent (newest first) is its k-th newest
            // link to n: k counts the same parent's earlier entries.
            let k = node.parents[..i].iter().filter(|&&q| q == p).count();
            match p {
                Parent::Node(pn) => {
                    let links = self
                        .graph
                        .node(pn)
                        .children
                        .iter()
                        .filter(|&&(_, c)| c == n);
                    let Some(&(role, _)) = links.rev().nth(k) else {
                        continue;
                    };
                    let (perm, shared) = self.child_perm(pn, role, cache);
                    out.push(User {
                        who: Who::Node(pn),
                        name: self.child_name(pn, role),
                        perm,
                        shared,
                    });
                }
                Parent::Job(j) => {
                    let links = self.job(j).nodes.as_deref().map_or(&[][..], Vec::as_slice);
                    let Some(link) = links.iter().filter(|l| l.node == n).rev().nth(k) else {
                        continue;
                    };
                    out.push(User {
                        who: if link.role == LinkRole::Backend {
                            Who::Unnamed
                        } else {
                            Who::Job(j)
                        },
                        name: link.role.name(),
                        perm: link.perm,
                        shared: link.shared,
                    });
                }
                Parent::Backend(b) => {
                    let (perm, shared) = self.backend_perms(b, n);
                    out.push(User {
                        who: Who::Backend(b),
                        name: "root",
                        perm,
                        shared,
                    });
                }
                Parent::Export(e) => {
                    if let Some(x) = self.graph.exports.get(e) {
                        out.push(User {
                            who: Who::Unnamed,
                            name: "root",
                            perm: x.perm,
                            shared: x.shared,
                        });
                    }
                }
            }
        }
        out
    }

    /// What a drive's or a device's BlockBackend on `n` takes and shares: a
    /// drive alone (`blk_new_open`) reads consistently and writes (unless
    /// read-only) and shares everything; a device's (`virtio-blk`,
    /// `blkconf_apply_backend_options`) shares only consistent read,
    /// unchanged writes and resize.
    fn backend_perms(&self, b: crate::slab::BackendRef, n: NodeRef) -> (Perm, Perm) {
        let mut perm = Perm::CONSISTENT_READ;
        if !self.graph.node(n).read_only {
            perm = perm | Perm::WRITE;
        }
        let shared = match self.graph.backend(b).device {
            Some(_) => Perm::CONSISTENT_READ | Perm::WRITE_UNCHANGED | Perm::RESIZE,
            None => Perm::ALL,
        };
        (perm, shared)
    }

    /// `bdrv_child_user_desc`: how an error names a user.
    fn describe(&self, who: Who) -> String {
        match who {
            Who::Node(pn) => format!("node '{}'", self.graph.node(pn).name),
            Who::Job(j) => {
                let job = self.job(j);
                format!("{} job '{}'", job.job_type, job.id.as_deref().unwrap_or(""))
            }
            Who::Backend(b) => self.graph.backend_desc(b),
            Who::Unnamed => "an unnamed block device".into(),
        }
    }

    /// `bdrv_parent_perms_conflict`: whether every user of `n` shares
    /// what each other user takes; the first pair that does not, in
    /// QEMU's order, gives the error.
    fn check_node_users(&self, n: NodeRef, cache: &mut PermCache) -> Result<()> {
        let users = self.users(n, cache);
        for (i, a) in users.iter().enumerate() {
            for (k, b) in users.iter().enumerate() {
                if i == k {
                    continue;
                }
                let denied = b.perm - a.shared;
                if denied != Perm::NONE {
                    let name = &self.graph.node(n).name;
                    return Err(Error::generic(format!(
                        "Permission conflict on node '{name}': permissions '{}' are both \
                         required by {} (uses node '{name}' as '{}' child) and unshared by {} \
                         (uses node '{name}' as '{}' child).",
                        denied.names(),
                        self.describe(b.who),
                        b.name,
                        self.describe(a.who),
                        a.name
                    )));
                }
            }
        }
        let (perm, _) = self.cumulative_perm(n, cache);
        if self.graph.node(n).read_only && perm.intersects(Perm::WRITE | Perm::WRITE_UNCHANGED) {
            return Err(Error::generic("Block node is read-only"));
        }
        Ok(())
    }

    /// `bdrv_refresh_perms(n)`: checks `n` and every node below it, in
    /// QEMU's order (a topological order from `n` down, a node's older
    /// children first).
    pub(crate) fn check_perms_below(&self, n: NodeRef) -> Result<()> {
        let (mut order, mut found) = (Vec::new(), Vec::new());
        self.topological(n, &mut found, &mut order);
        let mut cache = PermCache::default();
        for &x in order.iter().rev() {
            self.check_node_users(x, &mut cache)?;
        }
        Ok(())
    }

    /// `bdrv_topological_dfs`: `order` gets the nodes below `n` in reverse
    /// (QEMU prepends each node after its children).
    fn topological(&self, n: NodeRef, found: &mut Vec<NodeRef>, order: &mut Vec<NodeRef>) {
        // A node below several parents is visited once (the nodes below one
        // node are few: a list is quicker than a hash set).
        if found.contains(&n) {
            return;
        }
        found.push(n);
        // QEMU's children list is newest first.
        for &(_, c) in self.graph.node(n).children.iter().rev() {
            self.topological(c, found, order);
        }
        order.push(n);
    }

    /// `block_job_add_bdrv` with its permission check: attaches job `j` to
    /// the node of `link`; when a user of the node (or of a node below)
    /// then conflicts, the link is taken back and the error returned.
    pub(crate) fn add_job_link(&mut self, j: JobRef, link: JobLink) -> Result<()> {
        self.attach_job(j, link);
        let checked = self.check_perms_below(link.node);
        if checked.is_err() {
            self.detach_job_link(j, link.node);
        }
        checked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_qemu_order() {
        assert_eq!(
            Perm::ALL.names(),
            "consistent read, write, write unchanged, resize"
        );
        assert_eq!((Perm::RESIZE | Perm::WRITE).names(), "write, resize");
        assert_eq!(Perm::NONE.names(), "");
        assert_eq!(Perm::ALL - Perm::RESIZE, Perm(7));
    }

    #[test]
    fn a_backing_file_shares_what_its_overlay_lets_others_do() {
        let (p, s) = default_perms(ChildKind::Cow, Perm::ALL, Perm::ALL, true);
        assert_eq!(p, Perm::CONSISTENT_READ);
        assert_eq!(s, Perm::ALL);
        let (_, s) = default_perms(ChildKind::Cow, Perm::ALL, Perm::CONSISTENT_READ, true);
        assert_eq!(s, UNCHANGED);
    }

    #[test]
    fn a_format_writes_its_file_when_writable() {
        let (p, s) = default_perms(ChildKind::Storage, Perm::NONE, Perm::ALL, true);
        assert_eq!(p, Perm::CONSISTENT_READ | Perm::WRITE | Perm::RESIZE);
        assert_eq!(s, UNCHANGED);
        let (p, _) = default_perms(ChildKind::Storage, Perm::NONE, Perm::ALL, false);
        assert_eq!(p, Perm::CONSISTENT_READ);
    }
}
