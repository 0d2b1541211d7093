//! The arguments of `nbd-server-start`, `block-export-add` and
//! `block-export-del`, and the `query-block-exports` reply.

use super::args::{Args, list_elem};
use crate::error::{Error, Result};
use crate::export::{ExportOptions, NbdServerOptions, SocketAddress};
use crate::manager::JobManager;
use serde_json::{Map, Value};

/// The members of one `SocketAddress` branch (`type` already read).
fn socket_address_of(kind: &str, a: &mut Args<'_>) -> Result<SocketAddress> {
    Ok(match kind {
        "inet" => {
            let host = a.req_str("host")?;
            let port = a.req_str("port")?;
            a.opt_bool("numeric")?;
            a.opt_any("to");
            a.opt_bool("ipv4")?;
            a.opt_bool("ipv6")?;
            a.opt_bool("keep-alive")?;
            a.opt_bool("mptcp")?;
            SocketAddress::Inet { host, port }
        }
        "unix" => {
            let path = a.req_str("path")?;
            a.opt_bool("abstract")?;
            a.opt_bool("tight")?;
            SocketAddress::Unix { path }
        }
        "vsock" => SocketAddress::Vsock {
            cid: a.req_str("cid")?,
            port: a.req_str("port")?,
        },
        _ => SocketAddress::Fd {
            name: a.req_str("str")?,
        },
    })
}

fn socket_type(s: &str) -> Option<&'static str> {
    ["inet", "unix", "vsock", "fd"]
        .into_iter()
        .find(|&t| t == s)
}

/// `SocketAddressLegacy`: `{"type": …, "data": {…}}` (QMP's form).
fn socket_address_legacy(a: &mut Args<'_>) -> Result<SocketAddress> {
    let kind = a.req_enum("type", socket_type)?;
    let mut data = a.req_obj("data")?;
    let addr = socket_address_of(kind, &mut data)?;
    data.finish()?;
    Ok(addr)
}

/// `SocketAddress`: the flat form (`type` beside the branch's members),
/// which the command line's `--nbd-server` takes.
fn socket_address(a: &mut Args<'_>) -> Result<SocketAddress> {
    let kind = a.req_enum("type", socket_type)?;
    socket_address_of(kind, a)
}

/// The members `nbd-server-start` and `NbdServerOptions` share after
/// `addr`.
fn server_rest(a: &mut Args<'_>, addr: SocketAddress) -> Result<NbdServerOptions> {
    Ok(NbdServerOptions {
        addr,
        tls_creds: a.opt_str("tls-creds")?,
        tls_authz: a.opt_str("tls-authz")?,
        max_connections: a.opt_u32("max-connections")?.unwrap_or(0),
    })
}

/// `nbd-server-start`'s arguments.
pub(super) fn parse_nbd_server_start(a: &mut Args<'_>) -> Result<NbdServerOptions> {
    let mut addr = a.req_obj("addr")?;
    let sock = socket_address_legacy(&mut addr)?;
    addr.finish()?;
    server_rest(a, sock)
}

/// `NbdServerOptions`, the command line's form of `nbd-server-start`
/// (`--nbd-server`: `addr` in the flat form).
pub fn parse_nbd_server_options(options: &Map<String, Value>) -> Result<NbdServerOptions> {
    let mut a = Args::new(options, "");
    let mut addr = a.req_obj("addr")?;
    let sock = socket_address(&mut addr)?;
    addr.finish()?;
    let opts = server_rest(&mut a, sock)?;
    a.finish()?;
    Ok(opts)
}

/// The export types of QEMU 7.2 (as Debian builds it).
fn export_type(s: &str) -> Option<&'static str> {
    ["nbd", "vhost-user-blk", "fuse", "vduse-blk"]
        .into_iter()
        .find(|&t| t == s)
}

/// `BlockExportOptions` (`block-export-add`, and the command line's
/// `--export`): an `nbd` export's options, or the name of another type
/// (read through, so that QEMU's argument errors come first).
pub(super) fn parse_export(
    a: &mut Args<'_>,
) -> Result<std::result::Result<ExportOptions, &'static str>> {
    let kind = a.req_enum("type", export_type)?;
    let id = a.req_str("id")?;
    let fixed_iothread = a.opt_bool("fixed-iothread")?.unwrap_or(false);
    let iothread = a.opt_str("iothread")?;
    let node_name = a.req_str("node-name")?;
    let writable = a.opt_bool("writable")?.unwrap_or(false);
    let writethrough = a.opt_bool("writethrough")?.unwrap_or(false);
    let mut opts = ExportOptions {
        id,
        node_name,
        writable,
        writethrough,
        iothread,
        fixed_iothread,
        ..ExportOptions::default()
    };
    match kind {
        "nbd" => {
            opts.name = a.opt_str("name")?;
            opts.description = a.opt_str("description")?;
            let full = a.full("bitmaps");
            if let Some(list) = a.opt_list("bitmaps")? {
                for (i, v) in list.iter().enumerate() {
                    // BlockDirtyBitmapOrStr: a name on the node, or a
                    // bitmap of any node.
                    let name = match v {
                        Value::String(s) => s.clone(),
                        _ => {
                            let mut b = list_elem(&full, i, v)?;
                            b.req_str("node")?;
                            let name = b.req_str("name")?;
                            b.finish()?;
                            name
                        }
                    };
                    opts.bitmaps.push(name);
                }
            }
            opts.allocation_depth = a.opt_bool("allocation-depth")?.unwrap_or(false);
            Ok(Ok(opts))
        }
        "vhost-user-blk" => {
            let mut addr = a.req_obj("addr")?;
            socket_address(&mut addr)?;
            addr.finish()?;
            a.opt_uint("logical-block-size")?;
            a.opt_uint("num-queues")?;
            Ok(Err(kind))
        }
        "fuse" => {
            a.req_str("mountpoint")?;
            a.opt_bool("growable")?;
            a.opt_str("allow-other")?;
            Ok(Err(kind))
        }
        _ => {
            a.req_str("name")?;
            a.opt_uint("num-queues")?;
            a.opt_uint("queue-size")?;
            a.opt_uint("logical-block-size")?;
            a.opt_str("serial")?;
            Ok(Err(kind))
        }
    }
}

/// The refusal of an export type qjob does not have.
pub(super) fn not_simulated(kind: &str) -> Error {
    Error::generic(format!("qjob does not simulate '{kind}' block exports"))
}

/// `block-export-del`'s arguments: `id` and whether `mode` is `hard`.
pub(super) fn parse_export_del(a: &mut Args<'_>) -> Result<(String, bool)> {
    let id = a.req_str("id")?;
    let hard = a.opt_enum("mode", |s| match s {
        "safe" => Some(false),
        "hard" => Some(true),
        _ => None,
    })?;
    Ok((id, hard.unwrap_or(false)))
}

/// `query-block-exports`.
pub(super) fn query_block_exports(m: &mut JobManager, a: Args<'_>) -> Result<Value> {
    a.finish()?;
    Ok(Value::Array(
        m.query_block_exports()
            .into_iter()
            .map(|x| {
                let mut v = Map::new();
                v.insert("id".into(), x.id.into());
                v.insert("type".into(), x.export_type.into());
                v.insert("node-name".into(), x.node_name.into());
                v.insert("shutting-down".into(), x.shutting_down.into());
                Value::Object(v)
            })
            .collect(),
    ))
}
