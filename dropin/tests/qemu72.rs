//! qjob's images against QEMU 7.2's.
//!
//! Two kinds of cases, each kept as a golden file under `tests/golden/` that
//! records what real QEMU 7.2 made or reported:
//!
//! - **create**: an empty image made by `qemu-img create`, as its length, a
//!   checksum and (when short) the non-zero 16-byte rows of the file, plus
//!   the `Formatting ...` line qemu-img printed. qjob must make the same
//!   bytes and print the same line.
//! - **read**: an image made by `qemu-img create` and written by `qemu-io`
//!   (whole, partial, zero, compressed writes, discards, snapshots), stored as
//!   its non-zero rows (writes use the zero pattern so the files stay
//!   sparse), plus what `qemu-img map` and `qemu-img info` report of it. qjob
//!   must read the same size, backing file, data and zero extents and
//!   snapshot names.
//!
//! The golden files are checked without QEMU. When QEMU 7.2's `qemu-img`
//! and `qemu-io` are available (`QEMU_IMG_PROG` / `QEMU_IO_PROG`, or the
//! repository's `.cache/qemu72-full/bin/`), every case is also re-made with
//! them and compared live, qjob's images are checked with `qemu-img check`
//! and `qemu-img info`, and `QJOB_DROPIN_BLESS=1` rewrites the golden files
//! from QEMU's output. Without QEMU those tests say so and skip.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use qjob_dropin::image::{
    self, CompressionType, CreateOptions, Format, ImageInfo, Qcow2Options, Qcow2Version, RawOptions,
};

/// Files longer than this many non-zero rows are kept as a checksum only.
const MAX_ROWS: usize = 400;

// ---------------------------------------------------------------- the cases

/// A creation case: `qemu-img create ARGS img SIZE`, and the same as options.
struct CreateCase {
    name: &'static str,
    args: &'static [&'static str],
    opts: CreateOptions,
}

fn q(size: u64) -> Qcow2Options {
    Qcow2Options::new(size)
}

fn create_cases() -> Vec<CreateCase> {
    const M: u64 = 1 << 20;
    const G: u64 = 1 << 30;
    let qc = |name, args, o: Qcow2Options| CreateCase {
        name,
        args,
        opts: CreateOptions::Qcow2(o),
    };
    vec![
        qc("qcow2-0", &["-f", "qcow2"], q(0)),
        qc("qcow2-1000", &["-f", "qcow2"], q(1000)),
        qc("qcow2-64M", &["-f", "qcow2"], q(64 * M)),
        qc("qcow2-1G", &["-f", "qcow2"], q(G)),
        qc("qcow2-100G", &["-f", "qcow2"], q(100 * G)),
        qc("qcow2-2T", &["-f", "qcow2"], q(2048 * G)),
        qc(
            "qcow2-backing-qcow2",
            &["-f", "qcow2", "-u", "-b", "base.qcow2", "-F", "qcow2"],
            q(64 * M).with_backing("base.qcow2", "qcow2"),
        ),
        qc(
            "qcow2-backing-raw-abs",
            &[
                "-f",
                "qcow2",
                "-u",
                "-b",
                "/some/dir/base image.raw",
                "-F",
                "raw",
            ],
            q(G).with_backing("/some/dir/base image.raw", "raw"),
        ),
        qc(
            "qcow2-v2",
            &["-f", "qcow2", "-o", "compat=0.10"],
            Qcow2Options {
                version: Some(Qcow2Version::V2),
                ..q(G)
            },
        ),
        qc(
            "qcow2-v2-backing",
            &[
                "-f",
                "qcow2",
                "-o",
                "compat=0.10",
                "-u",
                "-b",
                "b.img",
                "-F",
                "raw",
            ],
            Qcow2Options {
                version: Some(Qcow2Version::V2),
                ..q(M).with_backing("b.img", "raw")
            },
        ),
        qc(
            "qcow2-cs512-1G",
            &["-f", "qcow2", "-o", "cluster_size=512"],
            Qcow2Options {
                cluster_size: Some(512),
                ..q(G)
            },
        ),
        qc(
            "qcow2-cs512-rc64-64G",
            &["-f", "qcow2", "-o", "cluster_size=512,refcount_bits=64"],
            Qcow2Options {
                cluster_size: Some(512),
                refcount_bits: Some(64),
                ..q(64 * G)
            },
        ),
        qc(
            "qcow2-cs512-rc1-4G",
            &["-f", "qcow2", "-o", "cluster_size=512,refcount_bits=1"],
            Qcow2Options {
                cluster_size: Some(512),
                refcount_bits: Some(1),
                ..q(4 * G)
            },
        ),
        qc(
            "qcow2-cs1k-rc8-100G",
            &["-f", "qcow2", "-o", "cluster_size=1024,refcount_bits=8"],
            Qcow2Options {
                cluster_size: Some(1024),
                refcount_bits: Some(8),
                ..q(100 * G)
            },
        ),
        qc(
            "qcow2-cs4k-backing",
            &[
                "-f",
                "qcow2",
                "-o",
                "cluster_size=4096",
                "-u",
                "-b",
                "base.qcow2",
                "-F",
                "qcow2",
            ],
            Qcow2Options {
                cluster_size: Some(4096),
                ..q(10 * G).with_backing("base.qcow2", "qcow2")
            },
        ),
        qc(
            "qcow2-cs2M-1T",
            &["-f", "qcow2", "-o", "cluster_size=2M"],
            Qcow2Options {
                cluster_size: Some(2 * M),
                ..q(1024 * G)
            },
        ),
        qc(
            "qcow2-extl2-lazy-zstd",
            &[
                "-f",
                "qcow2",
                "-o",
                "extended_l2=on,lazy_refcounts=on,compression_type=zstd",
            ],
            Qcow2Options {
                extended_l2: Some(true),
                lazy_refcounts: Some(true),
                compression_type: Some(CompressionType::Zstd),
                ..q(G)
            },
        ),
        qc(
            "qcow2-extl2-cs16k-64G",
            &["-f", "qcow2", "-o", "extended_l2=on,cluster_size=16k"],
            Qcow2Options {
                extended_l2: Some(true),
                cluster_size: Some(16384),
                ..q(64 * G)
            },
        ),
        qc(
            "qcow2-rc2-4",
            &["-f", "qcow2", "-o", "refcount_bits=2,preallocation=off"],
            Qcow2Options {
                refcount_bits: Some(2),
                preallocation: Some(image::Preallocation::Off),
                ..q(4 * M)
            },
        ),
        CreateCase {
            name: "raw-0",
            args: &["-f", "raw"],
            opts: CreateOptions::Raw(RawOptions {
                size: 0,
                preallocation: None,
            }),
        },
        CreateCase {
            name: "raw-1000",
            args: &["-f", "raw"],
            opts: CreateOptions::Raw(RawOptions {
                size: 1000,
                preallocation: None,
            }),
        },
        CreateCase {
            name: "raw-64M",
            args: &["-f", "raw"],
            opts: CreateOptions::Raw(RawOptions {
                size: 64 * M,
                preallocation: None,
            }),
        },
    ]
}

/// The size argument of a case, as qemu-img takes it.
fn size_of(opts: &CreateOptions) -> u64 {
    match opts {
        CreateOptions::Qcow2(o) => o.size,
        CreateOptions::Raw(o) => o.size,
    }
}

/// A read case: commands that make `img` (and maybe a base) in a scratch
/// directory; `img` is then read as `format`.
struct ReadCase {
    name: &'static str,
    format: Format,
    steps: &'static [&'static [&'static str]],
}

fn read_cases() -> Vec<ReadCase> {
    vec![
        ReadCase {
            name: "qcow2-writes",
            format: Format::Qcow2,
            steps: &[
                &["img", "create", "-q", "-f", "qcow2", "img", "8M"],
                &[
                    "io",
                    "-f",
                    "qcow2",
                    "img",
                    "-c",
                    "write -P 0 0 1M",
                    "-c",
                    "write -P 0 1536k 4k",
                    "-c",
                    "write -z 3M 128k",
                    "-c",
                    "write -P 0 5M 64k",
                    "-c",
                    "write -z 5M 64k",
                    "-c",
                    "write -P 0 6M 192k",
                    "-c",
                    "discard 6M 64k",
                ],
            ],
        },
        ReadCase {
            name: "qcow2-compressed",
            format: Format::Qcow2,
            steps: &[
                &["img", "create", "-q", "-f", "qcow2", "img", "4M"],
                &[
                    "io",
                    "-f",
                    "qcow2",
                    "img",
                    "-c",
                    "write -c -P 0 0 64k",
                    "-c",
                    "write -c -P 0 1M 128k",
                    "-c",
                    "write -P 0 2M 64k",
                ],
            ],
        },
        ReadCase {
            name: "qcow2-backing",
            format: Format::Qcow2,
            steps: &[
                &["img", "create", "-q", "-f", "qcow2", "base.qcow2", "4M"],
                &["io", "-f", "qcow2", "base.qcow2", "-c", "write -P 0 0 4M"],
                &[
                    "img",
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-b",
                    "base.qcow2",
                    "-F",
                    "qcow2",
                    "img",
                ],
                &[
                    "io",
                    "-f",
                    "qcow2",
                    "img",
                    "-c",
                    "write -P 0 1M 64k",
                    "-c",
                    "write -z 2M 64k",
                    "-c",
                    "write -z 3M 32k",
                ],
            ],
        },
        ReadCase {
            name: "qcow2-v2-zero",
            format: Format::Qcow2,
            steps: &[
                &[
                    "img",
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-o",
                    "compat=0.10",
                    "img",
                    "2M",
                ],
                &[
                    "io",
                    "-f",
                    "qcow2",
                    "img",
                    "-c",
                    "write -P 0 0 64k",
                    "-c",
                    "write -z 512k 64k",
                    "-c",
                    "write -z 0 64k",
                ],
            ],
        },
        ReadCase {
            name: "qcow2-extl2",
            format: Format::Qcow2,
            steps: &[
                &[
                    "img",
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-o",
                    "extended_l2=on",
                    "img",
                    "2M",
                ],
                &[
                    "io",
                    "-f",
                    "qcow2",
                    "img",
                    "-c",
                    "write -P 0 0 4k",
                    "-c",
                    "write -P 0 8k 2k",
                    "-c",
                    "write -z 64k 16k",
                    "-c",
                    "write -P 0 128k 64k",
                    "-c",
                    "write -z 136k 8k",
                    "-c",
                    "write -c -P 0 256k 64k",
                ],
            ],
        },
        ReadCase {
            name: "qcow2-small-clusters",
            format: Format::Qcow2,
            steps: &[
                &[
                    "img",
                    "create",
                    "-q",
                    "-f",
                    "qcow2",
                    "-o",
                    "cluster_size=512",
                    "img",
                    "1000k",
                ],
                &[
                    "io",
                    "-f",
                    "qcow2",
                    "img",
                    "-c",
                    "write -P 0 0 5k",
                    "-c",
                    "write -P 0 33k 1k",
                    "-c",
                    "write -P 0 999k 1k",
                ],
            ],
        },
        ReadCase {
            name: "qcow2-snapshots",
            format: Format::Qcow2,
            steps: &[
                &["img", "create", "-q", "-f", "qcow2", "img", "1M"],
                &["io", "-f", "qcow2", "img", "-c", "write -P 0 0 64k"],
                &["img", "snapshot", "-c", "first", "img"],
                &["io", "-f", "qcow2", "img", "-c", "write -P 0 128k 64k"],
                &["img", "snapshot", "-c", "second one", "img"],
            ],
        },
        ReadCase {
            name: "raw-writes",
            format: Format::Raw,
            steps: &[
                &["img", "create", "-q", "-f", "raw", "img", "4M"],
                &[
                    "io",
                    "-f",
                    "raw",
                    "img",
                    "-c",
                    "write -P 0 1M 64k",
                    "-c",
                    "write -P 0 3M 8k",
                ],
            ],
        },
    ]
}

// ------------------------------------------------------------ golden files

/// A file as text: length, checksum, and its non-zero rows when short.
fn dump(bytes: &[u8], rows_always: bool) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let rows: Vec<String> = bytes
        .chunks(16)
        .enumerate()
        .filter(|(_, r)| r.iter().any(|&b| b != 0))
        .map(|(i, r)| {
            let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
            format!("row {:08x} {hex}", i * 16)
        })
        .collect();
    let mut out = format!("length {}\nfnv1a64 {hash:016x}\n", bytes.len());
    if rows_always || rows.len() <= MAX_ROWS {
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    out
}

/// Rebuilds a file from the rows of a golden file.
fn undump(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(len) = line.strip_prefix("length ") {
            out = vec![0; len.parse().unwrap()];
        } else if let Some(row) = line.strip_prefix("row ") {
            let (off, hex) = row.split_once(' ').unwrap();
            let off = usize::from_str_radix(off, 16).unwrap();
            for i in 0..hex.len() / 2 {
                out[off + i] = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
            }
        }
    }
    out
}

/// The description lines of a read case's golden text (not the file).
fn description(text: &str) -> String {
    body(text)
        .lines()
        .filter(|l| {
            !l.starts_with("row ") && !l.starts_with("length ") && !l.starts_with("fnv1a64 ")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Remakes a read case's image file from its golden text. A raw image's
/// data extents are what its file system allocated, not what it holds, so
/// its file is written only where the golden text says it has data and left
/// a hole elsewhere.
fn rebuild(path: &Path, text: &str, format: Format) {
    let bytes = undump(text);
    if format == Format::Qcow2 {
        std::fs::write(path, &bytes).unwrap();
        return;
    }
    let file = std::fs::File::create(path).unwrap();
    file.set_len(bytes.len() as u64).unwrap();
    for line in description(text).lines() {
        if let Some(span) = line.strip_prefix("data ") {
            let (o, l) = span.split_once(' ').unwrap();
            let (o, l): (usize, usize) = (o.parse().unwrap(), l.parse().unwrap());
            std::os::unix::fs::FileExt::write_all_at(&file, &bytes[o..o + l], o as u64).unwrap();
        }
    }
}

/// What qjob reads of an image, as golden text.
fn describe(info: &ImageInfo) -> String {
    let mut out = format!("size {}\n", info.virtual_size);
    if let Some(b) = &info.backing_file {
        writeln!(out, "backing {b}").unwrap();
    }
    if let Some(f) = &info.backing_format {
        writeln!(out, "backing_format {f}").unwrap();
    }
    for (o, l) in &info.data {
        writeln!(out, "data {o} {l}").unwrap();
    }
    for (o, l) in &info.zero {
        writeln!(out, "zero {o} {l}").unwrap();
    }
    for s in &info.snapshots {
        writeln!(out, "snapshot {s}").unwrap();
    }
    out
}

fn golden_path(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(kind)
        .join(format!("{name}.txt"))
}

fn golden(kind: &str, name: &str) -> String {
    let p = golden_path(kind, name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The golden text without its comment lines.
fn body(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qjob-dropin-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// qjob's image for a creation case, made in `dir` as `img`: the golden
/// text it gives (Formatting line, then the dump).
fn qjob_create(dir: &Path, case: &CreateCase) -> String {
    let path = dir.join("img");
    image::create(&path, &case.opts).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let bytes = std::fs::read(&path).unwrap();
    format!(
        "{}\n{}",
        case.opts.formatting_line("img"),
        dump(&bytes, false)
    )
}

#[test]
fn created_images_match_qemu_7_2_golden_files() {
    for case in create_cases() {
        let dir = scratch(&format!("golden-create-{}", case.name));
        let ours = qjob_create(&dir, &case);
        assert_eq!(
            ours,
            body(&golden("create", case.name)),
            "case {}",
            case.name
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn read_images_match_qemu_7_2_golden_files() {
    for case in read_cases() {
        let text = golden("read", case.name);
        let dir = scratch(&format!("golden-read-{}", case.name));
        let path = dir.join("img");
        rebuild(&path, &text, case.format);
        let info = image::read(&path, case.format).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(describe(&info), description(&text), "case {}", case.name);
        assert_eq!(
            image::probe(&path).unwrap(),
            case.format,
            "case {}",
            case.name
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

// ------------------------------------------------------------- real QEMU

/// QEMU 7.2's qemu-img and qemu-io, when this machine has them.
struct Qemu {
    img: PathBuf,
    io: PathBuf,
}

impl Qemu {
    fn find() -> Option<Self> {
        let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/qemu72-full/bin");
        let prog = |var: &str, name: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| Some(cache.join(name)))
                .filter(|p| p.exists())
        };
        let qemu = Self {
            img: prog("QEMU_IMG_PROG", "qemu-img")?,
            io: prog("QEMU_IO_PROG", "qemu-io")?,
        };
        let version = qemu.run_in(Path::new("."), &qemu.img, &["--version"]);
        version.contains("version 7.2").then_some(qemu)
    }

    /// Runs `prog args` in `dir`; its stdout. Fails the test when it fails.
    fn run_in(&self, dir: &Path, prog: &Path, args: &[&str]) -> String {
        let out = Command::new(prog)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            prog.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn img(&self, dir: &Path, args: &[&str]) -> String {
        self.run_in(dir, &self.img, args)
    }

    fn json(&self, dir: &Path, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.img(dir, args)).unwrap()
    }
}

fn qemu_or_skip(test: &str) -> Option<Qemu> {
    let q = Qemu::find();
    if q.is_none() {
        // Straight to stderr, past the test harness's capture, so that the
        // skip shows in every run.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped: QEMU 7.2's qemu-img / qemu-io not found \
             (set QEMU_IMG_PROG and QEMU_IO_PROG, or fetch them into .cache/qemu72-full)"
        );
    }
    q
}

fn bless() -> bool {
    std::env::var_os("QJOB_DROPIN_BLESS").is_some()
}

#[test]
fn created_images_match_qemu_img_create_live() {
    let Some(qemu) = qemu_or_skip("created_images_match_qemu_img_create_live") else {
        return;
    };
    for case in create_cases() {
        let dir = scratch(&format!("live-create-{}", case.name));
        let size = size_of(&case.opts).to_string();
        let mut args = vec!["create"];
        args.extend_from_slice(case.args);
        args.extend_from_slice(&["img", &size]);
        let line = qemu.img(&dir, &args);
        let bytes = std::fs::read(dir.join("img")).unwrap();
        let theirs = format!("{line}{}", dump(&bytes, false));
        let command = format!("# qemu-img {} (QEMU 7.2)\n", args.join(" "));
        if bless() {
            std::fs::write(
                golden_path("create", case.name),
                format!("{command}{theirs}"),
            )
            .unwrap();
        }
        assert_eq!(
            body(&golden("create", case.name)),
            theirs,
            "golden file of {}",
            case.name
        );
        std::fs::remove_file(dir.join("img")).unwrap();

        let ours = qjob_create(&dir, &case);
        assert_eq!(ours, theirs, "case {}", case.name);
        if let CreateOptions::Qcow2(o) = &case.opts {
            // The backing files do not exist: open the image without them.
            let opened = "driver=qcow2,file.driver=file,file.filename=img,backing=";
            let check = qemu.img(&dir, &["check", "--image-opts", opened]);
            assert!(
                check.contains("No errors were found on the image."),
                "{}: {check}",
                case.name
            );
            let info = qemu.json(&dir, &["info", "--output=json", "--image-opts", opened]);
            assert_eq!(info["format"], "qcow2");
            assert_eq!(info["virtual-size"], o.size.next_multiple_of(512));
            assert_eq!(info["backing-filename"].as_str(), o.backing_file.as_deref());
            assert_eq!(
                info["backing-filename-format"].as_str(),
                o.backing_fmt.as_deref()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn read_images_match_qemu_img_map_live() {
    let Some(qemu) = qemu_or_skip("read_images_match_qemu_img_map_live") else {
        return;
    };
    for case in read_cases() {
        let dir = scratch(&format!("live-read-{}", case.name));
        let mut made = Vec::new();
        for step in case.steps {
            let (tool, args) = (step[0], &step[1..]);
            let prog = if tool == "img" { &qemu.img } else { &qemu.io };
            qemu.run_in(&dir, prog, args);
            made.push(format!(
                "# {} {}",
                if tool == "img" { "qemu-img" } else { "qemu-io" },
                args.join(" ")
            ));
        }
        let fmt = case.format.as_str();
        let map = qemu.json(&dir, &["map", "-f", fmt, "--output=json", "img"]);
        let info = qemu.json(&dir, &["info", "-f", fmt, "--output=json", "img"]);
        let mut data = Vec::new();
        let mut zero = Vec::new();
        for e in map.as_array().unwrap() {
            let span = (e["start"].as_u64().unwrap(), e["length"].as_u64().unwrap());
            if e["depth"] != 0 || e["present"] == false {
                continue;
            }
            if e["data"] == true {
                data.push(span);
            } else if e["zero"] == true {
                zero.push(span);
            }
        }
        let theirs = ImageInfo {
            format: case.format,
            virtual_size: info["virtual-size"].as_u64().unwrap(),
            backing_file: info["backing-filename"].as_str().map(str::to_owned),
            backing_format: info["backing-filename-format"].as_str().map(str::to_owned),
            data,
            zero,
            snapshots: info["snapshots"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .map(|s| s["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            qcow2: None,
        };
        let bytes = std::fs::read(dir.join("img")).unwrap();
        let theirs_text = format!("{}{}", describe(&theirs), dump(&bytes, true));
        if bless() {
            let comment: String = made.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(
                golden_path("read", case.name),
                format!("# made by QEMU 7.2:\n{comment}{theirs_text}"),
            )
            .unwrap();
        }
        // The description must agree; the bytes may not (qemu-io places
        // compressed clusters written in parallel in either order).
        assert_eq!(
            description(&golden("read", case.name)),
            describe(&theirs),
            "golden file of {}",
            case.name
        );

        let ours = image::read(dir.join("img"), case.format).unwrap();
        assert_eq!(describe(&ours), describe(&theirs), "case {}", case.name);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// QEMU's texts for images it cannot open, next to qjob's.
#[test]
fn open_errors_match_qemu_img_live() {
    let Some(qemu) = qemu_or_skip("open_errors_match_qemu_img_live") else {
        return;
    };
    let dir = scratch("open-errors");
    std::fs::write(dir.join("text.img"), b"not an image at all\n").unwrap();
    let mut bad_version = vec![0u8; 512];
    bad_version[..8].copy_from_slice(&[0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 4]);
    std::fs::write(dir.join("v4.img"), &bad_version).unwrap();
    image::create(dir.join("feat.img"), &CreateOptions::Qcow2(q(1 << 20))).unwrap();
    let mut feat = std::fs::read(dir.join("feat.img")).unwrap();
    feat[79] |= 0x60; // incompatible features bits 5 and 6: unknown to QEMU
    std::fs::write(dir.join("feat.img"), &feat).unwrap();
    let mut small_cluster = std::fs::read(dir.join("feat.img")).unwrap();
    small_cluster[79] = 0;
    small_cluster[23] = 8;
    std::fs::write(dir.join("cs.img"), &small_cluster).unwrap();

    let mut texts = BTreeMap::new();
    for name in ["missing.img", "text.img", "v4.img", "feat.img", "cs.img"] {
        let out = Command::new(&qemu.img)
            .args(["info", "-f", "qcow2", name])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8(out.stderr).unwrap();
        // qemu-img adds its own "Could not open 'X': " before the driver's text.
        let prefix = format!("qemu-img: Could not open '{name}': ");
        let theirs = stderr.trim_end().strip_prefix(&prefix).unwrap().to_owned();
        // qjob opens by the absolute name; QEMU was given the relative one.
        let ours = image::read(dir.join(name), Format::Qcow2)
            .unwrap_err()
            .to_string()
            .replace(&format!("{}/", dir.display()), "");
        texts.insert(name, (ours, theirs));
    }
    for (name, (ours, theirs)) in &texts {
        assert_eq!(ours, theirs, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// QEMU's texts for creations it refuses, next to qjob's.
#[test]
fn create_errors_match_qemu_img_live() {
    let Some(qemu) = qemu_or_skip("create_errors_match_qemu_img_live") else {
        return;
    };
    let long = "b".repeat(500);
    let cases: Vec<(Vec<&str>, u64, Qcow2Options)> = vec![
        (
            vec!["-o", "cluster_size=3000"],
            1 << 20,
            Qcow2Options {
                cluster_size: Some(3000),
                ..q(1 << 20)
            },
        ),
        (
            vec!["-o", "cluster_size=8k,extended_l2=on"],
            1 << 20,
            Qcow2Options {
                cluster_size: Some(8192),
                extended_l2: Some(true),
                ..q(1 << 20)
            },
        ),
        (
            vec!["-o", "compat=0.10,lazy_refcounts=on"],
            1 << 20,
            Qcow2Options {
                version: Some(Qcow2Version::V2),
                lazy_refcounts: Some(true),
                ..q(1 << 20)
            },
        ),
        (
            vec!["-o", "compat=0.10,refcount_bits=8"],
            1 << 20,
            Qcow2Options {
                version: Some(Qcow2Version::V2),
                refcount_bits: Some(8),
                ..q(1 << 20)
            },
        ),
        (
            vec!["-o", "refcount_bits=12"],
            1 << 20,
            Qcow2Options {
                refcount_bits: Some(12),
                ..q(1 << 20)
            },
        ),
        (
            vec!["-o", "cluster_size=512"],
            1 << 40,
            Qcow2Options {
                cluster_size: Some(512),
                ..q(1 << 40)
            },
        ),
        (
            vec!["-o", "cluster_size=512", "-u", "-b", &long, "-F", "raw"],
            1 << 20,
            Qcow2Options {
                cluster_size: Some(512),
                ..q(1 << 20).with_backing(long.clone(), "raw")
            },
        ),
    ];
    let dir = scratch("create-errors");
    for (opts, size, ours) in cases {
        let size = size.to_string();
        let mut args = vec!["create", "-q", "-f", "qcow2"];
        args.extend(opts.iter().copied());
        args.extend(["img", size.as_str()]);
        let out = Command::new(&qemu.img)
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let theirs = stderr
            .trim_end()
            .strip_prefix("qemu-img: img: ")
            .unwrap()
            .to_owned();
        let e = image::create(dir.join("img"), &CreateOptions::Qcow2(ours)).unwrap_err();
        assert_eq!(e.to_string(), theirs, "{args:?}");
        assert!(
            !dir.join("img").exists(),
            "{args:?}: QEMU removes what it could not create"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every cluster size up to 64 KiB × every refcount width × sizes from 0 to
/// 4 TiB, with and without a backing file: qjob's image is QEMU's, byte for
/// byte, or both refuse it with the same text. About a minute in release
/// mode: `cargo test --release -p qjob-dropin --test qemu72 -- --ignored`.
#[test]
#[ignore = "a minute of qemu-img runs; run by hand"]
fn sweep_matches_qemu_img_create_live() {
    let Some(qemu) = qemu_or_skip("sweep_matches_qemu_img_create_live") else {
        return;
    };
    let dir = scratch("sweep");
    let mut same = 0;
    for cs in [512u64, 1024, 2048, 4096, 8192, 65536] {
        for bits in [1u64, 2, 4, 8, 16, 32, 64] {
            for size in [0u64, 512, 1 << 20, 3 << 30, 50 << 30, 300 << 30, 1 << 42] {
                for backing in [false, true] {
                    let mut args = vec![
                        "create".to_string(),
                        "-q".into(),
                        "-f".into(),
                        "qcow2".into(),
                        "-o".into(),
                        format!("cluster_size={cs},refcount_bits={bits}"),
                    ];
                    let mut o = Qcow2Options {
                        cluster_size: Some(cs),
                        refcount_bits: Some(bits),
                        ..q(size)
                    };
                    if backing {
                        args.extend(
                            ["-u", "-b", "some/base.qcow2", "-F", "qcow2"].map(String::from),
                        );
                        o = o.with_backing("some/base.qcow2", "qcow2");
                    }
                    args.extend(["theirs".into(), size.to_string()]);
                    let out = Command::new(&qemu.img)
                        .args(&args)
                        .current_dir(&dir)
                        .output()
                        .unwrap();
                    let ours = image::create(dir.join("ours"), &CreateOptions::Qcow2(o));
                    if !out.status.success() {
                        let theirs = String::from_utf8_lossy(&out.stderr).trim().to_string();
                        let ours = ours.expect_err("QEMU refused it");
                        assert_eq!(format!("qemu-img: theirs: {ours}"), theirs, "{args:?}");
                        continue;
                    }
                    ours.unwrap();
                    let theirs = std::fs::read(dir.join("theirs")).unwrap();
                    let ours = std::fs::read(dir.join("ours")).unwrap();
                    assert!(
                        theirs == ours,
                        "{args:?}: {} vs {} bytes",
                        theirs.len(),
                        ours.len()
                    );
                    same += 1;
                }
            }
        }
    }
    println!("{same} images identical to qemu-img's");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------- backing file rewritten

/// The images whose backing file is rewritten: `qemu-img create` arguments.
const REBASE_IMAGES: &[(&str, &[&str])] = &[
    ("plain", &["-f", "qcow2"]),
    (
        "backed",
        &["-f", "qcow2", "-u", "-b", "old-base.qcow2", "-F", "qcow2"],
    ),
    (
        "v2-backed",
        &[
            "-f",
            "qcow2",
            "-o",
            "compat=0.10",
            "-u",
            "-b",
            "old-base.qcow2",
            "-F",
            "qcow2",
        ],
    ),
    ("small-clusters", &["-f", "qcow2", "-o", "cluster_size=512"]),
    ("zstd", &["-f", "qcow2", "-o", "compression_type=zstd"]),
    (
        "lazy-extl2",
        &[
            "-f",
            "qcow2",
            "-o",
            "lazy_refcounts=on,extended_l2=on,cluster_size=128k",
        ],
    ),
];

/// The new backing files: (name, format); `None`: none.
const REBASE_TARGETS: &[Option<(&str, &str)>] = &[
    None,
    Some(("base.qcow2", "qcow2")),
    Some(("/an/absolute/path/to/a base.raw", "raw")),
];

/// `qemu-img rebase -u` goes through the same QEMU function as a stream or
/// commit that takes nodes out of a chain (`qcow2_change_backing_file`):
/// qjob's rewrite must leave the very same file.
#[test]
fn changed_backing_files_match_qemu_img_rebase_live() {
    let Some(qemu) = qemu_or_skip("changed_backing_files_match_qemu_img_rebase_live") else {
        return;
    };
    for (name, args) in REBASE_IMAGES {
        for (t, target) in REBASE_TARGETS.iter().enumerate() {
            let case = format!("{name}-{t}");
            let dir = scratch(&format!("live-rebase-{case}"));
            let mut create = vec!["create"];
            create.extend_from_slice(args);
            create.extend_from_slice(&["theirs", "64M"]);
            qemu.img(&dir, &create);
            std::fs::copy(dir.join("theirs"), dir.join("ours")).unwrap();
            let mut rebase = vec!["rebase", "-u", "-f", "qcow2"];
            match target {
                Some((file, format)) => rebase.extend_from_slice(&["-b", file, "-F", format]),
                None => rebase.extend_from_slice(&["-b", ""]),
            }
            rebase.push("theirs");
            qemu.img(&dir, &rebase);
            image::change_backing_file(
                dir.join("ours"),
                target.map(|(f, _)| f),
                target.map(|(_, f)| f),
            )
            .unwrap_or_else(|e| panic!("{case}: {e}"));
            let theirs = std::fs::read(dir.join("theirs")).unwrap();
            let ours = std::fs::read(dir.join("ours")).unwrap();
            assert!(
                ours == theirs,
                "{case}: qjob's file differs from qemu-img rebase's\nqjob:\n{}\nQEMU:\n{}",
                dump(&ours, true),
                dump(&theirs, true)
            );
            let info = image::read(dir.join("ours"), Format::Qcow2).unwrap();
            assert_eq!(
                info.backing_file.as_deref(),
                target.map(|(f, _)| f),
                "{case}"
            );
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

/// Without QEMU: a rewritten name reads back, the image stays valid, and
/// what does not fit is refused with the file unchanged.
#[test]
fn changed_backing_file_reads_back_and_refusals_change_nothing() {
    let dir = scratch("rebase-unit");
    let path = dir.join("img");
    for cluster_size in [512, 65536] {
        let opts = Qcow2Options {
            cluster_size: Some(cluster_size),
            ..q(64 << 20).with_backing("old.qcow2", "qcow2")
        };
        image::create(&path, &CreateOptions::Qcow2(opts)).unwrap();
        image::change_backing_file(&path, Some("new-base.raw"), Some("raw")).unwrap();
        let info = image::read(&path, Format::Qcow2).unwrap();
        assert_eq!(info.backing_file.as_deref(), Some("new-base.raw"));
        assert_eq!(info.backing_format.as_deref(), Some("raw"));
        assert_eq!(info.virtual_size, 64 << 20);

        let before = std::fs::read(&path).unwrap();
        let long = "x".repeat(1024);
        let e = image::change_backing_file(&path, Some(&long), Some("raw")).unwrap_err();
        assert!(e.message().ends_with("Invalid argument"), "{}", e.message());
        if cluster_size == 512 {
            // 512 bytes of cluster: the header and extensions leave less
            // than 500 bytes for the name.
            let e = image::change_backing_file(&path, Some(&"y".repeat(500)), None).unwrap_err();
            assert!(
                e.message().ends_with("No space left on device"),
                "{}",
                e.message()
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);

        image::change_backing_file(&path, None, None).unwrap();
        let info = image::read(&path, Format::Qcow2).unwrap();
        assert_eq!((info.backing_file, info.backing_format), (None, None));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
