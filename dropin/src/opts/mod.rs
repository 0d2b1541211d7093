//! QEMU's three option syntaxes, as its command lines take them:
//!
//! - [`qemuopts`]: `key=value,...` with `,,` for a comma in a value, an
//!   implied first key (`-chardev socket,...`), flags (`server` for
//!   `server=on`, `nowait` for `wait=off`) and `help` (QEMU's `QemuOpts`,
//!   used by `-chardev`, `-mon`, `-drive`, `-device`, `-accel`);
//! - [`keyval`]: the same text read into nested objects, dotted keys
//!   (`file.driver=file`) making sub-objects and numbered keys (`a.0.b`)
//!   lists, every scalar a string (QEMU's `keyval_parse`, used by
//!   `--blockdev`, `--object`, `--monitor`, `--nbd-server`, `--export`,
//!   `-machine`);
//! - JSON, for an argument starting with `{` where QEMU takes it
//!   ([`keyval::parse_str`], QEMU's `qobject_input_visitor_new_str`).
//!
//! Every refusal is QEMU's text, without the `program: -option value: `
//! prefix that [`crate::cmdline`] adds.

pub mod keyval;
pub mod qemuopts;
