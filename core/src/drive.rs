//! BlockBackends and the devices that use them: QEMU's `-drive`
//! (`drive_new`: a BlockBackend named by `id`, over the nodes its options
//! open), `device_add` of a `virtio-blk` device on a drive or on a node
//! (which gets an anonymous BlockBackend), and how commands find a node
//! through a BlockBackend's name (`bdrv_lookup_bs`: the `device` of a block
//! job is a BlockBackend name first, then a node name).
//!
//! Devices do no I/O here: a device is what makes a BlockBackend a
//! "block device" in QEMU's texts and in `query-block`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::block::{Graph, NodeRef, Parent};
use crate::error::{Error, Result};
use crate::manager::JobManager;
use crate::slab::{BackendRef, Slot};

/// `if=` of a drive: the interfaces qjob's drives take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Interface {
    /// `if=none`: the drive waits for a `-device` / `device_add`.
    None,
    /// `if=virtio`: a `virtio-blk` device is made for it.
    Virtio,
    /// `if=ide`: the machine's IDE controller (the `pc` machine's: two
    /// buses of two units) makes an `ide-hd` or `ide-cd` device for it.
    Ide,
}

crate::snapshot::codec::codec_enum!(Interface { None, Virtio, Ide });

impl Interface {
    fn name(self) -> &'static str {
        match self {
            Interface::None => "none",
            Interface::Virtio => "virtio",
            Interface::Ide => "ide",
        }
    }

    /// Units per bus (`max_devs` of `drive_new`; 0: no limit).
    fn units_per_bus(self) -> i64 {
        match self {
            Interface::Ide => 2,
            Interface::None | Interface::Virtio => 0,
        }
    }
}

/// The IDE buses of the `pc` machine.
const IDE_BUSES: i64 = 2;

/// The QOM path number of the `pc` machine's first board-made IDE device
/// (`/machine/unattached/device[18]` with `-nodefaults`, as QEMU 7.2's
/// `query-block` shows it); the next ones follow in bus and unit order.
const FIRST_IDE_DEVICE: usize = 18;

/// QEMU's `DriveInfo`: where a `-drive` sits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Drive {
    pub interface: Interface,
    pub bus: i64,
    pub unit: i64,
}

crate::snapshot::codec::codec_struct!(Drive {
    interface,
    bus,
    unit
});

/// A BlockBackend: a named drive, or the anonymous one a device made for a
/// node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Backend {
    /// Its name (`-drive id=`); empty for an anonymous BlockBackend.
    pub name: String,
    /// The node it is attached to (`None`: no medium).
    pub root: Option<NodeRef>,
    /// The device it is attached to (an index of `Graph::devices`).
    pub device: Option<usize>,
    /// The `-drive` that made it.
    pub drive: Option<Drive>,
    /// Write-back caching (`cache.writeback`, default on).
    pub writeback: bool,
}

crate::snapshot::codec::codec_struct!(Backend {
    name,
    root,
    device,
    drive,
    writeback
});

/// A device with a drive.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Device {
    /// Its `id`, if given.
    pub id: Option<String>,
    /// Its type name (`virtio-blk-pci`).
    pub driver: String,
    /// Its QOM path (`/machine/peripheral/ID` or
    /// `/machine/peripheral-anon/device[N]`).
    pub path: String,
}

crate::snapshot::codec::codec_struct!(Device { id, driver, path });

impl Device {
    /// What `blk_get_attached_dev_id` names: the id of the device the
    /// BlockBackend is attached to (for virtio-blk, its inner
    /// `virtio-backend`, which has none), else its QOM path.
    pub fn attached_id(&self) -> String {
        if self.is_virtio() {
            format!("{}/virtio-backend", self.path)
        } else {
            self.id.clone().unwrap_or_else(|| self.path.clone())
        }
    }

    /// Whether it is a `virtio-blk` device.
    pub fn is_virtio(&self) -> bool {
        self.driver == "virtio-blk-pci"
    }

    /// Whether its medium can be removed (a CD-ROM drive, with a tray).
    pub fn removable(&self) -> bool {
        self.driver == "ide-cd"
    }
}

impl Graph {
    pub(crate) fn backend(&self, b: BackendRef) -> &Backend {
        &self.backends[b.pos()]
    }

    /// `blk_by_name`.
    pub(crate) fn backend_by_name(&self, name: &str) -> Option<BackendRef> {
        if name.is_empty() {
            return None;
        }
        self.backends
            .iter()
            .position(|b| b.name == name)
            .map(|i| BackendRef::at(i as u32))
    }

    /// The BlockBackends attached to a node, most recently attached first.
    pub(crate) fn node_backends(&self, n: NodeRef) -> impl Iterator<Item = BackendRef> + '_ {
        self.node(n).parents.iter().filter_map(|p| match *p {
            Parent::Backend(b) => Some(b),
            _ => None,
        })
    }

    /// `bdrv_get_device_name`: the name of the first named BlockBackend
    /// attached to the node (`""` for none).
    pub(crate) fn device_name(&self, n: NodeRef) -> &str {
        self.node_backends(n)
            .map(|b| self.backend(b).name.as_str())
            .find(|name| !name.is_empty())
            .unwrap_or("")
    }

    // For the permission texts of jobs' users (not raised by qjob yet).
    #[allow(dead_code)]
    /// `blk_root_get_parent_desc`: how QEMU's permission texts name a
    /// BlockBackend (`block device 'drive0'`, `block device
    /// '/machine/peripheral/vblk/virtio-backend'`, `an unnamed block
    /// device`).
    pub(crate) fn backend_desc(&self, b: BackendRef) -> String {
        let backend = self.backend(b);
        if !backend.name.is_empty() {
            return format!("block device '{}'", backend.name);
        }
        match backend.device {
            Some(d) => format!("block device '{}'", self.devices[d].attached_id()),
            None => "an unnamed block device".into(),
        }
    }

    /// Moves a BlockBackend to another node (`bdrv_replace_node` moving
    /// its root link).
    pub(crate) fn move_backend(&mut self, b: BackendRef, to: NodeRef) {
        let p = Parent::Backend(b);
        if let Some(old) = self.backends[b.pos()].root.take()
            && let Some(Some(node)) = self.nodes.get_mut(old.pos())
        {
            node.parents.retain(|&x| x != p);
        }
        self.insert_backend(b, to);
    }

    /// Attaches a BlockBackend to a node (`blk_insert_bs`).
    fn insert_backend(&mut self, b: BackendRef, n: NodeRef) {
        self.backends[b.pos()].root = Some(n);
        self.node_mut(n).parents.insert(0, Parent::Backend(b));
    }
}

/// The `-drive` options, sorted out as `drive_new` sorts them: the
/// drive's own (interface, address, name, cache) and the options of the
/// nodes it opens.
pub(crate) struct DriveOptions {
    pub id: Option<String>,
    pub interface: Interface,
    pub bus: i64,
    pub unit: i64,
    pub index: i64,
    pub writeback: bool,
    /// `media=cdrom`.
    pub cdrom: bool,
    /// `cache.direct` and `cache.no-flush` (inherited by every node the
    /// drive opens).
    pub direct: bool,
    pub no_flush: bool,
    /// The nodes to open, as `BlockdevOptions` with command-line strings;
    /// without `driver` at the top when the format is probed. Empty for a
    /// drive without medium.
    pub node: Map<String, Value>,
}

/// `-drive` keys QEMU renames (`drive_new`'s legacy names).
const RENAMES: &[(&str, &str)] = &[
    ("iops", "throttling.iops-total"),
    ("iops_rd", "throttling.iops-read"),
    ("iops_wr", "throttling.iops-write"),
    ("bps", "throttling.bps-total"),
    ("bps_rd", "throttling.bps-read"),
    ("bps_wr", "throttling.bps-write"),
    ("iops_max", "throttling.iops-total-max"),
    ("iops_rd_max", "throttling.iops-read-max"),
    ("iops_wr_max", "throttling.iops-write-max"),
    ("bps_max", "throttling.bps-total-max"),
    ("bps_rd_max", "throttling.bps-read-max"),
    ("bps_wr_max", "throttling.bps-write-max"),
    ("iops_size", "throttling.iops-size"),
    ("group", "throttling.group"),
    ("readonly", "read-only"),
];

/// The interfaces of `if=`, in QEMU's order.
const INTERFACES: &[&str] = &[
    "none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen",
];

/// Flattens nested options into dotted keys with string values, as QEMU
/// holds `-drive` options.
fn flatten(prefix: &str, o: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in o {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(c) => flatten(&key, c, out),
            Value::String(s) => out.push((key, s.clone())),
            Value::Bool(b) => out.push((key, if *b { "on" } else { "off" }.into())),
            Value::Null => {}
            other => out.push((key, crate::qmp::json::to_text(other))),
        }
    }
}

/// Takes the value of `key` out of the options.
fn take(opts: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let i = opts.iter().rposition(|(k, _)| k == key)?;
    let v = opts.remove(i).1;
    opts.retain(|(k, _)| k != key);
    Some(v)
}

fn number(opts: &mut Vec<(String, String)>, key: &str, default: i64) -> Result<i64> {
    match take(opts, key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| Error::generic(format!("Parameter '{key}' expects a number"))),
    }
}

fn boolean(opts: &mut Vec<(String, String)>, key: &str) -> Result<Option<bool>> {
    match take(opts, key).as_deref() {
        None => Ok(None),
        Some("on" | "yes" | "true" | "y") => Ok(Some(true)),
        Some("off" | "no" | "false" | "n") => Ok(Some(false)),
        Some(_) => Err(Error::generic(format!(
            "Parameter '{key}' expects 'on' or 'off'"
        ))),
    }
}

/// Puts a dotted key into a nested object.
fn insert_dotted(o: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            o.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = o
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(c) = child {
                insert_dotted(c, rest, value);
            }
        }
    }
}

/// The protocol node a file name opens (`bdrv_find_protocol`): `null-co://`
/// and `null-aio://`, `blkdebug:CONFIG:IMAGE`, else a host file.
pub(crate) fn protocol_node(filename: &str) -> Result<Map<String, Value>> {
    let mut o = Map::new();
    let prefix_end = filename.find([':', '/', '\\']);
    let protocol = match prefix_end {
        Some(i) if filename[i..].starts_with(':') => Some(&filename[..i]),
        _ => None,
    };
    match protocol {
        None => {
            o.insert("driver".into(), "file".into());
            o.insert("filename".into(), filename.into());
        }
        Some(p @ ("null-co" | "null-aio")) => {
            o.insert("driver".into(), p.into());
        }
        Some("blkdebug") => {
            o.insert("driver".into(), "blkdebug".into());
            blkdebug_filename(&mut o, filename)?;
        }
        Some("file") => {
            o.insert("driver".into(), "file".into());
            o.insert("filename".into(), filename["file:".len()..].into());
        }
        Some(p) => return Err(Error::generic(format!("Unknown protocol '{p}'"))),
    }
    Ok(o)
}

/// blkdebug's file name: `blkdebug:[CONFIG]:IMAGE`, the image opened as a
/// protocol node of its own.
fn blkdebug_filename(o: &mut Map<String, Value>, filename: &str) -> Result<()> {
    let Some(rest) = filename.strip_prefix("blkdebug:") else {
        return Err(Error::generic("Invalid filename"));
    };
    let Some((_config, image)) = rest.split_once(':') else {
        return Err(Error::generic("Invalid format (':' expected)"));
    };
    o.insert("image".into(), Value::Object(protocol_node(image)?));
    Ok(())
}

/// Merges `extra` (options given as `file.*`) into `base`.
fn merge(base: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (k, v) in extra {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(e)) => merge(b, e),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Children given by file name only (`file.file.filename=X`): their
/// protocol driver comes from the name, as `bdrv_open` finds it.
fn protocols_of_filenames(o: &mut Map<String, Value>) -> Result<()> {
    for (k, v) in o.iter_mut() {
        let Value::Object(child) = v else { continue };
        if k == "cache" {
            continue;
        }
        if !child.contains_key("driver")
            && let Some(Value::String(f)) = child.get("filename").cloned()
        {
            child.remove("filename");
            let mut proto = protocol_node(&f)?;
            merge(&mut proto, std::mem::take(child));
            *child = proto;
        }
        protocols_of_filenames(child)?;
    }
    Ok(())
}

/// `bdrv_open`'s refusal of an option a driver does not have, in place of
/// the visitor's `Parameter 'file.x' is unexpected`.
fn unsupported_option(node: &Map<String, Value>, e: Error) -> Error {
    let Some(path) = e
        .desc
        .strip_prefix("Parameter '")
        .and_then(|r| r.strip_suffix("' is unexpected"))
    else {
        return e;
    };
    let mut obj = node;
    let mut parts: Vec<&str> = path.split('.').collect();
    let option = parts.pop().unwrap_or_default();
    for p in parts {
        match obj.get(p) {
            Some(Value::Object(c)) => obj = c,
            _ => return e,
        }
    }
    let driver = obj.get("driver").and_then(Value::as_str).unwrap_or("");
    Error::generic(if is_protocol(driver) {
        format!("Block protocol '{driver}' doesn't support the option '{option}'")
    } else {
        format!("Block format '{driver}' does not support the option '{option}'")
    })
}

/// Block drivers that are protocols: they take a file name themselves.
fn is_protocol(driver: &str) -> bool {
    matches!(
        driver,
        "file" | "host_device" | "host_cdrom" | "null-co" | "null-aio" | "blkdebug" | "nbd"
    )
}

/// The host file of a `-drive` node's inline `file` child (through
/// `blkdebug`), as the name its backing file is relative to.
fn image_filename(file: Option<&Value>) -> Option<String> {
    let Some(Value::Object(o)) = file else {
        return None;
    };
    match o.get("driver").and_then(Value::as_str)? {
        "file" => o.get("filename").and_then(Value::as_str).map(str::to_owned),
        "blkdebug" => image_filename(o.get("image")),
        _ => None,
    }
}

impl DriveOptions {
    /// `drive_new`'s reading of the options (flat `key=value` strings, or
    /// nested objects), with its checks and texts.
    pub fn parse(given: &Map<String, Value>) -> Result<DriveOptions> {
        let mut opts = Vec::new();
        flatten("", given, &mut opts);
        for &(from, to) in RENAMES {
            if opts.iter().any(|(k, _)| k == from) {
                if opts.iter().any(|(k, _)| k == to) {
                    return Err(Error::generic(format!(
                        "'{to}' and its alias '{from}' can't be used at the same time"
                    )));
                }
                for (k, _) in opts.iter_mut().filter(|(k, _)| k == from) {
                    *k = to.to_owned();
                }
            }
        }
        if let Some(mode) = take(&mut opts, "cache") {
            // bdrv_parse_cache_mode: (writeback, direct, no-flush).
            let (wb, direct, no_flush) = match mode.as_str() {
                "off" | "none" => (true, true, false),
                "directsync" => (false, true, false),
                "writeback" => (true, false, false),
                "unsafe" => (true, false, true),
                "writethrough" => (false, false, false),
                _ => return Err(Error::generic("invalid cache option")),
            };
            let on_off = |b: bool| if b { "on" } else { "off" }.to_owned();
            for (key, v) in [
                ("cache.writeback", wb),
                ("cache.direct", direct),
                ("cache.no-flush", no_flush),
            ] {
                if !opts.iter().any(|(k, _)| k == key) {
                    opts.push((key.to_owned(), on_off(v)));
                }
            }
        }
        // The legacy options.
        let bus = number(&mut opts, "bus", 0)?;
        let unit = number(&mut opts, "unit", -1)?;
        let index = number(&mut opts, "index", -1)?;
        let cdrom = match take(&mut opts, "media").as_deref() {
            None | Some("disk") => false,
            Some("cdrom") => true,
            Some(media) => return Err(Error::generic(format!("'{media}' invalid media"))),
        };
        let interface = match take(&mut opts, "if") {
            None => Interface::None,
            Some(v) => match v.as_str() {
                "none" => Interface::None,
                "virtio" => Interface::Virtio,
                "ide" => Interface::Ide,
                other if INTERFACES.contains(&other) => {
                    return Err(Error::generic(format!(
                        "qjob models drives with if=none, if=virtio and if=ide only, not if={other}"
                    )));
                }
                other => {
                    return Err(Error::generic(format!("unsupported bus type '{other}'")));
                }
            },
        };
        let file = take(&mut opts, "file");
        // The common options (blockdev_init).
        let id = take(&mut opts, "id");
        boolean(&mut opts, "snapshot")?;
        if let Some(aio) = take(&mut opts, "aio")
            && !matches!(aio.as_str(), "threads" | "native" | "io_uring")
        {
            return Err(Error::generic("invalid aio option"));
        }
        let writeback = boolean(&mut opts, "cache.writeback")?.unwrap_or(true);
        let direct = boolean(&mut opts, "cache.direct")?.unwrap_or(false);
        let no_flush = boolean(&mut opts, "cache.no-flush")?.unwrap_or(false);
        let format = take(&mut opts, "format");
        for (key, what) in [("werror", "write"), ("rerror", "read")] {
            if let Some(v) = take(&mut opts, key)
                && !matches!(v.as_str(), "ignore" | "report" | "stop" | "enospc")
            {
                return Err(Error::generic(format!("'{v}' invalid {what} error action")));
            }
        }
        boolean(&mut opts, "read-only")?;
        boolean(&mut opts, "copy-on-read")?;
        for key in ["stats-account-invalid", "stats-account-failed"] {
            boolean(&mut opts, key)?;
        }
        opts.retain(|(k, _)| !k.starts_with("throttling.") && !k.starts_with("stats-intervals."));
        let mut tree = Map::new();
        for (k, v) in opts {
            insert_dotted(&mut tree, &k, Value::String(v));
        }
        if format.is_some() && tree.contains_key("driver") {
            return Err(Error::generic("Cannot specify both 'driver' and 'format'"));
        }
        if let Some(f) = format {
            tree.insert("driver".into(), f.into());
        }
        let file = file.filter(|f| !f.is_empty());
        let driver = tree
            .get("driver")
            .and_then(Value::as_str)
            .map(str::to_owned);
        // Only the drive's own options left: a drive without medium.
        let only_cache = tree.keys().all(|k| k == "detect-zeroes");
        let node = match (file, driver) {
            (None, None) if only_cache => Map::new(),
            (None, None) => {
                return Err(Error::generic("Must specify either driver or file"));
            }
            (None, Some(_)) => tree,
            (Some(f), Some(d)) if is_protocol(&d) => {
                match d.as_str() {
                    "blkdebug" => blkdebug_filename(&mut tree, &f)?,
                    "file" | "host_device" | "host_cdrom" => {
                        tree.insert("filename".into(), f.into());
                    }
                    _ => {}
                }
                tree
            }
            (Some(f), _) => {
                let mut proto = protocol_node(&f)?;
                if let Some(Value::Object(extra)) = tree.remove("file") {
                    merge(&mut proto, extra);
                }
                tree.insert("file".into(), Value::Object(proto));
                tree
            }
        };
        let mut node = node;
        protocols_of_filenames(&mut node)?;
        Ok(DriveOptions {
            id,
            interface,
            bus,
            unit,
            index,
            writeback,
            cdrom,
            direct,
            no_flush,
            node,
        })
    }
}

impl JobManager {
    /// QEMU's `-drive` (`drive_new`): opens the nodes the options name and
    /// puts a BlockBackend named `id` over them, as in `qemu-system-*`.
    ///
    /// `opts` are the option's `key=value` pairs (strings, as QEMU holds
    /// them; nested objects and JSON numbers and booleans are taken as
    /// their dotted keys and text): `file`, `format` or `driver`, `id`
    /// (default `none0`, `virtio0`, … by interface and unit), `if` (`none`,
    /// or `virtio`, which adds a `virtio-blk` device, in a machine with a
    /// PCI bus), `node-name`, `cache` and `cache.*`, `aio`, `read-only`,
    /// `bus`/`unit`/`index`, the `file.*` options of the nodes below, and
    /// file names with the `null-co://` and `blkdebug:` protocols. A file
    /// given without a format is probed (its image's format). Errors are
    /// QEMU's (a drive binary prefixes them with the program name and the
    /// option); nothing is left behind by a refused drive.
    pub fn drive_add(&mut self, opts: &Map<String, Value>) -> Result<()> {
        let d = DriveOptions::parse(opts)?;
        let result = self.drive_new(d);
        self.files_done();
        result
    }

    fn drive_new(&mut self, d: DriveOptions) -> Result<()> {
        let DriveOptions {
            id,
            interface,
            bus,
            unit,
            index,
            writeback,
            cdrom,
            direct,
            no_flush,
            mut node,
        } = d;
        let (mut bus, mut unit) = (bus, unit);
        let max_devs = interface.units_per_bus();
        if index != -1 {
            if bus != 0 || unit != -1 {
                return Err(Error::generic("index cannot be used with bus and unit"));
            }
            (bus, unit) = if max_devs == 0 {
                (0, index)
            } else {
                (index / max_devs, index % max_devs)
            };
        }
        let taken = |g: &Graph, bus: i64, unit: i64| {
            g.backends.iter().any(|b| {
                b.drive
                    .as_ref()
                    .is_some_and(|d| d.interface == interface && d.bus == bus && d.unit == unit)
            })
        };
        if unit == -1 {
            unit = 0;
            while taken(&self.graph, bus, unit) {
                unit += 1;
                if max_devs != 0 && unit >= max_devs {
                    unit -= max_devs;
                    bus += 1;
                }
            }
        }
        if max_devs != 0 && unit >= max_devs {
            return Err(Error::generic(format!(
                "unit {unit} too big (max is {})",
                max_devs - 1
            )));
        }
        if taken(&self.graph, bus, unit) {
            return Err(Error::generic(format!(
                "drive with bus={bus}, unit={unit} (index={index}) exists"
            )));
        }
        if let Some(id) = &id
            && self
                .graph
                .backends
                .iter()
                .any(|b| b.drive.is_some() && b.name == *id)
        {
            return Err(Error::generic(format!("Duplicate ID '{id}' for drive")));
        }
        let name = id.unwrap_or_else(|| match interface {
            Interface::Ide => format!("ide{bus}-{}{unit}", if cdrom { "cd" } else { "hd" }),
            _ => format!("{}{unit}", interface.name()),
        });
        match interface {
            Interface::Virtio => self.require_pci_bus()?,
            // drive_check_orphaned: a drive no IDE controller takes.
            Interface::Ide if !self.pci || bus >= IDE_BUSES => {
                return Err(Error::generic(format!(
                    "machine type does not support if=ide,bus={bus},unit={unit}"
                )));
            }
            _ => {}
        }
        // A probed format: the image's own.
        if !node.is_empty() && !node.contains_key("driver") {
            let file = node.get("file").and_then(Value::as_object);
            let format = match file.and_then(|f| f.get("filename")).and_then(Value::as_str) {
                Some(f) if file.and_then(|f| f.get("driver")) == Some(&"file".into()) => {
                    match self.graph.open_image(f)?.format {
                        Some(crate::block::BlockdevDriver::Qcow2) => "qcow2",
                        _ => "raw",
                    }
                }
                _ => "raw",
            };
            node.insert("driver".into(), format.into());
        }
        self.complete_backing(&mut node)?;
        let mut created = Vec::new();
        let root = if node.is_empty() {
            None
        } else {
            let mut a = crate::qmp::args::Args::keyval(&node, "");
            let parsed = crate::qmp::nodes::parse_node(&mut a)
                .and_then(|o| {
                    a.finish()?;
                    Ok(o)
                })
                .map_err(|e| unsupported_option(&node, e))?;
            match self.open_node(&parsed, &mut created) {
                Ok(n) => Some(n),
                Err(e) => {
                    self.delete_created(created);
                    return Err(e);
                }
            }
        };
        // monitor_add_blk
        let refused = if !crate::model::id_wellformed(&name) {
            Some(Error::generic("Invalid device name"))
        } else if self.graph.backend_by_name(&name).is_some() {
            Some(Error::generic(format!(
                "Device with id '{name}' already exists"
            )))
        } else if self.graph.lookup(&name).is_some() {
            Some(Error::generic(format!(
                "Device name '{name}' conflicts with an existing node name"
            )))
        } else {
            None
        };
        if let Some(e) = refused {
            self.delete_created(created);
            return Err(e);
        }
        for &n in &created {
            let node = self.graph.node_mut(n);
            node.cache_direct = direct;
            node.cache_no_flush = no_flush;
        }
        let b = BackendRef::at(self.graph.backends.len() as u32);
        self.graph.backends.push(Backend {
            name: name.clone(),
            root: None,
            device: None,
            drive: Some(Drive {
                interface,
                bus,
                unit,
            }),
            writeback,
        });
        if let Some(n) = root {
            self.graph.insert_backend(b, n);
        }
        match interface {
            Interface::Virtio => {
                let path = self.device_path(None);
                self.attach_device(None, path, "virtio-blk-pci", b);
            }
            Interface::Ide => {
                let driver = if cdrom { "ide-cd" } else { "ide-hd" };
                self.attach_device(None, String::new(), driver, b);
                self.number_ide_devices();
            }
            Interface::None => {}
        }
        Ok(())
    }

    /// `bdrv_open_backing_file` for `-drive`'s partial `backing.*` options
    /// (`backing.node-name=mid`, without a driver, which only `-drive` can
    /// give): the backing node opens the image's backing file, in the
    /// format the image names (else probed), with the options given; the
    /// same for `backing.backing.*` below it. Options that name a driver,
    /// or a `file.filename`, are taken as they are.
    fn complete_backing(&self, node: &mut Map<String, Value>) -> Result<()> {
        if node.get("driver").and_then(Value::as_str) != Some("qcow2") {
            return Ok(());
        }
        let overlay = image_filename(node.get("file"));
        let Some(Value::Object(backing)) = node.get_mut("backing") else {
            return Ok(());
        };
        let has_filename =
            matches!(backing.get("file"), Some(Value::Object(f)) if f.contains_key("filename"));
        if !backing.contains_key("driver") && !has_filename {
            let img = match &overlay {
                Some(f) => Some(self.graph.open_image(f)?),
                None => None,
            };
            let (Some(overlay), Some(img), Some(file)) =
                (&overlay, img, img.and_then(|i| i.backing.as_deref()))
            else {
                return Err(Error::generic(
                    "qjob opens -drive's 'backing.*' options only for the backing file a qcow2 image names",
                ));
            };
            let path = crate::files::backing_path(overlay, file);
            let format = match img.backing_format {
                Some(f) => f,
                None => match self.graph.open_image(&path)?.format {
                    Some(crate::block::BlockdevDriver::Qcow2) => {
                        crate::block::BlockdevDriver::Qcow2
                    }
                    _ => crate::block::BlockdevDriver::Raw,
                },
            };
            backing.insert("driver".into(), format.as_str().into());
            let mut proto = protocol_node(&path)?;
            if let Some(Value::Object(extra)) = backing.remove("file") {
                merge(&mut proto, extra);
            }
            backing.insert("file".into(), Value::Object(proto));
        }
        self.complete_backing(backing)
    }

    /// The QOM paths of the IDE devices: the board makes them once every
    /// drive is known, in bus and unit order, numbered after the machine's
    /// own devices.
    fn number_ide_devices(&mut self) {
        let mut ide: Vec<(i64, i64, usize)> = self
            .graph
            .backends
            .iter()
            .filter_map(|b| {
                let d = b.drive.as_ref().filter(|d| d.interface == Interface::Ide)?;
                Some((d.bus, d.unit, b.device?))
            })
            .collect();
        crate::sort::sort_by(&mut ide, |a, b| a < b);
        for (i, (_, _, dev)) in ide.into_iter().enumerate() {
            self.graph.devices[dev].path =
                format!("/machine/unattached/device[{}]", FIRST_IDE_DEVICE + i);
        }
    }

    /// Deletes the nodes a refused open created.
    pub(crate) fn delete_created(&mut self, created: Vec<NodeRef>) {
        for n in created.into_iter().rev() {
            self.delete_node(n);
        }
    }

    fn require_pci_bus(&self) -> Result<()> {
        if self.pci {
            Ok(())
        } else {
            Err(Error::generic(
                "No 'PCI' bus found for device 'virtio-blk-pci'",
            ))
        }
    }

    /// The QOM path of a new device (`qdev_set_id`): a device without an
    /// id takes the next anonymous number, even if its creation fails
    /// later.
    fn device_path(&mut self, id: Option<&str>) -> String {
        match id {
            Some(id) => format!("/machine/peripheral/{id}"),
            None => {
                let n = self.graph.anonymous_devices;
                self.graph.anonymous_devices += 1;
                format!("/machine/peripheral-anon/device[{n}]")
            }
        }
    }

    /// A new device on BlockBackend `b`.
    fn attach_device(&mut self, id: Option<String>, path: String, driver: &str, b: BackendRef) {
        self.graph.devices.push(Device {
            id,
            driver: driver.into(),
            path,
        });
        self.graph.backends[b.pos()].device = Some(self.graph.devices.len() - 1);
    }

    /// `device_add` of the device types qjob models: `virtio-blk` (in a
    /// machine with a PCI bus), a `virtio-scsi` controller (PCI too; its
    /// SCSI bus is `ID.0`, or `scsi.N` for one without an id) and a
    /// `scsi-hd` disk on a SCSI bus (`bus`, else the first one). For the
    /// disks, `drive` names a drive (a BlockBackend name) or a node, which
    /// then gets an anonymous BlockBackend; `id` names the device. Other
    /// properties of theirs are accepted and have no effect.
    pub fn device_add(&mut self, opts: &Map<String, Value>) -> Result<()> {
        let driver = match opts.get("driver") {
            Some(Value::String(d)) => d.as_str(),
            Some(_) => return Err(Error::invalid_type("driver", "string")),
            None => return Err(Error::missing_parameter("driver")),
        };
        if !self.machine {
            return Err(Error::command_not_found("device_add"));
        }
        // The devices qjob models: other names are unknown models here.
        let model = match driver {
            "virtio-blk" | "virtio-blk-pci" => Model::VirtioBlk,
            "virtio-scsi" | "virtio-scsi-pci" => Model::VirtioScsi,
            "scsi-hd" => Model::ScsiHd,
            _ => {
                return Err(Error::generic(format!(
                    "'{driver}' is not a valid device model name"
                )));
            }
        };
        // The bus, found before the device is made.
        match model {
            Model::VirtioBlk => self.require_pci_bus()?,
            Model::VirtioScsi if !self.pci => {
                return Err(Error::generic(
                    "No 'PCI' bus found for device 'virtio-scsi-pci'",
                ));
            }
            Model::VirtioScsi => {}
            Model::ScsiHd => {
                let buses = self.scsi_buses();
                match opts.get("bus") {
                    Some(Value::String(bus)) if !buses.contains(bus) => {
                        return Err(Error::generic(format!("Bus '{bus}' not found")));
                    }
                    Some(Value::String(_)) => {}
                    Some(_) => return Err(Error::invalid_type("bus", "string")),
                    None if buses.is_empty() => {
                        return Err(Error::generic("No 'SCSI' bus found for device 'scsi-hd'"));
                    }
                    None => {}
                }
            }
        }
        let id = match opts.get("id") {
            None => None,
            Some(Value::String(id)) => {
                if !crate::model::id_wellformed(id) {
                    return Err(Error::generic("Parameter 'id' expects an identifier"));
                }
                if self
                    .graph
                    .devices
                    .iter()
                    .any(|d| d.id.as_deref() == Some(id))
                {
                    return Err(Error::generic(format!("Duplicate device ID '{id}'")));
                }
                Some(id.clone())
            }
            Some(_) => return Err(Error::invalid_type("id", "string")),
        };
        let path = self.device_path(id.as_deref());
        let mut drive = None;
        for (k, v) in opts {
            match k.as_str() {
                "driver" | "id" | "bus" => {}
                "addr" if model != Model::ScsiHd => {}
                "drive" if model != Model::VirtioScsi => {
                    drive = Some(match v {
                        Value::String(s) => s.clone(),
                        _ => return Err(Error::invalid_type("drive", "string")),
                    })
                }
                k if model.properties().contains(&k) => {}
                other => {
                    return Err(Error::generic(format!(
                        "Property '{}.{other}' not found",
                        model.type_name()
                    )));
                }
            }
        }
        if model == Model::VirtioScsi {
            self.graph.devices.push(Device {
                id,
                driver: model.type_name().into(),
                path,
            });
            return Ok(());
        }
        let Some(drive) = drive.filter(|d| !d.is_empty()) else {
            return Err(Error::generic("drive property not set"));
        };
        let b = match self.graph.backend_by_name(&drive) {
            Some(b) => b,
            None => match self.graph.lookup(&drive) {
                Some(n) => {
                    let b = BackendRef::at(self.graph.backends.len() as u32);
                    self.graph.backends.push(Backend {
                        name: String::new(),
                        root: None,
                        device: None,
                        drive: None,
                        writeback: true,
                    });
                    self.graph.insert_backend(b, n);
                    b
                }
                None => {
                    return Err(Error::generic(format!(
                        "Property '{}.drive' can't find value '{drive}'",
                        model.drive_owner()
                    )));
                }
            },
        };
        let backend = self.graph.backend(b);
        if backend.device.is_some() {
            return Err(Error::generic(match &backend.drive {
                Some(d) if d.interface != Interface::None => format!(
                    "Drive '{drive}' is already in use because it has been automatically \
                     connected to another device (did you need 'if=none' in the drive options?)"
                ),
                _ => format!("Drive '{drive}' is already in use by another device"),
            }));
        }
        if backend.root.is_none() {
            return Err(Error::generic("Device needs media, but drive is empty"));
        }
        self.attach_device(id, path, model.type_name(), b);
        Ok(())
    }

    /// The SCSI buses of the `virtio-scsi` controllers, oldest first:
    /// `ID.0`, or `scsi.N` for the N-th controller without an id.
    fn scsi_buses(&self) -> Vec<String> {
        let mut anonymous = 0;
        let mut buses = Vec::new();
        for d in self
            .graph
            .devices
            .iter()
            .filter(|d| d.driver == "virtio-scsi-pci")
        {
            buses.push(match &d.id {
                Some(id) => format!("{id}.0"),
                None => {
                    anonymous += 1;
                    format!("scsi.{}", anonymous - 1)
                }
            });
        }
        buses
    }

    /// Makes the machine one with a PCI bus (QEMU's default `pc` machine)
    /// or one without (`-machine none`); implies
    /// [`set_machine`](Self::set_machine) on. `virtio-blk` devices
    /// (`device_add`, `-drive if=virtio`) need the PCI bus.
    pub fn set_pci_bus(&mut self, on: bool) {
        self.machine = true;
        self.pci = on;
    }
}

/// The device types `device_add` makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Model {
    VirtioBlk,
    VirtioScsi,
    ScsiHd,
}

impl Model {
    /// Its QOM type name.
    fn type_name(self) -> &'static str {
        match self {
            Model::VirtioBlk => "virtio-blk-pci",
            Model::VirtioScsi => "virtio-scsi-pci",
            Model::ScsiHd => "scsi-hd",
        }
    }

    /// The device whose `drive` property names the drive (virtio-blk's
    /// inner device).
    fn drive_owner(self) -> &'static str {
        match self {
            Model::VirtioBlk => "virtio-blk-device",
            _ => self.type_name(),
        }
    }

    /// Its other properties, accepted and ignored.
    fn properties(self) -> &'static [&'static str] {
        match self {
            Model::VirtioBlk => VIRTIO_BLK_PROPERTIES,
            Model::VirtioScsi => &["num_queues", "virtqueue_size", "iothread", "max_sectors"],
            Model::ScsiHd => &[
                "scsi-id", "lun", "channel", "serial", "share-rw", "werror", "rerror",
            ],
        }
    }
}

/// The properties of a `virtio-blk-pci` device qjob accepts and ignores.
const VIRTIO_BLK_PROPERTIES: &[&str] = &[
    "serial",
    "num-queues",
    "queue-size",
    "iothread",
    "logical_block_size",
    "physical_block_size",
    "min_io_size",
    "opt_io_size",
    "discard_granularity",
    "write-cache",
    "share-rw",
    "werror",
    "rerror",
    "config-wce",
    "scsi",
    "request-merging",
    "seg-max-adjust",
    "discard",
    "write-zeroes",
    "max-discard-sectors",
    "max-write-zeroes-sectors",
    "x-enable-wce-if-config-wce",
    "vectors",
    "ioeventfd",
    "disable-legacy",
    "disable-modern",
    "event_idx",
    "indirect_desc",
    "packed",
    "multifunction",
    "romfile",
    "rombar",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageFile;
    use serde_json::json;

    fn opts(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect()
    }

    /// The refusals of `-drive`, worded as `qemu-system-x86_64` 7.2.22
    /// words them (each checked against it: `-drive OPTS`).
    #[test]
    fn refusals_are_qemus() {
        let mut m = JobManager::with_default_world();
        m.set_pci_bus(true);
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("driver", "null-co"), ("format", "raw")],
                "Cannot specify both 'driver' and 'format'",
            ),
            (
                &[("driver", "null-co"), ("cache", "bogus")],
                "invalid cache option",
            ),
            (
                &[("driver", "null-co"), ("aio", "bogus")],
                "invalid aio option",
            ),
            (
                &[("driver", "null-co"), ("index", "1"), ("unit", "0")],
                "index cannot be used with bus and unit",
            ),
            (
                &[("if", "bogus"), ("driver", "null-co")],
                "unsupported bus type 'bogus'",
            ),
            (
                &[("driver", "null-co"), ("media", "tape")],
                "'tape' invalid media",
            ),
            (
                &[("driver", "null-co"), ("werror", "bogus")],
                "'bogus' invalid write error action",
            ),
            (
                &[
                    ("readonly", "on"),
                    ("read-only", "on"),
                    ("driver", "null-co"),
                ],
                "'read-only' and its alias 'readonly' can't be used at the same time",
            ),
            (
                &[("file", "nosuch.img")],
                "Could not open 'nosuch.img': No such file or directory",
            ),
            (&[("file", "foo:bar")], "Unknown protocol 'foo'"),
            (
                &[("id", "src"), ("driver", "null-co")],
                "Device name 'src' conflicts with an existing node name",
            ),
            (
                &[("driver", "null-co"), ("bogus", "1")],
                "Block protocol 'null-co' doesn't support the option 'bogus'",
            ),
            (
                &[("driver", "qcow2"), ("file.driver", "null-co")],
                "Image is not in qcow2 format",
            ),
        ];
        for (o, text) in cases {
            let mut o = opts(o);
            o.entry("if").or_insert_with(|| "none".into());
            let e = m.drive_add(&o).unwrap_err();
            assert_eq!(e.desc, *text, "{o:?}");
        }
        // Nothing was left behind.
        assert!(m.graph.backends.is_empty());
        assert_eq!(m.graph.live().count(), 4);
        m.drive_add(&opts(&[("if", "none"), ("id", "x"), ("driver", "null-co")]))
            .unwrap();
        let e = m
            .drive_add(&opts(&[("if", "none"), ("id", "x"), ("driver", "null-co")]))
            .unwrap_err();
        assert_eq!(e.desc, "Duplicate ID 'x' for drive");
    }

    /// IDE drives: the `pc` machine's two buses of two units, default
    /// names by bus, medium and unit, and the refusals
    /// `qemu-system-x86_64` 7.2.22 gives (`-drive if=ide,media=cdrom,...`).
    #[test]
    fn ide_drives_sit_on_two_buses_of_two_units() {
        let cd = |extra: &[(&str, &str)]| {
            let mut o = opts(&[("if", "ide"), ("media", "cdrom")]);
            o.extend(opts(extra));
            o
        };
        let mut m = JobManager::with_default_world();
        m.set_pci_bus(false);
        let e = m.drive_add(&cd(&[])).unwrap_err();
        assert_eq!(e.desc, "machine type does not support if=ide,bus=0,unit=0");
        let mut m = JobManager::with_default_world();
        m.set_pci_bus(true);
        assert_eq!(
            m.drive_add(&cd(&[("unit", "2")])).unwrap_err().desc,
            "unit 2 too big (max is 1)"
        );
        assert_eq!(
            m.drive_add(&cd(&[("bus", "2")])).unwrap_err().desc,
            "machine type does not support if=ide,bus=2,unit=0"
        );
        m.drive_add(&cd(&[])).unwrap();
        m.drive_add(&cd(&[])).unwrap();
        m.drive_add(&cd(&[("id", "x"), ("index", "3")])).unwrap();
        m.drive_add(&opts(&[("if", "ide"), ("driver", "null-co")]))
            .unwrap();
        let names: Vec<_> = m.graph.backends.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["ide0-cd0", "ide0-cd1", "x", "ide1-hd0"]);
        let paths: Vec<_> = m.graph.devices.iter().map(|d| d.attached_id()).collect();
        assert_eq!(
            paths,
            [
                "/machine/unattached/device[18]",
                "/machine/unattached/device[19]",
                "/machine/unattached/device[21]",
                "/machine/unattached/device[20]",
            ]
        );
        assert_eq!(
            m.drive_add(&cd(&[])).unwrap_err().desc,
            "machine type does not support if=ide,bus=2,unit=0"
        );
    }

    #[test]
    fn nested_options_name_their_protocol_by_file_name() {
        let mut m = JobManager::new();
        m.add_image(
            "t.qcow2",
            ImageFile {
                format: "qcow2".into(),
                size: 1 << 20,
                ..Default::default()
            },
        );
        // A format over `file.filename` (QEMU finds the `file` protocol),
        // nested objects as dotted keys, JSON booleans as on/off.
        let o: Map<String, Value> = serde_json::from_str(
            r#"{"if": "none", "id": "d", "driver": "qcow2", "node-name": "top",
                "file": {"filename": "t.qcow2"}, "cache": {"direct": true}}"#,
        )
        .unwrap();
        m.drive_add(&o).unwrap();
        let top = m.graph.lookup("top").unwrap();
        let file = m.graph.child(top, crate::block::Role::File).unwrap();
        assert_eq!(m.graph.node_file(top), Some("t.qcow2"));
        assert!(m.graph.node(file).cache_direct && m.graph.node(top).cache_direct);
        // blkdebug's file name: blkdebug:CONFIG:IMAGE.
        m.drive_add(&opts(&[
            ("if", "none"),
            ("driver", "blkdebug"),
            ("file", "blkdebug::null-co://"),
            ("align", "65536"),
        ]))
        .unwrap();
        let b = m.graph.backend_by_name("none1").unwrap();
        let root = m.graph.backend(b).root.unwrap();
        assert_eq!(
            m.graph.filename(root),
            r#"json:{"image": {"driver": "null-co"}, "driver": "blkdebug", "align": "65536"}"#
        );
        // A drive without medium.
        m.drive_add(&opts(&[("if", "none"), ("id", "empty")]))
            .unwrap();
        let r = m.execute(r#"{"execute":"block-stream","arguments":{"device":"empty"}}"#);
        assert!(r.contains("Device 'empty' has no medium"), "{r}");
    }

    /// `file.file.filename=X` below a format node opens X with the `file`
    /// driver; a child that names its driver keeps it.
    #[test]
    fn a_file_child_named_by_its_filename_is_a_protocol_node() {
        let Value::Object(given) = json!({
            "if": "none",
            "driver": "throttle",
            "throttle-group": "tg0",
            "file.driver": "qcow2",
            "file.file.filename": "/images/a.qcow2",
        }) else {
            unreachable!()
        };
        let d = DriveOptions::parse(&given).unwrap();
        assert_eq!(
            d.node["file"]["file"],
            json!({"driver": "file", "filename": "/images/a.qcow2"})
        );
        assert_eq!(d.node["file"]["driver"], json!("qcow2"));
        let Value::Object(given) = json!({"driver": "qcow2", "file.filename": "null-co://"}) else {
            unreachable!()
        };
        let d = DriveOptions::parse(&given).unwrap();
        assert_eq!(d.node["file"], json!({"driver": "null-co"}));
    }
}
