//! An image file opened for reading its metadata, as QEMU's `file` driver
//! sees it: reads past the end of the file return zeroes.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::image::error::Error;

/// An open image file and its length.
pub(crate) struct ImageFileReader {
    file: File,
    len: u64,
    name: String,
}

impl ImageFileReader {
    /// Opens `path` read-only. Errors as QEMU's `file` driver words them:
    /// `Could not open 'X': No such file or directory`, and for a
    /// directory `Could not open 'X': Is a directory` (QEMU opens images
    /// read-write, which a directory refuses).
    pub fn open(path: &Path) -> Result<Self, Error> {
        let name = path.display().to_string();
        let could_not_open = |e: &io::Error| Error::os(format!("Could not open '{name}'"), e);
        let mut file = File::open(path).map_err(|e| could_not_open(&e))?;
        let meta = file.metadata().map_err(|e| could_not_open(&e))?;
        if meta.is_dir() {
            return Err(could_not_open(&io::Error::from_raw_os_error(libc::EISDIR)));
        }
        // Seeking to the end also gives a block device's size.
        let len = file
            .seek(SeekFrom::End(0))
            .map_err(|e| could_not_open(&e))?;
        Ok(Self { file, len, name })
    }

    /// The file name, as it was given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// `len` bytes from `offset`, zeroes where the file ends before them.
    pub fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            let at = offset.saturating_add(done as u64);
            if at >= self.len {
                break;
            }
            match self.file.read_at(&mut buf[done..], at) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::os(format!("Could not read '{}'", self.name), &e)),
            }
        }
        Ok(buf)
    }
}
