//! `block-dirty-bitmap-add` and `block-dirty-bitmap-remove`.

use super::args::Args;
use crate::error::Result;
use crate::manager::JobManager;
use crate::options::BitmapAddOptions;
use serde_json::{Value, json};

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

pub(super) fn block_dirty_bitmap_add(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let opts = parse_bitmap_add(&mut a)?;
    a.finish()?;
    m.block_dirty_bitmap_add(&opts)?;
    Ok(json!({}))
}

pub(super) fn block_dirty_bitmap_remove(m: &mut JobManager, mut a: Args<'_>) -> Result<Value> {
    let node = a.req_str("node")?;
    let name = a.req_str("name")?;
    a.finish()?;
    m.block_dirty_bitmap_remove(&node, &name)?;
    Ok(json!({}))
}
