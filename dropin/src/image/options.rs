//! Creation options of qcow2 and raw images, and the `Formatting ...` line
//! QEMU prints when it creates an image.
//!
//! An option is `None` when it was not given: QEMU's line shows the options
//! that were given and those that have a default, in the order of the
//! format's option list (qcow2's, then the `file` protocol's).

use crate::image::Format;
use crate::image::error::{Error, ErrorKind};
use crate::image::qcow2::CompressionType;
use crate::image::qcow2::create::{DEFAULT_CLUSTER_SIZE, DEFAULT_REFCOUNT_BITS};

/// The qcow2 version to create (`compat` on the command line, `version`
/// in `blockdev-create`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qcow2Version {
    /// Version 2 (`compat=0.10`).
    V2,
    /// Version 3 (`compat=1.1`), the default.
    V3,
}

impl Qcow2Version {
    /// The `compat` value qemu-img documents for it: `0.10` or `1.1`.
    pub fn compat(self) -> &'static str {
        match self {
            Self::V2 => "0.10",
            Self::V3 => "1.1",
        }
    }
}

/// QEMU's preallocation modes. qjob creates images with `off` only (it never
/// writes data); the others are refused with a clear error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preallocation {
    /// No preallocation, the default.
    Off,
    /// Metadata for every cluster.
    Metadata,
    /// `posix_fallocate` of the whole file.
    Falloc,
    /// Zeroes written to the whole file.
    Full,
}

impl Preallocation {
    /// QEMU's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Metadata => "metadata",
            Self::Falloc => "falloc",
            Self::Full => "full",
        }
    }
}

/// qjob's refusal of a preallocation other than `off` (a preallocated image
/// holds data, which qjob never writes); `None` for `off`.
pub(crate) fn refuse_preallocation(p: Option<Preallocation>) -> Result<(), Error> {
    match p {
        None | Some(Preallocation::Off) => Ok(()),
        Some(p) => Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "qjob does not preallocate images: preallocation={} is not supported",
                p.as_str()
            ),
        )),
    }
}

/// Options for a new qcow2 image, as `qemu-img create -f qcow2 -o ...` and
/// `blockdev-create` take them. `None` means not given (QEMU's default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Qcow2Options {
    /// Virtual size in bytes.
    pub size: u64,
    /// Version 2 or 3 (default 3).
    pub version: Option<Qcow2Version>,
    /// Cluster size in bytes (default 65536).
    pub cluster_size: Option<u64>,
    /// Extended L2 entries, with 32 subclusters per cluster (default off).
    pub extended_l2: Option<bool>,
    /// Preallocation (only `off` is supported).
    pub preallocation: Option<Preallocation>,
    /// Compression type (default zlib).
    pub compression_type: Option<CompressionType>,
    /// Backing file name, written into the image as given.
    pub backing_file: Option<String>,
    /// Backing file format (`qcow2`, `raw`, ...), written into the image's
    /// backing format extension.
    pub backing_fmt: Option<String>,
    /// Lazy refcounts (default off).
    pub lazy_refcounts: Option<bool>,
    /// Refcount width in bits (default 16).
    pub refcount_bits: Option<u64>,
}

impl Qcow2Options {
    /// Options with only the size given.
    pub fn new(size: u64) -> Self {
        Self {
            size,
            ..Self::default()
        }
    }

    /// The same options with a backing file of format `fmt`.
    pub fn with_backing(mut self, file: impl Into<String>, fmt: impl Into<String>) -> Self {
        self.backing_file = Some(file.into());
        self.backing_fmt = Some(fmt.into());
        self
    }
}

/// Options for a new raw image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawOptions {
    /// Size in bytes.
    pub size: u64,
    /// Preallocation (only `off` is supported).
    pub preallocation: Option<Preallocation>,
}

/// Options for a new image of either format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOptions {
    /// A qcow2 image.
    Qcow2(Qcow2Options),
    /// A raw image.
    Raw(RawOptions),
}

impl CreateOptions {
    /// The format these options create.
    pub fn format(&self) -> Format {
        match self {
            Self::Qcow2(_) => Format::Qcow2,
            Self::Raw(_) => Format::Raw,
        }
    }

    /// The line QEMU 7.2 prints on stdout when `qemu-img create`, or a job
    /// command that creates its target (`drive-backup`, `drive-mirror`,
    /// `blockdev-snapshot-sync` in mode `absolute-paths`), creates
    /// `filename` with these options, without its newline:
    ///
    /// ```
    /// use qjob_dropin::image::{CreateOptions, Qcow2Options};
    ///
    /// let opts = CreateOptions::Qcow2(Qcow2Options::new(64 << 20).with_backing("base.img", "qcow2"));
    /// assert_eq!(
    ///     opts.formatting_line("top.img"),
    ///     "Formatting 'top.img', fmt=qcow2 cluster_size=65536 extended_l2=off \
    ///      compression_type=zlib size=67108864 backing_file=base.img backing_fmt=qcow2 \
    ///      lazy_refcounts=off refcount_bits=16"
    /// );
    /// ```
    ///
    /// Strings are printed as QEMU prints option values (a comma doubled);
    /// booleans given are printed `on` / `off`, the version as its `compat`
    /// value (`0.10`, `1.1`).
    pub fn formatting_line(&self, filename: &str) -> String {
        let mut opts: Vec<(&str, String)> = Vec::new();
        match self {
            Self::Qcow2(o) => {
                let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
                opts.push((
                    "cluster_size",
                    o.cluster_size.unwrap_or(DEFAULT_CLUSTER_SIZE).to_string(),
                ));
                opts.push(("extended_l2", on_off(o.extended_l2.unwrap_or(false))));
                if let Some(p) = o.preallocation {
                    opts.push(("preallocation", p.as_str().into()));
                }
                let compression = o.compression_type.unwrap_or(CompressionType::Zlib);
                opts.push(("compression_type", compression.as_str().into()));
                opts.push(("size", o.size.to_string()));
                if let Some(v) = o.version {
                    opts.push(("compat", v.compat().into()));
                }
                if let Some(f) = &o.backing_file {
                    opts.push(("backing_file", escaped(f)));
                }
                if let Some(f) = &o.backing_fmt {
                    opts.push(("backing_fmt", escaped(f)));
                }
                opts.push(("lazy_refcounts", on_off(o.lazy_refcounts.unwrap_or(false))));
                opts.push((
                    "refcount_bits",
                    o.refcount_bits.unwrap_or(DEFAULT_REFCOUNT_BITS).to_string(),
                ));
            }
            Self::Raw(o) => {
                opts.push(("size", o.size.to_string()));
                if let Some(p) = o.preallocation {
                    opts.push(("preallocation", p.as_str().into()));
                }
            }
        }
        let opts: Vec<String> = opts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "Formatting '{filename}', fmt={} {}",
            self.format().as_str(),
            opts.join(" ")
        )
    }
}

/// An option value as QEMU prints it: each comma doubled.
fn escaped(value: &str) -> String {
    value.replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_lines_show_the_size_and_what_was_given() {
        let raw = CreateOptions::Raw(RawOptions {
            size: 1 << 20,
            preallocation: None,
        });
        assert_eq!(
            raw.formatting_line("r.img"),
            "Formatting 'r.img', fmt=raw size=1048576"
        );
        let raw = CreateOptions::Raw(RawOptions {
            size: 512,
            preallocation: Some(Preallocation::Off),
        });
        assert_eq!(
            raw.formatting_line("r.img"),
            "Formatting 'r.img', fmt=raw size=512 preallocation=off"
        );
    }

    #[test]
    fn qcow2_lines_follow_qemus_option_order() {
        let o = Qcow2Options {
            version: Some(Qcow2Version::V2),
            cluster_size: Some(512),
            preallocation: Some(Preallocation::Off),
            compression_type: Some(CompressionType::Zstd),
            lazy_refcounts: Some(true),
            refcount_bits: Some(64),
            ..Qcow2Options::new(1024).with_backing("a,b", "raw")
        };
        assert_eq!(
            CreateOptions::Qcow2(o).formatting_line("x"),
            "Formatting 'x', fmt=qcow2 cluster_size=512 extended_l2=off preallocation=off \
             compression_type=zstd size=1024 compat=0.10 backing_file=a,,b backing_fmt=raw \
             lazy_refcounts=on refcount_bits=64"
        );
    }
}
