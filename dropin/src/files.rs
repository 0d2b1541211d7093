//! The host's side of the core's host-files contract: the binaries own the
//! image files, the core keeps their metadata.
//!
//! - A file the core wants read (`QmpServer::poll_file_request`,
//!   `JobManager::files_wanted`) is read with [`crate::image`] in the format
//!   its content shows (qcow2 or raw), or answered with the text QEMU gives
//!   when it cannot open it ([`read`]).
//! - A file the core may create (`FileRequest::Create`) is answered with
//!   whether its directory exists, or QEMU's `Could not create` text
//!   ([`can_create`]).
//! - A file the core created (`JobManager::poll_file_action`) is written as
//!   an empty image of the format, size and backing file it was created
//!   with, and QEMU's `Formatting ...` line is returned where QEMU prints
//!   one ([`write()`]).
//!
//! - Guest data a job copied (`FileAction::CopyData`, when a backup,
//!   mirror, commit or stream finished its copy) is copied between the
//!   image files with [`image::copy_data`]. Guest writes (`qemu-io` through
//!   the monitor) are never written to the files.

use qjob::ImageFile;
use qjob::{FileAction, FileRequest, JobManager, NewImage};

use crate::image::{
    self, CompressionType, CreateOptions, Preallocation, Qcow2Options, Qcow2Version, RawOptions,
};

/// The core's answer for the file `name` (as the command spelled it,
/// relative to the working directory): its metadata (with the file's
/// length and the bytes it takes on disk), or QEMU's open error.
pub fn read(name: &str) -> Result<ImageFile, String> {
    use std::os::unix::fs::MetadataExt;
    let info = image::read_probed(name).map_err(|e| e.message().to_owned())?;
    let mut file = info.to_image_file();
    if let Ok(m) = std::fs::metadata(name) {
        file.file_length = Some(m.len());
        file.actual_size = Some(m.blocks() * 512);
    }
    Ok(file)
}

/// Whether the file `name` can be created: its directory exists. Otherwise
/// QEMU's refusal, as `open(O_CREAT)` fails in `raw_co_create`:
/// `Could not create 'X': No such file or directory` (or `Not a
/// directory`). A directory the process cannot write to shows when the
/// file is written.
pub fn can_create(name: &str) -> Result<(), String> {
    let parent = std::path::Path::new(name)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    match std::fs::metadata(parent) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("Could not create '{name}': Not a directory")),
        Err(e) => Err(format!(
            "Could not create '{name}': {}",
            crate::chardev::strerror(&e)
        )),
    }
}

/// Answers one request of the core's: reads the file, or says whether it
/// can be created.
pub fn answer(manager: &mut JobManager, request: &FileRequest) {
    match request {
        FileRequest::Open(name) => manager.handle_file(name, read(name)),
        FileRequest::Create(name) => manager.handle_create(name, can_create(name)),
    }
}

/// Writes a file the core created, or the backing file name the core set
/// in an image's header ([`FileAction::SetBacking`], after a stream or
/// commit); returns QEMU's `Formatting ...` line (with its newline) when
/// QEMU prints one for it.
pub fn write(action: &FileAction) -> Result<Option<String>, String> {
    if let FileAction::SetBacking {
        filename,
        backing_file,
        backing_format,
    } = action
    {
        image::change_backing_file(filename, backing_file.as_deref(), backing_format.as_deref())
            .map_err(|e| e.message().to_owned())?;
        return Ok(None);
    }
    if let FileAction::CopyData {
        from,
        to,
        only_unallocated,
    } = action
    {
        let format = |l: &qjob::ImageLayer| {
            image::Format::from_driver(&l.format)
                .ok_or_else(|| format!("qjob does not copy data of '{}' images", l.format))
        };
        let from = from
            .iter()
            .map(|l| Ok((std::path::Path::new(&l.filename), format(l)?)))
            .collect::<Result<Vec<_>, String>>()?;
        image::copy_data(
            &from,
            (std::path::Path::new(&to.filename), format(to)?),
            *only_unallocated,
        )
        .map_err(|e| e.message().to_owned())?;
        return Ok(None);
    }
    let Some(new) = action.image() else {
        return Ok(None);
    };
    let opts = create_options(new)?;
    match action {
        FileAction::Create(_) => {
            image::create(&new.filename, &opts).map_err(|e| e.message().to_owned())?;
        }
        FileAction::Format(_) => {
            let CreateOptions::Qcow2(q) = &opts else {
                // A raw image over an existing file is the file itself.
                return Ok(None);
            };
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&new.filename)
                .map_err(|e| {
                    format!(
                        "Could not open '{}': {}",
                        new.filename,
                        crate::chardev::strerror(&e)
                    )
                })?;
            image::format_qcow2(&file, q).map_err(|e| e.message().to_owned())?;
        }
        FileAction::SetBacking { .. } | FileAction::CopyData { .. } => return Ok(None),
    }
    Ok(new
        .formatting_line
        .then(|| format!("{}\n", opts.formatting_line(&new.filename))))
}

/// The image options of a file the core created.
fn create_options(new: &NewImage) -> Result<CreateOptions, String> {
    let preallocation = new
        .preallocation
        .as_deref()
        .map(|p| match p {
            "off" => Ok(Preallocation::Off),
            "metadata" => Ok(Preallocation::Metadata),
            "falloc" => Ok(Preallocation::Falloc),
            "full" => Ok(Preallocation::Full),
            other => Err(format!("Invalid preallocation mode: '{other}'")),
        })
        .transpose()?;
    match new.format.as_str() {
        "qcow2" => Ok(CreateOptions::Qcow2(Qcow2Options {
            size: new.size,
            version: match new.version.as_deref() {
                None => None,
                Some("v2") => Some(Qcow2Version::V2),
                Some("v3") => Some(Qcow2Version::V3),
                Some(other) => return Err(format!("Invalid qcow2 version: '{other}'")),
            },
            cluster_size: new.cluster_size,
            extended_l2: new.extended_l2,
            preallocation,
            compression_type: match new.compression_type.as_deref() {
                None => None,
                Some("zlib") => Some(CompressionType::Zlib),
                Some("zstd") => Some(CompressionType::Zstd),
                Some(other) => return Err(format!("Invalid compression type: '{other}'")),
            },
            backing_file: new.backing_file.clone(),
            backing_fmt: new.backing_format.clone(),
            lazy_refcounts: new.lazy_refcounts,
            refcount_bits: new.refcount_bits,
        })),
        "raw" | "file" => Ok(CreateOptions::Raw(RawOptions {
            size: new.size,
            preallocation,
        })),
        other => Err(format!("qjob does not create '{other}' images")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_target_is_a_real_image_with_qemus_line() {
        let dir = std::env::temp_dir().join(format!("qjob-dropin-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("t.qcow2");
        let base = base.to_str().unwrap();
        image::create(base, &CreateOptions::Qcow2(Qcow2Options::new(1 << 20))).unwrap();
        let target = dir.join("o.qcow2");
        let target = target.to_str().unwrap().to_owned();
        let action = FileAction::Create(NewImage {
            filename: target.clone(),
            format: "qcow2".into(),
            size: 1 << 20,
            backing_file: Some(base.into()),
            backing_format: Some("qcow2".into()),
            formatting_line: true,
            ..NewImage::default()
        });
        let line = write(&action).unwrap().unwrap();
        assert_eq!(
            line,
            format!(
                "Formatting '{target}', fmt=qcow2 cluster_size=65536 extended_l2=off \
                 compression_type=zlib size=1048576 backing_file={base} backing_fmt=qcow2 \
                 lazy_refcounts=off refcount_bits=16\n"
            )
        );
        let file = read(&target).unwrap();
        assert_eq!(file.format, "qcow2");
        assert_eq!(file.size, 1 << 20);
        assert_eq!(file.backing.as_deref(), Some(base));
        assert_eq!(
            read(dir.join("none").to_str().unwrap()).unwrap_err(),
            format!(
                "Could not open '{}': No such file or directory",
                dir.join("none").display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
