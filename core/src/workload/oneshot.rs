//! Jobs that do one thing and end: `blockdev-create`, `x-blockdev-amend`,
//! `snapshot-save`, `snapshot-load`, `snapshot-delete`.
//!
//! Their progress goes from 0/1 to 1/1 whether or not the operation works; a
//! failure ends the job with QEMU's error text.

use serde::{Deserialize, Serialize};

use crate::block::{BlockdevDriver, Driver, Graph, NodeRef, Role};
use crate::driver::{Cx, Entry, JobDriver, Wait};
use crate::files::NewImage;

/// What the job does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Op {
    /// `blockdev-create` with driver `file`: a new image file.
    CreateFile { filename: String, size: u64 },
    /// `blockdev-create` with a format driver (`qcow2`) onto the node named `file`.
    CreateFormat {
        format: BlockdevDriver,
        file: String,
        image: Box<NewImage>,
    },
    /// `x-blockdev-amend` of a qcow2 node; `encrypt` asks for an encryption change.
    Amend { encrypt: bool },
    /// `snapshot-save`.
    SnapshotSave {
        tag: String,
        vmstate: String,
        devices: Vec<String>,
    },
    /// `snapshot-load`.
    SnapshotLoad {
        tag: String,
        vmstate: String,
        devices: Vec<String>,
    },
    /// `snapshot-delete`.
    SnapshotDelete { tag: String, devices: Vec<String> },
}

crate::snapshot::codec::codec_enum!(Op { CreateFile { filename, size }, CreateFormat { format, file, image }, Amend { encrypt }, SnapshotSave { tag, vmstate, devices }, SnapshotLoad { tag, vmstate, devices }, SnapshotDelete { tag, devices } });

/// State of a one-shot job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Oneshot {
    pub op: Op,
    done: bool,
}

crate::snapshot::codec::codec_struct!(Oneshot { op, done });

impl Oneshot {
    pub fn new(op: Op) -> Oneshot {
        Oneshot { op, done: false }
    }
}

impl JobDriver for Oneshot {
    fn run(&mut self, cx: &mut Cx<'_>, _entry: Entry) -> Wait {
        if self.done {
            return Wait::Done(0, None);
        }
        self.done = true;
        cx.set_remaining(1);
        let result = run(cx, &self.op);
        cx.progress(1);
        match result {
            Ok(()) => Wait::Done(0, None),
            Err((errno, text)) => Wait::Done(-errno, Some(text)),
        }
    }
}

fn not_found(name: &str) -> (i32, String) {
    (
        crate::model::EINVAL,
        format!("Cannot find device='{name}' nor node-name='{name}'"),
    )
}

/// The qcow2 image file behind a node, if the node is a qcow2 node.
fn qcow2_file(g: &Graph, n: NodeRef) -> Option<String> {
    if !matches!(g.node(n).driver, Driver::Qcow2) {
        return None;
    }
    let f = g.child(n, Role::File)?;
    match &g.node(f).driver {
        Driver::File { filename } => Some(filename.clone()),
        _ => None,
    }
}

/// Resolves the snapshot devices (node names) to the image files of their
/// qcow2 nodes, with QEMU's errors: no devices, an unknown node, a node
/// that cannot take snapshots.
fn snapshot_devices(g: &Graph, devices: &[String]) -> Result<Vec<String>, (i32, String)> {
    if devices.is_empty() {
        return Err((
            crate::model::EINVAL,
            "At least one device is required for snapshot".into(),
        ));
    }
    let mut nodes = Vec::new();
    for d in devices {
        let Some(n) = g.lookup(d) else {
            return Err((crate::model::EINVAL, format!("No block device node '{d}'")));
        };
        nodes.push((d, n));
    }
    let mut files = Vec::new();
    for (d, n) in nodes {
        match qcow2_file(g, n) {
            Some(f) => files.push(f),
            None => {
                return Err((
                    crate::model::ENOTSUP,
                    format!("Device '{d}' is writable but does not support snapshots"),
                ));
            }
        }
    }
    Ok(files)
}

/// `bdrv_all_find_vmstate_bs`: the vmstate device must be one of the
/// snapshot's devices.
fn check_vmstate(vmstate: &str, devices: &[String]) -> Result<(), (i32, String)> {
    if devices.iter().any(|d| d == vmstate) {
        Ok(())
    } else {
        Err((
            crate::model::EINVAL,
            format!("vmstate block device '{vmstate}' does not exist"),
        ))
    }
}

/// Whether any (`all: false`) or every (`all: true`) file holds `tag`.
fn has_snapshot(g: &Graph, files: &[String], tag: &str, all: bool) -> bool {
    let holds = |f: &String| {
        g.files
            .get(f)
            .is_some_and(|i| i.snapshots.iter().any(|t| t == tag))
    };
    if all {
        files.iter().all(holds)
    } else {
        files.iter().any(holds)
    }
}

fn run(cx: &mut Cx<'_>, op: &Op) -> Result<(), (i32, String)> {
    match op {
        Op::CreateFile { filename, size } => {
            // A negative QMP size arrives as its two's complement.
            if *size > i64::MAX as u64 {
                return Err((
                    crate::model::EINVAL,
                    "Could not resize file: Invalid argument".into(),
                ));
            }
            cx.graph_mut().create_image(
                NewImage {
                    filename: filename.clone(),
                    format: BlockdevDriver::File.as_str().to_owned(),
                    size: *size,
                    ..NewImage::default()
                },
                false,
            );
            Ok(())
        }
        Op::CreateFormat {
            format,
            file,
            image,
        } => {
            let (format, size, cluster_size) = (*format, image.size, image.cluster_size);
            let Some(n) = cx.graph().lookup(file) else {
                return Err(not_found(file));
            };
            // qcow2_co_create's first check.
            if format == BlockdevDriver::Qcow2 {
                // Block layer's largest image: i64::MAX rounded down to 1 GiB.
                const MAX_LENGTH: u64 = (i64::MAX as u64) & !((1 << 30) - 1);
                let cluster = cluster_size.unwrap_or(64 * 1024);
                let err = if size % 512 != 0 {
                    Some("Image size must be a multiple of 512 bytes".to_owned())
                } else if !cluster.is_power_of_two() || !(512..=2 * 1024 * 1024).contains(&cluster)
                {
                    Some("Cluster size must be a power of two between 512 and 2048k".to_owned())
                } else if size > i64::MAX as u64 {
                    Some("Could not resize image: Image size cannot be negative".to_owned())
                } else if size > MAX_LENGTH {
                    Some(format!(
                        "Could not resize image: offset({size}) exceeds maximum({MAX_LENGTH})"
                    ))
                } else {
                    None
                };
                if let Some(err) = err {
                    return Err((crate::model::EINVAL, err));
                }
            }
            let g = cx.graph_mut();
            if let Driver::File { filename } = &g.node(n).driver {
                let new = NewImage {
                    filename: filename.clone(),
                    ..(**image).clone()
                };
                g.create_image(new, true);
            } else if format == BlockdevDriver::Qcow2
                && matches!(g.node(n).driver, Driver::NullCo { read_zeroes: true })
            {
                // The header written is discarded; reading it back finds zeroes.
                return Err((crate::model::EINVAL, "Image is not in qcow2 format".into()));
            }
            Ok(())
        }
        Op::Amend { encrypt, .. } => {
            if *encrypt {
                Err((
                    crate::model::EINVAL,
                    "image is not encrypted, can't amend".into(),
                ))
            } else {
                Ok(())
            }
        }
        // save_snapshot: every check before the VM stops.
        Op::SnapshotSave {
            tag,
            vmstate,
            devices,
        } => {
            let files = snapshot_devices(cx.graph(), devices)?;
            if has_snapshot(cx.graph(), &files, tag, false) {
                return Err((
                    crate::model::EEXIST,
                    format!("Snapshot '{tag}' already exists in one or more devices"),
                ));
            }
            check_vmstate(vmstate, devices)?;
            let was_running = cx.vm_stop(crate::vm::RunState::SaveVm);
            for f in &files {
                if let Some(img) = cx.graph_mut().files.get_mut(f) {
                    img.snapshots.push(tag.clone());
                }
            }
            if was_running {
                cx.vm_start();
            }
            Ok(())
        }
        // snapshot_load_job_bh stops the VM first and restarts it only
        // after a load that succeeded.
        Op::SnapshotLoad {
            tag,
            vmstate,
            devices,
        } => {
            let was_running = cx.vm_stop(crate::vm::RunState::RestoreVm);
            let files = snapshot_devices(cx.graph(), devices)?;
            if !has_snapshot(cx.graph(), &files, tag, true) {
                return Err((
                    crate::model::ENOENT,
                    format!("Snapshot '{tag}' does not exist in one or more devices"),
                ));
            }
            check_vmstate(vmstate, devices)?;
            if was_running {
                cx.vm_start();
            }
            Ok(())
        }
        Op::SnapshotDelete { tag, devices } => {
            let files = snapshot_devices(cx.graph(), devices)?;
            for f in &files {
                if let Some(img) = cx.graph_mut().files.get_mut(f) {
                    img.snapshots.retain(|t| t != tag);
                }
            }
            Ok(())
        }
    }
}
