//! The arguments of `object-add` (QAPI `ObjectOptions`; qjob has the
//! `throttle-group` type) and `object-del`.

use super::args::Args;
use crate::error::{Error, Result};
use crate::throttle::{Limit, ThrottleGroupOptions, ThrottleProperty};
use serde_json::{Map, Value};

/// QEMU 7.2's user-creatable object types (QAPI `ObjectType`).
const OBJECT_TYPES: &[&str] = &[
    "authz-list",
    "authz-listfile",
    "authz-pam",
    "authz-simple",
    "can-bus",
    "can-host-socketcan",
    "colo-compare",
    "cryptodev-backend",
    "cryptodev-backend-builtin",
    "cryptodev-backend-lkcf",
    "cryptodev-vhost-user",
    "dbus-vmstate",
    "filter-buffer",
    "filter-dump",
    "filter-mirror",
    "filter-redirector",
    "filter-replay",
    "filter-rewriter",
    "input-barrier",
    "input-linux",
    "iothread",
    "main-loop",
    "memory-backend-epc",
    "memory-backend-file",
    "memory-backend-memfd",
    "memory-backend-ram",
    "pef-guest",
    "pr-manager-helper",
    "qtest",
    "rng-builtin",
    "rng-egd",
    "rng-random",
    "secret",
    "secret_keyring",
    "sev-guest",
    "thread-context",
    "s390-pv-guest",
    "throttle-group",
    "tls-creds-anon",
    "tls-creds-psk",
    "tls-creds-x509",
    "tls-cipher-suites",
    "x-remote-object",
    "x-vfio-user-server",
];

/// `object-add`'s arguments: a throttle group's options, or the type of an
/// object qjob does not have.
pub(super) fn parse_object_add(
    a: &mut Args<'_>,
) -> Result<std::result::Result<ThrottleGroupOptions, &'static str>> {
    let kind = a.req_enum("qom-type", |s| {
        OBJECT_TYPES.iter().find(|&&t| t == s).copied()
    })?;
    let id = a.req_str("id")?;
    if kind != "throttle-group" {
        // Its members are not checked: qjob does not know them.
        a.all();
        return Ok(Err(kind));
    }
    // ThrottleGroupProperties, members in QAPI order.
    let mut present = Map::new();
    let mut limits = Vec::new();
    if let Some(mut l) = a.opt_obj("limits")? {
        for limit in Limit::ALL {
            let name = limit.name();
            if let Some(v) = l.opt_int_owned(&name)? {
                limits.push((limit, v));
            }
        }
        l.finish()?;
        present.insert("limits".into(), Value::Null);
    }
    let mut legacy = Vec::new();
    for limit in Limit::ALL {
        let name = format!("x-{}", limit.name());
        if let Some(v) = a.opt_int_owned(&name)? {
            legacy.push((limit, v));
            present.insert(name, Value::Null);
        }
    }
    // QEMU sets the properties in its QDict's order.
    let properties = super::wire::qdict_order(&present)
        .into_iter()
        .map(|(name, _)| match name.strip_prefix("x-") {
            Some(_) => {
                let (limit, v) = legacy
                    .iter()
                    .find(|(l, _)| format!("x-{}", l.name()) == *name)
                    .copied()
                    .expect("a legacy option read above");
                ThrottleProperty::Legacy(limit, v)
            }
            None => ThrottleProperty::Limits(limits.clone()),
        })
        .collect();
    Ok(Ok(ThrottleGroupOptions { id, properties }))
}

/// The refusal of an object type qjob does not have.
pub(super) fn not_simulated(kind: &str) -> Error {
    Error::generic(format!("qjob does not simulate objects of type '{kind}'"))
}
