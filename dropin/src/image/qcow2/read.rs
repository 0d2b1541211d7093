//! Reading a qcow2 image's metadata: header, extensions, backing file,
//! snapshot names, and the L1/L2 tables walked into data and zero extents.
//!
//! The checks are QEMU 7.2's when it opens a qcow2 image, in QEMU's order and
//! with QEMU's texts; metadata QEMU only checks when a guest touches it (an
//! L2 table at an unaligned offset) is checked here up front, with the text
//! QEMU prints when it finds it.

use super::*;
use crate::image::error::{Error, ErrorKind};
use crate::image::extents::Extents;
use crate::image::file::ImageFileReader;
use crate::image::{Format, ImageInfo};

/// Reads the qcow2 image in `file`.
pub(crate) fn read(file: &ImageFileReader) -> Result<ImageInfo, Error> {
    let h = check_header(file)?;
    let cluster_size = h.cluster_size();
    let ext_end = if h.backing_file_offset != 0 {
        h.backing_file_offset
    } else {
        cluster_size
    };
    let ext = read_extensions(file, u64::from(h.header_length), ext_end)?;

    if h.incompatible_features & !INCOMPAT_KNOWN != 0 {
        return Err(unsupported_features(
            &ext.feature_names,
            h.incompatible_features,
        ));
    }
    check_fields(&h)?;
    if h.incompatible_features & INCOMPAT_DATA_FILE != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "qjob does not model qcow2 images with an external data file",
        ));
    }

    let backing_file = read_backing_name(file, &h)?;
    let snapshots = read_snapshot_names(file, &h)?;
    let Allocation { data, zero } = walk_tables(file, &h)?;
    Ok(ImageInfo {
        format: Format::Qcow2,
        virtual_size: h.size,
        backing_format: backing_file.as_ref().and(ext.backing_format),
        backing_file,
        data,
        zero,
        snapshots,
        qcow2: Some(h),
    })
}

/// The fixed header, checked as QEMU checks it before it reads extensions.
pub(crate) fn check_header(file: &ImageFileReader) -> Result<Qcow2Header, Error> {
    let buf = file.read_at(0, HEADER_V3_LEN)?;
    if be32(&buf, 0) != MAGIC {
        return Err(Error::new(
            ErrorKind::WrongFormat,
            "Image is not in qcow2 format",
        ));
    }
    let h = Qcow2Header::decode(&buf);
    if !(2..=3).contains(&h.version) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("Unsupported qcow2 version {}", h.version),
        ));
    }
    if !(MIN_CLUSTER_BITS..=MAX_CLUSTER_BITS).contains(&h.cluster_bits) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("Unsupported cluster size: 2^{}", h.cluster_bits),
        ));
    }
    if h.version == 3 && h.header_length < HEADER_V3_MIN_LEN {
        return Err(corrupt("qcow2 header too short"));
    }
    if u64::from(h.header_length) > h.cluster_size() {
        return Err(corrupt("qcow2 header exceeds cluster size"));
    }
    if h.backing_file_offset > h.cluster_size() {
        return Err(corrupt("Invalid backing file offset"));
    }
    match (
        h.compression_type,
        h.incompatible_features & INCOMPAT_COMPRESSION != 0,
    ) {
        (0, false) | (1, true) => {}
        (0, true) => {
            return Err(corrupt(
                "qcow2: Compression type incompatible feature bit must not be set",
            ));
        }
        (1, false) => {
            return Err(corrupt(
                "qcow2: Compression type incompatible feature bit must be set",
            ));
        }
        (t, _) => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("qcow2: unknown compression type: {t}"),
            ));
        }
    }
    Ok(h)
}

/// The checks QEMU makes after the feature bits: subclusters, refcount
/// width, encryption, the tables' offsets and sizes.
fn check_fields(h: &Qcow2Header) -> Result<(), Error> {
    let cluster_size = h.cluster_size();
    if h.extended_l2() && cluster_size / SUBCLUSTERS < 1 << MIN_CLUSTER_BITS {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "Unsupported subcluster size: {}",
                cluster_size / SUBCLUSTERS
            ),
        ));
    }
    if h.refcount_order > 6 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "Reference count entry width too large; may not exceed 64 bits",
        ));
    }
    if h.crypt_method != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "qjob does not model encrypted qcow2 images",
        ));
    }
    if h.refcount_table_clusters == 0 {
        return Err(corrupt("Image does not contain a reference count table"));
    }
    validate_table(
        h,
        h.refcount_table_offset,
        u64::from(h.refcount_table_clusters),
        cluster_size,
        MAX_REFTABLE_BYTES,
        "Reference count table",
    )?;
    validate_table(
        h,
        h.snapshots_offset,
        u64::from(h.nb_snapshots),
        SNAPSHOT_HEADER_LEN,
        SNAPSHOT_HEADER_LEN * MAX_SNAPSHOTS,
        "Snapshot table",
    )?;
    validate_table(
        h,
        h.l1_table_offset,
        u64::from(h.l1_size),
        8,
        MAX_L1_BYTES,
        "Active L1 table",
    )?;
    let l1_needed = l1_entries_for(h, h.size);
    if l1_needed > i32::MAX as u64 {
        return Err(Error::new(ErrorKind::TooLarge, "Image is too big"));
    }
    if u64::from(h.l1_size) < l1_needed {
        return Err(corrupt("L1 table is too small"));
    }
    Ok(())
}

/// QEMU's check of a table's place: not too many entries for `max_bytes`,
/// an offset aligned to a cluster and not overflowing.
fn validate_table(
    h: &Qcow2Header,
    offset: u64,
    entries: u64,
    entry_len: u64,
    max_bytes: u64,
    name: &str,
) -> Result<(), Error> {
    if entries > max_bytes / entry_len {
        return Err(Error::new(ErrorKind::TooLarge, format!("{name} too large")));
    }
    if (i64::MAX as u64) - entries * entry_len < offset || !offset.is_multiple_of(h.cluster_size())
    {
        return Err(corrupt(format!("{name} offset invalid")));
    }
    Ok(())
}

/// Entries of the L1 table a disk of `size` bytes needs.
pub(crate) fn l1_entries_for(h: &Qcow2Header, size: u64) -> u64 {
    let l2_entry_len: u64 = if h.extended_l2() { 16 } else { 8 };
    let per_l1 = h.cluster_size() * (h.cluster_size() / l2_entry_len);
    size.div_ceil(per_l1)
}

/// What the header extensions say.
#[derive(Default)]
struct Extensions {
    backing_format: Option<String>,
    /// (type, bit, name) from the feature name table.
    feature_names: Vec<(u8, u8, String)>,
}

fn read_extensions(file: &ImageFileReader, start: u64, end: u64) -> Result<Extensions, Error> {
    let mut ext = Extensions::default();
    let mut offset = start;
    while offset < end {
        let head = file.read_at(offset, 8)?;
        let (magic, len) = (be32(&head, 0), u64::from(be32(&head, 4)));
        offset += 8;
        if offset > end || len > end - offset {
            return Err(corrupt("Header extension too large"));
        }
        match magic {
            EXT_END => break,
            EXT_BACKING_FORMAT => {
                // QEMU keeps the format name in a 16-byte field.
                if len >= 16 {
                    return Err(corrupt(format!(
                        "ERROR: ext_backing_format: len={len} too large (>=16)"
                    )));
                }
                let name = file.read_at(offset, len as usize)?;
                ext.backing_format = Some(c_string(&name));
            }
            EXT_FEATURE_TABLE => {
                let table = file.read_at(offset, len as usize)?;
                for entry in table.chunks_exact(FEATURE_ENTRY_LEN) {
                    ext.feature_names
                        .push((entry[0], entry[1], c_string(&entry[2..])));
                }
            }
            // Other extensions (bitmaps, crypto header, data file name,
            // unknown ones) say nothing qjob reads.
            _ => {}
        }
        offset += len.next_multiple_of(8);
    }
    Ok(ext)
}

/// QEMU's refusal of unknown incompatible features, naming them from the
/// image's own feature table where it has one.
fn unsupported_features(names: &[(u8, u8, String)], mut mask: u64) -> Error {
    let mut parts = Vec::new();
    for (kind, bit, name) in names {
        if name.is_empty() {
            break;
        }
        if *kind == 0 && *bit < 64 && mask & (1 << bit) != 0 {
            parts.push(name.chars().take(46).collect::<String>());
            mask &= !(1 << bit);
        }
    }
    if mask != 0 {
        parts.push(format!("Unknown incompatible feature: {mask:x}"));
    }
    Error::new(
        ErrorKind::Unsupported,
        format!("Unsupported qcow2 feature(s): {}", parts.join(", ")),
    )
}

fn read_backing_name(file: &ImageFileReader, h: &Qcow2Header) -> Result<Option<String>, Error> {
    if h.backing_file_offset == 0 {
        return Ok(None);
    }
    let len = u64::from(h.backing_file_size);
    let room = (MAX_BACKING_NAME as u64).min(h.cluster_size() - h.backing_file_offset);
    if len > room {
        return Err(corrupt("Backing file name too long"));
    }
    let name = c_string(&file.read_at(h.backing_file_offset, len as usize)?);
    Ok((!name.is_empty()).then_some(name))
}

/// Names of the internal snapshots, in table order.
fn read_snapshot_names(file: &ImageFileReader, h: &Qcow2Header) -> Result<Vec<String>, Error> {
    const MAX_TABLE_BYTES: u64 = 1024 * MAX_SNAPSHOTS;
    const MAX_EXTRA_DATA: u64 = 1024;
    let mut names = Vec::new();
    let mut offset = h.snapshots_offset;
    for _ in 0..h.nb_snapshots {
        offset = offset.next_multiple_of(8);
        let fixed = file.read_at(offset, SNAPSHOT_HEADER_LEN as usize)?;
        let id_len = u64::from(u16::from_be_bytes([fixed[12], fixed[13]]));
        let name_len = u64::from(u16::from_be_bytes([fixed[14], fixed[15]]));
        let extra_len = u64::from(be32(&fixed, 36));
        if extra_len > MAX_EXTRA_DATA {
            return Err(corrupt("Too much extra metadata in snapshot table entry"));
        }
        offset += SNAPSHOT_HEADER_LEN + extra_len + id_len;
        names.push(c_string(&file.read_at(offset, name_len as usize)?));
        offset += name_len;
        if offset - h.snapshots_offset > MAX_TABLE_BYTES {
            return Err(corrupt("Snapshot table is too big"));
        }
    }
    Ok(names)
}

/// The data and zero extents of an image's virtual disk.
struct Allocation {
    data: Vec<(u64, u64)>,
    zero: Vec<(u64, u64)>,
}

/// Walks the active L1 and L2 tables: the virtual disk's extents that hold
/// data in this image (normal and compressed clusters and subclusters), and
/// those that read as zeroes without going to the backing file (zero
/// clusters and subclusters, with or without a host cluster).
fn walk_tables(file: &ImageFileReader, h: &Qcow2Header) -> Result<Allocation, Error> {
    let cs = h.cluster_size();
    let extended = h.extended_l2();
    let entry_len: usize = if extended { 16 } else { 8 };
    let l2_entries = cs / entry_len as u64;
    let l1_used = l1_entries_for(h, h.size).min(u64::from(h.l1_size));
    let l1 = file.read_at(h.l1_table_offset, (l1_used * 8) as usize)?;
    let (mut data, mut zero) = (Extents::default(), Extents::default());

    for (l1_index, raw) in l1.chunks_exact(8).enumerate() {
        let l2_offset = be64(raw, 0) & L1E_OFFSET_MASK;
        if l2_offset == 0 {
            continue;
        }
        if !l2_offset.is_multiple_of(cs) {
            return Err(corrupt(format!(
                "L2 table offset {} unaligned (L1 index: {})",
                c_hex(l2_offset),
                c_hex(l1_index as u64)
            )));
        }
        let l2 = file.read_at(l2_offset, cs as usize)?;
        let base = l1_index as u64 * l2_entries * cs;
        for (l2_index, e) in l2.chunks_exact(entry_len).enumerate() {
            let guest = base + l2_index as u64 * cs;
            if guest >= h.size {
                break;
            }
            let entry = be64(e, 0);
            let host = entry & L2E_OFFSET_MASK;
            let invalid = || {
                corrupt(format!(
                    "Invalid cluster entry found  (L2 offset: {}, L2 index: {})",
                    c_hex(l2_offset),
                    c_hex(l2_index as u64)
                ))
            };
            if entry & OFLAG_COMPRESSED != 0 {
                data.push(guest, cs);
                continue;
            }
            if host != 0 && !host.is_multiple_of(cs) {
                return Err(corrupt(format!(
                    "Cluster allocation offset {} unaligned (L2 offset: {}, L2 index: {})",
                    c_hex(host),
                    c_hex(l2_offset),
                    c_hex(l2_index as u64)
                )));
            }
            if !extended {
                if entry & OFLAG_ZERO != 0 {
                    zero.push(guest, cs);
                } else if host != 0 {
                    data.push(guest, cs);
                }
                continue;
            }
            let bitmap = be64(e, 8);
            let (alloc, zeroes) = (bitmap & 0xffff_ffff, bitmap >> 32);
            if (host != 0 && alloc & zeroes != 0) || (host == 0 && alloc != 0) {
                return Err(invalid());
            }
            let sub = cs / SUBCLUSTERS;
            for i in 0..SUBCLUSTERS {
                let at = guest + i * sub;
                if zeroes & (1 << i) != 0 {
                    zero.push(at, sub);
                } else if alloc & (1 << i) != 0 {
                    data.push(at, sub);
                }
            }
        }
    }
    Ok(Allocation {
        data: data.clipped(h.size),
        zero: zero.clipped(h.size),
    })
}

/// A name stored in the file, up to its first NUL.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// C's `%#x`: `0x` before the digits, except for zero.
fn c_hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

fn corrupt(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Corrupt, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_features_are_named_from_the_table_then_by_mask() {
        let names = vec![
            (0, 5, "shiny thing".to_string()),
            (1, 6, "not incompatible".to_string()),
        ];
        let e = unsupported_features(&names, (1 << 5) | (1 << 6) | (1 << 9));
        assert_eq!(
            e.to_string(),
            "Unsupported qcow2 feature(s): shiny thing, Unknown incompatible feature: 240"
        );
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            unsupported_features(&[], 1 << 8).to_string(),
            "Unsupported qcow2 feature(s): Unknown incompatible feature: 100"
        );
    }

    #[test]
    fn hex_is_printed_as_c_prints_it() {
        assert_eq!(c_hex(0), "0");
        assert_eq!(c_hex(0x30000), "0x30000");
    }

    #[test]
    fn c_strings_stop_at_nul() {
        assert_eq!(c_string(b"raw\0\0"), "raw");
        assert_eq!(c_string(b"qcow2"), "qcow2");
    }
}
