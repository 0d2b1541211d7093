//! What the programs print about themselves: `--version`, `--help`,
//! `-machine help`, `-accel help`, `-drive format=help`, `-chardev help`,
//! in QEMU 7.2.22's words, listing what qjob has.

use qjob::QemuVersion;
use qjob::qmp::server::ServerConfig;

use crate::cmdline::system;

/// QEMU's copyright line: its last year is the release's.
fn copyright(qemu: QemuVersion) -> String {
    let year = match qemu {
        QemuVersion::V7_2 => 2022,
        QemuVersion::V10_0 => 2025,
    };
    format!("Copyright (c) 2003-{year} Fabrice Bellard and the QEMU Project developers")
}

/// `7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)` (or QEMU 10.0's): the version
/// the greeting reports, with its package.
pub fn full_version(qemu: QemuVersion) -> String {
    let c = ServerConfig::for_qemu(qemu);
    let (a, b, m) = c.version;
    format!("{a}.{b}.{m} ({})", c.package)
}

/// `qemu-storage-daemon --version`.
pub fn qsd_version(qemu: QemuVersion) -> String {
    format!(
        "qemu-storage-daemon version {}\n{}\n",
        full_version(qemu),
        copyright(qemu)
    )
}

/// `qemu-system-x86_64 --version`.
pub fn system_version(qemu: QemuVersion) -> String {
    format!(
        "QEMU emulator version {}\n{}\n",
        full_version(qemu),
        copyright(qemu)
    )
}

const HELP_BOTTOM: &str = "See <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n\
More information on the QEMU project at <https://qemu.org>.\n";

/// `qemu-storage-daemon --help`: QEMU 7.2's text for the options qjob
/// takes (not `--trace`, and NBD exports only), and qjob's options.
pub fn qsd_help() -> String {
    format!(
        "Usage: qemu-storage-daemon [options]
QEMU storage daemon

  -h, --help             display this help and exit
  -V, --version          output version information and exit

  --blockdev [driver=]<driver>[,node-name=<N>][,discard=ignore|unmap]
             [,cache.direct=on|off][,cache.no-flush=on|off]
             [,read-only=on|off][,auto-read-only=on|off]
             [,force-share=on|off][,detect-zeroes=on|off|unmap]
             [,driver specific parameters...]
                         configure a block backend

  --chardev <options>    configure a character device backend
                         (see the qemu(1) man page for possible options)

  --daemonize            daemonize the process, and have the parent exit
                         once startup is complete

  --export [type=]nbd,id=<id>,node-name=<node-name>[,name=<export-name>]
           [,writable=on|off][,bitmap=<name>]
                         export the specified block node over NBD
                         (requires --nbd-server)

  --monitor [chardev=]name[,mode=control][,pretty[=on|off]]
                         configure a QMP monitor

  --nbd-server addr.type=inet,addr.host=<host>,addr.port=<port>
               [,tls-creds=<id>][,tls-authz=<id>][,max-connections=<n>]
  --nbd-server addr.type=unix,addr.path=<path>
               [,tls-creds=<id>][,tls-authz=<id>][,max-connections=<n>]
                         start an NBD server for exporting block nodes

  --object <type>[,<property>=<value>...]
                         create a new object of type <type>, setting
                         properties in the order they are specified. Note
                         that the 'id' property must be set.

  --pidfile <path>       write process ID to a file after startup

  --x-qjob-qemu 7.2|10.0 qjob: the QEMU whose behaviour, greeting and
                         query-version to reproduce (default 7.2)

  --x-qjob-time real|manual|scale=<N>
                         qjob: virtual time follows real time (the default),
                         N times as fast, or moves only by x-qjob-* commands

{HELP_BOTTOM}"
    )
}

/// `qemu-system-x86_64 -help`: the usage line and the options qjob takes.
pub fn system_help(qemu: QemuVersion) -> String {
    let mut s = format!(
        "QEMU emulator version {}\n{}\n\
         usage: qemu-system-x86_64 [options]\n\n\
         qjob's drop-in system emulator runs no guest; it takes these options \
         (-x-qjob-qemu 7.2|10.0: the QEMU reproduced, -x-qjob-time: how virtual time moves):\n",
        full_version(qemu),
        copyright(qemu)
    );
    for (name, arg) in system::option_names() {
        s.push_str(&format!("-{name}{}\n", if arg { " ..." } else { "" }));
    }
    s.push('\n');
    s.push_str(HELP_BOTTOM);
    s
}

/// The machine types qjob's system emulator takes: name, description,
/// the type it is an alias of. None runs a guest.
pub const MACHINES: &[(&str, &str, Option<&str>)] = &[
    (
        "pc",
        "Standard PC (i440FX + PIIX, 1996)",
        Some("pc-i440fx-7.2"),
    ),
    ("pc-i440fx-7.2", "Standard PC (i440FX + PIIX, 1996)", None),
    ("q35", "Standard PC (Q35 + ICH9, 2009)", Some("pc-q35-7.2")),
    ("pc-q35-7.2", "Standard PC (Q35 + ICH9, 2009)", None),
    ("none", "empty machine", None),
];

/// The default machine type.
pub const DEFAULT_MACHINE: &str = "pc-i440fx-7.2";

/// The machine type a name selects (an alias resolved), if qjob has it.
pub fn machine_type(name: &str) -> Option<&'static str> {
    MACHINES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(n, _, alias)| alias.unwrap_or(n))
}

/// `-machine help`.
pub fn machine_help() -> String {
    let mut s = String::from("Supported machines are:\n");
    for (name, desc, alias) in MACHINES {
        let extra = match alias {
            Some(a) => format!(" (alias of {a})"),
            None if *name == DEFAULT_MACHINE => " (default)".into(),
            None => String::new(),
        };
        s.push_str(&format!("{name:<20} {desc}{extra}\n"));
    }
    s
}

/// `-accel help`: qjob runs no guest, so its one accelerator is qtest's
/// (which QEMU leaves out of the list; qjob lists it, having no other).
pub fn accel_help() -> String {
    "Accelerators supported in QEMU binary:\nqtest\n".into()
}

/// `-drive format=help`: the block drivers qjob opens, writable and
/// read-only (the same list).
pub fn format_help() -> String {
    let list: Vec<&str> = qjob::qmp::block_drivers().collect();
    let list = list.join(" ");
    format!("Supported formats: {list}\nSupported formats (read-only): {list}\n")
}

/// `-device help`: the devices qjob models.
pub fn device_help() -> String {
    // QEMU 7.2's lines for the models qjob makes, in its order.
    "Storage devices:\n\
     name \"scsi-hd\", bus SCSI, desc \"virtual SCSI disk\"\n\
     name \"virtio-blk-pci\", bus PCI, alias \"virtio-blk\"\n\
     name \"virtio-scsi-pci\", bus PCI, alias \"virtio-scsi\"\n"
        .into()
}

/// `-chardev help`.
pub fn chardev_help() -> String {
    let mut s = String::from("Available chardev backend types: \n");
    for b in crate::chardev::BACKENDS {
        s.push_str(&format!("  {b}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemus_words() {
        assert_eq!(
            qsd_version(QemuVersion::V7_2),
            "qemu-storage-daemon version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n\
             Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n"
        );
        // What the system's qemu-storage-daemon 10.0.2 prints.
        assert_eq!(
            qsd_version(QemuVersion::V10_0),
            "qemu-storage-daemon version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n\
             Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n"
        );
        assert!(
            system_version(QemuVersion::V7_2).starts_with("QEMU emulator version 7.2.22 (Debian ")
        );
        let m = machine_help();
        assert!(m.contains("\npc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n"));
        assert!(m.contains("\nnone                 empty machine\n"));
        assert_eq!(machine_type("pc"), Some("pc-i440fx-7.2"));
        assert_eq!(machine_type("none"), Some("none"));
        assert_eq!(machine_type("isapc"), None);
        let f = format_help();
        let first = f.lines().next().unwrap();
        for d in ["qcow2", "raw", "null-co", "file"] {
            assert!(
                first
                    .split(':')
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .any(|x| x == d),
                "{d}"
            );
        }
    }
}
