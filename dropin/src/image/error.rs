//! The one error type of the image module, worded as QEMU 7.2 words it.

use std::fmt;
use std::io;

/// What kind of failure an [`Error`] is, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The operating system refused an open, a read or a write (`Could not
    /// open 'X': No such file or directory`).
    Io,
    /// The file is not in the format it was opened as (`Image is not in qcow2
    /// format`).
    WrongFormat,
    /// A valid image uses something QEMU 7.2 or qjob does not support: an
    /// unknown incompatible feature, an external data file, encryption.
    Unsupported,
    /// The image's metadata contradicts itself (a table at an unaligned
    /// offset, an L1 table too small for the disk, ...).
    Corrupt,
    /// A creation option QEMU refuses (a cluster size that is not a power of
    /// two, a size that is not a multiple of 512, ...).
    InvalidOption,
    /// The image would need metadata larger than qcow2 allows (QEMU's
    /// `EFBIG`): the size is too large for the cluster size.
    TooLarge,
}

/// An error from reading or creating an image file.
///
/// Its [`Display`](fmt::Display) text is the text QEMU 7.2 gives for the same
/// failure where QEMU opens or creates the file: the `desc` of a QMP error
/// (`blockdev-add`, `blockdev-create`), the text after `qemu-img: ` on the
/// command line. Texts for what only qjob refuses say so (`qjob does not ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` with the exact `message`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// QEMU's `error_setg_errno`: `message: strerror(errno)`.
    pub(crate) fn os(message: impl fmt::Display, err: &io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{message}: {}", os_error_text(err)))
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, exactly as QEMU 7.2 words it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The C library's text for an I/O error (`strerror`), as QEMU prints it:
/// Rust's own text without its ` (os error N)` tail.
pub(crate) fn os_error_text(err: &io::Error) -> String {
    let text = err.to_string();
    match err.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map(str::to_owned)
            .unwrap_or(text),
        None => text,
    }
}

/// The `errno` name QEMU passes for a failure that has no I/O error behind
/// it (`-EINVAL`, `-ENOSPC`, `-EFBIG`): the C library's text for it.
pub(crate) fn errno_text(code: i32) -> String {
    os_error_text(&io::Error::from_raw_os_error(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_read_as_strerror() {
        let e = Error::os(
            "Could not open 'x'",
            &io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(
            e.to_string(),
            "Could not open 'x': No such file or directory"
        );
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(errno_text(libc::EFBIG), "File too large");
        assert_eq!(errno_text(libc::ENOSPC), "No space left on device");
    }
}
