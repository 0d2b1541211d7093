//! Rewriting the backing file name (and format) of an existing qcow2 image,
//! as QEMU 7.2 does when `block-stream` or `block-commit` takes nodes out of
//! a chain, or `qemu-img rebase -u` is run (QEMU's `qcow2_change_backing_file`,
//! which writes the whole header cluster anew with `qcow2_update_header`).
//!
//! The new header cluster holds the fixed fields (with any header fields
//! past the ones QEMU knows kept as they were), then the extensions in
//! QEMU's order (backing format, external data file, encryption header,
//! feature name table, bitmaps, then every extension QEMU does not know, in
//! the file's order), the end marker and the backing file name; the rest of
//! the cluster is zeros. Nothing else in the file changes.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::*;
use crate::image::error::{Error, ErrorKind, errno_text};
use crate::image::file::ImageFileReader;

/// Extension types QEMU writes from its own state, before the unknown ones.
const EXT_DATA_FILE: u32 = 0x4441_5441;
const EXT_CRYPTO_HEADER: u32 = 0x0537_be77;
const EXT_BITMAPS: u32 = 0x2385_2875;

/// Sets the backing file of the qcow2 image in `file` to `backing`
/// (name and format; `None`: no backing file). Refused with `EINVAL`'s
/// text for a name longer than 1023 bytes and with `ENOSPC`'s when the
/// header does not fit in one cluster; the file is unchanged then.
pub(crate) fn change_backing_file(
    file: &File,
    reader: &ImageFileReader,
    backing: Option<(&str, Option<&str>)>,
) -> Result<(), Error> {
    let fail = |code: i32| {
        Error::new(
            ErrorKind::Io,
            format!(
                "Could not update the backing file of '{}': {}",
                reader.name(),
                errno_text(code)
            ),
        )
    };
    if backing.is_some_and(|(name, _)| name.len() > MAX_BACKING_NAME) {
        return Err(fail(libc::EINVAL));
    }
    // The header as QEMU checks it when it opens the image.
    let old = super::read::check_header(reader)?;
    let cs = old.cluster_size() as usize;
    let cluster = reader.read_at(0, cs)?;

    // What the old header cluster holds past the fields QEMU knows.
    let known = if old.version >= 3 {
        HEADER_V3_LEN
    } else {
        HEADER_V2_LEN
    };
    let old_len = old.header_length as usize;
    let unknown_fields = if old.version >= 3 && old_len > known && old_len <= cs {
        &cluster[known..old_len]
    } else {
        &[][..]
    };
    let ext_end = if old.backing_file_offset != 0 {
        old.backing_file_offset as usize
    } else {
        cs
    };
    let extensions = parse_extensions(&cluster, old_len.max(known).min(cs), ext_end.min(cs));

    let mut buf = vec![0u8; cs];
    let mut h = Qcow2Header {
        backing_file_offset: 0,
        backing_file_size: 0,
        ..old.clone()
    };
    if h.version >= 3 {
        h.header_length = (HEADER_V3_LEN + unknown_fields.len()) as u32;
    }
    let mut pos = known;
    buf[pos..pos + unknown_fields.len()].copy_from_slice(unknown_fields);
    pos += unknown_fields.len();

    let mut add = |magic: u32, data: &[u8]| -> Result<(), Error> {
        let len = 8 + data.len().next_multiple_of(8);
        if cs - pos < len {
            return Err(fail(libc::ENOSPC));
        }
        put32(&mut buf, pos, magic);
        put32(&mut buf, pos + 4, data.len() as u32);
        buf[pos + 8..pos + 8 + data.len()].copy_from_slice(data);
        pos += len;
        Ok(())
    };
    let find = |magic: u32| extensions.iter().find(|(m, _)| *m == magic);
    if let Some((_, Some(format))) = backing {
        add(EXT_BACKING_FORMAT, format.as_bytes())?;
    }
    if old.incompatible_features & INCOMPAT_DATA_FILE != 0
        && let Some((_, data)) = find(EXT_DATA_FILE)
    {
        add(EXT_DATA_FILE, data)?;
    }
    if let Some((_, data)) = find(EXT_CRYPTO_HEADER) {
        add(EXT_CRYPTO_HEADER, data)?;
    }
    if old.version >= 3 && cs > 4096 {
        add(EXT_FEATURE_TABLE, &feature_table())?;
    }
    if let Some((_, data)) = find(EXT_BITMAPS) {
        add(EXT_BITMAPS, data)?;
    }
    for (magic, data) in &extensions {
        let qemus = [
            EXT_BACKING_FORMAT,
            EXT_DATA_FILE,
            EXT_CRYPTO_HEADER,
            EXT_FEATURE_TABLE,
            EXT_BITMAPS,
        ];
        if !qemus.contains(magic) {
            add(*magic, data)?;
        }
    }
    add(EXT_END, &[])?;
    if let Some((name, _)) = backing {
        if cs - pos < name.len() {
            return Err(fail(libc::ENOSPC));
        }
        buf[pos..pos + name.len()].copy_from_slice(name.as_bytes());
        h.backing_file_offset = pos as u64;
        h.backing_file_size = name.len() as u32;
    }
    h.encode(&mut buf);
    file.write_all_at(&buf, 0).map_err(|e| {
        Error::os(
            format!("Could not update the backing file of '{}'", reader.name()),
            &e,
        )
    })
}

/// The header extensions between `start` and `end`: (type, data), up to
/// the end marker; a malformed one ends the list.
fn parse_extensions(cluster: &[u8], start: usize, end: usize) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = start;
    while at + 8 <= end {
        let (magic, len) = (be32(cluster, at), be32(cluster, at + 4) as usize);
        at += 8;
        if magic == EXT_END || len > end - at {
            break;
        }
        out.push((magic, cluster[at..at + len].to_vec()));
        at += len.next_multiple_of(8);
    }
    out
}

/// The feature name table QEMU writes (the same in every image).
pub(crate) fn feature_table() -> Vec<u8> {
    let mut table = vec![0u8; FEATURE_NAMES.len() * FEATURE_ENTRY_LEN];
    for (i, (kind, bit, name)) in FEATURE_NAMES.iter().enumerate() {
        let e = &mut table[i * FEATURE_ENTRY_LEN..(i + 1) * FEATURE_ENTRY_LEN];
        e[0] = *kind;
        e[1] = *bit;
        e[2..2 + name.len()].copy_from_slice(name.as_bytes());
    }
    table
}
