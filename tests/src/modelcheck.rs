//! The exhaustive model check: breadth-first over every sequence of user
//! commands, steps and clock moves up to a depth, for small worlds, with the
//! states deduplicated by their snapshot ([`JobManager::to_snapshot_bytes`]
//! plus what the [`Checker`] remembers), every invariant checked after every
//! action, and from every distinct state reached every job driven to its end
//! ([`Checker::wind_down`], on a copy).

use crate::{Checker, Command, Op};
use qjob::JobManager;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A small world: how to build it, its job IDs, and the alphabet explored.
#[derive(Clone, Debug)]
pub struct World {
    /// Short name (`txn`, `mirror`, `backup-mirror`).
    pub name: &'static str,
    /// What the world is.
    pub description: &'static str,
    /// QMP commands run on the default world to set it up (then settled).
    pub setup: &'static [&'static str],
    /// The IDs of the grouped transaction the setup creates, if any.
    pub group: &'static [&'static str],
    /// The jobs the commands of the alphabet address.
    pub ids: &'static [&'static str],
}

const TXN: &str = r#"{"execute":"transaction","arguments":{"actions":[
 {"type":"blockdev-backup","data":{"job-id":"b0","device":"src","target":"dst","sync":"full","speed":1,"auto-finalize":false,"auto-dismiss":false}},
 {"type":"blockdev-backup","data":{"job-id":"b1","device":"src2","target":"dst2","sync":"full","speed":1}}],
 "properties":{"completion-mode":"grouped"}}}"#;
const MIRROR: &str = r#"{"execute":"blockdev-mirror","arguments":{"job-id":"m0","device":"src","target":"dst","sync":"full","auto-finalize":false,"auto-dismiss":false}}"#;
const BACKUP_B0: &str = r#"{"execute":"blockdev-backup","arguments":{"job-id":"b0","device":"src","target":"dst","sync":"full","speed":1}}"#;
const MIRROR_M1: &str = r#"{"execute":"blockdev-mirror","arguments":{"job-id":"m1","device":"src2","target":"dst2","sync":"full"}}"#;

/// The three worlds of the model check.
pub const WORLDS: &[World] = &[
    World {
        name: "txn",
        description: "two speed-1 backups in a grouped transaction (b0 with auto-finalize and auto-dismiss off)",
        setup: &[TXN],
        group: &["b0", "b1"],
        ids: &["b0", "b1"],
    },
    World {
        name: "mirror",
        description: "a mirror (auto-finalize and auto-dismiss off) that becomes ready",
        setup: &[MIRROR],
        group: &[],
        ids: &["m0"],
    },
    World {
        name: "backup-mirror",
        description: "a speed-1 backup beside a mirror (both with the defaults)",
        setup: &[BACKUP_B0, MIRROR_M1],
        group: &[],
        ids: &["b0", "m1"],
    },
];

/// The alphabet for a world with `jobs` jobs: per job pause, resume, cancel,
/// soft `block-job-cancel`, complete, finalize, dismiss, set-speed 0 and
/// set-speed 1 (through the typed API); then one step, a settle, and a tick
/// to the next deadline.
pub fn alphabet(jobs: u8) -> Vec<Op> {
    let mut v = Vec::new();
    for job in 0..jobs {
        for c in [
            Command::Pause,
            Command::Resume,
            Command::Cancel,
            Command::SoftCancel,
            Command::Complete,
            Command::Finalize,
            Command::Dismiss,
            Command::SetSpeed(0),
            Command::SetSpeed(1),
        ] {
            v.push(Op::Cmd {
                cmd: c,
                job,
                qmp: false,
            });
        }
    }
    v.push(Op::Step);
    v.push(Op::Settle);
    v.push(Op::NextDeadline);
    v
}

/// Builds a world's initial state (setup run and settled, events absorbed).
pub fn initial(world: &World) -> (JobManager, Checker) {
    let mut m = JobManager::with_default_world();
    let mut c = Checker::new();
    if !world.group.is_empty() {
        c.expect_group(world.group.iter().map(|s| s.to_string()));
    }
    for cmd in world.setup {
        let reply = m.execute(cmd);
        assert_eq!(reply, r#"{"return":{}}"#, "setup of {}: {cmd}", world.name);
    }
    m.settle();
    c.absorb(&mut m);
    (m, c)
}

/// Counts of one depth of the search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Level {
    /// Depth (number of actions from the initial state).
    pub depth: usize,
    /// States first reached at this depth.
    pub new_states: usize,
    /// Distinct states reached at this depth or before.
    pub total_states: usize,
    /// Actions tried from the states of the previous depth.
    pub transitions: usize,
}

/// A counterexample: the actions from the initial state, and the failure.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The world.
    pub world: &'static str,
    /// The actions that lead to the failure, the failing one last.
    pub path: Vec<Op>,
    /// The panic message.
    pub message: String,
}

fn key(m: &JobManager, c: &Checker) -> u128 {
    let bytes = m.to_snapshot_bytes();
    let mut h1 = std::hash::DefaultHasher::new();
    bytes.hash(&mut h1);
    c.hash(&mut h1);
    let mut h2 = std::hash::DefaultHasher::new();
    0xa5a5_u16.hash(&mut h2);
    c.hash(&mut h2);
    bytes.hash(&mut h2);
    (u128::from(h1.finish()) << 64) | u128::from(h2.finish())
}

/// Winds a copy of a state down: from every state reached, every job can
/// still end.
fn wound_down(m: &JobManager, c: &Checker) {
    let (mut m, mut c) = (m.clone(), c.clone());
    c.wind_down(&mut m);
}

/// Explores `world` breadth first to `depth`, checking every invariant
/// after every action and winding a copy of every distinct state down; calls `report` after each depth. Returns the levels, or the
/// first counterexample found.
pub fn explore(
    world: &World,
    depth: usize,
    mut report: impl FnMut(&Level),
) -> Result<Vec<Level>, Failure> {
    let alphabet = alphabet(world.ids.len() as u8);
    let (m0, c0) = initial(world);
    let fail = |path: Vec<Op>, p: Box<dyn std::any::Any + Send>| Failure {
        world: world.name,
        path,
        message: p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    };
    catch_unwind(AssertUnwindSafe(|| wound_down(&m0, &c0))).map_err(|p| fail(Vec::new(), p))?;
    let mut seen: HashSet<u128> = HashSet::new();
    seen.insert(key(&m0, &c0));
    let mut frontier: Vec<(JobManager, Checker, Vec<u8>)> = vec![(m0, c0, Vec::new())];
    let mut levels = vec![Level {
        depth: 0,
        new_states: 1,
        total_states: 1,
        transitions: 0,
    }];
    report(&levels[0]);
    for d in 1..=depth {
        let mut next = Vec::new();
        let mut transitions = 0;
        for (m, c, path) in &frontier {
            for (ai, a) in alphabet.iter().enumerate() {
                transitions += 1;
                let mut m2 = m.clone();
                let mut c2 = c.clone();
                let r = catch_unwind(AssertUnwindSafe(|| {
                    a.apply(&mut m2, &mut c2, world.ids);
                    let k = key(&m2, &c2);
                    if !seen.contains(&k) {
                        wound_down(&m2, &c2);
                    }
                    k
                }));
                let k = match r {
                    Ok(k) => k,
                    Err(p) => {
                        let mut actions: Vec<Op> =
                            path.iter().map(|&i| alphabet[i as usize]).collect();
                        actions.push(*a);
                        return Err(fail(actions, p));
                    }
                };
                if seen.insert(k) {
                    let mut p2 = path.clone();
                    p2.push(ai as u8);
                    next.push((m2, c2, p2));
                }
            }
        }
        let level = Level {
            depth: d,
            new_states: next.len(),
            total_states: seen.len(),
            transitions,
        };
        report(&level);
        levels.push(level);
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(levels)
}

/// Looks a world up by name.
pub fn world(name: &str) -> Option<&'static World> {
    WORLDS.iter().find(|w| w.name == name)
}
