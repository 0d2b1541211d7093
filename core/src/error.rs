//! Errors as QMP reports them: a class and a human-readable description.
//!
//! Every refusal the crate makes carries QEMU 7.2's own wording where QEMU has
//! one, so a management tool sees the same text from qjob as from QEMU.

use std::fmt;

crate::model::qapi_enum! {
    /// QMP error classes (QAPI `QapiErrorClass`, in its order; its last
    /// class, `KVMMissingCap`, is left out: no command qjob knows gives it).
    ErrorClass {
        /// Almost every error.
        GenericError = "GenericError",
        /// The command does not exist.
        CommandNotFound = "CommandNotFound",
        /// A `block-job-*` command named no block job.
        DeviceNotActive = "DeviceNotActive",
        /// A device named by the command does not exist.
        DeviceNotFound = "DeviceNotFound",
    }
}

/// A refused command: QMP's `{"error": {"class": …, "desc": …}}`.
///
/// A command that fails changes nothing, except where QEMU itself leaves
/// traces of the attempt (events of jobs that existed for a moment, the
/// paused/running pairs of a drained section); those are documented on the
/// command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The error class.
    pub class: ErrorClass,
    /// The description, worded as QEMU 7.2 words it.
    pub desc: String,
}

impl Error {
    /// A `GenericError` with the given text.
    pub fn generic(desc: impl Into<String>) -> Error {
        Error {
            class: ErrorClass::GenericError,
            desc: desc.into(),
        }
    }

    /// `Job not found` (the `job-*` commands).
    pub fn job_not_found() -> Error {
        Error::generic("Job not found")
    }

    /// `Block job '<id>' not found` (class `DeviceNotActive`).
    pub fn block_job_not_found(id: &str) -> Error {
        Error {
            class: ErrorClass::DeviceNotActive,
            desc: format!("Block job '{id}' not found"),
        }
    }

    /// `The command <name> has not been found` (class `CommandNotFound`).
    pub fn command_not_found(name: &str) -> Error {
        Error {
            class: ErrorClass::CommandNotFound,
            desc: format!("The command {name} has not been found"),
        }
    }

    /// `Parameter '<name>' is missing`.
    pub fn missing_parameter(name: &str) -> Error {
        Error::generic(format!("Parameter '{name}' is missing"))
    }

    /// `Invalid parameter type for '<name>', expected: <ty>`.
    pub fn invalid_type(name: &str, ty: &str) -> Error {
        Error::generic(format!(
            "Invalid parameter type for '{name}', expected: {ty}"
        ))
    }

    /// `Parameter '<name>' is unexpected`.
    pub fn unexpected_parameter(name: &str) -> Error {
        Error::generic(format!("Parameter '{name}' is unexpected"))
    }

    /// `Parameter '<name>' expects <what>` (QERR_INVALID_PARAMETER_VALUE).
    pub fn invalid_value(name: &str, what: &str) -> Error {
        Error::generic(format!("Parameter '{name}' expects {what}"))
    }

    /// `Parameter '<name>' does not accept value '<value>'` (QEMU names the
    /// member without its path here).
    pub fn bad_enum_value(name: &str, value: &str) -> Error {
        Error::generic(format!(
            "Parameter '{name}' does not accept value '{value}'"
        ))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.desc)
    }
}

impl std::error::Error for Error {}

/// Result of a command of the typed API.
pub type Result<T> = std::result::Result<T, Error>;
