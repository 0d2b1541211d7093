//! The qtest connection (`-qtest unix:path=...`, with `-accel qtest`).
//!
//! QEMU's iotests harness listens on a qtest socket and waits for QEMU to
//! connect to it; the job tests never send a qtest command. qjob runs no
//! guest, so it answers only what needs no guest: `endianness`; every other
//! command gets QEMU's answer to a command it does not know.

/// The answer to one qtest command line (with its newline).
pub fn answer(line: &str) -> String {
    let word = line.split_whitespace().next().unwrap_or("");
    match word {
        "" => String::new(),
        "endianness" => "OK little\n".into(),
        w => format!("FAIL Unknown command '{w}'\n"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn answers() {
        assert_eq!(super::answer("endianness\n"), "OK little\n");
        assert_eq!(
            super::answer("readb 0x1000\n"),
            "FAIL Unknown command 'readb'\n"
        );
        assert_eq!(super::answer("\n"), "");
    }
}
