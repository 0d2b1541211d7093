//! The qcow2 format: its header (this file), reading an image's metadata
//! (`read`), laying out a new empty image as QEMU 7.2 does (`create`) and
//! rewriting an image's backing file name (`backing`) and writing guest
//! data into an image (`write`).
//!
//! The facts come from QEMU's `docs/interop/qcow2.txt` and from what QEMU 7.2
//! writes and accepts; the layout of a new image is checked byte for byte
//! against `qemu-img create` in the crate's tests.

pub(crate) mod backing;
pub(crate) mod create;
pub(crate) mod read;
pub(crate) mod write;

/// `QFI\xfb`, the first four bytes of every qcow and qcow2 file.
pub(crate) const MAGIC: u32 = 0x5146_49fb;
/// Size of the version 3 header struct QEMU writes (104 bytes of fields, the
/// compression type and 7 bytes of padding); also the least a file must hold
/// for QEMU's probe to consider it.
pub(crate) const HEADER_V3_LEN: usize = 112;
/// Size of the version 2 header.
pub(crate) const HEADER_V2_LEN: usize = 72;
/// The shortest version 3 header QEMU accepts (no compression type byte).
pub(crate) const HEADER_V3_MIN_LEN: u32 = 104;

/// Smallest and largest `cluster_bits` (512 bytes to 2 MiB).
pub(crate) const MIN_CLUSTER_BITS: u32 = 9;
pub(crate) const MAX_CLUSTER_BITS: u32 = 21;
/// QEMU's limits on the tables' sizes in bytes.
pub(crate) const MAX_L1_BYTES: u64 = 32 << 20;
pub(crate) const MAX_REFTABLE_BYTES: u64 = 8 << 20;
pub(crate) const MAX_SNAPSHOTS: u64 = 65536;
/// Largest backing file name QEMU reads or writes.
pub(crate) const MAX_BACKING_NAME: usize = 1023;
/// Size of a snapshot table entry's fixed part.
pub(crate) const SNAPSHOT_HEADER_LEN: u64 = 40;

/// Header extension types.
pub(crate) const EXT_END: u32 = 0;
pub(crate) const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
pub(crate) const EXT_FEATURE_TABLE: u32 = 0x6803_f857;

/// Incompatible feature bits.
pub(crate) const INCOMPAT_DIRTY: u64 = 1 << 0;
pub(crate) const INCOMPAT_CORRUPT: u64 = 1 << 1;
pub(crate) const INCOMPAT_DATA_FILE: u64 = 1 << 2;
pub(crate) const INCOMPAT_COMPRESSION: u64 = 1 << 3;
pub(crate) const INCOMPAT_EXTL2: u64 = 1 << 4;
/// Every incompatible feature QEMU 7.2 knows.
pub(crate) const INCOMPAT_KNOWN: u64 = 0x1f;
/// Compatible feature bit: lazy refcounts.
pub(crate) const COMPAT_LAZY_REFCOUNTS: u64 = 1 << 0;

/// Offset bits of L1 and L2 entries and of refcount table entries.
pub(crate) const L1E_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
pub(crate) const L2E_OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// L2 entry flags.
pub(crate) const OFLAG_COMPRESSED: u64 = 1 << 62;
pub(crate) const OFLAG_ZERO: u64 = 1;
/// Subclusters per cluster with extended L2 entries.
pub(crate) const SUBCLUSTERS: u64 = 32;

/// The feature name table QEMU 7.2 writes into images with clusters larger
/// than 4 KiB: (type, bit, name); type 0 incompatible, 1 compatible,
/// 2 autoclear.
pub(crate) const FEATURE_NAMES: [(u8, u8, &str); 8] = [
    (0, 0, "dirty bit"),
    (0, 1, "corrupt bit"),
    (0, 2, "external data file"),
    (0, 3, "compression type"),
    (0, 4, "extended L2 entries"),
    (1, 0, "lazy refcounts"),
    (2, 0, "bitmaps"),
    (2, 1, "raw external data"),
];
/// Bytes of one feature name table entry (type, bit, 46 bytes of name).
pub(crate) const FEATURE_ENTRY_LEN: usize = 48;

/// The compression method of a qcow2 image's compressed clusters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompressionType {
    /// `zlib`, the default (type 0).
    Zlib,
    /// `zstd` (type 1, with the compression type incompatible feature).
    Zstd,
}

impl CompressionType {
    /// QEMU's name: `zlib` or `zstd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zlib => "zlib",
            Self::Zstd => "zstd",
        }
    }

    /// The value of the header's compression type byte.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Zlib => 0,
            Self::Zstd => 1,
        }
    }
}

/// A qcow2 header as stored at the start of the file, fields decoded.
///
/// Version 2 images have no fields after `snapshots_offset`; [`read`](crate::image::read)
/// fills them with what QEMU assumes for version 2 (no features, 16-bit
/// refcounts, a 72-byte header, zlib).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Qcow2Header {
    /// 2 or 3.
    pub version: u32,
    /// Offset of the backing file name in the header cluster, 0 if none.
    pub backing_file_offset: u64,
    /// Length of the backing file name.
    pub backing_file_size: u32,
    /// log2 of the cluster size.
    pub cluster_bits: u32,
    /// Virtual size in bytes.
    pub size: u64,
    /// 0 none, 1 AES, 2 LUKS.
    pub crypt_method: u32,
    /// Entries of the active L1 table.
    pub l1_size: u32,
    /// Offset of the active L1 table.
    pub l1_table_offset: u64,
    /// Offset of the refcount table.
    pub refcount_table_offset: u64,
    /// Clusters of the refcount table.
    pub refcount_table_clusters: u32,
    /// Internal snapshots.
    pub nb_snapshots: u32,
    /// Offset of the snapshot table.
    pub snapshots_offset: u64,
    /// Incompatible feature bits (dirty, corrupt, data file, compression
    /// type, extended L2).
    pub incompatible_features: u64,
    /// Compatible feature bits (lazy refcounts).
    pub compatible_features: u64,
    /// Autoclear feature bits (bitmaps, raw external data).
    pub autoclear_features: u64,
    /// log2 of the refcount width in bits.
    pub refcount_order: u32,
    /// Length of the header before the extensions.
    pub header_length: u32,
    /// Compression type byte (0 zlib, 1 zstd).
    pub compression_type: u8,
}

impl Qcow2Header {
    /// Cluster size in bytes.
    pub fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    /// Refcount width in bits.
    pub fn refcount_bits(&self) -> u32 {
        1 << self.refcount_order
    }

    /// Whether L2 entries are extended (32 subclusters per cluster).
    pub fn extended_l2(&self) -> bool {
        self.incompatible_features & INCOMPAT_EXTL2 != 0
    }

    /// Whether the image uses lazy refcounts.
    pub fn lazy_refcounts(&self) -> bool {
        self.compatible_features & COMPAT_LAZY_REFCOUNTS != 0
    }

    /// Whether the dirty bit is set (refcounts may be stale after a crash).
    pub fn dirty(&self) -> bool {
        self.incompatible_features & INCOMPAT_DIRTY != 0
    }

    /// Whether the corrupt bit is set (QEMU opens such images read-only).
    pub fn corrupt(&self) -> bool {
        self.incompatible_features & INCOMPAT_CORRUPT != 0
    }

    /// Decodes the header from the first bytes of a file; `buf` holds at
    /// least [`HEADER_V3_LEN`] bytes (zeros past the end of a short file).
    /// Only the magic is checked here.
    pub(crate) fn decode(buf: &[u8]) -> Self {
        let mut h = Self {
            version: be32(buf, 4),
            backing_file_offset: be64(buf, 8),
            backing_file_size: be32(buf, 16),
            cluster_bits: be32(buf, 20),
            size: be64(buf, 24),
            crypt_method: be32(buf, 32),
            l1_size: be32(buf, 36),
            l1_table_offset: be64(buf, 40),
            refcount_table_offset: be64(buf, 48),
            refcount_table_clusters: be32(buf, 56),
            nb_snapshots: be32(buf, 60),
            snapshots_offset: be64(buf, 64),
            incompatible_features: be64(buf, 72),
            compatible_features: be64(buf, 80),
            autoclear_features: be64(buf, 88),
            refcount_order: be32(buf, 96),
            header_length: be32(buf, 100),
            compression_type: buf[104],
        };
        if h.version == 2 {
            h.incompatible_features = 0;
            h.compatible_features = 0;
            h.autoclear_features = 0;
            h.refcount_order = 4;
            h.header_length = HEADER_V2_LEN as u32;
        }
        if h.header_length as usize <= 104 {
            h.compression_type = 0;
        }
        h
    }

    /// Writes the fixed fields into the first bytes of `buf`: all of them for
    /// version 3, the first 72 bytes for version 2 (as QEMU does when it
    /// rewrites a header).
    pub(crate) fn encode(&self, buf: &mut [u8]) {
        put32(buf, 0, MAGIC);
        put32(buf, 4, self.version);
        put64(buf, 8, self.backing_file_offset);
        put32(buf, 16, self.backing_file_size);
        put32(buf, 20, self.cluster_bits);
        put64(buf, 24, self.size);
        put32(buf, 32, self.crypt_method);
        put32(buf, 36, self.l1_size);
        put64(buf, 40, self.l1_table_offset);
        put64(buf, 48, self.refcount_table_offset);
        put32(buf, 56, self.refcount_table_clusters);
        put32(buf, 60, self.nb_snapshots);
        put64(buf, 64, self.snapshots_offset);
        if self.version >= 3 {
            put64(buf, 72, self.incompatible_features);
            put64(buf, 80, self.compatible_features);
            put64(buf, 88, self.autoclear_features);
            put32(buf, 96, self.refcount_order);
            put32(buf, 100, self.header_length);
            buf[104] = self.compression_type;
        }
    }
}

/// Big-endian u32 at `at`.
pub(crate) fn be32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

/// Big-endian u64 at `at`.
pub(crate) fn be64(buf: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

/// Stores a big-endian u32 at `at`.
pub(crate) fn put32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Stores a big-endian u64 at `at`.
pub(crate) fn put64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_v2_gets_qemus_defaults() {
        let h = Qcow2Header {
            version: 3,
            backing_file_offset: 0x1a0,
            backing_file_size: 7,
            cluster_bits: 16,
            size: 64 << 20,
            crypt_method: 0,
            l1_size: 1,
            l1_table_offset: 0x30000,
            refcount_table_offset: 0x10000,
            refcount_table_clusters: 1,
            nb_snapshots: 0,
            snapshots_offset: 0,
            incompatible_features: INCOMPAT_COMPRESSION,
            compatible_features: COMPAT_LAZY_REFCOUNTS,
            autoclear_features: 0,
            refcount_order: 4,
            header_length: HEADER_V3_LEN as u32,
            compression_type: 1,
        };
        let mut buf = [0u8; HEADER_V3_LEN];
        h.encode(&mut buf);
        assert_eq!(be32(&buf, 0), MAGIC);
        assert_eq!(Qcow2Header::decode(&buf), h);
        assert!(h.lazy_refcounts() && !h.extended_l2() && !h.dirty() && !h.corrupt());

        let v2 = Qcow2Header { version: 2, ..h };
        let mut buf = [0u8; HEADER_V3_LEN];
        v2.encode(&mut buf);
        assert!(buf[72..].iter().all(|&b| b == 0));
        let back = Qcow2Header::decode(&buf);
        assert_eq!((back.refcount_order, back.header_length), (4, 72));
        assert_eq!((back.compatible_features, back.compression_type), (0, 0));
    }
}
