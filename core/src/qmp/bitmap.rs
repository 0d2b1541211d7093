//! The arguments of the `block-dirty-bitmap-*` commands.

use super::args::Args;
use crate::error::{Error, Result};
use crate::options::{BitmapAddOptions, BitmapSource};
use serde_json::Value;

/// `BlockDirtyBitmapAdd`, in QAPI member order.
pub(super) fn parse_bitmap_add(a: &mut Args<'_>) -> Result<BitmapAddOptions> {
    let node = a.req_str("node")?;
    let name = a.req_str("name")?;
    let granularity = a.opt_u32("granularity")?;
    let persistent = a.opt_bool("persistent")?.unwrap_or(false);
    let disabled = a.opt_bool("disabled")?.unwrap_or(false);
    Ok(BitmapAddOptions {
        node,
        name,
        granularity,
        persistent,
        disabled,
    })
}

/// `BlockDirtyBitmapMerge`: node, target and the source bitmaps (each a
/// name or `{node, name}`).
pub(super) fn parse_bitmap_merge(a: &mut Args<'_>) -> Result<(String, String, Vec<BitmapSource>)> {
    let node = a.req_str("node")?;
    let target = a.req_str("target")?;
    let list = a.req_list("bitmaps")?;
    let mut bitmaps = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        bitmaps.push(match v {
            Value::String(s) => BitmapSource::Local(s.clone()),
            Value::Object(_) => {
                let mut e = a.elem("bitmaps", i, v)?;
                let node = e.req_str("node")?;
                let name = e.req_str("name")?;
                e.finish()?;
                BitmapSource::External { node, name }
            }
            _ => {
                let full = a.full(&format!("bitmaps[{i}]"));
                return Err(Error::invalid_type(&full, "BlockDirtyBitmapOrStr"));
            }
        });
    }
    Ok((node, target, bitmaps))
}

/// `BlockDirtyBitmap` (`block-dirty-bitmap-remove`, `-clear`, `-enable`,
/// `-disable`): node and name.
pub(super) fn parse_bitmap_remove(a: &mut Args<'_>) -> Result<(String, String)> {
    let node = a.req_str("node")?;
    let name = a.req_str("name")?;
    Ok((node, name))
}
