//! Writing guest data into an existing qcow2 image, cluster by cluster.
//!
//! A cluster the image already holds (a normal cluster with a host offset)
//! is written in place; any other gets a new host cluster at the end of the
//! file, and an L2 table is allocated there too where its L1 entry has none.
//! At the end ([`Qcow2Writer::finish`]) the refcounts are brought in step:
//! new refcount blocks where the new clusters need them (at the end of the
//! file, counting themselves), and a larger refcount table in new clusters
//! when the old one cannot point at them all (the old one's clusters are
//! then freed). Every entry of a cluster with refcount 1 carries the
//! `COPIED` flag, as QEMU keeps it. The L1 table never grows: it is sized
//! for the virtual disk. Images with internal snapshots are refused (their
//! shared clusters would need copying on write).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::create::encode_refcounts;
use super::*;
use crate::image::error::{Error, ErrorKind};
use crate::image::file::ImageFileReader;

/// The `COPIED` flag of L1 and L2 entries: the cluster's refcount is 1.
const OFLAG_COPIED: u64 = 1 << 63;
/// Offset bits of a refcount table entry.
const REFT_OFFSET_MASK: u64 = 0xffff_ffff_ffff_fe00;

/// An open qcow2 image that guest clusters are written into.
pub(crate) struct Qcow2Writer {
    file: File,
    name: String,
    h: Qcow2Header,
    cs: u64,
    l1: Vec<u64>,
    l1_dirty: bool,
    /// L2 tables read or made, by L1 index: (offset, bytes, changed).
    l2: BTreeMap<usize, (u64, Vec<u8>, bool)>,
    reftable: Vec<u64>,
    /// The refcount of every host cluster, by cluster index.
    counts: Vec<u64>,
    /// The first cluster past everything the file holds.
    next_free: u64,
    /// Data clusters newly allocated.
    allocated: u64,
}

impl Qcow2Writer {
    /// Opens the qcow2 image `path` for writing guest data, reading its
    /// header, L1 table and refcounts.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let name = path.display().to_string();
        let reader = ImageFileReader::open(path)?;
        let h = super::read::check_header(&reader)?;
        if h.nb_snapshots > 0 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("qjob does not write data into '{name}': it has internal snapshots"),
            ));
        }
        if h.incompatible_features & !(INCOMPAT_EXTL2 | INCOMPAT_COMPRESSION) != 0 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "qjob does not write data into '{name}': it is dirty, corrupt or has an external data file"
                ),
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::os(format!("Could not open '{name}'"), &e))?;
        let cs = h.cluster_size();
        let l1 = reader
            .read_at(h.l1_table_offset, h.l1_size as usize * 8)?
            .chunks_exact(8)
            .map(|e| be64(e, 0))
            .collect();
        let reftable: Vec<u64> = reader
            .read_at(
                h.refcount_table_offset,
                (u64::from(h.refcount_table_clusters) * cs) as usize,
            )?
            .chunks_exact(8)
            .map(|e| be64(e, 0) & REFT_OFFSET_MASK)
            .collect();
        let per_block = (cs * 8) >> h.refcount_order;
        let mut counts = Vec::new();
        for (i, &block) in reftable.iter().enumerate() {
            if block == 0 {
                continue;
            }
            let bytes = reader.read_at(block, cs as usize)?;
            let first = i as u64 * per_block;
            let decoded = decode_refcounts(&bytes, h.refcount_order);
            for (k, c) in decoded.into_iter().enumerate() {
                if c != 0 {
                    let at = (first + k as u64) as usize;
                    if at >= counts.len() {
                        counts.resize(at + 1, 0);
                    }
                    counts[at] = c;
                }
            }
        }
        let next_free = reader.len().div_ceil(cs).max(counts.len() as u64);
        Ok(Self {
            file,
            name,
            h,
            cs,
            l1,
            l1_dirty: false,
            l2: BTreeMap::new(),
            reftable,
            counts,
            next_free,
            allocated: 0,
        })
    }

    /// The image's cluster size.
    pub fn cluster_size(&self) -> u64 {
        self.cs
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<(), Error> {
        self.file
            .write_all_at(bytes, offset)
            .map_err(|e| Error::os(format!("Could not write '{}'", self.name), &e))
    }

    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; len as usize];
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::os(format!("Could not read '{}'", self.name), &e)),
            }
        }
        Ok(buf)
    }

    /// A new cluster at the end of the file, with refcount 1.
    fn alloc(&mut self) -> u64 {
        let c = self.next_free;
        self.next_free += 1;
        self.set_count(c, 1);
        c * self.cs
    }

    fn set_count(&mut self, cluster: u64, count: u64) {
        let at = cluster as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] = count;
    }

    fn count(&self, offset: u64) -> u64 {
        self.counts
            .get((offset / self.cs) as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Writes guest cluster `cluster` (its bytes `data`: a whole cluster,
    /// or less for the last cluster of the disk).
    pub fn write_cluster(&mut self, cluster: u64, data: &[u8]) -> Result<(), Error> {
        let extended = self.h.extended_l2();
        let entry_len: u64 = if extended { 16 } else { 8 };
        let l2_entries = self.cs / entry_len;
        let l1_index = (cluster / l2_entries) as usize;
        if l1_index >= self.l1.len() {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("'{}': guest cluster {cluster} past the L1 table", self.name),
            ));
        }
        if !self.l2.contains_key(&l1_index) {
            let offset = self.l1[l1_index] & L1E_OFFSET_MASK;
            let entry = if offset == 0 {
                let offset = self.alloc();
                self.l1[l1_index] = offset | OFLAG_COPIED;
                self.l1_dirty = true;
                (offset, vec![0u8; self.cs as usize], true)
            } else if self.count(offset) != 1 {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!("'{}': L2 table at {offset:#x} is shared", self.name),
                ));
            } else {
                (offset, self.read_at(offset, self.cs)?, false)
            };
            self.l2.insert(l1_index, entry);
        }
        let at = ((cluster % l2_entries) * entry_len) as usize;
        let entry = be64(&self.l2[&l1_index].1, at);
        let host = entry & L2E_OFFSET_MASK;
        let in_place = entry & OFLAG_COMPRESSED == 0 && host != 0 && self.count(host) == 1;
        let host = if in_place {
            host
        } else {
            self.allocated += 1;
            self.alloc()
        };
        let mut whole = data.to_vec();
        whole.resize(self.cs as usize, 0);
        self.write_at(host, &whole)?;
        let table = self.l2.get_mut(&l1_index).expect("just loaded");
        put64(&mut table.1, at, host | OFLAG_COPIED);
        if extended {
            // Every subcluster allocated, none reading as zeroes.
            put64(&mut table.1, at + 8, 0xffff_ffff);
        }
        table.2 = true;
        Ok(())
    }

    /// Writes the changed metadata: L2 tables, refcount blocks (new ones
    /// where needed), the refcount table (moved when it grows), the L1
    /// table. Returns the data clusters allocated.
    pub fn finish(mut self) -> Result<u64, Error> {
        let per_block = (self.cs * 8) >> self.h.refcount_order;
        let entries_per_cluster = self.cs / 8;
        let old_table = (
            self.h.refcount_table_offset,
            u64::from(self.h.refcount_table_clusters),
        );
        let mut moved = false;
        loop {
            let blocks = self.next_free.div_ceil(per_block);
            if blocks > self.reftable.len() as u64 {
                // A new table with room for its own blocks and some more.
                let entries = (blocks + blocks / 2 + 2).next_multiple_of(entries_per_cluster);
                if entries * 8 > MAX_REFTABLE_BYTES {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        format!("'{}': refcount table too large", self.name),
                    ));
                }
                if moved {
                    for c in 0..self.h.refcount_table_clusters as u64 {
                        self.set_count(self.h.refcount_table_offset / self.cs + c, 0);
                    }
                }
                let clusters = entries * 8 / self.cs;
                let offset = self.next_free * self.cs;
                for _ in 0..clusters {
                    self.alloc();
                }
                self.reftable.resize(entries as usize, 0);
                self.h.refcount_table_offset = offset;
                self.h.refcount_table_clusters = clusters as u32;
                moved = true;
                continue;
            }
            let mut changed = false;
            for i in 0..blocks as usize {
                if self.reftable[i] == 0 {
                    self.reftable[i] = self.alloc();
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        if moved {
            for c in 0..old_table.1 {
                self.set_count(old_table.0 / self.cs + c, 0);
            }
        }
        let refcount_max = if self.h.refcount_order == 6 {
            u64::MAX
        } else {
            (1u64 << (1 << self.h.refcount_order)) - 1
        };
        if self.counts.iter().any(|&c| c > refcount_max) {
            return Err(Error::new(ErrorKind::Corrupt, "refcount overflow"));
        }
        for (offset, table, changed) in self.l2.values() {
            if *changed {
                self.write_at(*offset, table)?;
            }
        }
        for (i, &block) in self.reftable.iter().enumerate() {
            if block == 0 {
                continue;
            }
            let first = (i as u64 * per_block) as usize;
            let last = (first + per_block as usize).min(self.counts.len());
            let counts = self.counts.get(first..last).unwrap_or(&[]);
            let bytes = encode_refcounts(counts, self.h.refcount_order, self.cs);
            self.write_at(block, &bytes)?;
        }
        let mut table = vec![0u8; self.reftable.len() * 8];
        for (i, &e) in self.reftable.iter().enumerate() {
            put64(&mut table, i * 8, e);
        }
        self.write_at(self.h.refcount_table_offset, &table)?;
        if moved {
            let mut hook = self.h.refcount_table_offset.to_be_bytes().to_vec();
            hook.extend_from_slice(&self.h.refcount_table_clusters.to_be_bytes());
            self.write_at(48, &hook)?;
        }
        if self.l1_dirty {
            let mut l1 = vec![0u8; self.l1.len() * 8];
            for (i, &e) in self.l1.iter().enumerate() {
                put64(&mut l1, i * 8, e);
            }
            self.write_at(self.h.l1_table_offset, &l1)?;
        }
        // The file ends at the last cluster it holds.
        let end = self.next_free * self.cs;
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::os(format!("Could not read '{}'", self.name), &e))?
            .len();
        if len < end {
            self.file
                .set_len(end)
                .map_err(|e| Error::os("Could not resize file", &e))?;
        }
        Ok(self.allocated)
    }
}

/// The refcounts in a refcount block's bytes (`2^order`-bit entries).
fn decode_refcounts(bytes: &[u8], order: u32) -> Vec<u64> {
    let bits = 1usize << order;
    if bits >= 8 {
        let width = bits / 8;
        bytes
            .chunks_exact(width)
            .map(|c| c.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
            .collect()
    } else {
        let per_byte = 8 / bits;
        let mask = (1u8 << bits) - 1;
        bytes
            .iter()
            .flat_map(|&b| (0..per_byte).map(move |k| u64::from((b >> (k * bits)) & mask)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refcounts_decode_as_they_encode() {
        for order in 0..=6 {
            let max = if order == 6 {
                u64::MAX
            } else {
                (1u64 << (1 << order)) - 1
            };
            let counts: Vec<u64> = (0..64u64).map(|i| i % 3 % (max.min(3) + 1)).collect();
            let bytes = encode_refcounts(&counts, order, 512);
            assert_eq!(
                &decode_refcounts(&bytes, order)[..64],
                &counts[..],
                "order {order}"
            );
        }
    }
}
