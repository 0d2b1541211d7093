//! Generates `include/qjob.h` from the crate's `extern "C"` items with
//! cbindgen (configuration in `cbindgen.toml`). The header is committed; the
//! CI script fails when a fresh generation differs from it.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    // A hand edit of the header regenerates it (and the CI check then shows
    // the difference from the committed one).
    println!("cargo:rerun-if-changed=include/qjob.h");
    // The shared library's soname: libqjob.so.MAJOR, or libqjob.so.0.MINOR
    // before 1.0 (where a minor version may change the ABI).
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("version");
        let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("version");
        let soname = if major == "0" {
            format!("libqjob.so.0.{minor}")
        } else {
            format!("libqjob.so.{major}")
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings-c/cbindgen.toml");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate qjob.h")
        .write_to_file(crate_dir.join("include/qjob.h"));
}
