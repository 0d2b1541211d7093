//! `image::copy_data` against real QEMU 7.2: images made and written with
//! `qemu-img` / `qemu-io`, data copied as backup, mirror, commit and stream
//! copy it, then `qemu-img compare` must find the guest views equal and
//! `qemu-img check` the written image clean (no errors, no leaks).
//!
//! Needs QEMU 7.2's `qemu-img` and `qemu-io` (`QEMU_IMG_PROG` /
//! `QEMU_IO_PROG`, or the repository's `.cache/qemu72-full/bin/`, which
//! `dropin/ci.sh` fetches); without them each test says so and skips.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use qjob_dropin::image::{self, Format};

struct Qemu {
    img: PathBuf,
    io: PathBuf,
}

impl Qemu {
    fn find(test: &str) -> Option<Self> {
        let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/qemu72-full/bin");
        let prog = |var: &str, name: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| Some(cache.join(name)))
                .filter(|p| p.exists())
        };
        let found = (|| {
            Some(Self {
                img: prog("QEMU_IMG_PROG", "qemu-img")?,
                io: prog("QEMU_IO_PROG", "qemu-io")?,
            })
        })();
        if found.is_none() {
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: QEMU 7.2's qemu-img / qemu-io not found \
                 (set QEMU_IMG_PROG and QEMU_IO_PROG, or fetch them into .cache/qemu72-full)"
            );
        }
        found
    }

    fn run(&self, dir: &Path, prog: &Path, args: &[&str]) -> Output {
        Command::new(prog)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    }

    /// `qemu-img ARGS`, which must succeed.
    fn img(&self, dir: &Path, args: &[&str]) {
        let out = self.run(dir, &self.img, args);
        assert!(
            out.status.success(),
            "qemu-img {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `qemu-io -f FMT -c CMD IMG` for each command.
    fn write(&self, dir: &Path, img: &str, fmt: &str, cmds: &[&str]) {
        for c in cmds {
            let out = self.run(dir, &self.io, &["-f", fmt, "-c", c, img]);
            assert!(
                out.status.success() && !String::from_utf8_lossy(&out.stdout).contains("error"),
                "qemu-io {c} {img}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// `qemu-img compare` of two guest views (each with its chain).
    fn assert_same(&self, dir: &Path, case: &str, a: &str, b: &str) {
        let out = self.run(dir, &self.img, &["compare", a, b]);
        assert!(
            out.status.success(),
            "{case}: qemu-img compare {a} {b}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `qemu-img check` finds nothing wrong, not even a leak.
    fn assert_clean(&self, dir: &Path, case: &str, img: &str) {
        let out = self.run(dir, &self.img, &["check", img]);
        assert!(
            out.status.success(),
            "{case}: qemu-img check {img} (exit {:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qjob-copy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy(dir: &Path, from: &[(&str, Format)], to: (&str, Format), only_unallocated: bool) -> u64 {
    let from: Vec<(PathBuf, Format)> = from.iter().map(|&(f, t)| (dir.join(f), t)).collect();
    let from: Vec<(&Path, Format)> = from.iter().map(|(p, f)| (p.as_path(), *f)).collect();
    let target = dir.join(to.0);
    image::copy_data(&from, (&target, to.1), only_unallocated)
        .unwrap_or_else(|e| panic!("copy into {}: {e}", to.0))
        .clusters
}

/// The writes of iotest 056's `TestSyncModesNoneAndTop`, and a few more
/// that cross cluster boundaries.
const TOP_WRITES: &[&str] = &[
    "write -P0x41 0 512",
    "write -P0xd5 1M 32k",
    "write -P0xdc 32M 124k",
    "write -P0xdc 67043328 64k",
    "write -z 40M 64k",
    "write -P0x17 50M 3000",
];

/// Backup `sync=top` as iotest 056 does it: the top layer into a new
/// qcow2 image over the same backing file.
#[test]
fn sync_top_into_an_image_sharing_the_backing_file() {
    let Some(qemu) = Qemu::find("sync_top_into_an_image_sharing_the_backing_file") else {
        return;
    };
    // (case, the source's options, the target's): clusters of other sizes
    // than the source's, and a source with subclusters, make clusters the
    // copy covers only in part (the rest comes from the backing file).
    for (case, src, opts) in [
        ("64k", "cluster_size=65536", "cluster_size=65536"),
        ("4k", "cluster_size=65536", "cluster_size=4096"),
        ("v2", "cluster_size=65536", "compat=0.10"),
        ("2M", "cluster_size=65536", "cluster_size=2097152"),
        ("extl2", "cluster_size=65536", "extended_l2=on"),
        ("refbits1", "cluster_size=65536", "refcount_bits=1"),
        ("refbits64", "cluster_size=65536", "refcount_bits=64"),
        ("src-extl2", "extended_l2=on", "cluster_size=65536"),
        ("src-512", "cluster_size=512", "cluster_size=65536"),
        ("src-v2", "compat=0.10", "cluster_size=65536"),
    ] {
        let dir = scratch(&format!("top-{case}"));
        qemu.img(&dir, &["create", "-f", "raw", "backing.img", "64M"]);
        qemu.write(&dir, "backing.img", "raw", &["write -P0x11 0 64M"]);
        qemu.img(
            &dir,
            &[
                "create",
                "-f",
                "qcow2",
                "-o",
                src,
                "-b",
                "backing.img",
                "-F",
                "raw",
                "test.img",
            ],
        );
        qemu.write(&dir, "test.img", "qcow2", TOP_WRITES);
        qemu.img(
            &dir,
            &[
                "create",
                "-f",
                "qcow2",
                "-o",
                opts,
                "-b",
                "backing.img",
                "-F",
                "raw",
                "target.img",
                "64M",
            ],
        );
        copy(
            &dir,
            &[("test.img", Format::Qcow2)],
            ("target.img", Format::Qcow2),
            false,
        );
        qemu.assert_same(&dir, case, "test.img", "target.img");
        qemu.assert_clean(&dir, case, "target.img");
        // Again: the clusters are written in place, nothing new.
        let len = std::fs::metadata(dir.join("target.img")).unwrap().len();
        let again = copy(
            &dir,
            &[("test.img", Format::Qcow2)],
            ("target.img", Format::Qcow2),
            false,
        );
        assert_eq!(again, 0, "{case}");
        assert_eq!(
            std::fs::metadata(dir.join("target.img")).unwrap().len(),
            len,
            "{case}"
        );
        qemu.assert_same(&dir, case, "test.img", "target.img");
        qemu.assert_clean(&dir, case, "target.img");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Backup or mirror `sync=full`: the whole chain into an image without a
/// backing file that holds old data, qcow2 of several layouts (small
/// clusters make the refcount table grow and move) and raw.
#[test]
fn sync_full_into_new_images() {
    let Some(qemu) = Qemu::find("sync_full_into_new_images") else {
        return;
    };
    for (case, fmt, opts) in [
        ("qcow2-64k", "qcow2", "cluster_size=65536"),
        ("qcow2-512", "qcow2", "cluster_size=512"),
        (
            "qcow2-512-refbits1",
            "qcow2",
            "cluster_size=512,refcount_bits=1",
        ),
        ("qcow2-v2-1k", "qcow2", "compat=0.10,cluster_size=1024"),
        ("raw", "raw", ""),
    ] {
        let dir = scratch(&format!("full-{case}"));
        qemu.img(&dir, &["create", "-f", "qcow2", "base.img", "32M"]);
        qemu.write(
            &dir,
            "base.img",
            "qcow2",
            &["write -P0x22 0 20M", "write -P0x23 31M 1M"],
        );
        qemu.img(
            &dir,
            &[
                "create", "-f", "qcow2", "-b", "base.img", "-F", "qcow2", "top.img",
            ],
        );
        qemu.write(
            &dir,
            "top.img",
            "qcow2",
            &[
                "write -P0x41 100k 1M",
                "write -z 2M 1M",
                "write -P0x42 30M 1500k",
            ],
        );
        let mut create = vec!["create", "-f", fmt];
        if !opts.is_empty() {
            create.extend_from_slice(&["-o", opts]);
        }
        create.extend_from_slice(&["target.img", "32M"]);
        qemu.img(&dir, &create);
        // An existing target's old data where the source holds nothing:
        // a full copy overwrites it with zeroes (drive-mirror mode=existing).
        qemu.write(&dir, "target.img", fmt, &["write -P0x42 25M 64k"]);
        let format = Format::from_driver(fmt).unwrap();
        copy(
            &dir,
            &[("top.img", Format::Qcow2), ("base.img", Format::Qcow2)],
            ("target.img", format),
            false,
        );
        qemu.assert_same(&dir, case, "top.img", "target.img");
        if fmt == "qcow2" {
            qemu.assert_clean(&dir, case, "target.img");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Commit: the layers above the base into the base, which then shows what
/// the top showed; stream: the layers below the top into the top where it
/// holds nothing, which then shows the same without its backing file.
#[test]
fn commit_and_stream_sections() {
    let Some(qemu) = Qemu::find("commit_and_stream_sections") else {
        return;
    };
    let dir = scratch("sections");
    let chain = |qemu: &Qemu| {
        qemu.img(&dir, &["create", "-f", "qcow2", "base.img", "16M"]);
        qemu.write(&dir, "base.img", "qcow2", &["write -P0x01 0 16M"]);
        for (img, below, w) in [
            ("mid.img", "base.img", "write -P0x02 1M 3M"),
            ("top.img", "mid.img", "write -P0x03 2M 100k"),
        ] {
            qemu.img(
                &dir,
                &["create", "-f", "qcow2", "-b", below, "-F", "qcow2", img],
            );
            qemu.write(&dir, img, "qcow2", &[w, "write -z 10M 64k"]);
        }
        qemu.img(&dir, &["convert", "-O", "raw", "top.img", "ref.raw"]);
    };

    // Commit top and mid into base.
    chain(&qemu);
    copy(
        &dir,
        &[("top.img", Format::Qcow2), ("mid.img", Format::Qcow2)],
        ("base.img", Format::Qcow2),
        false,
    );
    qemu.assert_same(&dir, "commit", "ref.raw", "base.img");
    qemu.assert_clean(&dir, "commit", "base.img");

    // Stream mid and base into top, then drop its backing file.
    chain(&qemu);
    copy(
        &dir,
        &[("mid.img", Format::Qcow2), ("base.img", Format::Qcow2)],
        ("top.img", Format::Qcow2),
        true,
    );
    image::change_backing_file(dir.join("top.img"), None, None).unwrap();
    qemu.assert_same(&dir, "stream", "ref.raw", "top.img");
    qemu.assert_clean(&dir, "stream", "top.img");
    std::fs::remove_dir_all(&dir).unwrap();
}
