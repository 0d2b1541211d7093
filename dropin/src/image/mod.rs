//! Real image files: qcow2 and raw images read from disk into metadata, and
//! new empty images written as QEMU 7.2 writes them.
//!
//! What matters of an image to the core is its format, virtual size,
//! backing file and format, and which parts of the disk hold data. [`read`]
//! gets exactly that from a file ([`ImageInfo`], which converts into the
//! core's [`qjob::ImageFile`]); [`create`], [`create_qcow2`],
//! [`format_qcow2`] and [`create_raw`] write empty images that `qemu-img
//! info` and `qemu-img check` accept, laid out byte for byte as QEMU 7.2
//! lays them out; [`CreateOptions::formatting_line`] is the line QEMU
//! prints when it creates one. [`copy_data`] copies the guest data a
//! section of a backing chain holds into another image, as a job's copy
//! leaves it.
//!
//! ```
//! use qjob_dropin::image::{self, CreateOptions, Format, Qcow2Options};
//!
//! let dir = std::env::temp_dir().join(format!("qjob-dropin-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let base = dir.join("base.qcow2");
//! image::create(&base, &CreateOptions::Qcow2(Qcow2Options::new(64 << 20))).unwrap();
//! let top = dir.join("top.qcow2");
//! let opts = Qcow2Options::new(64 << 20).with_backing("base.qcow2", "qcow2");
//! image::create(&top, &CreateOptions::Qcow2(opts)).unwrap();
//!
//! let info = image::read(&top, Format::Qcow2).unwrap();
//! assert_eq!(info.virtual_size, 64 << 20);
//! assert_eq!(info.backing_file.as_deref(), Some("base.qcow2"));
//! assert_eq!(info.backing_format.as_deref(), Some("qcow2"));
//! assert!(info.data.is_empty());
//! assert_eq!(image::probe(&top).unwrap(), Format::Qcow2);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod data;
mod error;
mod extents;
mod file;
mod options;
mod qcow2;
mod raw;

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub use data::{CopyStats, copy_data};
pub use error::{Error, ErrorKind};
pub use options::{CreateOptions, Preallocation, Qcow2Options, Qcow2Version, RawOptions};
pub use qcow2::{CompressionType, Qcow2Header};
pub use raw::create_raw;

use file::ImageFileReader;

/// An image format qjob reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// QEMU's qcow2, versions 2 and 3.
    Qcow2,
    /// A plain file holding the disk byte for byte.
    Raw,
}

impl Format {
    /// QEMU's driver name: `qcow2` or `raw`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Qcow2 => "qcow2",
            Self::Raw => "raw",
        }
    }

    /// The format of a QEMU driver name, if qjob reads it.
    pub fn from_driver(name: &str) -> Option<Self> {
        match name {
            "qcow2" => Some(Self::Qcow2),
            "raw" => Some(Self::Raw),
            _ => None,
        }
    }
}

/// What qjob needs to know of an image file: its metadata, never its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// The format the file was read as.
    pub format: Format,
    /// Virtual disk size in bytes (a raw image's file length).
    pub virtual_size: u64,
    /// The backing file name as stored in the image (relative names are
    /// relative to the image's directory), if any.
    pub backing_file: Option<String>,
    /// The backing file's format from the image's backing format extension,
    /// if the image has a backing file and names its format.
    pub backing_format: Option<String>,
    /// Extents of the virtual disk that hold data in this image, sorted,
    /// disjoint, coalesced, `(offset, length)`: normal and compressed
    /// clusters (and subclusters) of a qcow2 image, the allocated parts of a
    /// raw file. Reads elsewhere give zeroes or go to the backing file.
    pub data: Vec<(u64, u64)>,
    /// Extents that read as zeroes without going to a backing file: qcow2
    /// zero clusters (with or without a host cluster), a raw file's holes.
    /// Like QEMU, qjob does not count them as data.
    pub zero: Vec<(u64, u64)>,
    /// Internal snapshot names (qcow2), in the snapshot table's order.
    pub snapshots: Vec<String>,
    /// The qcow2 header, for a qcow2 image.
    pub qcow2: Option<Qcow2Header>,
}

impl ImageInfo {
    /// The image as the core's simulated block layer keeps it (the file
    /// table the scenario `image` directive fills).
    pub fn to_image_file(&self) -> qjob::ImageFile {
        qjob::ImageFile {
            format: self.format.as_str().to_string(),
            size: self.virtual_size,
            backing: self.backing_file.clone(),
            backing_format: self.backing_format.clone(),
            data: self.data.clone(),
            snapshots: self.snapshots.clone(),
            cluster_size: self.qcow2.as_ref().map(Qcow2Header::cluster_size),
            ..Default::default()
        }
    }

    /// QEMU's refusal to open this image read-write, if it refuses: a qcow2
    /// image with the corrupt bit set opens read-only only
    /// (`qcow2: Image is corrupt; cannot be opened read/write`).
    pub fn writable_error(&self) -> Option<Error> {
        self.qcow2.as_ref().filter(|h| h.corrupt()).map(|_| {
            Error::new(
                ErrorKind::Corrupt,
                "qcow2: Image is corrupt; cannot be opened read/write",
            )
        })
    }
}

/// Reads the metadata of the image at `path` as `format`.
///
/// Errors are QEMU 7.2's for the same file: `Could not open 'X': No such
/// file or directory`, `Image is not in qcow2 format`, `Unsupported qcow2
/// version 4`, `Unsupported qcow2 feature(s): ...`, and so on; images with
/// an external data file or encryption are refused (qjob does not model
/// them).
pub fn read(path: impl AsRef<Path>, format: Format) -> Result<ImageInfo, Error> {
    let file = ImageFileReader::open(path.as_ref())?;
    match format {
        Format::Qcow2 => qcow2::read::read(&file),
        Format::Raw => Ok(raw::read(&file)),
    }
}

/// Reads the image at `path` in the format [`probe`] finds.
pub fn read_probed(path: impl AsRef<Path>) -> Result<ImageInfo, Error> {
    let format = probe(path.as_ref())?;
    read(path, format)
}

/// The format QEMU 7.2 finds for a file opened without one (`-drive
/// file=X` with no `format=`, `driver=file` images under a format probe):
/// qcow2 when the file starts with a qcow2 header (magic `QFI\xfb`, version
/// 2 or more, at least a whole header), raw otherwise.
///
/// A qcow version 1 image is refused (QEMU would open it with its `qcow`
/// driver, which qjob does not have); the magic numbers of QEMU's other
/// formats (vmdk, vdi, vpc, ...) are not recognised and such files read as
/// raw.
pub fn probe(path: impl AsRef<Path>) -> Result<Format, Error> {
    let file = ImageFileReader::open(path.as_ref())?;
    let head = file.read_at(0, qcow2::HEADER_V3_LEN)?;
    let whole_header = file.len() >= qcow2::HEADER_V3_LEN as u64;
    if whole_header && qcow2::be32(&head, 0) == qcow2::MAGIC {
        match qcow2::be32(&head, 4) {
            1 => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "qjob does not model qcow (version 1) images",
                ));
            }
            v if v >= 2 => return Ok(Format::Qcow2),
            _ => {}
        }
    }
    Ok(Format::Raw)
}

/// Creates the image `path` as `qemu-img create` does (and as QEMU does for
/// a job command that creates its target): the size is rounded up to a
/// multiple of 512, an existing file is replaced, and a qcow2 image whose
/// creation fails is removed again. A size too large for the cluster size
/// gives QEMU's `The image size is too large for file format 'qcow2' (try
/// using a larger cluster size)`.
///
/// Taking the size from the backing file when none is given, and refusing a
/// backing file without a format, are the caller's (they need the backing
/// file opened, which [`read`] does).
pub fn create(path: impl AsRef<Path>, opts: &CreateOptions) -> Result<(), Error> {
    let path = path.as_ref();
    match opts {
        CreateOptions::Raw(o) => {
            options::refuse_preallocation(o.preallocation)?;
            create_raw(path, o.size.next_multiple_of(512))
        }
        CreateOptions::Qcow2(o) => {
            let o = Qcow2Options {
                size: o.size.next_multiple_of(512),
                ..o.clone()
            };
            // The protocol layer first: an empty file.
            create_raw(path, 0)?;
            create_qcow2(path, &o).map_err(|e| {
                let _ = std::fs::remove_file(path);
                if e.kind() == ErrorKind::TooLarge {
                    Error::new(
                        ErrorKind::TooLarge,
                        "The image size is too large for file format 'qcow2' (try using a larger cluster size)",
                    )
                } else {
                    e
                }
            })
        }
    }
}

/// Writes a new empty qcow2 image into a new (or emptied) file `path`, as
/// `blockdev-create` with `driver: qcow2` does over a `file` node created
/// empty: options checked with QEMU's texts (the size must be a multiple of
/// 512), then QEMU 7.2's layout. Nothing is written when the options are
/// refused.
pub fn create_qcow2(path: impl AsRef<Path>, opts: &Qcow2Options) -> Result<(), Error> {
    let path = path.as_ref();
    let writes = qcow2::create::layout(opts)?;
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| Error::os(format!("Could not create '{}'", path.display()), &e))?;
    writes
        .apply(&file)
        .map_err(|e| Error::os("Could not write qcow2 header", &e))
}

/// Writes a new empty qcow2 image over the existing file `file`, without
/// truncating it, as `blockdev-create` with `driver: qcow2` does over an
/// existing `file` node (what lies past the new metadata stays, as in
/// QEMU). Nothing is written when the options are refused.
pub fn format_qcow2(file: &std::fs::File, opts: &Qcow2Options) -> Result<(), Error> {
    let writes = qcow2::create::layout(opts)?;
    writes
        .apply(file)
        .map_err(|e| Error::os("Could not write qcow2 header", &e))
}

/// Sets the backing file name and format written in the header of the
/// qcow2 image `path` (`None`: no backing file), as QEMU 7.2 rewrites it
/// when `block-stream` or `block-commit` takes nodes out of a chain (and as
/// `qemu-img rebase -u` does): the header cluster is written anew, byte for
/// byte as QEMU writes it, and nothing else in the file changes. A name
/// over 1023 bytes, or a header that no longer fits in its cluster, is
/// refused and the file left as it was.
pub fn change_backing_file(
    path: impl AsRef<Path>,
    backing_file: Option<&str>,
    backing_format: Option<&str>,
) -> Result<(), Error> {
    let path = path.as_ref();
    let reader = file::ImageFileReader::open(path)?;
    let writer = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::os(format!("Could not open '{}'", path.display()), &e))?;
    qcow2::backing::change_backing_file(&writer, &reader, backing_file.map(|f| (f, backing_format)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("qjob-dropin-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn missing_files_are_worded_as_qemu_words_them() {
        let e = read("/nonexistent/x.img", Format::Raw).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Could not open '/nonexistent/x.img': No such file or directory"
        );
        assert_eq!(e.kind(), ErrorKind::Io);
        let dir = std::env::temp_dir();
        let e = read(&dir, Format::Qcow2).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Could not open '{}': Is a directory", dir.display())
        );
    }

    #[test]
    fn probe_wants_a_whole_qcow2_header() {
        let p = scratch("probe.img");
        let mut head = vec![0u8; 112];
        head[..8].copy_from_slice(&[0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]);
        std::fs::write(&p, &head[..100]).unwrap();
        assert_eq!(probe(&p).unwrap(), Format::Raw);
        std::fs::write(&p, &head).unwrap();
        assert_eq!(probe(&p).unwrap(), Format::Qcow2);
        head[7] = 1;
        std::fs::write(&p, &head).unwrap();
        assert_eq!(probe(&p).unwrap_err().kind(), ErrorKind::Unsupported);
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(probe(&p).unwrap(), Format::Raw);
        let e = read(&p, Format::Qcow2).unwrap_err();
        assert_eq!(e.to_string(), "Image is not in qcow2 format");
        assert_eq!(e.kind(), ErrorKind::WrongFormat);
    }

    #[test]
    fn created_images_read_back_and_convert_to_the_core_type() {
        let p = scratch("round.qcow2");
        let opts = Qcow2Options::new(1 << 30).with_backing("b.raw", "raw");
        create(&p, &CreateOptions::Qcow2(opts)).unwrap();
        let info = read_probed(&p).unwrap();
        assert_eq!(info.format, Format::Qcow2);
        assert!(info.writable_error().is_none());
        let f = info.to_image_file();
        assert_eq!(
            (f.format.as_str(), f.size, f.backing.as_deref()),
            ("qcow2", 1 << 30, Some("b.raw"))
        );
        assert!(f.data.is_empty() && f.snapshots.is_empty());

        let r = scratch("round.raw");
        create(
            &r,
            &CreateOptions::Raw(RawOptions {
                size: 1000,
                preallocation: None,
            }),
        )
        .unwrap();
        let info = read(&r, Format::Raw).unwrap();
        assert_eq!(info.virtual_size, 1024);
        // QEMU writes the first block of a new raw file.
        assert_eq!(info.data, vec![(0, 1024)]);
    }

    #[test]
    fn formatting_an_existing_file_keeps_its_tail() {
        let p = scratch("existing.img");
        std::fs::write(&p, vec![0xffu8; 1 << 20]).unwrap();
        let file = OpenOptions::new().write(true).open(&p).unwrap();
        format_qcow2(&file, &Qcow2Options::new(8 << 20)).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 1 << 20);
        // Header, refcount table and block, then the 8-byte L1 table; QEMU
        // leaves the old bytes after it.
        assert!(bytes[0x30000..0x30008].iter().all(|&b| b == 0));
        assert_eq!(bytes[0x30008], 0xff);
        let info = read(&p, Format::Qcow2).unwrap();
        assert_eq!((info.virtual_size, info.data.len()), (8 << 20, 0));
        let e = format_qcow2(&file, &Qcow2Options::new(100)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOption);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            bytes,
            "a refused format writes nothing"
        );
    }

    #[test]
    fn refused_creations_leave_no_file() {
        let p = scratch("too-big.qcow2");
        let opts = Qcow2Options {
            cluster_size: Some(512),
            ..Qcow2Options::new(1 << 40)
        };
        let e = create(&p, &CreateOptions::Qcow2(opts)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The image size is too large for file format 'qcow2' (try using a larger cluster size)"
        );
        assert!(!p.exists());
        let e = create(
            &p,
            &CreateOptions::Raw(RawOptions {
                size: 1,
                preallocation: Some(Preallocation::Full),
            }),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(!p.exists());
    }
}
