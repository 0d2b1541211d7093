//! The QEMU a manager reproduces: 7.2 (the default) or 10.0, chosen when the
//! manager is made ([`JobManager::with_version`](crate::JobManager::with_version))
//! and kept in its snapshots.
//!
//! Everything that differs between the two is data in one [`Profile`] per
//! version, read where the behaviour lives: the verb table (10.0 has
//! `change`), the commands that exist (`block-job-change`), the texts that
//! changed, the order of a grouped transaction's checks, the members of
//! `query-block-jobs`, and the greeting's version. The code paths stay one.
//! `scenarios/QEMU10.md` lists the differences the recordings show, with the
//! QEMU commits behind each, and what 10.0 does that no profile has yet.

use crate::model::{JobStatus, JobVerb, VERB_PERMISSIONS};

crate::model::qapi_enum! {
    /// A QEMU release whose job behaviour a manager reproduces.
    #[derive(Default)]
    QemuVersion {
        /// QEMU 7.2 (Debian 12's), the default.
        #[default]
        V7_2 = "7.2",
        /// QEMU 10.0 (Debian 13's and bookworm-backports').
        V10_0 = "10.0",
    }
}

/// What one QEMU version does where versions differ.
#[derive(Debug)]
pub(crate) struct Profile {
    /// `JobVerbTable`: `verbs[verb][status]`, rows in [`JobVerb`] order.
    pub verbs: &'static [[bool; JobStatus::ALL.len()]; JobVerb::ALL.len()],
    /// The commands this version has of those [`LATER_COMMANDS`] lists.
    pub commands: &'static [&'static str],
    /// The command members this version has of those [`LATER_MEMBERS`]
    /// lists (QMP and the typed API refuse the others as unexpected).
    pub members: &'static [&'static str],
    /// Whether `query-block-jobs` gives mirror jobs `actively-synced`.
    pub actively_synced: bool,
    /// Whether a grouped `transaction` checks every action's type before
    /// it drains and prepares any (10.0), or each action as it prepares it
    /// (7.2, where `abort` is never checked).
    pub grouped_checked_first: bool,
    /// The refusal of an action in a grouped transaction, around the action's
    /// name: `{0}` + name + `{1}`.
    pub grouped_refusal: (&'static str, &'static str),
    /// Whether a speed-limited job woken before the limiter's delay is over
    /// sleeps again for the rest (10.0) or goes on to its next chunk (7.2).
    pub sleeps_out_rate_limit: bool,
    /// How many drained sections of every node (`bdrv_drain_all`) each
    /// graph change makes beyond 7.2's: QEMU 10.0 drains every node around
    /// each graph write lock.
    pub graph_drains: &'static GraphDrains,
    /// Whether `BlockDeviceInfo` (`query-named-block-nodes`, `query-block`)
    /// has `active` (10.0; `false` after `blockdev-set-active` or
    /// `blockdev-add` with `active: false`).
    pub node_info_active: bool,
    /// Whether a negative size option (raw's `offset` and `size`) is
    /// refused as out of range, with its value (10.0), or as not a
    /// non-negative number (7.2).
    pub negative_size_out_of_range: bool,
    /// Whether a copy-before-write filter with parents always takes
    /// `consistent read` on its source (10.0, QEMU commit 137b4d4bd5,
    /// "block/copy-before-write: fix permission", in 9.0), or only when its
    /// parents take `write` (7.2).
    pub cbw_source_always_read: bool,
    /// Whether the jobs' own dirty bitmaps are on their filter nodes (10.0:
    /// a mirror's on its `mirror_top`, never recording, since 8.2's
    /// `058cfca564`; a backup's block-copy bitmap on its copy-before-write
    /// filter, below the filter's own two, since 9.1's `006e845b5a`) or on
    /// the job's source node (7.2: a mirror's recording in background mode).
    pub job_bitmaps_on_filter: bool,
    /// Whether a stream's and a commit's prepare drain whole subtrees
    /// (7.2: `bdrv_subtree_drained_begin` of the node above the base, of
    /// the commit filter), or only nodes and their parents (10.0, since
    /// 8.0's `92140b9f3f` and `631086deef`: `stream_prepare` drains the top
    /// and its backing node, `bdrv_drop_intermediate` the base), so jobs
    /// on the nodes below see nothing.
    pub prepare_subtree_drains: bool,
    /// The members of `BlockDeviceStats` (`query-blockstats`) that are
    /// always present, in QAPI order: 10.0 has the `zone_append` counters
    /// (since 8.1) that 7.2 has not.
    pub device_stats_members: &'static [&'static str],
    /// The greeting's `major`, `minor`, `micro`.
    pub greeting_version: (u32, u32, u32),
    /// The greeting's `package`.
    pub greeting_package: &'static str,
}

/// The block jobs whose graph changes drain every node in QEMU 10.0, as
/// [`GraphDrains::jobs`] is indexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DrainingJob {
    /// `blockdev-backup` (its copy-before-write filter and target).
    Backup = 0,
    /// `blockdev-mirror` (its mirror-top filter).
    Mirror = 1,
    /// Active `block-commit` (mirror's code, a commit-top filter).
    ActiveCommit = 2,
    /// Non-active `block-commit` (its commit-top filter).
    Commit = 3,
    /// `block-stream` (its copy-on-read filter).
    Stream = 4,
}

/// A graph change of a job's or a node's life, where QEMU 10.0's graph
/// write locks drain every node ([`GraphDrains`] says how often).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GraphChange {
    /// The job's filter was put in place (before `job_create`).
    FilterInserted(DrainingJob),
    /// The job's filter took the place of the node below it
    /// (`bdrv_replace_node` in `bdrv_insert_node` or `bdrv_append`), inside
    /// the drained section of that node: part of
    /// [`FilterInserted`](Self::FilterInserted)'s count, made there.
    FilterReplaced(DrainingJob),
    /// The job was attached to its nodes (after its `created` event).
    JobAttached(DrainingJob),
    /// The job's filter node was refused its name (`Duplicate nodes with
    /// node-name=…`): the node opened for it closes again.
    FilterRefused(DrainingJob),
    /// The job's filter node (copy-before-write, copy-on-read) failed to
    /// open after this many of its children were attached or refused
    /// (an inactive child, `min-cluster-size`, a permission).
    FilterOpenRefused(DrainingJob, usize),
    /// The job's creation was refused after its filter was put in place:
    /// the filter is taken out again.
    CreationUndone(DrainingJob),
    /// The job's commit (`true`) or abort (`false`) and clean changed the
    /// graph, before its `BLOCK_JOB_COMPLETED`/`CANCELLED`.
    Ended(DrainingJob, bool),
    /// The job was freed (after its `null`): it let go of its nodes.
    Freed(DrainingJob),
    /// `blockdev-add` opened a node with this many children.
    NodeAdded(usize),
    /// `blockdev-add` was refused, for a node the options give this many
    /// `children`, of which QEMU had `opened` this many.
    NodeAddRefused {
        /// The node's children in the options.
        children: usize,
        /// How many of them QEMU opened before the refusal.
        opened: usize,
    },
    /// `blockdev-del` closed this many nodes (the node and the children
    /// only it used).
    NodeDeleted(usize),
    /// A mirror or active commit (`mirror_start_job`) was refused one of
    /// its nodes after its `created` event: its target's BlockBackend
    /// (`true`, the first it attaches) or a node after it (`false`).
    MirrorLinkRefused(bool),
    /// `bdrv_img_create` made a qcow2 image (opening and closing the new
    /// file and image as it formats them). Raw and file images take no
    /// lock.
    Qcow2Created,
    /// A snapshot action (`blockdev-snapshot`, `-sync`) put its overlay
    /// above its node (`bdrv_append`).
    SnapshotAppended,
    /// A snapshot action was committed (`true`) or aborted (`false`: the
    /// overlay leaves its place and lets go of the node).
    SnapshotEnded(bool),
    /// A block export's BlockBackend was attached to its node
    /// (`blk_insert_bs`), or refused it (a permission conflict).
    ExportAttached,
    /// A block export's BlockBackend let go of its node (`blk_remove_bs`:
    /// `block-export-del`, `quit`, or an export refused after it attached).
    ExportDetached,
}

/// The drained sections of every node that graph changes make beyond those
/// QEMU 7.2 makes, per [`GraphChange`]: counted from the QEMU 10.0
/// recordings (`scenarios/qemu10/drain-counts` and QEMU10.md's table).
#[derive(Debug)]
pub(crate) struct GraphDrains {
    /// Per [`DrainingJob`]: filter inserted, job attached, creation
    /// undone, ended by commit, ended by abort, freed, filter refused its
    /// name, filter failed to open (plus one per child attached or
    /// refused).
    pub jobs: [[u8; 8]; 5],
    /// `blockdev-add` of a node with children: this many, plus
    /// [`node_added_per_child`](Self::node_added_per_child) per child (a
    /// node without children: none).
    pub node_added: u8,
    /// See [`node_added`](Self::node_added).
    pub node_added_per_child: u8,
    /// A refused `blockdev-add` (of a node with children: plus
    /// [`node_added`](Self::node_added), plus
    /// [`node_added_per_child`](Self::node_added_per_child) per child
    /// opened).
    pub node_add_refused: u8,
    /// `blockdev-del`: per node closed.
    pub node_deleted: u8,
    /// A mirror's (or active commit's) node refused after `created`, before
    /// its `null`: the target's BlockBackend, a later node (see
    /// [`GraphChange::MirrorLinkRefused`]).
    pub mirror_link_refused: [u8; 2],
    /// A qcow2 image created (see [`GraphChange::Qcow2Created`]).
    pub qcow2_created: u8,
    /// A snapshot action: appended, committed, aborted.
    pub snapshot: [u8; 3],
    /// A block export attached to its node (or refused by it).
    pub export_attached: u8,
    /// A block export let go of its node.
    pub export_detached: u8,
    /// Per [`DrainingJob`]: of the drained sections of the filter's
    /// insertion (`jobs[j][0]`), those QEMU makes inside the drained section
    /// of the node below the filter (its `bdrv_replace_node` under the
    /// lock): a job above that node is already paused there and sees them
    /// as no pair of their own.
    pub filter_replaced: [u8; 5],
}

impl GraphDrains {
    /// How many drained sections of every node `change` makes.
    pub fn count(&self, change: GraphChange) -> usize {
        let job = |j: DrainingJob, i: usize| usize::from(self.jobs[j as usize][i]);
        match change {
            GraphChange::FilterInserted(j) => {
                job(j, 0).saturating_sub(usize::from(self.filter_replaced[j as usize]))
            }
            GraphChange::FilterReplaced(j) => usize::from(self.filter_replaced[j as usize]),
            GraphChange::JobAttached(j) => job(j, 1),
            GraphChange::CreationUndone(j) => job(j, 2),
            GraphChange::Ended(j, true) => job(j, 3),
            GraphChange::Ended(j, false) => job(j, 4),
            GraphChange::Freed(j) => job(j, 5),
            GraphChange::FilterRefused(j) => job(j, 6),
            GraphChange::FilterOpenRefused(j, children) if job(j, 7) > 0 => job(j, 7) + children,
            GraphChange::FilterOpenRefused(..) => 0,
            GraphChange::NodeAdded(0) => 0,
            GraphChange::NodeAdded(children) => {
                usize::from(self.node_added) + usize::from(self.node_added_per_child) * children
            }
            GraphChange::NodeAddRefused { children: 0, .. } => usize::from(self.node_add_refused),
            GraphChange::NodeAddRefused { opened, .. } => {
                usize::from(self.node_add_refused)
                    + usize::from(self.node_added)
                    + usize::from(self.node_added_per_child) * opened
            }
            GraphChange::NodeDeleted(nodes) => usize::from(self.node_deleted) * nodes,
            GraphChange::MirrorLinkRefused(target) => {
                usize::from(self.mirror_link_refused[usize::from(!target)])
            }
            GraphChange::Qcow2Created => usize::from(self.qcow2_created),
            GraphChange::SnapshotAppended => usize::from(self.snapshot[0]),
            GraphChange::SnapshotEnded(committed) => {
                usize::from(self.snapshot[if committed { 1 } else { 2 }])
            }
            GraphChange::ExportAttached => usize::from(self.export_attached),
            GraphChange::ExportDetached => usize::from(self.export_detached),
        }
    }
}

/// QEMU 7.2: no graph lock, no drained sections beyond those it names.
static NO_GRAPH_DRAINS: GraphDrains = GraphDrains {
    jobs: [[0; 8]; 5],
    node_added: 0,
    node_added_per_child: 0,
    node_add_refused: 0,
    node_deleted: 0,
    mirror_link_refused: [0; 2],
    qcow2_created: 0,
    snapshot: [0; 3],
    export_attached: 0,
    export_detached: 0,
    filter_replaced: [0; 5],
};

/// QEMU 10.0's graph write locks.
static GRAPH_DRAINS_10_0: GraphDrains = GraphDrains {
    // inserted, attached, undone, committed, aborted, freed, name refused,
    // open refused. Recorded (qemu10/drain-counts, qemu10/drain-refusals,
    // job-create-errors, filter-node-name) but a stream's failed filter
    // open (taken as backup's: the same bdrv_insert_node path). A commit
    // creates its job before its filter: its one section before `created`
    // happens with or without a filter, none when its job ID is refused.
    jobs: [
        [4, 1, 2, 3, 3, 1, 1, 2], // backup
        [2, 2, 2, 5, 4, 1, 1, 0], // mirror
        [2, 2, 2, 5, 4, 1, 1, 0], // active commit
        [1, 4, 0, 4, 5, 1, 1, 0], // commit
        [3, 2, 2, 3, 2, 2, 1, 2], // stream
    ],
    node_added: 2,
    node_added_per_child: 1,
    node_add_refused: 1,
    node_deleted: 1,
    // The target's blk_insert_bs takes the write lock whether it attaches
    // or not (perm-export-jobs); a later node is refused inside a second
    // lock, after which the target's BlockBackend lets go (blk_unref: a
    // third), as mirror_start_job reads.
    mirror_link_refused: [1, 3],
    // Recorded beside a backup of other nodes (qemu10/drain-snapshot):
    // drive-mirror to a new qcow2 image 22 pairs, to an existing one 7
    // (4 of them the mirror's creation, 3 the image's open), so the
    // creation takes 15; a raw one none (7 and 7).
    qcow2_created: 15,
    // bdrv_append; the commit; the abort (bdrv_set_backing_hd and
    // bdrv_replace_node): blockdev-snapshot 3 pairs with the
    // transaction's drain, 4 when a later action fails.
    snapshot: [1, 1, 2],
    // blk_insert_bs and blk_remove_bs each take the write lock once
    // (perm-export-jobs, perm-chain-export, export-nbd-errors).
    export_attached: 1,
    export_detached: 1,
    // bdrv_insert_node (backup, stream) and bdrv_append (mirror, active
    // commit) replace the node under the lock inside its drained section.
    // Seen for a stream (drain-graph-stream-beside); for the others it
    // cannot show: a mirror's and an active commit's device is a root node,
    // with no job above it, and a backup action holds its source drained
    // from prepare to clean (qemu10/drain-insert-beside). A non-active
    // commit's bdrv_append comes after its job's creation, in its
    // `attached` count here: none taken out.
    filter_replaced: [1, 1, 1, 0, 1],
};

/// Commands that exist only from some version on (see [`Profile::commands`]).
pub(crate) const LATER_COMMANDS: &[&str] = &["block-job-change", "blockdev-set-active"];

/// Command members that exist only from some version on (see
/// [`Profile::members`]), by their own name: `blockdev-backup`'s
/// `discard-source` (9.1) and `x-perf.min-cluster-size` (9.2),
/// `block-commit`'s and `block-stream`'s `backing-mask-protocol` (9.0),
/// `blockdev-add`'s `active` (10.0).
pub(crate) const LATER_MEMBERS: &[&str] = &[
    "discard-source",
    "min-cluster-size",
    "backing-mask-protocol",
    "active",
];

/// QEMU 7.2's verb table: the newest one without the `change` row.
const VERBS_7_2: [[bool; JobStatus::ALL.len()]; JobVerb::ALL.len()] = {
    let mut t = VERB_PERMISSIONS;
    t[JobVerb::Change.index()] = [false; JobStatus::ALL.len()];
    t
};

/// QEMU 7.2's `BlockDeviceStats` members that are always present, in QAPI
/// order (the optional `idle_time_ns` and latency histograms left out).
const DEVICE_STATS_7_2: &[&str] = &[
    "rd_bytes",
    "wr_bytes",
    "unmap_bytes",
    "rd_operations",
    "wr_operations",
    "flush_operations",
    "unmap_operations",
    "rd_total_time_ns",
    "wr_total_time_ns",
    "flush_total_time_ns",
    "unmap_total_time_ns",
    "wr_highest_offset",
    "rd_merged",
    "wr_merged",
    "unmap_merged",
    "failed_rd_operations",
    "failed_wr_operations",
    "failed_flush_operations",
    "failed_unmap_operations",
    "invalid_rd_operations",
    "invalid_wr_operations",
    "invalid_flush_operations",
    "invalid_unmap_operations",
    "account_invalid",
    "account_failed",
    "timed_stats",
];

/// The same for QEMU 10.0, with the `zone_append` counters of 8.1.
const DEVICE_STATS_10_0: &[&str] = &[
    "rd_bytes",
    "wr_bytes",
    "zone_append_bytes",
    "unmap_bytes",
    "rd_operations",
    "wr_operations",
    "zone_append_operations",
    "flush_operations",
    "unmap_operations",
    "rd_total_time_ns",
    "wr_total_time_ns",
    "zone_append_total_time_ns",
    "flush_total_time_ns",
    "unmap_total_time_ns",
    "wr_highest_offset",
    "rd_merged",
    "wr_merged",
    "zone_append_merged",
    "unmap_merged",
    "failed_rd_operations",
    "failed_wr_operations",
    "failed_zone_append_operations",
    "failed_flush_operations",
    "failed_unmap_operations",
    "invalid_rd_operations",
    "invalid_wr_operations",
    "invalid_zone_append_operations",
    "invalid_flush_operations",
    "invalid_unmap_operations",
    "account_invalid",
    "account_failed",
    "timed_stats",
];

static V7_2: Profile = Profile {
    verbs: &VERBS_7_2,
    commands: &[],
    members: &[],
    actively_synced: false,
    grouped_checked_first: false,
    grouped_refusal: (
        "Action '",
        "' does not support Transaction property completion-mode = grouped",
    ),
    sleeps_out_rate_limit: false,
    graph_drains: &NO_GRAPH_DRAINS,
    node_info_active: false,
    negative_size_out_of_range: false,
    cbw_source_always_read: false,
    job_bitmaps_on_filter: false,
    prepare_subtree_drains: true,
    device_stats_members: DEVICE_STATS_7_2,
    greeting_version: (7, 2, 22),
    greeting_package: "Debian 1:7.2+dfsg-7+deb12u18+b3",
};

static V10_0: Profile = Profile {
    verbs: &VERB_PERMISSIONS,
    commands: &["block-job-change", "blockdev-set-active"],
    members: LATER_MEMBERS,
    actively_synced: true,
    grouped_checked_first: true,
    grouped_refusal: (
        "Action '",
        "' does not support transaction property completion-mode = grouped",
    ),
    sleeps_out_rate_limit: true,
    graph_drains: &GRAPH_DRAINS_10_0,
    node_info_active: true,
    negative_size_out_of_range: true,
    cbw_source_always_read: true,
    job_bitmaps_on_filter: true,
    prepare_subtree_drains: false,
    device_stats_members: DEVICE_STATS_10_0,
    greeting_version: (10, 0, 2),
    greeting_package: "Debian 1:10.0.2+ds-2+deb13u1~bpo12+1",
};

impl QemuVersion {
    /// What this version does where versions differ.
    pub(crate) fn profile(self) -> &'static Profile {
        match self {
            QemuVersion::V7_2 => &V7_2,
            QemuVersion::V10_0 => &V10_0,
        }
    }

    /// Whether the verb table of this version allows `verb` in `status`
    /// (under 7.2, `change` is allowed nowhere: the verb does not exist).
    pub fn verb_allowed(self, verb: JobVerb, status: JobStatus) -> bool {
        self.profile().verbs[verb.index()][status.index()]
    }

    /// Whether this version has the QMP command `name` (of those qjob
    /// knows: `block-job-change` exists from 8.2 on).
    pub fn has_command(self, name: &str) -> bool {
        !LATER_COMMANDS.contains(&name) || self.profile().commands.contains(&name)
    }

    /// Whether this version's commands have the member `name` (of those
    /// qjob knows that later versions added, by the member's own name:
    /// `discard-source`, `min-cluster-size`, `backing-mask-protocol`,
    /// `active`; every other member is as in 7.2).
    pub fn has_member(self, name: &str) -> bool {
        !LATER_MEMBERS.contains(&name) || self.profile().members.contains(&name)
    }

    /// The greeting's QEMU version (`major`, `minor`, `micro`) and `package`,
    /// as the Debian build the corpus was recorded from gives them.
    pub fn greeting(self) -> ((u32, u32, u32), &'static str) {
        let p = self.profile();
        (p.greeting_version, p.greeting_package)
    }
}

impl Profile {
    /// The refusal of a negative `value` for the size option `name`.
    pub fn negative_size_refusal(&self, name: &str, value: i64) -> String {
        if self.negative_size_out_of_range {
            format!("Value '{value}' is out of range for parameter '{name}'")
        } else {
            format!("Parameter '{name}' expects a non-negative number below 2^64")
        }
    }

    /// The refusal of `action` in a grouped transaction.
    pub fn grouped_refusal(&self, action: &str) -> String {
        format!(
            "{}{action}{}",
            self.grouped_refusal.0, self.grouped_refusal.1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A negative raw `offset`/`size`, as 7.2 and 10.0 refuse it (recorded
    /// from both with `blklayer-filter-nodes`).
    #[test]
    fn negative_sizes_are_refused_in_each_versions_words() {
        assert_eq!(
            QemuVersion::V7_2
                .profile()
                .negative_size_refusal("offset", -1),
            "Parameter 'offset' expects a non-negative number below 2^64"
        );
        assert_eq!(
            QemuVersion::V10_0
                .profile()
                .negative_size_refusal("offset", -1),
            "Value '-1' is out of range for parameter 'offset'"
        );
    }

    #[test]
    fn change_exists_in_10_0_only_with_set_speeds_row() {
        for &s in JobStatus::ALL {
            assert!(!QemuVersion::V7_2.verb_allowed(JobVerb::Change, s));
            assert_eq!(
                QemuVersion::V10_0.verb_allowed(JobVerb::Change, s),
                QemuVersion::V10_0.verb_allowed(JobVerb::SetSpeed, s)
            );
        }
        for &v in JobVerb::ALL.iter().filter(|&&v| v != JobVerb::Change) {
            for &s in JobStatus::ALL {
                assert_eq!(
                    QemuVersion::V7_2.verb_allowed(v, s),
                    QemuVersion::V10_0.verb_allowed(v, s)
                );
            }
        }
    }

    fn every_change() -> Vec<GraphChange> {
        let jobs = [
            DrainingJob::Backup,
            DrainingJob::Mirror,
            DrainingJob::ActiveCommit,
            DrainingJob::Commit,
            DrainingJob::Stream,
        ];
        let mut v = vec![
            GraphChange::NodeAdded(0),
            GraphChange::NodeAdded(1),
            GraphChange::NodeAdded(2),
            GraphChange::NodeAddRefused {
                children: 0,
                opened: 0,
            },
            GraphChange::NodeAddRefused {
                children: 1,
                opened: 1,
            },
            GraphChange::NodeDeleted(1),
            GraphChange::NodeDeleted(2),
            GraphChange::ExportAttached,
            GraphChange::ExportDetached,
            GraphChange::MirrorLinkRefused(true),
            GraphChange::MirrorLinkRefused(false),
            GraphChange::Qcow2Created,
            GraphChange::SnapshotAppended,
            GraphChange::SnapshotEnded(true),
            GraphChange::SnapshotEnded(false),
        ];
        for j in jobs {
            v.extend([
                GraphChange::FilterInserted(j),
                GraphChange::FilterReplaced(j),
                GraphChange::JobAttached(j),
                GraphChange::CreationUndone(j),
                GraphChange::Ended(j, true),
                GraphChange::Ended(j, false),
                GraphChange::Freed(j),
                GraphChange::FilterRefused(j),
                GraphChange::FilterOpenRefused(j, 1),
            ]);
        }
        v
    }

    #[test]
    fn qemu_7_2_has_no_graph_lock_drains() {
        for c in every_change() {
            assert_eq!(
                QemuVersion::V7_2.profile().graph_drains.count(c),
                0,
                "{c:?}"
            );
        }
    }

    /// QEMU10.md's table of pairs per operation (drain-counts), from the
    /// changes each operation makes (a backup's creation also has the
    /// `bdrv_drain_all` of `qmp_transaction` that 7.2 has).
    #[test]
    fn qemu_10_0_counts_add_up_to_the_recorded_pairs() {
        let d = QemuVersion::V10_0.profile().graph_drains;
        let n = |c| d.count(c);
        use DrainingJob::*;
        use GraphChange::*;
        let created = |j| n(FilterInserted(j)) + n(FilterReplaced(j)) + n(JobAttached(j));
        let ended = |j, ok| n(Ended(j, ok)) + n(Freed(j));
        assert_eq!(1 + created(Backup), 6);
        assert_eq!(ended(Backup, true), 4);
        assert_eq!(ended(Backup, false), 4);
        assert_eq!(created(Mirror), 4);
        assert_eq!(ended(Mirror, false), 5);
        assert_eq!(ended(Mirror, true), 6);
        assert_eq!(created(Stream), 5);
        assert_eq!(created(Commit), 5);
        assert_eq!((ended(Stream, false), ended(Commit, false)), (4, 6));
        assert_eq!((ended(Stream, true), ended(Commit, true)), (5, 5));
        assert_eq!((created(ActiveCommit), ended(ActiveCommit, true)), (4, 6));
        assert_eq!(
            (n(NodeAdded(1)), n(NodeAdded(2)), n(NodeAdded(0))),
            (3, 4, 0)
        );
        let refused = |children, opened| n(NodeAddRefused { children, opened });
        assert_eq!((refused(0, 0), refused(1, 0), refused(1, 1)), (1, 3, 4));
        assert_eq!((n(NodeDeleted(1)), n(NodeDeleted(2))), (1, 2));
        // A refused job creation after its filter went in: 7 in all.
        assert_eq!(
            1 + n(FilterInserted(Backup)) + n(FilterReplaced(Backup)) + n(CreationUndone(Backup)),
            7
        );
    }

    /// The changes outside the jobs' table, as the 10.0 recordings count
    /// them: an export's attach and detach (perm-export-jobs,
    /// perm-chain-export), a mirror refused its target after `created`
    /// (perm-export-jobs), snapshots (qemu10/drain-snapshot).
    #[test]
    fn qemu_10_0_exports_mirrors_and_snapshots_drain_as_recorded() {
        let d = QemuVersion::V10_0.profile().graph_drains;
        assert_eq!(d.count(GraphChange::ExportAttached), 1);
        assert_eq!(d.count(GraphChange::ExportDetached), 1);
        assert_eq!(d.count(GraphChange::MirrorLinkRefused(true)), 1);
        assert_eq!(d.count(GraphChange::MirrorLinkRefused(false)), 3);
        assert!(QemuVersion::V10_0.profile().cbw_source_always_read);
        // qemu10/drain-snapshot, with the transaction's drain (1): a
        // blockdev-snapshot 3, aborted 4; snapshot-sync of an existing
        // image 8 (its open 3, its close 2), aborted 9, creating one 23.
        let n = |c| d.count(c);
        use GraphChange::*;
        let done = n(SnapshotAppended) + n(SnapshotEnded(true));
        let undone = n(SnapshotAppended) + n(SnapshotEnded(false));
        assert_eq!((1 + done, 1 + undone), (3, 4));
        let opened_closed = n(NodeAdded(1)) + n(NodeDeleted(2));
        assert_eq!(
            (1 + opened_closed + done, 1 + opened_closed + undone),
            (8, 9)
        );
        assert_eq!(1 + n(Qcow2Created) + opened_closed + done, 23);
        assert!(!QemuVersion::V7_2.profile().cbw_source_always_read);
    }

    #[test]
    fn later_members_exist_in_10_0_only() {
        for &name in LATER_MEMBERS {
            assert!(!QemuVersion::V7_2.has_member(name));
            assert!(QemuVersion::V10_0.has_member(name));
        }
        assert!(QemuVersion::V7_2.has_member("speed"));
        assert!(!QemuVersion::V7_2.has_command("blockdev-set-active"));
        assert!(QemuVersion::V10_0.has_command("blockdev-set-active"));
    }

    #[test]
    fn versions_parse_and_default_to_7_2() {
        assert_eq!(QemuVersion::default(), QemuVersion::V7_2);
        assert_eq!("10.0".parse::<QemuVersion>().unwrap(), QemuVersion::V10_0);
        assert!("9.2".parse::<QemuVersion>().is_err());
        assert!(QemuVersion::V7_2.has_command("job-pause"));
        assert!(!QemuVersion::V7_2.has_command("block-job-change"));
        assert!(QemuVersion::V10_0.has_command("block-job-change"));
    }
}
