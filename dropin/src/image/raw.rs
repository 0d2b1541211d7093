//! The raw format: the virtual disk is the file, byte for byte.
//!
//! Reading gives the file's length as the virtual size and its allocated
//! extents from `SEEK_DATA` / `SEEK_HOLE` (the whole file where the file
//! system cannot tell), as QEMU's `file` driver reports them. Creating does
//! what QEMU 7.2's `file` driver does for `qemu-img create -f raw` and
//! `blockdev-create` with `driver: file`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use crate::image::error::Error;
use crate::image::extents::Extents;
use crate::image::file::ImageFileReader;
use crate::image::{Format, ImageInfo};

/// QEMU's `MAX_BLOCKSIZE`: the most it writes to allocate a new file's first
/// block.
const MAX_BLOCKSIZE: u64 = 4096;
/// A sector, the least QEMU writes to allocate a new file's first block.
const SECTOR: u64 = 512;

/// Reads a raw image: size and allocated extents of the file.
pub(crate) fn read(file: &ImageFileReader) -> ImageInfo {
    let len = file.len();
    let data = allocated_extents(file.file(), len);
    let mut zero = Extents::default();
    let mut at = 0;
    for &(offset, length) in &data {
        zero.push(at, offset - at);
        at = offset + length;
    }
    zero.push(at, len - at);
    ImageInfo {
        format: Format::Raw,
        virtual_size: len,
        backing_file: None,
        backing_format: None,
        data,
        zero: zero.clipped(len),
        snapshots: Vec::new(),
        qcow2: None,
    }
}

/// The extents of `file` (of `len` bytes) that hold data, from
/// `SEEK_DATA` / `SEEK_HOLE`; the whole file when the file system does not
/// support them.
fn allocated_extents(file: &File, len: u64) -> Vec<(u64, u64)> {
    let mut data = Extents::default();
    let mut pos = 0;
    while pos < len {
        let start = match seek(file, pos, libc::SEEK_DATA) {
            Ok(start) => start,
            // ENXIO: no data at or after `pos`.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => break,
            // The file system cannot tell: everything is data.
            Err(_) => {
                data.push(pos, len - pos);
                break;
            }
        };
        if start >= len {
            break;
        }
        let end = seek(file, start, libc::SEEK_HOLE).unwrap_or(len).min(len);
        if end <= start {
            data.push(start, len - start);
            break;
        }
        data.push(start, end - start);
        pos = end;
    }
    data.clipped(len)
}

/// `lseek(fd, offset, whence)` for the `SEEK_DATA` / `SEEK_HOLE` whences,
/// which `std::io::Seek` does not have.
fn seek(file: &File, offset: u64, whence: libc::c_int) -> io::Result<u64> {
    let offset =
        libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `lseek` takes no pointers; the descriptor is owned by `file`,
    // which is borrowed for the whole call, so it stays open. Moving the
    // file position affects nothing here: every read uses `pread`.
    let r = unsafe { libc::lseek(file.as_raw_fd(), offset, whence) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as u64)
    }
}

/// Creates (or empties) the raw image `path` of `size` bytes as QEMU 7.2's
/// `file` driver does with `preallocation=off`: the file is truncated to
/// nothing, grown to `size` as a hole, and its first block is written with
/// zeroes (512 bytes below 4 KiB, else 4 KiB: QEMU does this to probe
/// alignment later), so a new raw image holds data in its first block.
///
/// Errors: `Could not create 'X': <strerror>` when the file cannot be
/// opened, `Could not resize file: <strerror>` when it cannot be resized.
pub fn create_raw(path: &Path, size: u64) -> Result<(), Error> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map_err(|e| Error::os(format!("Could not create '{}'", path.display()), &e))?;
    let resize = |len: u64| {
        file.set_len(len)
            .map_err(|e| Error::os("Could not resize file", &e))
    };
    resize(0)?;
    resize(size)?;
    if size > 0 {
        let first = if size < MAX_BLOCKSIZE {
            SECTOR
        } else {
            MAX_BLOCKSIZE
        };
        // QEMU ignores a failure here: it is only an optimisation.
        let _ = file.write_all_at(&vec![0; first as usize], 0);
    }
    Ok(())
}
