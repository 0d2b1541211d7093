//! The index of job IDs (`job_get`): a hash table of job slots, hashed by
//! the ID each job holds. The ID is stored once, in the job (shared with its
//! events); the table keeps only the slot, 4 bytes, and compares a key with
//! the ID of the job it names. A million jobs cost the index 10 bytes each
//! instead of the 50 of a map that also holds the ID's pointer.

use crate::job::{Job, JobRef};
use crate::slab::Slab;
use hashbrown::HashTable;

/// Job slots by the job's ID (only jobs that have one).
#[derive(Clone, Debug, Default)]
pub(crate) struct IdIndex {
    table: HashTable<JobRef>,
}

/// FNV-1a: a fast, deterministic hash for short job IDs (lookups only;
/// nothing iterates the index, so its order is never seen).
fn hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The ID of the job in slot `j` ("" for none: such a job is never in the
/// index).
fn id_of(jobs: &Slab<JobRef, Job>, j: JobRef) -> &str {
    jobs.get(j).and_then(|job| job.id.as_deref()).unwrap_or("")
}

/// Whether job `j` is called `id`: byte by byte, inline (IDs are short; a
/// call to `memcmp` costs more than the comparison).
fn is_called(jobs: &Slab<JobRef, Job>, j: JobRef, id: &str) -> bool {
    let (a, b) = (id_of(jobs, j).as_bytes(), id.as_bytes());
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl IdIndex {
    /// The job called `id`.
    pub fn get(&self, jobs: &Slab<JobRef, Job>, id: &str) -> Option<JobRef> {
        self.table
            .find(hash(id), |&j| is_called(jobs, j, id))
            .copied()
    }

    /// Indexes job `j` (already in `jobs`, with an ID) by its ID; false when
    /// another job has that ID already (nothing changes then).
    pub fn insert(&mut self, jobs: &Slab<JobRef, Job>, j: JobRef) -> bool {
        let id = id_of(jobs, j);
        let h = hash(id);
        if self.table.find(h, |&k| is_called(jobs, k, id)).is_some() {
            return false;
        }
        self.table.insert_unique(h, j, |&k| hash(id_of(jobs, k)));
        true
    }

    /// Takes job `j` (still in `jobs`) out of the index.
    pub fn remove(&mut self, jobs: &Slab<JobRef, Job>, j: JobRef) {
        if let Ok(entry) = self.table.find_entry(hash(id_of(jobs, j)), |&k| k == j) {
            entry.remove();
        }
    }

    /// Empties the index.
    pub fn clear(&mut self) {
        self.table.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::{HostJobOptions, JobManager};

    fn host_job(m: &mut JobManager, id: &str) -> crate::Result<crate::JobHandle> {
        m.create_host_job(HostJobOptions {
            id: Some(id.into()),
            ..HostJobOptions::default()
        })
    }

    #[test]
    fn finds_every_job_through_growth_and_removal() {
        let mut m = JobManager::new();
        let handles: Vec<_> = (0..3000)
            .map(|i| host_job(&mut m, &format!("j{i}")).unwrap())
            .collect();
        assert!(host_job(&mut m, "j17").is_err(), "an ID in use is refused");
        // Every other job ends and is dismissed (auto-dismiss): out of the index.
        for &h in handles.iter().step_by(2) {
            m.host_run_finished(h, 0, None).unwrap();
        }
        m.settle();
        for (i, &h) in handles.iter().enumerate() {
            let found = m.job_handle(&format!("j{i}"));
            assert_eq!(found, (i % 2 == 1).then_some(h), "j{i}");
        }
        assert_eq!(m.job_handle("j"), None);
        // A dismissed job's ID can be used again.
        assert!(host_job(&mut m, "j0").is_ok());
        assert!(m.job_handle("j0").is_some());
    }
}
