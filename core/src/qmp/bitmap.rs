//! The arguments of `block-dirty-bitmap-add` and `block-dirty-bitmap-remove`.

use super::args::Args;
use crate::error::Result;
use crate::options::BitmapAddOptions;

/// `BlockDirtyBitmapAdd`, in QAPI member order.
pub(super) fn parse_bitmap_add(a: &mut Args<'_>) -> Result<BitmapAddOptions> {
    let node = a.req_str("node")?;
    let name = a.req_str("name")?;
    let granularity = a.opt_u32("granularity")?;
    let persistent = a.opt_bool("persistent")?.unwrap_or(false);
    a.opt_bool("disabled")?;
    Ok(BitmapAddOptions {
        node,
        name,
        granularity,
        persistent,
    })
}

/// `block-dirty-bitmap-remove`: node and name.
pub(super) fn parse_bitmap_remove(a: &mut Args<'_>) -> Result<(String, String)> {
    let node = a.req_str("node")?;
    let name = a.req_str("name")?;
    Ok((node, name))
}
