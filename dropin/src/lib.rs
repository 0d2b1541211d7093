//! # qjob-dropin — the pieces of qjob's drop-in QEMU binaries
//!
//! qjob's core is sans-I/O: it knows image files only as metadata in an
//! in-memory table. The drop-in binaries (which take QEMU's command line and
//! speak QMP on a socket) need the real files: this crate reads qcow2 and raw
//! images from disk into that metadata and writes the empty images that job
//! commands create, laid out as QEMU 7.2 lays them out. See [`image`].
//!
//! Data is never copied: a job in qjob moves no guest data, so the images
//! qjob creates hold metadata only, and reading an image looks at its
//! metadata (and, for raw files, which parts of the file are allocated).

#![deny(missing_docs)]

pub mod chardev;
pub mod clock;
pub mod cmdline;
pub mod files;
pub mod host;
pub mod image;
pub mod monitor;
pub mod opts;
pub mod process;
pub mod qsd;
pub mod qtest;
pub mod system;
pub mod texts;
