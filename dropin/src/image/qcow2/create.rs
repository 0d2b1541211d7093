//! Laying out a new, empty qcow2 image exactly as QEMU 7.2 does.
//!
//! QEMU does not compute the layout of a new image: it writes a minimal
//! header, a refcount table and one refcount block, then opens the result
//! with its qcow2 driver and lets the ordinary code paths (cluster
//! allocation, growing the L1 table to the disk's size, rewriting the header
//! with its extensions and the backing file name) finish the image. With
//! default options that gives header, refcount table, refcount block and L1
//! table in clusters 0, 1, 2 and 3; with small clusters and a large disk the
//! L1 table needs more refcount blocks, and those may need a larger refcount
//! table, which moves it. To get every case right this module replays that
//! sequence on a model of the driver's allocation state ([`Allocator`]) and
//! records the writes it makes ([`Writes`]); the result is then written to
//! the file in the same order. The crate's tests compare it byte for byte
//! with `qemu-img create`.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

use super::*;
use crate::image::error::{Error, ErrorKind, errno_text};
use crate::image::options::{Preallocation, Qcow2Options, Qcow2Version, refuse_preallocation};

/// The default cluster size: 64 KiB.
pub const DEFAULT_CLUSTER_SIZE: u64 = 65536;
/// The default refcount width: 16 bits.
pub const DEFAULT_REFCOUNT_BITS: u64 = 16;
/// Offset bits of a refcount table entry.
const REFT_OFFSET_MASK: u64 = 0xffff_ffff_ffff_fe00;
/// The largest host offset of a data or metadata cluster.
const MAX_CLUSTER_OFFSET: u64 = (1 << 56) - 1;

/// The options of one creation, defaults applied and checked.
#[derive(Clone, Debug)]
struct Settings {
    size: u64,
    version: u32,
    cluster_bits: u32,
    extended_l2: bool,
    lazy_refcounts: bool,
    refcount_order: u32,
    compression: CompressionType,
    backing_file: Option<String>,
    backing_fmt: Option<String>,
}

/// Checks `opts` as QEMU 7.2's `blockdev-create` does for `driver: qcow2`,
/// in its order and with its texts, and applies the defaults.
fn settings(opts: &Qcow2Options) -> Result<Settings, Error> {
    let invalid = |m: &str| Err(Error::new(ErrorKind::InvalidOption, m));
    if !opts.size.is_multiple_of(512) {
        return invalid("Image size must be a multiple of 512 bytes");
    }
    let version = match opts.version.unwrap_or(Qcow2Version::V3) {
        Qcow2Version::V2 => 2,
        Qcow2Version::V3 => 3,
    };
    let cluster_size = opts.cluster_size.unwrap_or(DEFAULT_CLUSTER_SIZE);
    let extended_l2 = opts.extended_l2.unwrap_or(false);
    if extended_l2 && version < 3 {
        return invalid(
            "Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)",
        );
    }
    let cluster_bits = cluster_size.trailing_zeros();
    if !cluster_size.is_power_of_two()
        || !(MIN_CLUSTER_BITS..=MAX_CLUSTER_BITS).contains(&cluster_bits)
    {
        return invalid("Cluster size must be a power of two between 512 and 2048k");
    }
    if extended_l2 && cluster_size < (1 << MIN_CLUSTER_BITS) * SUBCLUSTERS {
        return invalid(
            "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes",
        );
    }
    let preallocation = opts.preallocation.unwrap_or(Preallocation::Off);
    if opts.backing_file.is_some() && preallocation != Preallocation::Off && !extended_l2 {
        return invalid(
            "Backing file and preallocation can only be used at the same time if extended_l2 is on",
        );
    }
    if opts.backing_fmt.is_some() && opts.backing_file.is_none() {
        return invalid("Backing format cannot be used without backing file");
    }
    let lazy_refcounts = opts.lazy_refcounts.unwrap_or(false);
    if version < 3 && lazy_refcounts {
        return invalid(
            "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)",
        );
    }
    let refcount_bits = opts.refcount_bits.unwrap_or(DEFAULT_REFCOUNT_BITS);
    if refcount_bits > 64 || !refcount_bits.is_power_of_two() {
        return invalid("Refcount width must be a power of two and may not exceed 64 bits");
    }
    if version < 3 && refcount_bits != 16 {
        return invalid(
            "Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)",
        );
    }
    let compression = opts.compression_type.unwrap_or(CompressionType::Zlib);
    if compression != CompressionType::Zlib && version < 3 {
        return invalid(
            "Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)",
        );
    }
    refuse_preallocation(opts.preallocation)?;
    Ok(Settings {
        size: opts.size,
        version,
        cluster_bits,
        extended_l2,
        lazy_refcounts,
        refcount_order: refcount_bits.trailing_zeros(),
        compression,
        backing_file: opts.backing_file.clone(),
        backing_fmt: opts.backing_fmt.clone(),
    })
}

/// The writes that make a new image, in QEMU's order: `(offset, bytes)`.
#[derive(Debug, Default)]
pub(crate) struct Writes {
    list: Vec<(u64, Vec<u8>)>,
}

impl Writes {
    fn write(&mut self, offset: u64, bytes: Vec<u8>) {
        self.list.push((offset, bytes));
    }

    /// Applies the writes to `file` (which should be empty for a new
    /// image): the file ends where the last byte written ends, and what was
    /// never written is a hole.
    pub fn apply(&self, file: &File) -> std::io::Result<()> {
        for (offset, bytes) in &self.list {
            file.write_all_at(bytes, *offset)?;
        }
        Ok(())
    }

    /// The file contents the writes give, from an empty file (for tests).
    #[cfg(test)]
    pub fn contents(&self) -> Vec<u8> {
        let end = self
            .list
            .iter()
            .map(|(o, b)| *o as usize + b.len())
            .max()
            .unwrap_or(0);
        let mut out = vec![0; end];
        for (offset, bytes) in &self.list {
            out[*offset as usize..*offset as usize + bytes.len()].copy_from_slice(bytes);
        }
        out
    }
}

/// A failure inside the allocator, as the errno QEMU's functions return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    /// `EAGAIN`: metadata was allocated; the caller searches again.
    Again,
    /// `EFBIG`: the structures would exceed qcow2's limits.
    TooBig,
    /// `EINVAL`: a refcount would overflow.
    Invalid,
}

impl Fail {
    fn errno(self) -> i32 {
        match self {
            Self::Again => libc::EAGAIN,
            Self::TooBig => libc::EFBIG,
            Self::Invalid => libc::EINVAL,
        }
    }
}

/// The state of QEMU's qcow2 driver that the creation sequence touches: the
/// refcount table and blocks, the free-cluster cursor, the L1 table's place
/// and the header fields; plus the writes made so far.
struct Allocator {
    s: Settings,
    cs: u64,
    /// log2 of the refcounts in one refcount block.
    refblock_bits: u32,
    refcount_max: u64,
    reftable: Vec<u64>,
    reftable_offset: u64,
    max_reftable_index: usize,
    /// The refcount of every host cluster, by cluster index. A cluster whose
    /// refcount block does not exist yet counts 0 here too, so the array is
    /// what the blocks hold.
    counts: Vec<u64>,
    /// The refcount blocks: offset → index in the refcount table; written
    /// out when the image is closed.
    refblocks: BTreeMap<u64, usize>,
    free_cluster_index: u64,
    l1_size: u64,
    l1_offset: u64,
    /// The virtual size the header says.
    size: u64,
    backing: Option<(String, Option<String>)>,
    writes: Writes,
}

impl Allocator {
    /// The state after QEMU's first step: a header with no L1 table and one
    /// refcount table cluster (at cluster 1) pointing at one empty refcount
    /// block (cluster 2), opened by the driver.
    fn new(s: Settings) -> Self {
        let cs = 1u64 << s.cluster_bits;
        let refblock_bits = s.cluster_bits + 3 - s.refcount_order;
        let refcount_bits = 1u32 << s.refcount_order;
        let refcount_max = if refcount_bits == 64 {
            u64::MAX
        } else {
            (1 << refcount_bits) - 1
        };
        let mut a = Self {
            cs,
            refblock_bits,
            refcount_max,
            reftable: vec![0; (cs / 8) as usize],
            reftable_offset: cs,
            max_reftable_index: 0,
            counts: Vec::new(),
            refblocks: BTreeMap::new(),
            free_cluster_index: 0,
            l1_size: 0,
            l1_offset: 0,
            size: 0,
            backing: None,
            writes: Writes::default(),
            s,
        };
        let mut first = vec![0u8; cs as usize];
        a.header().encode(&mut first);
        a.writes.write(0, first);
        let mut table = vec![0u8; 2 * cs as usize];
        put64(&mut table, 0, 2 * cs);
        a.writes.write(cs, table);
        a.reftable[0] = 2 * cs;
        a.refblocks.insert(2 * cs, 0);
        a
    }

    /// The header fields of the current state.
    fn header(&self) -> Qcow2Header {
        let mut incompatible = 0;
        if self.s.compression != CompressionType::Zlib {
            incompatible |= INCOMPAT_COMPRESSION;
        }
        if self.s.extended_l2 {
            incompatible |= INCOMPAT_EXTL2;
        }
        Qcow2Header {
            version: self.s.version,
            backing_file_offset: 0,
            backing_file_size: 0,
            cluster_bits: self.s.cluster_bits,
            size: self.size,
            crypt_method: 0,
            l1_size: self.l1_size as u32,
            l1_table_offset: self.l1_offset,
            refcount_table_offset: self.reftable_offset,
            refcount_table_clusters: (self.reftable.len() as u64 * 8 / self.cs) as u32,
            nb_snapshots: 0,
            snapshots_offset: 0,
            incompatible_features: incompatible,
            compatible_features: if self.s.lazy_refcounts {
                COMPAT_LAZY_REFCOUNTS
            } else {
                0
            },
            autoclear_features: 0,
            refcount_order: self.s.refcount_order,
            header_length: HEADER_V3_LEN as u32,
            compression_type: self.s.compression.code(),
        }
    }

    fn refcount(&self, cluster: u64) -> u64 {
        let index = (cluster >> self.refblock_bits) as usize;
        let Some(&entry) = self.reftable.get(index) else {
            return 0;
        };
        if entry & REFT_OFFSET_MASK == 0 {
            return 0;
        }
        self.counts.get(cluster as usize).copied().unwrap_or(0)
    }

    fn set_refcount(&mut self, cluster: u64, count: u64) {
        let cluster = cluster as usize;
        if cluster >= self.counts.len() {
            self.counts.resize((cluster + 1).next_power_of_two(), 0);
        }
        self.counts[cluster] = count;
    }

    /// Finds `size` bytes of free clusters from the free-cluster cursor,
    /// without taking a reference (QEMU's `alloc_clusters_noref`).
    fn find_free(&mut self, size: u64, max: u64) -> Result<u64, Fail> {
        let n = size.div_ceil(self.cs);
        'search: loop {
            for _ in 0..n {
                let cluster = self.free_cluster_index;
                self.free_cluster_index += 1;
                if self.refcount(cluster) != 0 {
                    continue 'search;
                }
            }
            break;
        }
        if self.free_cluster_index > 0 && self.free_cluster_index - 1 > max >> self.s.cluster_bits {
            return Err(Fail::TooBig);
        }
        Ok((self.free_cluster_index - n) << self.s.cluster_bits)
    }

    /// Allocates `size` bytes of clusters with a reference each, searching
    /// again whenever taking the references allocated refcount metadata.
    fn alloc(&mut self, size: u64) -> Result<u64, Fail> {
        loop {
            let offset = self.find_free(size, MAX_CLUSTER_OFFSET)?;
            match self.update_refcount(offset, size, 1, false) {
                Err(Fail::Again) => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok(offset),
            }
        }
    }

    /// Adds `addend` to (or, with `decrease`, takes it from) the refcount
    /// of every cluster in `[offset, offset + length)`, allocating refcount
    /// blocks on the way. On failure the clusters already changed are
    /// changed back.
    fn update_refcount(
        &mut self,
        offset: u64,
        length: u64,
        addend: u64,
        decrease: bool,
    ) -> Result<(), Fail> {
        if length == 0 {
            return Ok(());
        }
        let mask = !(self.cs - 1);
        let (start, last) = (offset & mask, (offset + length - 1) & mask);
        let mut table_index = None;
        let mut at = start;
        let mut result = Ok(());
        while at <= last {
            let cluster = at >> self.s.cluster_bits;
            let index = cluster >> self.refblock_bits;
            if table_index != Some(index) {
                match self.refcount_block_for(cluster) {
                    Ok(()) => {}
                    Err(e) => {
                        if e == Fail::Again {
                            self.free_cluster_index =
                                self.free_cluster_index.min(start >> self.s.cluster_bits);
                        }
                        result = Err(e);
                        break;
                    }
                }
            }
            table_index = Some(index);
            let old = self.refcount(cluster);
            let new = if decrease {
                old.checked_sub(addend)
            } else {
                old.checked_add(addend).filter(|&v| v <= self.refcount_max)
            };
            let Some(new) = new else {
                result = Err(Fail::Invalid);
                break;
            };
            if new == 0 && cluster < self.free_cluster_index {
                self.free_cluster_index = cluster;
            }
            self.set_refcount(cluster, new);
            at += self.cs;
        }
        if result.is_err() {
            let _ = self.update_refcount(offset, at - offset, addend, !decrease);
        }
        result
    }

    /// The refcount block that covers `cluster`, allocating it if it does
    /// not exist yet; after an allocation the answer is [`Fail::Again`], and
    /// the caller starts over (the new block may sit where it meant to
    /// allocate). A block that does not fit in the refcount table makes a
    /// larger table.
    fn refcount_block_for(&mut self, cluster: u64) -> Result<(), Fail> {
        let index = (cluster >> self.refblock_bits) as usize;
        if self
            .reftable
            .get(index)
            .is_some_and(|e| e & REFT_OFFSET_MASK != 0)
        {
            return Ok(());
        }
        let new_block = self.find_free(self.cs, i64::MAX as u64)?;
        let covers = |a: u64, b: u64| {
            a >> (self.s.cluster_bits + self.refblock_bits)
                == b >> (self.s.cluster_bits + self.refblock_bits)
        };
        if covers(new_block, cluster << self.s.cluster_bits) {
            // The new block counts itself (its range had no block: all 0).
            self.set_refcount(new_block >> self.s.cluster_bits, 1);
        } else {
            self.update_refcount(new_block, self.cs, 1, false)?;
        }
        self.refblocks.insert(new_block, index);
        if index < self.reftable.len() {
            self.writes.write(
                self.reftable_offset + index as u64 * 8,
                new_block.to_be_bytes().to_vec(),
            );
            self.reftable[index] = new_block;
            self.max_reftable_index = self.max_reftable_index.max(index);
            return Err(Fail::Again);
        }
        let used = (cluster + 1).max((new_block >> self.s.cluster_bits) + 1);
        let blocks_used = used.div_ceil(1 << self.refblock_bits);
        let meta_offset = (blocks_used << self.refblock_bits) * self.cs;
        self.refcount_area(meta_offset, index, new_block)?;
        Err(Fail::Again)
    }

    /// Makes a new, larger refcount table at `start` (after the refcount
    /// blocks it needs to describe itself there), switches to it and frees
    /// the old one (QEMU's `qcow2_refcount_area`, growing).
    fn refcount_area(&mut self, start: u64, new_index: usize, new_block: u64) -> Result<(), Fail> {
        let per_block = 1u64 << self.refblock_bits;
        let total = refcount_metadata_blocks(start / self.cs, self.cs, per_block);
        let max_entries = MAX_REFTABLE_BYTES;
        if total > max_entries {
            return Err(Fail::TooBig);
        }
        let area_index = (start / self.cs / per_block) as usize;
        let entries_per_cluster = self.cs / 8;
        let table_size = (total + total.div_ceil(2)).next_multiple_of(entries_per_cluster);
        let table_clusters = table_size * 8 / self.cs;
        if table_size > max_entries {
            return Err(Fail::TooBig);
        }
        let mut table = vec![0u64; table_size as usize];
        let keep = if table_size as usize > self.max_reftable_index {
            self.max_reftable_index + 1
        } else {
            table_size as usize
        };
        table[..keep].copy_from_slice(&self.reftable[..keep]);
        table[new_index] = new_block;
        let total = total as usize;
        let missing = table[area_index..total].iter().filter(|&&e| e == 0).count() as u64;
        let table_offset = start + missing * self.cs;
        let end = table_offset + table_clusters * self.cs;
        let mut block_offset = start;
        for (i, entry) in table.iter_mut().enumerate().take(total).skip(area_index) {
            if *entry == 0 {
                self.refblocks.insert(block_offset, i);
                *entry = block_offset;
                block_offset += self.cs;
            }
            let first_covered = i as u64 * per_block * self.cs;
            if first_covered < end {
                let from = if first_covered < start {
                    (start - first_covered) / self.cs
                } else {
                    0
                };
                let to = ((end - first_covered) / self.cs).min(per_block);
                let first_cluster = i as u64 * per_block;
                for c in first_cluster + from..first_cluster + to {
                    debug_assert_eq!(self.counts.get(c as usize).copied().unwrap_or(0), 0);
                    self.set_refcount(c, 1);
                }
            }
        }
        let mut bytes = vec![0u8; table_size as usize * 8];
        for (i, e) in table.iter().enumerate() {
            put64(&mut bytes, i * 8, *e);
        }
        self.writes.write(table_offset, bytes);
        let mut hook = table_offset.to_be_bytes().to_vec();
        hook.extend_from_slice(&(table_clusters as u32).to_be_bytes());
        self.writes.write(48, hook);
        let (old_offset, old_entries) = (self.reftable_offset, self.reftable.len() as u64);
        self.reftable = table;
        self.reftable_offset = table_offset;
        self.max_reftable_index = self
            .reftable
            .iter()
            .rposition(|e| e & REFT_OFFSET_MASK != 0)
            .unwrap_or(0);
        // QEMU ignores a failure to free the old table (the clusters leak).
        let _ = self.update_refcount(old_offset, old_entries * 8, 1, true);
        Ok(())
    }

    /// Grows the L1 table to exactly `entries` entries in newly allocated
    /// clusters (QEMU's `qcow2_grow_l1_table` with `exact_size`).
    fn grow_l1(&mut self, entries: u64) -> Result<(), Fail> {
        if entries <= self.l1_size {
            return Ok(());
        }
        if entries > (i32::MAX / 8) as u64 || entries > MAX_L1_BYTES / 8 {
            return Err(Fail::TooBig);
        }
        let bytes = entries * 8;
        let offset = self.alloc(bytes)?;
        self.writes.write(offset, vec![0; bytes as usize]);
        let mut hook = (entries as u32).to_be_bytes().to_vec();
        hook.extend_from_slice(&offset.to_be_bytes());
        self.writes.write(36, hook);
        self.l1_size = entries;
        self.l1_offset = offset;
        Ok(())
    }

    /// Writes the whole header cluster: fields, the backing format and
    /// feature table extensions, the end marker and the backing file name
    /// (QEMU's `qcow2_update_header`). `ENOSPC` when it does not fit.
    fn update_header(&mut self) -> Result<(), i32> {
        let cs = self.cs as usize;
        let mut buf = vec![0u8; cs];
        let mut h = self.header();
        let mut pos = if self.s.version >= 3 {
            HEADER_V3_LEN
        } else {
            HEADER_V2_LEN
        };
        let ext =
            |buf: &mut Vec<u8>, pos: &mut usize, magic: u32, data: &[u8]| -> Result<(), i32> {
                let len = 8 + data.len().next_multiple_of(8);
                if cs - *pos < len {
                    return Err(libc::ENOSPC);
                }
                put32(buf, *pos, magic);
                put32(buf, *pos + 4, data.len() as u32);
                buf[*pos + 8..*pos + 8 + data.len()].copy_from_slice(data);
                *pos += len;
                Ok(())
            };
        if let Some((_, Some(fmt))) = &self.backing {
            ext(&mut buf, &mut pos, EXT_BACKING_FORMAT, fmt.as_bytes())?;
        }
        if self.s.version >= 3 && self.cs > 4096 {
            ext(
                &mut buf,
                &mut pos,
                EXT_FEATURE_TABLE,
                &super::backing::feature_table(),
            )?;
        }
        ext(&mut buf, &mut pos, EXT_END, &[])?;
        if let Some((file, _)) = &self.backing {
            if cs - pos < file.len() {
                return Err(libc::ENOSPC);
            }
            buf[pos..pos + file.len()].copy_from_slice(file.as_bytes());
            h.backing_file_offset = pos as u64;
            h.backing_file_size = file.len() as u32;
        }
        h.encode(&mut buf);
        self.writes.write(0, buf);
        Ok(())
    }

    /// Writes every refcount block as it stands (the cache flush when the
    /// image is closed).
    fn close(mut self) -> Writes {
        let per_block = 1usize << self.refblock_bits;
        for (&offset, &index) in &self.refblocks {
            let first = (index * per_block).min(self.counts.len());
            let last = ((index + 1) * per_block).min(self.counts.len());
            let bytes = encode_refcounts(&self.counts[first..last], self.s.refcount_order, self.cs);
            self.writes.write(offset, bytes);
        }
        self.writes
    }
}

/// Refcount blocks needed to cover `clusters` clusters plus the refcount
/// structures themselves, with QEMU's generous extra half of the table
/// (QEMU's `qcow2_refcount_metadata_size`, as used when the table grows).
fn refcount_metadata_blocks(clusters: u64, cs: u64, per_block: u64) -> u64 {
    let per_table_cluster = cs / 8;
    let (mut clusters, mut generous) = (clusters, true);
    let (mut table, mut blocks, mut n) = (0u64, 0u64, 0u64);
    loop {
        let last = n;
        blocks = (clusters + table + blocks).div_ceil(per_block);
        table = blocks.div_ceil(per_table_cluster);
        n = clusters + blocks + table;
        if n == last && generous {
            clusters += table.div_ceil(2);
            n = 0;
            generous = false;
        }
        if n == last {
            return blocks;
        }
    }
}

/// A refcount block's bytes: `2^order`-bit big-endian entries (sub-byte
/// widths packed from the lowest bits of each byte, as QEMU packs them).
pub(crate) fn encode_refcounts(counts: &[u64], order: u32, cs: u64) -> Vec<u8> {
    let mut out = vec![0u8; cs as usize];
    let bits = 1usize << order;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        if bits >= 8 {
            let width = bits / 8;
            let bytes = c.to_be_bytes();
            out[i * width..(i + 1) * width].copy_from_slice(&bytes[8 - width..]);
        } else {
            let per_byte = 8 / bits;
            out[i / per_byte] |= (c as u8) << ((i % per_byte) * bits);
        }
    }
    out
}

/// Lays out a new empty qcow2 image for `opts` (checked as
/// `blockdev-create` checks them) and returns the writes that make it.
pub(crate) fn layout(opts: &Qcow2Options) -> Result<Writes, Error> {
    let s = settings(opts)?;
    let mut a = Allocator::new(s.clone());
    let header_clusters = a
        .alloc(3 * a.cs)
        .map_err(|f| Error::new(ErrorKind::Io, errno_text(f.errno())))?;
    debug_assert_eq!(header_clusters, 0);
    a.update_header().map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("Could not update qcow2 header: {}", errno_text(e)),
        )
    })?;

    let entries = super::read::l1_entries_for(&a.header(), s.size);
    a.grow_l1(entries).map_err(|f| {
        let kind = if f == Fail::TooBig {
            ErrorKind::TooLarge
        } else {
            ErrorKind::Io
        };
        Error::new(
            kind,
            format!(
                "Could not resize image: Failed to grow the L1 table: {}",
                errno_text(f.errno())
            ),
        )
    })?;
    a.size = s.size;
    a.writes.write(24, s.size.to_be_bytes().to_vec());

    if let Some(file) = &s.backing_file {
        let fmt = s.backing_fmt.clone();
        let errno = if file.len() > MAX_BACKING_NAME {
            Some(libc::EINVAL)
        } else {
            a.backing = Some((file.clone(), fmt.clone()));
            a.update_header().err()
        };
        if let Some(errno) = errno {
            return Err(Error::new(
                ErrorKind::InvalidOption,
                format!(
                    "Could not assign backing file '{file}' with format '{}': {}",
                    fmt.as_deref().unwrap_or("(null)"),
                    errno_text(errno)
                ),
            ));
        }
    }
    Ok(a.close())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(size: u64) -> Qcow2Options {
        Qcow2Options::new(size)
    }

    #[test]
    fn default_layout_is_header_reftable_refblock_l1() {
        let image = layout(&opts(64 << 20)).unwrap().contents();
        assert_eq!(image.len(), 0x30008);
        let h = Qcow2Header::decode(&image);
        assert_eq!((h.version, h.cluster_bits, h.size), (3, 16, 64 << 20));
        assert_eq!((h.l1_size, h.l1_table_offset), (1, 0x30000));
        assert_eq!(
            (h.refcount_table_offset, h.refcount_table_clusters),
            (0x10000, 1)
        );
        assert_eq!(be64(&image, 0x10000), 0x20000);
        // Clusters 0-3 have one reference each.
        assert_eq!(&image[0x20000..0x20008], &[0, 1, 0, 1, 0, 1, 0, 1]);
        assert_eq!(image[0x20008], 0);
    }

    #[test]
    fn a_zero_sized_image_has_no_l1_table() {
        let image = layout(&opts(0)).unwrap().contents();
        assert_eq!(image.len(), 0x30000);
        let h = Qcow2Header::decode(&image);
        assert_eq!((h.l1_size, h.l1_table_offset), (0, 0));
    }

    #[test]
    fn refcounts_pack_as_qemu_packs_them() {
        assert_eq!(encode_refcounts(&[1, 1, 0, 1], 0, 512)[0], 0b1011);
        assert_eq!(encode_refcounts(&[3, 1], 1, 512)[0], 0b0111);
        assert_eq!(&encode_refcounts(&[1, 2], 4, 512)[..4], &[0, 1, 0, 2]);
        assert_eq!(
            &encode_refcounts(&[1], 6, 512)[..8],
            &[0, 0, 0, 0, 0, 0, 0, 1]
        );
    }

    #[test]
    fn options_are_checked_in_qemus_order_with_its_texts() {
        let check = |o: Qcow2Options| layout(&o).unwrap_err().to_string();
        assert_eq!(
            check(opts(1000)),
            "Image size must be a multiple of 512 bytes"
        );
        assert_eq!(
            check(Qcow2Options {
                cluster_size: Some(3000),
                ..opts(0)
            }),
            "Cluster size must be a power of two between 512 and 2048k"
        );
        assert_eq!(
            check(Qcow2Options {
                cluster_size: Some(8192),
                extended_l2: Some(true),
                ..opts(0)
            }),
            "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes"
        );
        assert_eq!(
            check(Qcow2Options {
                backing_fmt: Some("raw".into()),
                ..opts(0)
            }),
            "Backing format cannot be used without backing file"
        );
        assert_eq!(
            check(Qcow2Options {
                version: Some(Qcow2Version::V2),
                lazy_refcounts: Some(true),
                ..opts(0)
            }),
            "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)"
        );
        assert_eq!(
            check(Qcow2Options {
                refcount_bits: Some(12),
                ..opts(0)
            }),
            "Refcount width must be a power of two and may not exceed 64 bits"
        );
        assert_eq!(
            check(Qcow2Options {
                backing_file: Some("x".repeat(1024)),
                ..opts(0)
            }),
            format!(
                "Could not assign backing file '{}' with format '(null)': Invalid argument",
                "x".repeat(1024)
            )
        );
        let e = layout(&Qcow2Options {
            cluster_size: Some(512),
            ..opts(1 << 40)
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        assert_eq!(
            e.to_string(),
            "Could not resize image: Failed to grow the L1 table: File too large"
        );
    }

    #[test]
    fn a_backing_name_too_long_for_the_cluster_is_no_space() {
        let e = layout(&Qcow2Options {
            cluster_size: Some(512),
            backing_file: Some("b".repeat(500)),
            backing_fmt: Some("raw".into()),
            ..opts(1 << 20)
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Could not assign backing file '{}' with format 'raw': No space left on device",
                "b".repeat(500)
            )
        );
    }
}
