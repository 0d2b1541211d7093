//! The NBD server and block exports (`blockdev-nbd.c`, `block/export/`):
//! `nbd-server-start`/`-stop`, `block-export-add`/`-del`,
//! `query-block-exports`, and the exports' end at `quit`.
//!
//! An export serves no client here: it is a user of its node (an unnamed
//! BlockBackend, with the permissions QEMU's takes) with QEMU's lifecycle
//! and events. The server's socket is the host's to open, if it wants one
//! ([`JobManager::nbd_server`]).

use serde::{Deserialize, Serialize};

use crate::block::{NodeRef, Parent};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::manager::JobManager;
use crate::perm::Perm;
use crate::profile::GraphChange;

/// The longest NBD export name or description (`NBD_MAX_STRING_SIZE`).
pub const NBD_MAX_STRING_SIZE: usize = 4096;

/// Where a server listens (QAPI `SocketAddress`, the flat form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketAddress {
    /// A TCP address.
    Inet {
        /// Host name or address.
        host: String,
        /// Port or service name.
        port: String,
    },
    /// A Unix socket.
    Unix {
        /// Its path.
        path: String,
    },
    /// A vsock address.
    Vsock {
        /// Context ID.
        cid: String,
        /// Port.
        port: String,
    },
    /// A file descriptor of the monitor (`getfd`) or a number.
    Fd {
        /// Its name or number.
        name: String,
    },
}

crate::snapshot::codec::codec_enum!(SocketAddress { Inet { host, port }, Unix { path }, Vsock { cid, port }, Fd { name } });

/// `nbd-server-start`'s options (QAPI `NbdServerOptions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NbdServerOptions {
    /// Where to listen.
    pub addr: SocketAddress,
    /// The ID of a TLS credentials object (qjob has none: refused).
    pub tls_creds: Option<String>,
    /// The ID of a QAuthZ object.
    pub tls_authz: Option<String>,
    /// Most clients at once (0: no limit).
    pub max_connections: u32,
}

crate::snapshot::codec::codec_struct!(NbdServerOptions {
    addr,
    tls_creds,
    tls_authz,
    max_connections
});

/// `block-export-add`'s options for an `nbd` export (QAPI
/// `BlockExportOptions` with `BlockExportOptionsNbd`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// The export's ID.
    pub id: String,
    /// The node to export.
    pub node_name: String,
    /// Whether clients may write (the export takes the `write` permission).
    pub writable: bool,
    /// Write-through caching.
    pub writethrough: bool,
    /// An iothread to move the node to (qjob has none: refused).
    pub iothread: Option<String>,
    /// `fixed-iothread`.
    pub fixed_iothread: bool,
    /// The NBD export name (default: the node name).
    pub name: Option<String>,
    /// A description for clients.
    pub description: Option<String>,
    /// Dirty bitmaps to expose, by name (on the node or below it).
    pub bitmaps: Vec<String>,
    /// `allocation-depth`.
    pub allocation_depth: bool,
}

/// One export, as `query-block-exports` lists it (QAPI `BlockExportInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockExportInfo {
    /// The export's ID.
    pub id: String,
    /// The export type (always `nbd` here).
    pub export_type: &'static str,
    /// The node its BlockBackend is attached to now (a filter a job
    /// inserted above the exported node takes it over).
    pub node_name: String,
    /// Whether it is going away (never seen: qjob deletes at once).
    pub shutting_down: bool,
}

/// A block export: its BlockBackend's link to a node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Export {
    /// Never reused: what `Parent::Export` names.
    pub serial: u32,
    pub id: String,
    /// The node its BlockBackend is attached to (follows graph changes).
    pub node: NodeRef,
    /// The NBD export name.
    pub name: String,
    /// What its BlockBackend takes: consistent read, and write when
    /// writable.
    pub perm: Perm,
    /// What it shares: everything, then everything but resize once the NBD
    /// export is set up (its size is fixed while it is served).
    pub shared: Perm,
}

crate::snapshot::codec::codec_struct!(Export {
    serial,
    id,
    node,
    name,
    perm,
    shared
});

/// A reference to an export: its serial number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct ExportRef(pub u32);

crate::snapshot::codec::codec_struct!(ExportRef(0));

/// The NBD server and the exports, oldest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Exports {
    pub nbd: Option<NbdServerOptions>,
    pub list: Vec<Export>,
    pub next_serial: u32,
}

crate::snapshot::codec::codec_struct!(Exports {
    nbd,
    list,
    next_serial
});

impl crate::block::Graph {
    /// Moves export `e`'s BlockBackend from node `from` to `to`.
    pub(crate) fn move_export(&mut self, e: ExportRef, from: NodeRef, to: NodeRef) {
        let p = Parent::Export(e);
        self.node_mut(from).parents.retain(|&x| x != p);
        self.node_mut(to).parents.insert(0, p);
        if let Some(x) = self.exports.get_mut(e) {
            x.node = to;
        }
    }
}

impl Exports {
    pub fn get(&self, e: ExportRef) -> Option<&Export> {
        self.list.iter().find(|x| x.serial == e.0)
    }

    pub fn get_mut(&mut self, e: ExportRef) -> Option<&mut Export> {
        self.list.iter_mut().find(|x| x.serial == e.0)
    }

    fn by_id(&self, id: &str) -> Option<ExportRef> {
        self.list
            .iter()
            .find(|x| x.id == id)
            .map(|x| ExportRef(x.serial))
    }
}

impl JobManager {
    /// The NBD server's options while it runs (`nbd-server-start` or the
    /// command line's `--nbd-server`): a host that serves NBD opens the
    /// socket they name.
    pub fn nbd_server(&self) -> Option<&NbdServerOptions> {
        self.graph.exports.nbd.as_ref()
    }

    /// `nbd-server-start`: refused while one runs, and for TLS credentials
    /// (qjob has no such objects). Opening the socket is the host's.
    pub fn nbd_server_start(&mut self, opts: NbdServerOptions) -> Result<()> {
        if self.graph.exports.nbd.is_some() {
            return Err(Error::generic("NBD server already running"));
        }
        if let Some(id) = &opts.tls_creds {
            return Err(Error::generic(format!("No TLS credentials with id '{id}'")));
        }
        self.graph.exports.nbd = Some(opts);
        Ok(())
    }

    /// `nbd-server-stop`: every NBD export goes away (oldest first, each
    /// with `BLOCK_EXPORT_DELETED`), then the server.
    pub fn nbd_server_stop(&mut self) -> Result<()> {
        if self.graph.exports.nbd.is_none() {
            return Err(Error::generic("NBD server not running"));
        }
        self.close_all_exports();
        self.graph.exports.nbd = None;
        Ok(())
    }

    /// `block-export-add` of an `nbd` export, with QEMU's checks in its
    /// order: the ID, the node, a writable export of a read-only node, the
    /// iothread, the permissions of its BlockBackend, the server, the name
    /// and description, the bitmaps.
    pub fn block_export_add(&mut self, opts: ExportOptions) -> Result<()> {
        if !crate::model::id_wellformed(&opts.id) {
            return Err(Error::generic("Invalid block export id"));
        }
        if self.graph.exports.by_id(&opts.id).is_some() {
            return Err(Error::generic(format!(
                "Block export id '{}' is already in use",
                opts.id
            )));
        }
        let n = self.lookup_node("", &opts.node_name)?;
        if opts.writable && self.graph.node(n).read_only {
            return Err(Error::generic("Cannot export read-only node as writable"));
        }
        if let Some(t) = &opts.iothread {
            return Err(Error::generic(format!("iothread \"{t}\" not found")));
        }
        // blk_insert_bs: the BlockBackend takes its permissions (all
        // shared at first).
        let serial = self.graph.exports.next_serial;
        let e = ExportRef(serial);
        let perm = if opts.writable {
            Perm::CONSISTENT_READ | Perm::WRITE
        } else {
            Perm::CONSISTENT_READ
        };
        let export = Export {
            serial,
            id: opts.id.clone(),
            node: n,
            name: String::new(),
            perm,
            shared: Perm::ALL,
        };
        self.graph.exports.next_serial += 1;
        self.graph.exports.list.push(export);
        self.graph.node_mut(n).parents.insert(0, Parent::Export(e));
        let attached = self.check_perms_below(n);
        self.graph_lock_drains(GraphChange::ExportAttached);
        let created = attached.and_then(|()| {
            self.nbd_export_create(e, n, &opts).inspect_err(|_| {
                // The attached BlockBackend lets go again (blk_unref).
                self.graph_lock_drains(GraphChange::ExportDetached);
            })
        });
        if let Err(err) = created {
            self.remove_export(e);
            return Err(err);
        }
        Ok(())
    }

    /// `nbd_export_create`: what the NBD driver checks and sets up.
    fn nbd_export_create(&mut self, e: ExportRef, n: NodeRef, opts: &ExportOptions) -> Result<()> {
        if self.graph.exports.nbd.is_none() {
            return Err(Error::generic("NBD server not running"));
        }
        let name = opts.name.clone().unwrap_or_else(|| opts.node_name.clone());
        if name.len() > NBD_MAX_STRING_SIZE {
            return Err(Error::generic(format!("export name '{name}' too long")));
        }
        if let Some(d) = &opts.description
            && d.len() > NBD_MAX_STRING_SIZE
        {
            return Err(Error::generic(format!("description '{d}' too long")));
        }
        if self.graph.exports.list.iter().any(|x| x.name == name) {
            return Err(Error::generic(format!(
                "NBD server already has export named '{name}'"
            )));
        }
        // No resize while it is served.
        if let Some(x) = self.graph.exports.get_mut(e) {
            x.shared = Perm::ALL - Perm::RESIZE;
        }
        self.check_perms_below(n)?;
        for bitmap in &opts.bitmaps {
            if !self.bitmap_in_chain(n, bitmap) {
                return Err(Error::generic(format!("Bitmap '{bitmap}' is not found")));
            }
        }
        if let Some(x) = self.graph.exports.get_mut(e) {
            x.name = name;
        }
        Ok(())
    }

    /// Whether a bitmap of that name is on `n` or a node of its backing
    /// chain (filters and backing files).
    fn bitmap_in_chain(&self, n: NodeRef, name: &str) -> bool {
        let mut cur = Some(n);
        while let Some(c) = cur {
            if self.graph.node(c).bitmaps.iter().any(|b| b.name == name) {
                return true;
            }
            cur = self.graph.filter_or_cow_child(c);
        }
        false
    }

    /// `block-export-del`. `hard` (mode `hard`) would disconnect clients;
    /// an export here has none, so both modes delete it at once
    /// (`BLOCK_EXPORT_DELETED`).
    pub fn block_export_del(&mut self, id: &str, hard: bool) -> Result<()> {
        let _ = hard;
        let Some(e) = self.graph.exports.by_id(id) else {
            return Err(Error::generic(format!("Export '{id}' is not found")));
        };
        self.delete_export(e);
        Ok(())
    }

    /// `query-block-exports`: newest first.
    pub fn query_block_exports(&self) -> Vec<BlockExportInfo> {
        self.graph
            .exports
            .list
            .iter()
            .rev()
            .map(|x| BlockExportInfo {
                id: x.id.clone(),
                export_type: "nbd",
                node_name: self.graph.node(x.node).name.clone(),
                shutting_down: false,
            })
            .collect()
    }

    /// `blk_exp_close_all`: every export goes away. QEMU asks them to shut
    /// down newest first and deletes them from bottom halves, which run
    /// the other way: the events come oldest first.
    pub(crate) fn close_all_exports(&mut self) {
        let all: Vec<ExportRef> = self
            .graph
            .exports
            .list
            .iter()
            .map(|x| ExportRef(x.serial))
            .collect();
        for e in all {
            self.delete_export(e);
        }
    }

    /// `blk_exp_delete_bh`: the export's BlockBackend lets go of its node
    /// (draining it twice: `blk_drain`, then the detach), then
    /// `BLOCK_EXPORT_DELETED`.
    fn delete_export(&mut self, e: ExportRef) {
        let Some(x) = self.graph.exports.get(e) else {
            return;
        };
        let (n, id) = (x.node, x.id.clone());
        for _ in 0..2 {
            self.drained_begin(n);
            self.drained_end(n);
        }
        self.graph_lock_drains(GraphChange::ExportDetached);
        self.remove_export(e);
        self.emit(EventKind::BlockExportDeleted { id: id.into() });
    }

    /// Unlinks an export from its node and forgets it.
    fn remove_export(&mut self, e: ExportRef) {
        if let Some(x) = self.graph.exports.get(e) {
            let n = x.node;
            if self.graph.alive(n) {
                let parents = &mut self.graph.node_mut(n).parents;
                parents.retain(|&p| p != Parent::Export(e));
            }
        }
        self.graph.exports.list.retain(|x| x.serial != e.0);
    }
}
