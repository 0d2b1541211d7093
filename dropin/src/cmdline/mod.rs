//! The two programs' command lines: which options exist and how they are
//! spelled ([`qsd`]: `qemu-storage-daemon`'s `getopt_long` options;
//! [`system`]: `qemu-system-x86_64`'s `-option` table), with QEMU's
//! refusals. An option QEMU has but qjob does not model is refused exactly
//! as QEMU refuses an option it does not know.

pub mod qsd;
pub mod system;

use qjob::QemuVersion;
use std::fmt;

/// Reads qjob's `x-qjob-qemu` option (both programs): the QEMU whose
/// behaviour, greeting and `query-version` the program reproduces, `7.2`
/// (the default) or `10.0`.
pub fn qemu_version(text: &str) -> Result<QemuVersion, String> {
    QemuVersion::parse(text).ok_or_else(|| {
        let known: Vec<&str> = QemuVersion::ALL.iter().map(|v| v.as_str()).collect();
        format!("x-qjob-qemu: '{text}' is not {}", known.join(" or "))
    })
}

/// An error about one option: QEMU prints it as `program: LOC: MESSAGE`
/// (`LOC` the option as written, `--blockdev ARG` or `-drive ARG`) and
/// exits with status 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionError {
    /// The option as written, if the error is about one.
    pub loc: Option<String>,
    /// QEMU's text.
    pub message: String,
}

impl OptionError {
    /// An error at `loc`.
    pub fn at(loc: &str, message: impl Into<String>) -> OptionError {
        OptionError {
            loc: Some(loc.to_owned()),
            message: message.into(),
        }
    }

    /// An error about no option in particular.
    pub fn bare(message: impl Into<String>) -> OptionError {
        OptionError {
            loc: None,
            message: message.into(),
        }
    }

    /// The whole line(s) QEMU prints for it, for `program`. A message of
    /// several lines (a hint after the error) gets the prefix on its first
    /// line only.
    pub fn render(&self, program: &str) -> String {
        match &self.loc {
            Some(loc) => format!("{program}: {loc}: {}", self.message),
            None => format!("{program}: {}", self.message),
        }
    }
}

impl OptionError {
    /// Prints the error as QEMU does (to standard error, after `program: `)
    /// and returns QEMU's exit status for it, 1.
    pub fn report(&self, program: &str) -> i32 {
        eprintln!("{}", self.render(program));
        1
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.loc {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for OptionError {}
