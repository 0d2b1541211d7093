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
    /// Whether a negative size option (raw's `offset` and `size`) is
    /// refused as out of range, with its value (10.0), or as not a
    /// non-negative number (7.2).
    pub negative_size_out_of_range: bool,
    /// The greeting's `major`, `minor`, `micro`.
    pub greeting_version: (u32, u32, u32),
    /// The greeting's `package`.
    pub greeting_package: &'static str,
}

/// Commands that exist only from some version on (see [`Profile::commands`]).
pub(crate) const LATER_COMMANDS: &[&str] = &["block-job-change"];

/// QEMU 7.2's verb table: the newest one without the `change` row.
const VERBS_7_2: [[bool; JobStatus::ALL.len()]; JobVerb::ALL.len()] = {
    let mut t = VERB_PERMISSIONS;
    t[JobVerb::Change.index()] = [false; JobStatus::ALL.len()];
    t
};

static V7_2: Profile = Profile {
    verbs: &VERBS_7_2,
    commands: &[],
    actively_synced: false,
    grouped_checked_first: false,
    grouped_refusal: (
        "Action '",
        "' does not support Transaction property completion-mode = grouped",
    ),
    sleeps_out_rate_limit: false,
    negative_size_out_of_range: false,
    greeting_version: (7, 2, 22),
    greeting_package: "Debian 1:7.2+dfsg-7+deb12u18+b3",
};

static V10_0: Profile = Profile {
    verbs: &VERB_PERMISSIONS,
    commands: &["block-job-change"],
    actively_synced: true,
    grouped_checked_first: true,
    grouped_refusal: (
        "Action '",
        "' does not support transaction property completion-mode = grouped",
    ),
    sleeps_out_rate_limit: true,
    negative_size_out_of_range: true,
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
